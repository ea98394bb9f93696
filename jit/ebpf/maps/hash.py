"""BPF_MAP_TYPE_HASH and BPF_MAP_TYPE_PERCPU_HASH (kernel/bpf/hashtab.c).

* Key: key_size raw bytes; at most max_entries elements.
* lookup: the element's value address, or NULL.
* update: flags other than ANY/NOEXIST/EXIST -> -EINVAL (BPF_F_LOCK too: no spin locks modelled);
  NOEXIST on an existing key -> -EEXIST; EXIST on a missing key -> -ENOENT; a new key when
  max_entries elements exist -> -E2BIG (replacing an existing key always works).
* delete: -ENOENT if missing.
* Per-CPU: a program updates its CPU's copy; a new element's other CPUs start at zero.
* Values live in max_entries preallocated slots; a freed slot is reused by the next insert. The
  kernel replaces an element on update (a pointer obtained earlier keeps seeing the old value until
  the slot is reused); this model updates in place. Programs that read through a pointer after
  updating the same key through the helper are the only ones that can tell.
* Dump order: sorted by key bytes (the kernel's is bucket order, which no test compares).
"""
from __future__ import annotations

from jit.ebpf.maps.base import (BPF_EXIST, BPF_NOEXIST, E2BIG, EEXIST, ENOENT, Map, MapError,
                                check_update_flags)
from jit.ebpf.maps.contents import Entry


class HashMap(Map):
    full_errno = E2BIG

    def __init__(self, d, base: int, n_cpus: int):
        if d.key_size == 0 or d.value_size == 0 or d.max_entries == 0:
            raise MapError(f"map {d.name!r}: a {d.type_name} needs key_size, value_size and "
                           f"max_entries > 0")
        super().__init__(d, base, n_cpus)
        self.index: dict[bytes, int] = {}        # key -> slot (insertion / recency order)
        self.free = list(range(self.max_entries - 1, -1, -1))   # pop() gives the lowest slot

    def canonical(self, key: bytes) -> bytes:
        return key

    def find(self, key: bytes) -> int | None:
        return self.index.get(self.canonical(key))

    def touch(self, key: bytes) -> None:
        """Record a use of `key` (LRU maps)."""

    def make_room(self) -> bool:
        """Free a slot when full; False if the map cannot (plain hash: -E2BIG)."""
        return False

    def lookup(self, key: bytes, cpu: int) -> int:
        slot = self.find(key)
        if slot is None:
            return 0
        self.touch(self.canonical(key))
        return self.addr(slot, cpu)

    def insert(self, key: bytes) -> int | None:
        if not self.free and not self.make_room():
            return None
        slot = self.free.pop()
        self.clear_slot(slot)
        self.index[key] = slot
        return slot

    def update(self, key: bytes, value: bytes, flags: int, cpu: int) -> int:
        err = check_update_flags(flags)
        if err:
            return err
        key = self.canonical(key)
        slot = self.index.get(key)
        if slot is not None and flags == BPF_NOEXIST:
            return -EEXIST
        if slot is None and flags == BPF_EXIST:
            return -ENOENT
        if slot is None:
            slot = self.insert(key)
            if slot is None:
                return -self.full_errno
        self.touch(key)
        self.write_slot(slot, value, cpu)
        return 0

    def delete(self, key: bytes) -> int:
        key = self.canonical(key)
        slot = self.index.pop(key, None)
        if slot is None:
            return -ENOENT
        self.free.append(slot)
        return 0

    def dump(self) -> list[Entry]:
        return [self.slot_entry(k, self.index[k]) for k in sorted(self.index)]

    def load(self, e: Entry) -> None:
        key = self.canonical(e.key)
        slot = self.index.get(key)
        if slot is None:
            slot = self.insert(key)
            if slot is None:
                raise MapError(f"map {self.name!r}: more entries than max_entries "
                               f"{self.max_entries}")
        self.load_slot(slot, e)


class PercpuHashMap(HashMap):
    percpu = True
