"""Cache sweeps: hit rate, misses and installs per (entries, policy) over one capture, including
Belady's optimal replacement as the offline upper bound.

Every configuration streams the capture through the NIC model with the host in the loop, exactly as
`jitnic run` does (without the per-frame reference check). Tracing a miss is the expensive part, so
one `TraceLibrary` per program is shared by all configurations: the host looks a missed frame up in
the library of compiled paths seen so far before it traces (paths' conditions are disjoint, so a
frame that satisfies a known installed condition takes that path).

Belady (`opt`) needs the future: a first pass records, per frame, the id of the path it takes
(4 bytes per frame, in an `array`); the policy then evicts the entry whose path is used again
farthest in the future. It always installs (no bypass), like the other policies, so it bounds what
a replacement policy can achieve with this host, not what any cache could.
"""
from __future__ import annotations

import bisect
from array import array
from dataclasses import dataclass
from typing import Callable, Iterable

from jit.ebpf import isa
from jit.host.miss_handler import TraceLibrary
from jit.nic.model import NicConfig, NicModel
from jit.nic.policies import Policy
from jit.host.runner import run_frames

OPT = "opt"


@dataclass(frozen=True)
class SweepRow:
    entries: int
    policy: str
    packets: int
    hits: int
    misses: int
    installs: int
    evictions: int
    uncacheable: int
    oversize: int = 0       # frames too long for the NIC: dropped and counted, neither hit nor miss

    @property
    def hit_rate(self) -> float:
        return self.hits / self.packets if self.packets else 0.0

    def as_dict(self) -> dict:
        return {"entries": self.entries, "policy": self.policy, "hits": self.hits,
                "misses": self.misses, "installs": self.installs, "hit_rate": round(self.hit_rate, 6),
                "evictions": self.evictions, "packets": self.packets, "uncacheable": self.uncacheable,
                "oversize": self.oversize}


class PathOracle:
    """Per-frame path ids (-1: not cacheable) and, for each path, the sorted frames that use it."""

    def __init__(self, insns: list[isa.Insn], frames: Iterable[bytes], library: TraceLibrary,
                 cfg: NicConfig, runtime=None):
        self.ids = array("i")
        self.uses: dict[int, list[int]] = {}
        # numbered in NIC arrival order (the Belady clock counts `process` calls): empty records
        # never reach the NIC, so they take no number here
        for index, frame in enumerate(f for f in frames if f):
            compiled = library.path_of(insns, frame, cfg, runtime)
            pid = -1 if compiled is None else library.id_of(compiled.key)
            self.ids.append(pid)
            if pid >= 0:
                self.uses.setdefault(pid, []).append(index)

    def next_use(self, pid: int, after: int) -> int:
        """First frame index > after that takes path pid (a huge number if none)."""
        uses = self.uses.get(pid, [])
        k = bisect.bisect_right(uses, after)
        return uses[k] if k < len(uses) else 1 << 62


class Belady(Policy):
    """Evict the entry whose path is next used farthest in the future."""
    name = OPT

    def __init__(self, n_entries: int, oracle: PathOracle, library: TraceLibrary):
        super().__init__(n_entries)
        self.oracle = oracle
        self.library = library
        self.model: NicModel | None = None
        self.now = -1              # index of the last frame the NIC processed

    def pick(self) -> int:
        best, best_next = 0, -1
        for i, entry in enumerate(self.model.entries):
            nxt = self.oracle.next_use(self.library.id_of(entry.key), self.now)
            if nxt > best_next:
                best, best_next = i, nxt
        return best


class _ClockedModel(NicModel):
    """NicModel that tells the Belady policy which frame it is at."""

    def process(self, frame: bytes):
        self.policy.now += 1
        return super().process(frame)


def belady_model(cfg: NicConfig, oracle: PathOracle, library: TraceLibrary) -> NicModel:
    """A NIC model whose replacement policy is Belady's, driven by `oracle`."""
    nic = _ClockedModel(cfg)
    nic.policy = Belady(cfg.n_entries, oracle, library)
    nic.policy.model = nic
    return nic


def sweep(insns: list[isa.Insn], frames_factory: Callable[[], Iterable[bytes]],
          entries: list[int], policies: list[str], base: NicConfig, *, latency: int = 0,
          progress: Callable[[str], None] | None = None,
          runtime_factory: Callable[[], object] | None = None
          ) -> tuple[list[SweepRow], TraceLibrary]:
    """One row per (entries, policy), and the library of paths seen. `frames_factory()` re-opens
    the capture for each pass; `runtime_factory()` gives a stateful program's maps in their initial
    state for each pass (a path that touches maps is never cached, so path ids do not depend on
    map state)."""
    def fresh():
        return runtime_factory() if runtime_factory is not None else None
    library = TraceLibrary()
    oracle = None
    rows = []
    for policy in policies:
        for n in entries:
            cfg = NicConfig(n_entries=n, max_atoms=base.max_atoms, max_trace_len=base.max_trace_len,
                            hdr_bytes=base.hdr_bytes, pkt_bytes=base.pkt_bytes,
                            policy="lru" if policy == OPT else policy, seed=base.seed,
                            exec_budget=base.exec_budget, n_slots=base.n_slots)
            if policy == OPT:
                if oracle is None:
                    oracle = PathOracle(insns, frames_factory(), library, cfg, fresh())
                nic = belady_model(cfg, oracle, library)
            else:
                nic = NicModel(cfg)
            rep = run_frames(insns, frames_factory(), nic, cfg, latency=latency, check=False,
                             library=library, runtime=fresh())
            rows.append(SweepRow(n, policy, rep.packets, rep.hits, rep.misses, rep.installs,
                                 rep.evictions, rep.uncacheable, rep.oversize))
            if progress:
                progress(f"{policy} x {n}: hit rate {100 * rows[-1].hit_rate:.1f}%")
    return rows, library


def path_stats(library: TraceLibrary) -> dict:
    """Distinct cacheable paths, atoms per condition, trace length before/after optimization."""
    items = library.compiled()
    n = len(items) or 1
    return {"distinct_paths": len(items),
            "atoms_avg": sum(len(c.atoms) for c in items) / n,
            "atoms_max": max((len(c.atoms) for c in items), default=0),
            "insns_before_avg": sum(c.insns_before for c in items) / n,
            "insns_after_avg": sum(c.insns_after for c in items) / n}
