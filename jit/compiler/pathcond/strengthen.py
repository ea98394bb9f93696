"""Strengthening and installation: a path's predicates -> the atoms the NIC installs (`install_atoms`).


Everything else (variable offsets, two fields related, arithmetic on fields, wide inequalities) is
STRENGTHENED: first the packet bits that variable load offsets depend on are pinned to their
observed values (the loads then have constant offsets and the residual predicate is often exact);
then, if needed, every packet bit the predicate depends on; then the length. Pinning implies the
The result records the installed atoms and a note per strengthening; it is never weaker than the
exact condition.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

from jit.nic.encoding import HDR_BYTES, Atom, AtomKind, AtomOp
from jit.compiler.pathcond.expr import Alu, Const, Expr, LEN, LEN_BITS, LEN_MAX, LEN_SRC, M32, PktLoad, Swap
from jit.compiler.pathcond.bitview import _src, view
from jit.compiler.pathcond.fold import alu, const, swap
from jit.compiler.pathcond.predicate import Cmp, cmp
from jit.compiler.pathcond.normalize import NotExact, _field_srcs, normalize


# ---- dependencies and partial evaluation (for strengthening) -------------------------------------
def relevant_bits(e: Expr, packet: bytes, out: set[int], seen: set | None = None) -> None:
    """Add to `out` every source bit (packet bit, or LEN_SRC+j) `e`'s value depends on."""
    if seen is None:
        seen = set()
    if e in seen:
        return
    seen.add(e)
    v = view(e)
    if v is not None:
        for b in v:
            if b > 1:
                out.add(_src(b))
        return
    if e is LEN:
        out.update(range(LEN_SRC, LEN_SRC + LEN_BITS))
        return
    if isinstance(e, PktLoad):
        o = e.offset.eval(packet)
        out.update(range(o << 3, (o + e.width) << 3))
    for c in e.children():
        relevant_bits(c, packet, out, seen)


def offset_bits(e: Expr, packet: bytes, out: set[int], seen: set | None = None) -> None:
    """Source bits that the offsets of `e`'s variable-offset loads depend on."""
    if seen is None:
        seen = set()
    if e in seen or isinstance(e, Const):
        return
    seen.add(e)
    if isinstance(e, PktLoad) and not isinstance(e.offset, Const):
        relevant_bits(e.offset, packet, out)
    for c in e.children():
        offset_bits(c, packet, out, seen)


def substitute(e: Expr, pinned: set[int], packet: bytes, memo: dict | None = None) -> Expr:
    """`e` with every subexpression that depends only on `pinned` bits replaced by its value on
    `packet` (equal to `e` on every packet that agrees with `packet` on the pinned bits)."""
    if isinstance(e, Const):
        return e
    if memo is None:
        memo = {}
    r = memo.get(e)
    if r is None:
        r = memo[e] = _substitute(e, pinned, packet, memo)
    return r


def _substitute(e: Expr, pinned: set[int], packet: bytes, memo: dict) -> Expr:
    v = view(e)
    if v is not None:
        if all(b <= 1 or _src(b) in pinned for b in v):
            return const(e.eval(packet))
        return e
    if e is LEN:
        return e
    if isinstance(e, PktLoad):
        off = substitute(e.offset, pinned, packet, memo)
        if off is e.offset:
            return e
        new = PktLoad(off, e.width)
        return substitute(new, pinned, packet, memo) if isinstance(off, Const) else new
    if isinstance(e, Alu):
        a, b = substitute(e.a, pinned, packet, memo), substitute(e.b, pinned, packet, memo)
        if a is e.a and b is e.b:
            return e
        return alu(e.op, e.is64, a, b, e.off)
    if isinstance(e, Swap):
        a = substitute(e.a, pinned, packet, memo)
        return e if a is e.a else swap(e.kind, e.width, a)
    return e


def substitute_pred(p: Cmp, pinned: set[int], packet: bytes) -> "Cmp | bool":
    memo: dict = {}
    return cmp(p.op, substitute(p.a, pinned, packet, memo), substitute(p.b, pinned, packet, memo),
               p.is32, p.signed)


def _bit_of(packet: bytes, src: int) -> int:
    if src >= LEN_SRC:
        return (len(packet) >> (src - LEN_SRC)) & 1
    byte = src >> 3
    return (packet[byte] >> (src & 7)) & 1 if byte < len(packet) else 0


def describe_bits(srcs: Iterable[int], packet: bytes) -> str:
    """`pkt[14] & 0xf == 0x5, len == 60`-style text for pinned source bits."""
    by_byte: dict[int, int] = {}
    len_mask = 0
    for s in srcs:
        if s >= LEN_SRC:
            len_mask |= 1 << (s - LEN_SRC)
        else:
            by_byte[s >> 3] = by_byte.get(s >> 3, 0) | (1 << (s & 7))
    parts = []
    for byte in sorted(by_byte):
        m = by_byte[byte]
        val = packet[byte] & m if byte < len(packet) else 0
        parts.append(f"pkt[{byte}] == {val:#04x}" if m == 0xFF else
                     f"(pkt[{byte}] & {m:#04x}) == {val:#04x}")
    if len_mask:
        parts.append(f"len == {len(packet)}" if len_mask == LEN_MAX else
                     f"(len & {len_mask:#x}) == {len(packet) & len_mask:#x}")
    return ", ".join(parts)


# ---- the installed condition ---------------------------------------------------------------------
@dataclass(frozen=True)
class Installed:
    """Atoms implying a conjunction, with the strengthening notes and the pinned source bits."""
    atoms: tuple[Atom, ...]
    notes: tuple[str, ...]
    pinned: frozenset = frozenset()
    window_error: str | None = None


@dataclass
class _Acc:
    bits: dict = field(default_factory=dict)          # src -> required bit
    ranges: dict = field(default_factory=dict)        # (Field, signed) -> [lo, hi]
    ne: list = field(default_factory=list)            # (Field, v)
    nebits: list = field(default_factory=list)        # {src: bit}
    pinned: set = field(default_factory=set)

    def add(self, items: list) -> None:
        for it in items:
            kind = it[0]
            if kind == "bits":
                for s, v in it[1].items():
                    if self.bits.setdefault(s, v) != v:
                        raise AssertionError("contradictory constraints on one bit")
            elif kind == "range":
                _, f, lo, hi, signed = it
                cur = self.ranges.get((f, signed))
                self.ranges[(f, signed)] = [lo, hi] if cur is None else \
                    [max(cur[0], lo), min(cur[1], hi)]
            elif kind == "ne":
                self.ne.append((it[1], it[2]))
            elif kind == "nebits":
                self.nebits.append(it[1])

    def pin(self, srcs: Iterable[int], packet: bytes) -> None:
        for s in srcs:
            self.pinned.add(s)
            self.bits[s] = _bit_of(packet, s)


_INSTALL_CACHE: dict = {}
_INSTALL_CACHE_MAX = 20_000


def install_atoms(preds: Sequence[Cmp], packet: bytes, hdr_bytes: int = HDR_BYTES) -> Installed:
    """Atoms whose conjunction implies every predicate of `preds` (all of which hold on `packet`):
    exact where possible, strengthened by pinning otherwise (see the module docstring).

    Without strengthening the result depends on the predicates only (every load then has a
    constant offset), so it is cached; a strengthened result depends on the packet and is not."""
    key = (tuple(preds), hdr_bytes)
    hit = _INSTALL_CACHE.get(key)
    if hit is not None:
        return hit
    inst = _install(key[0], packet, hdr_bytes)
    if not inst.notes:
        if len(_INSTALL_CACHE) >= _INSTALL_CACHE_MAX:
            _INSTALL_CACHE.clear()
        _INSTALL_CACHE[key] = inst
    return inst


def _install(preds: Sequence[Cmp], packet: bytes, hdr_bytes: int) -> Installed:
    acc = _Acc()
    notes: list[str] = []
    seen: set = set()
    need = 0            # every load of a predicate lies inside the frame (else it is false)
    for p in preds:
        if p in seen:
            continue
        seen.add(p)
        for load in p.loads():
            need = max(need, load.offset.eval(packet) + load.width)
        try:
            r = normalize(p)
        except NotExact as exc:
            r = _strengthen(p, exc, packet, acc, notes)
        if r is False:
            raise AssertionError(f"predicate {p} is false on the traced packet")
        if r is not True:
            acc.add(r)
    atoms, window_error = _emit(acc, packet, hdr_bytes, need)
    return Installed(tuple(atoms), tuple(notes), frozenset(acc.pinned), window_error)


def _strengthen(p: Cmp, exc: NotExact, packet: bytes, acc: _Acc, notes: list) -> list | bool:
    why = str(exc)
    # 0. a union of intervals of one field: keep the interval holding the observed value.
    r = _one_interval(exc, packet)
    if r is not None:
        notes.append(f"`{p}`: {why}; kept the interval holding the observed value")
        return r
    # 1. pin what variable offsets depend on; the residual often has constant offsets only.
    off: set[int] = set()
    offset_bits(p.a, packet, off)
    offset_bits(p.b, packet, off)
    cur: Cmp | bool = p
    if off:
        acc.pin(off, packet)
        cur = substitute_pred(p, off, packet)
        try:
            r = normalize(cur)
            notes.append(f"`{p}`: variable offset, pinned {describe_bits(off, packet)}")
            return r
        except NotExact as exc2:
            why = str(exc2)
            r = _one_interval(exc2, packet)
            if r is not None:
                notes.append(f"`{p}`: variable offset, pinned {describe_bits(off, packet)}; {why}; "
                             "kept the interval holding the observed value")
                return r
    if isinstance(cur, bool):
        notes.append(f"`{p}`: variable offset, pinned {describe_bits(off, packet)}")
        return cur
    # 2. pin every packet bit the residual depends on, keep the length symbolic.
    dep: set[int] = set()
    relevant_bits(cur.a, packet, dep)
    relevant_bits(cur.b, packet, dep)
    pkt_bits = {s for s in dep if s < LEN_SRC}
    if pkt_bits:
        acc.pin(pkt_bits, packet)
        cur2 = substitute_pred(cur, pkt_bits, packet)
        try:
            r = normalize(cur2)
            notes.append(f"`{p}`: {why}; pinned {describe_bits(off | pkt_bits, packet)}")
            return r
        except NotExact as exc3:
            r = _one_interval(exc3, packet)
            if r is not None:
                notes.append(f"`{p}`: {why}; pinned {describe_bits(off | pkt_bits, packet)}; "
                             "kept the length interval holding the observed length")
                return r
            cur = cur2
    # 3. pin the length too.
    len_bits = set(range(LEN_SRC, LEN_SRC + LEN_BITS))
    acc.pin(len_bits, packet)
    notes.append(f"`{p}`: {why}; pinned {describe_bits(off | pkt_bits | len_bits, packet)}")
    return True


def _one_interval(exc: NotExact, packet: bytes) -> list | None:
    """The interval of `exc.intervals` that holds the field's value on `packet`, as a constraint."""
    if exc.field is None:
        return None
    f = exc.field
    v = 0
    for i, s in enumerate(_field_srcs(f)):
        v |= _bit_of(packet, s) << i
    for lo, hi in exc.intervals:
        if lo <= v <= hi:
            return [("range", f, lo, hi, False)]
    return None


def _emit(acc: _Acc, packet: bytes, hdr_bytes: int, need: int) -> tuple[list[Atom], str | None]:
    # ranges that collapse to one value become bit requirements
    ranges = {}
    for (f, signed), (lo, hi) in acc.ranges.items():
        if lo > hi:
            raise AssertionError("empty range on the traced packet")
        if lo == hi:
            v = lo & ((1 << f.n) - 1)
            acc.add([("bits", {s: (v >> i) & 1 for i, s in enumerate(_field_srcs(f))})])
        else:
            ranges[(f, signed)] = (lo, hi)
    bits = acc.bits
    # length: full-width requirements join the length interval
    len_lo, len_hi = 0, LEN_MAX
    len_mask = len_val = 0
    for s, v in bits.items():
        if s >= LEN_SRC:
            len_mask |= 1 << (s - LEN_SRC)
            len_val |= v << (s - LEN_SRC)
    atoms_len: list[Atom] = []
    if len_mask == LEN_MAX:
        len_lo = len_hi = len_val
    elif len_mask:
        atoms_len.append(Atom(AtomKind.LEN, AtomOp.EQ, 0, 4, True, len_mask, len_val))
    other_ranges = []
    for (f, signed), (lo, hi) in ranges.items():
        if f.kind == AtomKind.LEN and f.shift == 0 and f.n == LEN_BITS and not signed:
            len_lo, len_hi = max(len_lo, lo), min(len_hi, hi)
        else:
            other_ranges.append((f, signed, lo, hi))
    # packet bit requirements -> masked == atoms over windows of up to 4 bytes (big-endian)
    by_byte: dict[int, list[int]] = {}
    for s, v in bits.items():
        if s < LEN_SRC:
            mv = by_byte.setdefault(s >> 3, [0, 0])
            mv[0] |= 1 << (s & 7)
            mv[1] |= v << (s & 7)
    pkt_atoms: list[Atom] = []
    order = sorted(by_byte)
    i = 0
    while i < len(order):
        start = order[i]
        j = i
        while j + 1 < len(order) and order[j + 1] < start + 4:
            j += 1
        last = order[j]
        span = last - start + 1
        w = 1 if span == 1 else 2 if span == 2 else 4
        o = start
        if o + w > hdr_bytes and hdr_bytes - w >= 0 and hdr_bytes - w >= last - w + 1:
            o = max(hdr_bytes - w, last - w + 1)
        mask = val = 0
        for byte in order[i:j + 1]:
            sh = 8 * (o + w - 1 - byte)
            mask |= by_byte[byte][0] << sh
            val |= by_byte[byte][1] << sh
        pkt_atoms.append(Atom(AtomKind.PKT, AtomOp.EQ, o, w, True, mask, val))
        i = j + 1
    # ranges, dropping those the bit requirements already decide
    range_atoms: list[Atom] = []
    for f, signed, lo, hi in other_ranges:
        srcs = _field_srcs(f)
        if all(s in bits for s in srcs):
            continue
        vmax = (1 << f.n) - 1
        if signed:
            smin = -(1 << (f.n - 1))
            if lo > smin:
                range_atoms.append(f.atom(AtomOp.SGE, lo))
            if hi < vmax >> 1:
                range_atoms.append(f.atom(AtomOp.SLE, hi))
        else:
            if lo > 0:
                range_atoms.append(f.atom(AtomOp.GE, lo))
            if hi < vmax:
                range_atoms.append(f.atom(AtomOp.LE, hi))
    ne_atoms: list[Atom] = []
    for f, v in acc.ne:
        srcs = _field_srcs(f)
        if all(s in bits for s in srcs):
            continue
        if f.kind == AtomKind.LEN and f.shift == 0 and f.n == LEN_BITS and not len_lo <= v <= len_hi:
            continue
        ne_atoms.append(f.atom(AtomOp.NE, v))
    for req in acc.nebits:
        if any(s in bits and bits[s] != v for s, v in req.items()):
            continue            # already excluded by the requirements
        ne_atoms.append(_nebits_atom(req, hdr_bytes))
    # bounds: every byte a predicate reads lies inside the frame (the NIC reads past it as 0);
    # variable load offsets are pinned, so the observed offsets hold under the atoms
    for a in pkt_atoms + range_atoms + ne_atoms:
        if a.kind == AtomKind.PKT:
            for k in range(a.width):
                if (a.mask >> (8 * (a.width - 1 - k if a.big_endian else k))) & 0xFF:
                    need = max(need, a.offset + k + 1)
    len_lo = max(len_lo, need)
    if len_lo == len_hi:
        atoms_len.insert(0, Atom(AtomKind.LEN, AtomOp.EQ, 0, 4, True, M32, len_lo))
    else:
        if len_lo > 0:
            atoms_len.insert(0, Atom(AtomKind.LEN, AtomOp.GE, 0, 4, True, M32, len_lo))
        if len_hi < LEN_MAX:
            atoms_len.insert(1 if len_lo > 0 else 0,
                             Atom(AtomKind.LEN, AtomOp.LE, 0, 4, True, M32, len_hi))
    out: list[Atom] = []
    for a in atoms_len + pkt_atoms + range_atoms + ne_atoms:
        if a not in out:
            out.append(a)
    window_error = None
    for a in out:
        if a.kind == AtomKind.PKT and a.offset + a.width > hdr_bytes:
            window_error = (f"atom {a} reaches byte {a.offset + a.width} "
                            f"> HDR_BYTES {hdr_bytes}")
            break
    return out, window_error


def _nebits_atom(req: dict, hdr_bytes: int) -> Atom:
    srcs = sorted(req)
    if srcs[0] >= LEN_SRC:
        mask = val = 0
        for s in srcs:
            mask |= 1 << (s - LEN_SRC)
            val |= req[s] << (s - LEN_SRC)
        return Atom(AtomKind.LEN, AtomOp.NE, 0, 4, True, M32 if mask == LEN_MAX else mask, val)
    lo, hi = srcs[0] >> 3, srcs[-1] >> 3
    span = hi - lo + 1
    w = 1 if span == 1 else 2 if span == 2 else 4
    o = lo
    if o + w > hdr_bytes and hi - w + 1 <= hdr_bytes - w:
        o = max(hdr_bytes - w, hi - w + 1)
    mask = val = 0
    for s in srcs:
        sh = 8 * (o + w - 1 - (s >> 3)) + (s & 7)
        mask |= 1 << sh
        val |= req[s] << sh
    return Atom(AtomKind.PKT, AtomOp.NE, o, w, True, mask, val)
