"""Byte provenance: where each byte of each register, and of packet and stack memory, comes from.

A byte source is an int: `0..255` is that constant byte; `ORIG + k` is byte k of the packet as it
was when the trace started; None is anything else. A register's *view* is the tuple of its eight
byte sources (little-endian: element 0 is bits 0..7).

Facts are sound in the usual sense: "if execution reaches this point without a fault, the byte
has this value". One more property the passes rely on: an `ORIG + k` source only ever comes from a
packet load that executed earlier in the trace, so on any execution reaching the point, byte k is
inside the frame (`k < len`).

The analysis follows copies, byte-multiple shifts, masks with 0x00/0xff bytes, or/add of disjoint
bytes, byte swaps, zero extension, loads and stores; everything else gives unknown bytes unless the
constant analysis (`jit.compiler.opt.analysis`) knows the whole value.
"""
from __future__ import annotations

from dataclasses import dataclass

from jit.ebpf import isa
from jit.ebpf.isa import Insn, MASK32
from jit.compiler.opt.analysis import (MOVING_HELPERS, PKT, STACK, Env, State, access, analyze,
                                       copy_span)

ORIG = 256
ZERO = (0,) * 8


def const_view(value: int) -> tuple:
    return tuple((value >> (8 * i)) & 0xFF for i in range(8))


@dataclass(frozen=True)
class ByteState:
    regs: tuple                 # one view per register
    pkt: dict                   # offset -> source, for bytes no longer (known to be) original
    pkt_lost: bool              # a store went to an unknown address: bytes not in `pkt` unknown
    stack: dict                 # offset -> source (absent: unknown)

    def pkt_src(self, k: int):
        if k in self.pkt:
            return self.pkt[k]
        # headroom bytes (k < 0: below the entry's data) were never frame bytes
        return None if self.pkt_lost or k < 0 else ORIG + k


UNKNOWN = (None,) * 8


def _entry() -> ByteState:
    return ByteState((UNKNOWN,) * isa.N_REGS, {}, False, {})


def _or(a, b):
    if a == 0:
        return b
    if b == 0 or a == b:
        return a
    if a is not None and b is not None and a < ORIG and b < ORIG:
        return a | b
    return None


def _and(a, m: int):
    if m == 0xFF:
        return a
    if m == 0:
        return 0
    return a & m if a is not None and a < ORIG else None


def _alu_view(insn: Insn, spec, dv: tuple, sv: tuple | None, imm: int | None) -> tuple:
    """View of an ALU result from the operands' views (`sv` for a register source, `imm` the
    immediate as a 64-bit operand for the K form)."""
    op, w = spec.op, spec.width // 8
    if imm is not None:
        sv = const_view(imm if w == 8 else imm & MASK32)
    if op == isa.BPF_MOV and insn.off == 0:
        out = sv
    elif op in (isa.BPF_LSH, isa.BPF_RSH) and imm is not None and imm % 8 == 0:
        n = (imm & (8 * w - 1)) // 8
        low = dv[:w]
        if op == isa.BPF_LSH:
            low = (0,) * n + low[:w - n]
        else:
            low = low[n:] + (0,) * n
        out = low + ZERO[w:]
    elif op == isa.BPF_OR:
        out = tuple(_or(a, b) for a, b in zip(dv[:w], sv[:w]))
    elif op == isa.BPF_ADD and all(a == 0 or b == 0 for a, b in zip(dv[:w], sv[:w])):
        out = tuple(_or(a, b) for a, b in zip(dv[:w], sv[:w]))   # no carries: disjoint bytes
    elif op == isa.BPF_AND and all(b in (0, 0xFF) for b in sv[:w]):
        out = tuple(_and(a, b) for a, b in zip(dv[:w], sv[:w]))
    elif op == isa.BPF_XOR and all(b == 0 for b in sv[:w]):
        out = dv
    else:
        out = UNKNOWN
    return out[:w] + ZERO[w:]           # 32-bit results are zero-extended


def _end_view(insn: Insn, spec, dv: tuple) -> tuple:
    w = spec.width // 8
    low = dv[:w]
    if spec.op != isa.BPF_TO_LE:        # be / bswap reverse the low `w` bytes
        low = low[::-1]
    return low + ZERO[w:]


def step_bytes(bs: ByteState, before: State, after: State, insn: Insn, env: Env) -> ByteState:
    spec = isa.spec_of(insn)
    kind = spec.kind
    regs = list(bs.regs)
    pkt, lost, stack = bs.pkt, bs.pkt_lost, bs.stack
    d = insn.dst
    if kind in (isa.ALU, isa.END, isa.LDDW, isa.LDX, isa.LDXSX):
        if after.regs[d] is not None:
            regs[d] = const_view(after.regs[d])
        elif kind == isa.ALU:
            reg_src = bool(insn.opcode & isa.BPF_X) and spec.op != isa.BPF_NEG
            imm = None if reg_src else isa.imm64(insn.imm)
            regs[d] = _alu_view(insn, spec, bs.regs[d], bs.regs[insn.src] if reg_src else None,
                                imm)
        elif kind == isa.END:
            regs[d] = _end_view(insn, spec, bs.regs[d])
        elif kind in (isa.LDX, isa.LDXSX):
            acc = access(insn)
            loc = before.loc(acc)
            view = UNKNOWN
            if loc is not None and loc.region in (PKT, STACK):
                if loc.region == PKT:
                    low = tuple(bs.pkt_src(loc.offset + i) for i in range(acc.size))
                else:
                    low = tuple(bs.stack.get(loc.offset + i) for i in range(acc.size))
                view = low + (UNKNOWN if acc.sx else ZERO)[acc.size:]
            regs[d] = view
        else:
            regs[d] = UNKNOWN
    elif kind in (isa.ST, isa.STX):
        acc = access(insn)
        loc = before.loc(acc)
        view = const_view(isa.imm64(acc.imm)) if acc.imm is not None else bs.regs[acc.src]
        if loc is None:
            pkt, lost, stack = {}, True, {}
        elif loc.region in (PKT, STACK):
            mem = dict(pkt if loc.region == PKT else stack)
            for i in range(acc.size):
                mem[loc.offset + i] = view[i]
            if loc.region == PKT:
                pkt = mem
            else:
                stack = mem
    elif kind == isa.CALL:              # r0 = the helper's result, r1-r5 clobbered
        span = copy_span(insn, before)  # load/store_bytes: the bytes they write become unknown
        if span is None:
            pkt, lost, stack = {}, True, {}
        elif span and span[0] == PKT:
            pkt = dict(pkt)
            pkt.update({k: None for k in range(span[1], span[2])})
        elif span:
            stack = {k: v for k, v in stack.items() if not span[1] <= k < span[2]}
        for r in range(6):
            regs[r] = UNKNOWN
        if insn.imm in MOVING_HELPERS:  # new frame bounds: no byte is known to be original (and in
            pkt, lost = {}, True        # the frame) any more; a grown tail's bytes are cleared
    elif kind == isa.ATOMIC:            # memory it changes is unknown; so is a fetched value
        pkt, lost, stack = {}, True, {}
        if spec.op == isa.BPF_CMPXCHG:
            regs[0] = UNKNOWN
        elif spec.op & isa.BPF_FETCH:
            regs[insn.src] = UNKNOWN
    return ByteState(tuple(regs), pkt, lost, stack)


def analyze_bytes(trace: list[Insn], env: Env) -> tuple[list[State], list[ByteState]]:
    """Constant states and byte states before each instruction and after the last one."""
    states = analyze(trace, env)
    out = [_entry()]
    for i, insn in enumerate(trace):
        out.append(step_bytes(out[-1], states[i], states[i + 1], insn, env))
    return states, out


def as_original_load(view: tuple) -> tuple[int, int] | None:
    """(offset, size) if the view is exactly what `ldx size, [data + offset]` gives on the
    original packet (bytes offset.. in order, upper bytes zero), size 1, 2, 4 or 8."""
    first = view[0]
    if first is None or first < ORIG:
        return None
    k = first - ORIG
    n = 1
    while n < 8 and view[n] == ORIG + k + n:
        n += 1
    if n not in (1, 2, 4, 8):
        n = 4 if n > 4 else 2 if n > 2 else 1
    if any(b != 0 for b in view[n:]):
        return None
    return k, n
