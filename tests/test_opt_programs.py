"""The optimizer on real traces: for every shipped program, trace thousands of generated packets,
optimize each distinct trace, and check on every packet of the pool (plus mutants) that satisfies
the optimized condition that the optimized trace, the original trace and the full program agree --
under the reference interpreter, and the optimized trace also under the NIC executor.

Prints, per program, the average instructions (and slots, atoms) per distinct trace before and after
optimization, and how many traces fit the NIC's default limits before and after; docs/opt.md quotes
these numbers (command: `.venv/bin/python -m pytest -q -s tests/test_opt_programs.py`).
"""
from __future__ import annotations

import random
from collections import defaultdict

import pytest

from jit.ebpf import elf, interp, isa
from jit.ebpf.runtime import XdpRuntime
from jit.nic.encoding import HDR_BYTES, MAX_ATOMS, MAX_TRACE_LEN, ExecError
from jit.nic.model import compile_condition, supported_opcode
from jit.nic.executor import compile_trace
from jit.compiler.opt import optimize
from jit.compiler.trace_run import run_trace
from jit.paths import PROGRAM_NAMES, program_object
from jit.compiler.tracer import trace_packet
from packets import varied_packets

N_PACKETS = 3000
# map programs that need no maps: their paths call helpers only (icmp_frag_needed: adjust_tail,
# adjust_head and csum_diff, the optimizer's frame-moving barriers)
HELPER_PROGRAMS = ("icmp_frag_needed",)
MUTANTS = 4            # mutants of each distinct trace's first packet
SEED = 20240611


def run(insns, packet: bytes):
    """(action, bytes), ("fault", kind), or ("guard",) when a v2 trace leaves its recorded path."""
    try:
        r = run_trace(insns, packet)
    except interp.InterpError as exc:
        return ("fault", type(exc).__name__)
    return ("guard",) if r.guard_failed else (r.action, r.packet)


def mutants(rng: random.Random, packet: bytes, n: int) -> list[bytes]:
    out = []
    for _ in range(n):
        p = bytearray(packet)
        for _ in range(rng.randrange(1, 4)):
            if p:
                p[rng.randrange(min(len(p), 96))] = rng.randrange(256)
        if rng.random() < 0.3:
            p = p[:rng.randrange(len(p) + 1)] if rng.random() < 0.5 else p + bytes(rng.randrange(1, 40))
        out.append(bytes(p))
    return out


def window(packet: bytes) -> bytes:
    return packet[:HDR_BYTES].ljust(HDR_BYTES, b"\0")


@pytest.mark.parametrize("name", PROGRAM_NAMES + HELPER_PROGRAMS)
def test_optimized_traces_agree_with_the_program(name, capsys):
    path = program_object(name)
    if not path.exists():
        pytest.fail(f"{path} missing: run `make programs` first")
    insns = elf.load_program(path).insns
    rng = random.Random(SEED)
    pool = varied_packets(name, N_PACKETS, seed=SEED)
    paths: dict[tuple, list[bytes]] = defaultdict(list)
    cacheable = 0
    rt = XdpRuntime(insns) if name in HELPER_PROGRAMS else None     # the tracer runs helpers
    for p in pool:
        # limits far above the NIC's: optimize every path, then count what fits
        tr = trace_packet(insns, p, max_atoms=1024, max_trace_len=1 << 16, runtime=rt)
        if tr.reason is None:
            paths[(tuple(tr.trace), tr.atoms)].append(p)
            cacheable += 1
    assert paths, f"{name}: no cacheable path"
    for ps in list(paths.values()):
        ps.extend(mutants(rng, ps[0], MUTANTS))
    extra = [p for ps in paths.values() for p in ps[-MUTANTS:]]
    candidates = [(p, window(p), len(p)) for p in pool + extra]
    full = {}

    totals = defaultdict(int)
    checked = 0
    for (trace, atoms), own in paths.items():
        res = optimize(list(trace), list(atoms))
        out = res.trace
        assert out and out[-1] == isa.exit_insn()
        assert all(isa.validate(i) is None and supported_opcode(i.opcode, i.src, v2=True)
                   for i in out)            # guards (jumps to the guard exit): trace format v2
        s = res.stats
        assert s.slots_after <= s.slots_before and s.atoms_after <= s.atoms_before
        totals["insns_before"] += s.insns_before
        totals["insns_after"] += s.insns_after
        totals["slots_before"] += s.slots_before
        totals["slots_after"] += s.slots_after
        totals["atoms_before"] += s.atoms_before
        totals["atoms_after"] += s.atoms_after
        totals["fit_before"] += s.slots_before <= MAX_TRACE_LEN and s.atoms_before <= MAX_ATOMS
        totals["fit_after"] += s.slots_after <= MAX_TRACE_LEN and s.atoms_after <= MAX_ATOMS
        match_old = compile_condition(list(atoms))
        match_new = compile_condition(res.atoms)
        nic = compile_trace(out, HDR_BYTES, v2=True)
        for p in own:       # its packets and their mutants: the old condition implies the new
            assert match_new(window(p), len(p)) or not match_old(window(p), len(p)), p.hex()
        for p, w, n in candidates:
            if not match_new(w, n):
                continue
            # the new condition implies the old one (the direction soundness needs)
            assert match_old(w, n), (name, p.hex(), [str(a) for a in res.atoms])
            assert all(a.holds(p) for a in res.atoms)
            if p not in full:
                full[p] = run(insns, p)
            want = full[p]
            assert want[0] != "fault", (name, p.hex())
            got = run(list(trace), p)
            # the optimized trace fails the same guards and otherwise gives the program's answer
            assert run(out, p) == got, (name, "optimized trace", p.hex(),
                                        isa.disasm(list(trace)), isa.disasm(out))
            r = nic(p)
            if got == ("guard",):
                assert r.err == ExecError.GUARD, (name, "NIC", p.hex())
                continue
            assert got == want, (name, "original trace", p.hex())
            assert r.err == ExecError.NONE and (r.action, r.packet) == want, (name, "NIC", p.hex())
            checked += 1
    n = len(paths)
    assert checked >= cacheable       # every pool packet with a cacheable path, at least
    # (a pool packet never fails its own trace's guards: each path's guards hold on its packets)
    with capsys.disabled():
        print(f"\n{name:18} {n:4} traces  insns {totals['insns_before'] / n:6.1f} -> "
              f"{totals['insns_after'] / n:5.1f}  slots {totals['slots_before'] / n:6.1f} -> "
              f"{totals['slots_after'] / n:5.1f}  atoms {totals['atoms_before'] / n:5.1f} -> "
              f"{totals['atoms_after'] / n:5.1f}  fit({MAX_TRACE_LEN} slots, {MAX_ATOMS} atoms) "
              f"{totals['fit_before']}/{n} -> {totals['fit_after']}/{n}  ({checked} packet checks)")
