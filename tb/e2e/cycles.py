"""cocotb module behind `jitnic bench rtl`: cycles per frame on the NIC's hit path.

For each shipped program and frame size (64, 512, 1500 bytes) the host compiles the path of a frame
the program transmits or passes, installs it, and the bench measures on an idle NIC, with no idle
cycles and no back-pressure: the latency of one frame (first rx beat accepted -> last output beat)
and the cycles per frame of 16 identical frames sent back to back; then the same on the miss path
(empty cache: the frame goes to the host untouched). Results go to $CYCLES_REPORT.
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

SIZES = (64, 512, 1500)
BURST = 16


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


async def _rx_first_beat(dut) -> int:
    while True:
        await RisingEdge(dut.clk)
        if int(dut.rx_valid.value) and int(dut.rx_ready.value):
            return get_sim_time("ns")


@cocotb.test()
async def cycles(dut):
    tb = NicTb(dut)
    await tb.reset()
    period = tb.period_ns
    rows = []
    for name in os.environ.get("CYCLES_PROGRAMS", ",".join(PROGRAM_NAMES)).split(","):
        insns = elf.load_program(program_object(name)).insns
        for size in SIZES:
            frame = frame_for(name, size)
            _tr, compiled, reason = compile_path(insns, frame, max_atoms=tb.params.max_atoms,
                                                 max_trace_len=tb.params.max_trace_len,
                                                 hdr_bytes=tb.params.hdr_bytes)
            assert compiled is not None, f"{name}: {reason}"
            await tb.nic.invalidate_all()
            res = await tb.install(list(compiled.atoms), compiled.code)
            assert res.ok, res
            outputs = lambda: len(tb.tx.frames) + len(tb.host.frames)   # noqa: E731
            before = outputs()
            c0 = await tb.counters()
            first = cocotb.start_soon(_rx_first_beat(dut))
            expect_hit(tb, insns, frame)
            tb.send(frame)
            while outputs() < before + 1:
                await RisingEdge(dut.clk)
            t_first = await first
            latency = (get_sim_time("ns") - t_first) // period
            first = cocotb.start_soon(_rx_first_beat(dut))
            for _ in range(BURST):
                expect_hit(tb, insns, frame)
                tb.send(frame)
            while outputs() < before + 1 + BURST:
                await RisingEdge(dut.clk)
            t_first = await first
            total = (get_sim_time("ns") - t_first) // period
            c1 = await tb.counters()
            hits = c1[Counter.HITS] - c0[Counter.HITS]
            assert hits == BURST + 1, f"{name} {size}: expected {BURST + 1} hits, got {hits}"
            exec_cycles = (c1[Counter.EXEC_CYCLES] - c0[Counter.EXEC_CYCLES]) / hits
            stream = math.ceil(len(frame) / (tb.params.data_width // 8))
            rows.append({"program": name, "bytes": len(frame), "latency": latency,
                         "exec_cycles": round(exec_cycles, 1),
                         "b2b_cycles_per_frame": round(total / BURST, 1),
                         "stream_limit": stream,
                         "frames_per_cycle": round(BURST / total, 4),
                         "vs_limit": round(total / BURST / stream, 2)})
            # miss path: empty cache, the frame goes to the host untouched
            await tb.nic.invalidate_all()
            before = outputs()
            first = cocotb.start_soon(_rx_first_beat(dut))
            tb.expect_host(Channel.MISS, frame)
            tb.send(frame)
            while outputs() < before + 1:
                await RisingEdge(dut.clk)
            t_first = await first
            rows[-1]["miss_latency"] = (get_sim_time("ns") - t_first) // period
            first = cocotb.start_soon(_rx_first_beat(dut))
            for _ in range(BURST):
                tb.expect_host(Channel.MISS, frame)
                tb.send(frame)
            while outputs() < before + 1 + BURST:
                await RisingEdge(dut.clk)
            t_first = await first
            rows[-1]["miss_b2b_cycles_per_frame"] = round((get_sim_time("ns") - t_first) // period / BURST, 1)
            tb.tx.frames.clear()
            tb.host.frames.clear()
            await ClockCycles(dut.clk, 10)
    await tb.wait_outputs()
    tb.check()
    with open(os.environ["CYCLES_REPORT"], "w") as f:
        json.dump(rows, f)
