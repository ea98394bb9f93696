"""The NIC executor's semantics, compiled: a straight-line trace becomes one Python function that
runs it under the executor's memory rules (docs/abi.md), bit-exact with `rtl/jitnic_exec.v`.

Why a separate runner from `jit/ebpf/interp.py`: the NIC differs from Linux in what it refuses (stores
past the header window, context widths) and reports refusals as `ExecError` codes instead of
exceptions; and the model's hit path needs a trace compiled once and run many times. ALU semantics
still come from the interpreter, never re-implemented: `jit.ebpf.interp.alu` / `jit.ebpf.interp.byteswap` in
the generic translation and for constant folding, the same expression templates
(`interp.ALU_EXPR`, `interp.SWAP_EXPR`) pasted into the specialized translation.
"""
from __future__ import annotations

import bisect
import struct
from dataclasses import dataclass

from jit.ebpf import isa, memmap
from jit.ebpf import interp
from jit.nic import stateful_exec
from jit.nic.encoding import HDR_BYTES, ExecError

M64 = (1 << 64) - 1


class ExecFault(Exception):
    def __init__(self, code: ExecError, pc: int):
        super().__init__(f"{code.name} at slot {pc}")
        self.code = code
        self.pc = pc


@dataclass(frozen=True)
class ExecResult:
    action: int            # r0[31:0] at exit (meaningless when err != NONE)
    packet: bytes          # frame as the trace left it (the original frame when err != NONE)
    err: ExecError
    insns: int             # instructions executed (up to and including the faulting one)


_CTX_FIELDS = {memmap.CTX_OFF_DATA: "data", memmap.CTX_OFF_DATA_END: "data_end",
               memmap.CTX_OFF_DATA_META: "data", memmap.CTX_OFF_INGRESS_IFINDEX: 1,
               memmap.CTX_OFF_RX_QUEUE_INDEX: 0, memmap.CTX_OFF_EGRESS_IFINDEX: 0}


class _Machine:
    """Memory of one run: the frame (stores limited to the header window) and the stack."""
    __slots__ = ("frame", "stack", "length", "hdr_bytes")

    def __init__(self, packet: bytes, hdr_bytes: int):
        self.frame = bytearray(packet)
        self.stack = bytearray(memmap.STACK_SIZE)
        self.length = len(packet)
        self.hdr_bytes = hdr_bytes

    def load(self, addr: int, size: int, pc: int) -> int:
        addr &= M64
        if memmap.PKT_BASE <= addr < memmap.STACK_BASE:
            off = addr - memmap.PKT_DATA
            if off < 0 or off + size > self.length:
                raise ExecFault(ExecError.PKT_BOUNDS, pc)
            return int.from_bytes(self.frame[off:off + size], "little")
        if memmap.STACK_BASE <= addr < memmap.MAP_BASE:
            off = addr - memmap.STACK_BASE
            if off + size > memmap.STACK_SIZE:
                raise ExecFault(ExecError.STACK_BOUNDS, pc)
            return int.from_bytes(self.stack[off:off + size], "little")
        if memmap.CTX_BASE <= addr < memmap.PKT_BASE:
            off = addr - memmap.CTX_BASE
            field = _CTX_FIELDS.get(off)
            if size != 4 or field is None:
                raise ExecFault(ExecError.CTX_ACCESS, pc)
            if field == "data":
                return memmap.PKT_DATA
            if field == "data_end":
                return memmap.PKT_DATA + self.length
            return field
        raise ExecFault(ExecError.BAD_ADDRESS, pc)

    def store(self, addr: int, size: int, value: int, pc: int) -> None:
        addr &= M64
        data = (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
        if memmap.PKT_BASE <= addr < memmap.STACK_BASE:
            off = addr - memmap.PKT_DATA
            if off < 0 or off + size > self.length:
                raise ExecFault(ExecError.PKT_BOUNDS, pc)
            if off + size > self.hdr_bytes:
                raise ExecFault(ExecError.STORE_WINDOW, pc)
            self.frame[off:off + size] = data
            return
        if memmap.STACK_BASE <= addr < memmap.MAP_BASE:
            off = addr - memmap.STACK_BASE
            if off + size > memmap.STACK_SIZE:
                raise ExecFault(ExecError.STACK_BOUNDS, pc)
            self.stack[off:off + size] = data
            return
        if memmap.CTX_BASE <= addr < memmap.PKT_BASE:
            raise ExecFault(ExecError.CTX_ACCESS, pc)
        raise ExecFault(ExecError.BAD_ADDRESS, pc)


def _lines_for(insn: isa.Insn, pc: int) -> list[str] | None:
    """Python statements for one instruction, or None if the executor does not implement it."""
    if isa.validate(insn) is not None:    # malformed fields (r11+, bad swap width, r10 write...)
        return None
    cls = insn.opcode & 0x07
    d, s = f"r[{insn.dst}]", f"r[{insn.src}]"
    if insn.opcode == 0x95:  # exit
        return ["return r[0] & 0xFFFFFFFF"]
    if insn.opcode == 0x18:  # LD_IMM64
        if insn.src != 0:
            return None
        return [f"{d} = {insn.imm & M64}"]
    if cls in (isa.BPF_ALU, isa.BPF_ALU64):
        is64 = cls == isa.BPF_ALU64
        op = insn.opcode & 0xF0
        use_reg = bool(insn.opcode & 0x08)
        if op == 0xD0:  # END / bswap
            return [f"{d} = _bswap({insn.opcode}, {insn.imm}, {d})"]
        try:                      # undefined (op, off) pairs are not executable
            interp.alu(op, is64, 0, 1, insn.off)
        except ValueError:
            return None
        src = s if use_reg else str(isa.imm64(insn.imm))
        return [f"{d} = _alu({op}, {is64}, {d}, {src}, {insn.off})"]
    if cls == isa.BPF_LDX:
        size = isa.SIZE_BYTES[insn.opcode & 0x18]
        mode = insn.opcode & 0xE0
        if mode == isa.BPF_MEM:
            return [f"{d} = m.load({s} + {insn.off}, {size}, {pc})"]
        if mode == isa.BPF_MEMSX:
            return [f"{d} = _sext(m.load({s} + {insn.off}, {size}, {pc}), {8 * size}) & {M64}"]
        return None
    if cls == isa.BPF_ST and insn.opcode & 0xE0 == isa.BPF_MEM:
        size = isa.SIZE_BYTES[insn.opcode & 0x18]
        return [f"m.store({d} + {insn.off}, {size}, {insn.imm & M64}, {pc})"]
    if cls == isa.BPF_STX and insn.opcode & 0xE0 == isa.BPF_MEM:
        size = isa.SIZE_BYTES[insn.opcode & 0x18]
        return [f"m.store({d} + {insn.off}, {size}, {s}, {pc})"]
    return None


def _insns_counter(trace: list[isa.Insn]):
    """`insns_at(slot)`: instructions whose slot pc is <= slot (what a fault at `slot` reports)."""
    pcs = isa.slot_pcs(trace)

    def insns_at(slot: int) -> int:
        return bisect.bisect_right(pcs, slot)

    return insns_at


def compile_trace(trace: list[isa.Insn], hdr_bytes: int = HDR_BYTES, max_slots: int | None = None,
                  *, specialize: bool = True, state=None, v2: bool = False):
    """Compile a trace into `run(packet: bytes) -> ExecResult` with the executor's semantics.

    `v2=True` (a NIC of trace format v2, `NicConfig.v2`): a trace using jumps, helper calls,
    atomics or map addresses (docs/abi.md) runs through `jit.nic.stateful_exec` on `state` (a
    `jit.nic.nic_state.NicState`: map memory, clock, random generator), as a transaction;
    `run.v2` tells which translation was chosen. `v2=False` (the RTL executor of today): such a
    trace faults where v1 does (BAD_OPCODE at the first jump or call, BAD_ADDRESS at a map
    access). Everything below is about v1 traces, which keep the specialized translation.

    An unsupported instruction becomes a BAD_OPCODE fault at its slot; running past the end (no
    exit) is FELL_OFF, as in the RTL.

    `run.raw(packet)` is the same run returning the tuple `(action, packet, err, insns)` without
    building an ExecResult (the model's hit path). `specialize=True` (the default) compiles with
    registers as locals, constants folded at compile time and loads/stores at known addresses as
    direct buffer accesses (`_Specializer`); `specialize=False` is the generic translation (a
    register list and a `_Machine` checking every access at run time), kept as the reference the
    specialized code is tested against. Both give the same result for every trace and packet.
    """
    v2 = v2 and stateful_exec.needs_v2(trace)
    if v2:
        if max_slots is not None:
            trace = _first_slots(trace, max_slots)
        raw, source = stateful_exec.compile_v2(trace, hdr_bytes, state, _insns_counter(trace)), None
    elif specialize:
        raw, source = _Specializer(trace, hdr_bytes, max_slots).compile()
    else:
        raw, source = _compile_generic(trace, hdr_bytes, max_slots)

    def run(packet: bytes) -> ExecResult:
        return ExecResult(*raw(packet))

    run.raw = raw
    run.source = source
    run.v2 = v2
    return run


def _first_slots(trace: list[isa.Insn], max_slots: int) -> list[isa.Insn]:
    """The instructions that start within the first `max_slots` slots (what the NIC holds)."""
    out, pc = [], 0
    for insn in trace:
        if pc >= max_slots:
            break
        out.append(insn)
        pc += insn.slots
    return out


def _compile_generic(trace: list[isa.Insn], hdr_bytes: int, max_slots: int | None):
    body: list[str] = []
    pc = 0
    n_insns = 0          # instructions up to and including exit
    for insn in trace:
        lines = _lines_for(insn, pc)
        if lines is None:
            body.append(f"raise ExecFault(ExecError.BAD_OPCODE, {pc})")
            break
        body.extend(lines)
        n_insns += 1
        pc += insn.slots
        if insn.opcode == 0x95:
            break
        if max_slots is not None and pc >= max_slots:
            break
    else:
        body.append(f"raise ExecFault(ExecError.FELL_OFF, {pc})")
    if not body or not body[-1].startswith(("return", "raise")):
        body.append(f"raise ExecFault(ExecError.FELL_OFF, {pc})")
    src = ["def _trace(m):",
           f"    r = [0, {memmap.CTX_BASE}, 0, 0, 0, 0, 0, 0, 0, 0, {memmap.STACK_TOP}]"]
    src += [f"    {line}" for line in body]
    namespace = {"ExecFault": ExecFault, "ExecError": ExecError, "_alu": interp.alu,
                 "_bswap": interp.byteswap, "_sext": isa.sign_extend}
    exec(compile("\n".join(src), "<trace>", "exec"), namespace)
    fn = namespace["_trace"]
    insns_at = _insns_counter(trace)
    none = ExecError.NONE

    def raw(packet: bytes) -> tuple[int, bytes, ExecError, int]:
        m = _Machine(packet, hdr_bytes)
        try:
            action = fn(m)
        except ExecFault as fault:
            return 0, bytes(packet), fault.code, insns_at(fault.pc)
        return action, bytes(m.frame), none, n_insns

    return raw, "\n".join(src)


# ---- the specialized translation -----------------------------------------------------------------
# Little-endian loads (`_u<n>`), big-endian loads (`_b<n>`, a load fused with the byte swap that
# follows it) and little-endian stores (`_p<n>`) of n bytes at a constant offset.
_STRUCT_CODE = {2: "H", 4: "I", 8: "Q"}
_SPEC_NAMESPACE = {
    **{f"_u{n}": struct.Struct("<" + c).unpack_from for n, c in _STRUCT_CODE.items()},
    **{f"_b{n}": struct.Struct(">" + c).unpack_from for n, c in _STRUCT_CODE.items()},
    **{f"_p{n}": struct.Struct("<" + c).pack_into for n, c in _STRUCT_CODE.items()},
    **{f"_E{int(e)}": e for e in ExecError},
    **interp._NAMESPACE,             # helpers the ALU templates call (_sdiv64, ...)
    "ExecFault": ExecFault, "_Machine": _Machine, "_sext": isa.sign_extend,
}
_SWAP_KIND = {0xD4: "le", 0xDC: "be", 0xD7: "bswap"}
_PKT, _STACK, _CTX, _NOWHERE = range(4)


def _region(addr: int) -> tuple[int, int]:
    """(region, offset) of a 64-bit address, as `_Machine` classifies it: packet offsets count
    from `data`, stack offsets from STACK_BASE, context offsets from CTX_BASE."""
    if memmap.PKT_BASE <= addr < memmap.STACK_BASE:
        return _PKT, addr - memmap.PKT_DATA
    if memmap.STACK_BASE <= addr < memmap.MAP_BASE:
        return _STACK, addr - memmap.STACK_BASE
    if memmap.CTX_BASE <= addr < memmap.PKT_BASE:
        return _CTX, addr - memmap.CTX_BASE
    return _NOWHERE, 0


class _Specializer:
    """Translate a trace knowing, at each instruction, which registers hold compile-time constants.

    Entry state is fully known (r1 = CTX_BASE, r10 = STACK_TOP, the rest 0); LD_IMM64, mov imm, the
    context's data/data_meta and ALU ops on known operands keep registers known (folded with
    `interp.alu` / `interp.byteswap`). Other registers live in locals `r0`..`r9` and ALU ops on them
    are `interp.ALU_EXPR` / `interp.SWAP_EXPR` pasted with the operands. A load or store whose base
    register is known is classified at compile time: a fault that does not depend on the packet is
    compiled as a return at that instruction (and the rest of the trace is dead), a packet access
    gets one length check `L < end` (skipped when an earlier check already covered `end`, since the
    earlier check would have faulted first) and becomes a struct/index access on the frame, a stack
    access one on the stack buffer. Accesses through unknown registers go to `_Machine`, the
    generic path's run-time checks. The frame is copied only if the trace can store to it.

    Faults return `(0, original packet, code, insns)` with `insns` counted up to the faulting slot,
    exactly as the generic path reports them.
    """

    def __init__(self, trace: list[isa.Insn], hdr_bytes: int, max_slots: int | None):
        self.trace = trace
        self.hdr_bytes = hdr_bytes
        self.max_slots = max_slots
        self.insns_at = _insns_counter(trace)
        self.known: dict[int, int] = {r: 0 for r in range(isa.N_REGS)}
        self.known[1] = memmap.CTX_BASE
        self.known[isa.FP] = memmap.STACK_TOP
        self.lines: list[str] = []
        self.checked = 0                 # the packet length is known to be >= this
        self.uses_len = self.pkt_reads = self.pkt_writes = self.stack = self.dynamic = False

    # -- helpers -------------------------------------------------------------------------------
    def val(self, reg: int) -> str:
        k = self.known.get(reg)
        return f"r{reg}" if k is None else str(k)

    def set_known(self, reg: int, value: int) -> None:
        self.known[reg] = value & M64

    def set_expr(self, reg: int, expr: str) -> None:
        self.lines.append(f"r{reg} = {expr}")
        self.known.pop(reg, None)

    def fault(self, code: ExecError, pc: int) -> bool:
        self.lines.append(f"return (0, bytes(p), _E{int(code)}, {self.insns_at(pc)})")
        return True

    def check_len(self, end: int, pc: int) -> None:
        self.uses_len = True
        if end > self.checked:
            self.lines.append(f"if L < {end}: return (0, bytes(p), _E{int(ExecError.PKT_BOUNDS)}, "
                              f"{self.insns_at(pc)})")
            self.checked = end

    # -- instructions (each returns True when it ended the trace) ----------------------------
    def load(self, insn: isa.Insn, pc: int, fuse_swap: bool) -> tuple[bool, bool]:
        """(ended, fused): `fuse_swap` offers to also do the next instruction, a byte swap of the
        loaded register to big-endian of the load's width, by loading big-endian."""
        size = isa.SIZE_BYTES[insn.opcode & 0x18]
        signed = insn.opcode & 0xE0 == isa.BPF_MEMSX
        base = self.known.get(insn.src)
        if base is None:
            self.dynamic = True
            expr = f"m.load(r{insn.src} + {insn.off}, {size}, {pc})"
            if signed:
                expr = f"_sext({expr}, {8 * size}) & {M64}"
            self.set_expr(insn.dst, expr)
            return False, False
        region, off = _region((base + insn.off) & M64)
        fused = False
        if region in (_PKT, _STACK):
            if region == _PKT:
                if off < 0:
                    return self.fault(ExecError.PKT_BOUNDS, pc), False
                self.check_len(off + size, pc)
                self.pkt_reads = True
                buf = "f"
            else:
                if off + size > memmap.STACK_SIZE:
                    return self.fault(ExecError.STACK_BOUNDS, pc), False
                self.stack = True
                buf = "s"
            if size == 1:
                expr = f"{buf}[{off}]"
            else:
                fused = fuse_swap and not signed
                expr = f"_{'b' if fused else 'u'}{size}({buf}, {off})[0]"
            if signed:
                expr = f"_sext({expr}, {8 * size}) & {M64}"
            self.set_expr(insn.dst, expr)
            return False, fused
        if region == _CTX:
            field = _CTX_FIELDS.get(off)
            if size != 4 or field is None:
                return self.fault(ExecError.CTX_ACCESS, pc), False
            if field == "data_end":
                self.uses_len = True
                expr = f"{memmap.PKT_DATA} + L"
                if signed:
                    expr = f"_sext({expr}, 32) & {M64}"
                self.set_expr(insn.dst, expr)
                return False, False
            value = memmap.PKT_DATA if field == "data" else field
            self.set_known(insn.dst, isa.sign_extend(value, 32) if signed else value)
            return False, False
        return self.fault(ExecError.BAD_ADDRESS, pc), False

    def store(self, insn: isa.Insn, pc: int) -> bool:
        size = isa.SIZE_BYTES[insn.opcode & 0x18]
        mask = (1 << (8 * size)) - 1
        if insn.cls == isa.BPF_ST:
            value: int | None = insn.imm & M64
        else:
            value = self.known.get(insn.src)
        value_expr = str(value) if value is not None else f"r{insn.src}"
        base = self.known.get(insn.dst)
        if base is None:
            self.dynamic = True
            self.lines.append(f"m.store(r{insn.dst} + {insn.off}, {size}, {value_expr}, {pc})")
            return False
        region, off = _region((base + insn.off) & M64)
        if region == _PKT:
            if off < 0:
                return self.fault(ExecError.PKT_BOUNDS, pc)
            self.check_len(off + size, pc)
            if off + size > self.hdr_bytes:
                return self.fault(ExecError.STORE_WINDOW, pc)
            self.pkt_writes = True
            buf = "f"
        elif region == _STACK:
            if off + size > memmap.STACK_SIZE:
                return self.fault(ExecError.STACK_BOUNDS, pc)
            self.stack = True
            buf = "s"
        elif region == _CTX:
            return self.fault(ExecError.CTX_ACCESS, pc)
        else:
            return self.fault(ExecError.BAD_ADDRESS, pc)
        if value is not None:
            data = str(value & mask)
        elif size == 8:
            data = value_expr            # registers hold 64-bit values
        else:
            data = f"{value_expr} & {mask}"
        if size == 1:
            self.lines.append(f"{buf}[{off}] = {data}")
        else:
            self.lines.append(f"_p{size}({buf}, {off}, {data})")
        return False

    def alu(self, insn: isa.Insn) -> None:
        is64 = insn.cls == isa.BPF_ALU64
        op = insn.opcode & 0xF0
        template = interp.ALU_EXPR[(op, 64 if is64 else 32, insn.off)]
        if insn.opcode & isa.BPF_X:
            src, src_known = self.val(insn.src), self.known.get(insn.src)
        else:
            src_known = isa.imm64(insn.imm)
            src = str(src_known)
        dst_known = self.known.get(insn.dst)
        if ((dst_known is not None or "{d}" not in template)
                and (src_known is not None or "{s}" not in template)):
            self.set_known(insn.dst, interp.alu(op, is64, dst_known or 0, src_known or 0, insn.off))
        else:
            self.set_expr(insn.dst, template.format(d=self.val(insn.dst), s=src))

    def swap(self, insn: isa.Insn) -> None:
        template = interp.SWAP_EXPR.get((_SWAP_KIND.get(insn.opcode), insn.imm))
        known = self.known.get(insn.dst)
        if template is None:              # not an executable swap: the generic path's call
            self.set_expr(insn.dst, f"_bswap({insn.opcode}, {insn.imm}, {self.val(insn.dst)})")
        elif known is not None:
            self.set_known(insn.dst, interp.byteswap(insn.opcode, insn.imm, known))
        else:
            self.set_expr(insn.dst, template.format(d=f"r{insn.dst}"))

    def fusable_swap(self, load: isa.Insn, nxt: isa.Insn | None, next_pc: int) -> bool:
        """Whether `nxt` (at slot next_pc) runs right after `load` and turns the loaded value into
        its big-endian reading: be/bswap of exactly the load's width on the same register."""
        if nxt is None or load.opcode & 0xE0 != isa.BPF_MEM:
            return False
        if self.max_slots is not None and next_pc >= self.max_slots:
            return False
        size = isa.SIZE_BYTES[load.opcode & 0x18]
        return (nxt.opcode in (0xDC, 0xD7) and nxt.dst == load.dst and nxt.imm == 8 * size
                and _lines_for(nxt, next_pc) is not None)

    # -- driver --------------------------------------------------------------------------------
    def compile(self):
        trace, pc, n_insns, i = self.trace, 0, 0, 0
        ended = False
        while i < len(trace):
            insn = trace[i]
            if _lines_for(insn, pc) is None:          # the generic path's notion of executable
                ended = self.fault(ExecError.BAD_OPCODE, pc)
                break
            cls = insn.opcode & 0x07
            step = 1
            if insn.opcode == 0x95:
                r0 = self.known.get(0)
                action = str(r0 & 0xFFFFFFFF) if r0 is not None else "r0 & 0xFFFFFFFF"
                out = "bytes(f)" if self.pkt_writes or self.dynamic else "bytes(p)"
                self.lines.append(f"return ({action}, {out}, _E0, {n_insns + 1})")
                ended = True
                n_insns += 1
                break
            if insn.opcode == 0x18:
                self.set_known(insn.dst, insn.imm)
            elif cls in (isa.BPF_ALU, isa.BPF_ALU64):
                if insn.opcode & 0xF0 == 0xD0:
                    self.swap(insn)
                else:
                    self.alu(insn)
            elif cls == isa.BPF_LDX:
                nxt = trace[i + 1] if i + 1 < len(trace) else None
                ended, fused = self.load(insn, pc, self.fusable_swap(insn, nxt, pc + insn.slots))
                if fused:
                    step = 2
            else:                                      # ST / STX (MEM mode: _lines_for checked)
                ended = self.store(insn, pc)
            if ended:
                break
            for insn in trace[i:i + step]:
                n_insns += 1
                pc += insn.slots
            i += step
            if self.max_slots is not None and pc >= self.max_slots:
                break
        if not ended:
            self.fault(ExecError.FELL_OFF, pc)
        return self.build()

    def build(self):
        prologue = []
        if self.uses_len:
            prologue.append("L = len(p)")
        if self.dynamic:
            prologue += [f"m = _Machine(p, {self.hdr_bytes})", "f = m.frame", "s = m.stack"]
        else:
            if self.pkt_writes:
                prologue.append("f = bytearray(p)")
            elif self.pkt_reads:
                prologue.append("f = p")
            if self.stack:
                prologue.append(f"s = bytearray({memmap.STACK_SIZE})")
        src = ["def _trace(p):"] + [f"    {line}" for line in prologue]
        if self.dynamic:      # _Machine raises ExecFault; report it like the generic path
            src += ["    try:"] + [f"        {line}" for line in self.lines]
            src += ["    except ExecFault as e:",
                    "        return (0, bytes(p), e.code, _insns_at(e.pc))"]
        else:
            src += [f"    {line}" for line in self.lines]
        namespace = dict(_SPEC_NAMESPACE, _bswap=interp.byteswap, _insns_at=self.insns_at)
        text = "\n".join(src)
        exec(compile(text, "<trace>", "exec"), namespace)
        return namespace["_trace"], text
