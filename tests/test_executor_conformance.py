"""An independent check of the NIC executor's ALU (issue 12, item 11): `jit/nic/executor.py`
builds its ALU from the interpreter's own templates, so a wrong ALU in the interpreter would pass
every NIC-side test that compares the two. Here the NIC executor runs the shared eBPF conformance
suite and r0 must equal the file's `-- result`, a value written by the suite's authors.

The executor runs straight-line code only. A file's branches are taken by this test: it runs the
straight-line prefix of the path on the NIC executor, reads the compared registers out through the
executor itself (`mov r0, rX`, and `rsh` for the high half), and decides the jump with the small
comparison below, written here from the ISA's definition (RFC 9669), not taken from the
interpreter. Files that need input memory or helper calls are left out (the NIC has neither)."""
from __future__ import annotations

import pytest

from jit.ebpf import isa
from jit.ebpf.asm import parse_data_file
from jit.nic.encoding import ExecError
from jit.nic.executor import compile_trace
from jit.paths import shared_dir

SUITE = shared_dir() / "bpf_conformance" / "tests"
MISSING = f"conformance suite not found at {SUITE} (set JITNIC_SHARED)"
MIN_FILES = 200       # of the 313-file snapshot; fewer means the filter below lost files
MAX_STEPS = 2000
M64 = (1 << 64) - 1


class Unsupported(Exception):
    """The file needs something the NIC executor does not have (calls, memory, loops)."""


def _signed(v: int, bits: int) -> int:
    return v - (1 << bits) if v >> (bits - 1) & 1 else v


def taken(op: int, a: int, b: int, bits: int) -> bool:
    """RFC 9669's conditional jumps on `bits`-bit operands."""
    mask = (1 << bits) - 1
    a, b = a & mask, b & mask
    sa, sb = _signed(a, bits), _signed(b, bits)
    return {isa.BPF_JEQ: a == b, isa.BPF_JNE: a != b, isa.BPF_JGT: a > b, isa.BPF_JGE: a >= b,
            isa.BPF_JLT: a < b, isa.BPF_JLE: a <= b, isa.BPF_JSET: bool(a & b),
            isa.BPF_JSGT: sa > sb, isa.BPF_JSGE: sa >= sb, isa.BPF_JSLT: sa < sb,
            isa.BPF_JSLE: sa <= sb}[op]


def run_on_nic(body: list[isa.Insn]) -> int:
    """r0's low 32 bits after `body` + exit on the NIC executor: trace format v1 (the RTL's), or
    v2 for what only v2 runs (atomics)."""
    res = compile_trace(body + [isa.exit_insn()])(bytes(64))
    if res.err == ExecError.BAD_OPCODE:
        res = compile_trace(body + [isa.exit_insn()], v2=True)(bytes(64))
    if res.err != ExecError.NONE:
        raise Unsupported(f"executor fault {res.err.name}")
    return res.action


def register(path: list[isa.Insn], reg: int) -> int:
    """The 64-bit value of `reg` after `path`, read through the NIC executor."""
    lo = run_on_nic(path + [isa.mov64_reg(0, reg)])
    hi = run_on_nic(path + [isa.mov64_reg(0, reg), isa.alu64_imm(isa.BPF_RSH, 0, 32)])
    return hi << 32 | lo


def nic_result(insns: list[isa.Insn]) -> int:
    """r0 at exit, every non-jump instruction executed by the NIC executor."""
    at = {pc: i for i, pc in enumerate(isa.slot_pcs(insns))}
    path: list[isa.Insn] = []
    i = 0
    for _ in range(MAX_STEPS):
        insn = insns[i]
        cls, op = insn.opcode & 0x07, insn.opcode & 0xF0
        pc = isa.slot_pcs(insns)[i]
        if insn.opcode == 0x95:
            return register(path, 0)
        if cls in (isa.BPF_JMP, isa.BPF_JMP32):
            if op in (isa.BPF_CALL, isa.BPF_EXIT):
                raise Unsupported("call")
            target = isa.jump_target(insn, pc)
            if op != isa.BPF_JA:
                a = register(path, insn.dst)
                b = register(path, insn.src) if insn.opcode & 0x08 else isa.imm64(insn.imm)
                if not taken(op, a, b, 64 if cls == isa.BPF_JMP else 32):
                    target = pc + 1
            if target not in at:
                raise Unsupported("jump outside the program")
            i = at[target]
            continue
        path.append(insn)
        i += 1
        if i >= len(insns):
            raise Unsupported("runs off the end")
    raise Unsupported("too many steps")


def cases():
    out = []
    for path in sorted(SUITE.glob("*.data")) if SUITE.is_dir() else []:
        case = parse_data_file(path)
        if case.skip or case.result is None or case.mem or not case.insns:
            continue
        if any(i.opcode & 0x07 in (isa.BPF_JMP, isa.BPF_JMP32) and i.opcode & 0xF0 == isa.BPF_CALL
               for i in case.insns):
            continue
        out.append((path.name, case))
    return out


CASES = cases()


def test_enough_files():
    if not SUITE.is_dir():
        pytest.skip(MISSING)
    assert len(CASES) >= MIN_FILES, f"only {len(CASES)} files without memory and calls"


@pytest.mark.parametrize("name,case", CASES or [("suite-missing", None)],
                         ids=[n for n, _ in CASES] or ["suite-missing"])
def test_nic_executor_agrees_with_the_suite(name, case):
    if case is None:
        pytest.skip(MISSING)
    try:
        r0 = nic_result(case.insns)
    except Unsupported as why:
        pytest.skip(f"outside the NIC executor: {why}")
    assert r0 == case.result, f"r0 = {r0:#x}, expected {case.result:#x}"
