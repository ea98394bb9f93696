"""jitnic_maps against jit.nic.mapmem.MapMem: random operation sequences from both ports (control
bus commands through the register port, executor requests), every result compared (errno, value
and key staging, executor found/address/data), then the whole map memory compared word by word
through the executor's READ. Also: a bus command waits while an executor transaction is open
(memory model rule 2), and executor requests are served meanwhile."""
from __future__ import annotations

import json
import os
import random

import cocotb
import pytest
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge

from jit.nic import encoding as enc
from jit.nic import mapmem
from jit.nic.mapmem import ExOp, MapMem, make_desc
from tb.common.mapbus import MapBus
from tb.common.runner import param, run_cocotb

OPS = 800


class MapsTb:
    def __init__(self, dut):
        self.dut = dut
        self.mem_bytes = param("MAP_MEM_BYTES")
        self.max_maps = param("MAX_MAPS")
        self.max_key = param("MAX_KEY_BYTES")
        self.max_value = param("MAX_VALUE_BYTES")
        self.model = MapMem(self.mem_bytes, self.max_maps, self.max_key, self.max_value)
        Clock(dut.clk, 10, unit="ns", impl="gpi").start(start_high=False)
        for name in ("reg_wr", "reg_waddr", "reg_wdata", "reg_wstrb", "reg_rd", "reg_raddr",
                     "ex_txn_open", "ex_turn", "ex_req_valid", "ex_req_op", "ex_req_map", "ex_req_key",
                     "ex_req_addr", "ex_req_data", "ex_req_be"):
            getattr(dut, name).value = 0
        self.bus = MapBus(self.write, self.read)

    async def reset(self):
        self.dut.rst.value = 1
        for _ in range(3):
            await RisingEdge(self.dut.clk)
        self.dut.rst.value = 0
        await FallingEdge(self.dut.clk)

    async def write(self, addr: int, value: int) -> None:
        self.dut.reg_wr.value = 1
        self.dut.reg_waddr.value = addr - enc.REG_MAP_REGION
        self.dut.reg_wdata.value = value
        self.dut.reg_wstrb.value = 0xF
        await FallingEdge(self.dut.clk)
        self.dut.reg_wr.value = 0

    async def read(self, addr: int) -> int:
        self.dut.reg_rd.value = 1
        self.dut.reg_raddr.value = addr - enc.REG_MAP_REGION
        await FallingEdge(self.dut.clk)          # rdata is valid the cycle after the read
        self.dut.reg_rd.value = 0
        return int(self.dut.reg_rdata.value)

    async def ex(self, op: ExOp, map_id=0, key=b"", addr=0, data=0, be=0):
        """One executor request; (ok, addr, data, cycles from request to response)."""
        d = self.dut
        d.ex_req_valid.value = 1
        d.ex_req_op.value = int(op)
        d.ex_req_map.value = map_id
        d.ex_req_key.value = int.from_bytes(key.ljust(self.max_key, b"\0"), "little")
        d.ex_req_addr.value = addr
        d.ex_req_data.value = data
        d.ex_req_be.value = be
        cycles = 0
        while not int(d.ex_req_ready.value):
            await FallingEdge(d.clk)
            cycles += 1
        await FallingEdge(d.clk)
        d.ex_req_valid.value = 0
        for _ in range(100_000):
            cycles += 1
            if int(d.ex_resp_valid.value):
                return (bool(int(d.ex_resp_ok.value)), int(d.ex_resp_addr.value),
                        int(d.ex_resp_data.value), cycles)
            await FallingEdge(d.clk)
        raise AssertionError(f"executor {op.name} got no response")


def map_set(max_maps: int, max_key: int, max_value: int):
    """(type, key_size, value_size, max_entries) of the maps a configuration installs."""
    maps = [("hash", min(5, max_key), min(12, max_value), 6),
            ("lpm_trie", 8, min(12, max_value), 5),          # IPv4 routes: lengths 0..32
            ("percpu_array", 4, min(12, max_value), 3),
            ("percpu_hash", min(12, max_key), 8, 4),
            ("array", 4, min(8, max_value), 5),
            ("devmap", 4, 4, 4),
            ("prog_array", 4, 4, 3)]
    if max_key >= 20:
        maps.insert(2, ("lpm_trie", 20, 8, 4))             # IPv6: lengths 0..128, 3 bitmap words
    return maps[:max_maps]


def lpm_pool(rng, d, n=12):
    """LPM keys sharing prefixes: a few base addresses with random bits flipped, at prefix lengths
    0, P, random, and above P (update: EINVAL; lookup: searches every length)."""
    nbytes, P = d.key_size - 4, d.max_prefixlen
    bases = [bytes(rng.getrandbits(8) for _ in range(nbytes)) for _ in range(3)]
    out = []
    for _ in range(n):
        data = bytearray(rng.choice(bases))
        if rng.random() < 0.5:
            data[rng.randrange(nbytes)] ^= 1 << rng.randrange(8)
        plen = rng.choice([0, P, P, rng.randint(0, P), rng.randint(0, P), rng.randint(0, P),
                           P + 1 + rng.randrange(100)])
        out.append(plen.to_bytes(4, "little") + bytes(data))
    return out


def rand_key(rng, d, pool):
    if d.is_hash:
        return rng.choice(pool)
    return rng.choice([rng.randrange(d.max_entries + 2), 0xFFFF_FFFF]).to_bytes(4, "little")


@cocotb.test()
async def maps_random(dut):
    tb = MapsTb(dut)
    await tb.reset()
    rng = random.Random(0xC0FFEE ^ tb.mem_bytes ^ tb.max_maps)
    m = tb.model
    bus = tb.bus
    descs = {}
    base = 3
    for i, (t, ks, vs, n) in enumerate(map_set(tb.max_maps, tb.max_key, tb.max_value)):
        d = make_desc(t, ks, vs, n, base, rdonly=(t == "array"))
        assert await bus.install(i, d) == m.install(i, d) == 0, d
        descs[i] = d
        base += d.size_words()
    # refused descriptors: too big, bad id
    big = make_desc("hash", 4, 8, tb.mem_bytes, 0)
    assert await bus.install(0, big) == m.install(0, big) == mapmem.EINVAL
    assert await bus.install(tb.max_maps, descs[0]) == mapmem.EINVAL
    keypools = {i: lpm_pool(rng, d) if d.is_lpm else
                [bytes(rng.getrandbits(8) for _ in range(d.key_size)) for _ in range(9)]
                for i, d in descs.items()}
    stats = {}
    lpm_hits = {}
    for step in range(OPS):
        i = rng.randrange(len(descs) + (1 if len(descs) < tb.max_maps else 0))
        d = descs.get(i, descs[0])
        key = rand_key(rng, d, keypools.get(i, keypools[0]))
        kind = rng.choice(["lookup", "update", "update", "delete", "next", "first",
                           "ex_lookup", "ex_lookup", "ex_write", "ex_add", "ex_read",
                           "ex_insert", "ex_delete"])
        if kind == "lookup":
            got, want = await bus.lookup(i, d, key), m.lookup(i, key)
            assert got == want, (step, kind, i, key, got, want)
        elif kind == "update":
            flags = rng.choice([0, 0, 1, 2, 3])
            if rng.random() < 0.5:
                slot = rng.randrange(2)
                value = bytes(rng.getrandbits(8) for _ in range(d.ew * 8))
            else:
                slot = None
                value = bytes(rng.getrandbits(8) for _ in range(d.slots * d.ew * 8))
            got, want = await bus.update(i, key, value, flags, slot), m.update(i, key, value, flags, slot)
            assert got == want, (step, kind, i, key, flags, slot, got, want)
        elif kind == "delete":
            helper = rng.random() < 0.3
            got, want = await bus.delete(i, key, helper), m.delete(i, key, helper)
            assert got == want, (step, kind, i, key, got, want)
        elif kind in ("next", "first"):
            k = None if kind == "first" else key
            got, want = await bus.next_key(i, d, k), m.next_key(i, k)
            assert got.errno == want.errno, (step, kind, i, got, want)
            if not got.errno:
                assert got.key[:len(want.key)] == want.key, (step, kind, i, got, want)
        elif kind == "ex_lookup":
            # the executor's descriptor read (DESC) of the same map, against mapmem.exec_desc
            ok, base, word, _ = await tb.ex(ExOp.DESC, i)
            want = m.exec_desc(i)
            assert (ok, (base, word) if ok else None) == (want is not None, want), (step, i, want)
            ok, addr, room, cyc = await tb.ex(ExOp.LOOKUP, i, key)
            want = m.exec_lookup(i, key)
            assert (ok, addr if ok else None) == (want is not None, want), (step, i, key, ok, addr, want)
            if i in descs and d.is_lpm:
                lpm_hits[i] = lpm_hits.get(i, 0) + ok
                assert cyc == lpm_lookup_cycles(m, d, key), (step, i, key, cyc)
            if i in descs:                  # room for an insert (map_update_elem's E2BIG)
                assert room & 1 == m.exec_room(i), (step, i, room, m.exec_room(i))
            stats.setdefault("ex_lookup " + (d.type.name if i in descs else "EBADF"), []).append(cyc)
        elif kind in ("ex_insert", "ex_delete"):
            # a committed map_update_elem / map_delete_elem: the bus's ERRNO stays as it was
            errno = await tb.read(enc.REG_MAP_ERRNO)
            if kind == "ex_insert":
                full = i in descs and d.is_hash and not m.exec_room(i) and m.exec_lookup(i, key) is None
                ok, addr, _, cyc = await tb.ex(ExOp.INSERT, i, key)
                want = None if full else m.exec_insert(i, key)
                assert (ok, addr if ok else None) == (want is not None, want), (step, i, key, ok, want)
            else:
                ok, _, _, cyc = await tb.ex(ExOp.DELETE, i, key)
                assert ok == m.exec_delete(i, key), (step, i, key, ok)
            assert await tb.read(enc.REG_MAP_ERRNO) == errno, (step, kind)
            stats.setdefault(f"{kind} " + (d.type.name if i in descs else "EBADF"), []).append(cyc)
        else:
            # a transaction's buffered writes target the value it looked up (or lie outside memory)
            ok, va, _, _ = await tb.ex(ExOp.LOOKUP, i, key)
            assert (ok, va if ok else None) == (m.exec_lookup(i, key) is not None, m.exec_lookup(i, key))
            if kind == "ex_read":
                a = rng.randrange(0, tb.mem_bytes + 64, 4)
            elif ok and rng.random() < 0.9:
                a = va + 8 * rng.randrange(d.ew) + 4 * rng.randrange(2)
            else:
                a = tb.mem_bytes + 8 * rng.randrange(4)
            data = rng.getrandbits(64)
            if kind == "ex_write":
                be = rng.getrandbits(8)
                ok, _, _, _ = await tb.ex(ExOp.WRITE, addr=a, data=data, be=be)
                assert ok == m.exec_write(a, data, be)
            elif kind == "ex_add":
                wide = rng.random() < 0.5
                ok, _, _, _ = await tb.ex(ExOp.ADD64 if wide else ExOp.ADD32, addr=a, data=data)
                assert ok == m.exec_add(a, data, wide)
            else:
                ok, _, word, _ = await tb.ex(ExOp.READ, addr=a)
                want = m.exec_read(a)
                assert (ok, word if ok else None) == (want is not None, want)
        if kind in ("lookup", "update", "delete", "next", "first"):
            stats.setdefault(f"bus {kind} {d.type.name if i in descs else 'EBADF'}", []).append(bus.last_cycles)
    # every LPM map answered executor lookups with a hit some of the time
    for i, d in descs.items():
        if d.is_lpm:
            assert lpm_hits.get(i, 0) >= 3, (i, lpm_hits)
    # the whole memory, word by word
    for w in range(tb.mem_bytes // 8):
        ok, _, word, _ = await tb.ex(ExOp.READ, addr=8 * w)
        assert ok and word == m.rd(w), f"word {w}: rtl {word:#x} model {m.rd(w):#x}"
    for name, cyc in sorted(stats.items()):
        dut._log.info("%-28s n=%3d cycles min %3d mean %6.1f max %3d", name, len(cyc), min(cyc),
                      sum(cyc) / len(cyc), max(cyc))


@cocotb.test()
async def maps_bus_waits_for_transaction(dut):
    """A bus command does not start while ex_txn_open is high; executor requests go on; the command
    runs when the transaction closes, and MAP_TURN holds ex_turn as it was at that start (not at
    the MAP_CMD write, not later)."""
    tb = MapsTb(dut)
    await tb.reset()
    d = make_desc("array", 4, 8, 4, 0)
    dut.ex_turn.value = 5
    assert await tb.bus.install(0, d) == 0
    assert await tb.read(enc.REG_MAP_TURN) == 5
    dut.ex_turn.value = 6
    dut.ex_txn_open.value = 1
    await tb.write(enc.REG_MAP_KEY, 2)
    await tb.write(enc.REG_MAP_VALUE, 0x1234)
    await tb.write(enc.REG_MAP_VALUE + 4, 0)
    await tb.write(enc.REG_MAP_CMD, 3 | (1 << 7))          # UPDATE, user mode, map 0
    ok, addr, _, _ = await tb.ex(ExOp.LOOKUP, 0, (2).to_bytes(4, "little"))
    assert ok
    ok, _, _, _ = await tb.ex(ExOp.WRITE, addr=addr, data=0x77, be=0xFF)
    for _ in range(20):
        await FallingEdge(dut.clk)
        assert int(dut.busy.value) == 1
    ok, _, word, _ = await tb.ex(ExOp.READ, addr=addr)
    assert word == 0x77, "the bus update ran inside the transaction"
    dut.ex_turn.value = 0xFFFF_FFF7          # the transaction's frame retires as it closes
    dut.ex_txn_open.value = 0
    await FallingEdge(dut.clk)
    dut.ex_turn.value = 0xFFFF_FFF8          # one cycle later: the command has started
    for _ in range(50):
        await FallingEdge(dut.clk)
        if not int(dut.busy.value):
            break
    assert await tb.read(enc.REG_MAP_ERRNO) == 0
    assert await tb.read(enc.REG_MAP_TURN) == 0xFFFF_FFF7, "MAP_TURN is not ex_turn at the start"
    ok, _, word, _ = await tb.ex(ExOp.READ, addr=addr)
    assert word == 0x1234


# LPM executor lookup cycles (request to response), from the RTL's states: LPM_C (request, start,
# prefixlen check, bitmap load set-up and the response) + one per bitmap word, per probed length
# LPM_Q (pick the length, the probe's end) + kw (hash) + 2 per bucket read + 2 per key word
# compared, and LPM_MISS when no length matched (the last pick finds none).
LPM_C, LPM_Q, LPM_MISS = 6, 2, 2


def lpm_lookup_cycles(m: MapMem, d, key: bytes) -> int:
    """What the RTL spends on an executor LOOKUP of `key` in LPM map `d` of model `m` (the same walk
    over the same memory: jit/nic/mapmem.py _lpm_find and _probe)."""
    cyc = LPM_C + d.lpm_bm_words
    bm = m.lpm_lengths(d)
    mask = d.n_buckets - 1
    for q in range(min(int.from_bytes(key[:4], "little"), d.max_prefixlen), -1, -1):
        if not bm >> q & 1:
            continue
        ident = mapmem.lpm_canon(key, d.key_size, q)
        h = mapmem.key_hash(ident, d.key_size)
        want = ident.ljust(d.kw * 8, b"\0")
        cyc += LPM_Q + d.kw
        b = h & mask
        for _ in range(d.n_buckets):
            ba = d.base + b * d.bucket_words
            w0 = m.rd(ba)
            cyc += 2
            if not w0 & mapmem.BUCKET_VALID:
                break
            if (w0 >> 32) & ((1 << 31) - 1) == h & ((1 << 31) - 1):
                stored = mapmem.lpm_masked(m.read_bytes(ba + 1, d.kw), d.key_size, q).ljust(d.kw * 8, b"\0")
                for w in range(d.kw):
                    cyc += 2
                    if stored[8 * w:8 * w + 8] != want[8 * w:8 * w + 8]:
                        break
                else:
                    return cyc
            b = (b + 1) & mask
    return cyc + LPM_MISS


def lpm_key(plen: int, *octets: int) -> bytes:
    return plen.to_bytes(4, "little") + bytes(octets)


@cocotb.test()
async def maps_lpm_cycles(dut):
    """An LPM lookup's cycles (executor LOOKUP, request to response): one hash probe per length in
    use that it tries, longest first, until the answer (lpm_lookup_cycles; docs/rtl.md)."""
    tb = MapsTb(dut)
    await tb.reset()
    d = make_desc("lpm_trie", 8, 8, 16, 0)
    assert await tb.bus.install(0, d) == tb.model.install(0, d) == 0
    for plen, net in ((8, (10, 0, 0, 0)), (16, (10, 1, 0, 0)), (24, (10, 1, 2, 0))):
        k = lpm_key(plen, *net)
        assert await tb.bus.update(0, k, bytes([plen]) * 8, slot=0) == tb.model.update(0, k, bytes([plen]) * 8, slot=0) == 0
        cyc = tb.bus.last_cycles
    cases = [((10, 1, 2, 3), 24, 1), ((10, 1, 3, 3), 16, 2), ((10, 2, 3, 3), 8, 3),
             ((11, 1, 2, 3), None, 3)]
    got = []
    for addr, plen, probes in cases:
        key = lpm_key(32, *addr)
        ok, a, _, c = await tb.ex(ExOp.LOOKUP, 0, key)
        assert (ok, a if ok else None) == (plen is not None, tb.model.exec_lookup(0, key))
        if ok:
            assert tb.model.exec_read(a) == int.from_bytes(bytes([plen]) * 8, "little")
        got.append(c)
    # the key's own prefixlen bounds the search: /12 tries only /8
    ok, _, _, c12 = await tb.ex(ExOp.LOOKUP, 0, lpm_key(12, 10, 1, 2, 3))
    assert ok
    want = [lpm_lookup_cycles(tb.model, d, lpm_key(32, *addr)) for addr, _, _ in cases]
    assert got == want, (got, want)
    assert c12 == lpm_lookup_cycles(tb.model, d, lpm_key(12, 10, 1, 2, 3)), c12
    # each tried length costs at least one empty-bucket probe: more lengths, more cycles
    assert got[0] < got[1] < got[2]
    dut._log.info("LPM lookups: %s cycles (1..3 probes), a bus update %d cycles", got, cyc)


@cocotb.test(skip=not os.environ.get("MAPS_REPORT"))
async def maps_lookup_cycles(dut):
    """Lookup-unit cycles (executor LOOKUP, request accepted to response) for arrays, for hash
    maps at several loads, hits and misses, and for LPM tries (IPv4 and IPv6 routes at 5 prefix
    lengths: hits at the longest length, at the shortest, misses); written to MAPS_REPORT
    (`jitnic bench maps`)."""
    tb = MapsTb(dut)
    await tb.reset()
    rng = random.Random(7)
    rows = []
    base = 0
    descs = {}
    for map_id, (name, t, ks, n) in enumerate([("array", "array", 4, 256),
                                               ("percpu_array", "percpu_array", 4, 256),
                                               ("hash 4B key", "hash", 4, 512),
                                               ("hash 16B key", "hash", 16, 512),
                                               ("lpm 4B data", "lpm_trie", 8, 256),
                                               ("lpm 16B data", "lpm_trie", 20, 256)]):
        d = make_desc(t, ks, 8, n, base)
        assert await tb.bus.install(map_id, d) == 0
        descs[map_id] = (name, d)
        base += d.size_words()

    async def sample(map_id, keys, label, load):
        cyc = []
        for k in keys:
            ok, _, _, c = await tb.ex(ExOp.LOOKUP, map_id, k)
            assert ok == (label == "hit")
            cyc.append(c)
        name, d = descs[map_id]
        rows.append({"map": name, "load": load, "lookup": label, "n": len(cyc),
                     "cycles_mean": round(sum(cyc) / len(cyc), 2), "cycles_max": max(cyc)})

    for map_id in (0, 1):
        await sample(map_id, [i.to_bytes(4, "little") for i in range(0, 256, 4)], "hit", "-")
        await sample(map_id, [(256 + i).to_bytes(4, "little") for i in range(16)], "miss", "-")
    for map_id in (2, 3):
        name, d = descs[map_id]
        keys = []
        for target in (d.n_buckets // 8, d.n_buckets // 4, d.n_buckets // 2):
            while len(keys) < target:
                k = bytes(rng.getrandbits(8) for _ in range(d.key_size))
                assert await tb.bus.update(map_id, k, bytes(8), slot=0) == 0
                keys.append(k)
            load = f"{target}/{d.n_buckets} buckets"
            await sample(map_id, rng.sample(keys, 64), "hit", load)
            await sample(map_id, [bytes(rng.getrandbits(8) for _ in range(d.key_size))
                                  for _ in range(64)], "miss", load)
    for map_id in (4, 5):
        name, d = descs[map_id]
        nbytes = d.key_size - 4
        lens = [8, 12, 16, 24, 8 * nbytes] if nbytes == 4 else [16, 32, 48, 64, 128]
        nets = []
        for i in range(64):              # 64 routes, lengths round-robin; /shortest under 10.*
            plen = lens[i % len(lens)]
            data = bytes([10]) + bytes(rng.getrandbits(8) for _ in range(nbytes - 1))
            k = plen.to_bytes(4, "little") + data
            if await tb.bus.update(map_id, k, bytes(8), slot=0) == 0:
                nets.append((plen, data))
        full = 8 * nbytes
        longest = [full.to_bytes(4, "little") + dt for p, dt in nets if p == full][:32]
        # under 10.* but past every longer route: only a /shortest (8 or 16) entry can match
        shortest = [(full.to_bytes(4, "little") + dt[:lens[0] // 8]
                     + bytes([0xEE]) * (nbytes - lens[0] // 8)) for p, dt in nets if p == lens[0]][:32]
        misses = [full.to_bytes(4, "little") + bytes([11]) + bytes(rng.getrandbits(8)
                                                               for _ in range(nbytes - 1))
                  for _ in range(32)]
        load = f"{len(nets)} routes, {len(lens)} lengths"
        await sample(map_id, longest, "hit", load + " (longest)")
        await sample(map_id, shortest, "hit", load + " (shortest)")
        await sample(map_id, misses, "miss", load)
    with open(os.environ["MAPS_REPORT"], "w") as f:
        json.dump(rows, f)


# default parameters (jit/nic/encoding.py): the size `jitnic bench maps` measures
DEFAULT_PARAMS = dict(MAP_MEM_BYTES=enc.MAP_MEM_BYTES, MAX_MAPS=enc.MAP_MAX_MAPS,
                      MAX_KEY_BYTES=enc.MAP_MAX_KEY_BYTES, MAX_VALUE_BYTES=enc.MAP_MAX_VALUE_BYTES)

CONFIGS = [
    dict(MAP_MEM_BYTES=4096, MAX_MAPS=8, MAX_KEY_BYTES=24, MAX_VALUE_BYTES=16),
    dict(MAP_MEM_BYTES=1024, MAX_MAPS=2, MAX_KEY_BYTES=8, MAX_VALUE_BYTES=8),
]


@pytest.mark.rtl
@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: "m{MAP_MEM_BYTES}-n{MAX_MAPS}-k{MAX_KEY_BYTES}-v{MAX_VALUE_BYTES}".format(**c))
def test_maps(cfg):
    run_cocotb("jitnic_maps", "tb.maps.test_maps", parameters=cfg)
