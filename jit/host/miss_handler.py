"""The host's miss handler: run the full program on a frame the NIC gave back (the host carries out
that action itself), and if the path is cacheable, compile it and install it into the NIC.

Install timing is a parameter: an install requested while handling frame i takes effect before frame
`i + 1 + latency` (latency 0: before the next frame). Frames in between that take the same path miss
too and are not installed twice: the host dedupes against what is installed (its mirror of the
cache, updated from each commit's reported entry) and what is pending.
"""
from __future__ import annotations

import functools
import logging
from collections import deque
from dataclasses import dataclass, field

from jit.ebpf import isa
from jit.nic import encoding as enc
from jit.nic.encoding import EXEC_BUDGET, Atom, AtomKind, AtomOp, ErrorCode
from jit.nic.nic_helpers import rtl_map_write_reason, set_reason
from jit.nic.validate import distinct_fields, validate_words
from jit import JitnicError
from jit.compiler.guards import is_guard_trace
from jit.compiler.opt import optimize
from jit.compiler.trace_run import run_trace
from jit.compiler.tracer import trace_packet

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CompiledTrace:
    """What the host installs: the installed atoms and the encoded trace."""
    atoms: tuple[Atom, ...]
    code: bytes
    insns_before: int     # trace instructions before optimization
    insns_after: int

    @property
    def key(self) -> tuple:
        return (self.atoms, self.code)


@dataclass(frozen=True)
class HostDecision:
    action: int | None        # the full program's action (the host carries it out); None: error
    packet: bytes             # the frame as the full program left it
    full_insns: int           # instructions the full program executed
    compiled: CompiledTrace | None
    reason: str | None        # why the path is not cacheable (None when it is)
    scheduled: bool           # an install was queued for this frame
    error: str | None = None  # the host cannot run the program on this frame (fault, budget...)


@dataclass
class HostStats:
    handled: int = 0
    uncacheable: int = 0
    installs_requested: int = 0
    deduped: int = 0
    install_errors: int = 0
    install_error_codes: dict = field(default_factory=dict)   # ErrorCode name -> rejected commits
    host_errors: int = 0      # frames the host could not run (program faults): not uncacheable
    reasons: dict = field(default_factory=dict)
    distinct_keys: set = field(default_factory=set)


TRACER_MAX_ATOMS = 256
TRACER_MAX_SLOTS = 4096


@functools.lru_cache(maxsize=4096)
def _optimized(trace: tuple, atoms: tuple, hdr_bytes: int) -> tuple[tuple, tuple]:
    """The optimizer is a pure function of (trace, atoms): a path that misses again (after an
    eviction, or while its install is pending) is not optimized twice."""
    res = optimize(list(trace), list(atoms), hdr_bytes=hdr_bytes)
    return tuple(res.trace), tuple(res.atoms)


def compile_path(insns: list[isa.Insn], frame: bytes, *, max_atoms: int, max_trace_len: int,
                 hdr_bytes: int, do_optimize: bool = True, exec_budget: int = EXEC_BUDGET,
                 n_slots: int = enc.N_SLOTS, runtime=None, guards: bool = True,
                 helper_set: str = "full", host_maps: dict[str, str] | None = None):
    """Trace + optimize + encode one frame's path. Returns (trace result, CompiledTrace | None, reason).
    `runtime` (jit.ebpf.runtime.XdpRuntime) carries a stateful program's maps: the frame's full
    run goes through it exactly once. `guards`: trace format v2 (guards, helpers, maps), for a NIC
    that runs it; False: v1, straight-line traces of stateless paths only (the RTL of today, and
    comparisons). `helper_set`: the helpers and atomics the NIC's executor runs
    (jit/nic/nic_helpers.HELPER_SETS: "rtl" keeps paths calling anything else on the host);
    `host_maps`: maps that stay on the host for this NIC beyond residency.py's rules (name ->
    reason; the RTL's map placement, jit/nic/map_sync.py)."""
    # The NIC's limits apply to what is installed, i.e. after optimization: constant propagation
    # through pinned fields often shrinks a long trace (a hash over a pinned 5-tuple) to a few
    # instructions. The tracer gets generous limits so that only the final check decides.
    tr = trace_packet(insns, frame, max_atoms=TRACER_MAX_ATOMS, max_trace_len=TRACER_MAX_SLOTS,
                      hdr_bytes=hdr_bytes, runtime=runtime, guards=guards)
    if tr.reason is not None:
        return tr, None, tr.reason
    trace, atoms = list(tr.trace), list(tr.atoms)
    if do_optimize:
        trace, atoms = map(list, _optimized(tuple(trace), tuple(atoms), hdr_bytes))
    why = set_reason(trace, helper_set)
    if why is None and helper_set == "rtl":
        why = rtl_map_write_reason(tr.map_events)
    if why is None and host_maps:
        why = next((host_maps[m] for m in tr.maps_used if m in host_maps), None)
    if why is not None:
        return tr, None, why
    code = isa.encode(trace)
    if len(code) // 8 > max_trace_len:
        return tr, None, f"trace too long: {len(code) // 8} slots > MAX_TRACE_LEN {max_trace_len}"
    if len(atoms) > max_atoms:
        return tr, None, f"too many atoms: {len(atoms)} > MAX_ATOMS {max_atoms}"
    # the NIC's own commit checks (jit/nic/validate.py): a path it would refuse is not requested
    err, where = validate_words([a.words() for a in atoms], len(atoms), enc.trace_words(code),
                                len(code) // 8, max_atoms=max_atoms, max_trace_len=max_trace_len,
                                hdr_bytes=hdr_bytes, exec_budget=exec_budget, v2=guards)
    if err == ErrorCode.EXEC_BUDGET:
        return tr, None, f"over the execution budget: slot {where} passes EXEC_BUDGET {exec_budget}"
    if err != ErrorCode.NONE:
        return tr, None, f"refused by the NIC's commit checks: {err.name} at {where}"
    # fields the condition reads at once: more than the NIC's extractor slots never fit (fewer
    # may still be refused at commit, SLOTS_FULL, while other entries hold the slots)
    need = distinct_fields([a.words()[0] for a in atoms])
    if need > n_slots:
        return tr, None, f"too many fields: {need} extractor slots > N_SLOTS {n_slots}"
    return tr, CompiledTrace(tuple(atoms), code, len(tr.trace), len(trace)), None


class TraceLibrary:
    """Every compiled path of a stateless program seen so far, its condition and trace compiled
    for fast evaluation. (A stateful program's frames always go through its runtime, once: a
    known trace would not apply their map effects.)

    Full conditions (atoms and guards) of different paths are disjoint, so a frame satisfying a
    known path's atoms and passing its guards takes that path: the host can reuse the compiled
    trace instead of tracing the frame again (sweeps run the same capture many times). Several
    paths may share their atoms and differ only in guards (a relation between fields that holds
    or not): a lookup tries them in the order they were added and takes the first whose guards
    pass (the order cannot change the answer, since at most one of them can pass).

    Lookup is indexed, not a scan: paths are grouped by the fields their `==` atoms compare
    (offset, width, byte order, mask; the length counts as a field), and within a group by the
    compared values. A lookup reads each group's fields from the frame once and checks only the
    paths whose `==` values match; paths without `==` atoms form one group that is scanned. With
    one path per frame (pinned 5-tuples) the cost no longer grows with the library.
    """

    def __init__(self):
        self._items: list[tuple[CompiledTrace, object, object]] = []
        self._ids: dict[tuple, int] = {}
        self._groups: dict[tuple, dict[tuple, list[int]]] = {}   # fields -> values -> items

    def __len__(self) -> int:
        return len(self._items)

    def compiled(self) -> list[CompiledTrace]:
        return [item[0] for item in self._items]

    def id_of(self, key: tuple) -> int:
        return self._ids.setdefault(key, len(self._ids))

    def add(self, compiled: CompiledTrace, hdr_bytes: int) -> None:
        from jit.nic.model import compile_condition
        from jit.nic.executor import compile_trace
        self.id_of(compiled.key)
        fields, values = _eq_index_key(compiled.atoms)
        self._groups.setdefault(fields, {}).setdefault(values, []).append(len(self._items))
        trace = isa.decode(compiled.code)
        run = _guarded_run(trace) if is_guard_trace(trace) else compile_trace(trace, hdr_bytes)
        self._items.append((compiled, compile_condition(list(compiled.atoms)), run))

    def lookup(self, frame: bytes, hdr_bytes: int):
        """(compiled trace, ExecResult) of the known path `frame` takes, or None."""
        w = frame[:hdr_bytes] + bytes(hdr_bytes + 8)
        n = len(frame)
        for fields, table in self._groups.items():
            candidates = table.get(tuple(_field_of(w, n, f) for f in fields))
            for k in candidates or ():
                compiled, match, run = self._items[k]
                if match(w, n):
                    result = run(frame)
                    if result is _GUARD_FAILED:
                        continue            # another path with the same atoms may hold
                    return None if result.err else (compiled, result)
        return None

    def path_of(self, insns, frame: bytes, cfg, runtime=None) -> CompiledTrace | None:
        """The compiled path of `frame` (tracing it if unknown), None if not cacheable."""
        found = self.lookup(frame, cfg.hdr_bytes)
        if found is not None:
            return found[0]
        try:
            _tr, compiled, _reason = compile_path(insns, frame, max_atoms=cfg.max_atoms,
                                                  max_trace_len=cfg.max_trace_len,
                                                  hdr_bytes=cfg.hdr_bytes,
                                                  exec_budget=cfg.exec_budget,
                                                  n_slots=cfg.n_slots, runtime=runtime,
                                                  guards=getattr(cfg, "v2", True),
                                                  helper_set=getattr(cfg, "helper_set", "full"))
        except JitnicError:
            return None
        if compiled is not None and not _stateful(runtime):
            self.add(compiled, cfg.hdr_bytes)
        return compiled


_GUARD_FAILED = object()


@dataclass(frozen=True)
class _KnownRun:
    """The outcome of a known v2 trace on a frame (what `lookup` returns beside the trace)."""
    action: int
    packet: bytes
    err: int = 0


def _guarded_run(trace):
    """A v2 trace (guards) of a stateless program run with the interpreter's semantics: the
    frame's result, _GUARD_FAILED, or a result with `err` set when the trace faults."""
    def run(frame: bytes):
        try:
            got = run_trace(trace, frame)
        except JitnicError:
            return _KnownRun(0, frame, 1)
        return _GUARD_FAILED if got.guard_failed else _KnownRun(got.action, got.packet)
    return run


def _eq_index_key(atoms) -> tuple[tuple, tuple]:
    """(fields, values) of a condition's `==` atoms, in a canonical order: the library's index."""
    eqs = sorted({(a.kind, a.offset, a.width, a.big_endian, a.mask & 0xFFFF_FFFF,
                   a.const & 0xFFFF_FFFF) for a in atoms if a.op == AtomOp.EQ})
    return tuple(e[:5] for e in eqs), tuple(e[5] for e in eqs)


def _field_of(w: bytes, n: int, f: tuple) -> int:
    """The masked value an `==` atom with field spec `f` compares (as `Atom.holds` computes it,
    on the zero-padded window `w`)."""
    kind, offset, width, big_endian, mask = f
    if kind == AtomKind.LEN:
        return n & mask
    return int.from_bytes(w[offset:offset + width], "big" if big_endian else "little") & mask


def _stateful(runtime) -> bool:
    return runtime is not None and runtime.stateful


class Host:
    """Miss handler bound to one program and one NIC (model or RTL driver).

    `nic` must offer `install(atoms, code) -> (entry index | None, evicted, ErrorCode)`.
    """

    def __init__(self, insns: list[isa.Insn], nic, *, latency: int = 0, max_atoms: int,
                 max_trace_len: int, hdr_bytes: int, do_optimize: bool = True,
                 library: TraceLibrary | None = None, exec_budget: int = EXEC_BUDGET,
                 n_slots: int = enc.N_SLOTS, runtime=None, guards: bool = True,
                 helper_set: str = "full", host_maps: dict[str, str] | None = None):
        self.insns = list(insns)
        self.runtime = runtime      # a stateful program's maps (jit.ebpf.runtime), or None
        self.nic = nic
        self.latency = latency
        self.limits = dict(max_atoms=max_atoms, max_trace_len=max_trace_len, hdr_bytes=hdr_bytes,
                           exec_budget=exec_budget)
        self.nic_limits = dict(helper_set=helper_set, host_maps=host_maps)   # what the NIC runs
        self.guards = guards        # trace format v2 (False: the v1 NIC's straight-line traces)
        self.do_optimize = do_optimize
        self.mirror: dict[int, tuple] = {}          # entry index -> key installed there
        self.pending: deque[tuple[int, CompiledTrace]] = deque()   # (due frame index, trace)
        self.pending_keys: set = set()
        self.stats = HostStats()
        self.library = library

    def handle_miss(self, index: int, frame: bytes) -> HostDecision:
        """Frame `index` came back from the NIC (miss or executor fault)."""
        self.stats.handled += 1
        use_library = self.library is not None and not _stateful(self.runtime)
        known = self.library.lookup(frame, self.limits["hdr_bytes"]) if use_library else None
        if known is not None:
            compiled, result = known
            action, packet, full_insns = result.action, result.packet, 0
        else:
            tr, compiled, reason = compile_path(self.insns, frame, do_optimize=self.do_optimize,
                                                runtime=self.runtime, guards=self.guards,
                                                **self.limits, **self.nic_limits)
            action, packet, full_insns = tr.action, tr.packet, tr.insns
            if tr.error is not None:
                self.stats.host_errors += 1
                return HostDecision(None, frame, full_insns, None, reason, False, tr.error)
            if compiled is None:
                self.stats.uncacheable += 1
                short = reason.split(":")[0]
                self.stats.reasons[short] = self.stats.reasons.get(short, 0) + 1
                return HostDecision(action, packet, full_insns, None, reason, False)
            if use_library:
                self.library.add(compiled, self.limits["hdr_bytes"])
        self.stats.distinct_keys.add(hash(compiled.key))   # hashes: memory stays small
        key = compiled.key
        if key in self.pending_keys or key in self.mirror.values():
            self.stats.deduped += 1
            return HostDecision(action, packet, full_insns, compiled, None, False)
        self.pending.append((index + 1 + self.latency, compiled))
        self.pending_keys.add(key)
        self.stats.installs_requested += 1
        return HostDecision(action, packet, full_insns, compiled, None, True)

    def due_installs(self, next_index: int) -> list[CompiledTrace]:
        """Installs that must be committed before frame `next_index` is processed."""
        due = []
        while self.pending and self.pending[0][0] <= next_index:
            due.append(self.pending.popleft()[1])
        return due

    def commit(self, compiled: CompiledTrace) -> int | None:
        """Install one compiled trace into the NIC and update the mirror."""
        entry, _evicted, err = self.nic.install(list(compiled.atoms), compiled.code)
        self.committed(compiled, entry if err == ErrorCode.NONE else None, err)
        return entry if err == ErrorCode.NONE else None

    def committed(self, compiled: CompiledTrace, entry: int | None,
                  error: ErrorCode = ErrorCode.NONE) -> None:
        """Record a commit's outcome (entry written, or None and the NIC's error code if it
        rejected it); for NICs whose installs the caller performs itself (the RTL bench). A
        rejected path is not remembered: its next miss asks again (SLOTS_FULL passes once the
        entries holding the slots are evicted; CELLS_FULL never does, it depends on the condition
        alone: `jitnic trace` calls such a path not cacheable)."""
        self.pending_keys.discard(compiled.key)
        if entry is None:
            log.info("install rejected by the NIC: %s", error.name)
            self.stats.install_errors += 1
            codes = self.stats.install_error_codes
            codes[error.name] = codes.get(error.name, 0) + 1
        else:
            self.mirror[entry] = compiled.key

    def apply_due(self, next_index: int) -> int:
        """Commit everything due before frame `next_index`; returns how many commits were made."""
        due = self.due_installs(next_index)
        for compiled in due:
            self.commit(compiled)
        return len(due)

    def flush(self) -> None:
        """Forget pending installs (end of a run)."""
        self.pending.clear()
        self.pending_keys.clear()
