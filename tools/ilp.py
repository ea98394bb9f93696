"""`python -m tools.ilp`: how much instruction-level parallelism the NIC traces of the shipped
programs offer, as the measurement behind the executor's choice of lanes over VLIW bundles
(docs/rtl.md, "Execution: lanes, and why").

For each program the host compiles the NIC trace of the frame `jitnic bench rtl` uses (smallest
size), and this schedules it statically, as an install-time bundler would:
  - `lane`: the executor as built (one instruction at a time, rtl/jitnic_exec.v costs: loads and
    LD_IMM64 2 cycles, divisions 34/66, the rest 1), without the per-run overhead;
  - `vliwW`: in-order bundles of up to W instructions per cycle, one memory access per bundle,
    results of loads and LD_IMM64 after 2 cycles and of the rest after 1 (fully pipelined);
    registers by true, anti and output dependences; memory conservatively: a load after every
    earlier store, a store after every earlier access; `exit` last.
  - `dataflow`: the same with unlimited width and memory ports (the dependence-chain bound).
A trace's lanes multiply throughput by the lane count; a bundle width divides only down to the
dependence chain.

    python -m tools.ilp [--json]
"""
from __future__ import annotations

import argparse
import json

from jit.ebpf import elf, isa
from jit.nic import encoding as enc

WIDTHS = (2, 4)


def _reads_writes(insn: isa.Insn) -> tuple[set[int], set[int]]:
    """Registers an instruction reads and writes."""
    cls, op = insn.cls, insn.opcode & 0xF0
    if insn.opcode == isa.LD_IMM64:
        return set(), {insn.dst}
    if cls in (isa.BPF_ALU, isa.BPF_ALU64):
        reads = set() if op == isa.BPF_MOV else {insn.dst}
        if insn.opcode & isa.BPF_X and op != isa.BPF_END:
            reads.add(insn.src)
        return reads, {insn.dst}
    if cls == isa.BPF_LDX:
        return {insn.src}, {insn.dst}
    if cls == isa.BPF_ST:
        return {insn.dst}, set()
    if cls == isa.BPF_STX:
        return {insn.dst, insn.src}, set()
    return {0}, set()                                   # exit reads r0


def _latency(insn: isa.Insn) -> int:
    return 2 if insn.cls == isa.BPF_LDX or insn.opcode == isa.LD_IMM64 else 1


def _is_mem(insn: isa.Insn) -> bool:
    return insn.cls in (isa.BPF_LDX, isa.BPF_ST, isa.BPF_STX)


def lane_cycles(insns: list[isa.Insn]) -> int:
    """Cycles of the executor as built, per-run overhead excluded (docs/exec.md costs)."""
    total = 0
    for insn in insns:
        op = insn.opcode & 0xF0
        if insn.cls in (isa.BPF_ALU, isa.BPF_ALU64) and op in (isa.BPF_DIV, isa.BPF_MOD):
            total += enc.EXEC_COST_DIV64 if insn.cls == isa.BPF_ALU64 else enc.EXEC_COST_DIV32
        else:
            total += _latency(insn)
    return total


def bundle_cycles(insns: list[isa.Insn], width: int, mem_ports: int = 1) -> int:
    """Cycles of an in-order static schedule in bundles of `width` (see the module docstring)."""
    issue: list[int] = []
    last_write: dict[int, int] = {}
    readers: dict[int, list[int]] = {}
    last_store = last_mem = None
    use: dict[int, tuple[int, int]] = {}                # cycle -> (instructions, memory accesses)
    for k, insn in enumerate(insns):
        reads, writes = _reads_writes(insn)
        t = issue[-1] if issue else 0                   # in order: never before the previous one
        for r in reads:
            if r in last_write:
                j = last_write[r]
                t = max(t, issue[j] + _latency(insns[j]))
        for r in writes:
            if r in last_write:
                t = max(t, issue[last_write[r]] + 1)
            for j in readers.get(r, []):
                t = max(t, issue[j])                    # a bundle reads before it writes
        if _is_mem(insn):
            dep = last_mem if insn.cls != isa.BPF_LDX else last_store
            if dep is not None:
                t = max(t, issue[dep] + _latency(insns[dep]))
        if insn.opcode == isa.BPF_EXIT | isa.BPF_JMP:
            t = max([t] + [issue[j] + _latency(insns[j]) - 1 for j in range(k)])
        while True:
            n, m = use.get(t, (0, 0))
            if n < width and (not _is_mem(insn) or m < mem_ports):
                break
            t += 1
        n, m = use.get(t, (0, 0))
        use[t] = (n + 1, m + _is_mem(insn))
        issue.append(t)
        for r in reads:
            readers.setdefault(r, []).append(k)
        for r in writes:
            last_write[r] = k
            readers[r] = []
        if _is_mem(insn):
            last_mem = k
            if insn.cls != isa.BPF_LDX:
                last_store = k
    return max(issue[k] + _latency(insns[k]) for k in range(len(insns))) if insns else 0


def measure(name: str) -> dict:
    """Schedule lengths of `name`'s NIC trace for the `jitnic bench rtl` frame."""
    from jit.host.miss_handler import compile_path
    from jit.paths import program_object
    from tb.e2e.cycles import frame_for
    program = elf.load_program(program_object(name)).insns
    frame = next(frame_for(name, size) for size in (64, 74, 128))
    _trace, compiled, reason = compile_path(program, frame, max_atoms=enc.MAX_ATOMS,
                                            max_trace_len=enc.MAX_TRACE_LEN,
                                            hdr_bytes=enc.HDR_BYTES)
    if compiled is None:
        return {"program": name, "error": reason}
    insns = isa.decode(compiled.code)
    row = {"program": name, "insns": len(insns), "lane": lane_cycles(insns)}
    row.update({f"vliw{w}": bundle_cycles(insns, w) for w in WIDTHS})
    row["dataflow"] = bundle_cycles(insns, len(insns), len(insns))
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="one JSON object per program")
    args = ap.parse_args(argv)
    from jit.paths import PROGRAM_NAMES
    rows = [measure(name) for name in PROGRAM_NAMES]
    for row in rows:
        print(json.dumps(row) if args.json else
              "  ".join(f"{k} {v}" for k, v in row.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
