"""jit/ebpf/maps/: each map family against the kernel's documented semantics (update flags,
-E2BIG/-ENOSPC when full, -ENOENT, delete, LRU eviction, longest-prefix match, per-CPU slots),
driven directly through the program-side (`lookup`/`update`/`delete`) and user-side
(`load`/`dump`) interfaces."""
from __future__ import annotations

import pytest

from jit.ebpf.elf import MAP_TYPE_IDS, MapDef
from jit.ebpf.maps.base import (BPF_ANY, BPF_EXIST, BPF_F_NO_PREALLOC, BPF_NOEXIST, E2BIG, EEXIST,
                                EINVAL, ENOENT, ENOSPC, EOPNOTSUPP, MapError)
from jit.ebpf.maps.contents import Entry
from jit.ebpf.maps.mapset import MapSet

N_CPUS = 2


def make(type_name: str, key_size: int, value_size: int, max_entries: int, flags: int = 0,
         **kw):
    d = MapDef("m", MAP_TYPE_IDS[type_name], key_size, value_size, max_entries, flags, **kw)
    ms = MapSet({"m": d}, N_CPUS)
    return ms.maps["m"]


def u32(n: int) -> bytes:
    return n.to_bytes(4, "little")


def u64(n: int) -> bytes:
    return n.to_bytes(8, "little")


def value_at(m, addr: int, size: int | None = None) -> bytes:
    off = addr - m.base
    return bytes(m.buf[off:off + (size or m.value_size)])


# ---- array / percpu_array -------------------------------------------------------------------------

def test_array_semantics():
    m = make("array", 4, 6, 4)
    assert m.lookup(u32(4), 0) == 0                         # out of range: NULL
    a = m.lookup(u32(3), 0)
    assert value_at(m, a) == bytes(6)                        # every element exists, zeroed
    assert m.update(u32(3), b"abcdef", BPF_ANY, 0) == 0
    assert value_at(m, a) == b"abcdef"                       # lookup pointer sees the update
    assert m.update(u32(3), b"ghijkl", BPF_EXIST, 0) == 0
    assert m.update(u32(1), b"xxxxxx", BPF_NOEXIST, 0) == -EEXIST
    assert m.update(u32(4), b"xxxxxx", BPF_ANY, 0) == -E2BIG
    assert m.update(u32(0), b"xxxxxx", 3, 0) == -EINVAL
    assert m.delete(u32(0)) == -EINVAL
    assert m.lookup(u32(1), 0) - m.lookup(u32(0), 0) == 8     # elem_size rounds up to 8
    assert m.dump() == [Entry(u32(3), value=b"ghijkl")]      # all-zero entries left out


def test_percpu_array_slots():
    m = make("percpu_array", 4, 8, 2)
    a0, a1 = m.lookup(u32(1), 0), m.lookup(u32(1), 1)
    assert a0 != a1
    assert m.update(u32(1), u64(7), BPF_ANY, 1) == 0         # the program's CPU only
    assert value_at(m, a0) == u64(0) and value_at(m, a1) == u64(7)
    m.load(Entry(u32(0), value=u64(5)))                      # input "value" fills every CPU
    assert m.dump() == [Entry(u32(0), values=(u64(5), u64(5))),
                        Entry(u32(1), values=(u64(0), u64(7)))]
    with pytest.raises(MapError, match="3 per-CPU values, the model has 2 CPUs"):
        m.load(Entry(u32(0), values=(u64(1),) * 3))
    with pytest.raises(MapError, match="index 2 >= max_entries 2"):
        m.load(Entry(u32(2), value=u64(1)))


def test_frozen_array_refuses_program_updates():
    m = make("array", 4, 4, 1, frozen=True, initial=u32(9))
    assert value_at(m, m.lookup(u32(0), 0)) == u32(9)        # initial contents
    assert m.update(u32(0), u32(1), BPF_ANY, 0) == -1        # -EPERM
    m.load(Entry(u32(0), value=u32(3)))                      # user space may set it before load
    assert m.dump() == [Entry(u32(0), value=u32(3))]


# ---- hash / percpu_hash ---------------------------------------------------------------------------

def test_hash_flags_full_delete():
    m = make("hash", 4, 4, 2)
    assert m.lookup(u32(1), 0) == 0
    assert m.update(u32(1), u32(10), BPF_EXIST, 0) == -ENOENT
    assert m.update(u32(1), u32(10), BPF_NOEXIST, 0) == 0
    assert m.update(u32(1), u32(11), BPF_NOEXIST, 0) == -EEXIST
    assert m.update(u32(2), u32(20), BPF_ANY, 0) == 0
    assert m.update(u32(3), u32(30), BPF_ANY, 0) == -E2BIG   # full
    assert m.update(u32(1), u32(12), BPF_ANY, 0) == 0        # replacing works when full
    assert m.update(u32(1), u32(12), 4, 0) == -EINVAL        # BPF_F_LOCK: no spin lock modelled
    assert value_at(m, m.lookup(u32(1), 0)) == u32(12)
    assert m.delete(u32(3)) == -ENOENT
    assert m.delete(u32(1)) == 0 and m.lookup(u32(1), 0) == 0
    assert m.update(u32(3), u32(30), BPF_ANY, 0) == 0        # the freed slot is reused
    assert m.dump() == [Entry(u32(2), value=u32(20)), Entry(u32(3), value=u32(30))]


def test_percpu_hash_new_element_zeroes_other_cpus():
    m = make("percpu_hash", 4, 8, 4)
    m.load(Entry(u32(1), value=u64(9)))
    assert m.delete(u32(1)) == 0
    assert m.update(u32(1), u64(5), BPF_ANY, 1) == 0          # same slot again: CPU 0 reset
    assert m.dump() == [Entry(u32(1), values=(u64(0), u64(5)))]
    assert m.update(u32(1), u64(6), BPF_ANY, 0) == 0          # existing: only CPU 0 changes
    assert m.dump() == [Entry(u32(1), values=(u64(6), u64(5)))]


# ---- LRU ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("type_name", ["lru_hash", "lru_percpu_hash"])
def test_lru_evicts_least_recently_used(type_name):
    m = make(type_name, 4, 8, 3)
    for k in (1, 2, 3):
        assert m.update(u32(k), u64(k), BPF_ANY, 0) == 0
    assert m.lookup(u32(1), 0)                               # 1 is now more recent than 2
    assert m.update(u32(4), u64(4), BPF_ANY, 0) == 0         # full: evicts 2, never -E2BIG
    assert [int.from_bytes(e.key, "little") for e in m.dump()] == [1, 3, 4]
    assert m.update(u32(3), u64(33), BPF_ANY, 0) == 0        # an update is a use too
    assert m.update(u32(5), u64(5), BPF_NOEXIST, 0) == 0     # evicts 1
    assert sorted(int.from_bytes(e.key, "little") for e in m.dump()) == [3, 4, 5]
    assert m.update(u32(9), u64(9), BPF_EXIST, 0) == -ENOENT


# ---- LPM trie -------------------------------------------------------------------------------------

def lpm_key(plen: int, *octets: int) -> bytes:
    return u32(plen) + bytes(octets)


def test_lpm_longest_prefix_match():
    m = make("lpm_trie", 8, 4, 3, BPF_F_NO_PREALLOC)
    assert m.update(lpm_key(8, 10, 0, 0, 0), u32(8), BPF_ANY, 0) == 0
    assert m.update(lpm_key(24, 10, 1, 2, 0), u32(24), BPF_ANY, 0) == 0
    assert m.update(lpm_key(0, 0, 0, 0, 0), u32(0), BPF_ANY, 0) == 0      # default route

    def hit(plen, *o):
        a = m.lookup(lpm_key(plen, *o), 0)
        return None if a == 0 else int.from_bytes(value_at(m, a), "little")
    assert hit(32, 10, 1, 2, 77) == 24
    assert hit(32, 10, 1, 3, 77) == 8
    assert hit(32, 11, 1, 2, 77) == 0
    assert hit(16, 10, 1, 2, 77) == 8       # the key's own prefixlen caps the match
    # bits past the prefix do not make a different entry
    assert m.update(lpm_key(8, 10, 9, 9, 9), u32(88), BPF_NOEXIST, 0) == -EEXIST
    assert m.update(lpm_key(8, 10, 9, 9, 9), u32(88), BPF_EXIST, 0) == 0
    assert hit(32, 10, 200, 0, 0) == 88
    assert m.update(lpm_key(16, 10, 1, 0, 0), u32(16), BPF_ANY, 0) == -ENOSPC   # not -E2BIG
    assert m.update(lpm_key(33, 10, 1, 0, 0), u32(1), BPF_ANY, 0) == -EINVAL
    assert m.update(lpm_key(16, 10, 1, 0, 0), u32(1), BPF_EXIST, 0) == -ENOENT
    assert m.delete(lpm_key(16, 10, 1, 0, 0)) == -ENOENT
    assert m.delete(lpm_key(24, 10, 1, 2, 99)) == 0          # exact prefix, any trailing bits
    assert hit(32, 10, 1, 2, 77) == 88
    with pytest.raises(MapError, match="BPF_F_NO_PREALLOC"):
        make("lpm_trie", 8, 4, 3)


def test_lpm_load_of_the_same_prefix_replaces_the_entry():
    """Loading a key whose prefix an entry already has (other bits past it) replaces that entry:
    one entry, the new key, the new value (a stale second copy of the old key was kept before)."""
    m = make("lpm_trie", 8, 4, 4, BPF_F_NO_PREALLOC)
    m.load(Entry(lpm_key(8, 10, 1, 1, 1), value=u32(1)))
    m.load(Entry(lpm_key(8, 10, 2, 2, 2), value=u32(2)))
    assert [(e.key, e.value) for e in m.dump()] == [(lpm_key(8, 10, 2, 2, 2), u32(2))]
    assert len(m.index) == 1 and len(m.free) == 3


# ---- redirect targets, prog_array, map-in-map ------------------------------------------------------

def test_devmaps_and_cpumap():
    dm = make("devmap", 4, 4, 4)
    dm.load(Entry(u32(2), value=u32(7)))
    assert dm.lookup(u32(1), 0) == 0 and value_at(dm, dm.lookup(u32(2), 0)) == u32(7)
    assert dm.target(2) == u32(7) and dm.target(1) is None
    assert dm.update(u32(1), u32(3), BPF_ANY, 0) == -EOPNOTSUPP
    assert dm.dump() == [Entry(u32(2), value=u32(7))]
    with pytest.raises(MapError, match="key 4 does not fit"):
        dm.load(Entry(u32(4), value=u32(7)))
    dh = make("devmap_hash", 4, 8, 1)
    dh.load(Entry(u32(1000), value=u32(3) + u32(0)))
    with pytest.raises(MapError, match="full"):
        dh.load(Entry(u32(1001), value=bytes(8)))
    with pytest.raises(MapError, match="value_size 4 or 8"):
        make("cpumap", 4, 12, 4)


def test_prog_array_and_map_in_map():
    inner = MapDef("inner_a", MAP_TYPE_IDS["hash"], 4, 2, 8)
    other = MapDef("inner_b", MAP_TYPE_IDS["array"], 4, 2, 8)
    outer = MapDef("outer", MAP_TYPE_IDS["array_of_maps"], 4, 4, 2, inner=inner)
    jmp = MapDef("jmp", MAP_TYPE_IDS["prog_array"], 4, 4, 2)
    ms = MapSet({d.name: d for d in (inner, other, outer, jmp)}, N_CPUS)
    ms.maps["jmp"].load(Entry(u32(1), program="xdp/next"))
    assert ms.maps["jmp"].program(1) == "xdp/next" and ms.maps["jmp"].program(0) is None
    ms.maps["outer"].load(Entry(u32(0), map="inner_a"))
    assert ms.maps["outer"].lookup_map(u32(0)) is ms.maps["inner_a"]
    assert ms.at_handle(ms.handle_of(ms.maps["inner_a"])) is ms.maps["inner_a"]
    with pytest.raises(MapError, match="does not match the inner map definition"):
        ms.maps["outer"].load(Entry(u32(1), map="inner_b"))
    with pytest.raises(MapError, match="no map 'nosuch'"):
        ms.maps["outer"].load(Entry(u32(1), map="nosuch"))
    assert ms.maps["outer"].dump() == [Entry(u32(0), map="inner_a")]


def test_unmodelled_map_type_loads_but_refuses_contents():
    m = make("stack_trace", 4, 8, 4)
    with pytest.raises(MapError, match="type stack_trace is not modelled"):
        m.load(Entry(u32(0), value=u64(1)))


def test_max_entries_left_to_the_loader_is_set_by_the_contents_file():
    from jit.ebpf.maps import contents
    defs = {"cpus": MapDef("cpus", MAP_TYPE_IDS["hash"], 4, 4, 0)}
    with pytest.raises(MapError, match="max_entries 0.*give \"max_entries\""):
        MapSet(defs)
    with pytest.raises(contents.MapsFileError, match="leaves max_entries to its loader"):
        contents.parse({"maps": {"cpus": {"entries": []}}}, defs)
    mc = contents.parse({"maps": {"cpus": {"max_entries": 3, "entries": [
        {"key": "01000000", "value": "02000000"}]}}}, defs)
    ms = MapSet(contents.sized(defs, mc))
    ms.fill(mc)
    m = ms.maps["cpus"]
    assert m.max_entries == 3
    assert m.update(u32(2), u32(0), BPF_ANY, 0) == 0 and m.update(u32(3), u32(0), BPF_ANY, 0) == 0
    assert m.update(u32(4), u32(0), BPF_ANY, 0) == -E2BIG
