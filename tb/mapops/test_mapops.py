"""jitnic_mapops against a Python model of the map-op buffer (a FIFO of update/delete entries).

Random transactions like a trace's: pushes of entries with random kind, map, key, address, value
and value size (up to VAL_BYTES), pushes into a full buffer (full, nothing taken), then either a
clear (guard failure or fault: discarded) or a drain that walks every entry oldest first and every
word of its value (data, and byte enables that stop at the value's size), popping as it goes. The
head is checked every cycle. ENTRIES, KEY_BYTES and VAL_BYTES are swept.
"""
from __future__ import annotations

import random
from collections import deque

import cocotb
import pytest
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge, Timer

from tb.common.runner import param, run_cocotb

TRANSACTIONS = 120


class MapopsTb:
    def __init__(self, dut):
        self.dut = dut
        self.entries = param("ENTRIES")
        self.key_bytes = param("KEY_BYTES")
        self.val_bytes = param("VAL_BYTES")
        self.fifo: deque = deque()
        Clock(dut.clk, 10, unit="ns", impl="gpi").start(start_high=False)
        for sig in ("clear", "wr_valid", "wr_kind", "wr_map", "wr_key", "wr_addr", "wr_nbytes",
                    "wr_value", "dr_word", "pop"):
            getattr(dut, sig).value = 0

    async def reset(self):
        self.dut.rst.value = 1
        for _ in range(3):
            await RisingEdge(self.dut.clk)
        self.dut.rst.value = 0
        await FallingEdge(self.dut.clk)

    def check_head(self, where: str) -> None:
        d = self.dut
        assert int(d.count.value) == len(self.fifo), f"{where}: count {int(d.count.value)} model {len(self.fifo)}"
        assert int(d.full.value) == (len(self.fifo) == self.entries), f"{where}: full"
        assert int(d.dr_valid.value) == bool(self.fifo), f"{where}: dr_valid"
        if self.fifo:
            kind, m, key, addr, nbytes, value = self.fifo[0]
            got = (int(d.dr_kind.value), int(d.dr_map.value), int(d.dr_key.value),
                   int(d.dr_addr.value), int(d.dr_words.value))
            assert got == (kind, m, key, addr, (nbytes + 7) // 8), f"{where}: head {got}"

    async def push(self, entry) -> bool:
        d = self.dut
        kind, m, key, addr, nbytes, value = entry
        was_full = len(self.fifo) == self.entries
        d.wr_valid.value = 1
        d.wr_kind.value, d.wr_map.value, d.wr_key.value = kind, m, key
        d.wr_addr.value, d.wr_nbytes.value, d.wr_value.value = addr, nbytes, value
        await Timer(1, "ns")
        assert int(d.full.value) == was_full
        await FallingEdge(d.clk)
        d.wr_valid.value = 0
        if not was_full:
            self.fifo.append(entry)
        self.check_head("after push")
        return not was_full

    async def drain(self, rng: random.Random) -> int:
        d = self.dut
        words = 0
        while self.fifo:
            kind, m, key, addr, nbytes, value = self.fifo[0]
            for w in range((nbytes + 7) // 8):
                d.dr_word.value = w
                await Timer(1, "ns")
                data, be = int(d.dr_wdata.value), int(d.dr_wbe.value)
                want_be = sum(1 << b for b in range(8) if 8 * w + b < nbytes)
                assert be == want_be, f"word {w} of a {nbytes}-byte value: be {be:#x}"
                assert data == (value >> (64 * w)) & (2**64 - 1), f"word {w}: data {data:#x}"
                words += 1
                for _ in range(1 + rng.randrange(2)):     # the drain waits for the map port
                    await FallingEdge(d.clk)
                    self.check_head("while draining")
            d.pop.value = 1
            await FallingEdge(d.clk)
            d.pop.value = 0
            self.fifo.popleft()
            self.check_head("after pop")
        return words


@cocotb.test()
async def mapops_random(dut):
    tb = MapopsTb(dut)
    await tb.reset()
    rng = random.Random(0x5EED ^ tb.entries ^ tb.val_bytes)
    stats = {"pushed": 0, "full": 0, "clears": 0, "drains": 0, "words": 0}
    tb.check_head("after reset")
    for _ in range(TRANSACTIONS):
        for _ in range(rng.randrange(tb.entries + 2)):
            nbytes = rng.choice([0, 1, tb.val_bytes, rng.randrange(1, tb.val_bytes + 1)])
            entry = (rng.randrange(3), rng.randrange(256), rng.getrandbits(8 * tb.key_bytes),
                     rng.getrandbits(32) & ~7, nbytes, rng.getrandbits(8 * tb.val_bytes))
            if await tb.push(entry):
                stats["pushed"] += 1
            else:
                stats["full"] += 1
        if rng.random() < 0.3:
            dut.clear.value = 1
            await FallingEdge(dut.clk)
            dut.clear.value = 0
            tb.fifo.clear()
            tb.check_head("after clear")
            stats["clears"] += 1
        else:
            stats["words"] += await tb.drain(rng)
            stats["drains"] += 1
    dut._log.info("mapops ENTRIES=%d VAL_BYTES=%d: %s", tb.entries, tb.val_bytes, stats)
    assert stats["full"] and stats["clears"] and stats["words"], stats


CONFIGS = [{"ENTRIES": 1, "KEY_BYTES": 8, "VAL_BYTES": 8},
           {"ENTRIES": 3, "KEY_BYTES": 16, "VAL_BYTES": 24},
           {"ENTRIES": 4, "KEY_BYTES": 64, "VAL_BYTES": 64}]


@pytest.mark.rtl
@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: "e{ENTRIES}-k{KEY_BYTES}-v{VAL_BYTES}".format(**c))
def test_mapops(cfg):
    run_cocotb("jitnic_mapops", "tb.mapops.test_mapops", parameters=cfg)
