"""BPF_MAP_TYPE_ARRAY and BPF_MAP_TYPE_PERCPU_ARRAY (kernel/bpf/arraymap.c).

* Key: u32 index; every index < max_entries exists and starts zeroed (global-data maps start with
  the section's bytes). lookup(index >= max_entries) -> NULL.
* update: flags other than ANY/NOEXIST/EXIST -> -EINVAL; index >= max_entries -> -E2BIG;
  BPF_NOEXIST -> -EEXIST (every element exists); BPF_EXIST and ANY overwrite.
* delete -> -EINVAL (array elements cannot be deleted).
* Per-CPU: a program sees and updates only its CPU's copy; user-side input `value` fills every CPU.
* Frozen maps (`.rodata`): the program's writes fault (read-only memory) and updates from the
  program return -EPERM.
"""
from __future__ import annotations

from jit.ebpf.maps.base import (BPF_NOEXIST, E2BIG, EEXIST, EINVAL, EPERM, Map, MapError,
                                check_update_flags)
from jit.ebpf.maps.contents import Entry


class ArrayMap(Map):
    def __init__(self, d, base: int, n_cpus: int):
        if d.max_entries == 0:
            raise MapError(f"map {d.name!r} has max_entries 0: the object leaves it to its loader; "
                           "give \"max_entries\" for it in --maps-in")
        if d.key_size != 4 or d.value_size == 0:
            raise MapError(f"map {d.name!r}: an {d.type_name} needs key_size 4 and value_size > 0 "
                           f"(has {d.key_size}, {d.value_size})")
        super().__init__(d, base, n_cpus)
        if d.initial is not None:
            self.write_slot(0, d.initial)

    def lookup(self, key: bytes, cpu: int) -> int:
        i = self.u32_key(key)
        return self.addr(i, cpu) if i < self.max_entries else 0

    def update(self, key: bytes, value: bytes, flags: int, cpu: int) -> int:
        err = check_update_flags(flags)
        if err:
            return err
        i = self.u32_key(key)
        if i >= self.max_entries:
            return -E2BIG
        if flags == BPF_NOEXIST:
            return -EEXIST
        if self.frozen:
            return -EPERM
        self.write_slot(i, value, cpu)
        return 0

    def delete(self, key: bytes) -> int:
        return -EINVAL

    def dump(self) -> list[Entry]:
        out = []
        for i in range(self.max_entries):
            e = self.slot_entry(i.to_bytes(4, "little"), i)
            if any(e.value or b"") or any(any(v) for v in e.values or ()):
                out.append(e)
        return out

    def load(self, e: Entry) -> None:
        i = self.u32_key(e.key)
        if i >= self.max_entries:
            raise MapError(f"map {self.name!r}: index {i} >= max_entries {self.max_entries}")
        self.load_slot(i, e)


class PercpuArrayMap(ArrayMap):
    percpu = True
