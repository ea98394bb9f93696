"""Forward abstract interpretation of a straight-line trace, shared by the passes.

For each program point the analysis knows (soundly: "if execution reaches this point without a
fault, then ..."):

- `regs[r]`: the 64-bit value of register r, or None;
- `bits[r]`: an upper bound on the bit length of r's value (64 when nothing is known);
- `pkt[k]`: the value of packet byte k (from full-byte equality atoms, then from stores);
- `stack[k]`: the value of stack byte `STACK_BASE + k` (from stores; the entry stack is unknown).

Pointers need no special domain: the NIC's address map (`jit.ebpf.memmap`) puts the context, the frame
and the stack at fixed addresses, so `data`, `r1` and `r10` are plain constants and every memory
access whose base register is known has a known absolute address (`locate`). `data_end` is a
constant only when a `len == c` atom pins the length.

Semantics are the interpreter's: ALU results come from `jit.ebpf.interp.alu`, byte swaps from
`jit.ebpf.interp.byteswap`; context field values are those of `jit.ebpf.interp.run_xdp` (and the NIC
executor, docs/abi.md).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from jit.ebpf import interp, isa, memmap
from jit.ebpf.isa import Insn, MASK32, MASK64, sign_extend
from jit.compiler.guards import TAGGED
from jit.compiler.opt.facts import Facts

# instruction kinds the optimizer understands; they are exactly what the NIC executor runs
# (docs/abi.md) once LD_IMM64 pseudo forms (src != 0) are excluded. Trace format v2 adds guards
# (forward jumps to the guard exit, tagged while optimizing: jit/compiler/guards.py), helper calls
# and atomics on map memory.
KINDS = (isa.ALU, isa.END, isa.LDDW, isa.LDX, isa.LDXSX, isa.ST, isa.STX, isa.EXIT, isa.JCOND,
         isa.JA, isa.CALL, isa.ATOMIC)
# helpers that write packet or stack bytes: xdp_load_bytes (r4 bytes at r3) and xdp_store_bytes
# (r4 bytes at data + r2); the analysis forgets what it knew of the bytes they may write
# (`copy_span`), as every call it clobbers r0-r5
COPY_HELPERS = frozenset({189, 190})
# helpers that move the frame's bounds (bpf_xdp_adjust_head, bpf_xdp_adjust_tail): modelled as a
# barrier after which data, data_end and data_meta are unknown, every packet byte is unknown (a grown
# tail is cleared) and no packet access is known to be in bounds (`State.moved`)
MOVING_HELPERS = frozenset({44, 65})
CALL_CLOBBERS = (0, 1, 2, 3, 4, 5)
ANCHORS = frozenset({memmap.PKT_DATA, memmap.STACK_TOP, memmap.CTX_BASE})


@dataclass(frozen=True)
class Env:
    """What the passes may assume: the condition's facts and the NIC's header window."""
    facts: Facts
    hdr_bytes: int
    cache: dict = field(default_factory=dict, compare=False, repr=False)   # analyze() memo

    def ctx_value(self, off: int, moved: bool = False) -> int | None:
        """Value of the u32 context field at byte `off` (None: data_end without a pinned length,
        a frame bound after a helper moved it (`moved`), or not a field)."""
        if moved and off in (memmap.CTX_OFF_DATA, memmap.CTX_OFF_DATA_META, memmap.CTX_OFF_DATA_END):
            return None
        if off in (memmap.CTX_OFF_DATA, memmap.CTX_OFF_DATA_META):
            return memmap.PKT_DATA
        if off == memmap.CTX_OFF_DATA_END:
            n = self.facts.exact_len
            return None if n is None else memmap.PKT_DATA + n
        # the NIC's fixed values (docs/abi.md), which are also run_xdp's defaults
        return {memmap.CTX_OFF_INGRESS_IFINDEX: 1, memmap.CTX_OFF_RX_QUEUE_INDEX: 0,
                memmap.CTX_OFF_EGRESS_IFINDEX: 0}.get(off)


def unsupported(trace: list[Insn]) -> str | None:
    """Why the optimizer must leave `trace` alone, or None. It handles only valid instructions of
    the kinds the NIC executes, and a trace with an `exit`."""
    for pos, insn in enumerate(trace):
        why = isa.validate(insn)
        if why is not None:
            return f"instruction {pos}: {why}"
        spec = isa.spec_of(insn)
        if spec.kind not in KINDS or (spec.kind == isa.LDDW and insn.src != 0):
            return f"instruction {pos}: {spec.name} is not a straight-line trace instruction"
        if spec.kind == isa.CALL and spec.op != 0:
            return f"instruction {pos}: {isa.disasm_insn(insn)} is not modelled by the optimizer"
        if spec.kind in (isa.JA, isa.JCOND) and insn.off != TAGGED and not _jset_pair(trace, pos):
            return f"instruction {pos}: a jump that is not a guard"
    if not any(isa.spec_of(i).kind == isa.EXIT for i in trace):
        return "no exit"
    return None


def _jset_pair(trace: list[Insn], pos: int) -> bool:
    """`jset ... +1; ja <guard exit>`: a guard on a recorded-taken jset."""
    insn = trace[pos]
    return (isa.spec_of(insn).op == isa.BPF_JSET and insn.off == 1 and pos + 1 < len(trace)
            and isa.spec_of(trace[pos + 1]).kind == isa.JA and trace[pos + 1].off == TAGGED)


def copy_span(insn: Insn, state: "State"):
    """The packet or stack bytes a call may write, before it runs in `state`: () for none (not a
    copy helper, or one that fails on its constant arguments: off or len above 0xffff), or
    (region, lo, hi) for bytes [lo, hi) of PKT or STACK (a destination elsewhere -- map memory,
    the context -- writes no packet or stack byte, or faults), or None when the destination or
    the length is unknown (any packet and stack byte)."""
    if isa.spec_of(insn).kind != isa.CALL or insn.src != 0 or insn.imm not in COPY_HELPERS:
        return ()
    n, off = state.regs[4], state.regs[2]
    if n is not None and n & MASK32 > 0xFFFF or off is not None and off & MASK32 > 0xFFFF:
        return ()                       # -EFAULT: nothing written
    if n is None:
        return None
    n &= MASK32
    if insn.imm == 190:                 # store_bytes: packet bytes [off, off + n)
        return None if off is None else (PKT, off & MASK32, (off & MASK32) + n)
    base = state.regs[3]
    if base is None:
        return None
    loc = locate(base, n)
    return (loc.region, loc.offset, loc.offset + n) if loc.region in (PKT, STACK) else ()


def is_barrier(insn: Insn) -> bool:
    """Guards, calls and atomics: never removed, moved or merged by a pass."""
    return isa.spec_of(insn).kind in (isa.JA, isa.JCOND, isa.CALL, isa.ATOMIC)


# ---- instruction shapes --------------------------------------------------------------------------
@dataclass(frozen=True)
class Access:
    """A load or store: `size` bytes at `base + off`."""
    store: bool
    size: int
    base: int
    off: int
    sx: bool = False          # sign-extending load
    src: int | None = None    # STX: the register stored
    imm: int | None = None    # ST: the immediate stored


def access(insn: Insn) -> Access | None:
    spec = isa.spec_of(insn)
    if spec is None:
        return None
    if spec.kind in (isa.LDX, isa.LDXSX):
        return Access(False, spec.size, insn.src, insn.off, sx=spec.kind == isa.LDXSX)
    if spec.kind == isa.STX:
        return Access(True, spec.size, insn.dst, insn.off, src=insn.src)
    if spec.kind == isa.ST:
        return Access(True, spec.size, insn.dst, insn.off, imm=insn.imm)
    return None


def defined(insn: Insn) -> int | None:
    """The register an instruction writes."""
    spec = isa.spec_of(insn)
    return insn.dst if spec is not None and isa.writes_dst(spec) else None


def used(insn: Insn) -> set[int]:
    """The registers an instruction reads."""
    spec = isa.spec_of(insn)
    kind = spec.kind
    if kind == isa.ALU:
        regs = set() if spec.op == isa.BPF_MOV else {insn.dst}
        if insn.opcode & isa.BPF_X:
            regs.add(insn.src)
        return regs
    if kind == isa.END:
        return {insn.dst}
    if kind in (isa.LDX, isa.LDXSX):
        return {insn.src}
    if kind == isa.ST:
        return {insn.dst}
    if kind == isa.STX:
        return {insn.dst, insn.src}
    if kind == isa.EXIT:
        return {0}
    if kind == isa.JCOND:
        return {insn.dst, insn.src} if insn.opcode & isa.BPF_X else {insn.dst}
    if kind == isa.CALL:                # the helper's arguments: (ctx, delta) for the frame
        return {1, 2} if insn.imm in MOVING_HELPERS else {1, 2, 3, 4, 5}   # moves, else all

    if kind == isa.ATOMIC:
        return {insn.dst, insn.src, 0} if spec.op == isa.BPF_CMPXCHG else {insn.dst, insn.src}
    return set()


def is_materialization(insn: Insn) -> bool:
    """`mov rd, imm`, `mov32 rd, imm` or `lddw rd, imm`."""
    return (insn.opcode in (isa.BPF_ALU64 | isa.BPF_K | isa.BPF_MOV, isa.BPF_ALU | isa.BPF_K | isa.BPF_MOV)
            and insn.off == 0) or (insn.opcode == isa.LD_IMM64 and insn.src == 0)


def materialize(dst: int, value: int) -> Insn:
    """The smallest instruction setting `dst` to `value`: mov (imm sign-extended from 32 bits),
    mov32 (imm zero-extended) or, failing both, lddw."""
    value &= MASK64
    signed = sign_extend(value, 64)
    if -(1 << 31) <= signed < (1 << 31):
        return isa.mov64_imm(dst, signed)
    if value <= MASK32:
        return isa.mov32_imm(dst, sign_extend(value, 32))
    return isa.ld_imm64(dst, value)


# ---- locations -----------------------------------------------------------------------------------
PKT, STACK, CTX, BAD = "pkt", "stack", "ctx", "bad"


@dataclass(frozen=True)
class Loc:
    """Where an access with a known address goes: region and byte offset in it. BAD: an access
    that faults whenever it runs (no region holds it)."""
    region: str
    offset: int


def locate(addr: int, size: int) -> Loc:
    """The packet region is the whole buffer, headroom included (offsets from `data` at entry, so
    negative below it): after bpf_xdp_adjust_head the frame starts in the headroom. An access
    outside the frame faults at run time; `never_faults` decides which are known not to."""
    addr &= MASK64
    off = addr - memmap.PKT_DATA
    if -memmap.HEADROOM <= off and off + size <= memmap.PKT_MAX:
        return Loc(PKT, off)
    off = addr - memmap.STACK_BASE
    if 0 <= off and off + size <= memmap.STACK_SIZE:
        return Loc(STACK, off)
    off = addr - memmap.CTX_BASE
    if 0 <= off < memmap.CTX_SIZE:
        return Loc(CTX, off)
    return Loc(BAD, 0)


# ---- abstract state ------------------------------------------------------------------------------
@dataclass(frozen=True)
class State:
    regs: tuple
    bits: tuple
    pkt: dict
    stack: dict
    moved: bool = False     # a helper moved the frame's bounds (MOVING_HELPERS) before this point

    def loc(self, acc: Access) -> Loc | None:
        """The location an access reaches, if its base register is known."""
        base = self.regs[acc.base]
        return None if base is None else locate(base + acc.off, acc.size)


def entry_state(env: Env) -> State:
    regs = [None] * isa.N_REGS
    regs[1], regs[isa.FP] = memmap.CTX_BASE, memmap.STACK_TOP
    bits = [64] * isa.N_REGS
    bits[1], bits[isa.FP] = memmap.CTX_BASE.bit_length(), memmap.STACK_TOP.bit_length()
    pkt = {}
    for off in env.facts.known:
        byte = env.facts.byte(off)
        if byte is not None and off < env.hdr_bytes:
            pkt[off] = byte
    return State(tuple(regs), tuple(bits), pkt, {})


def base_for(state: State, addr: int, current: int | None = None) -> tuple[int, int] | None:
    """The best (register, off) to reach `addr` at a point with this state: a register holding a
    known value within a signed 16-bit offset of it; one holding a region anchor first, then
    `current`, then the lowest number. None if no register is close enough."""
    best = None
    for r, value in enumerate(state.regs):
        if value is None:
            continue
        delta = sign_extend((addr - value) & MASK64, 64)
        if not -0x8000 <= delta <= 0x7FFF:
            continue
        rank = (value not in ANCHORS, r != current, r)
        if best is None or rank < best[0]:
            best = (rank, r, delta)
    return None if best is None else (best[1], best[2])


def never_faults(acc: Access, loc: Loc | None, env: Env, moved: bool) -> bool:
    """Whether a load can be deleted without changing which packets fault: its address is known and
    in bounds for every packet satisfying the condition. `moved` (the state's): a helper has moved
    the frame's bounds, so the entry length says nothing about a packet access any more."""
    if loc is None or acc.store:
        return False
    if loc.region == PKT:
        return not moved and 0 <= loc.offset and loc.offset + acc.size <= env.facts.min_len
    if loc.region == STACK:
        return True
    if loc.region == CTX:
        return acc.size == 4 and loc.offset % 4 == 0
    return False


def _read(mem: dict, off: int, size: int) -> int | None:
    value = 0
    for k in range(size):
        b = mem.get(off + k)
        if b is None:
            return None
        value |= b << (8 * k)
    return value


def load_value(state: State, acc: Access, env: Env) -> int | None:
    """The value a load gives (zero- or sign-extended), if known."""
    loc = state.loc(acc)
    if loc is None:
        return None
    if loc.region == PKT:
        raw = _read(state.pkt, loc.offset, acc.size)
    elif loc.region == STACK:
        raw = _read(state.stack, loc.offset, acc.size)
    elif loc.region == CTX and acc.size == 4:
        raw = env.ctx_value(loc.offset, state.moved)
    else:
        raw = None
    if raw is None:
        return None
    return sign_extend(raw, 8 * acc.size) & MASK64 if acc.sx else raw


def _alu_bits(insn: Insn, spec, bd: int, bs: int, src_val: int | None) -> int:
    """Upper bound on the bit length of an ALU result from the operands' bounds."""
    op, w = spec.op, spec.width
    if op == isa.BPF_AND:
        b = min(bd, bs)
    elif op in (isa.BPF_OR, isa.BPF_XOR):
        b = max(bd, bs)
    elif op == isa.BPF_ADD:
        b = max(bd, bs) + 1
    elif op == isa.BPF_MUL:
        b = bd + bs
    elif op == isa.BPF_DIV and insn.off == 0:
        b = bd
    elif op == isa.BPF_MOD and insn.off == 0:
        b = min(bd, bs) if src_val else bd        # x % 0 == x
    elif op == isa.BPF_LSH:
        b = bd + (src_val & (w - 1)) if src_val is not None else 64
    elif op == isa.BPF_RSH:
        b = max(0, min(bd, w) - (src_val & (w - 1))) if src_val is not None else bd
    elif op == isa.BPF_ARSH:
        b = (max(0, bd - (src_val & (w - 1))) if src_val is not None else bd) if bd < w else 64
    elif op == isa.BPF_MOV:
        b = bs if insn.off == 0 or bs < insn.off else 64
    else:                       # sub, neg, signed div/mod
        b = 64
    return min(b, w, 64)


def step(state: State, insn: Insn, env: Env) -> State:
    """The state after `insn` (for an exit: unchanged)."""
    spec = isa.spec_of(insn)
    kind = spec.kind
    regs, bits = list(state.regs), list(state.bits)
    pkt, stack, moved = state.pkt, state.stack, state.moved
    d = insn.dst
    if kind == isa.ALU:
        is64 = spec.width == 64
        if spec.op == isa.BPF_NEG:
            src_val, bs = 0, 0
        elif insn.opcode & isa.BPF_X:
            src_val, bs = regs[insn.src], bits[insn.src]
        else:
            src_val = isa.imm64(insn.imm)
            bs = (src_val if is64 else src_val & MASK32).bit_length()
        off = insn.off if spec.op in (isa.BPF_DIV, isa.BPF_MOD, isa.BPF_MOV) else 0
        dst_val = 0 if spec.op == isa.BPF_MOV else regs[d]
        value = None
        if src_val is not None and dst_val is not None:
            value = interp.alu(spec.op, is64, dst_val, src_val, off)
        regs[d] = value
        bits[d] = value.bit_length() if value is not None else _alu_bits(insn, spec, bits[d], bs,
                                                                          src_val)
    elif kind == isa.END:
        value = None if regs[d] is None else interp.byteswap(insn.opcode, insn.imm, regs[d])
        regs[d] = value
        if value is not None:
            bits[d] = value.bit_length()
        elif spec.op == isa.BPF_TO_LE:
            bits[d] = min(bits[d], spec.width)
        else:
            bits[d] = spec.width
    elif kind == isa.LDDW:
        regs[d], bits[d] = insn.imm, insn.imm.bit_length()
    elif kind in (isa.LDX, isa.LDXSX):
        acc = access(insn)
        value = load_value(state, acc, env)
        regs[d] = value
        bits[d] = value.bit_length() if value is not None else (64 if acc.sx else 8 * acc.size)
    elif kind in (isa.ST, isa.STX):
        acc = access(insn)
        loc = state.loc(acc)
        if acc.imm is not None:
            value = isa.imm64(acc.imm)
        else:
            value = regs[acc.src]
        if loc is None:
            pkt, stack = {}, {}          # could be anywhere
        elif loc.region in (PKT, STACK):
            mem = dict(pkt if loc.region == PKT else stack)
            for k in range(acc.size):
                if value is None:
                    mem.pop(loc.offset + k, None)
                else:
                    mem[loc.offset + k] = (value >> (8 * k)) & 0xFF
            if loc.region == PKT:
                pkt = mem
            else:
                stack = mem
        # CTX / BAD stores always fault: nothing after them runs
    elif kind == isa.CALL:              # r0 = the helper's result, r1-r5 clobbered
        span = copy_span(insn, state)   # load/store_bytes: the bytes they write become unknown
        if span is None:
            pkt, stack = {}, {}
        elif span:
            region, lo, hi = span
            mem = {k: v for k, v in (pkt if region == PKT else stack).items()
                   if not lo <= k < hi}
            pkt, stack = (mem, stack) if region == PKT else (pkt, mem)
        for r in CALL_CLOBBERS:
            regs[r], bits[r] = None, 64
        if insn.imm in MOVING_HELPERS:  # new frame bounds; a grown tail's bytes are cleared
            pkt, moved = {}, True
    elif kind == isa.ATOMIC:            # a read-modify-write: its bytes are no longer known
        base = regs[d]
        loc = None if base is None else locate(base + insn.off, spec.size)
        if loc is None:
            pkt, stack = {}, {}
        elif loc.region in (PKT, STACK):
            mem = {k: v for k, v in (pkt if loc.region == PKT else stack).items()
                   if not loc.offset <= k < loc.offset + spec.size}
            pkt, stack = (mem, stack) if loc.region == PKT else (pkt, mem)
        if spec.op == isa.BPF_CMPXCHG:
            regs[0], bits[0] = None, 64
        elif spec.op & isa.BPF_FETCH:
            regs[insn.src], bits[insn.src] = None, 64
    return State(tuple(regs), tuple(bits), pkt, stack, moved)


def analyze(trace: list[Insn], env: Env) -> list[State]:
    """States before each instruction, and after the last one (len(trace) + 1 states). Memoized
    per trace in `env` (passes that change nothing hand the next pass the same trace)."""
    key = tuple(trace)
    states = env.cache.get(key)
    if states is None:
        states = [entry_state(env)]
        for insn in trace:
            states.append(step(states[-1], insn, env))
        if len(env.cache) > 64:
            env.cache.clear()
        env.cache[key] = states
    return states
