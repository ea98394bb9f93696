"""Path conditions: symbolic expressions over the ORIGINAL input packet, and their normalization into
the NIC's hardware atoms (`jit.encoding.Atom`).

Expressions (immutable, hashable, structurally compared):

    Const(v)                 a 64-bit constant
    LEN                      the frame length in bytes
    PktLoad(offset, width)   `width` bytes (1, 2, 4, 8) of the original packet at `offset` (itself an
                             expression: variable offsets such as IPv4 IHL), read little-endian as
                             eBPF loads do, zero-extended
    Alu(op, is64, a, b, off) an eBPF ALU operation (BPF_ADD ... BPF_ARSH, movsx/sdiv via `off`);
                             evaluated by `jit.interp.alu`, so the semantics are the interpreter's
    Swap(kind, width, a)     byte swap (`le`, `be`, `bswap`), evaluated by `jit.interp.byteswap`

Predicates are `Cmp(op, a, b, is32, signed)` (op one of == != < <= > >=), evaluated with
`jit.interp.cond_taken`. A `Condition` is a conjunction of predicates.

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
  comparisons `data + K OP data_end`, which the tracer turns into `K OP len`, become `len` atoms.

Everything else (variable offsets, two fields related, arithmetic on fields, wide inequalities) is
STRENGTHENED: first the packet bits that variable load offsets depend on are pinned to their
observed values (the loads then have constant offsets and the residual predicate is often exact);
then, if needed, every packet bit the predicate depends on; then the length. Pinning implies the
predicate because the predicate is a function of the pinned inputs; each strengthening leaves a note.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

from jit import interp, isa
from jit.encoding import HDR_BYTES, Atom, AtomKind, AtomOp

M64 = (1 << 64) - 1
M32 = (1 << 32) - 1
LEN_BITS = 16                   # frames the NIC sees are < 2**16 bytes (PKT_BYTES = 2048)
LEN_MAX = (1 << LEN_BITS) - 1
LEN_SRC = 1 << 24               # bit-view source index of length bit 0 (packet bits are byte*8+bit)


class NotExact(Exception):
    """A predicate is not a conjunction of atoms; the message says why. `field`/`intervals`, when
    set, describe it as a union of intervals of one field (a strengthening can pick one)."""

    def __init__(self, why: str, field: "Field | None" = None, intervals: list | None = None):
        super().__init__(why)
        self.field, self.intervals = field, intervals


class PacketTooShort(Exception):
    """Evaluating a load past the end of the packet (the predicate cannot hold)."""


# ---- expressions ---------------------------------------------------------------------------------
class Expr:
    """Base of the expression nodes. `_key` is the structural identity; `_hash` is cached."""
    __slots__ = ("_key", "_hash", "_view", "_lin", "_bounds", "_str")

    def _init(self, key: tuple) -> None:
        self._key = key
        self._hash = hash(key)
        self._view = _UNSET
        self._lin = _UNSET
        self._bounds = None
        self._str = None

    def __str__(self) -> str:
        s = self._str
        if s is None:
            s = self._str = self._text()
        return s

    def _text(self) -> str:
        raise NotImplementedError

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other) -> bool:
        return self is other or (isinstance(other, Expr) and self._hash == other._hash
                                 and self._key == other._key)

    def __ne__(self, other) -> bool:
        return not self.__eq__(other)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self}>"

    def eval(self, packet: bytes) -> int:
        raise NotImplementedError

    def children(self) -> tuple["Expr", ...]:
        return ()


_UNSET = object()
# Hash-consing: structurally equal nodes are one object, so the per-node analyses (bit views,
# bounds, text) computed for one packet are reused for the next packet on the same path. The
# table is bounded; after it is cleared, equality falls back to structure.
_INTERN: dict[tuple, Expr] = {}
_INTERN_MAX = 200_000


def _interned(cls, key: tuple):
    node = _INTERN.get(key)
    if node is not None:
        return node, False
    node = object.__new__(cls)
    node._init(key)
    if len(_INTERN) >= _INTERN_MAX:
        _INTERN.clear()
    _INTERN[key] = node
    return node, True


class Const(Expr):
    __slots__ = ("value",)

    def __new__(cls, value: int):
        value &= M64
        node, new = _interned(cls, ("c", value))
        if new:
            node.value = value
        return node

    def eval(self, packet: bytes) -> int:
        return self.value

    def _text(self) -> str:
        return _num(self.value)


class Len(Expr):
    """The frame length in bytes. A singleton: `Len() is LEN`."""
    __slots__ = ()
    _instance = None

    def __new__(cls):
        if cls._instance is None:
            node = object.__new__(cls)
            node._init(("len",))
            cls._instance = node
        return cls._instance

    def eval(self, packet: bytes) -> int:
        return len(packet)

    def _text(self) -> str:
        return "len"


LEN = Len()


class PktLoad(Expr):
    """`width` bytes of the original packet at `offset`, little-endian, zero-extended."""
    __slots__ = ("offset", "width")

    def __new__(cls, offset: Expr, width: int):
        if width not in (1, 2, 4, 8):
            raise ValueError(f"bad load width {width}")
        node, new = _interned(cls, ("ld", offset, width))
        if new:
            node.offset, node.width = offset, width
        return node

    def eval(self, packet: bytes) -> int:
        off = self.offset.eval(packet)
        if off + self.width > len(packet):
            raise PacketTooShort(off)
        return int.from_bytes(packet[off:off + self.width], "little")

    def children(self):
        return (self.offset,)

    def _text(self) -> str:
        if isinstance(self.offset, Const):
            o = self.offset.value
            return f"pkt[{o}]" if self.width == 1 else f"pkt[{o}:{o + self.width}].le"
        off = str(self.offset)
        return f"pkt[{off}]" if self.width == 1 else f"pkt[{off} +: {self.width}].le"


_ALU_SYM = {isa.BPF_ADD: "+", isa.BPF_SUB: "-", isa.BPF_MUL: "*", isa.BPF_DIV: "/",
            isa.BPF_OR: "|", isa.BPF_AND: "&", isa.BPF_LSH: "<<", isa.BPF_RSH: ">>",
            isa.BPF_MOD: "%", isa.BPF_XOR: "^", isa.BPF_ARSH: "s>>"}


class Alu(Expr):
    """An eBPF ALU operation; unary ops (neg, mov, movsx) use `b` (mov) or `a` (neg) only."""
    __slots__ = ("op", "is64", "a", "b", "off")

    def __new__(cls, op: int, is64: bool, a: Expr, b: Expr, off: int = 0):
        node, new = _interned(cls, ("alu", op, is64, a, b, off))
        if new:
            node.op, node.is64, node.a, node.b, node.off = op, is64, a, b, off
        return node

    def eval(self, packet: bytes) -> int:
        return interp.alu(self.op, self.is64, self.a.eval(packet), self.b.eval(packet), self.off)

    def children(self):
        return (self.a, self.b)

    def _text(self) -> str:
        op, w = self.op, ("" if self.is64 else "u32")
        if op == isa.BPF_MOV:
            if self.off:
                return f"s{self.off}({self.b})" + ("" if self.is64 else " & 0xffffffff")
            return f"u32({self.b})"
        if op == isa.BPF_NEG:
            return f"{w}(-{self.a})" if w else f"(-{self.a})"
        sym = _ALU_SYM[op]
        if op in (isa.BPF_DIV, isa.BPF_MOD) and self.off:
            sym = "s" + sym
        text = f"({self.a} {sym} {self.b})"
        return f"u32{text}" if w else text


class Swap(Expr):
    __slots__ = ("kind", "width", "a")

    def __new__(cls, kind: str, width: int, a: Expr):
        node, new = _interned(cls, ("swap", kind, width, a))
        if new:
            node.kind, node.width, node.a = kind, width, a
        return node

    def eval(self, packet: bytes) -> int:
        return interp.byteswap(self.kind, self.width, self.a.eval(packet))

    def children(self):
        return (self.a,)

    def _text(self) -> str:
        a = self.a
        if self.kind != "le" and isinstance(a, PktLoad) and 8 * a.width == self.width:
            return _be_load_text(a)       # a big-endian field of the packet
        return f"{self.kind}{self.width}({a})"


def _be_load_text(a: PktLoad) -> str:
    if isinstance(a.offset, Const):
        o = a.offset.value
        return f"pkt[{o}:{o + a.width}]"
    return f"pkt[{a.offset} +: {a.width}]"


def _num(v: int) -> str:
    if v >= 1 << 63:
        return str(v - (1 << 64))
    return str(v) if v < 256 else hex(v)


ZERO = Const(0)


# ---- smart constructors (constant folding, identities) -------------------------------------------
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


# ---- predicates ----------------------------------------------------------------------------------
OPS = ("==", "!=", "<", "<=", ">", ">=")
NEGATE = {"==": "!=", "!=": "==", "<": ">=", ">=": "<", "<=": ">", ">": "<="}
FLIP = {"==": "==", "!=": "!=", "<": ">", ">": "<", "<=": ">=", ">=": "<="}
_JMP = {("==", False): isa.BPF_JEQ, ("!=", False): isa.BPF_JNE,
        ("<", False): isa.BPF_JLT, ("<=", False): isa.BPF_JLE,
        (">", False): isa.BPF_JGT, (">=", False): isa.BPF_JGE,
        ("<", True): isa.BPF_JSLT, ("<=", True): isa.BPF_JSLE,
        (">", True): isa.BPF_JSGT, (">=", True): isa.BPF_JSGE}
JMP_TO_OP = {code: key for key, code in _JMP.items()}


class Cmp:
    """`a OP b` on 64-bit (or, `is32`, the low 32 bits of) values, unsigned unless `signed`.
    Build with `cmp()`, which canonicalizes (constant on the right) and folds constants."""
    __slots__ = ("op", "a", "b", "is32", "signed", "_hash", "_key")

    def __init__(self, op: str, a: Expr, b: Expr, is32: bool = False, signed: bool = False):
        if op not in OPS:
            raise ValueError(f"bad comparison {op!r}")
        self.op, self.a, self.b, self.is32 = op, a, b, is32
        self.signed = signed and op not in ("==", "!=")
        self._key = (self.op, a, b, is32, self.signed)
        self._hash = hash(self._key)

    def __hash__(self):
        return self._hash

    def __eq__(self, other):
        return self is other or (isinstance(other, Cmp) and self._key == other._key)

    def negate(self) -> "Cmp":
        return Cmp(NEGATE[self.op], self.a, self.b, self.is32, self.signed)

    def evaluate(self, packet: bytes) -> bool:
        """Truth on `packet`; a load past its end makes the predicate false."""
        try:
            a, b = self.a.eval(packet), self.b.eval(packet)
        except PacketTooShort:
            return False
        return interp.cond_taken(_JMP[(self.op, self.signed)], self.is32, a, b)

    def loads(self) -> list[PktLoad]:
        out: list[PktLoad] = []
        _collect_loads(self.a, out)
        _collect_loads(self.b, out)
        return out

    def __str__(self) -> str:
        return pretty(self)

    def __repr__(self) -> str:
        return f"<Cmp {self}>"


def cmp(op: str, a: Expr, b: Expr, is32: bool = False, signed: bool = False) -> "Cmp | bool":
    """A canonical predicate, or a bool when both sides are constant."""
    if isinstance(a, Const) and isinstance(b, Const):
        code = _JMP[(op, signed and op not in ("==", "!="))]
        return interp.cond_taken(code, is32, a.value, b.value)
    if isinstance(a, Const):
        a, b, op = b, a, FLIP[op]
    return Cmp(op, a, b, is32, signed)


def _collect_loads(e: Expr, out: list) -> None:
    if isinstance(e, PktLoad):
        out.append(e)
    for c in e.children():
        _collect_loads(c, out)


@dataclass(frozen=True)
class Condition:
    """A conjunction of predicates, in path order (earlier predicates guard later loads)."""
    preds: tuple[Cmp, ...] = ()

    def evaluate(self, packet: bytes) -> bool:
        return all(p.evaluate(packet) for p in self.preds)

    def __iter__(self):
        return iter(self.preds)

    def __len__(self) -> int:
        return len(self.preds)

    def __str__(self) -> str:
        return " && ".join(str(p) for p in self.preds) if self.preds else "true"


def atoms_hold(atoms: Iterable[Atom], packet: bytes, hdr_bytes: int = HDR_BYTES) -> bool:
    return all(a.holds(packet, hdr_bytes) for a in atoms)


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
            r = exc
        if len(_NORM_CACHE) >= _NORM_CACHE_MAX:
            _NORM_CACHE.clear()
        _NORM_CACHE[pred] = r
    if isinstance(r, NotExact):
        raise r
    return r


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
