"""The end-to-end loop on the RTL: frames into `rx`, misses handled by the Python host (`jit/host/miss_handler.py`)
which installs over AXI4-Lite, every output checked by the scoreboard against the bit-exact model
(`jit/nic/model.py`), the model's every final result checked against the reference interpreter, and the
NIC's counters checked against the model's at the end.

Install timing follows the host's latency semantics exactly (docs/abi.md, jit/host/miss_handler.py): an install
due before frame k is committed after every earlier frame has been decided and before frame k is
sent. Between installs frames stream back to back (rx is not gated per frame).

Programs with maps (`runtime`): the NIC's maps are installed and loaded over the bus before
traffic, kept in step with the host's at every missed frame and read back at the end
(tb/common/e2e_maps.py); the final maps must agree three ways: the NIC's, the host's view (the
model twin's) and the shadow interpreter run's.

Used by `tb/e2e/test_e2e.py` (every program x policy), `tb/e2e/test_e2e_maps.py` (the map
programs) and by `jitnic run --engine rtl` (`tb/e2e/rtl_run.py`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from cocotb.utils import get_sim_time

from jit.nic import encoding as enc
from jit.nic.encoding import Counter
from jit.nic.model import NicModel
from jit.host.runner import RunLoop, RunReport
from tb.common.e2e_maps import NicMapSync


@dataclass
class E2eResult:
    report: RunReport
    counters_rtl: dict = field(default_factory=dict)
    counters_model: dict = field(default_factory=dict)
    entry_hits_rtl: list = field(default_factory=list)
    entry_hits_model: list = field(default_factory=list)
    cycles: int = 0
    reference_mismatches: list = field(default_factory=list)
    commit_mismatches: list = field(default_factory=list)
    rx_drops_seen: int = 0          # frames the rx source started while rx_pause was high
    maps: object = None             # NicMapSync of a program with maps (its stats), else None
    final_maps: dict | None = None  # every map's final contents, NIC-resident ones as read back

    def summary(self, name: str) -> dict:
        rep = self.report
        hits = self.counters_rtl.get(Counter.HITS, 0)
        return {"name": name, "packets": rep.packets, "hits": rep.hits, "misses": rep.misses,
                "installs": rep.installs, "evictions": rep.evictions,
                "mismatches": rep.mismatches, "cycles": self.cycles,
                "cycles_per_frame": self.cycles / max(rep.packets, 1),
                "hit_cycles": self.counters_rtl.get(Counter.EXEC_CYCLES, 0) / max(hits, 1)}


async def _decided(tb, sent: int, limit_cycles: int = 200_000) -> None:
    """Wait until the NIC has decided every frame sent so far (hits + misses + oversize + frames
    dropped at rx)."""
    for _ in range(limit_cycles // 32):
        c = await tb.nic.read_counters((Counter.HITS, Counter.MISSES, Counter.OVERSIZE,
                                        Counter.RX_DROPS, Counter.RX_ERRORS))
        if sum(c.values()) >= sent:
            return
        await tb.cycles(16)
    raise AssertionError(f"NIC decided fewer than {sent} frames within {limit_cycles} cycles")


class _NicSide:
    """What RunLoop sees as the NIC: the model's counters, and a host_tx that also drives the
    RTL's host_tx stream and expects the frame on tx."""

    def __init__(self, tb, model: NicModel):
        self.tb, self.model = tb, model

    @property
    def counters(self):
        return self.model.counters

    def install(self, atoms, code):
        raise AssertionError("installs on the RTL are asynchronous: run_e2e commits them")

    def attach_state(self, state) -> None:
        self.model.attach_state(state)      # the model twin runs traces on the host's maps

    def host_tx(self, packet: bytes) -> None:
        self.model.host_tx(packet)
        self.tb.expect_host_tx(packet)
        self.tb.send_host_tx(packet)


async def _check_config(tb, cfg) -> None:
    """The NIC's CFG registers describe the configuration the model is built from (a bench top that
    did not pass a parameter through to jitnic_top fails here, not as a stray mismatch later)."""
    regs = await tb.nic.config()
    want = {"n_entries": cfg.n_entries, "max_atoms": cfg.max_atoms,
            "max_trace_len": cfg.max_trace_len, "hdr_bytes": cfg.hdr_bytes,
            "pkt_bytes": cfg.pkt_bytes, "n_slots": cfg.n_slots, "n_len_atoms": cfg.n_len_atoms,
            "n_gen_atoms": cfg.n_gen_atoms}
    differ = {k: (regs[k], v) for k, v in want.items() if regs[k] != v}
    assert not differ, f"NIC configuration registers (got, model) differ: {differ}"


async def run_e2e(tb, insns, frames, cfg, *, latency: int = 0, check_reference: bool = True,
                  on_frame=None, runtime=None, shadow=None, prandom_seed: int = 0) -> E2eResult:
    """Drive `frames` through the RTL behind `tb` (a reset tb.common.nic.NicTb). `runtime`: a
    program with maps (jit.ebpf.runtime.XdpRuntime), `shadow` its twin in the same initial state
    for the check; `prandom_seed`: REG_PRANDOM_SEED (a v2 NIC)."""
    await _check_config(tb, cfg)
    model = NicModel(cfg)
    loop = RunLoop(insns, _NicSide(tb, model), cfg, latency=latency, check=check_reference,
                   on_frame=on_frame, runtime=runtime, shadow=shadow, prandom_seed=prandom_seed)
    host = loop.host
    res = E2eResult(loop.rep)
    if cfg.v2:
        await tb.axil.write(enc.REG_PRANDOM_SEED, prandom_seed)
    if cfg.seed or cfg.v2:
        await tb.nic.reseed(cfg.seed)
    sync = NicMapSync(tb, runtime, model) if loop.stateful else None
    if sync is not None:
        res.maps = sync
        await sync.start()
    start = get_sim_time("ns")
    sent = 0

    async def quiesce() -> None:           # every frame sent so far decided and delivered
        await tb.wait_outputs()
        await _decided(tb, sent)

    for index, frame in loop.numbered(frames):
        due = host.due_installs(index)
        if due:
            await tb.wait_outputs()
            await _decided(tb, sent)
            for compiled in due:
                got = await tb.install(list(compiled.atoms), compiled.code)
                want = model.install(list(compiled.atoms), compiled.code)
                if (got.entry, got.evicted, got.error) != want:
                    res.commit_mismatches.append((index, (got.entry, got.evicted, got.error), want))
                host.committed(compiled, got.entry if got.ok else None, got.error)
        out = model.process(frame)
        tb.expect_outcome(out, model.state)
        # rx_timestamp: the clock the model's traces read for this frame (bpf_ktime_get_ns; the
        # capture time with a runtime, NicState.for_runtime)
        tb.send(frame, ts_ns=model.state.clock())
        sent += 1
        if sync is not None and out.where == "host":
            before = await sync.before_host(index, quiesce)
            loop.after_nic(index, frame, out)
            await sync.after_host(before, quiesce)
        else:
            loop.after_nic(index, frame, out)
    await quiesce()
    res.cycles = int((get_sim_time("ns") - start) // tb.period_ns)
    # frames lost to a full NIC depend on RTL timing, not on the program: the source honours
    # rx_pause, so there must be none (the model was told none), and RX_DROPS must say so
    res.rx_drops_seen = await tb.paused_starts()
    res.counters_rtl = {c: v for c, v in (await tb.counters()).items()}
    res.counters_model = {c: model.counters[c] for c in Counter}
    res.entry_hits_rtl = await tb.nic.entry_hits(cfg.n_entries)
    res.entry_hits_model = list(model.entry_hits)
    loop.finish()
    if sync is not None:
        res.final_maps = await sync.finish()
    res.reference_mismatches = loop.mismatch_indexes
    c, rep = res.counters_rtl, res.report      # report the RTL's own counters
    rep.hits, rep.misses = c[Counter.HITS], c[Counter.MISSES]
    rep.installs, rep.evictions = c[Counter.INSTALLS], c[Counter.EVICTIONS]
    return res


def assert_agreement(res: E2eResult) -> None:
    """RTL and model agree on every counter the model keeps, per entry, and on every commit."""
    assert not res.commit_mismatches, f"commits differ (index, rtl, model): {res.commit_mismatches[:5]}"
    assert res.rx_drops_seen == 0 == res.counters_rtl[Counter.RX_DROPS], \
        f"frames lost to a full NIC: {res.counters_rtl[Counter.RX_DROPS]} counted, {res.rx_drops_seen} seen"
    differ = {c.name: (res.counters_rtl[c], res.counters_model[c]) for c in Counter
              if c != Counter.EXEC_CYCLES and res.counters_rtl[c] != res.counters_model[c]}
    assert not differ, f"counters differ (rtl, model): {differ}"
    assert res.entry_hits_rtl == res.entry_hits_model, \
        f"per-entry hits differ: rtl {res.entry_hits_rtl} model {res.entry_hits_model}"
    assert not res.reference_mismatches, \
        f"final results differ from the reference interpreter at frames {res.reference_mismatches[:10]}"
    assert not res.report.mismatched_maps, \
        f"final maps differ from the reference interpreter's: {res.report.mismatched_maps}"
    if res.maps is not None:
        st = res.maps.stats
        assert not st.sync_mismatches, \
            f"NIC maps differ from the host's view before host runs (frame, map): {st.sync_mismatches[:5]}"
        assert not st.nic_map_mismatches, \
            f"the NIC's final maps (read back over the bus) differ from the host's: {st.nic_map_mismatches}"
