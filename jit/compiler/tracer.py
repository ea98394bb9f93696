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
  predicate fixing that address (so the stored values it reads are the same);
* bpf_xdp_load_bytes / store_bytes (`_copy_bytes`) copy symbolic bytes between the packet and the
  stack; their -EINVAL check becomes a `len` predicate, offsets and lengths computed from the frame
  are pinned.

The installed atoms come from `jit.compiler.pathcond.install_atoms` (exact where possible, pinned otherwise).
The concrete outcome is checked against `jit.ebpf.interp.run_xdp`; any disagreement makes the path
uncacheable instead of silently wrong.
"""
from __future__ import annotations

import copy
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from jit.ebpf import interp, isa, memmap
from jit.ebpf.helper_ids import helper_name
from jit.ebpf import helpers as helpers_mod
from jit.ebpf.helpers import HELPERS, MAX_TAIL_CALLS
from jit.ebpf.maps.base import EFAULT, EINVAL, ENOENT
from jit.ebpf.maps.progarray import ProgArrayMap
from jit.nic.encoding import HDR_BYTES, MAX_ATOMS, MAX_TRACE_LEN, NIC_HEADROOM, TAIL_CALL_EMPTY, Atom
from jit.nic.nic_helpers import nic_helper_reason
from jit.nic.residency import map_residency, program_id
from jit.ebpf.isa import Insn
from jit.compiler import guards as gd
from jit.compiler.guards import Guard
from jit.compiler.shadow import Shadow
from jit.compiler.pathcond import (LEN, ZERO, Alu, Condition, Cmp, Const, Expr, NotExact, PktLoad, alu,
                          bounds, cmp, const, install_atoms, normalize, pretty, swap)
from jit.compiler.pathcond.expr import LEN_SRC
from jit.compiler.pathcond.strengthen import (describe_bits, offset_bits, relevant_bits,
                                              substitute_pred)

log = logging.getLogger(__name__)

M64 = (1 << 64) - 1
DEFAULT_BUDGET = 10_000          # instructions the tracer follows before giving up

# regions (address >> 28 of their base)
CTX, PKT, STACK = 1, 2, 3
_BASE = {CTX: memmap.CTX_BASE, PKT: memmap.PKT_DATA, STACK: memmap.STACK_BASE}
_CTX_FIELDS = (memmap.CTX_OFF_DATA, memmap.CTX_OFF_DATA_END, memmap.CTX_OFF_DATA_META,
               memmap.CTX_OFF_INGRESS_IFINDEX, memmap.CTX_OFF_RX_QUEUE_INDEX,
               memmap.CTX_OFF_EGRESS_IFINDEX)
NIC_INGRESS_IFINDEX = 1
NIC_RX_QUEUE_INDEX = 0
XDP_LOAD_BYTES, XDP_STORE_BYTES = 189, 190
ETH_HLEN = 14                    # xdp_adjust_head/tail keep at least an Ethernet header
_PROG_SHIFT = 20                 # path pcs of the k-th program entered by tail call: pc + k << 20


@dataclass(frozen=True)
class TraceResult:
    """One traced path. `reason` is None when the path is cacheable."""
    trace: list[Insn]              # executed instructions minus jumps, plus guards; ends in exit
    action: int | None             # the full program's XDP action; None when it faults (`error`)
    packet: bytes                  # the full program's output packet
    insns: int                     # instructions the full program executed
    exact: Condition               # exact weakest precondition of the path's packet predicates
    atoms: tuple[Atom, ...]        # installed condition: atoms implying `exact` minus guard preds
    notes: tuple[str, ...] = ()    # where and why `atoms` is stronger than `exact`, guard choices
    reason: str | None = None      # why the path is not cacheable, or None
    path: tuple[int, ...] = field(default=(), compare=False)   # executed pcs (slots), in order
    error: str | None = None       # the host cannot run this frame: the interpreter's fault
    events: tuple = field(default=(), compare=False)           # helper events of the full run
    redirect: dict | None = field(default=None, compare=False)  # its redirect target, if any
    guards: tuple[Guard, ...] = ()  # the conditions checked inside the trace (format v2)
    maps_used: tuple[str, ...] = ()  # maps the trace reads or writes on the NIC
    # the trace's map operations in order: (map, "update"/"delete" or "use", value size, type
    # name); the RTL helper set's rules for update/delete read it (nic_helpers.rtl_map_write_reason)
    map_events: tuple[tuple, ...] = field(default=(), compare=False)

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


class Opaque:
    """A value the match unit can never see: a helper's result, a map value, or anything computed
    from one. It never becomes an atom; a branch on it becomes a guard labelled `why`."""
    __slots__ = ("why", "label")

    def __init__(self, why: str, label: str):
        self.why, self.label = why, label      # category (guards.LOOKUP_RESULT...) and detail

    def __repr__(self) -> str:
        return f"Opaque({self.label})"


# r1-r5 after a helper call: the NIC clobbers them (the verifier forbids reading them)
CLOBBERED = Opaque(gd.HELPER_RESULT, "a register a helper call clobbered")


def _scalar(v) -> Expr:
    """A pointer as a plain address expression (for operations pointers do not support)."""
    if isinstance(v, Opaque):
        raise _Stop("tracer error: an opaque value reached a symbolic expression")
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
(K_ALU, K_END, K_LDDW, K_LDX, K_LDXSX, K_ST, K_STX, K_JA, K_JCOND, K_EXIT, K_BAD, K_CALL,
 K_MAPVAL, K_ATOMIC, K_LOCAL) = range(15)


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
                # a map handle is a plain constant in the trace (the NIC knows maps by handle)
                handle = memmap.map_handle(insn.imm & 0xFFFF_FFFF)
                return (K_LDDW, isa.ld_imm64(insn.dst, handle), pc, nxt, handle)
            if spec.op in (isa.BPF_PSEUDO_MAP_VALUE, isa.BPF_PSEUDO_MAP_IDX_VALUE):
                # global data: the constant address of the value in map memory
                fd = insn.imm & 0xFFFF_FFFF
                addr = (memmap.map_base(fd) + (insn.imm >> 32)) & M64
                return (K_MAPVAL, isa.ld_imm64(insn.dst, addr), pc, nxt, addr, fd)
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
        if kind == isa.ATOMIC:
            return (K_ATOMIC, insn, pc, nxt, spec.size, spec.op)
        if kind == isa.JA:
            return (K_JA, insn, pc, nxt, isa.jump_target(insn, pc))
        if kind == isa.JCOND:
            return (K_JCOND, insn, pc, nxt, isa.jump_target(insn, pc), spec.op, spec.width == 32,
                    bool(insn.opcode & isa.BPF_X), isa.imm64(insn.imm))
        if kind == isa.EXIT:
            return (K_EXIT, insn, pc, nxt)
        if kind == isa.CALL:
            if spec.op == 0:
                why = nic_helper_reason(insn.imm)
                if why is not None:
                    return (K_BAD, insn, pc, nxt, f"{why}: runs on the host")
                return (K_CALL, insn, pc, nxt, insn.imm)
            if spec.op == isa.BPF_PSEUDO_CALL:
                return (K_LOCAL, insn, pc, nxt, isa.jump_target(insn, pc))
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
    __slots__ = ("packet", "length", "out", "stack", "rc", "rs", "preds", "atom_preds", "pkt_sym",
                 "stack_sym", "proven", "hdr_bytes", "store_error", "pred_set", "mem", "env",
                 "trace", "guards", "notes", "maps_used", "map_events", "runtime", "stack_used",
                 "frames", "saves", "v1", "head", "tail", "buf")

    def __init__(self, packet: bytes, hdr_bytes: int, shadow=None, guards: bool = True):
        self.v1 = not guards        # trace format v1: no guards, no calls, no map memory
        self.packet = packet
        self.length = len(packet)
        # Concrete state lives in interpreter memory, so helpers run exactly as on the host: the
        # packet after its headroom, the stack, and (stateful programs) a shadow of the maps.
        self.mem = interp.xdp_memory(packet, ingress_ifindex=NIC_INGRESS_IFINDEX,
                                     rx_queue_index=NIC_RX_QUEUE_INDEX)
        pkt_region = self.mem._pages[memmap.PKT_BASE >> interp.PAGE_SHIFT]
        stack_region = self.mem._pages[memmap.STACK_BASE >> interp.PAGE_SHIFT]
        # Packet offsets are relative to the ORIGINAL first byte: xdp_adjust_head moves `data` to
        # offset `head` (negative: a grown head), xdp_adjust_tail moves `data_end` to len + tail.
        self.buf = pkt_region.buf
        self.head, self.tail = 0, 0
        self.stack = memoryview(stack_region.buf)[:memmap.STACK_SIZE]
        self.runtime = shadow
        self.env = None
        if shadow is not None:
            self.mem._pages.update(shadow._pages)
            self.env = self.mem.env = shadow.env_for(self.mem)
        self.rc = [0] * isa.N_REGS
        self.rs: list = [ZERO] * isa.N_REGS
        self.rc[1], self.rs[1] = memmap.CTX_BASE, Ptr(CTX, ZERO)
        self.rc[10], self.rs[10] = memmap.STACK_TOP, Ptr(STACK, const(memmap.STACK_SIZE))
        self.preds: list[Cmp] = []               # the exact condition: every packet predicate
        self.atom_preds: list[Cmp] = []          # the ones the match unit checks (not guards)
        self.pred_set: set = set()
        self.pkt_sym: dict[int, tuple] = {}      # packet byte -> (symbolic value, byte index)
        self.stack_sym: dict[int, tuple] = {}    # stack byte -> (symbolic value, byte index)
        self.proven: dict = {}                   # symbolic offset part -> max k: part + k <= len
        self.hdr_bytes = hdr_bytes
        self.store_error: str | None = None
        self.trace: list[Insn] = []
        self.guards: list[tuple] = []            # (trace indexes, why, text, packet predicate)
        self.notes: list[str] = []
        self.maps_used: dict[str, None] = {}
        self.map_events: list[tuple] = []        # TraceResult.map_events
        self.stack_used: set[int] = set()        # stack bytes any access of the path touches
        self.frames: list[tuple] = []            # inlined calls: (return pc, saved r6-r9, start)
        self.saves: list[tuple] = []             # (trace index, register, save or restore)

    # ---- predicates ----
    def require(self, p, atom: bool = True) -> None:
        if p is True:
            return
        if p is False:
            raise AssertionError("a required predicate is false on the traced packet")
        if p not in self.pred_set:
            self.pred_set.add(p)
            self.preds.append(p)
            if atom:
                self.atom_preds.append(p)

    def guard(self, insn: Insn, taken: bool, why: str, text: str, pred: Cmp | None = None) -> None:
        """Keep the conditional jump `insn` in the trace as a guard (see jit/compiler/guards.py).
        `pred`: the packet predicate it checks (None for opaque values)."""
        jumps = gd.guard_jumps(insn, taken)
        at = len(self.trace)
        self.trace.extend(jumps)
        self.guards.append((list(range(at, at + len(jumps))), why, text, pred))

    def note_bound(self, x: Expr | None, k: int) -> None:
        """Record that the path implies `x + k <= len`."""
        if k > self.proven.get(x, -(1 << 70)):
            self.proven[x] = k

    def in_frame(self, o: int, size: int) -> bool:
        """Whether bytes [o, o + size) (original offsets) lie between data and data_end now."""
        return self.head <= o and o + size <= self.length + self.tail

    def pkt_bytes(self, o: int, size: int) -> bytes:
        return bytes(self.buf[memmap.HEADROOM + o:memmap.HEADROOM + o + size])

    def need_bound(self, off: Expr, size: int, o: int) -> None:
        """Require the packet access [off, off + size) to be inside the frame (its end at most
        data_end = len + tail)."""
        size -= self.tail
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
    def locate(self, base_sym, disp: int, addr: int, pc: int) -> tuple[int, int, Expr | None]:
        """(region, concrete offset, symbolic offset) of the access at `addr`; region None and
        offset None for map memory (whose contents are opaque)."""
        region = addr >> 28
        if region not in _BASE:
            if addr >= memmap.MAP_BASE and self.runtime is not None and \
                    (addr >> interp.PAGE_SHIFT) in self.runtime._pages:
                if isinstance(base_sym, Ptr):
                    raise _Stop(f"tracer error: pc {pc}: a {base_sym!r} reaches map memory")
                return None, addr, None
            raise _Stop(f"program error: access at {addr:#x}: no memory mapped there")
        if base_sym is CALLEE_FP:
            raise _Stop(_OWN_FRAME)
        if isinstance(base_sym, Opaque):
            raise _Stop(f"map-dependent address: pc {pc} accesses the "
                        f"{('context', 'packet', 'stack')[region - 1]} at an address computed from "
                        f"a {base_sym.label}")
        off_c = addr - _BASE[region]
        if isinstance(base_sym, Ptr) and base_sym.region == region:
            off_s = alu(isa.BPF_ADD, True, base_sym.off, const(disp))
        else:
            off_s = alu(isa.BPF_ADD, True, _scalar(base_sym), const(disp - _BASE[region]))
        return region, off_c, off_s

    def map_access(self, addr: int, size: int, pc: int, store: int | None = None):
        """A load (or store of `store`) in map memory, done on the shadow maps."""
        m = self.runtime.maps.by_fd[(addr - memmap.MAP_BASE) // memmap.MAP_STRIDE]
        self.use_map(m, pc)
        try:
            if store is None:
                return self.mem.load(addr, size, pc), Opaque(gd.MAP_VALUE, f"map value ({m.name})")
            self.mem.store(addr, size, store, pc)
        except interp.InterpError as exc:
            raise _Stop(f"program error: {interp.describe_error(exc)}") from None
        return None

    def use_map(self, m, pc: int) -> None:
        why = map_residency(m)
        if why is not None:
            raise _Stop(why)
        self.maps_used[m.name] = None
        self.map_events.append((m.name, "use", m.value_size, m.d.type_name))

    def load(self, base_sym, disp: int, addr: int, size: int, pc: int) -> tuple[int, object]:
        region, o, off_s = self.locate(base_sym, disp, addr, pc)
        if region is None:
            return self.map_access(addr, size, pc)
        if region == PKT:
            if not self.in_frame(o, size):
                raise _Stop(f"program error: pc {pc}: packet read of {size} bytes at offset {o} "
                            f"outside the frame")
            self.need_bound(off_s, size, o)
            value = int.from_bytes(self.pkt_bytes(o, size), "little")
            if self.pkt_sym or self.head or self.tail:
                # after stores, which bytes a variable-offset load reads back must not change
                self.pin(off_s, o)
                if o < 0 or any(o + i in self.pkt_sym for i in range(size)):
                    return value, _compose(self.pkt_sym, o, size, _orig_piece)
            return value, PktLoad(off_s, size)
        if region == STACK:
            if o < 0 or o + size > memmap.STACK_SIZE:
                raise _Stop(f"program error: pc {pc}: stack read of {size} bytes at offset {o}")
            self.pin(off_s, o)
            self.stack_used.update(range(o, o + size))
            value = int.from_bytes(self.stack[o:o + size], "little")
            return value, _compose(self.stack_sym, o, size, _zero_piece)
        # context
        if size != 4 or o not in _CTX_FIELDS:
            raise _Stop(f"program error: pc {pc}: context read of {size} bytes at offset {o}")
        self.pin(off_s, o)
        if o in (memmap.CTX_OFF_DATA, memmap.CTX_OFF_DATA_META):
            return memmap.PKT_DATA + self.head, Ptr(PKT, const(self.head))
        if o == memmap.CTX_OFF_DATA_END:
            return memmap.PKT_DATA + self.length + self.tail, Ptr(PKT, _plus(LEN, self.tail))
        if o == memmap.CTX_OFF_INGRESS_IFINDEX:
            return NIC_INGRESS_IFINDEX, const(NIC_INGRESS_IFINDEX)
        if o == memmap.CTX_OFF_RX_QUEUE_INDEX:
            return NIC_RX_QUEUE_INDEX, const(NIC_RX_QUEUE_INDEX)
        return 0, ZERO

    def store(self, base_sym, disp: int, addr: int, size: int, value: int, vsym, pc: int) -> None:
        region, o, off_s = self.locate(base_sym, disp, addr, pc)
        value &= (1 << (8 * size)) - 1
        if region is None:
            self.map_access(addr, size, pc, store=value)
            return
        data = value.to_bytes(size, "little")
        if region == PKT:
            if not self.in_frame(o, size):
                raise _Stop(f"program error: pc {pc}: packet write of {size} bytes at offset {o} "
                            f"outside the frame")
            self.need_bound(off_s, size, o)
            self.pin(off_s, o)
            if (o + size > self.hdr_bytes or o < -NIC_HEADROOM) and self.store_error is None:
                self.store_error = (f"packet store outside the header window: pc {pc} writes bytes "
                                    f"{o}..{o + size - 1}, HDR_BYTES is {self.hdr_bytes}, the head "
                                    f"margin {NIC_HEADROOM}")
            self.buf[memmap.HEADROOM + o:memmap.HEADROOM + o + size] = data
            for i in range(size):
                self.pkt_sym[o + i] = (vsym, i)
            return
        if region == STACK:
            if o < 0 or o + size > memmap.STACK_SIZE:
                raise _Stop(f"program error: pc {pc}: stack write of {size} bytes at offset {o}")
            self.pin(off_s, o)
            self.stack_used.update(range(o, o + size))
            self.stack[o:o + size] = data
            for i in range(size):
                self.stack_sym[o + i] = (vsym, i)
            return
        raise _Stop(f"program error: pc {pc}: write to the read-only context")

    def pointer_arg(self, sym, addr: int, size: int, pc: int, what: str) -> None:
        """A helper argument pointing at `size` bytes: in bounds on every frame of the path, and
        (stack) at an address that does not depend on the frame."""
        if size <= 0:
            return
        region, o, off_s = self.locate(sym, 0, addr, pc)
        if region == PKT:
            if not self.in_frame(o, size):
                raise _Stop(f"program error: pc {pc}: {what} reads past the frame")
            self.need_bound(off_s, size, o)
        elif region == STACK or region == CTX:
            self.pin(off_s, o)
            if region == STACK:
                self.stack_used.update(range(o, o + size))


def _orig_piece(o: int, n: int) -> Expr:
    """Original bytes [o, o + n): the frame's, or zeros in front of it (a grown head the program
    did not write: the interpreter's and the NIC's buffers start zeroed there)."""
    if o >= 0:
        return PktLoad(const(o), n)
    acc: Expr = ZERO
    for k in range(max(o, 0) - o, n):            # the bytes at offsets >= 0
        acc = alu(isa.BPF_OR, True, acc, alu(isa.BPF_LSH, True, PktLoad(const(o + k), 1),
                                               const(8 * k)))
    return acc


def _zero_piece(o: int, n: int) -> Expr:
    return ZERO


def _extract(v, k: int, n: int):
    """Bytes k..k+n-1 of the stored value `v`, as a value (pointers survive whole 8-byte fills).
    For ORIG (bytes xdp_load_bytes copied from the frame) `k` is the frame offset."""
    if isinstance(v, Opaque):
        return v
    if v is ORIG:
        return _orig_bytes(k, n)
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
    for i in range(size):
        ent = sym.get(o + i)
        if ent is not None and isinstance(ent[0], Opaque):
            return ent[0]
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


def _opaque_of(*vals) -> Opaque | None:
    """The first opaque operand (a value computed from it is opaque too)."""
    for v in vals:
        if isinstance(v, Opaque):
            if v is CALLEE_FP:
                raise _Stop(_OWN_FRAME)
            if v is CLOBBERED:
                raise _Stop("tracer error: reads a register that a helper call clobbered (r1-r5)")
            return v
    return None


def _sym_alu(op: int, is64: bool, a, b, off: int):
    if op == isa.BPF_MOV and off == 0 and is64:
        return b
    o = _opaque_of(b) if op == isa.BPF_MOV else _opaque_of(a, b)
    if o is not None:
        return o
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


def _branch(m: _Machine, insn: Insn, jop: int, is32: bool, a, b, taken: bool) -> None:
    """The predicate of the outcome taken, enforced as atoms or as a guard (`_enforce`)."""
    if jop == isa.BPF_JSET:
        e = alu(isa.BPF_AND, True, _scalar(a), _scalar(b))
        _enforce(m, cmp("!=" if taken else "==", e, ZERO, is32), insn, taken)
        return
    op, signed = _JOPS[jop]
    if not taken:
        op = _NEG[op]
    if isinstance(a, Ptr) and isinstance(b, Ptr) and a.region == b.region:
        if a.region == PKT:
            _enforce(m, _ptr_cmp(m, op, a, b, is32, signed), insn, taken)
            _record_bound(m, op, a, b)
        else:
            _enforce(m, cmp(op, a.off, b.off, is32, signed), insn, taken)
        return
    _enforce(m, cmp(op, _scalar(a), _scalar(b), is32, signed), insn, taken)


def _enforce(m: _Machine, p, insn: Insn, taken: bool) -> None:
    """Atoms where the match unit checks `p` exactly (or pinning is cheap), else a guard."""
    if p is True:
        return
    why = _guard_why(p, m.packet) if p is not False and not m.v1 else None
    if why is None:
        m.require(p)
        return
    if p not in m.pred_set:
        m.require(p, atom=False)
        m.guard(insn, taken, why, pretty(p), p)


def _guard_why(p: Cmp, packet: bytes) -> str | None:
    """None when `p` becomes atoms; else why it is a guard.

    Atoms: exact predicates; a union of intervals of one field (the observed interval is one
    atom, the other side another trace); predicates with variable load offsets (the offsets'
    bits, e.g. the IPv4 IHL nibble, are pinned: nearly every frame has the observed value, and the
    residual loads get constant offsets, so the path's later predicates stay exact atoms).
    Guards: everything else the match unit cannot express -- relations between fields or with
    the length, arithmetic on fields -- which pinning would turn into one trace per frame."""
    try:
        normalize(p)
        return None
    except NotExact as exc:
        if exc.field is not None:
            return None
        off: set[int] = set()
        offset_bits(p.a, packet, off)
        offset_bits(p.b, packet, off)
        if off:
            return None
        fields = _fields(p.a, packet) + [f for f in _fields(p.b, packet) if f not in _fields(p.a, packet)]
        if len(fields) >= 2:
            return f"{gd.RELATION} {' and '.join(fields[:3])}" + (" ..." if len(fields) > 3 else "")
        return f"{gd.ARITHMETIC} ({fields[0] if fields else 'addresses'}: {exc})"


def _fields(e: Expr, packet: bytes, out: list | None = None, seen: set | None = None) -> list[str]:
    """The packet fields (`pkt[a:b]`) and `len` an expression reads, in order of appearance."""
    if out is None:
        out, seen = [], set()
    if e in seen:
        return out
    seen.add(e)
    if e is LEN:
        name = "len"
    elif isinstance(e, PktLoad):
        o = e.offset.eval(packet)
        name = f"pkt[{o}]" if e.width == 1 else f"pkt[{o}:{o + e.width}]"
    else:
        name = None
    if name is not None and name not in out:
        out.append(name)
    for c in e.children():
        _fields(c, packet, out, seen)
    return out


def _opaque_guard(m: _Machine, insn: Insn, taken: bool, o: Opaque, a, b, jop: int) -> None:
    """A branch on an opaque value: always a guard."""
    sym = isa.spec_of(insn).name if jop == isa.BPF_JSET else None
    if sym is None:
        op, signed = _JOPS[jop]
        sym = ("s" if signed else "") + (op if taken else _NEG[op])
    elif not taken:
        sym = "!jset"
    m.guard(insn, taken, o.why, f"{_describe(a)} {sym} {_describe(b)}")


def _describe(v) -> str:
    if isinstance(v, Opaque):
        return v.label
    if isinstance(v, Ptr):
        return f"{('ctx', 'data', 'stack')[v.region - 1]} + {v.off}"
    return str(v)


_V2_KINDS = frozenset({K_CALL, K_MAPVAL, K_ATOMIC, K_LOCAL})


def _execute(dec: _Decoded, m: _Machine, budget: int) -> tuple[list[Insn], list[int], int]:
    """Run to exit; returns (trace, executed pcs, instructions of the last program entered).
    Raises _Stop."""
    steps, at = dec.steps, dec.at
    rc, rs = m.rc, m.rs
    trace = m.trace
    path: list[int] = []
    alu_c, cond_taken, byteswap = interp.alu, interp.cond_taken, interp.byteswap
    idx = at.get(0)
    if idx is None:
        raise _Stop("program error: empty program")
    count = 0
    last = 0            # instructions of the program entered last (the interpreter's count)
    prog_tag = 0        # pcs of the k-th program entered by tail call are tagged k << _PROG_SHIFT
    tail_calls = 0
    while True:
        count += 1
        last += 1
        if count > budget:
            raise _Stop(f"budget exceeded: more than {budget} instructions")
        st = steps[idx]
        kind, insn, pc, nxt = st[0], st[1], st[2], st[3]
        path.append(pc + prog_tag)
        if m.v1 and kind in _V2_KINDS:
            raise _Stop(f"trace format v1 (no guards): pc {pc}: {isa.disasm_insn(insn)} runs on "
                        "the host")
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
                vs = vs if isinstance(vs, Opaque) else alu(isa.BPF_MOV, True, ZERO, _scalar(vs),
                                                           8 * size)
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
                o = _opaque_of(a_s, b_s)
                if o is not None:
                    _opaque_guard(m, insn, taken, o, a_s, b_s, jop)
                else:
                    _branch(m, insn, jop, is32, a_s, b_s, taken)
            nxt = target if taken else nxt
        elif kind == K_STX or kind == K_ST:
            size = st[4]
            d = insn.dst
            addr = (rc[d] + insn.off) & M64
            if kind == K_ST:
                value, vs = st[5], const(st[5])
            else:
                value, vs = rc[insn.src], rs[insn.src]
                if vs is CLOBBERED:
                    _opaque_of(vs)
            m.store(rs[d], insn.off, addr, size, value, vs, pc)
            trace.append(insn)
        elif kind == K_END:
            d = insn.dst
            rc[d] = byteswap(st[4], st[5], rc[d])
            o = _opaque_of(rs[d])
            rs[d] = o if o is not None else swap(st[4], st[5], _scalar(rs[d]))
            trace.append(insn)
        elif kind == K_LDDW:
            rc[insn.dst], rs[insn.dst] = st[4], const(st[4])
            trace.append(insn)
        elif kind == K_MAPVAL:
            if m.runtime is not None:           # without maps, accessing it faults (as on the host)
                m.use_map(m.runtime.maps.by_fd[st[5]], pc)
            rc[insn.dst], rs[insn.dst] = st[4], const(st[4])
            trace.append(insn)
        elif kind == K_ATOMIC:
            _atomic(m, insn, st[4], st[5], pc)
            trace.append(insn)
        elif kind == K_CALL:
            if st[4] == gd.TAIL_CALL_ID:
                entered = _tail_call(m, insn, pc, tail_calls)
                if entered is not None:
                    tail_calls += 1
                    dec = entered
                    steps, at = dec.steps, dec.at
                    prog_tag = tail_calls << _PROG_SHIFT
                    last = 0
                    nxt = 0
            else:
                _helper(m, insn, st[4], pc)
        elif kind == K_JA:
            nxt = st[4]
        elif kind == K_EXIT:
            if m.frames:                # the end of an inlined subprogram: back to its caller
                nxt = _leave_subprogram(m)
            else:
                trace.append(insn)
                return trace, path, last
        elif kind == K_LOCAL:
            nxt = _enter_subprogram(m, st[4], nxt, pc)
        else:
            raise _Stop(st[4])
        idx = at.get(nxt)
        if idx is None:
            raise _Stop(f"program error: pc {pc}: control flow goes to pc {nxt}")


MAX_INLINE_DEPTH = interp.MAX_CALL_DEPTH - 1
# the callee's frame pointer: the NIC has one 512-byte frame, so an inlined subprogram may not use
# a frame of its own
CALLEE_FP = Opaque(gd.HELPER_RESULT, "an inlined subprogram's own stack frame")
_OWN_FRAME = ("unsupported call: an inlined subprogram uses a stack frame of its own (the NIC has "
              "one 512-byte frame)")


def _enter_subprogram(m: _Machine, target: int, ret: int, pc: int) -> int:
    """A BPF-to-BPF call, inlined: the callee's instructions go into the trace as if they were the
    caller's. As in the interpreter, the callee gets a new frame (r10 + 512) and the caller's r6-r9
    come back when it returns; the call and its `exit` leave no instruction in the trace."""
    if len(m.frames) >= MAX_INLINE_DEPTH:
        raise _Stop(f"program error: pc {pc}: local call nesting exceeds "
                    f"{interp.MAX_CALL_DEPTH} frames")
    rc, rs = m.rc, m.rs
    m.frames.append((ret, tuple(rc[6:10]), tuple(rs[6:10]), rc[10], rs[10], len(m.trace)))
    try:
        m.mem.enter_frame(pc)
    except interp.InterpError as exc:
        raise _Stop(f"program error: {interp.describe_error(exc)}") from None
    rc[10], rs[10] = rc[10] + memmap.STACK_SIZE, CALLEE_FP
    return target


def _leave_subprogram(m: _Machine) -> int:
    """The callee's exit: restore the caller's r6-r9 and frame; if the callee's instructions in
    the trace write r6-r9, the trace saves them to free caller stack slots around the callee
    (placed at the end, once the path's stack use is known)."""
    rc, rs = m.rc, m.rs
    ret, saved_c, saved_s, fp_c, fp_s, start = m.frames.pop()
    m.mem.leave_frame()
    written = sorted({r for insn in m.trace[start:] for r in _writes(insn)} & {6, 7, 8, 9})
    for r in written:
        m.saves.append((start, r, True))
        m.saves.append((len(m.trace), r, False))
    rc[6:10], rs[6:10] = list(saved_c), list(saved_s)
    rc[10], rs[10] = fp_c, fp_s
    for r in range(1, 6):
        rs[r] = CLOBBERED
    return ret


def _writes(insn: Insn) -> tuple[int, ...]:
    spec = isa.spec_of(insn)
    if isa.writes_dst(spec):
        return (insn.dst,)
    if spec.kind == isa.ATOMIC:
        return (0,) if spec.op == isa.BPF_CMPXCHG else (insn.src,) if spec.op & isa.BPF_FETCH else ()
    if spec.kind == isa.CALL:
        return (0, 1, 2, 3, 4, 5)
    return ()


def _insert_saves(m: _Machine) -> None:
    """Put the r6-r9 saves and restores of inlined calls into the trace, at 8-byte stack slots no
    access of the path touches (lowest first); shifts the guards' indexes accordingly."""
    if not m.saves:
        return
    free = [o for o in range(0, memmap.STACK_SIZE, 8)
            if not m.stack_used.intersection(range(o, o + 8))]
    need = sum(1 for _, _, save in m.saves if save)
    if len(free) < need:
        raise _Stop(f"unsupported call: inlining needs {need} free 8-byte stack slots to keep "
                    f"r6-r9 across a subprogram, the path leaves {len(free)}")
    slot, used = {}, 0
    inserts: dict[int, list[Insn]] = {}
    for at, r, save in sorted(m.saves, key=lambda x: (x[0], not x[2])):
        if save:
            slot[(r, at)] = free[used]
            used += 1
    open_saves: dict[int, list[int]] = {}
    for at, r, save in sorted(m.saves, key=lambda x: (x[0], x[2])):
        if save:
            open_saves.setdefault(r, []).append(slot[(r, at)])
            inserts.setdefault(at, []).append(
                isa.stx(8, isa.FP, r, slot[(r, at)] - memmap.STACK_SIZE))
        else:
            inserts.setdefault(at, []).append(
                isa.ldx(8, r, isa.FP, open_saves[r].pop() - memmap.STACK_SIZE))
    out, shift = [], {}
    for i in range(len(m.trace) + 1):
        for insn in inserts.get(i, ()):
            out.append(insn)
        shift[i] = len(out)
        if i < len(m.trace):
            out.append(m.trace[i])
    m.trace[:] = out
    m.guards[:] = [([shift[i] for i in idx], why, text, p) for idx, why, text, p in m.guards]


def _atomic(m: _Machine, insn: Insn, size: int, op: int, pc: int) -> None:
    """An atomic read-modify-write: on map memory only (the NIC buffers it; its fetched value is
    opaque)."""
    rc, rs = m.rc, m.rs
    addr = (rc[insn.dst] + insn.off) & M64
    region, _o, _s = m.locate(rs[insn.dst], insn.off, addr, pc)
    if region is not None:
        raise _Stop(f"unsupported instruction: pc {pc}: atomic on the "
                    f"{('context', 'packet', 'stack')[region - 1]} (the NIC's atomics work on "
                    "map memory)")
    mp = m.runtime.maps.by_fd[(addr - memmap.MAP_BASE) // memmap.MAP_STRIDE]
    m.use_map(mp, pc)
    try:
        result = m.mem.atomic(addr, size, op, rc[insn.src], rc[0], pc)
    except interp.InterpError as exc:
        raise _Stop(f"program error: {interp.describe_error(exc)}") from None
    fetched = Opaque(gd.MAP_VALUE, f"map value ({mp.name})")
    if op == isa.BPF_CMPXCHG:
        rc[0], rs[0] = result & M64, fetched
    elif op & isa.BPF_FETCH:
        rc[insn.src], rs[insn.src] = result & M64, fetched


def _map_arg(m: _Machine, pc: int, reg: int, name: str):
    """The map a helper's argument names: a constant handle of a NIC-resident map."""
    if m.runtime is None:
        raise _Stop(f"program error: pc {pc}: {name} without the program's maps")
    if not isinstance(m.rs[reg], Const):
        raise _Stop(f"unsupported call: pc {pc}: {name} on a map chosen at run time")
    mp = m.runtime.maps.at_handle(m.rc[reg])
    if mp is None:
        raise _Stop(f"program error: pc {pc}: {name}: r{reg} is not a map")
    m.use_map(mp, pc)
    return mp


def _helper(m: _Machine, insn: Insn, hid: int, pc: int) -> None:
    """A call to a helper in the NIC set: run it on the shadow state, keep it in the trace; its
    result is opaque unless it is a function of constants."""
    if hid in (XDP_LOAD_BYTES, XDP_STORE_BYTES):
        _copy_bytes(m, insn, hid, pc)
        return
    rc, rs = m.rc, m.rs
    name = helper_name(hid).split(" ")[0]
    result_sym = None
    if hid in (1, 2, 3):                 # map lookup / update / delete
        mp = _map_arg(m, pc, 1, name)
        m.pointer_arg(rs[2], rc[2], mp.key_size, pc, f"{name}'s key")
        if hid == 2:
            m.pointer_arg(rs[3], rc[3], mp.value_size, pc, f"{name}'s value")
        if hid != 1:
            m.map_events[-1] = (mp.name, "update" if hid == 2 else "delete") + m.map_events[-1][2:]
        why = gd.LOOKUP_RESULT if hid == 1 else gd.HELPER_RESULT
        result_sym = Opaque(why, f"{why} ({mp.name})" if hid == 1 else f"{why} ({name} {mp.name})")
    elif hid == 51:                      # redirect_map: the result depends on the devmap
        mp = _map_arg(m, pc, 1, name)
        result_sym = Opaque(gd.HELPER_RESULT, f"{gd.HELPER_RESULT} ({name} {mp.name})")
    elif hid == 23:                      # redirect: the action depends on the flags only
        if not isinstance(rs[2], Const):
            result_sym = Opaque(gd.HELPER_RESULT, f"{gd.HELPER_RESULT} ({name})")
    elif hid in (44, 65):                # adjust_head / adjust_tail: r0 decided by the length
        _adjust(m, hid, pc)
    elif hid == 28:                      # csum_diff(from, from_size, to, to_size, seed)
        for ptr, size in ((1, 2), (3, 4)):
            if not isinstance(rs[size], Const):
                raise _Stop(f"unsupported call: pc {pc}: {name} with a size computed at run time")
            m.pointer_arg(rs[ptr], rc[ptr], rc[size] & 0xFFFF_FFFF, pc, name)
        result_sym = Opaque(gd.HELPER_RESULT, f"{gd.HELPER_RESULT} ({name})")
    else:                                # ktime, prandom, smp_processor_id: per-side values
        result_sym = Opaque(gd.HELPER_RESULT, f"{gd.HELPER_RESULT} ({name})")
    if m.env is None:
        raise _Stop(f"program error: pc {pc}: {name} without the program's runtime")
    try:
        r0 = HELPERS[hid](m.mem, pc, rc[1], rc[2], rc[3], rc[4], rc[5]) & M64
    except interp.InterpError as exc:
        raise _Stop(f"program error: {interp.describe_error(exc)}") from None
    if hid in (44, 65) and r0 == 0:      # data / data_end moved
        x = helpers_mod._Xdp(m.mem)
        m.head, m.tail = x.data - memmap.HEADROOM, x.data_end - memmap.HEADROOM - m.length
    rc[0], rs[0] = r0, (result_sym if result_sym is not None else const(r0))
    for r in range(1, 6):
        rs[r] = CLOBBERED
    m.trace.append(insn)


def _adjust(m: _Machine, hid: int, pc: int) -> None:
    """xdp_adjust_head / xdp_adjust_tail by a constant delta: whether the move succeeds depends on
    the frame's length only, so the outcome observed becomes `len` atoms (and r0 a constant).
    Growing the tail is not followed (the grown bytes would sit at offsets that depend on len)."""
    rc, rs = m.rc, m.rs
    name = helper_name(hid).split(" ")[0]
    if isinstance(rs[2], (Opaque, Ptr)):
        raise _Stop(f"unsupported call: pc {pc}: {name} by a delta computed from "
                    f"{_describe(rs[2])}")
    if not isinstance(rs[2], Const):
        # a delta computed from the frame (icmp_frag_needed truncates to a fixed length: delta =
        # K - len): pinned to its observed value, so the packet's shape after the move is known
        # (one trace per value; a guard could not say where data_end is afterwards)
        m.require(cmp("==", rs[2], const(rc[2] & 0xFFFF_FFFF), is32=True))
        m.notes.append(f"{name}'s delta `{rs[2]}` pinned to its observed value "
                       f"{isa.sign_extend(rc[2] & 0xFFFF_FFFF, 32)}")
    delta = isa.sign_extend(rc[2] & 0xFFFF_FFFF, 32)
    x = helpers_mod._Xdp(m.mem)
    if x.meta != x.data:
        raise _Stop(f"unsupported call: pc {pc}: {name} with packet metadata")
    head, tail = m.head, m.tail
    if hid == 44:
        if memmap.HEADROOM + head + delta < helpers_mod.XDP_FRAME_SIZE:
            return                       # fails on every frame: nothing to require
        if head + delta < -NIC_HEADROOM:
            raise _Stop(f"unsupported call: pc {pc}: {name} grows the head beyond the NIC's "
                        f"{NIC_HEADROOM}-byte margin")
        # succeeds iff data + delta <= data_end - ETH_HLEN, i.e. head + delta + 14 <= len + tail
        ok = cmp("<=", const(head + delta + ETH_HLEN - tail), LEN)
    else:
        if delta > 0:
            raise _Stop(f"unsupported call: pc {pc}: {name} grows the tail (not followed)")
        # succeeds iff data_end + delta >= data + ETH_HLEN (shrinking never passes the hard end)
        ok = cmp(">=", LEN, const(head + ETH_HLEN - tail - delta))
    holds = ok if isinstance(ok, bool) else ok.evaluate(m.packet)
    m.require(ok if holds else (ok.negate() if not isinstance(ok, bool) else ok))


def _copy_arg(m: _Machine, reg: int, name: str, what: str, pc: int) -> int:
    """The low 32 bits of r2 (offset) or r4 (length) of a load/store_bytes call: a constant, or a
    function of the frame pinned to its observed value (as xdp_adjust's delta; a variable offset
    `14 + 4*IHL` pins the IHL nibble). Computed from a map value or a helper's result: the path
    stays on the host."""
    sym, value = m.rs[reg], m.rc[reg] & 0xFFFF_FFFF
    if isinstance(sym, (Opaque, Ptr)):
        raise _Stop(f"unsupported call: pc {pc}: {name} with {what} computed from "
                    f"{_describe(sym)}")
    if not isinstance(sym, Const):
        m.require(cmp("==", sym, const(value), is32=True))
        m.notes.append(f"{name}'s {what.split()[1]} `{sym}` pinned to its observed value {value}")
    return value


def _copy_buffer(m: _Machine, reg: int, n: int, name: str, pc: int, write: bool):
    """The memory operand of a load/store_bytes call (r3): ('stack', offset) or ('pkt', original
    offset), checked like an access of n bytes there. The NIC copies between the packet and the
    stack (or the header window) only: map memory there is BAD_ADDRESS on the RTL, so such a path
    stays on the host."""
    sym, addr = m.rs[reg], m.rc[reg]
    region, o, off_s = m.locate(sym, 0, addr, pc)
    what = "destination" if write else "source"
    if region is None:
        raise _Stop(f"unsupported call: pc {pc}: {name} with its {what} in map memory (the NIC "
                    "copies between the packet and the stack only)")
    if region == CTX:
        raise _Stop(f"program error: pc {pc}: {name} with the context as its {what}")
    if region == STACK:
        if o < 0 or o + n > memmap.STACK_SIZE:
            raise _Stop(f"program error: pc {pc}: {name}'s {what}: stack bytes {o}..{o + n - 1}")
        m.pin(off_s, o)
        m.stack_used.update(range(o, o + n))
        return STACK, o
    if not n:       # the RTL checks no pointer for 0 bytes, the model a 0-byte write there
        raise _Stop(f"unsupported call: pc {pc}: a 0-byte {name} with a packet buffer (the NIC's "
                    "model and RTL check it differently)")
    if not m.in_frame(o, n):                # the packet (o: an original offset)
        raise _Stop(f"program error: pc {pc}: {name}'s {what} lies outside the frame")
    m.need_bound(off_s, n, o)
    m.pin(off_s, o)
    return PKT, o


class _Orig:
    """In pkt_sym / stack_sym: the ORIGINAL frame's byte whose offset is the entry's index (what
    xdp_load_bytes copied from a packet byte the program had not written)."""
    __slots__ = ()

    def __repr__(self) -> str:
        return "ORIG"


ORIG = _Orig()


def _orig_bytes(o: int, n: int) -> Expr:
    """The original frame's bytes [o, o + n) as a little-endian value (zeros in front of it)."""
    if o >= 0 and n in (1, 2, 4, 8):
        return PktLoad(const(o), n)
    acc: Expr = ZERO
    p = 0
    while p < n:
        w = next(w for w in (8, 4, 2, 1) if p + w <= n)
        acc = alu(isa.BPF_OR, True, acc, alu(isa.BPF_LSH, True, _orig_piece(o + p, w),
                                               const(8 * p)))
        p += w
    return acc


def _copy_bytes(m: _Machine, insn: Insn, hid: int, pc: int) -> None:
    """bpf_xdp_load_bytes(ctx, off, buf, len) / bpf_xdp_store_bytes(ctx, off, buf, len), followed
    symbolically. The kernel's checks, in order (jit/ebpf/helpers.py, docs/exec.md): off or len
    above 0xffff -> -EFAULT; off + len past data_end -> -EINVAL (a `len` atom: the frame's length
    decides it); else the copy, r0 = 0. load_bytes' destination bytes get the packet bytes'
    symbolic values (the original frame's bytes, or what the program stored there); store_bytes'
    packet bytes get the buffer's. A store_bytes (or a load_bytes into the packet) reaching past the
    header window keeps the path on the host, as the NIC refuses it (STORE_WINDOW)."""
    rc, rs = m.rc, m.rs
    name = helper_name(hid).split(" ")[0]
    off = _copy_arg(m, 2, name, "an offset", pc)
    n = _copy_arg(m, 4, name, "a length", pc)
    if off > 0xFFFF or n > 0xFFFF:
        expect = (-EFAULT) & M64
    else:
        # succeeds iff head + off + n <= len + tail (data + off + n <= data_end)
        k = m.head + off + n - m.tail
        ok = True if k <= 0 else cmp("<=", const(k), LEN)
        holds = ok if isinstance(ok, bool) else ok.evaluate(m.packet)
        m.require(ok if holds else ok.negate())
        if holds and k > 0:
            m.note_bound(None, k)
        expect = 0 if holds else (-EINVAL) & M64
    pairs = None
    if expect == 0:
        buf = _copy_buffer(m, 3, n, name, pc, write=hid == XDP_LOAD_BYTES)
        at = m.head + off                       # the packet bytes, as original offsets
        src, dst = ((PKT, at), buf) if hid == XDP_LOAD_BYTES else (buf, (PKT, at))
        if dst[0] == PKT and n and (dst[1] + n > m.hdr_bytes or dst[1] < -NIC_HEADROOM) and \
                m.store_error is None:
            m.store_error = (f"packet store outside the header window: pc {pc} ({name}) writes "
                             f"bytes {dst[1]}..{dst[1] + n - 1}, HDR_BYTES is {m.hdr_bytes}, the "
                             f"head margin {NIC_HEADROOM}")
        # the source's symbolic bytes, all read before any is written (a memmove)
        if src[0] == PKT:
            pairs = [m.pkt_sym.get(src[1] + i, (ORIG, src[1] + i)) for i in range(n)]
        else:
            pairs = [m.stack_sym.get(src[1] + i, (ZERO, src[1] + i)) for i in range(n)]
    try:
        r0 = HELPERS[hid](m.mem, pc, rc[1], rc[2], rc[3], rc[4], rc[5]) & M64
    except interp.InterpError as exc:
        raise _Stop(f"program error: {interp.describe_error(exc)}") from None
    if r0 != expect:
        raise _Stop(f"tracer error: pc {pc}: {name} returned {r0:#x}, the tracer expected "
                    f"{expect:#x}")
    if pairs:
        target = m.pkt_sym if dst[0] == PKT else m.stack_sym
        for i, ent in enumerate(pairs):
            target[dst[1] + i] = ent
    rc[0], rs[0] = r0, const(r0)
    for r in range(1, 6):
        rs[r] = CLOBBERED
    m.trace.append(insn)


def _tail_call(m: _Machine, insn: Insn, pc: int, done: int):
    """bpf_tail_call as a guard on the prog_array slot. Returns the callee's decoding when the
    call enters it (the trace continues into the callee), None when the caller continues."""
    rc, rs = m.rc, m.rs
    mp = _map_arg(m, pc, 2, "bpf_tail_call")
    if not isinstance(mp, ProgArrayMap):
        raise _Stop(f"program error: pc {pc}: bpf_tail_call: map {mp.name} is not a prog_array")
    if isinstance(rs[1], Opaque) or not (isinstance(rs[1], Ptr) and rs[1].region == CTX):
        raise _Stop(f"unsupported call: pc {pc}: bpf_tail_call without the context in r1")
    prog = mp.program(rc[3] & 0xFFFF_FFFF)
    if done >= MAX_TAIL_CALLS:
        prog = None
    expected = TAIL_CALL_EMPTY if prog is None else program_id(m.runtime.linked.object, prog)
    at = len(m.trace)
    m.trace.extend(gd.tail_call_guard(expected))
    what = "empty" if prog is None else f"program {prog}"
    m.guards.append(([at, at + 1], gd.TAIL_CALL_SLOT,
                     f"{mp.name}[{_describe(rs[3])}] holds {what}", None))
    if prog is None:
        rc[0], rs[0] = (-ENOENT) & M64, const((-ENOENT) & M64)
        for r in range(1, 6):
            rs[r] = CLOBBERED
        return None
    if m.env is not None:
        m.env.tail_calls += 1
    try:
        insns = m.runtime.program_insns(prog)
    except interp.InterpError as exc:
        raise _Stop(f"program error: {interp.describe_error(exc)}") from None
    # the interpreter starts the callee with fresh registers: r1 = ctx, r10 = stack top, others 0
    for r in range(isa.N_REGS):
        rc[r], rs[r] = 0, ZERO
    rc[1], rs[1] = memmap.CTX_BASE, Ptr(CTX, ZERO)
    rc[10], rs[10] = memmap.STACK_TOP, Ptr(STACK, const(memmap.STACK_SIZE))
    return _decoded(insns)


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
                 budget: int = DEFAULT_BUDGET, runtime=None, guards: bool = True) -> TraceResult:
    """Trace `insns` (an XDP program) on `packet`: see the module docstring. A program with maps or
    helpers needs its `runtime` (jit.ebpf.runtime.XdpRuntime over the same instructions): the
    tracer runs on a shadow of its state, and the full run that gives the action goes through
    the runtime itself, once, so the frame's map effects happen exactly once.
    `guards=False` traces as before guards existed (trace format v1, for comparisons): every
    packet predicate becomes atoms (pinned where not exact), and a path that calls a helper or a
    subprogram or touches map memory stays on the host."""
    packet = bytes(packet)
    if len(packet) > memmap.PKT_MAX:
        action, out, count, error, _ = _full_run(insns, packet, runtime)
        error = error or "frame longer than PKT_MAX"
        return TraceResult([], None, out, count, Condition(), (), (), f"program error: {error}",
                           error=error)
    dec = _decoded(insns)
    shadow = Shadow(runtime) if runtime is not None and runtime.stateful else None
    m = _Machine(packet, hdr_bytes, shadow, guards)
    stop: str | None = None
    try:
        trace, path, last = _execute(dec, m, budget)
        _insert_saves(m)
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
    events = run.events if run else ()
    redirect = run.redirect if run else None
    if stop is not None:
        return TraceResult([], action, out, count, Condition(tuple(m.preds)), (), (),
                           _name_maps(stop, runtime), events=events, redirect=redirect)
    exact = Condition(tuple(m.preds))
    my_action = m.rc[0] & 0xFFFF_FFFF
    differs = shadow.differs() if shadow is not None else None
    if my_action != action or interp.packet_bytes(m.mem) != out or last != count or differs:
        log.error("tracer disagrees with the interpreter on %s%s", packet.hex(),
                  f" ({differs})" if differs else "")
        return TraceResult(trace, action, out, count, exact, (), (),
                           "tracer error: concrete run disagrees with the interpreter"
                           + (f" on {differs}" if differs else ""), tuple(path),
                           events=events, redirect=redirect)
    try:
        inst = install_atoms(m.atom_preds, packet, hdr_bytes)
        inst, kept, demoted = _demote_guards(m, inst, packet, hdr_bytes)
    except Exception as exc:  # noqa: BLE001 - a tracer bug must make the path uncacheable, not crash the host
        log.exception("installing the condition failed on %s", packet.hex())
        return TraceResult(trace, action, out, count, exact, (), (), f"tracer error: {exc}",
                           tuple(path))
    trace, guards = _place(trace, m.guards, kept)
    notes = tuple(inst.notes) + tuple(m.notes) + tuple(demoted)
    slots = sum(i.slots for i in trace)
    reason = None
    if events:
        reason = "helper events: the path emits events (trace_printk / perf / ringbuf) on the host"
    elif slots > max_trace_len:
        reason = f"trace too long: {slots} slots > MAX_TRACE_LEN {max_trace_len}"
    elif m.store_error is not None:
        reason = m.store_error
    elif inst.window_error is not None:
        reason = f"atom outside the header window: {inst.window_error}"
    elif len(inst.atoms) > max_atoms:
        reason = f"too many atoms: {len(inst.atoms)} > MAX_ATOMS {max_atoms}"
    return TraceResult(trace, action, out, count, exact, inst.atoms, notes, reason,
                       tuple(path), events=events, redirect=redirect, guards=guards,
                       maps_used=tuple(m.maps_used), map_events=tuple(m.map_events))


def _demote_guards(m: _Machine, inst, packet: bytes, hdr_bytes: int):
    """Guards on packet predicates whose every packet bit the atoms pin anyway (an IPv4 bounds
    check `4*IHL + 14 <= len` once the IHL nibble is pinned for the L4 offsets) become atoms: the
    match unit then checks them exactly, for free. Returns (installed atoms, guards kept, notes)."""
    kept, demoted, extra = [], [], []
    pinned = inst.pinned
    for g in m.guards:
        p = g[3]
        if p is not None and pinned:
            dep: set[int] = set()
            relevant_bits(p.a, packet, dep)
            relevant_bits(p.b, packet, dep)
            pkt_bits = {b for b in dep if b < LEN_SRC}
            if pkt_bits and pkt_bits <= pinned:
                try:
                    normalize(substitute_pred(p, pkt_bits, packet))
                except NotExact:
                    pass
                else:
                    extra.append(p)
                    demoted.append(f"`{pretty(p)}`: an atom, not a guard: the atoms pin "
                                   f"{describe_bits(pkt_bits, packet)} anyway")
                    continue
        kept.append(g)
    if extra:
        inst = install_atoms(m.atom_preds + extra, packet, hdr_bytes)
    return inst, kept, demoted


def _place(trace: list[Insn], recorded: list[tuple], kept: list[tuple]):
    """The trace without the instructions of recorded guards that are not `kept`, with the kept
    guards' jumps aimed at the guard exit; and their Guard records."""
    drop = {i for g in recorded for i in g[0]} - {i for g in kept for i in g[0]}
    new_index, out = {}, []
    for i, insn in enumerate(trace):
        if i not in drop:
            new_index[i] = len(out)
            out.append(insn)
    jumps = [new_index[g[0][-1]] for g in kept
             if isa.spec_of(trace[g[0][-1]]).kind in (isa.JA, isa.JCOND)]
    out = gd.place_guards(out, jumps)
    pcs = isa.slot_pcs(out)
    return out, tuple(Guard(new_index[g[0][-1]], pcs[new_index[g[0][-1]]], g[1], g[2])
                      for g in kept)


def trace_program(program, packet: bytes, **kwargs) -> TraceResult:
    """`trace_packet` for a loaded program (`jit.ebpf.elf.Program`), an object file path, or insns."""
    if isinstance(program, (str, Path)):
        from jit.ebpf import elf
        program = elf.load_linked(program)
    insns = getattr(program, "insns", program)
    return trace_packet(insns, packet, **kwargs)
