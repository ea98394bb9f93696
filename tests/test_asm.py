"""jit.ebpf.asm: the conformance-suite assembler and the .data file reader."""
from __future__ import annotations

import pytest

from jit.ebpf import isa
from jit.ebpf.asm import AsmError, assemble, parse_data_file, parse_int
from jit.ebpf.isa import Insn


def one(text: str) -> Insn:
    insns = assemble(text)
    assert len(insns) == 1
    return insns[0]


@pytest.mark.parametrize("text,insn", [
    ("mov %r0, 1", Insn(0xb7, 0, 0, 0, 1)),
    ("mov64 %r0, -1", Insn(0xb7, 0, 0, 0, -1)),
    ("mov32 %r1, 0x80", Insn(0xb4, 1, 0, 0, 0x80)),
    ("mov32 %r1, 0xffffffff", Insn(0xb4, 1, 0, 0, -1)),
    ("add %r0, %r1", Insn(0x0f, 0, 1)),
    ("add32 %r0, %r9", Insn(0x0c, 0, 9)),
    ("sub %r3, 7", Insn(0x17, 3, 0, 0, 7)),
    ("mul32 %r3, -7", Insn(0x24, 3, 0, 0, -7)),
    ("div %r1, %r2", Insn(0x3f, 1, 2)),
    ("sdiv %r1, %r2", Insn(0x3f, 1, 2, 1, 0)),
    ("sdiv32 %r1, -3", Insn(0x34, 1, 0, 1, -3)),
    ("mod32 %r1, 3", Insn(0x94, 1, 0, 0, 3)),
    ("smod %r1, %r2", Insn(0x9f, 1, 2, 1, 0)),
    ("or %r1, 0x10", Insn(0x47, 1, 0, 0, 0x10)),
    ("and32 %r1, %r2", Insn(0x5c, 1, 2)),
    ("lsh %r1, 65", Insn(0x67, 1, 0, 0, 65)),
    ("rsh32 %r1, %r2", Insn(0x7c, 1, 2)),
    ("arsh %r1, -1", Insn(0xc7, 1, 0, 0, -1)),
    ("xor %r1, %r2", Insn(0xaf, 1, 2)),
    ("neg %r0", Insn(0x87, 0)),
    ("neg32 %r4", Insn(0x84, 4)),
    ("movsx832 %r2, %r1", Insn(0xbc, 2, 1, 8, 0)),
    ("movsx1632 %r2, %r1", Insn(0xbc, 2, 1, 16, 0)),
    ("movsx864 %r2, %r1", Insn(0xbf, 2, 1, 8, 0)),
    ("movsx3264 %r2, %r1", Insn(0xbf, 2, 1, 32, 0)),
    ("be16 %r0", Insn(0xdc, 0, 0, 0, 16)),
    ("le64 %r3", Insn(0xd4, 3, 0, 0, 64)),
    ("bswap32 %r0", Insn(0xd7, 0, 0, 0, 32)),
    ("swap64 %r0", Insn(0xd7, 0, 0, 0, 64)),
    ("lddw %r0, 0x1122334455667788", Insn(0x18, 0, 0, 0, 0x1122334455667788)),
    ("lddw %r9, -2", Insn(0x18, 9, 0, 0, isa.MASK64 - 1)),
    ("ldxw %r0, [%r1+4]", Insn(0x61, 0, 1, 4, 0)),
    ("ldxdw %r0, [%r1]", Insn(0x79, 0, 1, 0, 0)),
    ("ldxb %r0, [%r10 - 8]", Insn(0x71, 0, 10, -8, 0)),
    ("ldxh %r0, [%r1+0x10]", Insn(0x69, 0, 1, 16, 0)),
    ("ldxsb %r0, [%r1+1]", Insn(0x91, 0, 1, 1, 0)),
    ("ldxsw %r0, [%r1]", Insn(0x81, 0, 1, 0, 0)),
    ("stxdw [%r10-8], %r1", Insn(0x7b, 10, 1, -8, 0)),
    ("stxb [%r1+2], %r3", Insn(0x73, 1, 3, 2, 0)),
    ("stdw [%r10-16], 0xab", Insn(0x7a, 10, 0, -16, 0xab)),
    ("sth [%r0], 0x1234", Insn(0x6a, 0, 0, 0, 0x1234)),
    ("stw [%r1+4], -1", Insn(0x62, 1, 0, 4, -1)),
    ("ja +3", Insn(0x05, 0, 0, 3, 0)),
    ("ja -1", Insn(0x05, 0, 0, -1, 0)),
    ("ja32 +2", Insn(0x06, 0, 0, 0, 2)),
    ("jne %r0, 15, +1", Insn(0x55, 0, 0, 1, 15)),
    ("jne32 %r2, 0xffffff80, +4", Insn(0x56, 2, 0, 4, -128)),
    ("jsgt %r1, %r2, -2", Insn(0x6d, 1, 2, -2, 0)),
    ("jset32 %r1, %r2, +0", Insn(0x4e, 1, 2, 0, 0)),
    ("lock add [%r10-8], %r1", Insn(0xdb, 10, 1, -8, 0x00)),
    ("lock add32 [%r10-4], %r1", Insn(0xc3, 10, 1, -4, 0x00)),
    ("lock or [%r10-8], %r1", Insn(0xdb, 10, 1, -8, 0x40)),
    ("lock fetch and32 [%r10-4], %r3", Insn(0xc3, 10, 3, -4, 0x51)),
    ("lock fetch xor [%r10-8], %r1", Insn(0xdb, 10, 1, -8, 0xa1)),
    ("lock xchg [%r10-8], %r1", Insn(0xdb, 10, 1, -8, 0xe1)),
    ("lock cmpxchg32 [%r10-8], %r1", Insn(0xc3, 10, 1, -8, 0xf1)),
    ("call 5", Insn(0x85, 0, 0, 0, 5)),
    ("call %r2", Insn(0x8d, 2)),
    ("exit", Insn(0x95)),
    ("EXIT   # trailing comment", Insn(0x95)),
])
def test_forms(text, insn):
    assert one(text) == insn


def test_labels_count_slots():
    prog = assemble("""
        start:
        mov %r0, 0
        lddw %r1, 5        # two slots
        jeq %r1, 5, done
        ja start
        done: exit
    """)
    assert [i.opcode for i in prog] == [0xb7, 0x18, 0x15, 0x05, 0x95]
    # pcs: 0 mov, 1 lddw, 3 jeq, 4 ja, 5 exit
    assert prog[2].off == 5 - 4 and prog[3].off == 0 - 5


def test_exit_names_the_first_exit_unless_defined():
    prog = assemble("jeq %r1, 0, exit\nmov %r0, 1\nexit\nmov %r0, 2\nexit")
    assert prog[0].off == 1
    prog = assemble("jeq %r1, 0, exit\nexit\nexit:\nexit")
    assert prog[0].off == 1


def test_call_local_and_ja32_labels():
    prog = assemble("call local f\nexit\nf:\nja32 g\ng:\nexit")
    assert prog[0] == Insn(0x85, 0, 1, 0, 1)
    assert prog[2] == Insn(0x06, 0, 0, 0, 0)


@pytest.mark.parametrize("text,message", [
    ("frobnicate %r0", "unknown mnemonic"),
    ("mov %r11, 1", "register"),
    ("mov %r1", "takes 2 operand"),
    ("ja nowhere", "unknown label 'nowhere'"),
    ("a:\na:\nexit", "defined twice"),
    ("ldxw %r0, %r1", "memory operand"),
    ("mov %r0, zz", "not a number"),
    ("mov %r0, 0x100000000", "does not fit in 32 bits"),
    ("jeq %r0, 1, +40000", "does not fit in 16 bits"),
])
def test_errors(text, message):
    with pytest.raises(AsmError, match=message):
        assemble("mov %r0, 0\n" + text)


def test_error_names_line():
    with pytest.raises(AsmError, match=r"line 3 \('bogus'\)"):
        assemble("exit\n\nbogus\n")


def test_parse_int():
    assert parse_int("0x10") == 16 and parse_int("-0x10") == -16 and parse_int("010") == 10
    assert parse_int("+5") == 5 and parse_int("0XfF") == 255


def test_parse_data_file(tmp_path):
    f = tmp_path / "sample.data"
    f.write_text("# header comment\r\n"
                 "-- asm\n"
                 "ldxh %r0, [%r1+2]   # load\n"
                 "exit\n"
                 "-- mem\n"
                 "00 01 02\n"
                 "03\n"
                 "-- result\n"
                 "0x1\n"
                 "0x302\n"
                 "-- c\n"
                 "int main() { return 0; } # ignored\n"
                 "-- no register offset\n"
                 "free text\n")
    case = parse_data_file(f)
    assert case.name == "sample"
    assert case.insns == [Insn(0x69, 0, 1, 2, 0), Insn(0x95)]
    assert case.mem == bytes([0, 1, 2, 3])
    assert case.result == 0x302           # last line wins
    assert case.skip is None and not case.raw


def test_parse_data_file_raw_wins_and_unknown_section(tmp_path):
    f = tmp_path / "raw.data"
    f.write_text("-- asm\nmov %r0, 1\nexit\n"
                 "-- raw\n0x5566778800000018\n0x1122334400000000\n0x0000000000000095\n"
                 "-- result\n-1\n-- error\nsome error text\n-- fancy\nstuff\n")
    case = parse_data_file(f)
    assert case.raw and case.insns == [Insn(0x18, 0, 0, 0, 0x1122334455667788), Insn(0x95)]
    assert case.result == isa.MASK64 and case.error == "some error text"
    assert case.skip and "fancy" in case.skip


def test_parse_data_file_bad_asm(tmp_path):
    f = tmp_path / "bad.data"
    f.write_text("-- asm\nnope\n-- result\n0\n")
    with pytest.raises(AsmError, match="bad.data: line 1"):
        parse_data_file(f)


def test_wide_offsets_for_ja32_and_call_local():
    assert one("ja32 +40000") == Insn(0x06, 0, 0, 0, 40000)
    assert one("call local -70000") == Insn(0x85, 0, 1, 0, -70000)
