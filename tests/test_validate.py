"""Commit validation defined once (issue 12, items 9 and 13; jit/nic/validate.py): a slot is
accepted exactly when the NIC executor runs it, `add r10, 1` is refused at commit (it used to
commit and then fault on every hit), traces over the execution budget are refused, and the
generated header carries the same rules."""
from __future__ import annotations

import random

import pytest

from jit.ebpf import isa
from jit.nic import encoding as enc
from jit.nic.encoding import ErrorCode, ExecError
from jit.nic.executor import compile_trace
from jit.nic.model import NicConfig, NicModel
from jit.nic.nic_helpers import NIC_HELPERS
from jit.nic.validate import (RULE_FIELDS, RULE_TABLE, RULE_TABLE_V2, SlotRule, slot_ok,
                              validate_words)

EXIT = enc.trace_words(isa.encode([isa.exit_insn()]))[0]


def random_slot(rng: random.Random) -> tuple[int, int]:
    """A slot: half the time one its rule allows with at most one field moved off the rule,
    otherwise any opcode with fields near their limits."""
    if rng.random() < 0.5:
        opcode = rng.choice([op for op in range(256) if RULE_TABLE_V2[op]])
        f = RULE_FIELDS[RULE_TABLE_V2[opcode]]
        dst = rng.randrange({"w": 10, "r": 11, "0": 1}[f.dst])
        src = rng.randrange({"w": 10, "r": 11, "0": 1}[f.src])
        off = rng.choice(f.off) if f.off else rng.getrandbits(16)
        imm = rng.choice(f.imm) if f.imm else rng.getrandbits(32)
        which = rng.randrange(6)
        dst = rng.choice([9, 10, 11, 15]) if which == 0 else dst
        src = rng.choice([1, 10, 11, 15]) if which == 1 else src
        off = rng.choice([1, 2, 8, 32, 0xFFFF]) if which == 2 else off
        imm = rng.choice([1, 16, 0xFFFF_FFFF]) if which == 3 else imm
    else:
        opcode = rng.randrange(256)
        dst, src = rng.choice([0, 1, 9, 10, 11, 15]), rng.choice([0, 1, 9, 10, 11, 15])
        off = rng.choice([0, 1, 8, 16, 32, 2, 0xFFFF, rng.getrandbits(16)])
        imm = rng.choice([0, 16, 32, 64, 1, 0xFFFF_FFFF, rng.getrandbits(32)])
    return opcode | dst << 8 | src << 12 | off << 16, imm


def executor_runs(lo: int, hi: int) -> bool:
    """The model's executor does not fault with BAD_OPCODE on this slot (followed by exit; an
    LD_IMM64 gets a zero second slot)."""
    words = [(lo, hi)] + ([(0, 0)] if lo & 0xFF == 0x18 else []) + [EXIT]
    code = b"".join(a.to_bytes(4, "little") + b.to_bytes(4, "little") for a, b in words)
    try:
        insns = isa.decode(code)
    except Exception:          # noqa: BLE001 - undecodable is not executable
        return False
    return compile_trace(insns, v2=True)(bytes(64)).err != ExecError.BAD_OPCODE


def test_slot_rules_are_what_the_executor_runs():
    rng = random.Random(12)
    seen = {True: 0, False: 0}
    for _ in range(6000):
        lo, hi = random_slot(rng)
        opcode, src = lo & 0xFF, (lo >> 12) & 0xF
        if RULE_TABLE_V2[opcode] == SlotRule.ATOMIC and src == 10:
            continue          # refused at commit for every atomic; the interpreter only for fetches
        ok = slot_ok(lo, hi, v2=True) and (opcode != 0x85 or hi in NIC_HELPERS)
        assert ok == executor_runs(lo, hi), f"slot {lo:#010x} {hi:#010x}: validator says {ok}"
        seen[ok] += 1
    assert min(seen.values()) > 1000


def cfg(**kw) -> NicConfig:
    return NicConfig(n_entries=2, **kw)


def words(insns) -> list[tuple[int, int]]:
    return enc.trace_words(isa.encode(insns))


@pytest.mark.parametrize("insn", [isa.alu64_imm(isa.BPF_ADD, 10, 1), isa.mov64_imm(11, 0),
                                  isa.alu64_reg(isa.BPF_ADD, 0, 12), isa.ld_imm64(10, 5)],
                         ids=["add r10", "mov r11", "src r12", "lddw r10"])
def test_model_refuses_what_would_fault_on_every_hit(insn):
    nic = NicModel(cfg())
    code = isa.encode([insn, isa.mov64_imm(0, 2), isa.exit_insn()])
    entry, _evicted, err = nic.install([], code)
    assert (entry, err) == (None, ErrorCode.BAD_OPCODE)


def test_budget_refuses_long_divide_traces():
    div = isa.alu64_imm(isa.BPF_DIV, 0, 3)
    limit = enc.EXEC_BUDGET // enc.EXEC_COST_DIV64
    ok = words([isa.mov64_imm(0, 1000)] + [div] * (limit - 1) + [isa.exit_insn()])
    assert validate_words([], 0, ok, len(ok), max_atoms=16, max_trace_len=128,
                          hdr_bytes=128) == (ErrorCode.NONE, 0)
    over = words([isa.mov64_imm(0, 1000)] + [div] * 127)
    err, index = validate_words([], 0, over, len(over), max_atoms=16, max_trace_len=128,
                                hdr_bytes=128)
    assert err == ErrorCode.EXEC_BUDGET
    assert 1 + enc.EXEC_COST_DIV64 * index > enc.EXEC_BUDGET >= 1 + enc.EXEC_COST_DIV64 * (index - 1)
    nic = NicModel(cfg())
    assert nic.install([], isa.encode([isa.mov64_imm(0, 1000)] + [div] * 126 + [isa.exit_insn()]))[2] \
        == ErrorCode.EXEC_BUDGET
    small = NicModel(cfg(exec_budget=8))
    assert small.install([], isa.encode([isa.mov64_imm(0, 2)] * 8 + [isa.exit_insn()]))[2] \
        == ErrorCode.EXEC_BUDGET


def test_header_carries_the_rule_table():
    text = (enc.verilog_header())
    table = next(line for line in text.splitlines() if line.startswith("`define SLOT_RULE_TABLE"))
    value = int(table.split("'h")[1], 16)
    assert [value >> (4 * op) & 0xF for op in range(256)] == [int(r) for r in RULE_TABLE]
    assert f"`define SLOT_RULE_EXIT 4'd{int(SlotRule.EXIT)}" in text
    assert f"`define JITNIC_EXEC_BUDGET {enc.EXEC_BUDGET}" in text


def test_host_does_not_request_a_trace_over_the_budget():
    """The host runs the NIC's checks before it asks for an install: a divide-heavy path is
    uncacheable with its reason, and nothing is refused at commit."""
    from jit.ebpf.asm import assemble
    from jit.host.runner import run_model
    # divides of packet words by packet words: nothing for the optimizer to fold or drop
    text = ("    ldxw %r2, [%r1+0]\n    ldxw %r0, [%r2+0]\n    ldxw %r3, [%r2+4]\n"
            + "    div %r0, %r3\n" * 12 + "    and %r0, 3\n    exit\n")
    insns = assemble(text)
    rep = run_model(insns, [bytes(60)] * 3, NicConfig(n_entries=2, exec_budget=200))
    assert rep.installs == 0 and rep.uncacheable == 3 and rep.mismatches == 0
    assert rep.reasons == {"over the execution budget": 3}
    rep = run_model(insns, [bytes(60)] * 3, NicConfig(n_entries=2))
    assert rep.hits == 2 and rep.installs == 1
