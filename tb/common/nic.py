"""`NicTb`: the NIC top (`jitnic_top`) in a cocotb bench, ready for block and end-to-end tests.

    tb = NicTb(dut, idle=0.2, backpressure=0.3)      # knobs for every stream, changeable later
    await tb.reset()
    result = await tb.install(atoms, code)            # CommitResult (tb.common.axil)
    tb.send(frame); tb.expect_host(Channel.MISS, frame)
    tb.expect_outcome(model.process(frame))           # or from jit.nic.model.NicModel
    await tb.wait_outputs()                           # every expected frame arrived
    tb.check()                                        # scoreboard clean, nothing left over
    counters = await tb.counters()

Frames received on each output stream are also kept, in order, as (channel, bytes) in
`tb.tx.frames` (channel None) and `tb.host.frames`. rx is driven like a wire (`tb.common.wire`):
never waiting for ready; by default the source honours `rx_pause` so no frame is lost to a full
NIC (`honor_pause=False` for benches that provoke drops).
"""
from __future__ import annotations

from dataclasses import dataclass

from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, Event, RisingEdge, SimTimeoutError, Timer, with_timeout
from cocotb_bus.scoreboard import Scoreboard

from jit.nic import encoding as enc
from jit.nic.encoding import Channel, Counter
from jit.nic.model import NicConfig
from tb.common.avalon import StreamSink, StreamSource
from tb.common.axil import AxilMaster, CommitResult, NicDriver
from tb.common.runner import param
from tb.common.wire import WireSource


@dataclass(frozen=True)
class NicParams:
    """The top's parameters as the bench sees them (PARAM_* from tb.common.runner)."""
    n_entries: int
    max_atoms: int
    max_trace_len: int
    hdr_bytes: int
    data_width: int
    pkt_bytes: int
    policy: str
    n_bufs: int
    n_lanes: int
    n_slots: int
    n_len_atoms: int
    n_gen_atoms: int

    @classmethod
    def from_env(cls) -> "NicParams":
        from jit.nic import encoding as enc
        return cls(param("N_ENTRIES", enc.N_ENTRIES), param("MAX_ATOMS", enc.MAX_ATOMS),
                   param("MAX_TRACE_LEN", enc.MAX_TRACE_LEN), param("HDR_BYTES", enc.HDR_BYTES),
                   param("DATA_WIDTH", enc.DATA_WIDTH), param("PKT_BYTES", enc.PKT_BYTES),
                   param("POLICY", "lru", cast=str), param("N_BUFS", enc.N_BUFS),
                   param("N_LANES", enc.N_LANES),
                   param("N_SLOTS", enc.N_SLOTS), param("N_LEN_ATOMS", enc.N_LEN_ATOMS),
                   param("N_GEN_ATOMS", enc.N_GEN_ATOMS))

    def model_config(self, seed: int = 0) -> NicConfig:
        return NicConfig(n_entries=self.n_entries, max_atoms=self.max_atoms,
                         max_trace_len=self.max_trace_len, hdr_bytes=self.hdr_bytes,
                         pkt_bytes=self.pkt_bytes, policy=self.policy, seed=seed,
                         n_slots=self.n_slots, n_len_atoms=self.n_len_atoms,
                         n_gen_atoms=self.n_gen_atoms)


def host_meta(outcome, state=None) -> int:
    """The host_meta word the RTL sends with a frame: encoding.redirect_meta of a v2 REDIRECT hit's
    target (jit/nic/nic_state.py redirect_word), 0 for every other frame."""
    if outcome.redirect is None:
        return 0
    if state is not None:
        return state.redirect_word(outcome.redirect)
    if "map" in outcome.redirect:
        raise AssertionError("a redirect_map outcome needs the model's state for its metadata word")
    return enc.redirect_meta(enc.RedirectKind.IFINDEX, outcome.redirect["ifindex"])


class NicTb:
    def __init__(self, dut, *, idle: float = 0.0, backpressure: float = 0.0, seed: int = 0,
                 period_ns: int = 10, tx_reorder_depth: int = 0, honor_pause: bool = True,
                 on_rx_start=None):
        """tx carries two ordered sequences whose interleaving is the arbiter's choice: frames the
        NIC transmitted (`expect_tx`, in order) and frames the host sent through host_tx
        (`expect_host_tx`, in order). A tx frame must be the head of one of them.
        `tx_reorder_depth` > 0 additionally lets a frame match any of the first N `expect_tx`
        frames (for benches that cannot tell the two sources apart)."""
        self.dut = dut
        self.params = NicParams.from_env()
        self.period_ns = period_ns
        Clock(dut.clk, period_ns, unit="ns", impl="gpi").start(start_high=False)
        dut.rst.value = 1
        self._connect(idle=idle, backpressure=backpressure, seed=seed, honor_pause=honor_pause,
                      on_rx_start=on_rx_start)
        self.scoreboard = Scoreboard(dut, fail_immediately=False)
        self.expected_tx: list[bytes] = []
        self.expected_host_tx: list[bytes] = []
        self.expected_host: list[dict] = []
        self.tx_reorder_depth = tx_reorder_depth
        self.scoreboard.add_interface(self.tx.monitor, self._check_tx)
        self.scoreboard.add_interface(self.host.monitor, self.expected_host)
        # after the scoreboard's own callbacks: wait_outputs sleeps until the last expected frame
        self._outputs_event = Event()
        self.tx.monitor.add_callback(self._after_output)
        self.host.monitor.add_callback(self._after_output)

    def _connect(self, *, idle, backpressure, seed, honor_pause, on_rx_start) -> None:
        """The stream drivers and the control bus: per-beat Python drivers on jitnic_top's ports
        (tb.common.fast.FastNicTb: whole-frame transfers through the bench top's shells)."""
        dut = self.dut
        self.rx = WireSource(dut, "rx", dut.clk, idle=idle, seed=seed, honor_pause=honor_pause,
                             on_start=on_rx_start)
        self.host_tx = StreamSource(dut, "host_tx", dut.clk, idle=idle, seed=seed + 1)
        self.tx = StreamSink(dut, "tx", dut.clk, backpressure=backpressure, seed=seed)
        self.host = StreamSink(dut, "host", dut.clk, backpressure=backpressure, channel=True,
                               seed=seed + 1)
        self.axil = AxilMaster(dut, dut.clk)
        self.nic = NicDriver(self.axil)

    def _after_output(self, _transaction) -> None:
        if self.scoreboard.errors or not (self.expected_tx or self.expected_host
                                          or self.expected_host_tx):
            self._outputs_event.set()

    async def paused_starts(self) -> int:
        """Frames the rx source started while rx_pause was high."""
        return sum(self.rx.starts)

    async def reset(self) -> None:
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 4)
        self.dut.rst.value = 0
        await RisingEdge(self.dut.clk)

    async def cycles(self, n: int) -> None:
        """Let n clock periods pass with one wake-up (ClockCycles wakes Python on every edge)."""
        await Timer(n * self.period_ns, "ns")

    # -- knobs -------------------------------------------------------------------------------------
    def set_idle(self, p: float) -> None:
        """Probability of idle gaps on the rx and host_tx sources."""
        self.rx.set_idle(p)
        self.host_tx.set_idle(p)

    def set_backpressure(self, p: float) -> None:
        """Probability of ready-low stretches on the tx and host sinks."""
        self.tx.set_backpressure(p)
        self.host.set_backpressure(p)

    # -- traffic and expectations ---------------------------------------------------------------
    def send(self, frame: bytes, bad: bool = False, tag: object = None, ts_ns: int = 0) -> None:
        """Queue a frame on rx; `ts_ns`: its rx_timestamp (bpf_ktime_get_ns on the NIC)."""
        self.rx.send(frame, bad=bad, tag=tag, ts_ns=ts_ns)

    def send_host_tx(self, frame: bytes) -> None:
        self.host_tx.send(frame)

    def expect_tx(self, frame: bytes) -> None:
        self.expected_tx.append(bytes(frame))

    def expect_host_tx(self, frame: bytes) -> None:
        """A frame the host sends through host_tx, expected on tx in host_tx order."""
        self.expected_host_tx.append(bytes(frame))

    def _check_tx(self, transaction) -> bytes | None:
        """Scoreboard hook: returns the expected frame the scoreboard compares the received one
        with (the received frame itself when it is the head of either ordered sequence)."""
        frame = bytes(transaction)
        if self.expected_host_tx and self.expected_host_tx[0] == frame:
            return self.expected_host_tx.pop(0)
        window = self.expected_tx[:self.tx_reorder_depth + 1]
        if frame in window:
            return self.expected_tx.pop(window.index(frame))
        self.dut._log.error("tx frame is neither the next NIC TX frame nor the next host_tx frame")
        if self.expected_tx:
            return self.expected_tx.pop(0)
        return self.expected_host_tx.pop(0) if self.expected_host_tx else b""

    def expect_host(self, channel: Channel, frame: bytes, meta: int = 0) -> None:
        """A host frame with its channel and host_meta word (0 but for a v2 REDIRECT)."""
        self.expected_host.append({"data": bytes(frame), "channel": int(channel), "meta": meta})

    def expect_outcome(self, outcome, state=None) -> None:
        """Expect what a jit.nic.model Outcome says leaves the NIC (nothing for drops). `state`:
        the model's NicState, which names a redirect_map's map for the REDIRECT metadata word."""
        if outcome.stream == "tx":
            self.expect_tx(outcome.packet)
        elif outcome.stream == "host":
            self.expect_host(outcome.channel, outcome.packet, host_meta(outcome, state))

    async def wait_outputs(self, timeout_cycles: int = 200_000, settle_cycles: int = 50) -> None:
        """Wait until every expected frame has arrived, then a little longer (extra frames would
        show up as scoreboard errors). Fails at the first scoreboard error."""
        async def until():
            while self.expected_tx or self.expected_host or self.expected_host_tx:
                self._assert_no_errors()
                self._outputs_event.clear()
                await self._outputs_event.wait()        # set by the last expected frame or an error
            self._assert_no_errors()
        try:
            await with_timeout(until(), timeout_cycles * self.period_ns, "ns")
        except SimTimeoutError as exc:
            raise AssertionError(f"still expecting {len(self.expected_tx)} tx, "
                                 f"{len(self.expected_host_tx)} host_tx and "
                                 f"{len(self.expected_host)} host frames{self._diagnosis()}") from exc
        await self.cycles(settle_cycles)

    def _diagnosis(self) -> str:
        """What a timeout message adds about the bench's own state."""
        return ""

    def _assert_no_errors(self) -> None:
        assert self.scoreboard.errors == 0, f"{self.scoreboard.errors} scoreboard errors (log above)"

    def check(self) -> None:
        self._assert_no_errors()
        assert not self.expected_tx and not self.expected_host and not self.expected_host_tx, \
            "expected frames never arrived"

    # -- control bus ----------------------------------------------------------------------------------
    async def install(self, atoms, trace) -> CommitResult:
        return await self.nic.install(atoms, trace)

    async def counters(self) -> dict[Counter, int]:
        return await self.nic.read_counters()
