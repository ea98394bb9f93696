"""Readable predicates: `pkt[12:14] == 0x86dd`, `len < 14`, `(pkt[14] & 0xf) >= 5`, ..."""
from __future__ import annotations

from jit.ebpf import isa
from jit.compiler.pathcond.expr import Const, Expr, LEN_SRC, M64, PktLoad, _be_load_text, _num
from jit.compiler.pathcond.bitview import _inv, _src, lin
from jit.compiler.pathcond.fold import _fits
from jit.compiler.pathcond.predicate import Cmp
from jit.compiler.pathcond.normalize import Field, NotExact, _field_srcs, normalize


# ---- readable predicates -------------------------------------------------------------------------
def pretty(p: Cmp) -> str:
    """`pkt[12:14] == 0x86dd`, `len < 14`, `(pkt[14] & 0xf) >= 5`, ... or the expression tree."""
    sym = ("s" if p.signed else "") + p.op
    try:
        r = normalize(p) if isinstance(p.b, Const) else None
    except NotExact:
        r = None
    if r is not None and not isinstance(r, bool) and len(r) == 1:
        kind = r[0][0]
        if kind in ("bits", "nebits") and all(s < LEN_SRC for s in r[0][1]):
            text = _bits_text(r[0][1])
            if text is not None:
                if kind == "nebits":
                    return text.replace(" == ", " != ") if " && " not in text else f"!{text}"
                return text
        if kind in ("range", "ne") and p.b.value < 1 << 32:
            f = r[0][1]
            lv = lin(p.a)
            if lv is not None and lv[1] == 0 and _is_plain_field(lv[0], f):
                c = isa.sign_extend(p.b.value, 32 if p.is32 else 64) if p.signed else p.b.value
                return f"{f.text()} {sym} {_num(c & M64)}"
    a, b = p.a, p.b
    if p.op in ("==", "!=") and isinstance(a, PktLoad) and a.width > 1 and isinstance(b, Const) \
            and b.value < 1 << (8 * a.width) and not (p.is32 and a.width == 8):
        be = int.from_bytes(b.value.to_bytes(a.width, "little"), "big")
        return f"{_be_load_text(a)} {sym} {be:#0{2 + 2 * a.width}x}"
    return f"{_side(a, p.is32)} {sym} {_side(b, p.is32)}"


def _side(e: Expr, is32: bool) -> str:
    if is32 and not _fits(e, 32):
        return f"u32({e})"
    return str(e)


def _is_plain_field(bits: tuple, f: Field) -> bool:
    """The value is exactly V (no constant bits, bit 0 of the value is V's bit 0)."""
    srcs = _field_srcs(f)
    for i in range(64):
        b = bits[i]
        if i < f.n:
            if b <= 1 or _inv(b) or _src(b) != srcs[i]:
                return False
        elif b != 0:
            return False
    return True


def _bits_text(req: dict) -> str | None:
    by_byte: dict[int, list[int]] = {}
    for s, v in req.items():
        mv = by_byte.setdefault(s >> 3, [0, 0])
        mv[0] |= 1 << (s & 7)
        mv[1] |= v << (s & 7)
    order = sorted(by_byte)
    parts = []
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and order[j + 1] == order[j] + 1 and \
                by_byte[order[j + 1]][0] == 0xFF and by_byte[order[j]][0] == 0xFF:
            j += 1
        lo, hi = order[i], order[j]
        mask = val = 0
        for byte in order[i:j + 1]:
            mask = (mask << 8) | by_byte[byte][0]
            val = (val << 8) | by_byte[byte][1]
        n = hi - lo + 1
        fld = f"pkt[{lo}]" if n == 1 else f"pkt[{lo}:{hi + 1}]"
        if mask != (1 << (8 * n)) - 1:
            fld = f"({fld} & {mask:#x})"
        parts.append(f"{fld} == {val:#0{2 + 2 * n}x}")
        i = j + 1
    return " && ".join(parts) if len(parts) == 1 else "(" + " && ".join(parts) + ")"
