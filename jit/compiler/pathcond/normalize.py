"""Normalization: one predicate -> an exact conjunction of NIC atoms, or `NotExact` with the reason.


Normalization (`install_atoms`) turns a conjunction into atoms. It is EXACT where the predicate is a
comparison of one bit field of the packet (or of the length) with a constant:

* bit view: an expression built from constant-offset loads, masks, shifts, or/xor with constants,
  or/add of disjoint bits, truncation, sign extension and byte swaps is a vector of 64 bits, each a
  constant or one (possibly inverted) packet bit. `view == c` fixes bits: any permutation, any
  width, both byte orders -> masked `==` atoms (wide loads split into 4-byte atoms). `view != c` is
  one atom when its bits fit one 4-byte window.
* field ranges: when the variable bits are one contiguous run of a big- or little-endian field
  (`(field & mask) >> k`, possibly sign-extended, plus constant bits, plus an added constant with
  wrap-around), `expr OP c` (unsigned or signed, 32- or 64-bit) is solved exactly for the set of
  field values; one interval becomes `>=`/`<=` atoms (signed atoms when the interval wraps through
  the field's sign bit), the complement of one value a `!=` atom.
* length: `len` is a 16-bit field (frames the NIC sees are shorter than 64 KiB), so pointer
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Sequence

from jit.ebpf import interp, isa
from jit.nic.encoding import HDR_BYTES, Atom, AtomKind, AtomOp
from jit.compiler.pathcond.expr import Const, LEN_MAX, LEN_SRC, M32
from jit.compiler.pathcond.bitview import _inv, _src, _truncate, _view_value, lin
from jit.compiler.pathcond.predicate import Cmp, FLIP, _JMP


class NotExact(Exception):
    """A predicate is not a conjunction of atoms; the message says why. `field`/`intervals`, when
    set, describe it as a union of intervals of one field (a strengthening can pick one)."""

    def __init__(self, why: str, field: "Field | None" = None, intervals: list | None = None):
        super().__init__(why)
        self.field, self.intervals = field, intervals


# ---- fields: a run of consecutive bits of one atom's field ---------------------------------------
@dataclass(frozen=True)
class Field:
    """V = (F & mask) >> shift, F the atom field (kind, offset, width, byte order); V has n bits."""
    kind: AtomKind
    offset: int
    width: int
    big_endian: bool
    shift: int
    n: int

    @property
    def mask(self) -> int:
        return ((1 << self.n) - 1) << self.shift

    @property
    def signed_ok(self) -> bool:
        """Whether a signed atom sign-extends exactly V's top bit."""
        return self.kind == AtomKind.PKT and self.shift + self.n == 8 * self.width

    def atom(self, op: AtomOp, v: int) -> Atom:
        mask = self.mask
        if self.kind == AtomKind.LEN:
            if mask == LEN_MAX:
                mask = M32
            return Atom(AtomKind.LEN, op, 0, 4, True, mask, (v << self.shift) & M32)
        return Atom(AtomKind.PKT, op, self.offset, self.width, self.big_endian, mask,
                    (v << self.shift) & M32)

    def text(self) -> str:
        if self.kind == AtomKind.LEN:
            base = "len"
        else:
            base = f"pkt[{self.offset}]" if self.width == 1 else \
                f"pkt[{self.offset}:{self.offset + self.width}]" + ("" if self.big_endian else ".le")
        full = (1 << (8 * self.width)) - 1 if self.kind == AtomKind.PKT else LEN_MAX
        if self.mask != full:
            base = f"({base} & {self.mask:#x})"
        if self.shift:
            base = f"({base} >> {self.shift})"
        return base


def _field_srcs(f: Field) -> list[int]:
    if f.kind == AtomKind.LEN:
        return [LEN_SRC + f.shift + i for i in range(f.n)]
    o, w = f.offset, f.width
    out = []
    for i in range(f.n):
        fb = f.shift + i
        byte = (o + w - 1 - fb // 8) if f.big_endian else (o + fb // 8)
        out.append(byte * 8 + fb % 8)
    return out


def _field_bit(o: int, w: int, be: bool, src: int) -> int:
    byte, bit = src >> 3, src & 7
    return 8 * ((o + w - 1 - byte) if be else (byte - o)) + bit


def find_field(srcs: Sequence[int], hdr_bytes: int = HDR_BYTES) -> Field | None:
    """The atom field whose bits shift..shift+n-1 are the source bits `srcs` (V's bit 0 first)."""
    n = len(srcs)
    if srcs[0] >= LEN_SRC:
        s = srcs[0] - LEN_SRC
        if all(x == LEN_SRC + s + i for i, x in enumerate(srcs)):
            return Field(AtomKind.LEN, 0, 4, True, s, n)
        return None
    if any(x >= LEN_SRC for x in srcs):
        return None
    lo_b = min(srcs) >> 3
    hi_b = max(srcs) >> 3
    fallback = None
    for w in (1, 2, 4):
        if hi_b - lo_b + 1 > w:
            continue
        for o in range(lo_b, max(hi_b - w + 1, 0) - 1, -1):
            for be in ((True,) if w == 1 else (True, False)):
                s = _field_bit(o, w, be, srcs[0])
                if all(_field_bit(o, w, be, x) == s + i for i, x in enumerate(srcs)):
                    f = Field(AtomKind.PKT, o, w, be, s, n)
                    if o + w <= hdr_bytes:
                        return f
                    fallback = fallback or f
        if fallback:
            return fallback
    return fallback


# ---- normalization of one predicate --------------------------------------------------------------
# Results: ("bits", {src: bit}) fixes source bits; ("range", Field, lo, hi, signed) bounds V;
# ("ne", Field, v) excludes one value of V; ("nebits", {src: bit}) excludes one assignment.
def _req_bits(bits: Sequence[int], c: int, nbits: int) -> dict | bool:
    """Source-bit assignment under which `bits == c` (first `nbits` bits), or a constant bool."""
    req: dict[int, int] = {}
    for i in range(nbits):
        want = (c >> i) & 1
        b = bits[i]
        if b <= 1:
            if b != want:
                return False
            continue
        src, val = _src(b), want ^ _inv(b)
        old = req.get(src)
        if old is None:
            req[src] = val
        elif old != val:
            return False
    return req if req else True


_NORM_CACHE: dict = {}
_NORM_CACHE_MAX = 50_000


def normalize(pred: "Cmp | bool") -> list | bool:
    """Exact constraints equivalent to `pred` (a list), True/False, or raise NotExact.
    A pure function of the predicate, so results (and refusals) are cached."""
    if isinstance(pred, bool):
        return pred
    r = _NORM_CACHE.get(pred)
    if r is None:
        try:
            r = _normalize(pred)
        except NotExact as exc:
            # Cache the refusal's contents, never the exception object: re-raising one object
            # appends to its traceback each time, which keeps every frame it passed alive.
            r = _Refusal(str(exc), exc.field, exc.intervals)
        if len(_NORM_CACHE) >= _NORM_CACHE_MAX:
            _NORM_CACHE.clear()
        _NORM_CACHE[pred] = r
    if isinstance(r, _Refusal):
        raise NotExact(r.why, r.field, r.intervals)
    return r


class _Refusal(NamedTuple):
    """A cached `NotExact`: what a fresh exception is built from."""
    why: str
    field: "Field | None"
    intervals: list | None


def _normalize(pred: "Cmp") -> list | bool:
    op, a, b, Wc = pred.op, pred.a, pred.b, 32 if pred.is32 else 64
    if isinstance(a, Const) and not isinstance(b, Const):
        a, b, op = b, a, FLIP[op]
    if not isinstance(b, Const):
        raise NotExact("compares two non-constant values")
    c = b.value & ((1 << Wc) - 1)
    lv = lin(a)
    if lv is None:
        raise NotExact("not a bit field of the packet or the length")
    bits, add, W = lv
    if W > Wc:
        bits, add, W = _truncate(bits, Wc), add & ((1 << Wc) - 1), Wc
    if op in ("==", "!="):
        if c >= 1 << W:
            return op == "!="
        req = _req_bits(bits, (c - add) & ((1 << W) - 1), W)
        if isinstance(req, bool):
            return req if op == "==" else not req
        if op == "==":
            return [("bits", req)]
        return [_ne_constraint(req)]
    return _solve_range(bits, add, W, Wc, pred.signed, op, c)


def _ne_constraint(req: dict) -> tuple:
    srcs = sorted(req)
    if srcs[0] >= LEN_SRC:
        if srcs[-1] >= LEN_SRC:
            return ("nebits", req)
        raise NotExact("!= relates the length and packet bytes")
    if srcs[-1] >= LEN_SRC:
        raise NotExact("!= relates the length and packet bytes")
    if (srcs[-1] >> 3) - (srcs[0] >> 3) >= 4:
        raise NotExact("!= over more than 4 bytes")
    return ("nebits", req)


def _solve_range(bits, add, W, Wc, signed, op, c) -> list | bool:
    pos = [i for i in range(W) if bits[i] > 1]
    if not pos:
        val = (_view_value(bits[:W]) + add) & ((1 << W) - 1)
        return interp.cond_taken(_JMP[(op, signed)], Wc == 32, val, c)
    lo_p, top = pos[0], pos[-1]
    if pos != list(range(lo_p, top + 1)):
        raise NotExact("the compared bits are not one contiguous field")
    refs = [bits[i] for i in pos]
    if any(_inv(r) for r in refs):
        raise NotExact("inequality on inverted bits")
    # sign replication: refs[k:] all equal refs[k-1]
    a = len(refs)
    while a > 1 and refs[a - 1] == refs[a - 2]:
        a -= 1
    srcs = [_src(r) for r in refs[:a]]
    if len(set(srcs)) != len(srcs):
        raise NotExact("a packet bit appears twice in the compared value")
    f = find_field(srcs)
    if f is None:
        raise NotExact("the compared bits are not one field of the packet")
    n = a
    rep = (1 << (top + 1)) - (1 << (lo_p + n)) if a < len(refs) else 0
    K = 0
    for i in range(W):
        if bits[i] == 1:
            K |= 1 << i
    step = 1 << lo_p
    half = 1 << (n - 1)
    segments = [(0, half - 1, K + add), (half, (1 << n) - 1, K + add + rep)]
    sc = isa.sign_extend(c, Wc) if signed else c
    sign_adjust = signed and W == Wc
    intervals: list[tuple[int, int]] = []
    H = 1 << (W - 1)
    for vlo, vhi, t0 in segments:
        tmin, tmax = t0 + vlo * step, t0 + vhi * step
        for k in range(tmin // H, tmax // H + 1):
            t_lo, t_hi = max(tmin, k * H), min(tmax, (k + 1) * H - 1)
            base = (k // 2) << W
            if sign_adjust and k % 2 == 1:
                base += 1 << W
            # v = t - base; need v OP sc
            for v_lo, v_hi in _op_intervals(op, sc):
                lo_t, hi_t = max(t_lo, v_lo + base if v_lo is not None else t_lo), \
                    min(t_hi, v_hi + base if v_hi is not None else t_hi)
                if lo_t > hi_t:
                    continue
                V_lo = -((t0 - lo_t) // step)           # ceil((lo_t - t0) / step)
                V_hi = (hi_t - t0) // step
                V_lo, V_hi = max(V_lo, vlo), min(V_hi, vhi)
                if V_lo <= V_hi:
                    intervals.append((V_lo, V_hi))
    return _intervals_to_constraints(f, sorted(intervals), n)


def _op_intervals(op: str, c: int) -> list[tuple[int | None, int | None]]:
    return {"<": [(None, c - 1)], "<=": [(None, c)], ">": [(c + 1, None)], ">=": [(c, None)],
            "==": [(c, c)], "!=": [(None, c - 1), (c + 1, None)]}[op]


def _intervals_to_constraints(f: Field, ivs: list, n: int) -> list | bool:
    merged: list[list[int]] = []
    for lo, hi in ivs:
        if merged and lo <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    vmax = (1 << n) - 1
    if not merged:
        return False
    if len(merged) == 1:
        lo, hi = merged[0]
        if lo == 0 and hi == vmax:
            return True
        return [("range", f, lo, hi, False)]
    if len(merged) == 2:
        (a0, a1), (b0, b1) = merged
        if a0 == 0 and b1 == vmax and b0 == a1 + 2:
            return [("ne", f, a1 + 1)]
        if a0 == 0 and b1 == vmax and f.signed_ok and a1 < 1 << (n - 1) <= b0:
            return [("range", f, b0 - (1 << n), a1, True)]
    raise NotExact("the satisfying field values are not one interval", f, merged)
