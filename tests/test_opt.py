"""The trace optimizer (jit/compiler/opt): golden tests per pass on hand-written traces, the facts and the atom
arithmetic, and property tests of the soundness contract -- random straight-line traces and random
conditions, checked on packets that satisfy the condition under the reference interpreter and the
NIC executor."""
from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from jit.ebpf import asm, interp, isa, memmap
from jit.nic.encoding import Atom, AtomKind, AtomOp, ExecError
from jit.nic.model import supported_opcode
from jit.nic.executor import compile_trace
from jit.compiler.opt import PASSES, Env, Path, facts_from_atoms, optimize
from jit.compiler.opt.analysis import materialize
from jit.compiler.trace_run import run_trace
from jit.compiler.opt.atoms import cover, drop_implied, implies, merge_equalities

M32 = 0xFFFF_FFFF
PKT_DATA = memmap.PKT_DATA


# ---- helpers ---------------------------------------------------------------------------------------
def length(op: AtomOp, c: int) -> Atom:
    return Atom(AtomKind.LEN, op, const=c)


def pkt(off: int, width: int, op: AtomOp, c: int, mask: int = M32, be: bool = True) -> Atom:
    return Atom(AtomKind.PKT, op, off, width, be, mask, c)


def text(trace) -> list[str]:
    return [isa.disasm_insn(i) for i in trace]


def apply(name: str, src: str, atoms=(), hdr_bytes: int = 128) -> list[str]:
    """Run one pass once on an assembled trace; the result as disassembly lines."""
    path = Path(tuple(asm.assemble(src)), tuple(atoms))
    out, _ = PASSES[name](path, Env(facts_from_atoms(atoms, hdr_bytes), hdr_bytes))
    return text(out.trace)


def opt_text(src: str, atoms=(), **kw) -> list[str]:
    return text(optimize(asm.assemble(src), list(atoms), **kw).trace)


def outcome(trace, packet: bytes):
    """('fault',) or (action, output packet) under the reference interpreter."""
    try:
        r = interp.run_xdp(trace, packet)
    except interp.InterpError:
        return ("fault",)
    return (r.action, r.packet)


def nic_outcome(trace, packet: bytes, hdr_bytes: int = 128):
    r = compile_trace(list(trace), hdr_bytes)(packet)
    return ("fault",) if r.err != ExecError.NONE else (r.action, r.packet)


def check_equivalent(orig, new, packets, hdr_bytes: int = 128) -> None:
    """Assert the two traces agree (faulting included) on every packet, on both executors."""
    for p in packets:
        assert outcome(new, p) == outcome(orig, p), (p.hex(), text(orig), text(new))
        assert nic_outcome(new, p, hdr_bytes) == nic_outcome(orig, p, hdr_bytes), p.hex()


def check_installable(trace) -> None:
    assert trace and trace[-1] == isa.exit_insn()
    for insn in trace:
        assert isa.validate(insn) is None, insn
        assert supported_opcode(insn.opcode, insn.src), insn


IPV4 = bytes.fromhex("00112233445566778899aabb0800"  # ethernet
                     "4500003c1c4640004006b1e6c0a80001c0a800c7"  # ipv4, ttl 64, tcp
                     "0050d43100000000000000005002200000000000") + bytes(6)


# ---- facts ---------------------------------------------------------------------------------------------
def test_facts_length_bounds_and_known_bytes():
    f = facts_from_atoms([length(AtomOp.GE, 14), length(AtomOp.GT, 33), length(AtomOp.LE, 1500),
                          pkt(12, 2, AtomOp.EQ, 0x0800), pkt(14, 1, AtomOp.EQ, 0x40, mask=0xF0),
                          pkt(14, 1, AtomOp.EQ, 0x05, mask=0x0F), pkt(20, 2, AtomOp.EQ, 0x1234, be=False)])
    assert (f.min_len, f.max_len, f.exact_len, f.unsat) == (34, 1500, None, False)
    assert f.byte(12) == 0x08 and f.byte(13) == 0x00
    assert f.byte(14) == 0x45                      # two partial masks make a whole byte
    assert f.byte(20) == 0x34 and f.byte(21) == 0x12   # little-endian atom
    assert f.byte(15) is None


def test_facts_exact_length_signed_ops_and_contradictions():
    assert facts_from_atoms([length(AtomOp.EQ, 60)]).exact_len == 60
    assert facts_from_atoms([length(AtomOp.SGE, 20)]).min_len == 20
    assert facts_from_atoms([length(AtomOp.SGE, -5 & M32)]).min_len == 0     # always true
    assert facts_from_atoms([length(AtomOp.LT, 10), length(AtomOp.GT, 20)]).unsat
    assert facts_from_atoms([pkt(0, 1, AtomOp.EQ, 1), pkt(0, 2, AtomOp.EQ, 0x0200)]).unsat
    # a byte past the header window is not known: the atom reads zeros there
    assert facts_from_atoms([pkt(126, 4, AtomOp.EQ, 0x01020000)], 128).byte(127) == 0x02
    assert facts_from_atoms([pkt(126, 4, AtomOp.EQ, 0x01020000)], 128).byte(128) is None


# ---- atoms ----------------------------------------------------------------------------------------------
def test_implies():
    assert implies([length(AtomOp.GE, 34)], length(AtomOp.GE, 20))
    assert implies([length(AtomOp.GE, 34)], length(AtomOp.GT, 33))
    assert not implies([length(AtomOp.GE, 34)], length(AtomOp.GE, 35))
    assert implies([length(AtomOp.EQ, 60)], length(AtomOp.SLT, 61))
    assert implies([length(AtomOp.GE, 20), length(AtomOp.LE, 20)], length(AtomOp.EQ, 20))
    assert implies([length(AtomOp.GE, 20), length(AtomOp.NE, 20)], length(AtomOp.GT, 20))
    assert implies([pkt(14, 2, AtomOp.EQ, 0x4500)], pkt(14, 1, AtomOp.EQ, 0x40, mask=0xF0))
    assert implies([pkt(14, 2, AtomOp.EQ, 0x4500)], pkt(14, 1, AtomOp.GE, 5, mask=0x0F))
    assert implies([pkt(23, 1, AtomOp.EQ, 6)], pkt(23, 1, AtomOp.NE, 17))
    assert implies([pkt(22, 1, AtomOp.EQ, 64)], pkt(22, 1, AtomOp.GT, 1))
    assert implies([pkt(12, 2, AtomOp.EQ, 0x0008, be=False)], pkt(12, 2, AtomOp.EQ, 0x0800))
    assert implies([pkt(22, 1, AtomOp.GT, 5)], pkt(22, 1, AtomOp.GT, 1))
    assert implies([], pkt(22, 1, AtomOp.LE, 255))                     # a tautology
    assert not implies([pkt(22, 1, AtomOp.GT, 5)], pkt(22, 1, AtomOp.SGT, 1))  # 0x80.. are < 0
    assert not implies([pkt(14, 1, AtomOp.EQ, 0x40, mask=0xF0)], pkt(14, 2, AtomOp.EQ, 0x4500))
    assert not implies([pkt(12, 2, AtomOp.EQ, 0x0800)], pkt(12, 2, AtomOp.EQ, 0x0800, be=False))


def test_drop_implied_keeps_an_equivalent_set():
    atoms = [length(AtomOp.GE, 14), pkt(12, 2, AtomOp.EQ, 0x0800), length(AtomOp.GE, 34),
             pkt(14, 1, AtomOp.EQ, 0x40, mask=0xF0), pkt(14, 2, AtomOp.EQ, 0x4500),
             pkt(12, 2, AtomOp.EQ, 0x0800), pkt(23, 1, AtomOp.NE, 17), pkt(23, 1, AtomOp.EQ, 6)]
    out, n = drop_implied(atoms)
    assert n == 4
    # the first copy of a duplicate goes (the second implies it)
    assert out == [length(AtomOp.GE, 34), pkt(14, 2, AtomOp.EQ, 0x4500),
                   pkt(12, 2, AtomOp.EQ, 0x0800), pkt(23, 1, AtomOp.EQ, 6)]


def test_merge_equalities_covers_bytes_with_fewer_atoms():
    atoms = [length(AtomOp.GE, 34), pkt(12, 1, AtomOp.EQ, 0x08), pkt(13, 1, AtomOp.EQ, 0x00),
             pkt(14, 1, AtomOp.EQ, 0x40, mask=0xF0), pkt(23, 1, AtomOp.EQ, 6),
             pkt(22, 1, AtomOp.GT, 1)]
    out, n = merge_equalities(atoms)
    assert n == 2
    assert out == [length(AtomOp.GE, 34), pkt(12, 4, AtomOp.EQ, 0x08004000, mask=0xFFFFF000),
                   pkt(23, 1, AtomOp.EQ, 6), pkt(22, 1, AtomOp.GT, 1)]
    # nothing to gain: unchanged
    assert merge_equalities(atoms[:3] + atoms[4:])[1] == 1
    assert merge_equalities([pkt(0, 1, AtomOp.EQ, 1), pkt(8, 1, AtomOp.EQ, 1)])[1] == 0
    # disagreeing equalities are left alone
    bad = [pkt(0, 1, AtomOp.EQ, 1), pkt(0, 2, AtomOp.EQ, 0x0200)]
    assert merge_equalities(bad) == (bad, 0)


def test_cover_stays_inside_the_window():
    atoms = cover({126: (0xFF, 1), 127: (0xFF, 2)}, 128)
    assert atoms == [pkt(126, 2, AtomOp.EQ, 0x0102)]
    atoms = cover({125: (0xFF, 1), 127: (0x0F, 2)}, 128)
    assert atoms == [pkt(124, 4, AtomOp.EQ, 0x00010002, mask=0x00FF000F)]


@st.composite
def atom_sets(draw):
    """A base packet and atoms it satisfies, plus packets near it (some satisfying, some not)."""
    rng = random.Random(draw(st.integers(0, 2**32)))
    base = bytes(rng.randrange(256) for _ in range(rng.randrange(20, 70)))
    atoms = [random_atom(rng, base) for _ in range(rng.randrange(1, 9))]
    near = [mutate(rng, base) for _ in range(30)]
    return atoms, [base] + near


def random_atom(rng: random.Random, base: bytes, window: int = 128) -> Atom:
    """A random atom that `base` satisfies."""
    if rng.random() < 0.25:
        n = len(base)
        op, c = rng.choice([(AtomOp.GE, rng.randrange(0, n + 1)), (AtomOp.GT, rng.randrange(0, n)),
                            (AtomOp.LE, rng.randrange(n, n + 50)), (AtomOp.EQ, n),
                            (AtomOp.NE, n + rng.choice([-1, 1])), (AtomOp.SGE, rng.randrange(0, n))])
        return length(op, c)
    width = rng.choice([1, 2, 4])
    off = rng.randrange(0, min(len(base) + 4, window - width + 1))
    be = rng.random() < 0.7
    mask = rng.choice([M32, M32, (1 << (8 * width)) - 1, rng.randrange(1, 1 << (8 * width)),
                       0xF0, 0x0F, 0xFF00])
    probe = Atom(AtomKind.PKT, AtomOp.EQ, off, width, be, mask, 0)
    value = probe.field_value(base) & mask
    op = rng.choice(list(AtomOp))
    top = (1 << (8 * width)) - 1
    for _ in range(20):
        c = {AtomOp.EQ: value, AtomOp.NE: rng.randrange(0, top + 1),
             AtomOp.LT: rng.randrange(value, top + 2), AtomOp.LE: rng.randrange(value, top + 1),
             AtomOp.GT: rng.randrange(0, value + 1) - 1, AtomOp.GE: rng.randrange(0, value + 1)}.get(
                 op, rng.randrange(0, 1 << 32))
        atom = Atom(AtomKind.PKT, op, off, width, be, mask, c & M32)
        if atom.holds(base, window):
            return atom
    return Atom(AtomKind.PKT, AtomOp.EQ, off, width, be, mask, value)


def mutate(rng: random.Random, base: bytes) -> bytes:
    p = bytearray(base)
    for _ in range(rng.randrange(0, 3)):
        if p:
            p[rng.randrange(len(p))] = rng.choice([0, 0xFF, rng.randrange(256), p[0]])
    r = rng.random()
    if r < 0.2:
        p = p[:rng.randrange(0, len(p) + 1)]
    elif r < 0.3:
        p += bytes(rng.randrange(1, 20))
    return bytes(p)


@settings(max_examples=300, deadline=None)
@given(atom_sets())
def test_atom_passes_keep_the_condition_equivalent(case):
    atoms, packets = case
    for fn in (drop_implied, merge_equalities):
        out, n = fn(atoms)
        assert n == len(atoms) - len(out)
        for p in packets:
            assert all(a.holds(p) for a in out) == all(a.holds(p) for a in atoms), (p.hex(), out)
    res = optimize([isa.mov64_imm(0, 2), isa.exit_insn()], atoms)
    assert len(res.atoms) <= len(atoms)
    for p in packets:
        assert all(a.holds(p) for a in res.atoms) == all(a.holds(p) for a in atoms)


# ---- materialization --------------------------------------------------------------------------------------
def test_materialize_uses_the_smallest_form():
    assert text([materialize(3, 5)]) == ["r3 = 5"]
    assert text([materialize(3, M32 << 32 | M32)]) == ["r3 = -1"]
    assert text([materialize(3, 0x8000_0000)]) == ["w3 = -2147483648"]
    assert text([materialize(3, 0xFFFF_FFFF)]) == ["w3 = -1"]
    assert text([materialize(3, 0x1_0000_0000)]) == ["r3 = 4294967296 ll"]
    for v in (0, 5, 0x8000_0000, M32, 1 << 32, 1 << 63, (1 << 64) - 2):
        out = interp.run_raw([materialize(0, v), isa.exit_insn()])
        assert out == v


# ---- context and address folding -----------------------------------------------------------------------
def test_fold_context_makes_data_and_meta_constants_but_not_data_end():
    src = """
        ldxw r2, [r1+0]
        ldxw r3, [r1+8]
        ldxw r4, [r1+4]
        ldxw r5, [r1+12]
        ldxw r6, [r1+16]
        mov r0, 2
        exit"""
    assert apply("fold_context", src) == [
        f"r2 = {PKT_DATA}", f"r3 = {PKT_DATA}", "r4 = *(u32 *)(r1 + 4)", "r5 = 1", "r6 = 0",
        "r0 = 2", "exit"]
    # a pinned length pins data_end
    assert apply("fold_context", src, [length(AtomOp.EQ, 60)])[2] == f"r4 = {PKT_DATA + 60}"
    # r1 overwritten: no longer the context
    assert apply("fold_context", "mov r1, r10\nldxw r2, [r1+0]\nexit")[1] == "r2 = *(u32 *)(r1 + 0)"


def test_fold_addresses_rebases_on_a_register_holding_data():
    src = f"""
        mov r2, {PKT_DATA}
        mov r3, r2
        add r3, 14
        ldxh r4, [r3+0]
        stxb [r3+9], r4
        mov r0, r4
        exit"""
    assert apply("fold_addresses", src) == [
        f"r2 = {PKT_DATA}", "r3 = r2", "r3 += 14", "r4 = *(u16 *)(r2 + 14)",
        "*(u8 *)(r2 + 23) = r4", "r0 = r4", "exit"]
    # the whole chain, with DCE, leaves just the load
    assert opt_text(src.replace(f"mov r2, {PKT_DATA}", "ldxw r2, [r1+0]"), [length(AtomOp.GE, 16)]) == [
        f"r2 = {PKT_DATA}", "r4 = *(u16 *)(r2 + 14)", "*(u8 *)(r2 + 23) = r4", "r0 = r4", "exit"]


def test_fold_addresses_prefers_anchors_and_keeps_unknown_bases():
    # stack: r10 is the anchor
    src = "mov r2, r10\nadd r2, -8\nstxdw [r2+0], r1\nldxdw r0, [r2+0]\nexit"
    assert apply("fold_addresses", src)[2:4] == ["*(u64 *)(r10 - 8) = r1", "r0 = *(u64 *)(r10 - 8)"]
    # base computed from packet data: unknown, untouched
    src = "ldxw r2, [r1+0]\nldxb r3, [r2+0]\nadd r2, r3\nldxb r0, [r2+0]\nexit"
    assert apply("fold_addresses", src) == text(asm.assemble(src))


# ---- constant propagation ---------------------------------------------------------------------------------
def test_fold_constants_uses_equality_atoms_for_packet_loads():
    src = f"""
        mov r2, {PKT_DATA}
        ldxh r3, [r2+12]
        ldxb r4, [r2+23]
        ldxw r5, [r2+12]
        mov r0, r3
        exit"""
    atoms = [length(AtomOp.GE, 34), pkt(12, 2, AtomOp.EQ, 0x0800), pkt(23, 1, AtomOp.EQ, 6)]
    assert apply("fold_constants", src, atoms) == [
        f"r2 = {PKT_DATA}", "r3 = 8", "r4 = 6", "r5 = *(u32 *)(r2 + 12)", "r0 = 8", "exit"]
    # the same load not proven in bounds (len >= 13 only): the load stays, its users fold
    out = apply("fold_constants", src, [length(AtomOp.GE, 13)] + atoms[1:])
    assert out[1:3] == ["r3 = *(u16 *)(r2 + 12)", "r4 = *(u8 *)(r2 + 23)"]
    assert out[4] == "r0 = 8"


def test_fold_constants_any_byte_order_and_partial_masks():
    src = f"""
        mov r2, {PKT_DATA}
        ldxw r3, [r2+12]
        ldxsb r4, [r2+14]
        mov r0, 0
        exit"""
    atoms = [length(AtomOp.GE, 34), pkt(12, 2, AtomOp.EQ, 0x0008, be=False),
             pkt(14, 1, AtomOp.EQ, 0x80, mask=0xF0), pkt(14, 1, AtomOp.EQ, 0x05, mask=0x0F),
             pkt(15, 1, AtomOp.EQ, 0x00)]
    assert apply("fold_constants", src, atoms)[1:3] == [f"r3 = {0x85 << 16 | 0x0008}", "r4 = -123"]


def test_fold_constants_alu_immediates_and_stores():
    src = """
        mov r3, 5
        lsh r3, 8
        mov32 r4, 0x7f
        ldxw r5, [r1+4]
        add r5, r3
        mov r6, 100
        stxh [r10-2], r6
        lddw r7, 12
        lddw r8, 0x1122334455
        stxdw [r10-16], r8
        mov r0, r5
        exit"""
    assert apply("fold_constants", src) == [
        "r3 = 5", "r3 = 1280", "w4 = 127", "r5 = *(u32 *)(r1 + 4)", "r5 += 1280", "r6 = 100",
        "*(u16 *)(r10 - 2) = 100", "r7 = 12", "r8 = 73588229205 ll",
        "*(u64 *)(r10 - 16) = r8", "r0 = r5", "exit"]


def test_fold_constants_through_stack_and_byte_swaps():
    src = """
        sth [r10-2], 0x1234
        ldxh r3, [r10-2]
        be16 r3
        mov r0, r3
        exit"""
    assert apply("fold_constants", src) == [
        "*(u16 *)(r10 - 2) = 4660", "r3 = 4660", "r3 = 13330", "r0 = 13330", "exit"]
    assert opt_text(src) == ["r0 = 13330", "exit"]


def test_fold_constants_sees_packet_stores_and_forgets_on_unknown_stores():
    src = f"""
        mov r2, {PKT_DATA}
        sth [r2+12], 0x0608
        ldxh r3, [r2+12]
        ldxb r4, [r2+0]
        add r2, r4
        stb [r2+0], 1
        ldxh r5, [r2+12]
        mov r0, r3
        exit"""
    atoms = [length(AtomOp.GE, 64)]
    out = apply("fold_constants", src, atoms)
    assert out[2] == "r3 = 1544"
    assert out[6] == "r5 = *(u16 *)(r2 + 12)"


# ---- identities ------------------------------------------------------------------------------------
def test_drop_identities_uses_bit_bounds():
    src = """
        ldxh r3, [r10-2]
        and r3, 0xffff
        le16 r3
        add r3, 0
        mov32 r3, r3
        and32 r3, 0xff
        mov r4, r3
        mov r4, r4
        ldxdw r5, [r10-16]
        and32 r5, -1
        mul r5, 1
        mov r0, r5
        exit"""
    assert apply("drop_identities", src) == [
        "r3 = *(u16 *)(r10 - 2)", "w3 &= 255", "r4 = r3", "r5 = *(u64 *)(r10 - 16)",
        "w5 &= -1", "r0 = r5", "exit"]


# ---- redundant loads and forwarding ------------------------------------------------------------------
def test_forward_loads_reuses_earlier_loads_and_stores():
    src = f"""
        mov r2, {PKT_DATA}
        ldxh r3, [r2+20]
        ldxh r4, [r2+20]
        ldxh r3, [r2+20]
        stxdw [r10-8], r1
        ldxdw r5, [r10-8]
        ldxdw r6, [r2+30]
        stxw [r2+40], r6
        ldxw r7, [r2+40]
        stxdw [r10-16], r6
        ldxdw r8, [r10-16]
        stxb [r2+50], r6
        ldxb r9, [r2+50]
        stxb [r2+51], r3
        ldxb r9, [r2+51]
        mov r0, 0
        exit"""
    assert apply("forward_loads", src) == [
        f"r2 = {PKT_DATA}", "r3 = *(u16 *)(r2 + 20)", "r4 = r3",
        "*(u64 *)(r10 - 8) = r1", "r5 = r1", "r6 = *(u64 *)(r2 + 30)",
        "*(u32 *)(r2 + 40) = r6", "w7 = w6",          # stxw keeps the low half: mov32
        "*(u64 *)(r10 - 16) = r6", "r8 = r6",
        "*(u8 *)(r2 + 50) = r6", "r9 = *(u8 *)(r2 + 50)",   # r6 may not fit in a byte
        "*(u8 *)(r2 + 51) = r3", "r9 = *(u8 *)(r2 + 51)",   # r3 is 16 bits wide
        "r0 = 0", "exit"]


def test_forward_loads_drops_moves_of_a_value_already_there():
    src = "ldxdw r3, [r10-8]\nmov r2, r3\nmov r3, r2\nmov r4, r2\nmov r3, r4\nmov32 r5, r3\nmov r0, r3\nexit"
    assert apply("forward_loads", src) == [
        "r3 = *(u64 *)(r10 - 8)", "r2 = r3", "r4 = r2", "w5 = w3", "r0 = r3", "exit"]


def test_forward_loads_respects_aliasing_and_clobbers():
    src = f"""
        mov r2, {PKT_DATA}
        ldxw r3, [r2+20]
        sth [r2+22], 7
        ldxw r4, [r2+20]
        ldxh r5, [r2+24]
        mov r3, 0
        ldxh r6, [r2+24]
        ldxb r7, [r2+0]
        mov r8, r2
        add r8, r7
        stb [r8+0], 1
        ldxh r9, [r2+24]
        mov r0, 0
        exit"""
    assert apply("forward_loads", src) == [
        f"r2 = {PKT_DATA}", "r3 = *(u32 *)(r2 + 20)", "*(u16 *)(r2 + 22) = 7",
        "r4 = *(u32 *)(r2 + 20)",          # overlapping store in between
        "r5 = *(u16 *)(r2 + 24)", "r3 = 0",
        "r6 = r5",                          # not overlapping the store; r5 still holds it
        "r7 = *(u8 *)(r2 + 0)", "r8 = r2", "r8 += r7", "*(u8 *)(r8 + 0) = 1",
        "r9 = *(u16 *)(r2 + 24)",          # store to an unknown address in between
        "r0 = 0", "exit"]


# ---- byte provenance, load combining and packet-write coalescing ----------------------------------
def test_byte_views_follow_shifts_masks_swaps_and_memory():
    from jit.compiler.opt.bytesrc import ORIG, analyze_bytes
    src = f"""
        mov r2, {PKT_DATA}
        ldxb r3, [r2+5]
        lsh r3, 8
        ldxb r4, [r2+4]
        or r3, r4
        mov r5, r3
        be16 r5
        ldxw r6, [r2+0]
        and r6, 0xff00ff
        rsh r6, 8
        stxh [r10-2], r3
        ldxh r7, [r10-2]
        mov32 r8, r6
        add r8, 7
        mov r9, r6
        add r9, 0x100
        exit"""
    _, bs = analyze_bytes(asm.assemble(src), Env(facts_from_atoms([]), 128))
    o = ORIG
    regs = bs[-1].regs
    assert regs[3] == (o + 4, o + 5, 0, 0, 0, 0, 0, 0)
    assert regs[5] == (o + 5, o + 4, 0, 0, 0, 0, 0, 0)
    assert regs[6] == (0, o + 2, 0, 0, 0, 0, 0, 0)
    assert regs[7] == regs[3]
    assert regs[8] == (7, o + 2, 0, 0, 0, 0, 0, 0)            # an add of disjoint bytes
    assert regs[9] == (None,) * 8                              # one that may carry: unknown


def test_combine_loads_turns_byte_assembly_into_one_load():
    src = f"""
        mov r1, {PKT_DATA}
        ldxb r2, [r1+5]
        lsh r2, 8
        ldxb r3, [r1+4]
        or r2, r3
        ldxb r4, [r1+13]
        lsh r4, 8
        ldxb r5, [r1+12]
        stb [r1+12], 0
        or r4, r5
        mov r0, r2
        add r0, r4
        exit"""
    assert apply("combine_loads", src)[4] == "r2 = *(u16 *)(r1 + 4)"
    assert apply("combine_loads", src)[9] == "r4 |= r5"      # byte 12 was overwritten meanwhile
    assert opt_text(src, [length(AtomOp.GE, 14)]) == [
        f"r1 = {PKT_DATA}", "r2 = *(u16 *)(r1 + 4)",
        "r4 = *(u8 *)(r1 + 13)", "r4 <<= 8", "r5 = *(u8 *)(r1 + 12)", "*(u8 *)(r1 + 12) = 0",
        "r4 |= r5", "r0 = r2", "r0 += r4", "exit"]


MAC_SWAP = f"""
    mov r1, {PKT_DATA}
    ldxh r2, [r1+4]
    stxh [r10-4], r2
    ldxw r3, [r1+0]
    ldxb r2, [r1+8]
    stxb [r1+2], r2
    ldxb r2, [r1+9]
    stxb [r1+3], r2
    ldxb r2, [r1+6]
    stxb [r1+0], r2
    ldxb r2, [r1+7]
    stxb [r1+1], r2
    ldxb r2, [r1+10]
    stxb [r1+4], r2
    ldxb r2, [r1+11]
    stxb [r1+5], r2
    mov r2, r3
    rsh r3, 16
    stxb [r1+8], r3
    mov r3, r2
    rsh r3, 24
    stxb [r1+9], r3
    stxb [r1+6], r2
    rsh r2, 8
    stxb [r1+7], r2
    ldxh r2, [r10-4]
    stxb [r1+10], r2
    rsh r2, 8
    stxb [r1+11], r2
    stb [r1+12], 0x86
    mov r0, 3
    exit"""


def test_coalesce_packet_writes_mac_swap():
    assert apply("coalesce_packet_writes", MAC_SWAP, [length(AtomOp.GE, 14)]) == [
        "r0 = 3",
        f"r1 = {PKT_DATA}",                                         # the body lost its pointer
        "r2 = *(u32 *)(r1 + 6)", "r3 = *(u32 *)(r1 + 0)",          # one group: loads, stores
        "*(u32 *)(r1 + 0) = r2", "*(u32 *)(r1 + 6) = r3",
        "r2 = *(u16 *)(r1 + 10)", "r3 = *(u16 *)(r1 + 4)",
        "*(u16 *)(r1 + 4) = r2", "*(u16 *)(r1 + 10) = r3",
        "*(u8 *)(r1 + 12) = 134",                                  # constants last
        "exit"]
    rng = random.Random(3)
    frames = [bytes(rng.randrange(256) for _ in range(n)) for n in (14, 20, 60, 13, 5, 0)]
    trace = asm.assemble(MAC_SWAP)
    check_equivalent(trace, optimize(trace, [length(AtomOp.GE, 14)]).trace, frames)


def test_coalesce_packet_writes_keeps_stores_a_later_load_reads():
    src = f"""
        mov r1, {PKT_DATA}
        ldxb r2, [r1+6]
        stxb [r1+0], r2
        ldxb r3, [r1+7]
        stxb [r1+1], r3
        ldxh r4, [r1+0]
        stxh [r1+20], r4
        stb [r1+2], 1
        stb [r1+3], 2
        mov r0, 3
        exit"""
    # the byte copies to 0 and 1 are read back by the ldxh: they stay; the stores to 2, 3 and 20
    # move to the end (20 gets original bytes 6 and 7)
    assert apply("coalesce_packet_writes", src, [length(AtomOp.GE, 34)]) == [
        f"r1 = {PKT_DATA}",
        "r2 = *(u8 *)(r1 + 6)", "*(u8 *)(r1 + 0) = r2", "r3 = *(u8 *)(r1 + 7)",
        "*(u8 *)(r1 + 1) = r3", "r0 = 3",
        "r2 = *(u16 *)(r1 + 6)", "*(u16 *)(r1 + 20) = r2", "*(u16 *)(r1 + 2) = 513", "exit"]
    # with the ldxh gone, the whole optimizer coalesces everything
    assert opt_text(src, [length(AtomOp.GE, 34)]) == [
        "r0 = 3", f"r1 = {PKT_DATA}", "r2 = *(u16 *)(r1 + 6)", "*(u16 *)(r1 + 0) = r2",
        "*(u16 *)(r1 + 20) = r2", "*(u16 *)(r1 + 2) = 513", "exit"]


def test_coalesce_packet_writes_loads_early_when_the_end_is_too_late():
    # byte 6 is overwritten by a kept (computed) store before the end: load it up front
    src = f"""
        mov r1, {PKT_DATA}
        ldxb r2, [r1+6]
        stxb [r1+0], r2
        ldxb r3, [r1+7]
        stxb [r1+1], r3
        ldxb r4, [r1+30]
        add r4, r4
        stxb [r1+6], r4
        mov r0, 3
        exit"""
    assert apply("coalesce_packet_writes", src, [length(AtomOp.GE, 34)]) == [
        f"r1 = {PKT_DATA}", "r2 = *(u16 *)(r1 + 6)",
        "r4 = *(u8 *)(r1 + 30)", "r4 += r4", "*(u8 *)(r1 + 6) = r4", "r0 = 3",
        "*(u16 *)(r1 + 0) = r2", "exit"]


def test_coalesce_packet_writes_gives_up_on_unknown_addresses():
    src = f"""
        mov r1, {PKT_DATA}
        ldxb r2, [r1+6]
        stxb [r1+0], r2
        ldxb r3, [r1+7]
        stxb [r1+1], r3
        ldxb r4, [r1+30]
        add r1, r4
        stb [r1+0], 1
        mov r0, 3
        exit"""
    assert apply("coalesce_packet_writes", src, [length(AtomOp.GE, 34)]) == text(asm.assemble(src))


# ---- dead code ------------------------------------------------------------------------------------------
def test_dce_removes_dead_values_and_proven_loads_only():
    src = f"""
        mov r2, {PKT_DATA}
        ldxw r3, [r1+4]
        ldxh r4, [r2+12]
        ldxb r5, [r2+40]
        mov r6, r4
        add r6, 1
        mov r0, 2
        exit
        mov r0, 1
        exit"""
    # len >= 34: the load at 12 is in bounds (removable), the one at 40 may fault (kept)
    assert apply("eliminate_dead_code", src, [length(AtomOp.GE, 34)]) == [
        f"r2 = {PKT_DATA}", "r5 = *(u8 *)(r2 + 40)", "r0 = 2", "exit"]
    assert apply("eliminate_dead_code", src, [length(AtomOp.GE, 41)]) == ["r0 = 2", "exit"]


def test_dce_stack_and_packet_stores():
    src = f"""
        mov r2, {PKT_DATA}
        stdw [r10-8], 1
        stw [r10-16], 2
        stw [r10-12], 3
        ldxw r3, [r10-12]
        sth [r2+20], 1
        stb [r2+22], 9
        ldxb r4, [r2+22]
        stw [r2+20], 2
        stb [r2+22], 3
        add r3, r4
        mov r0, r3
        exit"""
    assert apply("eliminate_dead_code", src, [length(AtomOp.GE, 64)]) == [
        f"r2 = {PKT_DATA}",
        "*(u32 *)(r10 - 12) = 3", "r3 = *(u32 *)(r10 - 12)",   # the other stack stores: never read
        # sth [r2+20] goes: overwritten by stw [r2+20] before any read
        "*(u8 *)(r2 + 22) = 9", "r4 = *(u8 *)(r2 + 22)",        # read in between: kept
        "*(u32 *)(r2 + 20) = 2", "*(u8 *)(r2 + 22) = 3",
        "r3 += r4", "r0 = r3", "exit"]
    # a load through an unknown pointer may read any stack byte: stack stores stay
    src2 = "ldxb r3, [r10-1]\nmov r4, r10\nsub r4, r3\nstw [r10-16], 2\nldxb r0, [r4+0]\nexit"
    assert apply("eliminate_dead_code", src2) == text(asm.assemble(src2))


# ---- the whole optimizer -----------------------------------------------------------------------------------
TTL_ROUTER_TRACE = """
    mov r0, 2
    ldxw r2, [r1+4]
    ldxw r1, [r1+0]
    mov r3, r1
    add r3, 14
    ldxb r3, [r1+13]
    lsh r3, 8
    ldxb r4, [r1+12]
    or r3, r4
    mov r3, r1
    add r3, 34
    ldxb r2, [r1+14]
    mov r3, r2
    and r3, 240
    and r2, 15
    mov r3, 5
    mov r0, 1
    ldxb r4, [r1+22]
    mov r2, 2
    ldxb r5, [r1+23]
    mov r3, r4
    add r3, -1
    mov r2, r3
    lsh r2, 8
    or r2, r5
    lsh r4, 8
    or r4, r5
    xor r4, 65535
    and r2, 65535
    add r2, r4
    ldxh r4, [r1+24]
    xor r4, -1
    be16 r4
    add r2, r4
    mov r4, r2
    rsh r4, 16
    and r2, 65535
    add r2, r4
    stxb [r1+22], r3
    mov r3, r2
    rsh r3, 16
    add r3, r2
    xor r3, -1
    be16 r3
    stxh [r1+24], r3
    mov r0, 2
    exit"""
TTL_ATOMS = [length(AtomOp.GE, 14), pkt(12, 2, AtomOp.EQ, 0x0800), length(AtomOp.GE, 34),
             pkt(14, 1, AtomOp.EQ, 0x40, mask=0xF0), pkt(14, 1, AtomOp.GE, 5, mask=0x0F),
             pkt(22, 1, AtomOp.GT, 1)]


def test_optimize_ttl_router_trace():
    trace = asm.assemble(TTL_ROUTER_TRACE)
    res = optimize(trace, TTL_ATOMS)
    check_installable(res.trace)
    s = res.stats
    assert (s.insns_before, s.slots_before, s.atoms_before) == (47, 47, 6)
    assert s.insns_after == len(res.trace) == 30 and s.slots_after == 30
    assert text(res.trace)[:3] == [f"r1 = {PKT_DATA}", "r4 = *(u8 *)(r1 + 22)",
                                   "r5 = *(u8 *)(r1 + 23)"]
    assert s.atoms_after == len(res.atoms) == 4
    assert s.changes["eliminate_dead_code"] > 0 and s.skipped is None
    rng = random.Random(1)
    packets = [IPV4] + [mutate(rng, IPV4) for _ in range(300)]
    packets = [p for p in packets if all(a.holds(p) for a in TTL_ATOMS)]
    assert len(packets) > 100
    check_equivalent(trace, res.trace, packets)
    for p in packets:
        assert all(a.holds(p) for a in res.atoms)


def test_optimize_example_from_the_brief():
    src = """
        ldxw r2, [r1+0]
        mov r3, r2
        add r3, 14
        ldxh r4, [r3+0]
        mov r0, r4
        exit"""
    assert opt_text(src, [length(AtomOp.GE, 16)]) == [
        f"r2 = {PKT_DATA}", "r4 = *(u16 *)(r2 + 14)", "r0 = r4", "exit"]
    # with the bytes pinned it is a constant
    assert opt_text(src, [length(AtomOp.GE, 16), pkt(14, 2, AtomOp.EQ, 0x86DD)]) == [
        "r0 = 56710", "exit"]


def test_optimize_variable_offset_becomes_constant_with_pinned_ihl():
    src = """
        ldxw r2, [r1+0]
        ldxb r3, [r2+14]
        and r3, 15
        lsh r3, 2
        mov r4, r2
        add r4, r3
        add r4, 14
        ldxh r5, [r4+2]
        be16 r5
        mov r0, 1
        exit"""
    atoms = [length(AtomOp.GE, 60), pkt(14, 1, AtomOp.EQ, 0x46)]
    assert opt_text(src, atoms) == ["r0 = 1", "exit"]
    src = src.replace("mov r0, 1", "mov r0, r5")
    assert opt_text(src, atoms) == [f"r2 = {PKT_DATA}", "r5 = *(u16 *)(r2 + 40)", "r5 = be16 r5",
                                    "r0 = r5", "exit"]


def test_optimize_leaves_unsupported_traces_alone():
    trace = [isa.mov64_imm(0, 1), isa.jmp_imm(isa.BPF_JEQ, 0, 1, 0), isa.exit_insn()]
    res = optimize(trace, [length(AtomOp.GE, 14), length(AtomOp.GE, 20)])
    assert res.trace == trace and res.stats.skipped and "not a guard" in res.stats.skipped
    assert res.atoms == [length(AtomOp.GE, 20)]          # atom passes still run
    res = optimize([isa.mov64_imm(0, 1), isa.mov64_imm(2, 1)], [])
    assert res.stats.skipped == "no exit"
    res = optimize([isa.mov64_imm(2, 1), isa.mov64_imm(0, 1), isa.exit_insn()],
                   [length(AtomOp.LT, 5), length(AtomOp.GT, 9)])
    assert res.stats.skipped and len(res.trace) == 3


def test_check_equivalent_catches_a_wrong_optimization():
    """The differential check the property tests rely on is not vacuous: a trace that drops a load
    the condition does not prove in bounds, or that mixes up a value, fails it."""
    orig = asm.assemble(f"mov r2, {PKT_DATA}\nldxb r3, [r2+40]\nmov r0, 2\nexit")
    dropped = asm.assemble("mov r0, 2\nexit")
    with pytest.raises(AssertionError):
        check_equivalent(orig, dropped, [bytes(20), bytes(60)])
    wrong = asm.assemble(f"mov r2, {PKT_DATA}\nldxb r0, [r2+3]\nexit")
    right = asm.assemble(f"mov r2, {PKT_DATA}\nldxb r0, [r2+4]\nexit")
    with pytest.raises(AssertionError):
        check_equivalent(right, wrong, [bytes(range(10))])


# ---- the soundness property ---------------------------------------------------------------------------
VALS = (0, 3, 4, 5, 8, 9)           # value registers
PTRS = (2, 6, 7)                    # packet pointers (r2 = data, r6/r7 derived)
IMMS = (0, 1, 2, 7, 8, 14, 16, 24, 31, 32, 40, 56, 63, 64, 255, 0xFF00, 0xFFFF, 0xFF00FF, 0x7FFF_FFFF,
        -1, -2, -256, -0x8000_0000)
ALU_OPS = [op for op in isa.ALU_OPS if op != isa.BPF_NEG]


def random_insns(rng: random.Random, prev: list[isa.Insn]) -> list[isa.Insn]:
    """One random step of a trace (1-2 instructions) after the instructions `prev`."""
    kind = rng.choices(["alu", "end", "lddw", "ptr", "pload", "pstore", "sstore", "sload", "ctx",
                        "neg", "wild", "reload", "bytecopy", "combine"],
                       [30, 5, 3, 6, 15, 8, 6, 6, 3, 2, 1, 8, 6, 4])[0]
    d = rng.choice(VALS)
    if kind == "bytecopy":     # header rewrites: byte copies and constant bytes (MAC swaps)
        j = rng.randrange(0, 16)
        if rng.random() < 0.3:
            return [isa.st_imm(1, 2, j, rng.randrange(256))]
        return [isa.ldx(1, d, 2, rng.randrange(0, 16)), isa.stx(1, 2, d, j)]
    if kind == "combine":      # two byte loads assembled into a 16-bit value, maybe stored
        k = rng.randrange(0, 20)
        s = rng.choice([v for v in VALS if v != d])
        out = [isa.ldx(1, d, 2, k + 1), isa.alu64_imm(isa.BPF_LSH, d, 8), isa.ldx(1, s, 2, k),
               isa.alu64_reg(isa.BPF_OR, d, s)]
        if rng.random() < 0.5:
            base = rng.choice([2, 10])
            out.append(isa.stx(rng.choice([1, 2, 4]), base, d,
                               rng.randrange(0, 16) if base == 2 else -8))
        return out
    if kind == "reload":       # load what an earlier access touched (redundant loads, forwarding)
        earlier = [i for i in prev if i.cls in (isa.BPF_LDX, isa.BPF_ST, isa.BPF_STX)]
        if earlier:
            i = rng.choice(earlier)
            base = i.src if i.cls == isa.BPF_LDX else i.dst
            size = isa.SIZE_BYTES[i.opcode & 0x18]
            return [isa.ldx(size, d, base, i.off)]
        kind = "pload"
    if kind == "alu":
        op = rng.choice(ALU_OPS)
        is64 = rng.random() < 0.6
        off = 0
        if op in (isa.BPF_DIV, isa.BPF_MOD):
            off = rng.choice([0, 1])
        reg = rng.random() < 0.5
        if op == isa.BPF_MOV and reg and rng.random() < 0.3:
            off = rng.choice([8, 16, 32] if is64 else [8, 16])
        if reg:
            src = rng.choice(VALS + PTRS)
            return [(isa.alu64_reg if is64 else isa.alu32_reg)(op, d, src, off)]
        imm = rng.choice(IMMS) if rng.random() < 0.8 else rng.randrange(-2**31, 2**31)
        return [(isa.alu64_imm if is64 else isa.alu32_imm)(op, d, imm, off)]
    if kind == "neg":
        return [neg_insn(d, rng.random() < 0.5)]
    if kind == "end":
        return [isa.endian(rng.choice(["le", "be", "bswap"]), d, rng.choice([16, 32, 64]))]
    if kind == "lddw":
        return [isa.ld_imm64(d, rng.choice([rng.randrange(2**64), rng.randrange(2**32), 12]))]
    if kind == "ptr":
        p = rng.choice(PTRS[1:])
        return [isa.mov64_reg(p, 2), isa.alu64_imm(isa.BPF_ADD, p, rng.randrange(0, 40))]
    size = rng.choice([1, 2, 4, 8])
    if kind in ("pload", "pstore"):
        base = rng.choice(PTRS)
        if base == 2:
            off = rng.choice([0, 2, 4, 8, 12, 14, 20, 23, 26, 30, 34, 38] + [rng.randrange(0, 40)])
        else:
            off = rng.randrange(0, 8)
        if kind == "pload":
            if size < 8 and rng.random() < 0.2:
                return [isa.ldxsx(size, d, base, off)]
            return [isa.ldx(size, d, base, off)]
        if rng.random() < 0.3:
            return [isa.st_imm(size, base, off, rng.choice(IMMS))]
        return [isa.stx(size, base, rng.choice(VALS), off)]
    if kind in ("sstore", "sload"):
        off = -rng.choice([8, 16, 24, 32]) + rng.choice([0, 0, 0, 2, 4])
        if kind == "sload":
            return [isa.ldx(size, d, 10, off)]
        if rng.random() < 0.3:
            return [isa.st_imm(size, 10, off, rng.choice(IMMS))]
        return [isa.stx(size, 10, rng.choice(VALS), off)]
    if kind == "ctx":
        return [isa.ldx(4, d, 1, rng.choice([0, 4, 8, 12, 16, 20]))]
    # wild: pointer arithmetic with a loaded value (unknown address)
    return [isa.alu64_reg(isa.BPF_ADD, rng.choice(PTRS[1:]), rng.choice(VALS))]


def neg_insn(d: int, is64: bool) -> isa.Insn:
    return isa.Insn((isa.BPF_ALU64 if is64 else isa.BPF_ALU) | isa.BPF_NEG, d)


def random_trace(rng: random.Random) -> list[isa.Insn]:
    trace = [isa.ldx(4, 2, 1, 0), isa.mov64_reg(6, 2), isa.mov64_reg(7, 2)]
    for _ in range(rng.randrange(1, 30)):
        trace += random_insns(rng, trace)
    if rng.random() < 0.5:
        trace.append(isa.mov64_imm(0, rng.randrange(0, 5)))
    return trace + [isa.exit_insn()]


def make_case(rng: random.Random):
    """A random trace, a header window, a condition that a random base packet satisfies, and
    packets near the base (the base first)."""
    trace = random_trace(rng)
    hdr = rng.choice([128, 128, 128, 32, 20])
    base = bytes(rng.randrange(256) for _ in range(rng.randrange(30, 90)))
    atoms = [length(AtomOp.GE, rng.randrange(0, len(base) + 1))]
    atoms += [random_atom(rng, base, hdr) for _ in range(rng.randrange(0, 10))]
    # equalities on bytes the trace reads make constant propagation bite
    for _ in range(rng.randrange(0, 6)):
        w = rng.choice([1, 2, 4])
        off = rng.randrange(0, min(44, hdr - w + 1))
        atoms.append(pkt(off, w, AtomOp.EQ, int.from_bytes(base[off:off + w].ljust(w, b"\0"), "big")))
    packets = [base] + [mutate(rng, base) for _ in range(12)]
    return trace, atoms, packets, hdr


@st.composite
def trace_cases(draw):
    return make_case(random.Random(draw(st.integers(0, 2**64))))


def check_case(trace, atoms, packets, hdr) -> None:
    """The soundness contract on one case: installable output, no growth, an equivalent condition,
    and the same outcome (faults included) on every packet satisfying it, on both executors."""
    res = optimize(trace, atoms, hdr_bytes=hdr)
    check_installable(res.trace)
    assert res.stats.slots_after <= res.stats.slots_before
    sat = [p for p in packets if all(a.holds(p, hdr) for a in atoms)]
    assert packets[0] in sat
    for p in packets:
        assert all(a.holds(p, hdr) for a in res.atoms) == (p in sat)
    check_equivalent(trace, res.trace, sat, hdr)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trace_cases())
def test_optimized_traces_agree_with_the_original(case):
    check_case(*case)


def test_random_traces_exercise_the_passes():
    """The property test's generator is not vacuous: on a fixed sample, traces shrink, most runs do
    not fault, and every pass fires somewhere."""
    rng = random.Random(7)
    fired = {name: 0 for name in PASSES}
    shrunk = ran = 0
    for _ in range(150):
        trace, atoms, packets, hdr = make_case(rng)
        res = optimize(trace, atoms, hdr_bytes=hdr)
        shrunk += res.stats.insns_after < res.stats.insns_before
        ran += outcome(trace, packets[0]) != ("fault",)
        for name, n in res.stats.changes.items():
            fired[name] += n
    assert shrunk > 100 and ran > 50
    assert all(fired.values()), fired



# ---- frame-moving helpers (bpf_xdp_adjust_head / _tail) ----------------------------------------------
HEAD_DELTAS = (-64, -28, -14, -4, 0, 4, 14, 20)
TAIL_DELTAS = (-40, -20, -4, 0, 4, 8)


def helper_outcome(trace, packet: bytes):
    """`outcome` with the interpreter's helpers (jit.compiler.trace_run: the host's trace runner)."""
    try:
        r = run_trace(trace, packet)
    except interp.InterpError:
        return ("fault",)
    return (r.action, r.packet)


def v2_outcome(trace, packet: bytes, hdr_bytes: int):
    """('fault',) or (action, packet) under the NIC executor of trace format v2 (helper calls)."""
    r = compile_trace(list(trace), hdr_bytes, v2=True)(packet)
    return ("fault",) if r.err != ExecError.NONE else (r.action, r.packet)


def random_move_trace(rng: random.Random) -> list[isa.Insn]:
    """A random trace (as `random_trace`) cut by 1-3 calls of bpf_xdp_adjust_head or _tail with a
    constant delta; after a call the pointers are usually reloaded from the context, sometimes
    the old ones (r6, r7: callee-saved) are used on: stale addresses, perhaps out of the frame.
    The traces keep the calling convention, as the tracer's (from verified programs) do."""
    trace = [isa.ldx(4, 2, 1, 0), isa.mov64_reg(6, 2), isa.mov64_reg(7, 2)]
    for _ in range(rng.randrange(1, 4)):
        for _ in range(rng.randrange(1, 12)):
            trace += random_insns(rng, trace)
        helper, deltas = rng.choice([(44, HEAD_DELTAS), (65, TAIL_DELTAS)])
        trace += [isa.mov64_imm(1, memmap.CTX_BASE), isa.mov64_imm(2, rng.choice(deltas)),
                  isa.call_helper(helper)]
        # the calling convention (the verifier's): r1-r5 are written before they are read again
        trace += [isa.mov64_imm(r, rng.choice(IMMS)) for r in (3, 4, 5)]
        if rng.random() < 0.7:
            trace += [isa.mov64_imm(1, memmap.CTX_BASE), isa.ldx(4, 2, 1, rng.choice([0, 0, 4])),
                      isa.mov64_reg(6, 2), isa.mov64_reg(7, 2)]
        else:
            trace += [isa.mov64_imm(1, memmap.CTX_BASE), isa.mov64_imm(2, 0)]
    for _ in range(rng.randrange(0, 12)):
        trace += random_insns(rng, trace)
    return trace + [isa.mov64_imm(0, rng.randrange(0, 5)), isa.exit_insn()]


def make_move_case(rng: random.Random):
    trace = random_move_trace(rng)
    base = bytes(rng.randrange(256) for _ in range(rng.randrange(30, 90)))
    atoms = [length(AtomOp.EQ if rng.random() < 0.6 else AtomOp.GE, len(base))]
    for _ in range(rng.randrange(0, 6)):
        w = rng.choice([1, 2, 4])
        off = rng.randrange(0, 44)
        atoms.append(pkt(off, w, AtomOp.EQ, int.from_bytes(base[off:off + w].ljust(w, b"\0"), "big")))
    return trace, atoms, [base] + [mutate(rng, base) for _ in range(12)]


def check_move_case(trace, atoms, packets) -> None:
    res = optimize(trace, atoms)
    assert res.stats.skipped is None, res.stats.skipped
    assert res.stats.slots_after <= res.stats.slots_before
    assert all(isa.validate(i) is None and supported_opcode(i.opcode, i.src, v2=True)
               for i in res.trace)
    sat = [p for p in packets if all(a.holds(p) for a in atoms)]
    assert packets[0] in sat
    for p in sat:
        assert helper_outcome(res.trace, p) == helper_outcome(trace, p), (p.hex(), text(trace),
                                                                         text(res.trace))
        assert v2_outcome(res.trace, p, 128) == v2_outcome(trace, p, 128), (p.hex(), text(trace),
                                                                           text(res.trace))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**64))
def test_optimized_traces_with_frame_moves_agree_with_the_original(seed):
    """The soundness contract across bpf_xdp_adjust_head/_tail: after a call, packet bytes, the
    context's data/data_end and the frame bounds are unknown (no load there is dropped or
    forwarded from before the call), stack bytes are kept."""
    check_move_case(*make_move_case(random.Random(seed)))


def test_frame_moves_are_optimized_around_not_skipped():
    """The move property test is not vacuous: traces shrink on both sides of the calls, many runs
    finish without a fault, and on a fixed sample some runs fault only after a call."""
    rng = random.Random(11)
    shrunk = ran = 0
    for _ in range(120):
        trace, atoms, packets = make_move_case(rng)
        res = optimize(trace, atoms)
        assert res.stats.skipped is None
        shrunk += res.stats.insns_after < res.stats.insns_before
        ran += helper_outcome(trace, packets[0]) != ("fault",)
    assert shrunk > 80 and ran > 30, (shrunk, ran)


def test_frame_move_forgets_packet_and_context_but_not_stack():
    """Golden: before the call, the dead byte load and the unused data_end go and data is a
    constant; the context pointer stays a copy (`r6 = r1`: its kind matters to the commit check).
    After it, data and data_end are loads again and the load of byte 0 stays (the cut tail may have
    taken it out of the frame; and its value is unknown), while the stack byte stored before the
    call as a constant is still known."""
    src = """
        ldxw r2, [r1+0]
        ldxw r3, [r1+4]
        ldxb r4, [r2+20]
        ldxb r5, [r2+0]
        stxb [r10-8], r5
        stb [r10-16], 7
        mov r6, r1
        mov r2, -20
        call 65
        ldxw r2, [r6+0]
        ldxw r3, [r6+4]
        ldxb r4, [r2+0]
        ldxb r5, [r10-8]
        ldxb r7, [r10-16]
        mov r0, r5
        add r0, r4
        add r0, r3
        add r0, r7
        exit"""
    atoms = [length(AtomOp.EQ, 60)]
    out = opt_text(src, atoms)
    assert out == [f"r2 = {PKT_DATA}", "r5 = *(u8 *)(r2 + 0)", "*(u8 *)(r10 - 8) = r5",
                   "*(u8 *)(r10 - 16) = 7", "r6 = r1", "r2 = -20", "call 65",
                   "r2 = *(u32 *)(r6 + 0)", "r3 = *(u32 *)(r6 + 4)", "r4 = *(u8 *)(r2 + 0)",
                   "r5 = *(u8 *)(r10 - 8)", "r0 = r5", "r0 += r4", "r0 += r3", "r0 += 7",
                   "exit"], out
    trace = asm.assemble(src)
    for n in (60, 61, 30):
        p = bytes(range(n))
        assert helper_outcome(optimize(trace, atoms).trace, p) == helper_outcome(trace, p)
