"""cocotb module behind `jitnic bench rtl`: cycles per frame on the NIC's hit and miss paths.

For each shipped program and frame size (64, 128, 256, 512, 1518 bytes, and IMIX: 64, 594 and
1518 bytes in the ratio 7:4:1) the host compiles the path of a frame the program transmits or
passes, installs it, and the bench measures on an idle NIC, with no idle cycles on rx and no
back-pressure: the latency of one frame (first rx beat accepted -> last output beat) and the
cycles per frame of BURST frames (more with many lanes) sent back to back (interval between two
arrivals at the outputs a whole number of IMIX cycles and lane rounds apart, divided by the frames
between them); then the same on the miss path (empty cache: the
frame goes to the host untouched). The rx source honours rx_pause, so no frame is lost and the
figure is what the NIC sustains; `stream_limit` is the bus limit, ceil(bytes / (DATA_WIDTH/8))
beats per frame. Results go to $CYCLES_REPORT.
"""
from __future__ import annotations

import json
import math
import os

import cocotb
from cocotb.triggers import ClockCycles, RisingEdge
from cocotb.utils import get_sim_time

from jit.ebpf import elf, interp
from jit.nic.encoding import Channel, Counter
from jit.ebpf.memmap import XDP_PASS, XDP_TX
from jit.host.miss_handler import compile_path
from jit.paths import PROGRAM_NAMES, program_object
from tb.common.nic import NicTb

SIZES = (64, 128, 256, 512, 1518)
IMIX = (64,) * 7 + (594,) * 4 + (1518,)      # simple IMIX, 7:4:1, interleaved below
IMIX_ORDER = (0, 7, 1, 2, 8, 3, 11, 4, 9, 5, 6, 10)
BURST = 24


def frame_for(program: str, size: int) -> bytes:
    """A frame of `size` bytes that `program` transmits (or else passes; never drops): the first
    of a few candidates for which the reference interpreter says so."""
    from scapy.layers.inet import ICMP, IP, TCP, UDP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import Ether
    eth = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
    candidates = [eth / IPv6(src="2001:db8::1", dst="2001:db8::2") / TCP(sport=1000, dport=80),
                  eth / IP(src="10.0.0.1", dst="10.0.0.2") / ICMP(type=8, id=1, seq=1),
                  eth / IP(src="10.0.0.1", dst="192.168.1.2", ttl=64) / TCP(sport=40000, dport=80, flags="A"),
                  eth / IP(src="10.0.0.1", dst="192.168.1.2", ttl=64) / UDP(sport=40000, dport=53),
                  eth / IP(src="10.0.0.1", dst="192.168.1.2", ttl=64) / TCP(sport=40000, dport=443, flags="A")]
    if program == "icmp_echo":
        candidates.insert(0, candidates.pop(1))
    elif program != "ipv6_filter":
        candidates.append(candidates.pop(0))
    insns = elf.load_program(program_object(program)).insns
    for wanted in (XDP_TX, XDP_PASS):         # the transmit path when the program has one
        for pkt in candidates:
            raw = bytes(pkt)
            frame = bytes(pkt / (b"\x00" * max(0, size - len(raw))))
            if interp.run_xdp(insns, frame).action == wanted:
                return frame
    raise AssertionError(f"{program}: no candidate frame of {size} bytes is transmitted or passed")


def expect_hit(tb, insns, frame: bytes) -> None:
    ref = interp.run_xdp(insns, frame)
    if ref.action == XDP_TX:
        tb.expect_tx(ref.packet)
    else:
        tb.expect_host(Channel.PASS, ref.packet)


def outputs(tb) -> int:
    return len(tb.tx.frames) + len(tb.host.frames)


async def run_frames(tb, frames: list[bytes], expect) -> tuple[int, list[int]]:
    """Send `frames` back to back (calling `expect(frame)` for each); returns the cycle of the first
    rx beat and the cycle each output frame arrived, counted from the send."""
    dut = tb.dut
    before = outputs(tb)
    for f in frames:
        expect(f)
        tb.send(f)
    cycle, first_rx, arrivals = 0, None, []
    while len(arrivals) < len(frames):
        await RisingEdge(dut.clk)
        cycle += 1
        if first_rx is None and int(dut.rx_valid.value) and int(dut.rx_ready.value):
            first_rx = cycle
        while outputs(tb) - before > len(arrivals):
            arrivals.append(cycle)
        assert cycle < 400_000, "frames never came out"
    return first_rx, arrivals


def burst_period(tb, frames: list[bytes]) -> int:
    """Frames after which the pattern of a burst repeats: a whole cycle of `frames` and a whole
    round of the executor lanes (lanes started together finish together, so outputs come in
    groups of N_LANES when execution is the limit)."""
    return math.lcm(len(frames), tb.params.n_lanes)


def burst_length(tb, frames: list[bytes]) -> int:
    """BURST frames, or enough for two whole periods."""
    return max(BURST, 2 * burst_period(tb, frames))


async def measure(tb, frames: list[bytes], expect) -> tuple[int, float]:
    """(latency of frames[0] alone, steady cycles per frame of a burst cycling through `frames`).
    The steady rate is taken between the last arrival and the one a whole number of periods
    (burst_period) before it, so frames of different sizes (different store-and-forward latencies)
    and lanes finishing in groups cancel out, and the first period (pipeline fill) is left out."""
    first, arr = await run_frames(tb, frames[:1], expect)
    latency = arr[0] - first + 1
    period = burst_period(tb, frames)
    burst = [frames[i % len(frames)] for i in range(burst_length(tb, frames))]
    _, arr = await run_frames(tb, burst, expect)
    span = period * ((len(burst) - 1) // period)
    return latency, (arr[-1] - arr[-1 - span]) / span


async def install_paths(tb, insns, frames: list[bytes]) -> None:
    await tb.nic.invalidate_all()
    seen = set()
    for frame in frames:
        _tr, compiled, reason = compile_path(insns, frame, max_atoms=tb.params.max_atoms,
                                             max_trace_len=tb.params.max_trace_len,
                                             hdr_bytes=tb.params.hdr_bytes)
        assert compiled is not None, f"{reason}"
        key = (tuple(compiled.atoms), compiled.code)
        if key not in seen:
            seen.add(key)
            res = await tb.install(list(compiled.atoms), compiled.code)
            assert res.ok, res


@cocotb.test()
async def cycles(dut):
    tb = NicTb(dut)
    await tb.reset()
    width = tb.params.data_width // 8
    rows = []
    for name in os.environ.get("CYCLES_PROGRAMS", ",".join(PROGRAM_NAMES)).split(","):
        insns = elf.load_program(program_object(name)).insns
        cases = [(size, [frame_for(name, size)]) for size in SIZES if size <= tb.params.pkt_bytes]
        if max(IMIX) <= tb.params.pkt_bytes:
            by_size = {s: frame_for(name, s) for s in set(IMIX)}
            cases.append(("imix", [by_size[IMIX[i]] for i in IMIX_ORDER]))
        for label, frames in cases:
            await install_paths(tb, insns, frames)
            c0 = await tb.counters()
            latency, per_frame = await measure(tb, frames, lambda f: expect_hit(tb, insns, f))
            c1 = await tb.counters()
            hits = c1[Counter.HITS] - c0[Counter.HITS]
            expected = burst_length(tb, frames) + 1
            assert hits == expected, f"{name} {label}: expected {expected} hits, got {hits}"
            exec_cycles = (c1[Counter.EXEC_CYCLES] - c0[Counter.EXEC_CYCLES]) / hits
            beats = sum(math.ceil(len(f) / width) for f in frames) / len(frames)
            mean_bytes = sum(len(f) for f in frames) / len(frames)
            row = {"program": name, "bytes": label if label == "imix" else len(frames[0]),
                   "mean_bytes": round(mean_bytes, 1), "data_width": tb.params.data_width,
                   "latency": latency, "exec_cycles": round(exec_cycles, 1),
                   "b2b_cycles_per_frame": round(per_frame, 2), "stream_limit": round(beats, 2),
                   "vs_limit": round(per_frame / beats, 2), "n_lanes": tb.params.n_lanes,
                   "n_bufs": tb.params.n_bufs}
            # miss path: empty cache, the frame goes to the host untouched
            await tb.nic.invalidate_all()
            latency, per_frame = await measure(tb, frames, lambda f: tb.expect_host(Channel.MISS, f))
            row["miss_latency"] = latency
            row["miss_b2b_cycles_per_frame"] = round(per_frame, 2)
            rows.append(row)
            dut._log.info("%s", row)
            tb.tx.frames.clear()
            tb.host.frames.clear()
            await ClockCycles(dut.clk, 10)
    await tb.wait_outputs()
    tb.check()
    counters = await tb.counters()
    assert counters[Counter.RX_DROPS] == 0 and sum(tb.rx.starts) == 0
    with open(os.environ["CYCLES_REPORT"], "w") as f:
        json.dump(rows, f)
