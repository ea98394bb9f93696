"""jitnic_wbuf against a Python model of the write buffer, cycle by cycle.

Random transactions like a trace's: writes to a small pool of words (so bytes merge into buffered
entries), a read-through of a random word checked every cycle, writes into a full buffer (wr_full,
nothing changes), then either a clear (guard failure: discarded) or a drain under random
back-pressure whose entries must come out oldest first with their merged bytes, followed by one
drain_done and an empty buffer. ENTRIES is swept (1 = a single word; the default).
"""
from __future__ import annotations

import random

import cocotb
import pytest
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge, Timer

from tb.common.runner import param, run_cocotb

TRANSACTIONS = 150


class WbufModel:
    """The buffer's contract: entries in order of first write, bytes merged per key."""

    def __init__(self, entries: int):
        self.entries = entries
        self.words: dict[int, tuple[int, int]] = {}     # key -> (data, be); dicts keep order

    def full_for(self, key: int) -> bool:
        return key not in self.words and len(self.words) == self.entries

    def write(self, key: int, data: int, be: int) -> None:
        if self.full_for(key):
            return
        old, old_be = self.words.get(key, (0, 0))
        for b in range(8):
            if be >> b & 1:
                mask = 0xFF << (8 * b)
                old = (old & ~mask) | (data & mask)
        self.words[key] = (old, old_be | be)

    def read(self, key: int) -> tuple[int, int]:
        data, be = self.words.get(key, (0, 0))
        return be, data


class WbufTb:
    def __init__(self, dut):
        self.dut = dut
        self.entries = param("ENTRIES")
        self.key_w = param("KEY_W")
        self.model = WbufModel(self.entries)
        Clock(dut.clk, 10, unit="ns", impl="gpi").start(start_high=False)
        for sig in ("clear", "wr_valid", "wr_key", "wr_data", "wr_be", "rd_key", "drain", "dr_ready"):
            getattr(dut, sig).value = 0

    async def reset(self):
        self.dut.rst.value = 1
        for _ in range(3):
            await RisingEdge(self.dut.clk)
        await FallingEdge(self.dut.clk)
        self.dut.rst.value = 0

    async def settle(self):
        await Timer(1, unit="ns")       # combinational outputs of the inputs set at the falling edge

    async def check_read(self, key: int):
        self.dut.rd_key.value = key
        await self.settle()
        want_be, want_data = self.model.read(key)
        got_be, got_data = int(self.dut.rd_be.value), int(self.dut.rd_data.value)
        assert got_be == want_be, f"rd_be of {key:#x}: {got_be:#04x}, model {want_be:#04x}"
        for b in range(8):
            if want_be >> b & 1:
                assert (got_data >> 8 * b) & 0xFF == (want_data >> 8 * b) & 0xFF, \
                    f"rd_data byte {b} of {key:#x}: {got_data:#018x}, model {want_data:#018x}"
        assert int(self.dut.rd_hit.value) == int(key in self.model.words), f"rd_hit of {key:#x}"
        assert int(self.dut.count.value) == len(self.model.words)

    async def write(self, key: int, data: int, be: int) -> bool:
        """One write cycle; checks wr_full and the read-through of the same word (before the write)."""
        d = self.dut
        d.wr_valid.value, d.wr_key.value, d.wr_data.value, d.wr_be.value = 1, key, data, be
        await self.check_read(key)
        full = self.model.full_for(key)
        assert int(d.wr_full.value) == int(full), f"wr_full for {key:#x}: model {full}"
        await RisingEdge(d.clk)
        await FallingEdge(d.clk)
        d.wr_valid.value = 0
        self.model.write(key, data, be)
        return full

    async def drain(self, rng: random.Random, ready_p: float) -> list[tuple[int, int, int]]:
        """Pulse drain and take every entry with dr_ready high with probability ready_p; returns
        (key, data, be) in the order taken. drain_done must come exactly once, after the last."""
        d = self.dut
        d.drain.value = 1
        await RisingEdge(d.clk)
        await FallingEdge(d.clk)
        d.drain.value = 0
        got = []
        for _ in range(50 * (self.entries + 2)):
            ready = rng.random() < ready_p
            d.dr_ready.value = int(ready)
            await self.settle()
            if int(d.drain_done.value):
                assert not int(d.dr_valid.value)
                break
            if int(d.dr_valid.value) and ready:
                got.append((int(d.dr_key.value), int(d.dr_data.value), int(d.dr_be.value)))
            await RisingEdge(d.clk)
            await FallingEdge(d.clk)
        else:
            raise AssertionError("drain_done never came")
        d.dr_ready.value = 0
        await RisingEdge(d.clk)
        await FallingEdge(d.clk)
        assert not int(d.drain_done.value), "drain_done longer than one cycle"
        assert int(d.count.value) == 0 and not int(d.dr_valid.value), "buffer not empty after drain"
        return got


@cocotb.test()
async def wbuf_matches_model(dut):
    tb = WbufTb(dut)
    await tb.reset()
    rng = random.Random(f"wbuf-{tb.entries}-{tb.key_w}")
    stats = {"writes": 0, "merges": 0, "full": 0, "clears": 0, "drains": 0, "drained": 0}
    for t in range(TRANSACTIONS):
        # a pool a little larger than the buffer: merges, and (often) a full buffer
        pool = [rng.getrandbits(tb.key_w) for _ in range(tb.entries + rng.randint(0, 2))]
        for _ in range(rng.randint(0, 3 * tb.entries + 2)):
            if rng.random() < 0.2:          # an idle cycle, read-through of any word
                await tb.check_read(rng.choice(pool + [rng.getrandbits(tb.key_w)]))
                await RisingEdge(dut.clk)
                await FallingEdge(dut.clk)
                continue
            key = rng.choice(pool)
            be = rng.choice([0xFF, 0x0F, 0xF0, 0x01, 0x80, rng.getrandbits(8)])
            merge = key in tb.model.words
            full = await tb.write(key, rng.getrandbits(64), be)
            stats["writes"] += 1
            stats["merges"] += merge
            stats["full"] += full
        for key in pool[:3]:
            await tb.check_read(key)
        if rng.random() < 0.3:
            dut.clear.value = 1
            await RisingEdge(dut.clk)
            await FallingEdge(dut.clk)
            dut.clear.value = 0
            tb.model.words.clear()
            await tb.check_read(pool[0])
            stats["clears"] += 1
        else:
            want = [(k, d, be) for k, (d, be) in tb.model.words.items()]
            got = await tb.drain(rng, rng.choice([1.0, 0.5, 0.2]))
            assert [g[0] for g in got] == [w[0] for w in want], f"drain order {got} != {want}"
            for (k, gd, gbe), (_, wd, wbe) in zip(got, want):
                assert gbe == wbe, f"drained be of {k:#x}: {gbe:#04x} != {wbe:#04x}"
                for b in range(8):
                    if wbe >> b & 1:
                        assert (gd ^ wd) >> 8 * b & 0xFF == 0, f"drained data of {k:#x}"
            tb.model.words.clear()
            stats["drains"] += 1
            stats["drained"] += len(got)
    dut._log.info("wbuf ENTRIES=%d: %s", tb.entries, stats)
    # the random mix must have exercised every case, or the test proves less than it claims
    assert stats["merges"] and stats["full"] and stats["clears"] and stats["drained"], stats


CONFIGS = [{"ENTRIES": 1, "KEY_W": 8}, {"ENTRIES": 4, "KEY_W": 40}, {"ENTRIES": 16, "KEY_W": 40}]


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: "e{ENTRIES}-k{KEY_W}".format(**c))
def test_wbuf(cfg):
    run_cocotb("jitnic_wbuf", "tb.wbuf.test_wbuf", parameters=cfg)
