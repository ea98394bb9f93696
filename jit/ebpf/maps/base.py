"""What every map family shares: errno values, update flags, value memory in the interpreter's
address space, and the user-side entry interface (`dump`/`load`, jit/ebpf/maps/contents.py).

A map's values live in one bytearray, `buf`, mapped at `base` (memmap.map_base(fd)): a lookup
returns an address into it, and stores through that address change the map, as in the kernel.
Each value slot is `value_size` rounded up to 8 bytes (the kernel's elem_size). Per-CPU maps keep
`n_cpus` copies of every slot, CPU c's copy at `base + (c * slots + slot) * elem_size`.

Program-side operations (`lookup`, `update`, `delete`) return what the helper returns: an address
or 0, and 0 or a negative errno. User-side ones (`load`) raise MapError on bad input.
"""
from __future__ import annotations

from jit import JitnicError
from jit.ebpf.maps.contents import Entry

# errno values (asm-generic/errno-base.h, errno.h)
EPERM, ENOENT, E2BIG, ENOMEM, EFAULT, EBUSY, EEXIST, EINVAL, ENOSPC, EOPNOTSUPP = \
    1, 2, 7, 12, 14, 16, 17, 22, 28, 95
ERRNO_NAMES = {EPERM: "EPERM", ENOENT: "ENOENT", E2BIG: "E2BIG", ENOMEM: "ENOMEM",
               EFAULT: "EFAULT", EBUSY: "EBUSY", EEXIST: "EEXIST", EINVAL: "EINVAL",
               ENOSPC: "ENOSPC", EOPNOTSUPP: "EOPNOTSUPP"}

# map_update_elem flags
BPF_ANY, BPF_NOEXIST, BPF_EXIST, BPF_F_LOCK = 0, 1, 2, 4
# map_flags at creation
BPF_F_NO_PREALLOC = 1 << 0
BPF_F_RDONLY_PROG = 1 << 7

MAX_VALUE_MEMORY = 0x0FFF_F000   # memmap.MAP_HANDLE_OFF: a map's memory ends below its handle


class MapError(JitnicError):
    """A map definition the model refuses, or user-side contents that do not fit a map."""


def elem_size(value_size: int) -> int:
    return (value_size + 7) & ~7


def check_update_flags(flags: int) -> int:
    """0, or the errno (negative) the kernel gives for flags other than ANY/NOEXIST/EXIST. BPF_F_LOCK
    needs a bpf_spin_lock in the value, which this model does not track: -EINVAL."""
    if flags & ~BPF_F_LOCK > BPF_EXIST or flags & BPF_F_LOCK:
        return -EINVAL
    return 0


class Map:
    """Base of every map family. Subclasses set `percpu` and implement the operations."""
    percpu = False
    readonly_values = False        # values the program may read but not write (devmap, cpumap)

    def __init__(self, d, base: int, n_cpus: int):
        self.d, self.name, self.base, self.n_cpus = d, d.name, base, n_cpus
        self.key_size, self.value_size, self.max_entries = d.key_size, d.value_size, d.max_entries
        self.elem = elem_size(d.value_size)
        self.frozen = bool(getattr(d, "frozen", False))
        self.buf = bytearray(self.memory_size())
        if len(self.buf) > MAX_VALUE_MEMORY:
            raise MapError(f"map {self.name!r}: {len(self.buf)} bytes of values exceed the model's "
                           f"{MAX_VALUE_MEMORY} per map")

    # -- sizing and addresses --
    def slots(self) -> int:
        return self.max_entries

    def memory_size(self) -> int:
        return self.slots() * self.elem * (self.n_cpus if self.percpu else 1)

    def offset(self, slot: int, cpu: int = 0) -> int:
        return ((cpu * self.slots() if self.percpu else 0) + slot) * self.elem

    def addr(self, slot: int, cpu: int = 0) -> int:
        return self.base + self.offset(slot, cpu)

    def read_slot(self, slot: int, cpu: int = 0) -> bytes:
        o = self.offset(slot, cpu)
        return bytes(self.buf[o:o + self.value_size])

    def write_slot(self, slot: int, value: bytes, cpu: int = 0) -> None:
        o = self.offset(slot, cpu)
        self.buf[o:o + self.value_size] = value

    def clear_slot(self, slot: int) -> None:
        for cpu in range(self.n_cpus if self.percpu else 1):
            o = self.offset(slot, cpu)
            self.buf[o:o + self.elem] = bytes(self.elem)

    def slot_entry(self, key: bytes, slot: int) -> Entry:
        if self.percpu:
            return Entry(key, values=tuple(self.read_slot(slot, c) for c in range(self.n_cpus)))
        return Entry(key, value=self.read_slot(slot))

    def load_slot(self, slot: int, e: Entry) -> None:
        """Write an input entry's value(s): `value` fills every CPU of a per-CPU map."""
        if e.values is not None:
            if len(e.values) != self.n_cpus:
                raise MapError(f"map {self.name!r}: {len(e.values)} per-CPU values, the model has "
                               f"{self.n_cpus} CPUs")
            for cpu, v in enumerate(e.values):
                self.write_slot(slot, v, cpu)
        elif e.value is not None:
            for cpu in range(self.n_cpus if self.percpu else 1):
                self.write_slot(slot, e.value, cpu)
        else:
            raise MapError(f"map {self.name!r}: entry {e.key.hex()} has no value")

    # -- program side (helpers) --
    def lookup(self, key: bytes, cpu: int) -> int:
        return 0

    def update(self, key: bytes, value: bytes, flags: int, cpu: int) -> int:
        return -EINVAL

    def delete(self, key: bytes) -> int:
        return -EINVAL

    # -- user side --
    def dump(self) -> list[Entry]:
        return []

    def load(self, e: Entry) -> None:
        raise MapError(f"map {self.name!r} ({self.d.type_name}) takes no entries")

    def u32_key(self, key: bytes) -> int:
        return int.from_bytes(key[:4], "little")
