"""Map access over AXI4-Lite at the top level (jitnic_top: jitnic_axil_regs' map region ->
jitnic_maps): the configuration registers, descriptors of real programs' maps (placed by
jit.nic.mapmem.place) and of every NIC map type installed, maps filled with random entries (a hash
map to max_entries and one past it), every entry read back by iteration and lookup and compared
with jit.nic.mapmem.MapMem; deletes; writes to the map region wait while a command runs.

`maps_bus_latency` measures cycles per map operation over the bus (run by `jitnic bench maps`,
which sets MAPS_REPORT)."""
from __future__ import annotations

import json
import os
import random

import cocotb
import pytest
from cocotb.triggers import RisingEdge
from cocotb.utils import get_sim_time

from jit.ebpf.elf import MAP_TYPE_IDS, MapDef
from jit.nic import encoding as enc
from jit.nic import mapmem
from jit.nic.mapmem import MapMem, place
from tb.common.mapbus import MapBus
from tb.common.nic import NicTb
from tb.common.runner import run_cocotb


def maps_under_test() -> list[MapDef]:
    """deny_list's maps (programs/deny_list.c) and one of each other NIC map type, small."""
    d = lambda name, t, k, v, n, **kw: MapDef(name, MAP_TYPE_IDS[t], k, v, n, **kw)  # noqa: E731
    return [d("deny_v4", "hash", 4, 8, 1024), d("verdicts", "percpu_array", 4, 8, 4),
            d("flows", "percpu_hash", 13, 16, 8), d("tx_ports", "devmap", 4, 4, 8),
            d("handlers", "prog_array", 4, 4, 4), d("prog.rodata", "array", 4, 24, 1, frozen=True),
            d("routes", "lpm_trie", 8, 8, 16, flags=1), d("recent", "lru_hash", 4, 8, 16)]


async def setup(dut):
    tb = NicTb(dut)
    await tb.reset()
    bus = MapBus(tb.axil.write, tb.axil.read)
    return tb, bus


@cocotb.test()
async def maps_over_axil(dut):
    tb, bus = await setup(dut)
    assert await tb.axil.read(enc.REG_MAP_CFG_MEM_BYTES) == enc.MAP_MEM_BYTES
    assert await tb.axil.read(enc.REG_MAP_CFG_LIMITS) == (
        enc.MAP_MAX_VALUE_BYTES << 16 | enc.MAP_MAX_KEY_BYTES << 8 | enc.MAP_MAX_MAPS)
    model = MapMem()
    p = place(maps_under_test())
    assert set(p.host) == {"recent"}
    descs = {}
    for map_id, (name, desc) in enumerate(p.nic.items()):
        assert await bus.install(map_id, desc) == model.install(map_id, desc) == 0, name
        descs[map_id] = desc
    rng = random.Random(5)
    for map_id, d in descs.items():
        n = min(d.max_entries, 150)
        keys = [mapmem.random_key(d, rng) if d.is_hash else i.to_bytes(4, "little")
                for i in range(n)]
        for k in keys:
            value = bytes(rng.getrandbits(8) for _ in range(d.slots * d.ew * 8))
            got, want = await bus.update(map_id, k, value), model.update(map_id, k, value)
            assert got == want, (map_id, k, got, want)
        if d.is_hash and model.count(map_id) == d.max_entries:   # full: a new key is refused
            extra = (d.max_prefixlen.to_bytes(4, "little") + b"\xee" * (d.key_size - 4) if d.is_lpm
                     else b"\xee" * d.key_size)
            assert await bus.update(map_id, extra, b"") == model.update(map_id, extra, b"") == (
                mapmem.ENOSPC if d.is_lpm else mapmem.E2BIG)
        for k in keys[::3]:
            helper = d.type in (mapmem.MapType.DEVMAP, mapmem.MapType.PROG_ARRAY) and rng.random() < 0.3
            assert await bus.delete(map_id, k, helper) == model.delete(map_id, k, helper)
    # read everything back: iterate in the NIC's order, look every key up
    for map_id, d in descs.items():
        seen, r = [], await bus.next_key(map_id, d, None)
        while r.errno == 0 and len(seen) <= d.max_entries:
            seen.append(r.key)
            r = await bus.next_key(map_id, d, r.key[:d.key_size])
        assert r.errno == mapmem.ENOENT
        assert seen == model.keys(map_id), map_id
        for k in seen:
            got, want = await bus.lookup(map_id, d, k[:d.key_size]), model.lookup(map_id, k[:d.key_size])
            assert got == want, (map_id, k, got, want)
    dut._log.info("maps read back: %s", {n: len(model.keys(i)) for i, n in enumerate(p.nic)})


@cocotb.test()
async def map_writes_wait_while_busy(dut):
    """A staging write issued while a command runs is held by AXI (not lost, not applied early)."""
    tb, bus = await setup(dut)
    d = mapmem.make_desc("hash", 4, 8, 64, base=0)
    assert await bus.install(0, d) == 0
    await tb.axil.write(enc.REG_MAP_KEY, 0x01020304)
    await tb.axil.write(enc.REG_MAP_VALUE, 0xAAAA)
    await tb.axil.write(enc.REG_MAP_VALUE + 4, 0)
    await tb.axil.write(enc.REG_MAP_CMD, int(mapmem.MapCmd.UPDATE) | 1 << 7)
    # the next write lands only after the update: the update stored 0xAAAA, not 0xBBBB
    await tb.axil.write(enc.REG_MAP_VALUE, 0xBBBB)
    status = await tb.axil.read(enc.REG_MAP_STATUS)
    assert status & mapmem.STATUS_DONE and not status & mapmem.STATUS_OVERRUN
    r = await bus.lookup(0, d, (0x01020304).to_bytes(4, "little"))
    assert r.errno == 0 and r.value[:8] == (0xAAAA).to_bytes(8, "little")


async def timed(dut, coro) -> tuple[object, int]:
    start = get_sim_time("ns")
    result = await coro
    return result, int((get_sim_time("ns") - start) // 10)


@cocotb.test()
async def maps_bus_latency(dut):
    """Cycles per map operation over AXI4-Lite (staging writes + command + STATUS polls + errno and
    result reads, this driver) and inside the map block (REG_MAP_CYCLES: command write to done)."""
    tb, bus = await setup(dut)
    rows = []
    hash_d = mapmem.make_desc("hash", 4, 8, 1024, base=0)
    arr_d = mapmem.make_desc("array", 4, 8, 256, base=hash_d.size_words())
    assert await bus.install(0, hash_d) == 0 and await bus.install(1, arr_d) == 0
    rng = random.Random(3)
    keys = [rng.getrandbits(32).to_bytes(4, "little") for _ in range(64)]

    async def measure(name, d, map_id, op, key):
        if op == "update":
            r, cyc = await timed(dut, bus.update(map_id, key, b"\x11" * 8))
            errno = r
        elif op == "lookup":
            r, cyc = await timed(dut, bus.lookup(map_id, d, key))
            errno = r.errno
        else:
            r, cyc = await timed(dut, bus.delete(map_id, key))
            errno = r
        rows.append({"map": name, "op": op, "errno": errno, "bus_cycles": cyc,
                     "engine_cycles": bus.last_cycles})

    for k in keys:
        await measure("hash 4B key, 8B value", hash_d, 0, "update", k)
    for k in keys:
        await measure("hash 4B key, 8B value", hash_d, 0, "lookup", k)
    for k in keys:
        await measure("hash 4B key, 8B value", hash_d, 0, "delete", k)
    for i in range(64):
        k = i.to_bytes(4, "little")
        await measure("array 8B value", arr_d, 1, "update", k)
        await measure("array 8B value", arr_d, 1, "lookup", k)
    assert all(r["errno"] == 0 for r in rows), [r for r in rows if r["errno"]][:3]
    summary = []
    for (name, op) in dict.fromkeys((r["map"], r["op"]) for r in rows):
        sel = [r for r in rows if (r["map"], r["op"]) == (name, op)]
        summary.append({"map": name, "op": op, "n": len(sel),
                        "bus_cycles_mean": round(sum(r["bus_cycles"] for r in sel) / len(sel), 1),
                        "bus_cycles_max": max(r["bus_cycles"] for r in sel),
                        "engine_cycles_mean": round(sum(r["engine_cycles"] for r in sel) / len(sel), 1),
                        "engine_cycles_max": max(r["engine_cycles"] for r in sel)})
    for s in summary:
        dut._log.info("%s", s)
    if os.environ.get("MAPS_REPORT"):
        with open(os.environ["MAPS_REPORT"], "w") as f:
            json.dump(summary, f)
    await RisingEdge(dut.clk)


@pytest.mark.rtl
def test_top_maps():
    run_cocotb("jitnic_top", "tb.top.test_top_maps", parameters={})
