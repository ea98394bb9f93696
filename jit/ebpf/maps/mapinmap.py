"""BPF_MAP_TYPE_ARRAY_OF_MAPS and BPF_MAP_TYPE_HASH_OF_MAPS (kernel/bpf/map_in_map.c, arraymap.c,
hashtab.c).

* Key: u32 index < max_entries (array_of_maps) or key_size bytes, at most max_entries of them
  (hash_of_maps, -E2BIG beyond); value: an inner map. In the kernel the value is a map fd; here
  (and in the maps JSON) it is the name of another map of the same object (`"map": NAME`), which
  must match the outer map's inner definition (type, key_size, value_size; max_entries too unless
  the inner definition has BPF_F_INNER_MAP).
* lookup returns the inner map itself (its handle, usable with the map helpers) or NULL.
* Programs cannot update or delete entries (the verifier refuses): -EOPNOTSUPP.
"""
from __future__ import annotations

from jit.ebpf.maps.base import EOPNOTSUPP, Map, MapError
from jit.ebpf.maps.contents import Entry

BPF_F_INNER_MAP = 1 << 12


class MapInMap(Map):
    hashed = False

    def __init__(self, d, base: int, n_cpus: int):
        if d.key_size == 0 or (not self.hashed and d.key_size != 4) or d.max_entries == 0:
            raise MapError(f"map {d.name!r}: a {d.type_name} needs key_size 4 (array) or > 0 "
                           "(hash) and max_entries > 0")
        super().__init__(d, base, n_cpus)
        self.inner: dict[bytes, object] = {}     # key -> inner Map
        self.resolve = None                      # set by MapSet: name -> Map

    def memory_size(self) -> int:
        return 0

    def lookup_map(self, key: bytes):
        return self.inner.get(key)

    def update(self, key: bytes, value: bytes, flags: int, cpu: int) -> int:
        return -EOPNOTSUPP

    def delete(self, key: bytes) -> int:
        return -EOPNOTSUPP

    def dump(self) -> list[Entry]:
        return [Entry(k, map=m.name) for k, m in sorted(self.inner.items())]

    def load(self, e: Entry) -> None:
        if e.map is None:
            raise MapError(f"map {self.name!r}: a {self.d.type_name} entry names an inner map")
        if not self.hashed and self.u32_key(e.key) >= self.max_entries:
            raise MapError(f"map {self.name!r}: index {self.u32_key(e.key)} >= max_entries "
                           f"{self.max_entries}")
        if self.hashed and e.key not in self.inner and len(self.inner) >= self.max_entries:
            raise MapError(f"map {self.name!r}: more entries than max_entries {self.max_entries}")
        inner = self.resolve(e.map) if self.resolve else None
        if inner is None:
            raise MapError(f"map {self.name!r}: no map {e.map!r} to put at {e.key.hex()}")
        want = self.d.inner
        if want is not None:
            got = inner.d
            same = (got.type, got.key_size, got.value_size) == \
                (want.type, want.key_size, want.value_size)
            if same and not want.flags & BPF_F_INNER_MAP:
                same = got.max_entries == want.max_entries
            if not same:
                raise MapError(f"map {self.name!r}: {e.map!r} ({got.type_name} {got.key_size}/"
                               f"{got.value_size}/{got.max_entries}) does not match the inner map "
                               f"definition ({want.type_name} {want.key_size}/{want.value_size}/"
                               f"{want.max_entries})")
        self.inner[e.key] = inner


class ArrayOfMaps(MapInMap):
    pass


class HashOfMaps(MapInMap):
    hashed = True
