"""Smart constructors (constant folding, identities) and unsigned value bounds of expressions.

`alu`, `swap` and `const` are how every expression is built: they fold constants (with the
interpreter's semantics) and drop identities, using `bounds` to know when a mask or a zero-extension
changes nothing. Bounds read bit views, hence their own module above `expr` and `bitview`.
"""
from __future__ import annotations

from jit.ebpf import interp, isa
from jit.compiler.pathcond.expr import Alu, Const, Expr, LEN, LEN_MAX, M32, M64, PktLoad, Swap, ZERO
from jit.compiler.pathcond.bitview import view


def const(v: int) -> Const:
    return ZERO if v == 0 else Const(v)


def alu(op: int, is64: bool, a: Expr, b: Expr, off: int = 0) -> Expr:
    """`a OP b` with constant folding and the identities that keep conditions readable."""
    op &= 0xF0
    ca, cb = isinstance(a, Const), isinstance(b, Const)
    if op == isa.BPF_MOV:
        if cb:
            return const(interp.alu(op, is64, 0, b.value, off))
        if is64 and off == 0:
            return b
        if not is64 and off == 0 and _fits(b, 32):
            return b
        return Alu(op, is64, ZERO, b, off)
    if op == isa.BPF_NEG:
        if ca:
            return const(interp.alu(op, is64, a.value, 0))
        return Alu(op, is64, a, ZERO)
    if ca and cb:
        return const(interp.alu(op, is64, a.value, b.value, off))
    if off == 0:
        if cb:
            v = b.value if is64 else b.value & M32
            if v == 0 and op in (isa.BPF_ADD, isa.BPF_SUB, isa.BPF_OR, isa.BPF_XOR, isa.BPF_LSH,
                                 isa.BPF_RSH, isa.BPF_ARSH):
                return a if (is64 or _fits(a, 32)) else Alu(isa.BPF_MOV, False, ZERO, a)
            if v == 0 and op in (isa.BPF_AND, isa.BPF_MUL):
                return ZERO
            if op == isa.BPF_AND and _fits(a, 64 if is64 else 32) and \
                    (v | _max_value(a)) == v:
                return a                               # mask keeps every bit a can have
            if op in (isa.BPF_ADD, isa.BPF_SUB) and is64 and isinstance(a, Alu) and \
                    a.op == isa.BPF_ADD and a.is64 and a.off == 0 and isinstance(a.b, Const):
                delta = v if op == isa.BPF_ADD else -v
                return alu(isa.BPF_ADD, True, a.a, const(a.b.value + delta))
            if op == isa.BPF_SUB and is64:
                return alu(isa.BPF_ADD, True, a, const(-v))
        if ca and op in (isa.BPF_ADD, isa.BPF_OR, isa.BPF_AND, isa.BPF_XOR, isa.BPF_MUL):
            return alu(op, is64, b, a)                 # commutative: constant on the right
    return Alu(op, is64, a, b, off)


def swap(kind: str, width: int, a: Expr) -> Expr:
    if isinstance(a, Const):
        return const(interp.byteswap(kind, width, a.value))
    if kind == "le" and _fits(a, width):
        return a
    return Swap(kind, width, a)


# ---- bounds (unsigned value range) ---------------------------------------------------------------
def _max_value(e: Expr) -> int:
    return bounds(e)[1]


def _fits(e: Expr, bits: int) -> bool:
    return bounds(e)[1] < (1 << bits)


def bounds(e: Expr) -> tuple[int, int]:
    """A sound unsigned range [lo, hi] of `e`'s value (for frames of at most LEN_MAX bytes)."""
    b = e._bounds
    if b is None:
        b = e._bounds = _compute_bounds(e)
    return b


def _compute_bounds(e: Expr) -> tuple[int, int]:
    if isinstance(e, Const):
        return e.value, e.value
    if e is LEN:
        return 0, LEN_MAX
    if isinstance(e, PktLoad):
        return 0, (1 << (8 * e.width)) - 1
    v = view(e)
    if v is not None:
        lo = hi = 0
        for i, b in enumerate(v):
            if b == 1:
                lo |= 1 << i
                hi |= 1 << i
            elif b != 0:
                hi |= 1 << i
        return lo, hi
    if isinstance(e, Alu):
        mask = M64 if e.is64 else M32
        full = (0, mask)
        if e.off:
            return full
        (alo, ahi), (blo, bhi) = bounds(e.a), bounds(e.b)
        op = e.op
        if op == isa.BPF_ADD:
            return (alo + blo, ahi + bhi) if ahi + bhi <= mask else full
        if op == isa.BPF_SUB:
            return (alo - bhi, ahi - blo) if alo >= bhi else full
        if op == isa.BPF_MUL:
            return (alo * blo, ahi * bhi) if ahi * bhi <= mask else full
        if op == isa.BPF_AND:
            return 0, min(ahi, bhi, mask)
        if op in (isa.BPF_OR, isa.BPF_XOR):
            return 0, min((1 << max(ahi, bhi).bit_length()) - 1, mask)
        if op == isa.BPF_RSH and blo == bhi:
            return (alo & mask) >> (blo & (63 if e.is64 else 31)), min(ahi, mask) >> (blo & (63 if e.is64 else 31))
        if op == isa.BPF_LSH and blo == bhi:
            k = blo & (63 if e.is64 else 31)
            return (alo << k, ahi << k) if ahi << k <= mask else full
        if op == isa.BPF_DIV:
            return 0, min(ahi, mask)
        if op == isa.BPF_MOD:
            return 0, min(ahi, mask, max(bhi - 1, 0)) if blo > 0 else (0, min(ahi, mask))
        return full
    if isinstance(e, Swap):
        return 0, (1 << e.width) - 1
    return 0, M64
