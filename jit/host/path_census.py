"""Every distinct path a capture takes through a program, with how many frames take it.

A path is what the host would compile on a miss: for a cacheable path, its installed condition and
NIC trace (after optimization; one row per distinct entry the host would install); for a path the
NIC cannot take, its reason and exact condition. Each frame is counted on exactly one row, so the
counts sum to the number of capture records (empty records and frames the program faults on
included, as rows of their own).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable

from jit import JitnicError
from jit.ebpf import isa
from jit.ebpf.memmap import action_name
from jit.host.miss_handler import CompiledTrace, TraceLibrary, compile_path
from jit.nic.model import NicConfig


@dataclass
class PathRow:
    """One path. `atoms`/`nic_trace` are what the NIC would hold (empty when not cacheable)."""
    frames: int
    first_index: int
    actions: Counter = field(default_factory=Counter)    # action name -> frames (a trace's r0 may vary)
    reason: str | None = None                            # None: cacheable
    exact: tuple[str, ...] = ()                          # exact weakest precondition, as text
    atoms: tuple[str, ...] = ()                          # installed atoms (after optimization)
    notes: tuple[str, ...] = ()                          # strengthening notes
    guards: tuple[str, ...] = ()                         # conditions checked inside the trace (why)
    insns_before: int | None = None                      # trace instructions before optimization
    insns_after: int | None = None
    nic_trace: tuple[str, ...] = ()                      # the optimized trace, disassembled

    @property
    def cacheable(self) -> bool:
        return self.reason is None

    def as_dict(self) -> dict:
        return {"frames": self.frames, "first_index": self.first_index,
                "actions": dict(sorted(self.actions.items())), "cacheable": self.cacheable,
                "reason": self.reason, "exact": list(self.exact), "atoms": list(self.atoms),
                "notes": list(self.notes), "guards": list(self.guards), "insns_before": self.insns_before,
                "insns_after": self.insns_after, "nic_trace": list(self.nic_trace)}


def census(insns: list[isa.Insn], frames: Iterable[bytes], cfg: NicConfig,
           do_optimize: bool = True, runtime=None) -> list[PathRow]:
    """Rows sorted by frame count (most first), ties by first frame index. A program with maps
    needs its `runtime` (jit.ebpf.runtime.XdpRuntime): frames run through it in order, so each
    frame's path is the one it takes with the maps as the earlier frames left them."""
    library = TraceLibrary()     # known cacheable paths: a frame satisfying one is not traced again
    rows: dict[tuple, PathRow] = {}
    for index, frame in enumerate(frames):
        key, action, make = _classify(insns, frame, cfg, library, do_optimize, runtime)
        row = rows.get(key)
        if row is None:
            row = rows[key] = make(index)
        row.frames += 1
        row.actions[action] += 1
    return sorted(rows.values(), key=lambda r: (-r.frames, r.first_index))


def _classify(insns, frame: bytes, cfg: NicConfig, library: TraceLibrary, do_optimize: bool,
              runtime):
    """(row key, action name of this frame, row factory)."""
    if not frame:                   # never reaches the NIC, nor the program (as in `jitnic run`)
        return ("empty",), "none", lambda i: PathRow(0, i, reason="empty capture record (0 bytes)")
    stateful = runtime is not None and runtime.stateful   # its frames must run through the runtime
    known = None if stateful else library.lookup(frame, cfg.hdr_bytes)
    if known is not None:
        compiled, result = known
        return compiled.key, action_name(result.action), None
    try:
        tr, compiled, reason = compile_path(insns, frame, max_atoms=cfg.max_atoms,
                                            max_trace_len=cfg.max_trace_len,
                                            hdr_bytes=cfg.hdr_bytes, do_optimize=do_optimize,
                                            exec_budget=cfg.exec_budget, n_slots=cfg.n_slots,
                                            runtime=runtime, guards=getattr(cfg, "v2", True),
                                            helper_set=getattr(cfg, "helper_set", "full"))
    except JitnicError as exc:                      # the program faults on this frame
        why = f"program error: {' '.join(str(exc).split())}"
        return ("error", why), "none", lambda i: PathRow(0, i, reason=why)
    exact = tuple(str(p) for p in tr.exact)
    if compiled is None:
        return (("uncacheable", reason, exact), action_name(tr.action),
                lambda i: PathRow(0, i, reason=reason, exact=exact, notes=tuple(tr.notes),
                                  insns_before=len(tr.trace)))
    if not stateful:
        library.add(compiled, cfg.hdr_bytes)
    guards = tuple(f"{g.text} ({g.why})" for g in tr.guards)
    return compiled.key, action_name(tr.action), \
        lambda i: _cacheable_row(i, compiled, exact, tr.notes, guards)


def _cacheable_row(index: int, compiled: CompiledTrace, exact, notes, guards) -> PathRow:
    return PathRow(0, index, exact=exact, atoms=tuple(str(a) for a in compiled.atoms),
                   notes=tuple(notes), guards=guards, insns_before=compiled.insns_before,
                   insns_after=compiled.insns_after,
                   nic_trace=tuple(isa.disasm(isa.decode(compiled.code)).splitlines()))
