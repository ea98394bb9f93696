"""The run loop shared by `jitnic run` and `jitnic sweep`: frames through a NIC (the model, or the
RTL through the same interface), misses through the host, every final result optionally checked
against an independent run of the reference interpreter.

A frame's final result is what leaves the system: on a NIC hit the trace's action and bytes, on a
miss (or executor fault) the full program's action and bytes as the host computed them.

Stateful programs (maps, helpers): one memory. The model NIC runs its traces on the host runtime's
own maps (`NicState.for_runtime`), as the NIC and the host share map memory over the bus. The check
is a shadow: a second runtime with its own copy of the initial maps runs every frame at that frame's
turn, as CPU 1 with the NIC's random stream when the NIC handled it and as CPU 0 with the host's
otherwise; each frame's action and bytes (and a NIC redirect's target) must agree, and at the end
every map's contents, per-CPU slot by slot (docs/memory_model.md: the result of a run equals the
two-CPU interleaving the frames took).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Callable, Iterable

from jit.ebpf import interp, isa
from jit.nic.encoding import Channel, Counter
from jit import JitnicError
from jit.host.miss_handler import Host
from jit.ebpf.memmap import XDP_PASS, XDP_REDIRECT, XDP_TX, action_name
from jit.nic.model import NicConfig, NicModel, Outcome
from jit.nic import map_sync
from jit.nic.nic_helpers import NicPrandom
from jit.nic.nic_state import NicState


@dataclass
class RunReport:
    packets: int = 0
    hits: int = 0
    misses: int = 0
    installs: int = 0
    evictions: int = 0
    uncacheable: int = 0
    distinct_traces: int = 0
    mismatches: int = 0
    oversize: int = 0
    exec_errors: int = 0
    host_errors: int = 0        # frames the host could not run (program fault): not mismatches
    empty_records: int = 0      # capture records with no bytes: cannot cross the link, not sent
    nic_insns: int = 0
    full_insns: int = 0
    guard_misses: int = 0       # frames whose matching entries all failed a guard (in misses)
    map_ops: int = 0            # NIC map operations of committed traces (counter MAP_OPS)
    map_mismatches: int = 0     # maps whose final contents differ from the shadow run's
    reasons: dict = field(default_factory=dict)
    host_error_reasons: dict = field(default_factory=dict)    # fault kind -> frames
    install_errors: dict = field(default_factory=dict)        # commit error name -> rejected installs
    mismatched_maps: list = field(default_factory=list)

    @property
    def hit_rate(self) -> float:
        return self.hits / self.packets if self.packets else 0.0

    def as_dict(self) -> dict:
        return {"packets": self.packets, "hits": self.hits, "misses": self.misses,
                "installs": self.installs, "evictions": self.evictions,
                "uncacheable": self.uncacheable, "distinct_traces": self.distinct_traces,
                "mismatches": self.mismatches, "hit_rate": round(self.hit_rate, 6),
                "nic_insns": self.nic_insns, "full_insns": self.full_insns,
                "oversize": self.oversize, "exec_errors": self.exec_errors,
                "host_errors": self.host_errors, "empty_records": self.empty_records,
                "guard_misses": self.guard_misses, "map_ops": self.map_ops,
                "map_mismatches": self.map_mismatches, "mismatched_maps": list(self.mismatched_maps),
                "uncacheable_reasons": dict(self.reasons),
                "host_error_reasons": dict(self.host_error_reasons),
                "install_errors": dict(self.install_errors)}


# Where a frame leaves the system, by its final action (None: it does not leave).
OUTPUT_OF_ACTION = {XDP_TX: "tx", XDP_PASS: "pass", XDP_REDIRECT: "redirect"}


@dataclass(frozen=True)
class FrameRecord:
    index: int            # record position in the capture, from 0 (empty records included)
    action: int | None    # None: no action (host error, empty record, oversize drop)
    packet: bytes
    where: str            # "nic", "host", "dropped" (oversize) or "empty" (0-byte record)
    entry: int | None
    error: str | None = None     # why the host could not run the program on this frame

    @property
    def output(self) -> str | None:
        """"tx" (back to the wire), "pass" (to the host stack), "redirect", or None (dropped,
        aborted, or a frame the host could not run)."""
        return OUTPUT_OF_ACTION.get(self.action)

    def as_dict(self) -> dict:
        """The per-frame JSON row of `jitnic run --jsonl` (both engines)."""
        d = {"index": self.index, "action": self.action,
             "action_name": None if self.action is None else action_name(self.action),
             "output": self.output, "out_hex": self.packet.hex(), "where": self.where,
             "entry": self.entry}
        if self.error is not None:
            d["error"] = self.error
        return d


class RunLoop:
    """Per-frame bookkeeping shared by the synchronous model loop (`run_frames`) and the RTL
    engine's asynchronous loop: host handling of misses, the reference check, the report."""

    def __init__(self, insns: list[isa.Insn], nic, cfg: NicConfig, *, latency: int = 0,
                 check: bool = True, do_optimize: bool = True, library=None,
                 on_frame: Callable[[FrameRecord], None] | None = None, runtime=None,
                 shadow=None, prandom_seed: int = 0):
        """`runtime`: a stateful program's maps (jit.ebpf.runtime.XdpRuntime), shared by the host
        and (if `nic` takes `attach_state`) the NIC. `shadow`: a runtime in the same initial state
        for the check (default: a copy of `runtime` made now); `prandom_seed`: the NIC's
        generator seed (REG_PRANDOM_SEED)."""
        self.insns = insns
        # A stateful program (maps, helpers) runs on the host through its runtime, once per frame:
        # that run is the reference for host-handled frames (a second run would update maps twice).
        self.stateful = runtime is not None and runtime.stateful
        self.runtime = runtime
        self.nic = nic
        self.check = check
        self.on_frame = on_frame
        self.shadow = None
        if self.stateful:
            if hasattr(nic, "attach_state"):
                nic.attach_state(NicState.for_runtime(runtime, prandom_seed))
            if check:
                self.shadow = shadow if shadow is not None else _fresh_copy(runtime)
                self.shadow_rngs = {"host": self.shadow.rng, "nic": NicPrandom(prandom_seed)}
        # the RTL's map memory holds fds below MAP_MAX_MAPS that fit (jit/nic/map_sync.plan)
        host_maps = (map_sync.plan(runtime.maps).host
                     if self.stateful and cfg.helper_set == "rtl" else None)
        self.host = Host(insns, nic, latency=latency, max_atoms=cfg.max_atoms,
                         max_trace_len=cfg.max_trace_len, hdr_bytes=cfg.hdr_bytes,
                         do_optimize=do_optimize, library=library, exec_budget=cfg.exec_budget,
                         n_slots=cfg.n_slots, runtime=runtime, guards=cfg.v2,
                         helper_set=cfg.helper_set, host_maps=host_maps)
        self.rep = RunReport()
        self.mismatch_indexes: list[int] = []   # the first few frames that disagreed

    def numbered(self, frames: Iterable[bytes]):
        """(index, frame) for every non-empty frame, `index` being its record position in the
        capture (as `interp` and `trace --index` number them). A 0-byte record cannot cross an
        Avalon-ST link: it is not sent, it is counted in `empty_records` and reported to
        `on_frame` with where "empty"."""
        for index, frame in enumerate(frames):
            if not frame:
                self.rep.empty_records += 1
                if self.on_frame is not None:
                    self.on_frame(FrameRecord(index, None, b"", "empty", None))
                continue
            yield index, frame

    def after_nic(self, index: int, frame: bytes, out: Outcome) -> FrameRecord:
        """Account for frame `index` once the NIC has decided; returns its final result. A host
        TX decision is handed to `nic.host_tx` (the host transmits through the NIC)."""
        rep = self.rep
        rep.packets += 1
        action, packet, error = out.action, out.packet, None
        if out.where == "dropped":
            rep.oversize += 1
        elif out.where == "host":
            if out.channel == Channel.EXEC_ERROR:
                rep.exec_errors += 1
            decision = self.host.handle_miss(index, frame)
            action, packet, error = decision.action, decision.packet, decision.error
            rep.full_insns += decision.full_insns
            if error is not None:
                # The host cannot run the program on this frame (fault, unsupported instruction
                # or helper, budget): a host error with its reason, not a NIC/reference mismatch.
                rep.host_errors += 1
                kind = error.split(":")[0]
                rep.host_error_reasons[kind] = rep.host_error_reasons.get(kind, 0) + 1
            elif action == XDP_TX:
                self.nic.host_tx(packet)
        else:
            rep.nic_insns += out.insns
        if self.shadow is not None and out.where != "dropped" and error is None:
            self.check_shadow(index, frame, out, action, packet)
        elif self.check and out.where != "dropped" and error is None \
                and not (self.stateful and out.where == "host"):
            try:
                ref = interp.run_xdp(self.insns, frame)
                ref_action, ref_packet = ref.action, ref.packet
                if out.where == "nic":
                    rep.full_insns += ref.insns
            except JitnicError:
                ref_action, ref_packet = None, frame    # the NIC ran a frame the program faults on
            if action != ref_action or (packet != ref_packet and ref_action not in (0, 1)):
                rep.mismatches += 1
                if len(self.mismatch_indexes) < 10:
                    self.mismatch_indexes.append(index)
        record = FrameRecord(index, action, packet, out.where, out.entry, error)
        if self.on_frame is not None:
            self.on_frame(record)
        return record

    def check_shadow(self, index: int, frame: bytes, out: Outcome, action, packet) -> None:
        """Run frame `index` on the shadow as the CPU that handled it; count a mismatch."""
        sh, nic = self.shadow, out.where == "nic"
        sh.cpu = 1 if nic else 0
        sh.rng = self.shadow_rngs["nic" if nic else "host"]
        sh.now_ns = self.runtime.now_ns
        try:
            ref = sh.run(frame)
            ref_action, ref_packet, ref_redirect = ref.action, ref.packet, ref.redirect
            if nic:
                self.rep.full_insns += ref.insns
        except JitnicError:
            ref_action, ref_packet, ref_redirect = None, frame, None
        if (action != ref_action or (packet != ref_packet and ref_action not in (0, 1))
                or (nic and action == XDP_REDIRECT and out.redirect != ref_redirect)):
            self.mismatch(index)

    def mismatch(self, index: int) -> None:
        self.rep.mismatches += 1
        if len(self.mismatch_indexes) < 10:
            self.mismatch_indexes.append(index)

    def finish(self) -> RunReport:
        rep, c = self.rep, self.nic.counters
        rep.hits, rep.misses = c[Counter.HITS], c[Counter.MISSES]
        if len(c) > Counter.MAP_OPS:          # an RTL engine of format v1 has fewer counters
            rep.guard_misses, rep.map_ops = c[Counter.GUARD_MISSES], c[Counter.MAP_OPS]
        if self.shadow is not None:
            ours, ref = self.runtime.contents(), self.shadow.contents()
            rep.mismatched_maps = sorted(n for n in ref if ours.get(n) != ref[n])
            rep.map_mismatches = len(rep.mismatched_maps)
        rep.installs, rep.evictions = c[Counter.INSTALLS], c[Counter.EVICTIONS]
        rep.uncacheable = self.host.stats.uncacheable
        rep.distinct_traces = len(self.host.stats.distinct_keys)
        rep.reasons.update(self.host.stats.reasons)
        rep.install_errors.update(self.host.stats.install_error_codes)
        self.host.flush()
        return rep


def _fresh_copy(runtime):
    """A runtime with its own copy of `runtime`'s maps (and random state), sharing the program."""
    memo = {id(x): x for x in (runtime.linked, runtime._compiled, runtime.fib, runtime.insns)}
    return copy.deepcopy(runtime, memo)


def run_frames(insns: list[isa.Insn], frames: Iterable[bytes], nic, cfg: NicConfig,
               **kw) -> RunReport:
    """Stream `frames` through `nic` (`process(frame) -> Outcome`, `install(...)`, `host_tx`,
    `counters`) with a `Host` handling misses. Constant memory in the number of frames."""
    loop = RunLoop(insns, nic, cfg, **kw)
    for index, frame in loop.numbered(frames):
        loop.host.apply_due(index)
        loop.after_nic(index, frame, nic.process(frame))
    return loop.finish()


def run_model(insns, frames, cfg: NicConfig, **kw) -> RunReport:
    return run_frames(insns, frames, NicModel(cfg), cfg, **kw)
