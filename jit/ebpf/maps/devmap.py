"""Redirect targets: BPF_MAP_TYPE_DEVMAP, BPF_MAP_TYPE_DEVMAP_HASH (kernel/bpf/devmap.c) and
BPF_MAP_TYPE_CPUMAP (kernel/bpf/cpumap.c).

* devmap: key u32 index < max_entries; devmap_hash: any u32 key, at most max_entries of them
  (-E2BIG beyond); cpumap: key u32 CPU index < max_entries. Slots start empty.
* Value: devmap `struct bpf_devmap_val` (u32 ifindex [, u32 program fd]) -> value_size 4 or 8;
  cpumap `struct bpf_cpumap_val` (u32 qsize [, u32 program fd]) -> 4 or 8. Attached programs are
  not modelled (the fd field is kept as given); ifindexes are not checked against
  real devices.
* Programs may look entries up (read-only values: a store faults) and use them through
  `bpf_redirect_map`; update and delete from a program -> -EOPNOTSUPP (the verifier refuses
  them). Contents are filled from user space (`--maps-in`).
"""
from __future__ import annotations

from jit.ebpf.maps.base import EOPNOTSUPP, Map, MapError
from jit.ebpf.maps.contents import Entry


class DevMap(Map):
    readonly_values = True
    hashed = False

    def __init__(self, d, base: int, n_cpus: int):
        if d.key_size != 4 or d.value_size not in (4, 8) or d.max_entries == 0:
            raise MapError(f"map {d.name!r}: a {d.type_name} needs key_size 4, value_size 4 or 8 "
                           f"and max_entries > 0")
        super().__init__(d, base, n_cpus)
        self.index: dict[int, int] = {}          # key -> slot

    def _slot_for(self, k: int, create: bool) -> int | None:
        if not self.hashed:
            if k >= self.max_entries:
                return None
            if create:
                self.index[k] = k
            return self.index.get(k)
        slot = self.index.get(k)
        if slot is None and create:
            if len(self.index) >= self.max_entries:
                return None
            used = set(self.index.values())
            slot = next(s for s in range(self.max_entries) if s not in used)
            self.index[k] = slot
        return slot

    def lookup(self, key: bytes, cpu: int) -> int:
        slot = self.index.get(self.u32_key(key))
        return 0 if slot is None else self.addr(slot)

    def target(self, key: int) -> bytes | None:
        slot = self.index.get(key)
        return None if slot is None else self.read_slot(slot)

    def update(self, key: bytes, value: bytes, flags: int, cpu: int) -> int:
        return -EOPNOTSUPP

    def delete(self, key: bytes) -> int:
        return -EOPNOTSUPP

    def dump(self) -> list[Entry]:
        return [Entry(k.to_bytes(4, "little"), value=self.read_slot(s))
                for k, s in sorted(self.index.items())]

    def load(self, e: Entry) -> None:
        k = self.u32_key(e.key)
        slot = self._slot_for(k, create=True)
        if slot is None:
            raise MapError(f"map {self.name!r}: key {k} does not fit ({'-E2BIG: full' if self.hashed else f'max_entries {self.max_entries}'})")
        self.load_slot(slot, e)


class DevMapHash(DevMap):
    hashed = True


class CpuMap(DevMap):
    pass

