"""The trace optimizer: shrink a trace (and its condition) before the host installs it.

    optimize(trace, atoms, *, hdr_bytes=HDR_BYTES) -> OptResult(trace, atoms, stats)

Soundness contract: for every packet that satisfies the returned atoms (which match exactly the
packets the input atoms match), the returned trace faults exactly when the input trace does, and
otherwise ends with the same action (r0[31:0]) and the same packet bytes -- under the reference
interpreter and under the NIC executor's rules (docs/abi.md). It never grows the trace, never adds a
memory access, and uses only instructions the NIC executes.

Guards (trace format v2): guards, helper calls and atomics are barriers -- never removed, moved or
merged; a call clobbers r0-r5 and may read any stack or packet byte before it (load/store_bytes
also write the bytes `analysis.copy_span` gives, which the analyses forget); map memory (an
address the analysis does not know) is never forwarded or folded. A call that moves the frame
(bpf_xdp_adjust_head/_tail) also makes the frame's bounds, `data`/`data_end` and every packet
byte unknown after it (docs/opt.md "Frame moves"). So a guard fails on exactly the
frames (and map contents) it failed on before, having seen the same values, and the effects before
it are the same. Guard-exit jumps are tagged while the passes run and aimed at the new guard exit
afterwards.

The passes (`PASSES`, in `jit.compiler.opt.passes`) run in order, round after round, until a whole round
changes nothing. Facts about the packet (length bounds, known header bytes) are derived once from
the input atoms; every atom pass keeps the condition equivalent, so they stay true. docs/opt.md
describes each pass and the measured effect on the shipped programs.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Sequence

from jit.ebpf import isa
from jit.nic.encoding import HDR_BYTES, Atom
from jit.ebpf.isa import Insn
from jit.compiler import guards as gd
from jit.compiler.opt.analysis import Env, unsupported
from jit.compiler.opt.facts import Facts, facts_from_atoms
from jit.compiler.opt.passes import (Path, coalesce_packet_writes, combine_loads, drop_identities,
                            drop_implied_atoms, eliminate_dead_code, fold_addresses,
                            fold_constants, fold_context, forward_loads, merge_atom_equalities)

log = logging.getLogger(__name__)

Pass = Callable[[Path, Env], tuple[Path, int]]

# name -> pass, in the order a round runs them
PASSES: dict[str, Pass] = {
    "fold_context": fold_context,
    "fold_constants": fold_constants,
    "fold_addresses": fold_addresses,
    "forward_loads": forward_loads,
    "drop_identities": drop_identities,
    "combine_loads": combine_loads,
    "eliminate_dead_code": eliminate_dead_code,
    "coalesce_packet_writes": coalesce_packet_writes,
    "drop_implied_atoms": drop_implied_atoms,
    "merge_atom_equalities": merge_atom_equalities,
}
TRACE_PASSES = frozenset(PASSES) - {"drop_implied_atoms", "merge_atom_equalities"}
MAX_ROUNDS = 32


@dataclass(frozen=True)
class OptStats:
    insns_before: int
    insns_after: int
    slots_before: int
    slots_after: int
    atoms_before: int
    atoms_after: int
    changes: dict = field(default_factory=dict)   # pass name -> rewrites it made, all rounds
    rounds: int = 0
    skipped: str | None = None    # why the trace passes did not run (the atom passes always do)


@dataclass(frozen=True)
class OptResult:
    trace: list[Insn]
    atoms: list[Atom]
    stats: OptStats


def _slots(trace: Sequence[Insn]) -> int:
    return sum(i.slots for i in trace)


def run_passes(path: Path, env: Env, passes: dict[str, Pass]) -> tuple[Path, dict, int]:
    """Run `passes` round after round until a round changes nothing. Returns (path, changes per
    pass, rounds)."""
    changes = {name: 0 for name in passes}
    for rounds in range(1, MAX_ROUNDS + 1):
        total = 0
        for name, fn in passes.items():
            path, n = fn(path, env)
            changes[name] += n
            total += n
        if not total:
            return path, changes, rounds
    log.warning("optimizer did not reach a fixed point in %d rounds", MAX_ROUNDS)
    return path, changes, MAX_ROUNDS


def optimize(trace: Sequence[Insn], atoms: Sequence[Atom], *, hdr_bytes: int = HDR_BYTES,
             passes: Sequence[str] | None = None) -> OptResult:
    """Optimize one trace under its condition (see the module docstring). `passes` selects a subset
    of PASSES by name (default: all)."""
    trace, atoms = gd.tag_guard_exits(trace), list(atoms)
    chosen = {n: PASSES[n] for n in (passes if passes is not None else PASSES)}
    facts = facts_from_atoms(atoms, hdr_bytes)
    env = Env(facts, hdr_bytes)
    skipped = unsupported(trace)
    if skipped is None and facts.unsat:
        skipped = "the atoms contradict each other (no packet matches)"
    if skipped is not None:
        chosen = {n: f for n, f in chosen.items() if n not in TRACE_PASSES}
    path, changes, rounds = run_passes(Path(tuple(trace), tuple(atoms)), env, chosen)
    out = gd.aim_tagged(path.trace)
    trace = gd.aim_tagged(trace)
    ends_in_exit = trace[-1:] == [isa.exit_insn()]
    if _slots(out) > _slots(trace) or (ends_in_exit and out[-1:] != [isa.exit_insn()]):
        log.error("optimizer produced a worse or malformed trace; keeping the input")
        out = trace
    stats = OptStats(len(trace), len(out), _slots(trace), _slots(out), len(atoms),
                     len(path.atoms), changes, rounds, skipped)
    return OptResult(out, list(path.atoms), stats)


__all__ = ["optimize", "OptResult", "OptStats", "PASSES", "Path", "Env", "Facts",
           "facts_from_atoms", "run_passes"]
