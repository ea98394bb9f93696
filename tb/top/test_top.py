"""jitnic_top end to end: entries installed over AXI4-Lite, scapy frames through rx, every output
frame checked by a scoreboard, with random idle cycles and back-pressure on every stream.

Expected results: routing, channels, counters and victims come from the NIC model
(`jit.nic.model.NicModel`, which follows the same policy decisions); the bytes and action of every hit
that does not fault come from the reference interpreter (`jit.ebpf.interp.run_xdp` on the installed
trace), and the model must agree with it. Nothing is hard-coded.
"""
from __future__ import annotations

import json
import os
import random

import cocotb
import pytest
from cocotb.triggers import ClockCycles, RisingEdge, with_timeout
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from jit.ebpf import interp, isa
from jit.nic.encoding import Atom, AtomKind, AtomOp, Channel, Counter, ErrorCode, ExecError
from jit.nic.model import NicModel
from jit.nic.validate import condition_placement
from tb.common.nic import NicTb
from tb.common.wire import Beat, frame_beats
from tb.common.runner import run_cocotb

XDP_ABORTED, XDP_DROP, XDP_PASS, XDP_TX, XDP_REDIRECT = range(5)
BASE_PORT = 1000


# ---- traces ---------------------------------------------------------------------------------------
def trace_codes(hdr_bytes: int) -> list[tuple[str, bytes, list[Atom]]]:
    """(name, encoded trace, extra atoms) per UDP destination port BASE_PORT + i."""
    data = [isa.ldx(4, 2, 1, 0)]                       # r2 = xdp_md.data
    mac_swap = data + [
        isa.ldx(4, 3, 2, 0), isa.ldx(2, 4, 2, 4), isa.ldx(4, 5, 2, 6), isa.ldx(2, 6, 2, 10),
        isa.stx(4, 2, 5, 0), isa.stx(2, 2, 6, 4), isa.stx(4, 2, 3, 6), isa.stx(2, 2, 4, 10),
        isa.mov64_imm(0, XDP_TX), isa.exit_insn()]
    ttl_pass = data + [
        isa.ldx(1, 3, 2, 22), isa.alu64_imm(isa.BPF_ADD, 3, -1), isa.stx(1, 2, 3, 22),
        isa.ldx(2, 4, 2, 36), isa.endian("be", 4, 16), isa.alu32_imm(isa.BPF_XOR, 4, 0x5A5A),
        isa.stx(2, 2, 4, 38), isa.mov64_imm(0, XDP_PASS), isa.exit_insn()]
    redirect = data + [isa.st_imm(2, 2, 40, 0x1234), isa.mov64_imm(0, XDP_REDIRECT), isa.exit_insn()]
    drop = [isa.mov64_imm(0, XDP_DROP), isa.exit_insn()]
    aborted = [isa.mov64_imm(0, XDP_ABORTED), isa.exit_insn()]
    unknown = [isa.ld_imm64(0, 0x1_0000_0077), isa.exit_insn()]       # r0[31:0] = 0x77
    fault_load = data + [isa.ldx(1, 3, 2, 3000), isa.mov64_imm(0, XDP_TX), isa.exit_insn()]
    fault_store = data + [isa.st_imm(1, 2, 30, 0x55), isa.st_imm(1, 2, hdr_bytes, 0xAA),
                          isa.mov64_imm(0, XDP_TX), isa.exit_insn()]
    # reads past the window (packet RAM, unaligned across two words), stack, LD_IMM64, sign extension
    deep = data + [
        isa.ldx(8, 3, 2, hdr_bytes + 3), isa.stx(8, 2, 3, 42), isa.stx(8, 10, 3, -8),
        isa.ldx(4, 4, 10, -6), isa.stx(4, 2, 4, 50),
        isa.ld_imm64(5, 0x8877665544332211), isa.stx(8, 10, 5, -16), isa.ldxsx(1, 6, 10, -9),
        isa.stx(8, 2, 6, 54), isa.ldx(1, 7, 2, hdr_bytes + 9), isa.stx(1, 2, 7, 20),
        isa.mov64_imm(0, XDP_TX), isa.exit_insn()]
    long_len = [Atom(AtomKind.LEN, AtomOp.GE, const=hdr_bytes + 16)]
    return [("mac_swap_tx", isa.encode(mac_swap), []),
            ("ttl_pass", isa.encode(ttl_pass), []),
            ("redirect", isa.encode(redirect), []),
            ("drop", isa.encode(drop), []),
            ("aborted", isa.encode(aborted), []),
            ("unknown_action", isa.encode(unknown), []),
            ("fault_load", isa.encode(fault_load), []),
            ("fault_store", isa.encode(fault_store), []),
            ("deep_tx", isa.encode(deep), long_len)]


def udp_atoms(port: int) -> list[Atom]:
    return [Atom(AtomKind.PKT, AtomOp.EQ, 12, 2, True, 0xFFFF, 0x0800),
            Atom(AtomKind.PKT, AtomOp.EQ, 23, 1, True, 0xFF, 17),
            Atom(AtomKind.PKT, AtomOp.EQ, 36, 2, True, 0xFFFF, port),
            Atom(AtomKind.LEN, AtomOp.GE, const=42)]


def udp_frame(rng: random.Random, port: int, length: int) -> bytes:
    """An Ethernet/IPv4/UDP frame of `length` bytes (>= 42) to UDP port `port`."""
    mac = lambda: ":".join(f"{rng.getrandbits(8) & 0xFE:02x}" for _ in range(6))   # noqa: E731
    pkt = (Ether(src=mac(), dst=mac()) /
           IP(src=f"10.0.{rng.randrange(256)}.{rng.randrange(256)}", dst="10.1.2.3",
              ttl=rng.randrange(1, 256)) /
           UDP(sport=rng.randrange(1024, 65536), dport=port) /
           Raw(bytes(rng.getrandbits(8) for _ in range(max(0, length - 42)))))
    frame = bytes(pkt)
    assert len(frame) == max(length, 42)
    return frame


class TopTb(NicTb):
    """NicTb plus the reference: the NIC model and the interpreter on installed traces."""

    def __init__(self, dut, **kw):
        super().__init__(dut, **kw)
        self.model = NicModel(self.params.model_config())
        self.traces: dict[int, bytes] = {}          # entry -> trace code (mirror of the RTL)
        self.stats: dict[str, int] = {}

    async def install_checked(self, atoms: list[Atom], code: bytes) -> int:
        index, evicting, err = self.model.install(atoms, code)
        result = await self.install(atoms, code)
        assert result.ok and err.name == "NONE", f"install rejected: {result}"
        assert (result.entry, result.evicted) == (index, evicting), \
            f"RTL installed into {result.entry} (evicted {result.evicted}), model {index} ({evicting})"
        self.traces[index] = code
        return index

    async def install_refused(self, atoms: list[Atom], code: bytes) -> ErrorCode:
        """An install the model refuses: the RTL refuses it with the same code and atom index
        (compare cells do not depend on the other entries: jit/nic/validate.py)."""
        _index, _evicting, err = self.model.install(atoms, code)
        result = await self.install(atoms, code)
        assert err != ErrorCode.NONE and not result.ok and result.error == err, \
            f"RTL {result}, model {err.name}"
        if err == ErrorCode.CELLS_FULL:
            plan = condition_placement([a.words()[0] for a in atoms], self.params.n_slots,
                                       self.params.n_len_atoms, self.params.n_gen_atoms)
            assert result.index == plan.index, f"CELLS_FULL at atom {result.index}, not {plan.index}"
        return err

    def expect_frame(self, frame: bytes) -> None:
        """Send `frame` and expect what the model (and the interpreter) say comes out."""
        self.expect_result(frame, self.model.process(frame))
        self.send(frame)

    def expect_result(self, frame: bytes, out) -> None:
        """Expect the output of a model Outcome, checking hits against the interpreter."""
        if out.entry is not None and out.err == ExecError.NONE:
            ref = interp.run_xdp(isa.decode(self.traces[out.entry]), frame)
            assert (ref.action, ref.packet) == (out.action, out.packet), "model != interpreter"
            if ref.action == XDP_TX:
                self.expect_tx(ref.packet)
            elif ref.action == XDP_PASS:
                self.expect_host(Channel.PASS, ref.packet)
            elif ref.action == XDP_REDIRECT:
                self.expect_host(Channel.REDIRECT, ref.packet)
            what = f"hit/{ref.action}"
        else:
            self.expect_outcome(out)
            what = out.where if out.entry is None else f"fault/{out.err.name}"
        self.stats[what] = self.stats.get(what, 0) + 1

    async def check_counters(self) -> None:
        got = await self.counters()
        for c in Counter:
            if c == Counter.EXEC_CYCLES:
                continue
            assert got[c] == self.model.counters[c], f"{c.name}: RTL {got[c]} != model {self.model.counters[c]}"
        if self.model.counters[Counter.HITS]:
            assert got[Counter.EXEC_CYCLES] >= 2 * self.model.counters[Counter.HITS]
        hits = await self.nic.entry_hits(self.params.n_entries)
        assert hits == self.model.entry_hits, f"entry hits {hits} != model {self.model.entry_hits}"
        valid = await self.nic.entry_valid(self.params.n_entries)
        assert valid == [e is not None for e in self.model.entries]


def mixed_frames(rng: random.Random, tb: TopTb, n: int, ports: int) -> list[bytes]:
    p = tb.params
    frames = [bytes(rng.getrandbits(8) for _ in range(k)) for k in (1, 13)]    # runts at the edges
    frames.append(udp_frame(rng, BASE_PORT, p.pkt_bytes + 1))                  # just too long
    for _ in range(n):
        r = rng.random()
        if r < 0.06:
            frames.append(bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 14))))   # runt
        elif r < 0.10:
            frames.append(udp_frame(rng, BASE_PORT, rng.randrange(p.pkt_bytes + 1, p.pkt_bytes + 80)))
        else:
            length = rng.choice([42, 60, 64, rng.randrange(42, 200), rng.randrange(42, p.pkt_bytes + 1),
                                 p.hdr_bytes, p.hdr_bytes + 1, p.hdr_bytes + 20, p.pkt_bytes])
            frames.append(udp_frame(rng, BASE_PORT + rng.randrange(ports + 2), length))
    return frames


# ---- tests ------------------------------------------------------------------------------------------
@cocotb.test()
async def routing_and_counters(dut):
    """Every action, miss, runt, oversize and executor fault under random idle and back-pressure."""
    tb = TopTb(dut, idle=0.3, backpressure=0.3, seed=1)
    await tb.reset()
    rng = random.Random(11)
    codes = trace_codes(tb.params.hdr_bytes)
    installed = min(len(codes), tb.params.n_entries)
    for i, (_, code, extra) in enumerate(codes[:installed]):
        await tb.install_checked(udp_atoms(BASE_PORT + i) + extra, code)
    for frame in mixed_frames(rng, tb, 140, len(codes)):
        tb.expect_frame(frame)
    await tb.wait_outputs()
    tb.check()
    await tb.check_counters()
    dut._log.info("outcomes: %s", tb.stats)
    kinds = {k.split("/")[0] for k in tb.stats}
    assert {"hit", "host", "dropped"} <= kinds, tb.stats
    if installed == len(codes):
        assert {f"hit/{a}" for a in range(5)} <= set(tb.stats) and "fault/PKT_BOUNDS" in tb.stats, tb.stats


@cocotb.test()
async def back_to_back(dut):
    """Frames with no idle cycle between them and always-ready sinks; measures cycles per frame."""
    tb = TopTb(dut, seed=2)
    await tb.reset()
    rng = random.Random(12)
    code, extra = trace_codes(tb.params.hdr_bytes)[0][1:]
    await tb.install_checked(udp_atoms(BASE_PORT) + extra, code)

    cycle = 0
    marks: list[tuple[str, int]] = []

    async def probe():
        nonlocal cycle
        while True:
            await RisingEdge(dut.clk)
            cycle += 1
            if int(dut.rx_valid.value) and int(dut.rx_ready.value) and int(dut.rx_startofpacket.value):
                marks.append(("rx_sop", cycle))
            if int(dut.tx_valid.value) and int(dut.tx_ready.value) and int(dut.tx_endofpacket.value):
                marks.append(("tx_eop", cycle))

    probe_task = cocotb.start_soon(probe())
    measured = {}
    for size in (64, 512, 1500):
        if size > tb.params.pkt_bytes:
            continue
        # one frame alone: latency from first beat in to last beat out
        marks.clear()
        tb.expect_frame(udp_frame(rng, BASE_PORT, size))
        await tb.wait_outputs(settle_cycles=5)
        latency = marks[-1][1] - marks[0][1] + 1
        # a burst: steady-state cycles between frames
        marks.clear()
        n = 12
        for _ in range(n):
            tb.expect_frame(udp_frame(rng, BASE_PORT, size))
        await tb.wait_outputs(settle_cycles=5)
        eops = [c for what, c in marks if what == "tx_eop"]
        per_frame = (eops[-1] - eops[0]) / (n - 1)
        beats = -(-size // (tb.params.data_width // 8))
        measured[size] = {"latency": latency, "cycles_per_frame": per_frame, "beats": beats}
        dut._log.info("hit, %d bytes: latency %d cycles, %.1f cycles/frame back to back (%d beats/frame)",
                      size, latency, per_frame, beats)
        assert per_frame >= beats
    probe_task.cancel()
    tb.check()
    await tb.check_counters()
    out = os.environ.get("JITNIC_CYCLES_JSON")
    if out:
        with open(out, "w") as f:
            json.dump(measured, f, indent=1)


@cocotb.test()
async def install_racing_traffic(dut):
    """An install while frames flow: each frame is a miss (before) or a hit (after), never mixed up."""
    tb = TopTb(dut, idle=0.2, backpressure=0.2, seed=3)
    await tb.reset()
    rng = random.Random(13)
    code = trace_codes(tb.params.hdr_bytes)[0][1]
    atoms = udp_atoms(BASE_PORT)
    # enough traffic to outlast the install's AXI writes at any bus width
    count = 80 * max(1, tb.params.data_width // 128)
    frames = [udp_frame(rng, BASE_PORT, rng.randrange(60, 300)) for _ in range(count)]
    for f in frames:
        tb.send(f)
    await ClockCycles(dut.clk, 200)
    result = await tb.install(atoms, code)
    assert result.ok and result.entry == 0
    await tb.rx.drain()
    n = len(frames)

    async def all_out():
        while len(tb.host.frames) + len(tb.tx.frames) < n:
            await ClockCycles(dut.clk, 32)
    await with_timeout(all_out(), 100_000 * tb.period_ns, "ns")
    await ClockCycles(dut.clk, 100)
    k = len(tb.host.frames)
    assert 0 < k < n, f"the install did not race the traffic ({k} misses of {n})"
    assert tb.host.frames == [(int(Channel.MISS), f) for f in frames[:k]], "misses are not the first frames"
    insns = isa.decode(code)
    assert [f for _, f in tb.tx.frames] == [interp.run_xdp(insns, f).packet for f in frames[k:]]
    got = await tb.counters()
    assert (got[Counter.MISSES], got[Counter.HITS], got[Counter.TX]) == (k, n - k, n - k)
    dut._log.info("install landed after %d of %d frames", k, n)


@cocotb.test()
async def evictions_and_invalidate(dut):
    """More installs than entries with hits in between (policy state in the loop), then
    invalidate-all: everything misses, and the next install lands in entry 0."""
    tb = TopTb(dut, idle=0.1, backpressure=0.2, seed=4)
    await tb.reset()
    rng = random.Random(14)
    n = tb.params.n_entries
    drop = trace_codes(tb.params.hdr_bytes)[3][1]
    ttl = trace_codes(tb.params.hdr_bytes)[1][1]
    ports = []
    # a condition too big for an entry's compare cells: more length atoms than length cells and
    # more atoms on the port than the general atoms hold (refused, CELLS_FULL, nothing changes)
    crowded = [Atom(AtomKind.LEN, AtomOp.LE, const=1500), Atom(AtomKind.LEN, AtomOp.LE, const=1600)]
    crowded += [Atom(AtomKind.PKT, AtomOp.NE, 36, 2, True, 0xFFFF, k) for k in range(1, 5)]
    refusals = 0
    for round_ in range(2 * n + 3):
        port = 2000 + round_
        if round_ % 3 == 1:
            atoms = (udp_atoms(port + 100) + crowded)[:tb.params.max_atoms]
            refusals += await tb.install_refused(atoms, drop) == ErrorCode.CELLS_FULL
        await tb.install_checked(udp_atoms(port), rng.choice([drop, ttl]))
        ports.append(port)
        # hit some installed entries, in random order, and wait: the model sees the same order
        for _ in range(rng.randrange(1, 6)):
            tb.expect_frame(udp_frame(rng, rng.choice(ports[-n:] + [1]), rng.randrange(42, 120)))
        await tb.wait_outputs(settle_cycles=5)
    tb.check()
    await tb.check_counters()
    assert tb.model.counters[Counter.EVICTIONS] == n + 3
    assert refusals > 0, "no install was refused for want of compare cells"

    await tb.nic.invalidate_all()
    tb.model.invalidate_all()
    assert await tb.nic.entry_valid(n) == [False] * n
    for port in ports[-n:]:
        tb.expect_frame(udp_frame(rng, port, 80))
    await tb.wait_outputs()
    assert tb.stats.get("host", 0) >= n
    await tb.install_checked(udp_atoms(ports[-1]), drop)
    tb.expect_frame(udp_frame(rng, ports[-1], 70))
    await tb.wait_outputs()
    tb.check()
    await tb.check_counters()


@cocotb.test()
async def host_tx_shares_tx(dut):
    """host_tx frames and NIC TX frames share tx: whole frames, each source in order, counted."""
    tb = TopTb(dut, idle=0.3, backpressure=0.4, seed=5)
    await tb.reset()
    rng = random.Random(15)
    code = trace_codes(tb.params.hdr_bytes)[0][1]
    await tb.install_checked(udp_atoms(BASE_PORT), code)
    nic_frames, host_frames = [], []
    for i in range(30):
        f = udp_frame(rng, BASE_PORT, rng.randrange(42, 400))
        tb.expect_frame(f)
        nic_frames.append(interp.run_xdp(isa.decode(code), f).packet)
        h = bytes([0xEE, i]) + bytes(rng.getrandbits(8) for _ in range(rng.randrange(12, 300)))
        tb.send_host_tx(h)
        tb.expect_host_tx(h)
        host_frames.append(h)
        tb.model.host_tx(h)
    await tb.wait_outputs()
    tb.check()
    out = [f for _, f in tb.tx.frames]
    assert [f for f in out if f in set(host_frames)] == host_frames, "host_tx order"
    assert [f for f in out if f not in set(host_frames)] == nic_frames, "NIC TX order"
    await tb.check_counters()
    # both sources were interleaved at least once
    switches = sum(1 for a, b in zip(out, out[1:]) if (a in host_frames) != (b in host_frames))
    assert switches >= 4, f"tx was never shared ({switches} switches)"


@cocotb.test()
async def rx_never_stalls(dut):
    """The wire is never back-pressured: frames arrive back to back regardless of rx_pause while
    the outputs stall, so buffers run out. Frames that start while rx_pause is high are dropped and
    counted (RX_DROPS); frames flagged by rx_error (RX_ERRORS), malformed beat sequences
    (RX_MALFORMED) and oversize frames are dropped and counted; every other frame comes out
    exactly as the model says, and every counter agrees with the model told which frames found
    the NIC full."""
    state = {"cut_has_buf": None}

    def on_start(tag, paused):
        kind, frame, bad = tag
        if kind == "orphan":
            tb.model.malformed()
            return
        full = paused
        if state["cut_has_buf"] is not None:          # this start of packet cut the last frame
            tb.model.malformed()
            full = paused and not state["cut_has_buf"]  # the new frame keeps the cut one's buffer
            state["cut_has_buf"] = None
        if kind == "cut":
            state["cut_has_buf"] = not full
            return
        tb.expect_result(frame, tb.model.process(frame, bad=bad, full=full))

    tb = TopTb(dut, backpressure=0.6, seed=6, honor_pause=False, on_rx_start=on_start)
    await tb.reset()
    rng = random.Random(16)
    codes = trace_codes(tb.params.hdr_bytes)
    for i in (0, 1, 3):                                 # TX, PASS, DROP
        if i < tb.params.n_entries:
            await tb.install_checked(udp_atoms(BASE_PORT + i), codes[i][1])
    w = tb.params.data_width // 8
    for _ in range(160):
        r = rng.random()
        length = rng.choice([42, 64, 65, rng.randrange(42, 300), rng.randrange(42, tb.params.pkt_bytes + 1)])
        frame = udp_frame(rng, BASE_PORT + rng.randrange(5), length)
        if r < 0.08:
            tb.rx.send(frame, bad=True, tag=("frame", frame, True))
        elif r < 0.12:
            big = udp_frame(rng, BASE_PORT, tb.params.pkt_bytes + rng.randrange(1, 70))
            tb.rx.send(big, tag=("frame", big, False))
        elif r < 0.16:                                  # beats outside any frame
            beats = frame_beats(frame, w)[: rng.randrange(1, 4)]
            beats = [Beat(b.data, sop=False, eop=False) for b in beats]
            beats[-1] = Beat(beats[-1].data, eop=True)
            tb.rx.send_beats(beats, tag=("orphan", None, False))
        elif r < 0.20:                         # a frame cut short by the next frame's start
            tb.rx.send_beats(frame_beats(frame, w)[:-1] or [Beat(frame[:w], sop=True)],
                             tag=("cut", None, False))
            tb.rx.send(frame, tag=("frame", frame, False))
        else:
            tb.rx.send(frame, tag=("frame", frame, False))
    await tb.rx.drain()
    await tb.wait_outputs()
    tb.check()
    await tb.check_counters()
    c = tb.model.counters
    dut._log.info("rx: %d frames, %d dropped (full), %d bad, %d malformed, %d oversize; outcomes %s",
                  c[Counter.RX_PACKETS], c[Counter.RX_DROPS], c[Counter.RX_ERRORS],
                  c[Counter.RX_MALFORMED], c[Counter.OVERSIZE], tb.stats)
    assert tb.rx.not_ready_cycles == 0, "rx_ready fell while a beat was offered"
    assert c[Counter.RX_DROPS] > 0 and c[Counter.RX_ERRORS] > 0 and c[Counter.RX_MALFORMED] > 0
    assert (c[Counter.HITS] + c[Counter.MISSES] + c[Counter.OVERSIZE] + c[Counter.RX_DROPS]
            + c[Counter.RX_ERRORS]) == c[Counter.RX_PACKETS]


@cocotb.test()
async def egress_queues_independent(dut):
    """A stalled tx does not hold up host-bound frames queued behind a tx-bound one, and the other
    way round; once released, the held frames come out, in order."""
    tb = TopTb(dut, seed=7)
    await tb.reset()
    rng = random.Random(17)
    await tb.install_checked(udp_atoms(BASE_PORT), trace_codes(tb.params.hdr_bytes)[0][1])
    for stalled, other in ((tb.tx, tb.host), (tb.host, tb.tx)):
        stalled.set_backpressure(1.0)
        await ClockCycles(dut.clk, 80)                 # let the sink's ready settle low
        held = min(1 if stalled is tb.tx else 2, tb.params.n_bufs - 1)   # buffers they keep
        n_other = 2 * tb.params.n_bufs
        before_stalled, before_other = len(stalled.frames), len(other.frames)
        to_stalled = BASE_PORT if stalled is tb.tx else BASE_PORT + 7        # TX hit / miss
        to_other = BASE_PORT + 7 if stalled is tb.tx else BASE_PORT
        for _ in range(held):
            tb.expect_frame(udp_frame(rng, to_stalled, rng.randrange(60, 200)))
        for _ in range(n_other):
            tb.expect_frame(udp_frame(rng, to_other, rng.randrange(60, 200)))
        await tb.rx.drain()

        async def others_out():
            while len(other.frames) < before_other + n_other:
                await ClockCycles(dut.clk, 16)
        await with_timeout(others_out(), 20_000 * tb.period_ns, "ns")
        assert len(stalled.frames) == before_stalled, "the stalled stream moved"
        stalled.set_backpressure(0.0)
        await tb.wait_outputs()
    tb.check()
    await tb.check_counters()


@cocotb.test()
async def no_dead_cycles(dut):
    """Misses of at least 4 beats each, offered back to back: rx takes one beat per cycle and the
    host stream carries them with no idle cycle between frames. Needs N_BUFS >= 4: a frame holds
    its buffer from its first beat in to its last beat read, and two buffers cannot cover receive,
    lookup and read-out of back-to-back frames (with two, rx_pause idles the wire instead)."""
    tb = TopTb(dut, seed=8)
    await tb.reset()
    rng = random.Random(18)
    w = tb.params.data_width // 8
    size = max(64, 4 * w)
    n = 12
    beats_out: list[int] = []

    async def probe():
        cycle = 0
        while True:
            await RisingEdge(dut.clk)
            cycle += 1
            if int(dut.host_valid.value) and int(dut.host_ready.value):
                beats_out.append(cycle)

    task = cocotb.start_soon(probe())
    for _ in range(n):
        tb.expect_frame(udp_frame(rng, BASE_PORT + 9, size))
    await tb.wait_outputs(settle_cycles=5)
    task.cancel()
    tb.check()
    beats = -(-size // w)
    assert len(beats_out) == n * beats
    span = beats_out[-1] - beats_out[0] + 1
    dut._log.info("%d frames of %d beats: host stream busy %d of %d cycles", n, beats, n * beats, span)
    if tb.params.n_bufs < 4:
        return
    assert span == n * beats, f"{span - n * beats} idle cycles between back-to-back frames"
    assert sum(tb.rx.starts) == 0


@cocotb.test()
async def lanes_retire_in_arrival_order(dut):
    """Slow traces (a 64-bit divide) and fast ones, hits and misses, back to back into always-ready
    sinks: with several lanes a younger fast frame finishes while an older slow one still runs,
    and every stream must still carry its frames in arrival order (the scoreboard compares in
    order). The probe proves the case happened: lanes ran at once, and a finished lane waited for
    an older frame."""
    tb = TopTb(dut, seed=9)
    await tb.reset()
    rng = random.Random(19)
    slow = lambda action: isa.encode([isa.ld_imm64(0, 1 << 40), isa.mov64_imm(3, 7),   # noqa: E731
                                      isa.alu64_reg(isa.BPF_DIV, 0, 3), isa.mov64_imm(0, action),
                                      isa.exit_insn()])
    fast_tx, fast_pass = trace_codes(tb.params.hdr_bytes)[0][1], trace_codes(tb.params.hdr_bytes)[1][1]
    ports = []
    for i, code in enumerate((slow(XDP_TX), fast_tx, slow(XDP_PASS), fast_pass)[:tb.params.n_entries]):
        await tb.install_checked(udp_atoms(BASE_PORT + i), code)
        ports.append(BASE_PORT + i)
    ports.append(BASE_PORT + 50)                         # a miss, on the host stream
    busy_max = waited = 0

    def unsigned(handle) -> int:                    # a 1-lane vector is a single Logic
        v = handle.value
        return v.to_unsigned() if hasattr(v, "to_unsigned") else int(v)

    async def probe():
        nonlocal busy_max, waited
        while True:
            await RisingEdge(dut.clk)
            busy_max = max(busy_max, bin(unsigned(dut.lane_busy_reg)).count("1"))
            if (int(dut.rob_valid.value) and not int(dut.retire_c.value)
                    and unsigned(dut.lane_done)):
                waited += 1

    task = cocotb.start_soon(probe())
    for _ in range(60):
        tb.expect_frame(udp_frame(rng, rng.choice(ports), rng.choice([60, 64, 100])))
    await tb.wait_outputs()
    task.cancel()
    tb.check()
    await tb.check_counters()
    dut._log.info("lanes busy at once: %d of %d; a finished lane waited for an older frame in %d cycles",
                  busy_max, tb.params.n_lanes, waited)
    assert busy_max == tb.params.n_lanes
    if tb.params.n_lanes > 1 and tb.params.n_entries >= 2:
        assert waited > 0, "no younger frame finished before an older one: order was not exercised"


# ---- pytest -----------------------------------------------------------------------------------------
# N_SLOTS swept: the default, 4, exactly the 3 fields udp_atoms reads, and 16; compare cells: the
# defaults, and no length cell with one general atom (udp_atoms' length atom takes it)
CONFIGS = {
    "default": dict(),
    "dw512-fifo": dict(DATA_WIDTH=512, POLICY="fifo", N_ENTRIES=4, HDR_BYTES=64, PKT_BYTES=512,
                       MAX_TRACE_LEN=32, N_LANES=3, N_SLOTS=4),
    "random-n2": dict(POLICY="random", N_ENTRIES=2, PKT_BYTES=1024, MAX_ATOMS=5, N_BUFS=2,
                      N_LANES=1, N_SLOTS=3, N_LEN_ATOMS=0, N_GEN_ATOMS=1),
    "plru-n8": dict(POLICY="plru", N_ENTRIES=8, N_BUFS=4, HDR_BYTES=256, N_LANES=2, N_SLOTS=16),
}


@pytest.mark.rtl
@pytest.mark.parametrize("name", list(CONFIGS))
def test_top(name):
    run_cocotb("jitnic_top", "tb.top.test_top", parameters=CONFIGS[name])
