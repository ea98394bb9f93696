"""All maps of one loaded program, in fd order, with their value memory placed at
`memmap.map_base(fd)`: the state that persists from one packet to the next."""
from __future__ import annotations

from typing import Mapping

from jit.ebpf import memmap
from jit.ebpf.maps import contents as contents_mod
from jit.ebpf.maps.array import ArrayMap, PercpuArrayMap
from jit.ebpf.maps.base import Map, MapError
from jit.ebpf.maps.devmap import CpuMap, DevMap, DevMapHash
from jit.ebpf.maps.events import EventMap
from jit.ebpf.maps.hash import HashMap, PercpuHashMap
from jit.ebpf.maps.lpm import LpmTrieMap
from jit.ebpf.maps.lru import LruHashMap, LruPercpuHashMap
from jit.ebpf.maps.mapinmap import ArrayOfMaps, HashOfMaps, MapInMap
from jit.ebpf.maps.progarray import ProgArrayMap
from jit.ebpf.maps.queue import QueueMap, StackMap

# map type name (elf.MAP_TYPE_NAMES) -> family class
FAMILIES: dict[str, type[Map]] = {
    "array": ArrayMap, "percpu_array": PercpuArrayMap,
    "hash": HashMap, "percpu_hash": PercpuHashMap,
    "lru_hash": LruHashMap, "lru_percpu_hash": LruPercpuHashMap,
    "lpm_trie": LpmTrieMap,
    "devmap": DevMap, "devmap_hash": DevMapHash, "cpumap": CpuMap,
    "prog_array": ProgArrayMap,
    "array_of_maps": ArrayOfMaps, "hash_of_maps": HashOfMaps,
    "perf_event_array": EventMap, "ringbuf": EventMap,
    "queue": QueueMap, "stack": StackMap,
}

N_CPUS = 2          # per-CPU slots: CPU 0 is the host, CPU 1 the NIC (DESIGN.md §8)


class UnmodelledMap(Map):
    """A map type outside FAMILIES: loading works, using it is an error naming it."""

    def memory_size(self) -> int:
        return 0

    def why(self) -> str:
        return f"map {self.name!r} of type {self.d.type_name} is not modelled"

    def load(self, e) -> None:
        raise MapError(self.why())


class MapSet:
    def __init__(self, defs: Mapping[str, object], n_cpus: int = N_CPUS):
        self.defs = dict(defs)
        self.n_cpus = n_cpus
        self.by_fd: list[Map] = []
        for fd, d in enumerate(self.defs.values()):
            cls = FAMILIES.get(d.type_name, UnmodelledMap)
            if d.max_entries == 0 and cls not in (EventMap, UnmodelledMap):
                raise MapError(f"map {d.name!r} has max_entries 0: the object leaves it to its "
                               "loader; give \"max_entries\" for it in --maps-in")
            self.by_fd.append(cls(d, memmap.map_base(fd), n_cpus))
        self.maps = {m.name: m for m in self.by_fd}
        for m in self.by_fd:
            if isinstance(m, MapInMap):
                m.resolve = self.maps.get

    def __bool__(self) -> bool:
        return bool(self.by_fd)

    def at_handle(self, addr: int) -> Map | None:
        fd = memmap.map_fd_of_handle(addr)
        return self.by_fd[fd] if fd is not None and fd < len(self.by_fd) else None

    def fd_of(self, m: Map) -> int:
        return self.by_fd.index(m)

    def handle_of(self, m: Map) -> int:
        return memmap.map_handle(self.fd_of(m))

    def fill(self, contents: Mapping[str, contents_mod.MapContents]) -> None:
        contents_mod.fill(self.maps, contents)

    def contents(self) -> dict[str, contents_mod.MapContents]:
        return contents_mod.snapshot(self.maps, self.defs)
