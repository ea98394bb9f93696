"""BPF_MAP_TYPE_QUEUE and BPF_MAP_TYPE_STACK (kernel/bpf/queue_stack_maps.c): values without keys
(key_size 0), used through bpf_map_push_elem / pop_elem / peek_elem.

* push: when max_entries values are held, -E2BIG unless flags is BPF_EXIST, which drops the
  oldest value (queue: the head; stack: the bottom) to make room; flags other than 0/BPF_EXIST ->
  -EINVAL.
* pop / peek: the oldest value (queue, FIFO) or the newest (stack, LIFO), copied out; -ENOENT when
  empty; pop removes it.
* lookup/update/delete -> -EINVAL (NULL for lookup), as in the kernel.
* Contents (JSON): entries with an empty key, oldest first; input entries are pushed in order.
"""
from __future__ import annotations

from collections import deque

from jit.ebpf.maps.base import BPF_EXIST, E2BIG, EINVAL, Map, MapError
from jit.ebpf.maps.contents import Entry


class QueueMap(Map):
    lifo = False

    def __init__(self, d, base: int, n_cpus: int):
        if d.key_size != 0 or d.value_size == 0:
            raise MapError(f"map {d.name!r}: a {d.type_name} needs key_size 0 and value_size > 0")
        super().__init__(d, base, n_cpus)
        self.values: deque[bytes] = deque()

    def memory_size(self) -> int:
        return 0

    def push(self, value: bytes, flags: int) -> int:
        if flags & ~BPF_EXIST:
            return -EINVAL
        if len(self.values) >= self.max_entries:
            if not flags & BPF_EXIST:
                return -E2BIG
            self.values.popleft()
        self.values.append(value)
        return 0

    def take(self, remove: bool) -> bytes | None:
        if not self.values:
            return None
        if remove:
            return self.values.pop() if self.lifo else self.values.popleft()
        return self.values[-1] if self.lifo else self.values[0]

    def dump(self) -> list[Entry]:
        return [Entry(b"", value=v) for v in self.values]

    def load(self, e: Entry) -> None:
        if e.value is None:
            raise MapError(f"map {self.name!r}: a {self.d.type_name} entry has a \"value\"")
        if self.push(e.value, 0):
            raise MapError(f"map {self.name!r}: more values than max_entries {self.max_entries}")


class StackMap(QueueMap):
    lifo = True

