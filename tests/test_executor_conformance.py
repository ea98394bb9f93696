"""An independent check of the NIC executor's ALU (issue 12, item 11): `jit/nic/executor.py`
builds its ALU from the interpreter's own templates, so a wrong ALU in the interpreter would pass
every NIC-side test that compares the two. Here the NIC executor runs the shared eBPF conformance
suite's straight-line files (no jumps, no calls, no input memory) and r0 must equal the file's
`-- result`, a value written by the suite's authors, not computed by this project."""
from __future__ import annotations

import pytest

from jit.ebpf import isa
from jit.ebpf.asm import parse_data_file
from jit.nic.encoding import ExecError
from jit.nic.executor import compile_trace
from jit.paths import shared_dir

SUITE = shared_dir() / "bpf_conformance" / "tests"
MIN_FILES = 100       # the straight-line part of the 313-file snapshot is larger; fewer = a filter bug


def straight_line_cases():
    cases = []
    for path in sorted(SUITE.glob("*.data")) if SUITE.is_dir() else []:
        case = parse_data_file(path)
        if case.skip or case.result is None or case.mem or not case.insns:
            continue
        body = case.insns[:-1]
        if case.insns[-1].opcode != 0x95 or any(
                i.opcode & 0x07 in (isa.BPF_JMP, isa.BPF_JMP32) for i in body):
            continue
        cases.append((path.name, case))
    return cases


CASES = straight_line_cases()


def run_r0(insns) -> tuple[int | None, ExecError]:
    """r0 as 64 bits from two runs on the NIC executor (its action is r0's low 32 bits): as is,
    and with `r0 >>= 32` before the exit."""
    lo = compile_trace(list(insns))(bytes(64))
    hi = compile_trace(list(insns[:-1]) + [isa.alu64_imm(isa.BPF_RSH, 0, 32), insns[-1]])(bytes(64))
    if lo.err or hi.err:
        return None, lo.err or hi.err
    return (hi.action << 32) | lo.action, ExecError.NONE


def test_enough_straight_line_files():
    if not SUITE.is_dir():
        pytest.skip(f"conformance suite not found at {SUITE} (set JITNIC_SHARED)")
    assert len(CASES) >= MIN_FILES, f"only {len(CASES)} straight-line files found"


@pytest.mark.parametrize("name,case", CASES or [("suite-missing", None)],
                         ids=[n for n, _ in CASES] or ["suite-missing"])
def test_nic_executor_agrees_with_the_suite(name, case):
    if case is None:
        pytest.skip(f"conformance suite not found at {SUITE} (set JITNIC_SHARED)")
    r0, err = run_r0(case.insns)
    if err in (ExecError.BAD_OPCODE, ExecError.CTX_ACCESS, ExecError.BAD_ADDRESS):
        pytest.skip(f"outside the NIC's instruction set or address map: {err.name}")
    assert err == ExecError.NONE, f"executor fault {err.name}"
    assert r0 == case.result, f"r0 = {r0:#x}, expected {case.result:#x}"
