"""Symbolic expressions over the ORIGINAL input packet (the path-condition language).


Expressions (immutable, hashable, structurally compared):

    Const(v)                 a 64-bit constant
    LEN                      the frame length in bytes
    PktLoad(offset, width)   `width` bytes (1, 2, 4, 8) of the original packet at `offset` (itself an
                             expression: variable offsets such as IPv4 IHL), read little-endian as
                             eBPF loads do, zero-extended
    Alu(op, is64, a, b, off) an eBPF ALU operation (BPF_ADD ... BPF_ARSH, movsx/sdiv via `off`);
                             evaluated by `jit.ebpf.interp.alu`, so the semantics are the interpreter's
    Swap(kind, width, a)     byte swap (`le`, `be`, `bswap`), evaluated by `jit.ebpf.interp.byteswap`

Predicates (`predicate.py`) are `Cmp(op, a, b, is32, signed)` (op one of == != < <= > >=), evaluated with

Expressions are interned (equal expressions are one object) and built with smart constructors that
fold constants and identities; `bounds(e)` gives an unsigned value range.
"""
from __future__ import annotations

from jit.ebpf import interp, isa


M64 = (1 << 64) - 1
M32 = (1 << 32) - 1
LEN_BITS = 16                   # frames the NIC sees are < 2**16 bytes (PKT_BYTES = 2048)
LEN_MAX = (1 << LEN_BITS) - 1
LEN_SRC = 1 << 24               # bit-view source index of length bit 0 (packet bits are byte*8+bit)


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
