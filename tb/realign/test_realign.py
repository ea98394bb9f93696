"""jitnic_realign: frames that start at any byte of their first bus word leave aligned.

Random frames (1 byte to several words, every shift 0..BPB-1, garbage before the first and after
the last byte of the words, garbage on in_shift/in_empty where they are not meaningful) go in with
random idle cycles and come out under random back-pressure; every frame's bytes, empty,
start/end of packet and channel are checked against the frame that went in. A second test
measures throughput with valid and ready always high: aligned frames pass with no bubble at all
(the egress cycle count of unadjusted frames), shifted frames cost at most one cycle each.
DATA_WIDTH is swept (64 and 512: the egress corners).
"""
from __future__ import annotations

import random

import cocotb
import pytest
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge, Timer

from tb.common.runner import param, run_cocotb

FRAMES = 120


def words_of(frame: bytes, shift: int, bpb: int, rng: random.Random) -> list[bytes]:
    """The bus words egress reads for `frame` starting at byte `shift` of the first word."""
    body = rng.randbytes(shift) + frame
    body += rng.randbytes(-len(body) % bpb)
    return [body[i:i + bpb] for i in range(0, len(body), bpb)]


class RealignTb:
    def __init__(self, dut):
        self.dut = dut
        self.bpb = param("DATA_WIDTH") // 8
        self.chan_w = param("CHAN_W")
        Clock(dut.clk, 10, unit="ns", impl="gpi").start(start_high=False)
        for sig in ("in_data", "in_valid", "in_startofpacket", "in_endofpacket", "in_shift",
                    "in_empty", "in_channel", "out_ready"):
            getattr(dut, sig).value = 0

    async def reset(self):
        self.dut.rst.value = 1
        for _ in range(3):
            await RisingEdge(self.dut.clk)
        await FallingEdge(self.dut.clk)
        self.dut.rst.value = 0

    def beats_in(self, frames, rng):
        """(data, sop, eop, shift, empty, chan) per input word of every frame."""
        out = []
        for frame, shift, chan in frames:
            ws = words_of(frame, shift, self.bpb, rng)
            empty = -len(frame) % self.bpb
            for k, w in enumerate(ws):
                sop, eop = k == 0, k == len(ws) - 1
                out.append((int.from_bytes(w, "big"), sop, eop,
                            shift if sop else rng.randrange(self.bpb),
                            empty if eop else rng.randrange(self.bpb), chan))
        return out

    async def run(self, frames, rng, p_valid: float, p_ready: float, max_cycles: int):
        """Drive the frames, collect the output; returns (frames out, cycles from the first
        offered word to the last beat taken)."""
        d = self.dut
        words = self.beats_in(frames, rng)
        i, offering = 0, False
        got, cur, chan_seen = [], bytearray(), None
        first_cycle = last_cycle = None
        for cycle in range(max_cycles):
            if not offering and i < len(words) and rng.random() < p_valid:
                offering = True
                data, sop, eop, shift, empty, chan = words[i]
                d.in_data.value, d.in_startofpacket.value, d.in_endofpacket.value = data, sop, eop
                d.in_shift.value, d.in_empty.value, d.in_channel.value = shift, empty, chan
            d.in_valid.value = int(offering)
            if not offering:         # garbage on an idle bus
                d.in_data.value = rng.getrandbits(8 * self.bpb)
                d.in_startofpacket.value = rng.getrandbits(1)
            ready = rng.random() < p_ready
            d.out_ready.value = int(ready)
            await Timer(1, unit="ns")
            if offering and first_cycle is None:
                first_cycle = cycle
            if offering and int(d.in_ready.value):
                i, offering = i + 1, False
            if int(d.out_valid.value) and ready:
                beat = int(d.out_data.value).to_bytes(self.bpb, "big")
                sop, eop = int(d.out_startofpacket.value), int(d.out_endofpacket.value)
                ch = int(d.out_channel.value)
                assert sop == (not cur), f"frame {len(got)}: startofpacket {sop} at byte {len(cur)}"
                chan_seen = ch if sop else chan_seen
                assert ch == chan_seen, f"frame {len(got)}: channel changed inside the frame"
                if eop:
                    beat = beat[:self.bpb - int(d.out_empty.value)]
                cur += beat
                if eop:
                    got.append((bytes(cur), ch))
                    cur = bytearray()
                    last_cycle = cycle
                    if len(got) == len(frames):
                        await RisingEdge(d.clk)
                        await FallingEdge(d.clk)
                        break
            await RisingEdge(d.clk)
            await FallingEdge(d.clk)
        d.in_valid.value = 0
        d.out_ready.value = 0
        await Timer(1, unit="ns")
        assert len(got) == len(frames), f"{len(got)} of {len(frames)} frames came out"
        assert not int(d.out_valid.value), "out_valid after the last frame"
        for n, ((frame, shift, chan), (data, ch)) in enumerate(zip(frames, got)):
            assert data == frame, (f"frame {n} (len {len(frame)}, shift {shift}): "
                                   f"got {data.hex()} want {frame.hex()}")
            assert ch == chan, f"frame {n}: channel {ch} want {chan}"
        return got, last_cycle - first_cycle + 1

    def random_frames(self, rng, n, shifted: bool | None = None):
        frames = []
        for _ in range(n):
            length = rng.choice([1, 2, self.bpb - 1, self.bpb, self.bpb + 1, 2 * self.bpb,
                                 rng.randint(1, 5 * self.bpb)])
            if shifted is None:
                shift = rng.randrange(self.bpb)
            else:
                shift = rng.randrange(1, self.bpb) if shifted else 0
            frames.append((rng.randbytes(length), shift, rng.getrandbits(self.chan_w)))
        return frames


@cocotb.test()
async def random_frames_under_backpressure(dut):
    tb = RealignTb(dut)
    await tb.reset()
    rng = random.Random(f"realign-{tb.bpb}")
    for p_valid, p_ready in ((1.0, 1.0), (0.6, 0.7), (1.0, 0.3), (0.3, 1.0)):
        frames = tb.random_frames(rng, FRAMES // 4)
        # every shift and the one-byte / one-word corners, whatever the draw gave
        frames += [(rng.randbytes(n), s, 1) for s in (0, 1, tb.bpb - 1)
                   for n in (1, tb.bpb - s, tb.bpb - s + 1, tb.bpb)]
        rng.shuffle(frames)
        await tb.run(frames, rng, p_valid, p_ready, max_cycles=200 * len(frames))


@cocotb.test()
async def throughput(dut):
    """Valid and ready always high: aligned frames take exactly one cycle per beat; a shifted
    frame at most one more."""
    tb = RealignTb(dut)
    await tb.reset()
    rng = random.Random(f"realign-tput-{tb.bpb}")
    aligned = tb.random_frames(rng, 30, shifted=False)
    beats = sum(-(-len(f) // tb.bpb) for f, _, _ in aligned)
    _, cycles = await tb.run(aligned, rng, 1.0, 1.0, max_cycles=10 * beats)
    assert cycles == beats, f"aligned frames: {cycles} cycles for {beats} beats"
    shifted = tb.random_frames(rng, 30, shifted=True)
    beats = sum(-(-len(f) // tb.bpb) for f, _, _ in shifted)
    _, cycles = await tb.run(shifted, rng, 1.0, 1.0, max_cycles=10 * beats)
    assert beats < cycles <= beats + len(shifted), \
        f"shifted frames: {cycles} cycles for {beats} beats of {len(shifted)} frames"
    dut._log.info("realign DATA_WIDTH=%d: shifted frames %d cycles for %d beats", 8 * tb.bpb,
                  cycles, beats)


CONFIGS = [{"DATA_WIDTH": 64, "CHAN_W": 2}, {"DATA_WIDTH": 512, "CHAN_W": 3}]


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: "w{DATA_WIDTH}".format(**c))
def test_realign(cfg):
    run_cocotb("jitnic_realign", "tb.realign.test_realign", parameters=cfg)
