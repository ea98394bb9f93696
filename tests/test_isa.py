"""jit.ebpf.isa: the opcode table, decode/encode, validation and disassembly text."""
from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jit.ebpf import isa
from jit.ebpf.isa import Insn, IsaError


def raw(opcode, dst=0, src=0, off=0, imm=0) -> bytes:
    """One slot, packed independently of jit.ebpf.isa."""
    return struct.pack("<BBhi", opcode, (src << 4) | dst, off, imm)


# ---- the table ---------------------------------------------------------------------------------
def test_table_covers_every_class_and_kind():
    assert {s.opcode & 7 for s in isa.SPECS} == set(range(8))
    assert {s.kind for s in isa.SPECS} == {isa.ALU, isa.END, isa.JA, isa.JCOND, isa.CALL, isa.CALLX,
                                           isa.EXIT, isa.LDDW, isa.LDX, isa.LDXSX, isa.ST, isa.STX,
                                           isa.ATOMIC, isa.LDABS, isa.LDIND}


def test_table_is_unambiguous():
    """No two entries claim the same (opcode, selector value)."""
    seen = set()
    for spec in isa.SPECS:
        key = (spec.opcode, spec.select, spec.value)
        assert key not in seen, spec
        seen.add(key)
    for opcode, specs in isa.SPECS_BY_OPCODE.items():
        assert len({s.select for s in specs}) == 1, opcode     # one selector field per opcode


@pytest.mark.parametrize("opcode,count", [
    (0x07, 1), (0x0f, 1), (0x04, 1), (0x0c, 1),       # add
    (0x37, 1), (0x3f, 1), (0x34, 1), (0x3c, 1),       # div
    (0x87, 1), (0x84, 1), (0x8f, 0), (0x8c, 0),       # neg only with the K bit
    (0xd4, 1), (0xdc, 1), (0xd7, 1), (0xdf, 0),       # le, be, bswap
    (0x05, 1), (0x06, 1), (0x85, 1), (0x8d, 1), (0x95, 1), (0x86, 0), (0x96, 0), (0x8e, 0),
    (0x18, 1), (0x00, 0), (0x20, 1), (0x38, 0), (0x40, 1),
    (0x61, 1), (0x79, 1), (0x81, 1), (0x91, 1), (0x99, 0),
    (0x62, 1), (0x7a, 1), (0x63, 1), (0x7b, 1), (0xc3, 1), (0xdb, 1), (0xcb, 0), (0xd3, 0),
])
def test_opcode_is_known(opcode, count):
    assert (1 if opcode in isa.SPECS_BY_OPCODE else 0) == count


def test_spec_selection_by_field():
    assert isa.spec_of(Insn(0x3f, 1, 2, 1, 0)).name == "sdiv"
    assert isa.spec_of(Insn(0x3f, 1, 2, 0, 0)).name == "div"
    assert isa.spec_of(Insn(0x3f, 1, 2, 2, 0)) is None
    assert isa.spec_of(Insn(0xbf, 1, 2, 16, 0)).name == "movsx1664"
    assert isa.spec_of(Insn(0xbc, 1, 2, 32, 0)) is None          # no movsx32 to 32 bits
    assert isa.spec_of(Insn(0xb7, 1, 0, 8, 0)) is None           # movsx has no immediate form
    assert isa.spec_of(Insn(0xdc, 1, 0, 0, 32)).name == "be32"
    assert isa.spec_of(Insn(0xdc, 1, 0, 0, 24)) is None
    assert isa.spec_of(Insn(0xdb, 1, 2, 0, 0xa1)).name == "lock_fetch_xor"
    assert isa.spec_of(Insn(0xc3, 1, 2, 0, 0xe1)).name == "lock_xchg32"
    assert isa.spec_of(Insn(0xdb, 1, 2, 0, 0x02)) is None
    assert isa.spec_of(Insn(0x85, 0, 1, 0, 4)).name == "call_local"
    assert isa.spec_of(Insn(0x85, 0, 3, 0, 4)) is None
    assert isa.spec_of(Insn(0x18, 1, 2, 0, 5)).name == "lddw_map_value"
    assert isa.spec_of(Insn(0x18, 1, 7, 0, 5)) is None


@pytest.mark.parametrize("insn,reason", [
    (Insn(0x07, 1, 2, 0, 1), "reserved field src"),
    (Insn(0x0f, 1, 2, 0, 1), "reserved field imm"),
    (Insn(0x07, 1, 0, 3, 1), "reserved field off"),
    (Insn(0x87, 1, 0, 0, 1), "reserved field imm"),
    (Insn(0x95, 1), "reserved field dst"),
    (Insn(0x05, 0, 0, 1, 2), "reserved field imm"),
    (Insn(0x61, 1, 11, 0, 0), "invalid register"),
    (Insn(0xb7, 10, 0, 0, 1), "read-only"),
    (Insn(0x61, 10, 1, 0, 0), "read-only"),
    (Insn(0xdb, 1, 10, 0, 0x01), "read-only"),
    (Insn(0x8d, 2, 0, 0, 3), "register given twice"),
    (Insn(0xff), "unknown opcode"),
])
def test_validate_reasons(insn, reason):
    assert reason in isa.validate(insn)


def test_validate_accepts_stores_through_r10_and_cmpxchg_src_r10():
    assert isa.validate(Insn(0x7b, 10, 1, -8, 0)) is None
    assert isa.validate(Insn(0xdb, 10, 1, -8, 0x00)) is None       # non-fetching: src only read


# ---- Insn normalisation ------------------------------------------------------------------------
def test_insn_normalises_fields():
    assert Insn(0x07, 1, 0, 0, 0xffffffff).imm == -1
    assert Insn(0x05, 0, 0, 0xffff, 0).off == -1
    assert Insn(0x18, 1, 0, 0, -1).imm == isa.MASK64
    assert Insn(0x18, 1).slots == 2 and Insn(0x07, 1).slots == 1


@pytest.mark.parametrize("kwargs", [
    dict(opcode=256), dict(opcode=7, dst=16), dict(opcode=7, imm=1 << 32),
    dict(opcode=7, imm=-(1 << 31) - 1), dict(opcode=5, off=1 << 16), dict(opcode=0x18, imm=1 << 64)])
def test_insn_rejects_out_of_range(kwargs):
    with pytest.raises(IsaError):
        Insn(**kwargs)


# ---- decode / encode ---------------------------------------------------------------------------
def test_decode_explicit_little_endian():
    insn, = isa.decode(raw(0x6b, 10, 3, -2, 0))
    assert insn == Insn(0x6b, 10, 3, -2, 0)
    lddw = isa.decode(bytes.fromhex("1801000088776655") + bytes.fromhex("0000000044332211"))
    assert lddw == [Insn(0x18, 1, 0, 0, 0x1122334455667788)]
    assert isa.encode(lddw) == bytes.fromhex("18010000887766550000000044332211")


def test_decode_errors():
    with pytest.raises(IsaError, match="not a multiple of 8"):
        isa.decode(bytes(12))
    with pytest.raises(IsaError, match="pc 1: lddw truncated"):
        isa.decode(raw(0xb7) + raw(0x18))
    with pytest.raises(IsaError, match="second slot"):
        isa.decode(raw(0x18, 1) + raw(0x07, 1))
    with pytest.raises(IsaError, match="pc 1: unknown opcode 0xff"):
        isa.decode(raw(0xb7) + raw(0xff), strict=True)
    with pytest.raises(IsaError, match="pc 2: .*reserved"):
        isa.decode(raw(0x18, 1) + raw(0) + raw(0x95, 0, 0, 0, 1), strict=True)


def test_decode_lenient_keeps_unknown():
    insns = isa.decode(raw(0xff, 1, 2, 3, 4) + raw(0x95))
    assert insns[0] == Insn(0xff, 1, 2, 3, 4) and insns[0].spec is None
    assert isa.disasm_insn(insns[0], 0) == "<unknown>"


def test_slot_pcs_and_targets():
    insns = [isa.mov64_imm(0, 0), isa.ld_imm64(1, 5), isa.jmp_imm(isa.BPF_JEQ, 1, 5, -4),
             isa.gotol(-1), isa.call_local(-5), isa.exit_insn()]
    assert isa.slot_pcs(insns) == [0, 1, 3, 4, 5, 6]
    assert [isa.jump_target(i, pc) for i, pc in zip(insns, isa.slot_pcs(insns))] == \
        [None, None, 0, 4, 1, None]


def _field(draw, name, spec):
    if name in spec.zero:
        return 0
    if spec.select == name:
        return spec.value
    if name in ("dst", "src"):
        return draw(st.integers(0, 9))
    if name == "off":
        return draw(st.integers(-0x8000, 0x7fff))
    if spec.kind == isa.LDDW:
        return draw(st.integers(0, isa.MASK64))
    return draw(st.integers(-(1 << 31), (1 << 31) - 1))


@st.composite
def valid_insns(draw):
    spec = draw(st.sampled_from(isa.SPECS))
    insn = Insn(spec.opcode, *(_field(draw, f, spec) for f in ("dst", "src", "off", "imm")))
    if spec.kind == isa.CALLX:
        insn = Insn(spec.opcode, draw(st.integers(0, 10)))
    return insn


@settings(max_examples=400, deadline=None)
@given(st.lists(valid_insns(), min_size=1, max_size=12))
def test_round_trip(insns):
    code = isa.encode(insns)
    assert len(code) == 8 * sum(i.slots for i in insns)
    assert isa.decode(code, strict=True) == insns
    for insn in insns:
        assert isa.validate(insn) is None
        assert isa.spec_of(insn) is not None
        assert "<unknown>" not in isa.disasm_insn(insn, 0)


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=0, max_size=64).map(lambda b: b[: len(b) - len(b) % 8]))
def test_decode_arbitrary_bytes(code):
    """Lenient decode of any bytes works (and re-encodes to the same bytes) or raises IsaError."""
    try:
        insns = isa.decode(code)
    except IsaError:
        return
    assert isa.encode(insns) == code
    for insn, pc in zip(insns, isa.slot_pcs(insns)):
        isa.disasm_insn(insn, pc)
        isa.validate(insn)


# ---- builders ----------------------------------------------------------------------------------
def test_builders():
    assert isa.ldx(4, 2, 1, 4) == Insn(0x61, 2, 1, 4, 0)
    assert isa.ldx(8, 2, 1, 4) == Insn(0x79, 2, 1, 4, 0)
    assert isa.ldxsx(2, 2, 1, 4) == Insn(0x89, 2, 1, 4, 0)
    assert isa.st_imm(1, 10, -1, 7) == Insn(0x72, 10, 0, -1, 7)
    assert isa.stx(2, 10, 3, -2) == Insn(0x6b, 10, 3, -2, 0)
    assert isa.atomic(8, isa.BPF_CMPXCHG, 10, 1, -8) == Insn(0xdb, 10, 1, -8, 0xf1)
    assert isa.endian("bswap", 3, 32) == Insn(0xd7, 3, 0, 0, 32)
    assert isa.endian("be", 3, 16) == Insn(0xdc, 3, 0, 0, 16)
    assert isa.jmp32_reg(isa.BPF_JSLT, 1, 2, 3) == Insn(0xce, 1, 2, 3, 0)
    assert isa.callx(4) == Insn(0x8d, 4)
    assert isa.exit_insn() == Insn(0x95)
    with pytest.raises(IsaError, match="1, 2, 4 or 8"):
        isa.ldx(3, 0, 1, 0)


def test_helpers():
    assert isa.sign_extend(0x80, 8) == -128 and isa.sign_extend(0x7f, 8) == 127
    assert isa.sign_extend(0x1_8000_0000, 32) == -(1 << 31)
    assert isa.mask32(-1) == 0xffff_ffff and isa.mask64(1 << 64) == 0
    assert isa.imm64(-1) == isa.MASK64 and isa.imm64(0x7fffffff) == 0x7fffffff


# ---- golden disassembly ------------------------------------------------------------------------
# Left column: encoding; right: llvm-objdump 14 text, or (marked *) the newer LLVM syntax where
# LLVM 14 prints <unknown> (mod, jset, st, v4 instructions, 32-bit atomics other than add).
GOLDEN = [
    (Insn(0x07, 1, 0, 0, -4), "r1 += -4"),
    (Insn(0x04, 1, 0, 0, -2147483648), "w1 += -2147483648"),
    (Insn(0x0f, 1, 10), "r1 += r10"),
    (Insn(0x1c, 1, 2), "w1 -= w2"),
    (Insn(0x2f, 1, 2), "r1 *= r2"),
    (Insn(0x34, 1, 0, 0, 7), "w1 /= 7"),
    (Insn(0x3f, 1, 2, 1, 0), "r1 s/= r2"),                       # *
    (Insn(0x44, 1, 0, 0, 4), "w1 |= 4"),
    (Insn(0x5f, 1, 2), "r1 &= r2"),
    (Insn(0x67, 1, 0, 0, 32), "r1 <<= 32"),
    (Insn(0x7c, 1, 2), "w1 >>= w2"),
    (Insn(0x87, 1), "r1 = -r1"),
    (Insn(0x84, 1), "w1 = -w1"),
    (Insn(0x97, 1, 0, 0, 4), "r1 %= 4"),                         # *
    (Insn(0x9c, 1, 2, 1, 0), "w1 s%= w2"),                       # *
    (Insn(0xaf, 1, 2), "r1 ^= r2"),
    (Insn(0xb7, 1, 0, 0, -1), "r1 = -1"),
    (Insn(0xb4, 1, 0, 0, -1), "w1 = -1"),
    (Insn(0xbf, 1, 2), "r1 = r2"),
    (Insn(0xbc, 1, 2), "w1 = w2"),
    (Insn(0xbf, 1, 2, 32, 0), "r1 = (s32)r2"),                   # *
    (Insn(0xbc, 1, 2, 8, 0), "w1 = (s8)w2"),                     # *
    (Insn(0xc7, 1, 0, 0, 56), "r1 s>>= 56"),
    (Insn(0xcc, 1, 2), "w1 s>>= w2"),
    (Insn(0xd4, 1, 0, 0, 16), "r1 = le16 r1"),
    (Insn(0xdc, 6, 0, 0, 32), "r6 = be32 r6"),
    (Insn(0xdc, 2, 0, 0, 64), "r2 = be64 r2"),
    (Insn(0xd7, 1, 0, 0, 16), "r1 = bswap16 r1"),                # *
    (Insn(0x05, 0, 0, -3, 0), "goto -3 <L-2>"),
    (Insn(0x06, 0, 0, 0, 5), "gotol +5 <L6>"),                   # *
    (Insn(0x15, 1, 0, 3, 4), "if r1 == 4 goto +3 <L4>"),
    (Insn(0x16, 1, 0, 3, 4), "if w1 == 4 goto +3 <L4>"),
    (Insn(0x2d, 2, 1, 84, 0), "if r2 > r1 goto +84 <L85>"),
    (Insn(0x3e, 1, 2, 0, 0), "if w1 >= w2 goto +0 <L1>"),
    (Insn(0x45, 1, 0, 2, 16), "if r1 & 16 goto +2 <L3>"),        # *
    (Insn(0x4e, 1, 2, 2, 0), "if w1 & w2 goto +2 <L3>"),         # *
    (Insn(0x5d, 1, 2, 1, 0), "if r1 != r2 goto +1 <L2>"),
    (Insn(0x65, 1, 0, 1, -5), "if r1 s> -5 goto +1 <L2>"),
    (Insn(0x76, 1, 0, 1, 4), "if w1 s>= 4 goto +1 <L2>"),
    (Insn(0xa5, 1, 0, 2, -1), "if r1 < -1 goto +2 <L3>"),
    (Insn(0xbe, 1, 2, 1, 0), "if w1 <= w2 goto +1 <L2>"),
    (Insn(0xc6, 6, 0, 78, -5), "if w6 s< -5 goto +78 <L79>"),
    (Insn(0xdd, 1, 2, -3, 0), "if r1 s<= r2 goto -3 <L-2>"),
    (Insn(0x85, 0, 0, 0, 1), "call 1"),
    (Insn(0x85, 0, 1, 0, -1), "call -1"),
    (Insn(0x8d, 2), "callx r2"),
    (Insn(0x8d, 0, 0, 0, 4), "callx r4"),
    (Insn(0x95), "exit"),
    (Insn(0x18, 1, 0, 0, 0), "r1 = 0 ll"),
    (Insn(0x18, 3, 0, 0, (-4294967297) & isa.MASK64), "r3 = -4294967297 ll"),
    (Insn(0x18, 1, 0, 0, 1 << 63), "r1 = -9223372036854775808 ll"),
    (Insn(0x18, 1, 1, 0, 3), "r1 = map_by_fd(3) ll"),
    (Insn(0x18, 1, 2, 0, 3 | (8 << 32)), "r1 = map_val(map_by_fd(3)) + 8 ll"),
    (Insn(0x18, 1, 6, 0, 2 | (16 << 32)), "r1 = map_val(map_by_idx(2)) + 16 ll"),
    (Insn(0x20, 0, 0, 0, -7), "r0 = *(u32 *)skb[-7]"),
    (Insn(0x50, 0, 3, 0, 0), "r0 = *(u8 *)skb[r3]"),
    (Insn(0x61, 2, 1, 4, 0), "r2 = *(u32 *)(r1 + 4)"),
    (Insn(0x79, 2, 10, -16, 0), "r2 = *(u64 *)(r10 - 16)"),
    (Insn(0x71, 4, 7, 3, 0), "r4 = *(u8 *)(r7 + 3)"),
    (Insn(0x69, 1, 2, 0, 0), "r1 = *(u16 *)(r2 + 0)"),
    (Insn(0x91, 1, 2, 3, 0), "r1 = *(s8 *)(r2 + 3)"),            # *
    (Insn(0x81, 1, 2, -3, 0), "r1 = *(s32 *)(r2 - 3)"),          # *
    (Insn(0x62, 10, 0, -8, -1), "*(u32 *)(r10 - 8) = -1"),       # *
    (Insn(0x7a, 10, 0, -8, 0x7fffffff), "*(u64 *)(r10 - 8) = 2147483647"),  # *
    (Insn(0x63, 10, 2, -4, 0), "*(u32 *)(r10 - 4) = r2"),
    (Insn(0x73, 7, 9, 0, 0), "*(u8 *)(r7 + 0) = r9"),
    (Insn(0x7b, 10, 4, -16, 0), "*(u64 *)(r10 - 16) = r4"),
    (Insn(0xc3, 1, 2, -3, 0x00), "lock *(u32 *)(r1 - 3) += r2"),
    (Insn(0xc3, 1, 2, 0, 0x40), "lock *(u32 *)(r1 + 0) |= r2"),  # *
    (Insn(0xc3, 1, 2, 0, 0x41), "w2 = atomic_fetch_or((u32 *)(r1 + 0), w2)"),  # *
    (Insn(0xc3, 1, 2, 0, 0xe1), "w2 = xchg32_32(r1 + 0, w2)"),   # *
    (Insn(0xc3, 1, 2, 0, 0xf1), "w0 = cmpxchg32_32(r1 + 0, w0, w2)"),  # *
    (Insn(0xdb, 1, 2, 0, 0x00), "lock *(u64 *)(r1 + 0) += r2"),
    (Insn(0xdb, 1, 2, 0, 0x01), "r2 = atomic_fetch_add((u64 *)(r1 + 0), r2)"),
    (Insn(0xdb, 1, 2, 0, 0x50), "lock *(u64 *)(r1 + 0) &= r2"),
    (Insn(0xdb, 1, 2, 0, 0xa1), "r2 = atomic_fetch_xor((u64 *)(r1 + 0), r2)"),
    (Insn(0xdb, 1, 2, 0, 0xe1), "r2 = xchg_64(r1 + 0, r2)"),
    (Insn(0xdb, 1, 2, 0, 0xf1), "r0 = cmpxchg_64(r1 + 0, r0, r2)"),
    (Insn(0xff), "<unknown>"),
]


@pytest.mark.parametrize("insn,text", GOLDEN, ids=[t for _, t in GOLDEN])
def test_golden_disasm(insn, text):
    assert isa.disasm_insn(insn, 0) == text


def test_disasm_labels_and_listing():
    insns = [isa.mov64_imm(0, 1), isa.jmp_imm(isa.BPF_JEQ, 1, 2, 2), isa.ld_imm64(2, 7),
             isa.exit_insn()]
    assert isa.disasm_insn(insns[1], 1, {4: "LBB0_1"}) == "if r1 == 2 goto +2 <LBB0_1>"
    assert isa.disasm(insns, symbol="prog") == (
        "0000000000000000 <prog>:\n"
        "       0:\tr0 = 1\n"
        "       1:\tif r1 == 2 goto +2 <L4>\n"
        "       2:\tr2 = 7 ll\n"
        "\n"
        "0000000000000020 <L4>:\n"
        "       4:\texit\n")
    shifted = isa.disasm(insns, {14: "LBB1_2"}, base_pc=10)
    assert "      11:\tif r1 == 2 goto +2 <LBB1_2>" in shifted
    assert "0000000000000070 <LBB1_2>:" in shifted
    assert isa.disasm([]) == ""
    assert str(insns[0]) == "r0 = 1"
