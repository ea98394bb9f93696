"""jit/nic/mapmem.py (NIC map memory) against the host's maps (jit/ebpf/maps/, the kernel's
semantics): the same errnos, found/not found and values for random operation sequences, and the
same final contents; plus the hash table's own invariants, the hash function, placement."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from jit.ebpf.elf import MAP_TYPE_IDS, MapDef
from jit.ebpf.maps.base import BPF_F_NO_PREALLOC
from jit.ebpf.maps.contents import Entry
from jit.ebpf.maps.mapset import MapSet
from jit.ebpf.elf import load_object
from jit.nic import encoding as enc
from jit.nic import mapmem
from jit.nic.mapmem import MapMem, make_desc, place
from jit.paths import PROJECT_ROOT


def host_map(type_name: str, key_size: int, value_size: int, max_entries: int, frozen=False):
    flags = BPF_F_NO_PREALLOC if type_name == "lpm_trie" else 0
    d = MapDef("m", MAP_TYPE_IDS[type_name], key_size, value_size, max_entries, flags,
               frozen=frozen)
    return MapSet({"m": d}, 2).maps["m"]


def nic_map(type_name, key_size, value_size, max_entries, rdonly=False, base=3):
    mm = MapMem(mem_bytes=64 * 1024)
    desc = make_desc(type_name, key_size, value_size, max_entries, base, rdonly)
    assert mm.install(2, desc) == 0
    return mm, desc


def host_value(m, addr: int) -> bytes:
    return bytes(m.buf[addr - m.base:addr - m.base + m.value_size])


def check_hash_invariants(mm: MapMem, map_id: int) -> None:
    """Every element is reachable from its home bucket without crossing an empty bucket (so a probe
    never misses it), the count is right, and pool indexes are distinct."""
    d = mm.descs[map_id]
    mask = d.n_buckets - 1
    used = []
    for b in range(d.n_buckets):
        w0 = mm.rd(d.base + b * d.bucket_words)
        if not w0 & mapmem.BUCKET_VALID:
            continue
        key = mm.read_bytes(d.base + b * d.bucket_words + 1, d.kw)
        if d.is_lpm:                    # hashed by its identity (prefix bits only)
            key = mapmem.lpm_canon(key, d.key_size, int.from_bytes(key[:4], "little"))
        h = mapmem.key_hash(key, d.key_size)
        assert (w0 >> 32) & ((1 << 31) - 1) == h & ((1 << 31) - 1)
        home = h & mask
        j = home
        while j != b:
            assert mm.rd(d.base + j * d.bucket_words) & mapmem.BUCKET_VALID, "run broken"
            j = (j + 1) & mask
        used.append(w0 & 0xFFFF_FFFF)
    assert len(used) == len(set(used)) == mm.count(map_id)
    assert all(k < d.max_entries for k in used)
    if d.is_lpm:                        # the prefix-length index: counters and bitmap
        lens = [int.from_bytes(mm.read_bytes(d.base + b * d.bucket_words + 1, 1)[:4], "little")
                for b in range(d.n_buckets)
                if mm.rd(d.base + b * d.bucket_words) & mapmem.BUCKET_VALID]
        for q in range(d.max_prefixlen + 1):
            assert mm.rd(d.lpm_cnt + q) == lens.count(q)
            assert (mm.lpm_lengths(d) >> q & 1) == (q in lens)
        assert mm.lpm_lengths(d) >> (d.max_prefixlen + 1) == 0


ops = st.lists(st.tuples(st.sampled_from(["lookup", "update", "delete"]),
                         st.integers(0, 9),            # key from a small pool: collisions, full maps
                         st.integers(0, 3),            # update flags (3 is invalid)
                         st.integers(0, 1),            # cpu
                         st.binary(min_size=16, max_size=16)), max_size=60)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["array", "percpu_array", "hash", "percpu_hash"]),
       st.sampled_from([4, 5, 12]), st.sampled_from([1, 8, 12]), st.integers(1, 6), ops)
def test_mapmem_agrees_with_host_maps(type_name, key_size, value_size, max_entries, seq):
    if "array" in type_name:
        key_size = 4
    host = host_map(type_name, key_size, value_size, max_entries)
    mm, d = nic_map(type_name, key_size, value_size, max_entries)
    keys = [(i * 0x9E3779B1 & 0xFFFF_FFFF).to_bytes(4, "little").ljust(key_size, bytes([i]))[:key_size]
            for i in range(10)]
    if "array" in type_name:
        keys = [i.to_bytes(4, "little") for i in range(10)]
    for op, ki, flags, cpu, raw in seq:
        key = keys[ki]
        value = raw[:value_size]
        if op == "lookup":
            addr = host.lookup(key, cpu)
            r = mm.lookup(2, key)
            assert (r.errno == 0) == (addr != 0)
            if addr:
                n = d.ew * 8
                slot = cpu if d.slots > 1 else 0
                assert r.value[slot * n:slot * n + value_size] == host_value(host, addr)
                if cpu == 1:                   # the executor sees the NIC's slot
                    ea = mm.exec_lookup(2, key)
                    got = b"".join(mm.exec_read(ea + 8 * w).to_bytes(8, "little")
                                   for w in range(d.ew))
                    assert got[:value_size] == host_value(host, addr)
            else:
                assert mm.exec_lookup(2, key) is None
        elif op == "update":
            assert mm.update(2, key, value, flags, slot=cpu) == -host.update(key, value, flags, cpu)
        else:
            assert mm.delete(2, key, helper=True) == -host.delete(key)
        if d.is_hash:
            check_hash_invariants(mm, 2)
    # final contents: the same keys, every slot's value equal
    expect = {e.key: (e.values or (e.value,)) for e in host.dump()}
    if d.is_hash:
        got_keys = [k[:key_size] for k in mm.keys(2)]
        assert sorted(got_keys) == sorted(expect) and len(got_keys) == len(set(got_keys))
    for k, vals in expect.items():
        r = mm.lookup(2, k)
        n = d.ew * 8
        assert [r.value[s * n:s * n + value_size] for s in range(d.slots)] == list(vals)


def test_hash_accepts_every_insert_the_kernel_would():
    """max_entries new keys always fit (whatever they hash to), the next is -E2BIG, and after a
    delete a new key fits again: the kernel's rule, with every probe run intact."""
    for max_entries in (1, 3, 16, 100):
        host = host_map("hash", 8, 8, max_entries)
        mm, _ = nic_map("hash", 8, 8, max_entries)
        keys = [i.to_bytes(8, "little") for i in range(max_entries + 1)]
        for k in keys[:-1]:
            assert mm.update(2, k, k, slot=0) == 0 == host.update(k, k, 0, 0)
        assert mm.update(2, keys[-1], b"x", slot=0) == mapmem.E2BIG == -host.update(keys[-1], b"x", 0, 0)
        assert mm.delete(2, keys[0]) == 0
        assert mm.update(2, keys[-1], b"y", slot=0) == 0
        check_hash_invariants(mm, 2)
        assert sorted(mm.keys(2)) == sorted(keys[1:])


def test_next_key_order_and_absent_key():
    mm, _ = nic_map("array", 4, 8, 3)
    assert mm.next_key(2, None).key[:4] == (0).to_bytes(4, "little")
    assert mm.next_key(2, (1).to_bytes(4, "little")).key[:4] == (2).to_bytes(4, "little")
    assert mm.next_key(2, (2).to_bytes(4, "little")).errno == mapmem.ENOENT
    assert mm.next_key(2, (7).to_bytes(4, "little")).key[:4] == (0).to_bytes(4, "little")
    mm, _ = nic_map("hash", 4, 8, 8)
    for i in range(5):
        mm.update(2, bytes([i, 0, 0, 1]), b"v")
    order = mm.keys(2)
    assert len(order) == 5
    assert mm.next_key(2, b"\xff\xff\xff\xff").key == order[0]      # absent key: the first key


def test_user_mode_percpu_and_devmap_against_host_load():
    host = host_map("percpu_hash", 4, 12, 4)
    mm, d = nic_map("percpu_hash", 4, 12, 4)
    v0, v1 = bytes(range(12)), bytes(range(100, 112))
    host.load(Entry(b"abcd", values=(v0, v1)))
    staged = v0.ljust(16, b"\0") + v1.ljust(16, b"\0")
    assert mm.update(2, b"abcd", staged, slot=None) == 0
    r = mm.lookup(2, b"abcd")
    assert (r.value[:12], r.value[16:28]) == tuple(host.dump()[0].values)
    # a helper-mode insert zeroes the other CPU's slot, as the kernel does
    assert mm.update(2, b"efgh", v1, slot=1) == 0 == host.update(b"efgh", v1, 0, 1)
    assert mm.lookup(2, b"efgh").value[:12] == bytes(12)
    dev = host_map("devmap", 4, 4, 8)
    mm, _ = nic_map("devmap", 4, 4, 8)
    dev.load(Entry((3).to_bytes(4, "little"), value=(7).to_bytes(4, "little")))
    assert mm.update(2, (3).to_bytes(4, "little"), (7).to_bytes(4, "little")) == 0
    for i in range(8):
        k = i.to_bytes(4, "little")
        assert (mm.exec_lookup(2, k) is not None) == (dev.lookup(k, 1) != 0)
    assert mm.update(2, (3).to_bytes(4, "little"), b"\0" * 4, slot=1) == mapmem.EOPNOTSUPP
    assert mm.delete(2, (3).to_bytes(4, "little")) == 0
    assert mm.exec_lookup(2, (3).to_bytes(4, "little")) is None
    assert mm.delete(2, (9).to_bytes(4, "little")) == mapmem.EINVAL


def test_rodata_refuses_helper_updates_like_the_host():
    host = host_map("array", 4, 8, 1, frozen=True)
    mm, _ = nic_map("array", 4, 8, 1, rdonly=True)
    k = (0).to_bytes(4, "little")
    assert mm.update(2, k, b"12345678", slot=1) == -host.update(k, b"12345678", 0, 1) == mapmem.EPERM
    assert mm.update(2, k, b"12345678") == 0          # user space fills .rodata before freezing


def test_executor_writes_and_atomic_adds():
    mm, d = nic_map("percpu_array", 4, 8, 2)
    a = mm.exec_lookup(2, (1).to_bytes(4, "little"))
    assert a == (d.base + d.stride + d.ew) * 8                     # element 1, the NIC's slot
    assert mm.exec_write(a, 0x1122334455667788, 0x0F)
    assert mm.exec_read(a) == 0x55667788
    assert mm.exec_add(a + 4, 0xFFFF_FFFF, wide=False) and mm.exec_read(a) == 0xFFFF_FFFF_5566_7788
    assert mm.exec_add(a, 1, wide=False) and mm.exec_read(a) == 0xFFFF_FFFF_5566_7789
    assert mm.exec_add(a, 0xFFFF_FFFF_FFFF_FFFF, wide=True) and mm.exec_read(a) == 0xFFFF_FFFF_5566_7788
    assert not mm.exec_write(mm.mem_bytes, 1, 0xFF) and mm.exec_read(mm.mem_bytes) is None


def test_hash_function_is_crc32c():
    assert mapmem.crc32c_update(0xFFFF_FFFF, b"123456789") ^ 0xFFFF_FFFF == 0xE306_9283
    # the XOR network generated for the RTL is the same step
    rng = __import__("random").Random(3)
    terms = mapmem.crc_step_terms()
    for _ in range(100):
        c, d = rng.getrandbits(32), rng.getrandbits(64)
        out = 0
        for j, (cs, ds) in enumerate(terms):
            out |= (sum(c >> i & 1 for i in cs) + sum(d >> i & 1 for i in ds)) % 2 << j
        assert out == mapmem.crc32c_update(c, d.to_bytes(8, "little"))
    assert mapmem.crc_step_macro().count("^") > 32
    assert mapmem.key_hash(b"abc", 3) == mapmem.key_hash(b"abc\0\0\0\0\0", 8)


def test_descriptor_words_round_trip_and_install_checks():
    d = make_desc("percpu_hash", 13, 20, 100, base=77)
    assert d.n_buckets == 256 and mapmem.MapDesc.from_words(*d.words()) == d
    mm = MapMem(mem_bytes=4096)
    assert mm.install(0, make_desc("hash", 4, 8, 1000)) == mapmem.EINVAL       # does not fit
    assert mm.install(enc.MAP_MAX_MAPS, make_desc("array", 4, 8, 1)) == mapmem.EINVAL
    assert mm.install(0, mapmem.MapDesc(mapmem.MapType.HASH, 4, 8, 4, 0, 2)) == mapmem.EINVAL
    assert mm.install(0, make_desc("hash", 4, 8, 4)) == 0
    assert mm.lookup(1, b"abcd").errno == mapmem.EBADF


def test_shipped_programs_maps_place_into_the_default_memory():
    """Every NIC-resident map of every shipped program fits MAP_MEM_BYTES; LPM tries up to 16 data
    bytes are placed, longer ones and LRU maps stay on the host with their reason."""
    built = sorted((PROJECT_ROOT / "build" / "programs").glob("*.o"))
    if not built:
        pytest.skip("programs not built (make programs)")
    for obj in built:
        prog = load_object(obj)
        p = place(prog.maps.values())
        for name, why in p.host.items():
            assert why == mapmem.HOST_ONLY_REASON.get(prog.maps[name].type_name, why)
            assert "memory" not in why and "descriptors" not in why, (obj.name, name, why)
        assert p.used_words * 8 <= enc.MAP_MEM_BYTES
    lpm = MapDef("routes", MAP_TYPE_IDS["lpm_trie"], 8, 8, 16, BPF_F_NO_PREALLOC)
    assert place([lpm]).nic["routes"].type == mapmem.MapType.LPM_TRIE
    wide = MapDef("wide", MAP_TYPE_IDS["lpm_trie"], 4 + 17, 8, 16, BPF_F_NO_PREALLOC)
    assert "1..16" in place([wide]).host["wide"]
    lru = MapDef("lru", MAP_TYPE_IDS["lru_hash"], 8, 8, 16)
    assert place([lru]).host == {"lru": mapmem.HOST_ONLY_REASON["lru_hash"]}
    huge = MapDef("big", MAP_TYPE_IDS["hash"], 4, 8, 1 << 20)
    assert "map memory" in place([huge]).host["big"]


def test_bus_protocol_words():
    """The register accesses the drivers perform: command fields, keys and values padded to whole
    64-bit words (the NIC hashes and compares whole words), oversize input refused in one line."""
    from jit.nic import mapbus
    w = mapbus.command_word(mapmem.MapCmd.UPDATE, 9, flags=2, slot=1, all_slots=False)
    assert (w & 0xF, w >> 4 & 3, w >> 6 & 1, w >> 7 & 1, w >> 8 & 0xFF) == (3, 2, 1, 0, 9)
    assert mapbus.key_writes(b"\x01\x02\x03\x04\x05") == [(enc.REG_MAP_KEY, 0x04030201),
                                                           (enc.REG_MAP_KEY + 4, 0x05)]
    d = make_desc("percpu_hash", 4, 12, 4)
    staged = mapbus.slots_bytes(d, [b"\x01" * 12, b"\x02" * 12])
    assert len(staged) == 32 and staged[16:28] == b"\x02" * 12
    assert len(mapbus.value_reads(d)) == 8 and len(mapbus.key_reads(d)) == 2
    with pytest.raises(mapmem.MapMemError, match="key of 65 bytes"):
        mapbus.key_writes(bytes(65))
    assert [a for a, _ in mapbus.desc_writes(d)] == [enc.REG_MAP_DESC + 4 * i for i in range(4)]


# ---- LPM tries ---------------------------------------------------------------------------------
def lpm_key(plen: int, data: bytes) -> bytes:
    return plen.to_bytes(4, "little") + data


@settings(max_examples=80, deadline=None)
@given(st.sampled_from([5, 8, 12, 20]), st.integers(1, 8), st.integers(0, 2 ** 32 - 1),
       st.lists(st.tuples(st.sampled_from(["lookup", "lookup", "update", "delete", "bus_lookup"]),
                          st.integers(0, 11),       # prefix from a small pool (shared bits)
                          st.integers(0, 3),        # plen choice
                          st.integers(0, 3),        # update flags (3 is invalid)
                          st.binary(min_size=16, max_size=16)), max_size=70))
def test_lpm_agrees_with_host_trie(key_size, max_entries, seed, seq):
    """Random prefixes/keys/deletes: the NIC's LPM (hash table + prefix-length index) gives the
    host trie's errnos (EINVAL above the key's bits, EEXIST/ENOENT by flags, ENOSPC when full),
    its longest-prefix answers, its stored keys (rekeyed on replace) and its values."""
    import random
    rng = random.Random(seed)
    plen_max = 8 * (key_size - 4)
    host = host_map("lpm_trie", key_size, 8, max_entries)
    mm, d = nic_map("lpm_trie", key_size, 8, max_entries)
    base = [bytes(rng.getrandbits(8) for _ in range(key_size - 4)) for _ in range(4)]
    datas = [bytes(a ^ (rng.getrandbits(8) if rng.random() < 0.3 else 0) for a in base[i % 4])
             for i in range(12)]
    plens = [0, rng.randint(0, plen_max), rng.randint(0, plen_max), plen_max,
             plen_max + 1 + rng.randint(0, 40)]
    for op, di, pi, flags, raw in seq:
        plen = plens[pi] if op != "update" or rng.random() < 0.9 else plens[4]
        if op in ("lookup", "bus_lookup") and rng.random() < 0.2:
            plen = plens[4]                 # lookups above the key's bits search every length
        key = lpm_key(plen, datas[di])
        value = raw[:8]
        if op == "lookup":
            addr = host.lookup(key, 1)
            ea = mm.exec_lookup(2, key)
            assert (ea is None) == (addr == 0)
            if addr:
                assert mm.exec_read(ea).to_bytes(8, "little") == host_value(host, addr)
        elif op == "bus_lookup":
            addr = host.lookup(key, 0)
            r = mm.lookup(2, key)
            assert (r.errno == 0) == (addr != 0) and r.errno in (0, mapmem.ENOENT)
            if addr:
                assert r.value[:8] == host_value(host, addr)
        elif op == "update":
            assert mm.update(2, key, value, flags, slot=0) == -host.update(key, value, flags, 0)
        else:
            assert mm.delete(2, key) == -host.delete(key)
        check_hash_invariants(mm, 2)
    # contents as sets (the NIC iterates in bucket order, the host by key bytes): stored keys as
    # given, values equal
    expect = {e.key: e.value for e in host.dump()}
    got = mm.keys(2)
    assert len(got) == len(set(got)) == mm.count(2)
    assert {k[:key_size] for k in got} == set(expect)
    for k, v in expect.items():
        assert mm.lookup(2, k).value[:8] == v


def test_lpm_accepts_every_insert_the_kernel_would():
    """max_entries distinct prefixes (any lengths) always fit, the next is -ENOSPC, a delete makes
    room again; the prefix-length index follows."""
    import random
    rng = random.Random(11)
    for max_entries in (1, 3, 16, 100):
        host = host_map("lpm_trie", 8, 4, max_entries)
        mm, d = nic_map("lpm_trie", 8, 4, max_entries)
        idents = {}
        while len(idents) <= max_entries:
            p = rng.randint(0, 32)
            k = lpm_key(p, rng.randbytes(4))
            idents.setdefault(mapmem.lpm_canon(k, 8, p), k)
        keys = list(idents.values())
        for k in keys[:-1]:
            assert mm.update(2, k, b"vvvv") == 0 == host.update(k, b"vvvv", 0, 0)
        assert mm.update(2, keys[-1], b"x") == mapmem.ENOSPC == -host.update(keys[-1], b"x", 0, 0)
        assert mm.delete(2, keys[0]) == 0 == host.delete(keys[0])
        assert mm.update(2, keys[-1], b"yyyy") == 0 == host.update(keys[-1], b"yyyy", 0, 0)
        check_hash_invariants(mm, 2)
        assert sorted(k[:8] for k in mm.keys(2)) == sorted(e.key for e in host.dump())


def test_lpm_errnos_full_and_flags():
    host = host_map("lpm_trie", 8, 4, 3)
    mm, d = nic_map("lpm_trie", 8, 4, 3)
    net = bytes([10, 1, 2, 3])
    assert d.max_prefixlen == 32 and d.lpm_bm_words == 1
    assert mm.update(2, lpm_key(33, net), b"vvvv") == mapmem.EINVAL == -host.update(
        lpm_key(33, net), b"vvvv", 0, 0)
    assert mm.update(2, lpm_key(8, net), b"a", 3) == mapmem.EINVAL
    for i, p in enumerate((8, 16, 24)):
        assert mm.update(2, lpm_key(p, net), bytes([i]) * 4, mapmem.BPF_NOEXIST) == 0
        host.update(lpm_key(p, net), bytes([i]) * 4, 1, 0)
    # the same prefix with other bits past it is the same entry: NOEXIST refuses, ANY replaces
    # and rekeys (the kernel keeps the new node's data)
    other = lpm_key(16, bytes([10, 1, 99, 99]))
    assert mm.update(2, other, b"xxxx", mapmem.BPF_NOEXIST) == mapmem.EEXIST
    assert mm.update(2, other, b"yyyy", mapmem.BPF_EXIST) == 0 == host.update(other, b"yyyy", 2, 0)
    assert sorted(k[:8] for k in mm.keys(2)) == sorted(e.key for e in host.dump())
    assert other in [k[:8] for k in mm.keys(2)]
    full = lpm_key(32, net)
    assert mm.update(2, full, b"zzzz") == mapmem.ENOSPC == -host.update(full, b"zzzz", 0, 0)
    assert mm.update(2, full, b"zzzz", mapmem.BPF_EXIST) == mapmem.ENOENT
    # longest prefix: /24 beats /16 beats /8; a key's own prefixlen bounds the search
    assert mm.lookup(2, lpm_key(32, net)).value[:4] == bytes([2]) * 4
    assert mm.lookup(2, lpm_key(20, net)).value[:4] == b"yyyy"
    assert mm.lookup(2, lpm_key(32, bytes([10, 9, 9, 9]))).value[:4] == bytes([0]) * 4
    assert mm.lookup(2, lpm_key(7, net)).errno == mapmem.ENOENT
    # delete: exact identity; the length's bit goes with its last entry
    assert mm.delete(2, lpm_key(24, bytes([10, 1, 2, 0]))) == 0 == host.delete(
        lpm_key(24, bytes([10, 1, 2, 0])))
    assert mm.lpm_lengths(d) == (1 << 8) | (1 << 16)
    assert mm.delete(2, lpm_key(24, net)) == mapmem.ENOENT == -host.delete(lpm_key(24, net))
    assert mm.delete(2, lpm_key(40, net)) == mapmem.ENOENT == -host.delete(lpm_key(40, net))
    assert mm.update(2, full, b"zzzz") == 0
    assert mm.exec_insert(2, full) is None and not mm.exec_delete(2, full)   # lookups only
    # install refuses data past MAP_LPM_MAX_DATA_BYTES
    assert mm.install(3, make_desc("lpm_trie", 4 + 17, 8, 2, 5000)) == mapmem.EINVAL
    assert mm.install(3, make_desc("lpm_trie", 4 + 16, 8, 2, 5000)) == 0
    assert mm.descs[3].lpm_bm_words == 3
