"""The whole-frame bench top itself (`jitnic_tb_top`, tb/common/hdl/, tb/common/fast.py) on corners
the end-to-end bench does not reach: rings of 4 slots of 64 bytes, so a frame spans more slots than
the ring holds (the rx source refills mid-frame, the collectors fill their ring mid-frame and wake
Python before the end of packet), frames flagged by rx_error, host_tx frames longer than the ring,
ready held low and released, and a wire that ignores rx_pause. Every output frame is checked by
the scoreboard against `jit.nic.model.NicModel` (the cache is empty: every frame is a miss), and
every counter against the model; the shells' own counts show the patterns happened.
"""
from __future__ import annotations

import random

import cocotb
import pytest

from jit.nic.encoding import Counter
from jit.nic.model import NicModel
from tb.common.fast import BENCH_TOP, FastNicTb
from tb.common.runner import run_cocotb


def random_frame(rng: random.Random, size: int) -> bytes:
    return bytes(rng.getrandbits(8) for _ in range(size))


async def check_counters(tb, model: NicModel) -> None:
    got = await tb.counters()
    differ = {c.name: (got[c], model.counters[c]) for c in Counter
              if c != Counter.EXEC_CYCLES and got[c] != model.counters[c]}
    assert not differ, f"counters differ (rtl, model): {differ}"


@cocotb.test()
async def long_frames_small_rings(dut):
    """Frames of 1 byte to beyond PKT_BYTES, some flagged bad, and host_tx frames, through rings
    smaller than one frame, with idle gaps and back-pressure."""
    tb = FastNicTb(dut, idle=0.3, backpressure=0.4, seed=3)
    await tb.reset()
    model = NicModel(tb.params.model_config())
    rng = random.Random(23)
    p = tb.params
    for i in range(60):
        size = rng.choice([1, 13, 14, 60, 64, 65, rng.randrange(1, p.pkt_bytes + 1), p.pkt_bytes,
                           p.pkt_bytes + rng.randrange(1, 100)])
        frame = random_frame(rng, size)
        bad = rng.random() < 0.15
        tb.expect_outcome(model.process(frame, bad=bad))
        tb.rx.send(frame, bad=bad)
        if i % 4 == 0:
            h = random_frame(rng, rng.randrange(1, 700))
            model.host_tx(h)
            tb.expect_host_tx(h)
            tb.send_host_tx(h)
    await tb.wait_outputs()
    await tb.rx.drain()             # frames without output (bad, oversize) may still be arriving
    await tb.cycles(50)
    tb.check()
    await check_counters(tb, model)
    shells = tb.stream_counters()
    dut._log.info("shells: %s", shells)
    assert shells["rx_frames"] == tb.rx.sent == model.counters[Counter.RX_PACKETS]
    assert model.counters[Counter.RX_ERRORS] > 0 and model.counters[Counter.OVERSIZE] > 0
    assert shells["host_tx_frames"] == tb.host_tx.sent == 15
    assert shells["rx_idle_gaps"] > 0 and shells["host_stalls"] > 0 and shells["tx_stalls"] > 0
    assert await tb.paused_starts() == 0


@cocotb.test()
async def pause_ignored_and_ready_held(dut):
    """The wire ignores rx_pause while host is held not ready, so buffers run out: exactly the
    frames that start while rx_pause is high are dropped (RX_DROPS = the source's count), the
    others come out in order once ready is released."""
    tb = FastNicTb(dut, honor_pause=False, seed=4)
    tb.host.set_backpressure(1.0)
    await tb.reset()
    rng = random.Random(24)
    sent = [random_frame(rng, rng.randrange(60, 300)) for _ in range(4 * tb.params.n_bufs)]
    for frame in sent:
        tb.rx.send(frame)
    await tb.rx.drain()
    await tb.cycles(200)
    assert tb.host.frames == [], "frames left while ready was held low"
    tb.host.set_backpressure(0.0)
    drops = await tb.paused_starts()
    counters = await tb.counters()
    assert drops > 0 and counters[Counter.RX_DROPS] == drops
    for _ in range(100):
        if len(tb.host.frames) == len(sent) - drops:
            break
        await tb.cycles(100)
    await tb.cycles(200)
    got = [f for _, f in tb.host.frames]
    assert len(got) == len(sent) - drops, (len(got), len(sent), drops)
    it = iter(sent)
    assert all(any(f == s for s in it) for f in got), "host frames are not the sent ones in order"
    counters = await tb.counters()
    assert counters[Counter.MISSES] == len(got) and counters[Counter.RX_PACKETS] == len(sent)


@pytest.mark.rtl
def test_fast():
    run_cocotb(BENCH_TOP, "tb.fast.test_fast",
               {"N_ENTRIES": 2, "PKT_BYTES": 512, "HDR_BYTES": 64, "N_BUFS": 4, "SLOT_BYTES": 64,
                "RING_LOG2": 2})
