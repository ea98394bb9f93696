"""Predicates `Cmp(op, a, b, is32, signed)` over expressions, and `Condition`, their conjunction.

The op is one of == != < <= > >=; `cmp()` canonicalizes (constant on the right) and folds constants.
A predicate is evaluated with `jit.ebpf.interp.cond_taken`, so its semantics are the interpreter's.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from jit.ebpf import interp, isa
from jit.nic.encoding import HDR_BYTES, Atom
from jit.compiler.pathcond.expr import Const, Expr, PacketTooShort, PktLoad


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
        from jit.compiler.pathcond.pretty import pretty   # pretty reads normalization, which reads Cmp
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
