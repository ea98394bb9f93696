"""jit.ebpf.interp: the reference interpreter. ALU/JMP semantics are checked against an oracle written
here from the RFC 9669 text (struct-based, independent of the interpreter's templates), through
both the pure functions and real programs; then memory, faults, budget, calls, helpers, XDP."""
from __future__ import annotations

import argparse
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jit.ebpf import interp, isa
from jit.ebpf.asm import assemble
from jit.ebpf.interp import (BudgetExceeded, CallDepthExceeded, InterpError, InvalidJump, MemoryFault,
                        UnsupportedInsn, run_raw, run_xdp)
from jit.ebpf.isa import Insn
from jit.ebpf.memmap import (CTX_BASE, HEADROOM, PKT_BASE, PKT_DATA, PKT_MAX, STACK_BASE, STACK_SIZE,
                        STACK_TOP)

M64 = (1 << 64) - 1
u64 = st.integers(0, M64)
interesting = st.sampled_from([0, 1, 2, 3, 7, 31, 32, 33, 63, 64, 65, 0x7f, 0x80, 0xff, 0x7fff,
                               0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 0x1_0000_0000,
                               1 << 63, (1 << 63) - 1, M64, M64 - 1, 0xdeadbeefcafef00d])
values = st.one_of(u64, interesting)


# ---- the oracle (RFC 9669 wording, via struct rather than the interpreter's expressions) -------
def s_(value: int, bits: int) -> int:
    fmt = {8: "b", 16: "h", 32: "i", 64: "q"}[bits]
    return struct.unpack("<" + fmt, (value & ((1 << bits) - 1)).to_bytes(bits // 8, "little"))[0]


def trunc_div(a: int, b: int) -> int:
    q = a // b
    if a % b and (a < 0) != (b < 0):
        q += 1
    return q


def ref_alu(op: int, bits: int, off: int, d: int, s: int) -> int:
    m = (1 << bits) - 1
    a, b = d & m, s & m
    if op == isa.BPF_ADD:
        r = a + b
    elif op == isa.BPF_SUB:
        r = a - b
    elif op == isa.BPF_MUL:
        r = a * b
    elif op == isa.BPF_DIV and off == 0:
        r = a // b if b else 0
    elif op == isa.BPF_DIV:
        r = trunc_div(s_(a, bits), s_(b, bits)) if b else 0
    elif op == isa.BPF_MOD and off == 0:
        r = a % b if b else a
    elif op == isa.BPF_MOD:
        sa, sb = s_(a, bits), s_(b, bits)
        r = sa - sb * trunc_div(sa, sb) if sb else a
    elif op == isa.BPF_OR:
        r = a | b
    elif op == isa.BPF_AND:
        r = a & b
    elif op == isa.BPF_XOR:
        r = a ^ b
    elif op == isa.BPF_LSH:
        r = a << (b % bits)
    elif op == isa.BPF_RSH:
        r = a >> (b % bits)
    elif op == isa.BPF_ARSH:
        r = s_(a, bits) >> (b % bits)
    elif op == isa.BPF_NEG:
        r = -a
    elif op == isa.BPF_MOV:
        r = b if off == 0 else s_(s, off)
    else:
        raise AssertionError(op)
    return r & m


def ref_swap(kind: str, width: int, value: int) -> int:
    n = width // 8
    low = (value & ((1 << width) - 1)).to_bytes(n, "little")
    return int.from_bytes(low, "little" if kind == "le" else "big")


def ref_cond(op: int, bits: int, a: int, b: int) -> bool:
    ua, ub = a & ((1 << bits) - 1), b & ((1 << bits) - 1)
    sa, sb = s_(a, bits), s_(b, bits)
    return {isa.BPF_JEQ: ua == ub, isa.BPF_JNE: ua != ub, isa.BPF_JGT: ua > ub,
            isa.BPF_JGE: ua >= ub, isa.BPF_JLT: ua < ub, isa.BPF_JLE: ua <= ub,
            isa.BPF_JSET: bool(ua & ub), isa.BPF_JSGT: sa > sb, isa.BPF_JSGE: sa >= sb,
            isa.BPF_JSLT: sa < sb, isa.BPF_JSLE: sa <= sb}[op]


ALU_VARIANTS = [(op, off) for op in isa.ALU_OPS for off in (0,)] + \
    [(isa.BPF_DIV, 1), (isa.BPF_MOD, 1), (isa.BPF_MOV, 8), (isa.BPF_MOV, 16), (isa.BPF_MOV, 32)]


def _alu_program(op, bits, off, d, s, use_imm):
    cls = isa.BPF_ALU64 if bits == 64 else isa.BPF_ALU
    if op == isa.BPF_NEG:
        insn = Insn(cls | op, 0)
    elif use_imm:
        insn = Insn(cls | isa.BPF_K | op, 0, 0, off, isa.sign_extend(s, 32))
    else:
        insn = Insn(cls | isa.BPF_X | op, 0, 1, off, 0)
    return [isa.ld_imm64(0, d), isa.ld_imm64(1, s), insn, isa.exit_insn()]


# ---- ALU -----------------------------------------------------------------------------------------
@settings(max_examples=600, deadline=None)
@given(st.sampled_from(ALU_VARIANTS), st.sampled_from([32, 64]), values, values)
def test_alu_matches_oracle(variant, bits, d, s):
    op, off = variant
    if (op, off, bits) == (isa.BPF_MOV, 32, 32):
        return
    expected = ref_alu(op, bits, off, d, s)
    assert interp.alu(op, bits == 64, d, s, off) == expected


@settings(max_examples=250, deadline=None)
@given(st.sampled_from(ALU_VARIANTS), st.sampled_from([32, 64]), values, values, st.booleans())
def test_alu_programs_match_oracle(variant, bits, d, s, use_imm):
    """The generated code agrees with the oracle, for register and immediate operands (the
    immediate is the low 32 bits of s, sign-extended, as the ISA defines)."""
    op, off = variant
    if (op, off, bits) == (isa.BPF_MOV, 32, 32) or (use_imm and op == isa.BPF_MOV and off):
        return
    operand = isa.imm64(isa.sign_extend(s, 32)) if use_imm else s
    assert run_raw(_alu_program(op, bits, off, d, s, use_imm)) == ref_alu(op, bits, off, d, operand)


@pytest.mark.parametrize("asm,expected", [
    # 32-bit results are zero-extended; 64-bit immediates are sign-extended
    ("lddw %r0, -1\nadd32 %r0, 1", 0),
    ("lddw %r0, -1\nmov32 %r0, %r0", 0xffffffff),
    ("mov %r0, -1", M64),
    ("mov32 %r0, -1", 0xffffffff),
    ("mov %r0, 0\nadd %r0, -1", M64),
    ("mov %r0, 0\nsub32 %r0, 1", 0xffffffff),
    ("lddw %r0, 0x100000002\nmul32 %r0, 0x80000000", 0),
    # division and modulo by zero
    ("mov %r0, 9\nmov %r1, 0\ndiv %r0, %r1", 0),
    ("lddw %r0, 0x1ffffffff\ndiv32 %r0, 0", 0),
    ("mov %r0, 9\nmov %r1, 0\nmod %r0, %r1", 9),
    ("lddw %r0, -1\nmov %r1, 0\nmod %r0, %r1", M64),
    ("lddw %r0, -1\nmov32 %r1, 0\nmod32 %r0, %r1", 0xffffffff),
    ("lddw %r0, 0x100000000\nmov %r1, 0\nsdiv %r0, %r1", 0),
    ("lddw %r0, -5\nsmod %r0, 0", (-5) & M64),
    ("lddw %r0, -5\nsmod32 %r0, 0", 0xfffffffb),
    # signed division truncates toward zero; remainder has the dividend's sign
    ("mov %r0, -7\nsdiv %r0, 2", (-3) & M64),
    ("mov %r0, 7\nsdiv %r0, -2", (-3) & M64),
    ("mov %r0, -7\nsmod %r0, 2", (-1) & M64),
    ("mov %r0, 7\nsmod %r0, -2", 1),
    ("mov32 %r0, -7\nsdiv32 %r0, 2", 0xfffffffd),
    ("mov32 %r0, -7\nsmod32 %r0, -2", 0xffffffff),
    # INT_MIN / -1
    ("lddw %r0, 0x8000000000000000\nsdiv %r0, -1", 1 << 63),
    ("lddw %r0, 0x8000000000000000\nsmod %r0, -1", 0),
    ("mov32 %r0, 0x80000000\nsdiv32 %r0, -1", 0x80000000),
    ("mov32 %r0, 0x80000000\nsmod32 %r0, -1", 0),
    ("lddw %r0, 0x8000000000000000\nneg %r0", 1 << 63),
    ("mov32 %r0, 0x80000000\nneg32 %r0", 0x80000000),
    ("lddw %r0, 0x100000002\nneg32 %r0", 0xfffffffe),
    # unsigned division of values with the top bit set
    ("lddw %r0, -1\ndiv %r0, 2", M64 >> 1),
    ("lddw %r0, 0xffffffff\nmov32 %r1, 0xfffffffe\ndiv32 %r0, %r1", 1),
    # shift counts are masked
    ("mov %r0, 1\nlsh %r0, 65", 2),
    ("mov %r0, 1\nlsh32 %r0, 33", 2),
    ("mov %r0, 1\nmov %r1, -1\nlsh %r0, %r1", 1 << 63),
    ("lddw %r0, 0x8000000000000000\nrsh %r0, 63", 1),
    ("lddw %r0, 0x8000000000000000\narsh %r0, 63", M64),
    ("mov32 %r0, 0x80000000\narsh32 %r0, 31", 0xffffffff),
    ("lddw %r0, 0x180000000\narsh32 %r0, 4", 0xf8000000),
    ("lddw %r0, 0xf0000000f\nrsh32 %r0, 1", 7),
    # movsx
    ("mov %r1, 0x80\nmovsx864 %r0, %r1", M64 - 0x7f),
    ("mov %r1, 0x80\nmovsx832 %r0, %r1", 0xffffff80),
    ("mov %r1, 0x17fff\nmovsx1664 %r0, %r1", 0x7fff),
    ("lddw %r1, 0x80000000\nmovsx3264 %r0, %r1", 0xffffffff80000000),
    # byte swaps
    ("lddw %r0, 0x1122334455667788\nle16 %r0", 0x7788),
    ("lddw %r0, 0x1122334455667788\nle32 %r0", 0x55667788),
    ("lddw %r0, 0x1122334455667788\nle64 %r0", 0x1122334455667788),
    ("lddw %r0, 0x1122334455667788\nbe16 %r0", 0x8877),
    ("lddw %r0, 0x1122334455667788\nbe32 %r0", 0x88776655),
    ("lddw %r0, 0x1122334455667788\nbe64 %r0", 0x8877665544332211),
    ("lddw %r0, 0x1122334455667788\nbswap16 %r0", 0x8877),
    ("lddw %r0, 0x1122334455667788\nbswap64 %r0", 0x8877665544332211),
])
def test_alu_edge_cases(asm, expected):
    assert run_raw(assemble(asm + "\nexit")) == expected


def test_alu_function_contract():
    assert interp.alu(isa.BPF_ALU64 | isa.BPF_X | isa.BPF_ADD, True, M64, 2) == 1  # full opcode ok
    assert interp.alu(isa.BPF_ADD, True, -1, 2) == 1                             # inputs reduced
    with pytest.raises(ValueError):
        interp.alu(isa.BPF_ADD, True, 1, 1, off=8)
    with pytest.raises(ValueError):
        interp.alu(isa.BPF_END, True, 1, 1)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["le", "be", "bswap"]), st.sampled_from([16, 32, 64]), values)
def test_byteswap_matches_oracle(kind, width, value):
    expected = ref_swap(kind, width, value)
    assert interp.byteswap(kind, width, value) == expected
    opcode = {"le": 0xd4, "be": 0xdc, "bswap": 0xd7}[kind]
    assert interp.byteswap(opcode, width, value) == expected
    prog = [isa.ld_imm64(0, value), isa.endian(kind, 0, width), isa.exit_insn()]
    assert run_raw(prog) == expected


def test_byteswap_rejects_bad_width():
    with pytest.raises(ValueError):
        interp.byteswap("be", 24, 1)


# ---- jumps ---------------------------------------------------------------------------------------
@settings(max_examples=400, deadline=None)
@given(st.sampled_from(list(isa.JMP_CONDS)), st.sampled_from([32, 64]), values, values,
       st.booleans())
def test_conditions_match_oracle(op, bits, a, b, use_imm):
    if use_imm:
        b = isa.imm64(isa.sign_extend(b, 32))      # what the K form compares against
    expected = ref_cond(op, bits, a, b)
    assert interp.cond_taken(op, bits == 32, a, b) is expected
    cls = isa.BPF_JMP if bits == 64 else isa.BPF_JMP32
    jump = (Insn(cls | isa.BPF_K | op, 1, 0, 1, isa.sign_extend(b, 32)) if use_imm
            else Insn(cls | isa.BPF_X | op, 1, 2, 1, 0))
    prog = [isa.ld_imm64(1, a), isa.ld_imm64(2, b), isa.mov64_imm(0, 0), jump, isa.exit_insn(),
            isa.mov64_imm(0, 1), isa.exit_insn()]
    assert run_raw(prog) == int(expected)


def test_jmp32_ignores_high_bits_and_imm_is_sign_extended():
    assert interp.cond_taken(isa.BPF_JEQ, True, 0x1_0000_0005, 5)
    assert not interp.cond_taken(isa.BPF_JEQ, False, 0x1_0000_0005, 5)
    assert interp.cond_taken(isa.BPF_JSLT, True, 0xffffffff, 0)          # -1 < 0 in 32 bits
    assert not interp.cond_taken(isa.BPF_JSLT, False, 0xffffffff, 0)
    assert run_raw(assemble("lddw %r1, 0xffffffff80000000\nmov %r0, 0\n"
                            "jeq %r1, 0x80000000, +1\nexit\nmov %r0, 1\nexit")) == 1
    with pytest.raises(ValueError):
        interp.cond_taken(isa.BPF_JA, False, 0, 0)


def test_ja_gotol_and_backward_loops():
    assert run_raw(assemble("""
        mov %r0, 0
        mov %r1, 10
    loop:
        add %r0, %r1
        sub %r1, 1
        jne %r1, 0, loop
        ja32 out
        mov %r0, 99
    out:
        exit""")) == 55


# ---- memory --------------------------------------------------------------------------------------
def test_raw_memory_loads_stores_and_sign_extension():
    mem = bytes(range(0x80, 0x90))
    assert run_raw(assemble("ldxdw %r0, [%r1+8]\nexit"), mem) == 0x8f8e8d8c8b8a8988
    assert run_raw(assemble("ldxh %r0, [%r1+1]\nexit"), mem) == 0x8281
    assert run_raw(assemble("ldxsb %r0, [%r1]\nexit"), mem) == M64 - 0x7f
    assert run_raw(assemble("ldxsh %r0, [%r1+2]\nexit"), mem) == 0xffffffffffff8382
    assert run_raw(assemble("ldxsw %r0, [%r1+4]\nexit"), mem) == 0xffffffff87868584
    assert run_raw(assemble("mov %r0, %r2\nexit"), mem) == 16
    assert run_raw(assemble("stw [%r1+4], -2\nldxdw %r0, [%r1]\nexit"), mem) == \
        0xfffffffe83828180
    assert run_raw(assemble("stdw [%r10-8], -2\nldxdw %r0, [%r10-8]\nexit")) == M64 - 1
    assert run_raw(assemble("lddw %r3, 0x1122334455667788\nstxh [%r10-2], %r3\n"
                            "ldxdw %r0, [%r10-8]\nexit")) == 0x7788 << 48


def test_input_buffer_is_a_copy():
    mem = bytearray(8)
    run_raw(assemble("stdw [%r1], 1\nexit"), bytes(mem))
    assert mem == bytearray(8)


@pytest.mark.parametrize("asm,pc,address,size,access,detail", [
    ("ldxw %r0, [%r1+5]\nexit", 0, interp.RAW_BASE + 5, 4, "read", "outside input"),
    ("mov %r0, 0\nstxb [%r1-1], %r0\nexit", 1, interp.RAW_BASE - 1, 1, "write", "no memory mapped"),
    ("ldxdw %r0, [%r10]\nexit", 0, STACK_TOP, 8, "read", "outside stack"),
    ("ldxb %r0, [%r10-513]\nexit", 0, STACK_BASE - 1, 1, "read", "no memory mapped"),
    ("mov %r1, 0\nldxb %r0, [%r1]\nexit", 1, 0, 1, "read", "no memory mapped"),
    ("lddw %r1, -1\nldxb %r0, [%r1+1]\nexit", 2, 0, 1, "read", "no memory mapped"),
    ("mov %r0, 1\nlock add [%r10+0], %r0\nexit", 1, STACK_TOP, 8, "write", "outside stack"),
    ("mov %r0, 1\nlock fetch or32 [%r10-2], %r0\nexit", 1, STACK_TOP - 2, 4, "write",
     "outside stack"),
])
def test_memory_faults_name_pc_address_and_size(asm, pc, address, size, access, detail):
    with pytest.raises(MemoryFault) as info:
        run_raw(assemble(asm), bytes(8))
    exc = info.value
    assert (exc.pc, exc.address, exc.size, exc.access) == (pc, address, size, access)
    assert str(exc).startswith(f"pc {pc}: {access} of {size} byte")
    assert f"{address:#x}" in str(exc) and detail in str(exc)


def test_memory_class_directly():
    mem = interp.Memory()
    region = mem.add(interp.Region("r", 0x5000_0000, bytearray(16), 4, 12))
    mem.store(0x5000_0004, 4, 0xdeadbeef)
    assert mem.load(0x5000_0004, 2) == 0xbeef
    assert mem.read(0x5000_0004, 4) == bytes.fromhex("efbeadde")
    mem.write(0x5000_0008, b"\x01\x02")
    assert region.buf[8:10] == b"\x01\x02"
    assert mem.atomic(0x5000_0004, 4, isa.BPF_ADD | isa.BPF_FETCH, 1) == 0xdeadbeef
    assert mem.load(0x5000_0004, 4) == 0xdeadbef0
    for bad in (lambda: mem.load(0x5000_0003, 1), lambda: mem.load(0x5000_000b, 2),
                lambda: mem.read(0x5000_0000, 5), lambda: mem.write(0x5000_000b, b"ab")):
        with pytest.raises(MemoryFault):
            bad()
    with pytest.raises(ValueError):
        mem.add(interp.Region("clash", 0x5000_1000, bytearray(4), 0, 4))
    assert mem.region("r") is region and mem.regions == [region]


# ---- atomics -------------------------------------------------------------------------------------
@pytest.mark.parametrize("asm,expected", [
    ("lock add [%r10-8], %r1\nldxdw %r0, [%r10-8]", 0x10 + 3),
    ("lock or32 [%r10-8], %r1\nldxdw %r0, [%r10-8]", 0x13),
    ("lock and [%r10-8], %r1\nldxdw %r0, [%r10-8]", 0),
    ("lock xor [%r10-8], %r1\nldxdw %r0, [%r10-8]", 0x13),
    ("lock fetch add [%r10-8], %r1\nmov %r0, %r1", 0x10),
    ("lock fetch or32 [%r10-8], %r1\nldxdw %r0, [%r10-8]\nadd %r0, %r1", 0x13 + 0x10),
    ("lock xchg [%r10-8], %r1\nldxdw %r0, [%r10-8]\nlsh %r0, 8\nor %r0, %r1", 0x0310),
    ("mov %r0, 0x10\nlock cmpxchg [%r10-8], %r1\nldxdw %r1, [%r10-8]\nlsh %r1, 8\nor %r0, %r1",
     0x0310),
    ("mov %r0, 0x11\nlock cmpxchg [%r10-8], %r1\nldxdw %r1, [%r10-8]\nlsh %r1, 8\nor %r0, %r1",
     0x1010),
])
def test_atomics(asm, expected):
    prog = "stdw [%r10-8], 0x10\nmov %r1, 3\n" + asm + "\nexit"
    assert run_raw(assemble(prog)) == expected


def test_atomic32_results_are_zero_extended_and_touch_four_bytes():
    prog = assemble("lddw %r2, 0xffffffffffffffff\nstxdw [%r10-8], %r2\n"
                    "lddw %r1, 0xaaaaaaaa00000001\nlock fetch add32 [%r10-8], %r1\n"
                    "ldxdw %r0, [%r10-8]\nexit")
    assert run_raw(prog) == 0xffffffff00000000
    prog = assemble("stdw [%r10-8], -1\nlddw %r1, 0x1111111100000005\n"
                    "lock fetch add32 [%r10-8], %r1\nmov %r0, %r1\nexit")
    assert run_raw(prog) == 0xffffffff
    assert run_raw(assemble("stdw [%r10-8], 7\nlddw %r0, 0x5500000007\nmov %r1, 9\n"
                            "lock cmpxchg32 [%r10-8], %r1\nldxdw %r1, [%r10-8]\nlsh %r1, 8\n"
                            "or %r0, %r1\nexit")) == 0x907


def test_atomic_rmw_function():
    assert interp.atomic_rmw(isa.BPF_ADD, 32, 0xffffffff, 1) == (0, None)
    assert interp.atomic_rmw(isa.BPF_XOR | isa.BPF_FETCH, 64, 6, 3) == (5, 6)
    assert interp.atomic_rmw(isa.BPF_XCHG, 32, 1, 0x1_0000_0002) == (2, 1)
    assert interp.atomic_rmw(isa.BPF_CMPXCHG, 64, 5, 9, r0=5) == (9, 5)
    assert interp.atomic_rmw(isa.BPF_CMPXCHG, 64, 5, 9, r0=4) == (None, 5)
    with pytest.raises(ValueError):
        interp.atomic_rmw(0x02, 64, 0, 0)


# ---- budget --------------------------------------------------------------------------------------
def test_budget_is_exact():
    prog = assemble("mov %r0, 1\nlddw %r1, 2\nadd %r0, %r1\nexit")     # 4 instructions
    assert run_raw(prog, budget=4) == 3
    with pytest.raises(BudgetExceeded, match=r"^pc 4: instruction budget of 3"):
        run_raw(prog, budget=3)
    with pytest.raises(BudgetExceeded) as info:
        run_raw(prog, budget=1)
    assert info.value.pc == 1


def test_budget_stops_infinite_loop_and_faults_win_before_budget():
    with pytest.raises(BudgetExceeded):
        run_raw(assemble("loop:\nja loop"), budget=1000)
    # the fault at pc 1 comes before the budget would run out at pc 2
    prog = assemble("mov %r0, 0\nldxb %r0, [%r0]\nexit")
    with pytest.raises(MemoryFault):
        run_raw(prog, budget=2)
    assert run_xdp(assemble("mov %r0, 2\nexit"), b"").insns == 2


def test_xdp_insn_count():
    prog = assemble("mov %r0, 0\nmov %r1, 5\nloop:\nadd %r0, 1\nsub %r1, 1\njne %r1, 0, loop\nexit")
    assert run_xdp(prog, bytes(14)).insns == 2 + 5 * 3 + 1


# ---- control-flow errors and unsupported instructions -------------------------------------------
@pytest.mark.parametrize("insns,exc,pc,text", [
    ([isa.mov64_imm(0, 1)], InvalidJump, 0, "past the last instruction"),
    ([isa.ja(5), isa.exit_insn()], InvalidJump, 0, "to pc 6, outside the program"),
    ([isa.ja(-3), isa.exit_insn()], InvalidJump, 0, "to pc -2"),
    ([isa.ja(1), isa.ld_imm64(0, 1), isa.exit_insn()], InvalidJump, 0, "inside an lddw"),
    ([isa.call_local(7), isa.exit_insn()], InvalidJump, 0, "outside the program"),
    ([isa.gotol(100)], InvalidJump, 0, "outside the program"),
    ([], InvalidJump, 0, "empty program"),
    ([Insn(0xff), isa.exit_insn()], UnsupportedInsn, 0, "unknown opcode 0xff"),
    ([isa.mov64_imm(10, 1), isa.exit_insn()], UnsupportedInsn, 0, "read-only"),
    ([Insn(0x07, 1, 3, 0, 1), isa.exit_insn()], UnsupportedInsn, 0, "reserved field src"),
    ([isa.ld_imm64(1, 3, src=isa.BPF_PSEUDO_BTF_ID), isa.exit_insn()], UnsupportedInsn, 0,
     "BTF variable"),
    ([isa.mov64_imm(0, 0), isa.call_helper(1), isa.exit_insn()], UnsupportedInsn, 1,
     "bpf_map_lookup_elem (1)"),
    ([Insn(0x85, 0, 2, 0, 7), isa.exit_insn()], UnsupportedInsn, 0, "BTF id 7"),
    ([Insn(0x20, 0, 0, 0, 0), isa.exit_insn()], UnsupportedInsn, 0, "legacy packet access"),
    ([isa.mov64_imm(2, 9), isa.callx(2), isa.exit_insn()], UnsupportedInsn, 1,
     "bpf_skb_store_bytes (9)"),
])
def test_errors_name_the_pc(insns, exc, pc, text):
    with pytest.raises(exc) as info:
        run_raw(insns)
    assert info.value.pc == pc and text in str(info.value)
    assert str(info.value).startswith(f"pc {pc}: ")


def test_invalid_instruction_only_fails_when_reached():
    prog = [isa.mov64_imm(0, 4), isa.ja(1), Insn(0xff), isa.exit_insn()]
    assert run_raw(prog) == 4


# ---- helpers and calls ---------------------------------------------------------------------------
def test_helpers_table_and_callx():
    seen = []

    def helper(mem, pc, r1, r2, r3, r4, r5):
        seen.append((pc, r1, r2, r3, r4, r5))
        return -1                              # reduced to u64

    prog = assemble("mov %r1, 1\nmov %r2, 2\nmov %r3, 3\nmov %r4, 4\nmov %r5, 5\ncall 42\n"
                    "mov %r6, %r0\nmov %r7, 42\ncall %r7\nadd %r0, %r6\nexit")
    assert run_raw(prog, helpers={42: helper}) == (2 * M64) & M64
    assert seen == [(5, 1, 2, 3, 4, 5), (8, 1, 2, 3, 4, 5)]
    assert interp.HELPERS == {}                # nothing modelled by default yet


def test_helper_can_use_memory():
    def store_len(mem, pc, r1, r2, r3, r4, r5):
        mem.write(r1, r2.to_bytes(2, "little"), pc)
        return 0

    prog = assemble("mov %r1, %r10\nadd %r1, -2\nmov %r2, 0x1234\ncall 7\nldxh %r0, [%r10-2]\nexit")
    assert run_raw(prog, helpers={7: store_len}) == 0x1234
    prog = assemble("mov %r1, %r10\nmov %r2, 1\ncall 7\nexit")
    with pytest.raises(MemoryFault, match="pc 2: write of 2 bytes"):
        run_raw(prog, helpers={7: store_len})


def test_local_call_frames():
    prog = assemble("""
        mov %r6, 6
        mov %r9, 9
        stdw [%r10-8], 77
        mov %r1, %r10
        call local f
        ldxdw %r2, [%r10-8]     # caller frame intact
        jne %r2, 77, bad
        jne %r6, 6, bad         # callee-saved registers restored
        jne %r9, 9, bad
        exit
    bad:
        mov %r0, -1
        exit
    f:
        mov %r6, 0
        mov %r9, 0
        ldxdw %r0, [%r10-8]     # fresh frame: zero
        mov %r3, %r10
        sub %r3, %r1            # callee r10 = caller r10 + 512
        lsh %r3, 8
        or %r0, %r3
        ldxdw %r4, [%r1-8]      # the caller's frame is reachable through a pointer
        lsh %r4, 32
        or %r0, %r4
        stdw [%r10-8], 5
        exit""")
    assert run_raw(prog) == (77 << 32) | (512 << 8)


def test_callee_frame_is_gone_after_return():
    prog = assemble("""
        call local f
        ldxdw %r0, [%r0-8]
        exit
    f:
        mov %r0, %r10
        exit""")
    with pytest.raises(MemoryFault, match="outside stack"):
        run_raw(prog)


def test_call_depth():
    def chain(depth):
        text = "".join(f"f{i}:\ncall local f{i + 1}\nexit\n" for i in range(depth))
        return assemble(text + f"f{depth}:\nmov %r0, 1\nexit")

    assert run_raw(chain(interp.MAX_CALL_DEPTH - 1)) == 1
    with pytest.raises(CallDepthExceeded) as info:
        run_raw(chain(interp.MAX_CALL_DEPTH))
    assert info.value.pc == 2 * (interp.MAX_CALL_DEPTH - 1) and "8 frames" in str(info.value)


def test_recursion():
    prog = assemble("""
        mov %r1, 10
        call local fact
        exit
    fact:
        mov %r0, 1
        jeq %r1, 0, done
        mov %r6, %r1
        sub %r1, 1
        call local fact
        mul %r0, %r6
    done:
        exit""")
    with pytest.raises(CallDepthExceeded):
        run_raw(prog)
    assert run_raw([isa.mov64_imm(1, 6)] + prog[1:]) == 720


# ---- XDP -----------------------------------------------------------------------------------------
def test_xdp_context_fields():
    prog = assemble("""
        ldxw %r2, [%r1+0]
        ldxw %r3, [%r1+4]
        ldxw %r4, [%r1+8]
        ldxw %r5, [%r1+12]
        ldxw %r6, [%r1+16]
        ldxw %r7, [%r1+20]
        stxw [%r10-24], %r2
        stxw [%r10-20], %r3
        stxw [%r10-16], %r4
        stxw [%r10-12], %r5
        stxw [%r10-8], %r6
        stxw [%r10-4], %r7
        mov %r0, 2
        exit""")
    mem = interp.xdp_memory(bytes(60), ingress_ifindex=7, rx_queue_index=3)
    regs = [0] * 11
    regs[1], regs[10] = CTX_BASE, STACK_TOP
    r0, _ = interp.compile_program(prog).execute(mem, regs)
    fields = struct.unpack("<6I", mem.read(STACK_TOP - 24, 24))
    assert fields == (PKT_DATA, PKT_DATA + 60, PKT_DATA, 7, 3, 0)
    assert PKT_DATA == PKT_BASE + HEADROOM and r0 == 2


@pytest.mark.parametrize("asm,detail", [
    ("stw [%r1+0], 0", "context is read-only"),
    ("ldxdw %r0, [%r1+0]", "only aligned 4-byte loads"),
    ("ldxh %r0, [%r1+0]", "only aligned 4-byte loads"),
    ("ldxw %r0, [%r1+2]", "only aligned 4-byte loads"),
    ("ldxw %r0, [%r1+24]", "outside context"),
    ("mov %r0, 1\nlock add [%r1+0], %r0", "read-only"),
])
def test_context_access_rules(asm, detail):
    with pytest.raises(MemoryFault, match=detail):
        run_xdp(assemble(asm + "\nexit"), bytes(64))


def test_packet_bounds_and_headroom():
    pkt = bytes(range(64))
    get = "ldxw %r2, [%r1+0]\nldxw %r3, [%r1+4]\n"
    assert run_xdp(assemble(get + "ldxb %r0, [%r2+63]\nexit"), pkt).action == 63
    assert run_xdp(assemble(get + "mov %r0, %r3\nsub %r0, %r2\nexit"), pkt).action == 64
    with pytest.raises(MemoryFault) as info:
        run_xdp(assemble(get + "ldxb %r0, [%r2+64]\nexit"), pkt)
    assert (info.value.pc, info.value.address) == (2, PKT_DATA + 64)
    assert "outside packet" in str(info.value)
    with pytest.raises(MemoryFault) as info:                 # headroom is not readable
        run_xdp(assemble(get + "ldxb %r0, [%r2-1]\nexit"), pkt)
    assert info.value.address == PKT_DATA - 1
    with pytest.raises(MemoryFault):
        run_xdp(assemble(get + "ldxw %r0, [%r2+62]\nexit"), pkt)   # straddles data_end


def test_packet_writes_are_returned_and_action_truncated():
    prog = assemble("""
        ldxw %r2, [%r1+0]
        ldxb %r3, [%r2+0]
        stxb [%r2+1], %r3
        sth [%r2+2], 0x4142
        lddw %r0, 0x100000003
        exit""")
    res = run_xdp(prog, b"\x09\x00\x00\x00\xff")
    assert res == interp.XdpResult(action=3, packet=b"\x09\x09\x42\x41\xff", insns=6)


def test_packet_size_limits():
    assert run_xdp(assemble("mov %r0, 1\nexit"), bytes(PKT_MAX)).packet == bytes(PKT_MAX)
    with pytest.raises(InterpError, match="exceeds PKT_MAX"):
        run_xdp(assemble("mov %r0, 1\nexit"), bytes(PKT_MAX + 1))


def test_empty_packet_and_stack_start_zeroed():
    prog = assemble("ldxdw %r0, [%r10-8]\nldxdw %r1, [%r10-512]\nor %r0, %r1\nexit")
    assert run_xdp(prog, b"").action == 0


# ---- translation: block mode == step mode; nothing but InterpError escapes -----------------------
_STRAIGHT = st.sampled_from([
    "add %r{a}, %r{b}", "sub32 %r{a}, {i}", "mul %r{a}, %r{b}", "div32 %r{a}, %r{b}",
    "sdiv %r{a}, {i}", "mod %r{a}, %r{b}", "smod32 %r{a}, %r{b}", "lsh %r{a}, %r{b}",
    "arsh32 %r{a}, {i}", "xor %r{a}, {i}", "neg %r{a}", "mov32 %r{a}, %r{b}",
    "movsx1664 %r{a}, %r{b}",
    "be32 %r{a}", "bswap64 %r{a}", "stxdw [%r10-{s}], %r{a}", "ldxw %r{a}, [%r10-{s}]",
    "ldxsh %r{a}, [%r10-{s}]", "lock fetch add [%r10-{s}], %r{a}", "lddw %r{a}, {w}",
    "jsgt %r{a}, %r{b}, +1", "jset32 %r{a}, {i}, +2", "jlt %r{a}, {i}, +1",
])


@st.composite
def straight_programs(draw):
    lines = ["stdw [%r10-8], 1", "stdw [%r10-16], 2", "stdw [%r10-24], 3", "stdw [%r10-32], 4"]
    lines += [f"lddw %r{r}, {draw(u64)}" for r in range(6)]
    for _ in range(draw(st.integers(1, 25))):
        tmpl = draw(_STRAIGHT)
        lines.append(tmpl.format(a=draw(st.integers(0, 5)), b=draw(st.integers(0, 5)),
                                 i=draw(st.integers(-(1 << 31), (1 << 31) - 1)),
                                 s=8 * draw(st.integers(1, 4)), w=draw(u64)))
    lines += ["exit", "exit", "exit"]
    return assemble("\n".join(lines))


@settings(max_examples=120, deadline=None)
@given(straight_programs())
def test_block_and_step_translations_agree(prog):
    results = []
    for step in (False, True):
        mem = interp.raw_memory(b"")
        regs = [0] * 11
        regs[10] = STACK_TOP
        try:
            r0, count = interp.compile_program(prog).execute(mem, regs, step=step)
            results.append((r0, count, bytes(mem.region("stack").buf[:STACK_SIZE])))
        except InterpError as exc:       # e.g. a generated jump into an lddw: same error both ways
            results.append((type(exc), str(exc), bytes(mem.region("stack").buf[:STACK_SIZE])))
    assert results[0] == results[1]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(-8, 8),
                          st.integers(-600, 600)), min_size=1, max_size=16),
       st.binary(max_size=40))
def test_arbitrary_code_raises_only_interp_errors(slots, packet):
    """Random bytecode (opcodes, registers, small offsets and immediates) never makes the
    interpreter raise anything but an InterpError."""
    code = b"".join(struct.pack("<BBhi", op, regs, off, imm) for op, regs, off, imm in slots)
    try:
        insns = isa.decode(code)
    except isa.IsaError:
        return
    for run in (lambda: run_xdp(insns, packet, budget=200),
                lambda: run_raw(insns, packet, budget=200)):
        try:
            run()
        except InterpError:
            pass


def test_compile_cache_reuses_translation():
    prog = assemble("mov %r0, 2\nexit")
    assert interp.compile_program(prog) is interp.compile_program(prog)
    assert interp.compile_program(list(prog)) is interp.compile_program(prog)
    compiled = interp.compile_program(prog)
    assert interp.compile_program(compiled) is compiled
    assert run_xdp(compiled, b"").action == 2
    assert "def run(M, H, S, budget):" in compiled.source()


# ---- benchmark section ---------------------------------------------------------------------------
def test_interp_benchmark_runs_every_shipped_program(capsys):
    from jit.cli import bench
    from jit.paths import PROGRAM_NAMES, program_object

    assert "interp" in bench.BENCHMARKS
    args = argparse.Namespace(seconds=0.01)
    rows = bench.BENCHMARKS["interp"].run(args)
    by_name = {r["program"]: r for r in rows}
    for name in PROGRAM_NAMES:
        if program_object(name).exists():
            assert by_name[name]["errors"] == 0 and by_name[name]["insns_per_s"] > 0
    assert by_name["synthetic byte-sum loop"]["insns_per_packet"] > 1000
    counter = by_name["synthetic per-CPU counter (maps)"]
    assert counter["errors"] == 0 and counter["insns_per_packet"] == 15   # every lookup hits
    from jit.cli import main as jitnic
    assert jitnic(["bench", "interp", "--seconds", "0.01", "--json"]) == 0
    assert '"section": "interp"' in capsys.readouterr().out
