"""Bit views and linear views of expressions: the representation normalization works on.

A bit view (`view(e)`) is an expression as a vector of 64 bits, each a constant or one (possibly
inverted) source bit -- a packet bit or a length bit. A linear view (`lin(e)`) is `(bits + addend) mod
2**W` for expressions that add a constant to such a vector. Expressions outside these shapes have no
view (None), and normalization then strengthens instead.
"""
from __future__ import annotations

from typing import Sequence

from jit.ebpf import isa
from jit.compiler.pathcond.expr import Alu, Const, Expr, LEN, LEN_BITS, LEN_SRC, M32, PktLoad, Swap, _UNSET


# ---- bit views -----------------------------------------------------------------------------------
# A bit view is a tuple of 64 entries, bit 0 first: 0 or 1 (constant), or a reference
# `2 + (src << 1 | inverted)` to source bit `src` (packet bit byte*8+bit, or LEN_SRC + j for bit j of
# the length; length bits >= LEN_BITS are 0).
def _ref(src: int, inv: int = 0) -> int:
    return 2 + ((src << 1) | inv)


def _src(ref: int) -> int:
    return (ref - 2) >> 1


def _inv(ref: int) -> int:
    return (ref - 2) & 1


_CONST_VIEWS: dict[int, tuple] = {}


def _const_view(v: int) -> tuple:
    t = _CONST_VIEWS.get(v)
    if t is None:
        t = tuple((v >> i) & 1 for i in range(64))
        if len(_CONST_VIEWS) < 4096:
            _CONST_VIEWS[v] = t
    return t


def _view_value(v: Sequence[int]) -> int | None:
    """The constant a view denotes, or None if it has variable bits."""
    out = 0
    for i, b in enumerate(v):
        if b > 1:
            return None
        out |= b << i
    return out


_Z = (0,) * 64


def view(e: Expr) -> tuple | None:
    """`e` as 64 bits, each constant or one (possibly inverted) source bit; None if `e` mixes bits."""
    v = e._view
    if v is _UNSET:
        v = e._view = _compute_view(e)
    return v


def _compute_view(e: Expr) -> tuple | None:
    if isinstance(e, Const):
        return _const_view(e.value)
    if e is LEN:
        return tuple(_ref(LEN_SRC + j) for j in range(LEN_BITS)) + (0,) * (64 - LEN_BITS)
    if isinstance(e, PktLoad):
        if not isinstance(e.offset, Const) or e.offset.value > 1 << 20:
            return None
        o = e.offset.value
        return tuple(_ref((o << 3) + i) for i in range(8 * e.width)) + (0,) * (64 - 8 * e.width)
    if isinstance(e, Swap):
        a = view(e.a)
        if a is None:
            return None
        w = e.width
        if e.kind == "le":
            return a[:w] + (0,) * (64 - w)
        nb = w // 8
        out = []
        for j in range(nb):
            src = nb - 1 - j
            out.extend(a[8 * src:8 * src + 8])
        return tuple(out) + (0,) * (64 - w)
    if isinstance(e, Alu):
        return _alu_view(e)
    return None


def _alu_view(e: Alu) -> tuple | None:
    W = 64 if e.is64 else 32
    op = e.op
    if op == isa.BPF_MOV:
        b = view(e.b)
        if b is None:
            return None
        if e.off:
            n = e.off
            return b[:n] + (b[n - 1],) * (W - n) + (0,) * (64 - W)
        return b[:W] + (0,) * (64 - W)
    if op == isa.BPF_NEG:
        return None
    a, b = view(e.a), view(e.b)
    if a is None or b is None:
        return None
    a, b = a[:W], b[:W]
    bc = _view_value(b)
    out: list[int] | tuple | None
    if e.off:
        return None
    if op in (isa.BPF_AND, isa.BPF_OR, isa.BPF_XOR):
        out = []
        for x, y in zip(a, b):
            r = _bitop(op, x, y)
            if r is None:
                return None
            out.append(r)
    elif op == isa.BPF_ADD:
        if any(x != 0 and y != 0 for x, y in zip(a, b)):
            return None
        out = [x if y == 0 else y for x, y in zip(a, b)]
    elif op == isa.BPF_SUB:
        if bc != 0:
            return None
        out = a
    elif op in (isa.BPF_LSH, isa.BPF_RSH, isa.BPF_ARSH, isa.BPF_MUL, isa.BPF_DIV, isa.BPF_MOD):
        if bc is None:
            return None
        if op == isa.BPF_MUL:
            if bc == 0 or bc & (bc - 1):
                return None
            op, bc = isa.BPF_LSH, bc.bit_length() - 1
        elif op == isa.BPF_DIV:
            if bc == 0 or bc & (bc - 1):
                return None
            op, bc = isa.BPF_RSH, bc.bit_length() - 1
        elif op == isa.BPF_MOD:
            if bc == 0 or bc & (bc - 1):
                return None
            k = bc.bit_length() - 1
            return tuple(a[:k]) + (0,) * (64 - k)
        k = bc & (W - 1)
        if op == isa.BPF_LSH:
            out = (0,) * k + tuple(a[:W - k])
        elif op == isa.BPF_RSH:
            out = tuple(a[k:]) + (0,) * k
        else:
            out = tuple(a[k:]) + (a[W - 1],) * k
    else:
        return None
    return tuple(out) + (0,) * (64 - W)


def _bitop(op: int, x: int, y: int) -> int | None:
    if op == isa.BPF_AND:
        if x == 0 or y == 0:
            return 0
        if x == 1:
            return y
        if y == 1 or x == y:
            return x
        return 0 if x == y ^ 1 else None
    if op == isa.BPF_OR:
        if x == 1 or y == 1:
            return 1
        if x == 0:
            return y
        if y == 0 or x == y:
            return x
        return 1 if x == y ^ 1 else None
    # xor
    if x <= 1 and y <= 1:
        return x ^ y
    if x <= 1:
        x, y = y, x
    if y == 0:
        return x
    if y == 1:
        return x ^ 1
    if x == y:
        return 0
    return 1 if x == y ^ 1 else None


# ---- linear views: (bits + addend) mod 2**W --------------------------------------------------------
def lin(e: Expr) -> tuple | None:
    """(bits, addend, W): `e == (value(bits) + addend) mod 2**W`, with bits[W:] all 0, or None."""
    r = e._lin
    if r is _UNSET:
        r = e._lin = _compute_lin(e)
    return r


def _truncate(v: tuple, w: int) -> tuple:
    return v[:w] + (0,) * (64 - w)


def _compute_lin(e: Expr) -> tuple | None:
    v = view(e)
    if v is not None:
        return v, 0, 64
    if not isinstance(e, Alu) or e.off:
        return None
    W = 64 if e.is64 else 32
    op = e.op
    if op in (isa.BPF_ADD, isa.BPF_SUB):
        x, c = e.a, e.b
        if isinstance(x, Const) and op == isa.BPF_ADD:
            x, c = c, x
        if not isinstance(c, Const):
            return None
        inner = lin(x)
        if inner is None:
            return None
        bits, add, w = inner
        cv = c.value if op == isa.BPF_ADD else -c.value
        if w >= W:
            return _truncate(bits, W), (add + cv) & ((1 << W) - 1), W
        if add == 0:            # value(bits) < 2**w <= 2**W: no inner wrap
            return bits, cv & ((1 << W) - 1), W
        return None
    if op == isa.BPF_MOV and not e.is64:
        inner = lin(e.b)
        if inner is None:
            return None
        bits, add, w = inner
        if w >= 32:
            return _truncate(bits, 32), add & M32, 32
        return inner
    if op == isa.BPF_AND and isinstance(e.b, Const):
        m = e.b.value & ((1 << W) - 1)
        if m & (m + 1) == 0:            # 2**k - 1
            k = m.bit_length()
            inner = lin(e.a)
            if inner is None:
                return None
            bits, add, w = inner
            if w >= k:
                return _truncate(bits, k), add & m, k
        return None
    if op == isa.BPF_RSH and isinstance(e.b, Const) and isinstance(e.a, Alu) and \
            e.a.op == isa.BPF_LSH and e.a.is64 == e.is64 and isinstance(e.a.b, Const) and \
            e.a.b.value & (W - 1) == e.b.value & (W - 1):
        k = W - (e.b.value & (W - 1))
        inner = lin(e.a.a)
        if inner is None:
            return None
        bits, add, w = inner
        if w >= k:
            return _truncate(bits, k), add & ((1 << k) - 1), k
        return inner
    return None
