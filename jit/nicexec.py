"""The NIC executor's semantics, compiled: a straight-line trace becomes one Python function that
runs it under the executor's memory rules (docs/abi.md), bit-exact with `rtl/jitnic_exec.v`.

Why a separate runner from `jit/interp.py`: the NIC differs from Linux in what it refuses (stores
past the header window, context widths) and reports refusals as `ExecError` codes instead of
exceptions; and the model's hit path needs a trace compiled once and run many times. ALU semantics
still come from the interpreter (`jit.interp.alu`, `jit.interp.byteswap`), never re-implemented.
"""
from __future__ import annotations

from dataclasses import dataclass

from jit import isa, memmap
from jit import interp
from jit.encoding import HDR_BYTES, ExecError

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


def _sext(value: int, bits: int) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


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


def compile_trace(trace: list[isa.Insn], hdr_bytes: int = HDR_BYTES, max_slots: int | None = None):
    """Compile a trace into `run(packet: bytes) -> ExecResult` with the executor's semantics.

    An unsupported instruction becomes a BAD_OPCODE fault at its slot; running past the end (no
    exit) is FELL_OFF, as in the RTL.
    """
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
                 "_bswap": _bswap, "_sext": _sext}
    exec(compile("\n".join(src), "<trace>", "exec"), namespace)
    fn = namespace["_trace"]
    pcs = isa.slot_pcs(trace)

    def insns_at(slot: int) -> int:
        return sum(1 for p in pcs if p <= slot)

    def run(packet: bytes) -> ExecResult:
        m = _Machine(packet, hdr_bytes)
        try:
            action = fn(m)
        except ExecFault as fault:
            return ExecResult(0, bytes(packet), fault.code, insns_at(fault.pc))
        return ExecResult(action, bytes(m.frame), ExecError.NONE, n_insns)

    return run


def _bswap(opcode: int, width: int, value: int) -> int:
    return interp.byteswap(opcode, width, value)
