"""Which maps live in NIC memory, decided in one place, with the reason for those that do not.

A NIC-resident map is one the NIC executor can read and write with the kernel's semantics,
bit-exactly with the host (jit/ebpf/maps/): its paths can be cached. A host-resident map keeps
every path that touches it on the host, and `jitnic maps` / `jitnic trace` print why.

NIC-resident: array, percpu_array and the global-data arrays (directly addressed), hash and
percpu_hash (the lookup unit; at most NIC_HASH_MAX_ENTRIES elements so that an insert succeeds
whenever the kernel's would), devmap (redirect_map targets, read-only to programs) and prog_array
(read-only: tail-call guards), LPM tries with at most MAP_LPM_MAX_DATA_BYTES (16) bytes of key
data and NIC_HASH_MAX_ENTRIES entries (the lookup unit's longest-prefix search: hash probes over the
prefix lengths in use, jit/nic/mapmem.py "LPM tries"; programs only look them up on the NIC, their
updates and deletes stay on the host). Not resident: LRU hashes (the kernel's eviction order is not
specified and the NIC does not implement one bit-exactly with the host's), LPM tries with longer
keys, and the rest (map-in-map, queues, event maps, cpumap, devmap_hash).

Tail calls: a prog_array slot on the NIC holds a program id (`program_id`), the index of the
program in its object; the tracer's tail-call guard compares with it.
"""
from __future__ import annotations

from jit.ebpf import elf
from jit.ebpf.maps.base import Map, elem_size
from jit.ebpf.maps.mapset import N_CPUS
from jit.nic.encoding import MAP_LPM_MAX_DATA_BYTES

NIC_HASH_MAX_ENTRIES = 65536      # elements of one hash map the NIC table holds
NIC_MAP_MEMORY = 1 << 24          # bytes of value memory of one directly addressed map

_RESIDENT = frozenset({"array", "percpu_array", "hash", "percpu_hash", "devmap", "prog_array",
                       "lpm_trie"})
_WHY_NOT = {
    "lru_hash": "the kernel's LRU eviction is approximate and the NIC implements none "
                "bit-exactly with the host",
    "lru_percpu_hash": "the kernel's LRU eviction is approximate and the NIC implements none "
                       "bit-exactly with the host",
    "devmap_hash": "the NIC holds directly indexed devmaps only",
    "cpumap": "redirects to CPUs are the host's",
}


def map_residency(m: Map) -> str | None:
    """None if map `m` lives in NIC memory, else why it stays on the host (one line)."""
    return def_residency(m.d)


def def_residency(d: elf.MapDef) -> str | None:
    """`map_residency` of a map definition (before the map exists: `jitnic maps`)."""
    kind = d.type_name
    if kind not in _RESIDENT:
        why = _WHY_NOT.get(kind, "not in the NIC's map set")
        return f"map {d.name!r} ({kind}) stays on the host: {why}"
    if kind == "lpm_trie" and d.key_size - 4 > MAP_LPM_MAX_DATA_BYTES:
        return (f"map {d.name!r} ({kind}) stays on the host: {d.key_size - 4} bytes of key data > "
                f"the NIC's longest-prefix unit's {MAP_LPM_MAX_DATA_BYTES}")
    if kind in ("hash", "percpu_hash", "lpm_trie") and d.max_entries > NIC_HASH_MAX_ENTRIES:
        return (f"map {d.name!r} ({kind}) stays on the host: max_entries {d.max_entries} > "
                f"the NIC table's {NIC_HASH_MAX_ENTRIES}")
    size = elem_size(d.value_size) * d.max_entries * (N_CPUS if kind.startswith("percpu") else 1)
    if kind != "prog_array" and size > NIC_MAP_MEMORY:
        return (f"map {d.name!r} ({kind}) stays on the host: {size} bytes of values > "
                f"the NIC's {NIC_MAP_MEMORY} per map")
    return None


def program_id(obj: elf.BpfObject, name: str) -> int:
    """The id a NIC prog_array slot holds for program `name` (any name `elf.select_program`
    accepts): the program's index among the object's programs, in section order."""
    prog = elf.select_program(obj, name)
    return list(obj.programs).index(prog.name)
