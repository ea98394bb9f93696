"""The tracer: run an XDP program on one concrete packet and record the straight-line trace, the
exact weakest precondition of its path and the installed (possibly stronger) atom condition.

`trace_packet()` is a concolic executor. It runs the program concretely with the interpreter's
semantics (`jit.ebpf.interp.alu`, `byteswap`, `cond_taken`) and shadows every register and every written
stack and packet byte with a symbolic value (`jit.compiler.pathcond` expressions over the ORIGINAL packet):

* pointers are tracked as (region, offset expression): the context, the packet (`data` has offset
  0, `data_end` offset `len`) and the stack, so `data + K OP data_end` becomes a predicate on `len`;
* packet loads become `PktLoad(offset, width)`; a load of bytes the program stored earlier reads the
  stored symbolic value (conditions speak about the original packet); context fields are the NIC's
  constants (data, data_end, data_meta pointers; ingress_ifindex 1, rx_queue_index 0,
  egress_ifindex 0), as in the interpreter;
* every conditional jump whose outcome depends on the packet or its length adds the predicate of
  the outcome taken (negated when not taken) to the exact condition; `ja` and conditional jumps are
  dropped from the trace, everything else executed is kept, so the trace is a valid straight-line
  eBPF program ending in `exit`;
* the exact condition also gets the predicates the trace needs to be valid that no branch states:
  packet accesses in bounds (normally implied by the program's own bounds checks) and, when a
  variable-offset access meets stored packet bytes or a variable stack offset is used, the
  predicate fixing that address (so the stored values it reads are the same).

The installed atoms come from `jit.compiler.pathcond.install_atoms` (exact where possible, pinned otherwise).
The concrete outcome is checked against `jit.ebpf.interp.run_xdp`; any disagreement makes the path
uncacheable instead of silently wrong.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from jit.ebpf import interp, isa, memmap
from jit.ebpf.helper_ids import helper_name
from jit.nic.encoding import HDR_BYTES, MAX_ATOMS, MAX_TRACE_LEN, Atom
from jit.ebpf.isa import Insn
from jit.compiler.pathcond import (LEN, ZERO, Alu, Condition, Cmp, Const, Expr, PktLoad, alu, bounds, cmp,
                          const, install_atoms, swap)

log = logging.getLogger(__name__)

M64 = (1 << 64) - 1
DEFAULT_BUDGET = 10_000          # instructions the tracer follows before giving up
HOST_UNTIL_NIC_MAPS = "runs on the host until NIC maps land"   # issue 10 moves maps to the NIC

# regions (address >> 28 of their base)
CTX, PKT, STACK = 1, 2, 3
_BASE = {CTX: memmap.CTX_BASE, PKT: memmap.PKT_DATA, STACK: memmap.STACK_BASE}
_CTX_FIELDS = (memmap.CTX_OFF_DATA, memmap.CTX_OFF_DATA_END, memmap.CTX_OFF_DATA_META,
               memmap.CTX_OFF_INGRESS_IFINDEX, memmap.CTX_OFF_RX_QUEUE_INDEX,
               memmap.CTX_OFF_EGRESS_IFINDEX)
NIC_INGRESS_IFINDEX = 1
NIC_RX_QUEUE_INDEX = 0


@dataclass(frozen=True)
class TraceResult:
    """One traced path. `reason` is None when the path is cacheable."""
    trace: list[Insn]              # executed instructions minus jumps; ends in exit
    action: int | None             # the full program's XDP action; None when it faults (`error`)
    packet: bytes                  # the full program's output packet
    insns: int                     # instructions the full program executed
    exact: Condition               # exact weakest precondition of this instruction sequence
    atoms: tuple[Atom, ...]        # installed condition: atoms implying `exact`
    notes: tuple[str, ...] = ()    # where and why `atoms` is stronger than `exact`
    reason: str | None = None      # why the path is not cacheable, or None
    path: tuple[int, ...] = field(default=(), compare=False)   # executed pcs (slots), in order
    error: str | None = None       # the host cannot run this frame: the interpreter's fault
    events: tuple = field(default=(), compare=False)           # helper events of the full run
    redirect: dict | None = field(default=None, compare=False)  # its redirect target, if any

    @property
    def cacheable(self) -> bool:
        return self.reason is None

    @property
    def slots(self) -> int:
        return sum(i.slots for i in self.trace)


class Ptr:
    """A pointer: region base + offset expression (packet offsets are relative to `data`)."""
    __slots__ = ("region", "off")

    def __init__(self, region: int, off: Expr):
        self.region, self.off = region, off

    def __repr__(self) -> str:
        return f"Ptr({self.region}, {self.off})"


def _scalar(v) -> Expr:
    """A pointer as a plain address expression (for operations pointers do not support)."""
    if isinstance(v, Ptr):
        return alu(isa.BPF_ADD, True, const(_BASE[v.region]), v.off)
    return v


def _split(e: Expr) -> tuple[Expr | None, int]:
    """`e` as (symbolic part or None, signed constant addend)."""
    if isinstance(e, Const):
        return None, isa.sign_extend(e.value, 64)
    if isinstance(e, Alu) and e.op == isa.BPF_ADD and e.is64 and isinstance(e.b, Const):
        return e.a, isa.sign_extend(e.b.value, 64)
    return e, 0


def _plus(x: Expr | None, k: int) -> Expr:
    if x is None:
        return const(k)
    return alu(isa.BPF_ADD, True, x, const(k)) if k else x


# ---- per-program decoding (cached) ---------------------------------------------------------------
K_ALU, K_END, K_LDDW, K_LDX, K_LDXSX, K_ST, K_STX, K_JA, K_JCOND, K_EXIT, K_BAD = range(11)


class _Decoded:
    __slots__ = ("insns", "steps", "at")

    def __init__(self, insns: Sequence[Insn]):
        self.insns = tuple(insns)
        pcs = isa.slot_pcs(self.insns)
        self.at = {pc: i for i, pc in enumerate(pcs)}
        self.steps = [self._decode(insn, pc) for insn, pc in zip(self.insns, pcs)]

    def _decode(self, insn: Insn, pc: int) -> tuple:
        spec = isa.spec_of(insn)
        why = isa.validate(insn)
        nxt = pc + insn.slots
        if spec is None or why is not None:
            return (K_BAD, insn, pc, nxt, f"program error: pc {pc}: {why}")
        kind = spec.kind
        if kind == isa.ALU:
            op = spec.op
            off = insn.off if op in (isa.BPF_DIV, isa.BPF_MOD, isa.BPF_MOV) else 0
            use_reg = bool(insn.opcode & isa.BPF_X) and op != isa.BPF_NEG
            imm = 0 if op == isa.BPF_NEG else isa.imm64(insn.imm)
            return (K_ALU, insn, pc, nxt, op, spec.width == 64, off, use_reg, imm, const(imm))
        if kind == isa.END:
            k = "bswap" if spec.op == isa.BPF_ALU64 else "be" if spec.op == isa.BPF_TO_BE else "le"
            return (K_END, insn, pc, nxt, k, spec.width)
        if kind == isa.LDDW:
            if spec.op in (isa.BPF_PSEUDO_MAP_FD, isa.BPF_PSEUDO_MAP_IDX):
                # A map handle is a constant (what the program does with it, a helper, stops the
                # trace); a path that only loads it keeps it as a plain constant, never a map form.
                handle = memmap.map_handle(insn.imm & 0xFFFF_FFFF)
                return (K_LDDW, isa.ld_imm64(insn.dst, handle), pc, nxt, handle)
            if spec.op in (isa.BPF_PSEUDO_MAP_VALUE, isa.BPF_PSEUDO_MAP_IDX_VALUE):
                return (K_BAD, insn, pc, nxt, f"global data (map fd {insn.imm & 0xFFFF_FFFF}, value "
                                              f"at pc {pc}) {HOST_UNTIL_NIC_MAPS}")
            if spec.op != 0:
                return (K_BAD, insn, pc, nxt, f"unsupported instruction: pc {pc}: {spec.name} "
                                              "(BTF pseudo load)")
            return (K_LDDW, insn, pc, nxt, insn.imm & M64)
        if kind in (isa.LDX, isa.LDXSX):
            return (K_LDX if kind == isa.LDX else K_LDXSX, insn, pc, nxt, spec.size)
        if kind == isa.ST:
            size = spec.size
            return (K_ST, insn, pc, nxt, size, isa.imm64(insn.imm) & ((1 << (8 * size)) - 1))
        if kind == isa.STX:
            return (K_STX, insn, pc, nxt, spec.size)
        if kind == isa.JA:
            return (K_JA, insn, pc, nxt, isa.jump_target(insn, pc))
        if kind == isa.JCOND:
            return (K_JCOND, insn, pc, nxt, isa.jump_target(insn, pc), spec.op, spec.width == 32,
                    bool(insn.opcode & isa.BPF_X), isa.imm64(insn.imm))
        if kind == isa.EXIT:
            return (K_EXIT, insn, pc, nxt)
        if kind == isa.CALL:
            if spec.op == 0:
                return (K_BAD, insn, pc, nxt, f"helper {helper_name(insn.imm)} "
                                              f"{HOST_UNTIL_NIC_MAPS}")
            if spec.op == isa.BPF_PSEUDO_CALL:
                return (K_BAD, insn, pc, nxt, f"unsupported call: pc {pc}: local function call "
                                              "(BPF-to-BPF calls are not inlined)")
            return (K_BAD, insn, pc, nxt, f"unsupported call: pc {pc}: {spec.name}")
        if kind == isa.CALLX:
            return (K_BAD, insn, pc, nxt, f"unsupported helper: pc {pc}: callx")
        return (K_BAD, insn, pc, nxt, f"unsupported instruction: pc {pc}: {spec.name}")


_CACHE_BY_ID: dict[int, tuple[object, _Decoded]] = {}
_CACHE: dict[tuple, _Decoded] = {}
_CACHE_MAX = 64


def _decoded(insns: Sequence[Insn]) -> _Decoded:
    """Per-program decoding, cached by object identity (fast path) and by content."""
    key = tuple(insns)
    hit = _CACHE_BY_ID.get(id(insns))
    if hit is not None and hit[0] is insns and hit[1].insns == key:   # identical elements: fast
        return hit[1]
    dec = _CACHE.get(key)
    if dec is None:
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.pop(next(iter(_CACHE)))
        dec = _CACHE[key] = _Decoded(key)
    if len(_CACHE_BY_ID) >= _CACHE_MAX:
        _CACHE_BY_ID.pop(next(iter(_CACHE_BY_ID)))
    _CACHE_BY_ID[id(insns)] = (insns, dec)
    return dec


# ---- the concolic machine ------------------------------------------------------------------------
class _Stop(Exception):
    """Tracing cannot continue; `reason` says why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class _Machine:
    __slots__ = ("packet", "length", "out", "stack", "rc", "rs", "preds", "pkt_sym", "stack_sym",
                 "proven", "hdr_bytes", "store_error", "pred_set")

    def __init__(self, packet: bytes, hdr_bytes: int):
        self.packet = packet
        self.length = len(packet)
        self.out = bytearray(packet)
        self.stack = bytearray(memmap.STACK_SIZE)
        self.rc = [0] * isa.N_REGS
        self.rs: list = [ZERO] * isa.N_REGS
        self.rc[1], self.rs[1] = memmap.CTX_BASE, Ptr(CTX, ZERO)
        self.rc[10], self.rs[10] = memmap.STACK_TOP, Ptr(STACK, const(memmap.STACK_SIZE))
        self.preds: list[Cmp] = []
        self.pred_set: set = set()
        self.pkt_sym: dict[int, tuple] = {}      # packet byte -> (symbolic value, byte index)
        self.stack_sym: dict[int, tuple] = {}    # stack byte -> (symbolic value, byte index)
        self.proven: dict = {}                   # symbolic offset part -> max k: part + k <= len
        self.hdr_bytes = hdr_bytes
        self.store_error: str | None = None

    # ---- predicates ----
    def require(self, p) -> None:
        if p is True:
            return
        if p is False:
            raise AssertionError("a required predicate is false on the traced packet")
        if p not in self.pred_set:
            self.pred_set.add(p)
            self.preds.append(p)

    def note_bound(self, x: Expr | None, k: int) -> None:
        """Record that the path implies `x + k <= len`."""
        if k > self.proven.get(x, -(1 << 70)):
            self.proven[x] = k

    def need_bound(self, off: Expr, size: int, o: int) -> None:
        """Require the packet access [off, off + size) to be inside the frame."""
        x, k = _split(off)
        if self.proven.get(x, -(1 << 70)) >= k + size:
            return
        if x is not None and self.proven.get(None, -(1 << 70)) >= bounds(x)[1] + k + size:
            return                      # implied by a constant length bound
        if x is None:
            self.require(cmp("<=", const(k + size), LEN))
        elif bounds(x)[1] + k + size < _SAFE:
            self.require(cmp("<=", _plus(x, k + size), LEN))
        else:
            self.require(cmp("==", off, const(o)))
        self.note_bound(x, k + size)

    def pin(self, off: Expr, value: int) -> None:
        if not isinstance(off, Const):
            self.require(cmp("==", off, const(value)))

    # ---- memory ----
    def locate(self, base_sym, disp: int, addr: int) -> tuple[int, int, Expr]:
        """(region, concrete offset, symbolic offset) of the access at `addr`."""
        region = addr >> 28
        if region not in _BASE:
            raise _Stop(f"program error: access at {addr:#x}: no memory mapped there")
        off_c = addr - _BASE[region]
        if isinstance(base_sym, Ptr) and base_sym.region == region:
            off_s = alu(isa.BPF_ADD, True, base_sym.off, const(disp))
        else:
            off_s = alu(isa.BPF_ADD, True, _scalar(base_sym), const(disp - _BASE[region]))
        return region, off_c, off_s

    def load(self, base_sym, disp: int, addr: int, size: int, pc: int) -> tuple[int, object]:
        region, o, off_s = self.locate(base_sym, disp, addr)
        if region == PKT:
            if o < 0 or o + size > self.length:
                raise _Stop(f"program error: pc {pc}: packet read of {size} bytes at offset {o} "
                            f"outside the {self.length}-byte frame")
            self.need_bound(off_s, size, o)
            value = int.from_bytes(self.out[o:o + size], "little")
            if self.pkt_sym:
                # after stores, which bytes a variable-offset load reads back must not change
                self.pin(off_s, o)
                if any(o + i in self.pkt_sym for i in range(size)):
                    return value, _compose(self.pkt_sym, o, size, _orig_piece)
            return value, PktLoad(off_s, size)
        if region == STACK:
            if o < 0 or o + size > memmap.STACK_SIZE:
                raise _Stop(f"program error: pc {pc}: stack read of {size} bytes at offset {o}")
            self.pin(off_s, o)
            value = int.from_bytes(self.stack[o:o + size], "little")
            return value, _compose(self.stack_sym, o, size, _zero_piece)
        # context
        if size != 4 or o not in _CTX_FIELDS:
            raise _Stop(f"program error: pc {pc}: context read of {size} bytes at offset {o}")
        self.pin(off_s, o)
        if o in (memmap.CTX_OFF_DATA, memmap.CTX_OFF_DATA_META):
            return memmap.PKT_DATA, Ptr(PKT, ZERO)
        if o == memmap.CTX_OFF_DATA_END:
            return memmap.PKT_DATA + self.length, Ptr(PKT, LEN)
        if o == memmap.CTX_OFF_INGRESS_IFINDEX:
            return NIC_INGRESS_IFINDEX, const(NIC_INGRESS_IFINDEX)
        if o == memmap.CTX_OFF_RX_QUEUE_INDEX:
            return NIC_RX_QUEUE_INDEX, const(NIC_RX_QUEUE_INDEX)
        return 0, ZERO

    def store(self, base_sym, disp: int, addr: int, size: int, value: int, vsym, pc: int) -> None:
        region, o, off_s = self.locate(base_sym, disp, addr)
        data = (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
        if region == PKT:
            if o < 0 or o + size > self.length:
                raise _Stop(f"program error: pc {pc}: packet write of {size} bytes at offset {o} "
                            f"outside the {self.length}-byte frame")
            self.need_bound(off_s, size, o)
            self.pin(off_s, o)
            if o + size > self.hdr_bytes and self.store_error is None:
                self.store_error = (f"packet store outside the header window: pc {pc} writes bytes "
                                    f"{o}..{o + size - 1}, HDR_BYTES is {self.hdr_bytes}")
            self.out[o:o + size] = data
            for i in range(size):
                self.pkt_sym[o + i] = (vsym, i)
            return
        if region == STACK:
            if o < 0 or o + size > memmap.STACK_SIZE:
                raise _Stop(f"program error: pc {pc}: stack write of {size} bytes at offset {o}")
            self.pin(off_s, o)
            self.stack[o:o + size] = data
            for i in range(size):
                self.stack_sym[o + i] = (vsym, i)
            return
        raise _Stop(f"program error: pc {pc}: write to the read-only context")


def _orig_piece(o: int, n: int) -> Expr:
    return PktLoad(const(o), n)


def _zero_piece(o: int, n: int) -> Expr:
    return ZERO


def _extract(v, k: int, n: int):
    """Bytes k..k+n-1 of the stored value `v`, as a value (pointers survive whole 8-byte fills)."""
    if isinstance(v, Ptr):
        if k == 0 and n == 8:
            return v
        v = _scalar(v)
    if k:
        v = alu(isa.BPF_RSH, True, v, const(8 * k))
    if n < 8:
        v = alu(isa.BPF_AND, True, v, const((1 << (8 * n)) - 1))
    return v


def _compose(sym: dict, o: int, size: int, orig) -> object:
    """The symbolic value of bytes [o, o + size): stored values where written, else `orig`."""
    first = sym.get(o)
    if first is not None and all(sym.get(o + i, (None,))[0] is first[0] and
                                 sym[o + i][1] == first[1] + i for i in range(size)):
        return _extract(first[0], first[1], size)
    acc: Expr = ZERO
    i = 0
    while i < size:
        ent = sym.get(o + i)
        j = i + 1
        if ent is None:
            while j < size and sym.get(o + j) is None:
                j += 1
            pieces = []
            p = i
            while p < j:
                w = next(w for w in (8, 4, 2, 1) if p + w <= j)
                pieces.append((p, orig(o + p, w)))
                p += w
        else:
            while j < size and sym.get(o + j, (None,))[0] is ent[0] and \
                    sym[o + j][1] == ent[1] + (j - i):
                j += 1
            pieces = [(i, _scalar(_extract(ent[0], ent[1], j - i)))]
        for p, val in pieces:
            acc = alu(isa.BPF_OR, True, acc, alu(isa.BPF_LSH, True, val, const(8 * p)))
        i = j
    return acc


def _sym_alu(op: int, is64: bool, a, b, off: int):
    if isinstance(a, Ptr) or isinstance(b, Ptr):
        if is64 and off == 0:
            if op == isa.BPF_MOV:
                return b
            if op == isa.BPF_ADD:
                if isinstance(a, Ptr) and not isinstance(b, Ptr):
                    return Ptr(a.region, alu(isa.BPF_ADD, True, a.off, b))
                if isinstance(b, Ptr) and not isinstance(a, Ptr):
                    return Ptr(b.region, alu(isa.BPF_ADD, True, b.off, a))
            if op == isa.BPF_SUB:
                if isinstance(a, Ptr) and not isinstance(b, Ptr):
                    return Ptr(a.region, alu(isa.BPF_SUB, True, a.off, b))
                if isinstance(a, Ptr) and isinstance(b, Ptr) and a.region == b.region:
                    return alu(isa.BPF_SUB, True, a.off, b.off)
        a, b = _scalar(a), _scalar(b)
    return alu(op, is64, a, b, off)


_SAFE = 1 << 28      # pointer offsets below this cannot wrap any address computation


def _ptr_cmp(m: _Machine, op: str, a: Ptr, b: Ptr, is32: bool, signed: bool):
    """`a OP b` for two packet pointers, as a predicate on offsets (and so on `len`).

    Exact when no address computation can wrap: then the 64-bit (or 32-bit, or signed) comparison
    of the addresses `data + off` is the integer comparison of the offsets."""
    xa, ka = _split(a.off)
    xb, kb = _split(b.off)
    ha = bounds(xa)[1] if xa is not None else 0
    hb = bounds(xb)[1] if xb is not None else 0
    d = ka - kb
    if not (-memmap.PKT_DATA < ka < _SAFE and -memmap.PKT_DATA < kb < _SAFE
            and ha + abs(d) + abs(ka) < _SAFE and hb + abs(d) + abs(kb) < _SAFE):
        return cmp(op, _scalar(a), _scalar(b), is32, signed)
    if xa == xb:
        return {"==": ka == kb, "!=": ka != kb, "<": ka < kb, "<=": ka <= kb, ">": ka > kb,
                ">=": ka >= kb}[op]
    if d >= 0:
        return cmp(op, _plus(xa, d), _plus(xb, 0))
    return cmp(op, _plus(xa, 0), _plus(xb, -d))


def _record_bound(m: _Machine, op: str, a: Ptr, b: Ptr) -> None:
    """If `a OP b` (which holds) bounds a packet offset by `len`, remember it."""
    xa, ka = _split(a.off)
    xb, kb = _split(b.off)
    if xb is LEN and op in ("<", "<="):
        m.note_bound(xa, ka - kb + (1 if op == "<" else 0))
    elif xa is LEN and op in (">", ">="):
        m.note_bound(xb, kb - ka + (1 if op == ">" else 0))


_JOPS = {isa.BPF_JEQ: ("==", False), isa.BPF_JNE: ("!=", False), isa.BPF_JGT: (">", False),
         isa.BPF_JGE: (">=", False), isa.BPF_JLT: ("<", False), isa.BPF_JLE: ("<=", False),
         isa.BPF_JSGT: (">", True), isa.BPF_JSGE: (">=", True), isa.BPF_JSLT: ("<", True),
         isa.BPF_JSLE: ("<=", True)}
_NEG = {"==": "!=", "!=": "==", "<": ">=", ">=": "<", "<=": ">", ">": "<="}


def _branch(m: _Machine, jop: int, is32: bool, a, b, taken: bool) -> None:
    if jop == isa.BPF_JSET:
        e = alu(isa.BPF_AND, True, _scalar(a), _scalar(b))
        m.require(cmp("!=" if taken else "==", e, ZERO, is32))
        return
    op, signed = _JOPS[jop]
    if not taken:
        op = _NEG[op]
    if isinstance(a, Ptr) and isinstance(b, Ptr) and a.region == b.region:
        if a.region == PKT:
            m.require(_ptr_cmp(m, op, a, b, is32, signed))
            _record_bound(m, op, a, b)
        else:
            m.require(cmp(op, a.off, b.off, is32, signed))
        return
    m.require(cmp(op, _scalar(a), _scalar(b), is32, signed))


def _execute(dec: _Decoded, m: _Machine, budget: int) -> tuple[list[Insn], list[int]]:
    """Run to exit; returns (trace, executed pcs). Raises _Stop."""
    steps, at = dec.steps, dec.at
    rc, rs = m.rc, m.rs
    trace: list[Insn] = []
    path: list[int] = []
    alu_c, cond_taken, byteswap = interp.alu, interp.cond_taken, interp.byteswap
    idx = at.get(0)
    if idx is None:
        raise _Stop("program error: empty program")
    count = 0
    while True:
        count += 1
        if count > budget:
            raise _Stop(f"budget exceeded: more than {budget} instructions")
        st = steps[idx]
        kind, insn, pc, nxt = st[0], st[1], st[2], st[3]
        path.append(pc)
        if kind == K_ALU:
            op, is64, off, use_reg, imm, imm_s = st[4:10]
            d = insn.dst
            if use_reg:
                sc, ss = rc[insn.src], rs[insn.src]
            else:
                sc, ss = imm, imm_s
            rc[d] = alu_c(op, is64, rc[d], sc, off)
            rs[d] = _sym_alu(op, is64, rs[d], ss, off)
            trace.append(insn)
        elif kind == K_LDX or kind == K_LDXSX:
            size = st[4]
            s = insn.src
            addr = (rc[s] + insn.off) & M64
            value, vs = m.load(rs[s], insn.off, addr, size, pc)
            if kind == K_LDXSX:
                value = alu_c(isa.BPF_MOV, True, 0, value, 8 * size)
                vs = alu(isa.BPF_MOV, True, ZERO, _scalar(vs), 8 * size)
            rc[insn.dst], rs[insn.dst] = value, vs
            trace.append(insn)
        elif kind == K_JCOND:
            target, jop, is32, use_reg, imm = st[4:9]
            a_c, a_s = rc[insn.dst], rs[insn.dst]
            if use_reg:
                b_c, b_s = rc[insn.src], rs[insn.src]
            else:
                b_c, b_s = imm, const(imm)
            taken = cond_taken(jop, is32, a_c, b_c)
            if not (isinstance(a_s, Const) and isinstance(b_s, Const)):
                _branch(m, jop, is32, a_s, b_s, taken)
            nxt = target if taken else nxt
        elif kind == K_STX or kind == K_ST:
            size = st[4]
            d = insn.dst
            addr = (rc[d] + insn.off) & M64
            if kind == K_ST:
                value, vs = st[5], const(st[5])
            else:
                value, vs = rc[insn.src], rs[insn.src]
            m.store(rs[d], insn.off, addr, size, value, vs, pc)
            trace.append(insn)
        elif kind == K_END:
            d = insn.dst
            rc[d] = byteswap(st[4], st[5], rc[d])
            rs[d] = swap(st[4], st[5], _scalar(rs[d]))
            trace.append(insn)
        elif kind == K_LDDW:
            rc[insn.dst], rs[insn.dst] = st[4], const(st[4])
            trace.append(insn)
        elif kind == K_JA:
            nxt = st[4]
        elif kind == K_EXIT:
            trace.append(insn)
            return trace, path
        else:
            raise _Stop(st[4])
        idx = at.get(nxt)
        if idx is None:
            raise _Stop(f"program error: pc {pc}: control flow goes to pc {nxt}")


def _full_run(insns: Sequence[Insn], packet: bytes, runtime=None):
    """The interpreter's verdict: (action or None, output packet, instructions, error or None, run
    result or None). A stateful program runs once, through its runtime (jit/ebpf/runtime.py), so
    its map updates happen exactly once per frame."""
    try:
        if runtime is not None and runtime.stateful:
            r = runtime.run(packet)
            return r.action, r.packet, r.insns, None, r
        r = interp.run_xdp(insns, packet)
    except interp.InterpError as exc:
        return None, bytes(packet), 0, interp.describe_error(exc), None
    return r.action, r.packet, r.insns, None, None


def _name_maps(reason: str, runtime) -> str:
    """`map fd N` in a reason, followed by the map's name when the runtime knows it."""
    maps = getattr(runtime, "maps", None)
    if not maps:
        return reason

    def named(m: re.Match) -> str:
        fd = int(m.group(1))
        return f"{m.group(0)} = {maps.by_fd[fd].name}" if fd < len(maps.by_fd) else m.group(0)
    return re.sub(r"map fd (\d+)", named, reason)


def trace_packet(insns: Sequence[Insn], packet: bytes, *, max_atoms: int = MAX_ATOMS,
                 max_trace_len: int = MAX_TRACE_LEN, hdr_bytes: int = HDR_BYTES,
                 budget: int = DEFAULT_BUDGET, runtime=None) -> TraceResult:
    """Trace `insns` (an XDP program) on `packet`: see the module docstring. A program with maps or
    helpers needs its `runtime` (jit.ebpf.runtime.XdpRuntime over the same instructions): the
    full run that gives the action goes through it, once, and a path that reaches a helper or
    global data is not cacheable (it names the helper)."""
    packet = bytes(packet)
    if len(packet) > memmap.PKT_MAX:
        action, out, count, error, _ = _full_run(insns, packet, runtime)
        error = error or "frame longer than PKT_MAX"
        return TraceResult([], None, out, count, Condition(), (), (), f"program error: {error}",
                           error=error)
    dec = _decoded(insns)
    m = _Machine(packet, hdr_bytes)
    stop: str | None = None
    try:
        trace, path = _execute(dec, m, budget)
    except _Stop as exc:
        stop = exc.reason
    action, out, count, error, run = _full_run(insns, packet, runtime)
    if error is not None:
        # The full program faults on this frame: a host error, whatever the tracer saw (a
        # tracer that ran to the end where the interpreter faults is a tracer bug, logged).
        if stop is None:
            log.error("the interpreter fails (%s) where the tracer does not, on %s", error,
                      packet.hex())
        reason = stop if stop and not stop.startswith("program error") else f"program error: {error}"
        return TraceResult([], None, out, count, Condition(tuple(m.preds)), (), (),
                           _name_maps(reason, runtime), error=error)
    if stop is not None:
        return TraceResult([], action, out, count, Condition(tuple(m.preds)), (), (),
                           _name_maps(stop, runtime),
                           events=run.events if run else (), redirect=run.redirect if run else None)
    exact = Condition(tuple(m.preds))
    my_action = m.rc[0] & 0xFFFF_FFFF
    if my_action != action or bytes(m.out) != out or len(path) != count:
        log.error("tracer disagrees with the interpreter on %s", packet.hex())
        return TraceResult(trace, action, out, count, exact, (), (),
                           "tracer error: concrete run disagrees with the interpreter", tuple(path))
    try:
        inst = install_atoms(m.preds, packet, hdr_bytes)
    except Exception as exc:  # noqa: BLE001 - a tracer bug must make the path uncacheable, not crash the host
        log.exception("installing the condition failed on %s", packet.hex())
        return TraceResult(trace, action, out, count, exact, (), (), f"tracer error: {exc}",
                           tuple(path))
    slots = sum(i.slots for i in trace)
    reason = None
    if slots > max_trace_len:
        reason = f"trace too long: {slots} slots > MAX_TRACE_LEN {max_trace_len}"
    elif m.store_error is not None:
        reason = m.store_error
    elif inst.window_error is not None:
        reason = f"atom outside the header window: {inst.window_error}"
    elif len(inst.atoms) > max_atoms:
        reason = f"too many atoms: {len(inst.atoms)} > MAX_ATOMS {max_atoms}"
    return TraceResult(trace, action, out, count, exact, inst.atoms, inst.notes, reason,
                       tuple(path))


def trace_program(program, packet: bytes, **kwargs) -> TraceResult:
    """`trace_packet` for a loaded program (`jit.ebpf.elf.Program`), an object file path, or insns."""
    if isinstance(program, (str, Path)):
        from jit.ebpf import elf
        program = elf.load_linked(program)
    insns = getattr(program, "insns", program)
    return trace_packet(insns, packet, **kwargs)
