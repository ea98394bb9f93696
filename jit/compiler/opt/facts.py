"""What a trace's condition (its atoms) tells the optimizer about every packet that satisfies it.

Two kinds of knowledge, both sound over-approximations (a fact may be missing, never wrong):

- the frame length lies in `[min_len, max_len]` (from `len OP c` atoms with a full mask);
- some bits of some header bytes are fixed (`known`), from packet equality atoms
  `(field & mask) == const`, whatever their width, byte order or mask.

Atoms read bytes past the end of the frame as zero, so a known byte at offset `k` describes the
packet only when `k < len`. The optimizer uses a known byte only for a load that reads it, and a
load that does not fault reads bytes below `len`; a load that may fault is never removed, so the
constant stands in for its value only on executions where it did not fault.

This module also holds the atom arithmetic that `jit.compiler.opt.atoms` uses to decide implication: each
atom seen as a constraint `x OP c` on one integer `x` (its `group`), and `ValueSet`, an interval
minus finitely many points.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping

from jit.nic.encoding import HDR_BYTES, Atom, AtomKind, AtomOp, compare, sign_extend32

M32 = 0xFFFF_FFFF
# Frames are shorter than 64 KiB: the NIC buffers at most PKT_BYTES (2048 by default), the
# interpreter at most PKT_MAX (4096); jit.compiler.pathcond makes the same assumption (LEN_BITS = 16).
LEN_MAX = 0xFFFF

# op -> the unsigned op it becomes once both sides are read as (signed) integers
_BASE_OP = {AtomOp.EQ: AtomOp.EQ, AtomOp.NE: AtomOp.NE, AtomOp.LT: AtomOp.LT, AtomOp.LE: AtomOp.LE,
            AtomOp.GT: AtomOp.GT, AtomOp.GE: AtomOp.GE, AtomOp.SLT: AtomOp.LT,
            AtomOp.SLE: AtomOp.LE, AtomOp.SGT: AtomOp.GT, AtomOp.SGE: AtomOp.GE}


def field_bits(atom: Atom) -> int:
    """Bits of the (zero-extended) field an atom reads: 8 * width, or 32 for the length."""
    return 32 if atom.kind == AtomKind.LEN else 8 * atom.width


def full_mask(atom: Atom) -> bool:
    """Whether the mask keeps every bit of the field."""
    m = (1 << field_bits(atom)) - 1
    return atom.mask & m == m


@dataclass(frozen=True)
class Constraint:
    """An atom as `x OP c` over the integer `x` named by `group`, with `x` in `[lo, hi]`."""
    group: tuple
    op: AtomOp          # EQ, NE, LT, LE, GT or GE, on integers
    c: int
    lo: int
    hi: int

    def holds(self, x: int) -> bool:
        return compare(self.op, x, self.c)




def constraint(atom: Atom) -> Constraint:
    """The atom as a constraint on one integer.

    The frame length with a full mask is one group, whatever the op's signedness: a length is at
    most LEN_MAX, so its signed and unsigned readings agree. Otherwise `x = field & mask` (unsigned
    ops) or `x = sext(field & mask)` (signed ops), one group per (kind, offset, width, order, mask,
    signedness)."""
    base = _BASE_OP[atom.op]
    signed = atom.op >= AtomOp.SLT
    c = sign_extend32(atom.const, 32) if signed else atom.const & M32
    bits = field_bits(atom)
    if atom.kind == AtomKind.LEN and full_mask(atom):
        return Constraint(("len",), base, c, 0, LEN_MAX)
    mask = atom.mask & ((1 << bits) - 1)
    where = ("len",) if atom.kind == AtomKind.LEN else (atom.offset, atom.width, atom.big_endian)
    if signed:
        return Constraint((*where, mask, "s"), base, c, -(1 << (bits - 1)), (1 << (bits - 1)) - 1)
    return Constraint((*where, mask, "u"), base, c, 0, mask)


@dataclass
class ValueSet:
    """`[lo, hi]` minus the points in `holes`: the values a constrained integer may take."""
    lo: int
    hi: int
    holes: set = field(default_factory=set)

    def add(self, op: AtomOp, c: int) -> None:
        if op == AtomOp.EQ:
            self.lo, self.hi = max(self.lo, c), min(self.hi, c)
        elif op == AtomOp.NE:
            self.holes.add(c)
        elif op == AtomOp.LT:
            self.hi = min(self.hi, c - 1)
        elif op == AtomOp.LE:
            self.hi = min(self.hi, c)
        elif op == AtomOp.GT:
            self.lo = max(self.lo, c + 1)
        else:
            self.lo = max(self.lo, c)

    def least(self) -> int | None:
        x = self.lo
        while x <= self.hi and x in self.holes:
            x += 1
        return x if x <= self.hi else None

    def greatest(self) -> int | None:
        x = self.hi
        while x >= self.lo and x in self.holes:
            x -= 1
        return x if x >= self.lo else None

    def within(self, op: AtomOp, c: int) -> bool:
        """Whether every value of the set satisfies `x op c` (vacuously true when it is empty)."""
        lo, hi = self.least(), self.greatest()
        if lo is None:
            return True
        if op == AtomOp.NE:
            return c < lo or c > hi or c in self.holes
        if op == AtomOp.EQ:
            return lo == hi == c
        if op in (AtomOp.LT, AtomOp.LE):
            return compare(op, hi, c)
        return compare(op, lo, c)


def value_set(atoms: Iterable[Atom], group: tuple, lo: int, hi: int) -> ValueSet:
    """The values that the atoms of `group` allow."""
    vs = ValueSet(lo, hi)
    for atom in atoms:
        con = constraint(atom)
        if con.group == group:
            vs.add(con.op, con.c)
    return vs


def byte_bits(atom: Atom) -> dict[int, tuple[int, int]] | None:
    """The packet bits an equality atom fixes, as {byte offset: (mask, value)}; None when the atom
    is not a packet equality or can never hold (its const has bits outside the field or mask)."""
    if atom.kind != AtomKind.PKT or atom.op != AtomOp.EQ:
        return None
    bits = field_bits(atom)
    mask = atom.mask & ((1 << bits) - 1)
    const = atom.const & M32
    if const & ~mask:
        return None
    out: dict[int, tuple[int, int]] = {}
    for i in range(atom.width):
        shift = 8 * (atom.width - 1 - i) if atom.big_endian else 8 * i
        m = (mask >> shift) & 0xFF
        if m:
            out[atom.offset + i] = (m, (const >> shift) & m)
    return out


def known_bits(atoms: Iterable[Atom], window: int = HDR_BYTES
               ) -> tuple[dict[int, tuple[int, int]], bool]:
    """Bits fixed by the packet equality atoms, {offset: (mask, value)}, for bytes inside the
    window, and whether two atoms disagree (then no packet satisfies the atoms)."""
    known: dict[int, tuple[int, int]] = {}
    conflict = False
    for atom in atoms:
        bb = byte_bits(atom)
        if bb is None:
            continue
        for off, (m, v) in bb.items():
            if off >= window:      # the atom reads zeros there, not the packet
                continue
            om, ov = known.get(off, (0, 0))
            if (ov ^ v) & om & m:
                conflict = True
            known[off] = (om | m, (ov & ~m) | (v & m))
    return known, conflict


def field_from_bits(atom: Atom, known: Mapping[int, tuple[int, int]]) -> int | None:
    """`field & mask` of a packet atom if every masked bit is fixed by `known`, else None."""
    if atom.kind != AtomKind.PKT:
        return None
    bits = field_bits(atom)
    mask = atom.mask & ((1 << bits) - 1)
    value = 0
    for i in range(atom.width):
        shift = 8 * (atom.width - 1 - i) if atom.big_endian else 8 * i
        need = (mask >> shift) & 0xFF
        if not need:
            continue
        km, kv = known.get(atom.offset + i, (0, 0))
        if need & ~km:
            return None
        value |= (kv & need) << shift
    return value


@dataclass(frozen=True)
class Facts:
    """What every packet satisfying a condition has in common (see the module docstring)."""
    hdr_bytes: int
    min_len: int
    max_len: int
    known: Mapping[int, tuple[int, int]]   # byte offset -> (mask of fixed bits, their values)
    unsat: bool                            # the atoms contradict each other: no packet matches

    @property
    def exact_len(self) -> int | None:
        return self.min_len if self.min_len == self.max_len else None

    def byte(self, offset: int) -> int | None:
        """The value of packet byte `offset` if all eight bits are fixed, else None."""
        m, v = self.known.get(offset, (0, 0))
        return v if m == 0xFF else None


def facts_from_atoms(atoms: Iterable[Atom], hdr_bytes: int = HDR_BYTES) -> Facts:
    """The facts the atoms imply."""
    atoms = list(atoms)
    lens = value_set(atoms, ("len",), 0, LEN_MAX)
    lo, hi = lens.least(), lens.greatest()
    known, conflict = known_bits(atoms, hdr_bytes)
    unsat = conflict or lo is None
    return Facts(hdr_bytes, lo if lo is not None else 0, hi if hi is not None else 0,
                 known, unsat)
