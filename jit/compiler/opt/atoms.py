"""Condition minimization: fewer atoms, the same set of matching packets.

Every function here keeps the condition *equivalent*: a packet satisfies the new atoms exactly when
it satisfies the old ones (a weaker condition would let packets hit a trace that is wrong for them;
a stronger one would only cost hits, but there is no reason to pay that).
"""
from __future__ import annotations

from typing import Sequence

from jit.nic.encoding import HDR_BYTES, Atom, AtomKind, AtomOp
from jit.compiler.opt.facts import byte_bits, constraint, field_from_bits, known_bits, value_set

M32 = 0xFFFF_FFFF


def implies(atoms: Sequence[Atom], atom: Atom, window: int = HDR_BYTES) -> bool:
    """Whether every packet satisfying all of `atoms` satisfies `atom` (sound, not complete).

    Three arguments, each enough on its own:
    - `atom` is one of `atoms`;
    - the equalities among `atoms` fix every bit that `atom` reads, and those bits satisfy it
      (`pkt[14] & 0xf0 == 0x40` from `pkt[14:16] == 0x4500`; `pkt[23] != 17` from `pkt[23] == 6`);
    - the atoms on the same integer (same field, order, mask and signedness; or the length) bound
      it to values that all satisfy `atom` (`len >= 20` from `len >= 34`).
    """
    if atom in atoms:
        return True
    if atom.kind == AtomKind.PKT and atom.offset + atom.width <= window:
        known, _ = known_bits(atoms, window)
        value = field_from_bits(atom, known)
        if value is not None and atom.holds(_field_bytes(atom, value), window):
            return True
    con = constraint(atom)
    vs = value_set(atoms, con.group, con.lo, con.hi)
    return vs.within(con.op, con.c)


def _field_bytes(atom: Atom, value: int) -> bytes:
    """A packet whose field under `atom` is `value` (to evaluate the atom with `Atom.holds`)."""
    raw = value.to_bytes(atom.width, "big" if atom.big_endian else "little")
    return bytes(atom.offset) + raw


def drop_implied(atoms: Sequence[Atom], window: int = HDR_BYTES) -> tuple[list[Atom], int]:
    """Remove each atom that the atoms still kept imply (duplicates, weaker bounds, masked tests
    covered by equalities). Invariant: the result is equivalent to `atoms`, because each removed
    atom is implied by the final set (checked against the current set when it is removed, and the
    set only shrinks by removing implied atoms). Returns (atoms, number removed)."""
    cur = list(atoms)
    removed = 0
    i = 0
    while i < len(cur):
        rest = cur[:i] + cur[i + 1:]
        if implies(rest, cur[i], window):
            del cur[i]
            removed += 1
        else:
            i += 1
    return cur, removed


def merge_equalities(atoms: Sequence[Atom], window: int = HDR_BYTES) -> tuple[list[Atom], int]:
    """Re-cover the bits fixed by packet equality atoms with as few atoms as possible: greedily, the
    leftmost fixed byte starts an atom of up to four bytes (big-endian; the mask keeps only fixed
    bits). Invariant: a conjunction of equalities states exactly "these bits have these values", so
    any cover of the same bits is equivalent; the result is used only when it has fewer atoms and
    the equalities agree (disagreeing ones make the condition unsatisfiable and stay as they are).
    Returns (atoms, number of atoms saved)."""
    eqs = [i for i, a in enumerate(atoms)
           if byte_bits(a) is not None and a.offset + a.width <= window]
    if len(eqs) < 2 or window < 4:
        return list(atoms), 0
    known, conflict = known_bits([atoms[i] for i in eqs], window)
    if conflict:
        return list(atoms), 0
    merged = cover(known, window)
    if len(merged) >= len(eqs):
        return list(atoms), 0
    out: list[Atom] = []
    for i, a in enumerate(atoms):
        if i == eqs[0]:
            out.extend(merged)
        elif i not in eqs:
            out.append(a)
    return out, len(eqs) - len(merged)


def cover(known: dict[int, tuple[int, int]], window: int = HDR_BYTES) -> list[Atom]:
    """Big-endian equality atoms (width 1, 2 or 4, inside the window) fixing exactly the bits in
    `known` ({offset: (mask, value)}), as few as possible for a cover by 4-byte windows."""
    offsets = sorted(o for o, (m, _) in known.items() if m)
    out: list[Atom] = []
    i = 0
    while i < len(offsets):
        start = offsets[i]
        chunk = []
        while i < len(offsets) and offsets[i] < start + 4:
            chunk.append(offsets[i])
            i += 1
        span = chunk[-1] - start + 1
        width = 1 if span == 1 else 2 if span == 2 else 4
        base = start if start + width <= window else window - width
        mask = value = 0
        for off in chunk:
            m, v = known[off]
            shift = 8 * (width - 1 - (off - base))
            mask |= m << shift
            value |= (v & m) << shift
        full = (1 << (8 * width)) - 1
        out.append(Atom(AtomKind.PKT, AtomOp.EQ, base, width, True,
                        M32 if mask == full else mask, value))
    return out


__all__ = ["implies", "drop_implied", "merge_equalities", "cover"]
