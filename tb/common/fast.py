"""Whole-frame transfers: `FastNicTb`, the NIC bench on `jitnic_tb_top` (tb/common/hdl/), where
Python wakes about once per frame instead of once per beat.

    tb = FastNicTb(dut, idle=0.2, backpressure=0.3, seed=1)     # dut = jitnic_tb_top
    await tb.reset()
    tb.send(frame); tb.expect_outcome(model.process(frame))     # the same interface as NicTb
    await tb.wait_outputs(); tb.check()
    counters = await tb.counters()                              # one bus batch, one wake-up

What moves where:
- rx and host_tx (`RingSource`, Verilog `jitnic_tb_source`): a frame is written as chunks of up to
  SLOT_BYTES into a ring, one VPI write per chunk and its descriptor, then the write pointer. The
  Verilog streams the beats, inserts the idle gaps and (rx) honours `rx_pause` at each start of
  frame, exactly as `tb.common.wire.WireSource` does from Python. Python sleeps only while the
  ring is full (until it is half empty).
- tx and host (`RingSink`, Verilog `jitnic_tb_sink`): the Verilog collects each output frame into
  the ring (channel in the descriptor) and drives `ready` with the back-pressure pattern from the
  seed and threshold Python set; Python wakes once per frame end, reads the chunks and hands the
  frame to its cocotb-bus Monitor, so the Scoreboard checks every frame as before.
- the control bus (`AxilBatch`, Verilog `jitnic_tb_axil`): a list of writes, reads and polls runs
  in the Verilog master with one wake-up at the end; `FastNicDriver` stages and commits an entry
  (writes, COMMIT, poll of STATUS.BUSY, ERROR) or reads every counter as one batch.

Benches that need beat-level control (malformed sequences, rx_error with per-frame callbacks,
cycle probes) keep `tb.common.nic.NicTb` on `jitnic_top` itself.
"""
from __future__ import annotations

from collections import deque

import cocotb
from cocotb.triggers import RisingEdge, SimTimeoutError, with_timeout
from cocotb_bus.monitors import Monitor

from jit.nic import encoding as enc
from tb.common.axil import CommitResult, NicDriver, Status, stage_writes
from tb.common.nic import NicTb
from tb.common.runner import param

BENCH_TOP = "jitnic_tb_top"
SLOT_BYTES = 256            # jitnic_tb_top's defaults (PARAM_SLOT_BYTES / PARAM_RING_LOG2 override)
RING_LOG2 = 5

DESC_SOP, DESC_EOP, DESC_ERROR = 1 << 16, 1 << 17, 1 << 18


def read_int(handle) -> int:
    """`int(handle.value)` without the LogicArray cocotb builds on the way (from the simulator's
    binary string, 2048 characters for a default ring slot): the rings' reads are most of this
    bench's own per-frame Python. A value with X or Z bits goes the public way, whose error
    names the signal."""
    try:
        return int(handle._handle.get_signal_val_binstr(), 2)
    except (AttributeError, ValueError):
        return int(handle.value)


try:        # cocotb's own write scheduling, without its per-write checks (below)
    from cocotb.handle import _GPISetAction, _schedule_write
except ImportError:     # another cocotb version: the public path
    _schedule_write = None


class IntWriter:
    """`handle.value = v` for the bench's hot registers (ring slots, descriptors, pointers):
    cocotb checks the range and asks the simulator for the signal's length three or four times
    per write (a VPI call each), a tenth of the bench's per-frame Python; here the width is read
    once. The write still goes through cocotb's scheduling (applied in the ReadWrite phase), so
    the simulation sees exactly what the public path would give it."""

    def __init__(self, handle):
        self.handle = handle
        self.width = len(handle)
        raw = getattr(handle, "_handle", None)
        self._int = getattr(raw, "set_signal_val_int", None)
        self._bin = getattr(raw, "set_signal_val_binstr", None)

    def __call__(self, value: int) -> None:
        if value < 0 or value >> self.width:
            raise ValueError(f"{value:#x} does not fit the {self.width}-bit {self.handle._path}")
        if _schedule_write is None or self._bin is None:
            self.handle.value = value
        elif self.width <= 32:
            _schedule_write(self.handle, self._int, _GPISetAction.DEPOSIT, value)
        else:
            _schedule_write(self.handle, self._bin, _GPISetAction.DEPOSIT,
                            format(value, f"0{self.width}b"))


def threshold(p: float) -> int:
    """A probability as the 16-bit threshold the Verilog compares its random numbers with."""
    return min(0xFFFF, max(0, round(p * 65536)))


def chunks(frame: bytes, slot_bytes: int, bad: bool = False) -> list[tuple[int, int]]:
    """(slot value, descriptor) per chunk of a well-formed frame; `bad` flags rx_error on its last
    beat. The first byte goes to the slot's top bits."""
    out = []
    n = max(len(frame), 1)
    for start in range(0, n, slot_bytes):
        part = frame[start:start + slot_bytes]
        last = start + slot_bytes >= n
        desc = len(part) | (DESC_SOP if start == 0 else 0) | (DESC_EOP if last else 0)
        if last and bad:
            desc |= DESC_ERROR
        out.append((int.from_bytes(part.ljust(slot_bytes, b"\0"), "big"), desc))
    return out


class RingSource:
    """Frames into `jitnic_tb_source` `block` (u_rx or u_host_tx of the bench top)."""

    def __init__(self, block, slot_bytes: int, ring_log2: int, *, idle: float, seed: int,
                 honor_pause: bool = True):
        self.block = block
        self.slot_bytes = slot_bytes
        self.depth = 1 << ring_log2
        self._slots = [IntWriter(block.slot_data[i]) for i in range(self.depth)]
        self._descs = [IntWriter(block.slot_desc[i]) for i in range(self.depth)]
        # handles looked up once: cocotb's attribute lookup was a visible share of the bench's
        # per-frame Python (docs/bench.md)
        self._wr_ptr, self._rd_ptr = IntWriter(block.wr_ptr), block.rd_ptr
        self._stamps = [block.slot_ts[i] for i in range(self.depth)]
        self._stamped = [0] * self.depth     # what each slot_ts holds (written only on change)
        for h in self._stamps:               # (a previous cocotb test may have left stamps there)
            h.value = 0
        self._wr = 0                   # chunks written (mod 2**32 on the wire)
        self._rd = 0                   # the Verilog's rd_ptr as last read
        self._pending: deque[tuple[int, int, int]] = deque()
        self._waiting = False
        self.sent = 0
        # the registers the bench owns keep their values across cocotb tests of one simulation,
        # while the Verilog's own restart at reset: start from an empty ring
        self._wr_ptr(0)
        block.seed.value = 0x1000_0001 + seed * 7919
        block.honor_pause.value = int(honor_pause)
        self.set_idle(idle)

    def set_idle(self, p: float) -> None:
        """Chance per beat that an idle gap of 1..3 cycles starts is p/4, as in WireSource."""
        self.block.idle_thr.value = threshold(p / 4)

    def send(self, frame: bytes, bad: bool = False, tag: object = None, ts_ns: int = 0) -> None:
        """Queue a frame (`tag` is accepted for WireSource's interface and not used); `ts_ns` is
        its timestamp (m_timestamp with its beats: rx_timestamp)."""
        assert frame, "a 0-byte frame cannot cross an Avalon-ST link"
        ts = ts_ns & (1 << 64) - 1
        self._pending.extend((data, desc, ts) for data, desc in
                             chunks(bytes(frame), self.slot_bytes, bad))
        self.sent += 1
        self._pump()

    def _pump(self) -> None:
        """Write pending chunks into free slots, then the write pointer (one VPI write each)."""
        wrote = False
        while self._pending:
            if self._wr - self._rd >= self.depth:
                self._rd = self._read_rd()          # our copy is stale: is it really full?
                if self._wr - self._rd >= self.depth:
                    break
            data, desc, ts = self._pending.popleft()
            i = self._wr % self.depth
            self._slots[i](data)
            self._descs[i](desc)
            if self._stamped[i] != ts:
                self._stamps[i].value = self._stamped[i] = ts
            self._wr += 1
            wrote = True
        if wrote:
            self._wr_ptr(self._wr & 0xFFFF_FFFF)
        if self._pending and not self._waiting:
            self._waiting = True
            cocotb.start_soon(self._refill())

    def _read_rd(self) -> int:
        """The Verilog's rd_ptr, unwrapped against our own count."""
        rd = read_int(self._rd_ptr)
        return self._wr - ((self._wr - rd) & 0xFFFF_FFFF)

    async def _refill(self) -> None:
        # the ring is full (read back from the Verilog, so below_half is low or falls at the next
        # edge, RING_LOG2 >= 2): it rises when half of the ring is free
        while self._pending:
            await RisingEdge(self.block.below_half)
            self._rd = self._read_rd()
            self._waiting = False
            self._pump()
            if self._waiting:       # _pump started another refill task
                return
        self._waiting = False

    async def drain(self, timeout_cycles: int = 200_000, period_ns: int = 10) -> None:
        """Wait until every chunk has been streamed out."""
        async def until():
            while self._pending or self._read_rd() != self._wr or not int(self.block.idle.value):
                await RisingEdge(self.block.idle)
        await with_timeout(until(), timeout_cycles * period_ns, "ns")

    def counter(self, name: str) -> int:
        return int(getattr(self.block, name).value)


class RingMonitor(Monitor):
    """Frames collected by `jitnic_tb_sink` `block`, one wake-up per frame end; transactions as
    tb.common.avalon.StreamMonitor's (bytes, or {"data", "channel", "meta"} with a channel)."""

    def __init__(self, block, name: str, slot_bytes: int, ring_log2: int, channel: bool):
        self.block = block
        self.name = name
        self.slot_bytes = slot_bytes
        self.depth = 1 << ring_log2
        self.channel = channel
        self._slots = [block.slot_data[i] for i in range(self.depth)]
        self._descs = [block.slot_desc[i] for i in range(self.depth)]
        self._metas = [block.slot_meta[i] for i in range(self.depth)]
        super().__init__()

    async def _monitor_recv(self) -> None:
        depth = self.depth
        events, wr_ptr, rd_ptr = self.block.events, self.block.wr_ptr, IntWriter(self.block.rd_ptr)
        rd = 0
        parts: list[bytes] = []
        while True:
            await events.value_change
            if not read_int(events):
                # reset (events only counts up otherwise): the ring restarts empty
                rd, parts = 0, []
                rd_ptr(0)
                continue
            wr = read_int(wr_ptr)
            while rd != wr:
                i = rd % depth
                desc = read_int(self._descs[i])
                n = desc & 0xFFFF
                if not parts:
                    assert desc & DESC_SOP, f"{self.name}: frame without start-of-packet"
                parts.append(read_int(self._slots[i]).to_bytes(self.slot_bytes, "big")[:n])
                rd = (rd + 1) & 0xFFFF_FFFF
                if desc & DESC_EOP:
                    frame = b"".join(parts)
                    parts = []
                    self._recv(frame if not self.channel else
                               {"data": frame, "channel": desc >> 24,
                                "meta": read_int(self._metas[i])})
            rd_ptr(rd)


class RingSink:
    """tb.common.avalon.StreamSink's interface on a `jitnic_tb_sink`: `frames` as (channel,
    bytes), back-pressure knob, `monitor` for a Scoreboard."""

    def __init__(self, block, name: str, slot_bytes: int, ring_log2: int, *, backpressure: float,
                 channel: bool, seed: int):
        self.block = block
        self.channel = channel
        self.monitor = RingMonitor(block, name, slot_bytes, ring_log2, channel)
        self.frames: list[tuple[int | None, bytes]] = []
        self.metas: list[int] = []      # host_meta of each frame (with a channel)
        self.monitor.add_callback(self._receive)
        block.rd_ptr.value = 0          # bench-owned: restart with the Verilog's reset
        block.seed.value = 0x2000_0001 + seed * 104729
        self.set_backpressure(backpressure)

    def set_backpressure(self, p: float) -> None:
        """Ready low in stretches of 1..4 cycles with probability p; 1.0 holds it low."""
        self.backpressure = p
        self.block.stop.value = int(p >= 1.0)
        self.block.bp_thr.value = threshold(p)

    def _receive(self, transaction) -> None:
        if self.channel:
            self.frames.append((transaction["channel"], transaction["data"]))
            self.metas.append(transaction["meta"])
        else:
            self.frames.append((None, transaction))

    def counter(self, name: str) -> int:
        return int(getattr(self.block, name).value)


OP_WRITE, OP_READ, OP_POLL = 1, 2, 3


class AxilBatch:
    """Bus operations run by `jitnic_tb_axil` in batches; `read`/`write` as tb.common.axil's
    AxilMaster (a batch of one)."""

    def __init__(self, block, clock, cmd_log2: int = 10, op_timeout_cycles: int = 20_000,
                 period_ns: int = 10):
        self.block = block
        self.clock = clock
        self.depth = 1 << cmd_log2
        self.op_timeout_cycles = op_timeout_cycles
        self.period_ns = period_ns
        self._cmd: dict[int, object] = {}
        self._res: dict[int, object] = {}
        self._seq = 0
        self.batches = 0
        block.cmd_seq.value = 0         # bench-owned; done_seq follows it at reset

    def _handle(self, cache: dict, array, i: int):
        h = cache.get(i)
        if h is None:
            h = cache[i] = array[i]
        return h

    async def run(self, ops: list[tuple[int, int, int]]) -> list[int]:
        """Run (op, address, data) commands in order; returns each one's read data (0 for
        writes). A bus error response or a timeout raises AssertionError."""
        out: list[int] = []
        for start in range(0, len(ops), self.depth):
            batch = ops[start:start + self.depth]
            for i, (op, addr, data) in enumerate(batch):
                writer = self._cmd.get(i)
                if writer is None:
                    writer = self._cmd[i] = IntWriter(self.block.cmd[i])
                writer((op << 60) | ((addr & 0xFFFF) << 32) | (data & 0xFFFF_FFFF))
            self.block.cmd_count.value = len(batch)
            self._seq = (self._seq + 1) & 0xFFFF_FFFF
            self.block.cmd_seq.value = self._seq
            self.batches += 1
            try:
                await with_timeout(self.block.done_seq.value_change,
                                   (len(batch) + 1) * (self.op_timeout_cycles + 8) * self.period_ns,
                                   "ns")
            except SimTimeoutError:
                raise AssertionError(f"AXI4-Lite batch of {len(batch)} never finished") from None
            fault = read_int(self.block.fault)
            if fault:
                op, addr, _ = batch[(fault >> 16) - 1]
                raise AssertionError(f"AXI4-Lite {'write' if op == OP_WRITE else 'read'} "
                                     f"{addr:#06x} timed out after {self.op_timeout_cycles} cycles")
            for i, (op, addr, _) in enumerate(batch):
                if op == OP_WRITE:
                    out.append(0)
                    continue
                word = read_int(self._handle(self._res, self.block.res, i))
                assert word >> 32 == 0, f"AXI4-Lite read {addr:#06x}: response {word >> 32}"
                out.append(word & 0xFFFF_FFFF)
        return out

    async def write(self, addr: int, value: int) -> None:
        await self.run([(OP_WRITE, addr, value)])

    async def read(self, addr: int) -> int:
        return (await self.run([(OP_READ, addr, 0)]))[0]


class FastNicDriver(NicDriver):
    """NicDriver whose multi-register operations are one batch each."""

    axil: AxilBatch

    async def wait_idle(self) -> Status:
        (word,) = await self.axil.run([(OP_POLL, enc.REG_STATUS, enc.STATUS_BUSY)])
        return Status.from_word(word)

    async def install(self, atoms, trace, **overrides) -> CommitResult:
        ops = [(OP_WRITE, a, v) for a, v in stage_writes(atoms, trace, **overrides)]
        ops += [(OP_WRITE, enc.REG_CTRL, enc.CTRL_COMMIT), (OP_POLL, enc.REG_STATUS, enc.STATUS_BUSY),
                (OP_READ, enc.REG_ERROR, 0)]
        got = await self.axil.run(ops)
        status, word = Status.from_word(got[-2]), got[-1]
        code, index = enc.ErrorCode(word & 0xFFFF), word >> 16
        if status.commit_ok:
            return CommitResult(True, status.last_entry, status.last_evicted, code, index)
        assert status.commit_err, f"commit ended with neither COMMIT_OK nor COMMIT_ERR: {status}"
        return CommitResult(False, None, False, code, index)

    async def read_counters(self, which=tuple(enc.Counter)) -> dict:
        which = list(which)
        got = await self.axil.run([(OP_READ, enc.REG_COUNTERS + 4 * int(c), 0) for c in which])
        return dict(zip(which, got))

    async def entry_hits(self, n_entries: int) -> list[int]:
        return await self.axil.run([(OP_READ, enc.REG_ENTRY_HITS + 4 * i, 0) for i in range(n_entries)])

    async def entry_valid(self, n_entries: int) -> list[bool]:
        words = await self.axil.run([(OP_READ, enc.REG_ENTRY_VALID + 4 * j, 0)
                                     for j in range((n_entries + 31) // 32)])
        bits = sum(w << (32 * j) for j, w in enumerate(words))
        return [bool(bits >> i & 1) for i in range(n_entries)]

    async def reseed(self, seed: int) -> None:
        await self.axil.run([(OP_WRITE, enc.REG_POLICY_SEED, seed),
                             (OP_WRITE, enc.REG_CTRL, enc.CTRL_RESEED)])


class FastNicTb(NicTb):
    """NicTb on `jitnic_tb_top`: the same expectations, scoreboard and checks, whole-frame
    transfers. `on_rx_start` (per-frame callbacks at rx) is not available here."""

    def _connect(self, *, idle, backpressure, seed, honor_pause, on_rx_start) -> None:
        assert on_rx_start is None, "per-frame rx callbacks need NicTb (beat-level rx)"
        dut = self.dut
        slot, ring = param("SLOT_BYTES", SLOT_BYTES), param("RING_LOG2", RING_LOG2)
        self.rx = RingSource(dut.u_rx, slot, ring, idle=idle, seed=seed, honor_pause=honor_pause)
        self.host_tx = RingSource(dut.u_host_tx, slot, ring, idle=idle, seed=seed + 1)
        self.tx = RingSink(dut.u_tx, "tx", slot, ring, backpressure=backpressure, channel=False,
                           seed=seed)
        self.host = RingSink(dut.u_host, "host", slot, ring, backpressure=backpressure,
                             channel=True, seed=seed + 1)
        self.axil = AxilBatch(dut.u_axil, dut.clk, period_ns=self.period_ns)
        self.nic = FastNicDriver(self.axil)

    async def paused_starts(self) -> int:
        return self.rx.counter("paused_starts")

    def stream_counters(self) -> dict[str, int]:
        """What the shells counted: frames, idle gaps and stalls per stream."""
        return {"rx_frames": self.rx.counter("frames_started"),
                "rx_idle_gaps": self.rx.counter("idle_gaps"),
                "rx_not_ready_beats": self.rx.counter("not_ready_beats"),
                "host_tx_frames": self.host_tx.counter("frames_started"),
                "host_tx_stalls": self.host_tx.counter("stall_cycles"),
                "tx_frames": self.tx.counter("frames"), "tx_stalls": self.tx.counter("stall_cycles"),
                "host_frames": self.host.counter("frames"),
                "host_stalls": self.host.counter("stall_cycles"),
                "framing_errors": self.tx.counter("sop_errors") + self.host.counter("sop_errors")}

    def _diagnosis(self) -> str:
        rings = {name: (int(getattr(self.dut, name).wr_ptr.value), int(getattr(self.dut, name).rd_ptr.value))
                 for name in ("u_rx", "u_host_tx", "u_tx", "u_host")}
        head = self.expected_host[0] if self.expected_host else None
        return (f"; shells {self.stream_counters()}, rings (wr, rd) {rings}, rx pending chunks "
                f"{len(self.rx._pending)}, received tx {len(self.tx.frames)} host "
                f"{len(self.host.frames)}, next host {head and (head['channel'], len(head['data']))}")

    def check(self) -> None:
        super().check()
        c = self.stream_counters()
        assert c["rx_not_ready_beats"] == 0, "rx_ready fell while a beat was offered"
        assert c["framing_errors"] == 0, f"{c['framing_errors']} beats broke framing on tx/host"
        assert c["tx_frames"] == len(self.tx.frames) and c["host_frames"] == len(self.host.frames)
