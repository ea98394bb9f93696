"""BPF_MAP_TYPE_PROG_ARRAY (kernel/bpf/arraymap.c): the slots of `bpf_tail_call`.

* Key: u32 index < max_entries; value: a program. In the kernel the value is a program fd; here
  (and in the maps JSON) it is a program's name in the same object (`"program": NAME`, any name
  `elf.select_program` accepts), resolved when the tail call happens.
* Programs cannot look up, update or delete prog_array entries (the verifier refuses):
  lookup -> NULL, update/delete -> -EOPNOTSUPP.
"""
from __future__ import annotations

from jit.ebpf.maps.base import EOPNOTSUPP, Map, MapError
from jit.ebpf.maps.contents import Entry


class ProgArrayMap(Map):
    def __init__(self, d, base: int, n_cpus: int):
        if d.key_size != 4 or d.value_size != 4 or d.max_entries == 0:
            raise MapError(f"map {d.name!r}: a prog_array needs key_size 4, value_size 4 and "
                           "max_entries > 0")
        super().__init__(d, base, n_cpus)
        self.programs: dict[int, str] = {}

    def memory_size(self) -> int:
        return 0

    def update(self, key: bytes, value: bytes, flags: int, cpu: int) -> int:
        return -EOPNOTSUPP

    def delete(self, key: bytes) -> int:
        return -EOPNOTSUPP

    def program(self, index: int) -> str | None:
        return self.programs.get(index)

    def dump(self) -> list[Entry]:
        return [Entry(k.to_bytes(4, "little"), program=p) for k, p in sorted(self.programs.items())]

    def load(self, e: Entry) -> None:
        k = self.u32_key(e.key)
        if e.program is None:
            raise MapError(f"map {self.name!r}: a prog_array entry names a program")
        if k >= self.max_entries:
            raise MapError(f"map {self.name!r}: index {k} >= max_entries {self.max_entries}")
        self.programs[k] = e.program
