"""The reference interpreter: the project's golden model of eBPF execution.

Semantics live in small pure functions that the tracer and the RTL testbenches reuse:
`alu()`, `byteswap()`, `cond_taken()`, `atomic_rmw()`, and the `Memory` class (regions, bounds
checks, faults). They are written once, as Python expression templates (`ALU_EXPR`, `COND_EXPR`,
`SWAP_EXPR`): the public functions evaluate the templates, and the executor pastes the same
templates into generated code. The executor translates a program once into one Python function
(registers as locals, one straight-line block per basic block, a binary-search dispatch on the pc),
cached per program; see docs/interp.md.

Entry points: `run_xdp()` (XDP context, packet with headroom) and `run_raw()` (the conformance
suite's convention: r1 = memory buffer, r2 = its length). Errors are `InterpError` subclasses and
name the pc; nothing else escapes for any program or input.
"""
from __future__ import annotations

import functools
import struct
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

from jit.ebpf import isa
from jit import JitnicError
from jit.ebpf.isa import Insn, MASK32, MASK64, sign_extend
from jit.ebpf.helper_ids import helper_name
from jit.ebpf.memmap import (CTX_BASE, CTX_SIZE, HEADROOM, PKT_BASE, PKT_MAX, STACK_BASE, STACK_SIZE,
                             map_base, map_handle)

MAX_CALL_DEPTH = 8          # frames, main program included (Linux MAX_CALL_FRAMES)
DEFAULT_BUDGET = 1_000_000  # instructions per run
RAW_BASE = 0x6000_0000      # run_raw's input buffer (conformance convention only)
PAGE_SHIFT = 28             # regions are found by address >> PAGE_SHIFT (one per 256 MiB page)


# ---- errors --------------------------------------------------------------------------------------
class InterpError(JitnicError):
    """An eBPF program did something the interpreter refuses; `pc` is the slot pc (or None).
    `kind` names the class of fault in reports (per-frame host errors are counted by kind)."""
    kind = "interpreter error"

    def __init__(self, pc: int | None, message: str):
        self.pc = pc
        super().__init__(f"pc {pc}: {message}" if pc is not None else message)


class MemoryFault(InterpError):
    """A load, store or atomic outside every accessible region (or a write to a read-only one)."""
    kind = "memory fault"

    def __init__(self, pc: int | None, address: int, size: int, access: str, detail: str):
        self.address, self.size, self.access = address, size, access   # access: read / write
        super().__init__(pc, f"{access} of {size} byte{'s' if size != 1 else ''} at "
                             f"{address:#x}: {detail}")


class BudgetExceeded(InterpError):
    """The program ran more instructions than its budget allows."""
    kind = "instruction budget exceeded"


class UnsupportedInsn(InterpError):
    """An instruction the interpreter does not execute (unknown or invalid encoding, unknown
    helper, LD_IMM64 map/BTF pseudo forms, legacy packet access, kfunc calls)."""
    kind = "unsupported instruction"


class CallDepthExceeded(InterpError):
    """A local call beyond MAX_CALL_DEPTH frames."""
    kind = "call depth exceeded"


class InvalidJump(InterpError):
    """Control flow left the program: a jump or call outside it or into the middle of an
    LD_IMM64, or execution ran past the last instruction."""
    kind = "invalid jump"


def describe_error(exc: InterpError) -> str:
    """`KIND: MESSAGE` on one line, the form per-frame reports use (the kind before the colon)."""
    return f"{exc.kind}: {' '.join(str(exc).split())}"


# ---- pure semantics ------------------------------------------------------------------------------
# Expression templates over u64 operands {d} (dst) and {s} (src; for BPF_K the immediate as
# `imm64(imm)`); the result is the new dst value, zero-extended. Keyed (op, width, off).
_C = {"M64": hex(MASK64), "M32": hex(MASK32), "S64": hex(1 << 63), "S32": hex(1 << 31)}


def _t(text: str) -> str:
    for name, value in _C.items():
        text = text.replace(name, value)
    return text


ALU_EXPR: dict[tuple[int, int, int], str] = {}
for _w, _m, _bits in ((64, "M64", 63), (32, "M32", 31)):
    _lo = "{d}" if _w == 64 else "({d} & M32)"
    _slo = "{s}" if _w == 64 else "({s} & M32)"
    ALU_EXPR.update({
        (isa.BPF_ADD, _w, 0): f"({{d}} + {{s}}) & {_m}",
        (isa.BPF_SUB, _w, 0): f"({{d}} - {{s}}) & {_m}",
        (isa.BPF_MUL, _w, 0): f"({{d}} * {{s}}) & {_m}",
        (isa.BPF_DIV, _w, 0): f"({_lo} // {_slo} if {_slo} else 0)",
        (isa.BPF_DIV, _w, 1): f"_sdiv{_w}({{d}}, {{s}})",
        (isa.BPF_OR, _w, 0): f"({{d}} | {{s}}) & {_m}",
        (isa.BPF_AND, _w, 0): f"{{d}} & {{s}} & {_m}",
        (isa.BPF_LSH, _w, 0): f"({{d}} << ({{s}} & {_bits})) & {_m}",
        (isa.BPF_RSH, _w, 0): f"{_lo} >> ({{s}} & {_bits})",
        (isa.BPF_NEG, _w, 0): f"-{{d}} & {_m}",
        (isa.BPF_MOD, _w, 0): f"({_lo} % {_slo} if {_slo} else {_lo})",
        (isa.BPF_MOD, _w, 1): f"_smod{_w}({{d}}, {{s}})",
        (isa.BPF_XOR, _w, 0): f"({{d}} ^ {{s}}) & {_m}",
        (isa.BPF_MOV, _w, 0): f"{{s}} & {_m}",
        (isa.BPF_ARSH, _w, 0): f"((({_lo} ^ S{_w}) - S{_w}) >> ({{s}} & {_bits})) & {_m}",
    })
    for _ext in ((8, 16) if _w == 32 else (8, 16, 32)):
        _sb = hex(1 << (_ext - 1))
        ALU_EXPR[(isa.BPF_MOV, _w, _ext)] = (f"((({{s}} & {hex((1 << _ext) - 1)}) ^ {_sb}) - {_sb})"
                                             f" & {_m}")
ALU_EXPR = {k: _t(v) for k, v in ALU_EXPR.items()}

# Conditions over u64 operands {a} (dst) and {b} (src or imm64(imm)). Keyed (op, width).
COND_EXPR: dict[tuple[int, int], str] = {}
for _w in (64, 32):
    _a = "{a}" if _w == 64 else "({a} & M32)"
    _b = "{b}" if _w == 64 else "({b} & M32)"
    _sa, _sb2 = f"({_a} ^ S{_w})", f"({_b} ^ S{_w})"
    COND_EXPR.update({
        (isa.BPF_JEQ, _w): f"{_a} == {_b}",
        (isa.BPF_JNE, _w): f"{_a} != {_b}",
        (isa.BPF_JGT, _w): f"{_a} > {_b}",
        (isa.BPF_JGE, _w): f"{_a} >= {_b}",
        (isa.BPF_JLT, _w): f"{_a} < {_b}",
        (isa.BPF_JLE, _w): f"{_a} <= {_b}",
        (isa.BPF_JSET, _w): f"({{a}} & {{b}}{' & M32' if _w == 32 else ''}) != 0",
        (isa.BPF_JSGT, _w): f"{_sa} > {_sb2}",
        (isa.BPF_JSGE, _w): f"{_sa} >= {_sb2}",
        (isa.BPF_JSLT, _w): f"{_sa} < {_sb2}",
        (isa.BPF_JSLE, _w): f"{_sa} <= {_sb2}",
    })
COND_EXPR = {k: _t(v) for k, v in COND_EXPR.items()}

# Byte swaps of {d}, keyed (kind, width); the host byte order of eBPF here is little-endian.
SWAP_EXPR: dict[tuple[str, int], str] = {}
for _w in (16, 32, 64):
    _swap = f"int.from_bytes(({{d}} & {hex((1 << _w) - 1)}).to_bytes({_w // 8}, 'little'), 'big')"
    SWAP_EXPR[("le", _w)] = f"{{d}} & {hex((1 << _w) - 1)}"
    SWAP_EXPR[("be", _w)] = _swap
    SWAP_EXPR[("bswap", _w)] = _swap


def _sdiv(a: int, b: int, bits: int) -> int:
    a, b = sign_extend(a, bits), sign_extend(b, bits)
    if b == 0:
        return 0
    q = abs(a) // abs(b)
    return (-q if (a < 0) != (b < 0) else q) & ((1 << bits) - 1)


def _smod(a: int, b: int, bits: int) -> int:
    a, b = sign_extend(a, bits), sign_extend(b, bits)
    if b == 0:
        return a & ((1 << bits) - 1)
    r = abs(a) % abs(b)
    return (-r if a < 0 else r) & ((1 << bits) - 1)


def _sdiv64(a, b): return _sdiv(a, b, 64)  # noqa: E704
def _sdiv32(a, b): return _sdiv(a, b, 32)  # noqa: E704
def _smod64(a, b): return _smod(a, b, 64)  # noqa: E704
def _smod32(a, b): return _smod(a, b, 32)  # noqa: E704


_NAMESPACE = {"_sdiv64": _sdiv64, "_sdiv32": _sdiv32, "_smod64": _smod64, "_smod32": _smod32}
_ALU_FN = {k: eval(f"lambda d, s: {v.format(d='d', s='s')}", dict(_NAMESPACE))
           for k, v in ALU_EXPR.items()}
_COND_FN = {k: eval(f"lambda a, b: {v.format(a='a', b='b')}", {}) for k, v in COND_EXPR.items()}
_SWAP_FN = {k: eval(f"lambda d: {v.format(d='d')}", {}) for k, v in SWAP_EXPR.items()}


def alu(op_code: int, is64: bool, dst: int, src: int, off: int = 0) -> int:
    """Result of the ALU operation `op_code` (BPF_ADD ... BPF_ARSH, or any opcode byte: only its
    operation bits `& 0xf0` count) on `dst` and `src`, as the new dst register value.

    `src` is the source register value, or for BPF_K forms the immediate sign-extended to 64 bits
    (`isa.imm64(imm)`). `off` selects sdiv/smod (1) and movsx (8/16/32). 32-bit results are
    zero-extended; shift counts are masked; division by zero gives 0, modulo by zero leaves dst
    (its low 32 bits for 32-bit ops); INT_MIN / -1 = INT_MIN and INT_MIN % -1 = 0. BPF_END is
    `byteswap()`. Raises ValueError for an undefined (op, off) combination."""
    fn = _ALU_FN.get((op_code & 0xf0, 64 if is64 else 32, off))
    if fn is None:
        raise ValueError(f"no ALU operation {op_code & 0xf0:#x} with off={off} "
                         f"({'64' if is64 else '32'}-bit)")
    return fn(dst & MASK64, src & MASK64)


def byteswap(opcode_or_kind: int | str, width: int, value: int) -> int:
    """Byte-swap result for 'le', 'be' (BPF_ALU | BPF_END) or 'bswap' (BPF_ALU64 | BPF_END), or the
    corresponding opcode byte (0xd4, 0xdc, 0xd7); `width` 16, 32 or 64. The result is zero-extended
    from `width` bits (on a little-endian eBPF machine `le` only truncates)."""
    kind = opcode_or_kind
    if isinstance(kind, int):
        kind = {0xd4: "le", 0xdc: "be", 0xd7: "bswap"}.get(kind, kind)
    fn = _SWAP_FN.get((kind, width))
    if fn is None:
        raise ValueError(f"no byte swap {opcode_or_kind!r} of width {width}")
    return fn(value & MASK64)


def cond_taken(jmp_op: int, is32: bool, a: int, b: int) -> bool:
    """Whether the conditional jump `jmp_op` (BPF_JEQ ... BPF_JSLE, or any opcode byte: only
    `& 0xf0` counts) is taken for dst value `a` and source `b` (register value, or the immediate
    sign-extended to 64 bits). JMP32 (`is32`) compares the low 32 bits."""
    fn = _COND_FN.get((jmp_op & 0xf0, 32 if is32 else 64))
    if fn is None:
        raise ValueError(f"{jmp_op & 0xf0:#x} is not a conditional jump")
    return fn(a & MASK64, b & MASK64)


def atomic_rmw(op: int, width: int, old: int, src: int,
               r0: int = 0) -> tuple[int | None, int | None]:
    """An atomic operation (`imm` of BPF_STX | BPF_ATOMIC) on the memory value `old`, `width` 32 or
    64 bits. Returns (value to store or None, value for the register or None): non-fetching ops
    write no register; fetch ops and xchg return `old` for the src register; cmpxchg returns `old`
    for r0 and stores `src` only if `old` equals r0 (low `width` bits)."""
    mask = (1 << width) - 1
    old &= mask
    base = op & ~isa.BPF_FETCH
    if op == isa.BPF_XCHG:
        return src & mask, old
    if op == isa.BPF_CMPXCHG:
        return (src & mask if old == r0 & mask else None), old
    if op not in isa.ATOMIC_OPS:
        raise ValueError(f"unknown atomic operation {op:#x}")
    new = {isa.BPF_ADD: old + src, isa.BPF_OR: old | src, isa.BPF_AND: old & src,
           isa.BPF_XOR: old ^ src}[base] & mask
    return new, (old if op & isa.BPF_FETCH else None)


# ---- memory --------------------------------------------------------------------------------------
_UNPACK = {1: struct.Struct("<B").unpack_from, 2: struct.Struct("<H").unpack_from,
           4: struct.Struct("<I").unpack_from, 8: struct.Struct("<Q").unpack_from}
_PACK = {1: struct.Struct("<B").pack_into, 2: struct.Struct("<H").pack_into,
         4: struct.Struct("<I").pack_into, 8: struct.Struct("<Q").pack_into}


class Region:
    """A byte buffer mapped at `base`; offsets [lo, hi) are accessible. `u32_only` regions accept
    only aligned 4-byte loads (the XDP context)."""
    __slots__ = ("name", "base", "buf", "lo", "hi", "writable", "u32_only")

    def __init__(self, name: str, base: int, buf: bytearray, lo: int, hi: int, *,
                 writable: bool = True, u32_only: bool = False):
        self.name, self.base, self.buf = name, base, buf
        self.lo, self.hi, self.writable, self.u32_only = lo, hi, writable, u32_only

    def __repr__(self) -> str:
        return f"Region({self.name}, [{self.base + self.lo:#x}, {self.base + self.hi:#x}))"


class Memory:
    """The address space of one run: regions, each in its own 256 MiB page (address >> 28), plus
    the call-frame stack. All accesses are bounds-checked; violations raise MemoryFault naming the
    pc, address, size and direction."""

    def __init__(self) -> None:
        self._pages: dict[int, Region] = {}
        self.depth = 1      # live call frames
        self.env = None     # what helpers need beyond memory (maps, time, events): jit/ebpf/runtime.py

    def add(self, region: Region) -> Region:
        page = region.base >> PAGE_SHIFT
        if page in self._pages or (region.base + max(len(region.buf), 1) - 1) >> PAGE_SHIFT != page:
            raise ValueError(f"{region!r} overlaps another region or a page boundary")
        self._pages[page] = region
        return region

    def region(self, name: str) -> Region:
        for region in self._pages.values():
            if region.name == name:
                return region
        raise KeyError(name)

    @property
    def regions(self) -> list[Region]:
        return list(self._pages.values())

    def _fault(self, addr: int, size: int, access: str, pc: int | None) -> MemoryFault:
        region = self._pages.get(addr >> PAGE_SHIFT)
        if region is None:
            detail = "no memory mapped there"
        elif access != "read" and not region.writable:
            detail = f"{region.name} is read-only"
        elif region.u32_only and region.lo <= addr - region.base < region.hi:
            detail = f"{region.name} allows only aligned 4-byte loads"
        else:
            detail = (f"outside {region.name} [{region.base + region.lo:#x}, "
                      f"{region.base + region.hi:#x})")
        return MemoryFault(pc, addr, size, access, detail)

    def load(self, addr: int, size: int, pc: int | None = None) -> int:
        """The unsigned little-endian value of `size` bytes at `addr`."""
        r = self._pages.get(addr >> PAGE_SHIFT)
        if r is not None:
            off = addr - r.base
            if r.lo <= off and off + size <= r.hi and (
                    not r.u32_only or (size == 4 and not off & 3)):
                return _UNPACK[size](r.buf, off)[0]
        raise self._fault(addr, size, "read", pc)

    def store(self, addr: int, size: int, value: int, pc: int | None = None) -> None:
        """Store the low `size` bytes of `value` (already masked to size) at `addr`."""
        r = self._pages.get(addr >> PAGE_SHIFT)
        if r is not None and r.writable:
            off = addr - r.base
            if r.lo <= off and off + size <= r.hi:
                _PACK[size](r.buf, off, value)
                return
        raise self._fault(addr, size, "write", pc)

    def atomic(self, addr: int, size: int, op: int, src: int, r0: int = 0,
               pc: int | None = None) -> int | None:
        """Atomic `op` on `size` bytes at `addr` (see `atomic_rmw`); returns the register result.
        The access needs write permission even when nothing is stored, so faults are writes."""
        r = self._pages.get(addr >> PAGE_SHIFT)
        off = addr - r.base if r is not None else 0
        if r is None or not r.writable or not (r.lo <= off and off + size <= r.hi):
            raise self._fault(addr, size, "write", pc)
        new, result = atomic_rmw(op, size * 8, _UNPACK[size](r.buf, off)[0], src, r0)
        if new is not None:
            _PACK[size](r.buf, off, new)
        return result

    def read(self, addr: int, n: int, pc: int | None = None) -> bytes:
        """`n` bytes at `addr` (for helpers), bounds-checked as one access."""
        r = self._pages.get(addr >> PAGE_SHIFT)
        if r is not None and not r.u32_only:
            off = addr - r.base
            if r.lo <= off and off + n <= r.hi:
                return bytes(r.buf[off:off + n])
        raise self._fault(addr, n, "read", pc)

    def write(self, addr: int, data: bytes, pc: int | None = None) -> None:
        """Write `data` at `addr` (for helpers), bounds-checked as one access."""
        r = self._pages.get(addr >> PAGE_SHIFT)
        if r is not None and r.writable:
            off = addr - r.base
            if r.lo <= off and off + len(data) <= r.hi:
                r.buf[off:off + len(data)] = data
                return
        raise self._fault(addr, len(data), "write", pc)

    # call frames: frame k occupies stack bytes [k * STACK_SIZE, (k + 1) * STACK_SIZE); only live
    # frames are accessible, so a callee's frame disappears when it returns.
    def add_stack(self) -> Region:
        return self.add(Region("stack", STACK_BASE, bytearray(STACK_SIZE * MAX_CALL_DEPTH), 0,
                               STACK_SIZE))

    def enter_frame(self, pc: int | None = None) -> None:
        if self.depth >= MAX_CALL_DEPTH:
            raise CallDepthExceeded(pc, f"local call nesting exceeds {MAX_CALL_DEPTH} frames")
        stack = self._pages[STACK_BASE >> PAGE_SHIFT]
        lo = self.depth * STACK_SIZE
        stack.buf[lo:lo + STACK_SIZE] = bytes(STACK_SIZE)
        self.depth += 1
        stack.hi = self.depth * STACK_SIZE

    def leave_frame(self) -> None:
        self.depth -= 1
        self._pages[STACK_BASE >> PAGE_SHIFT].hi = self.depth * STACK_SIZE


_CTX = struct.Struct("<6I")


def xdp_memory(packet: bytes, *, ingress_ifindex: int = 1, rx_queue_index: int = 0) -> Memory:
    """Memory for one XDP run: read-only `xdp_md` context, the packet after HEADROOM bytes of
    (inaccessible) headroom, and the stack (see jit/ebpf/memmap.py)."""
    n = len(packet)
    if n > PKT_MAX:
        raise InterpError(None, f"packet of {n} bytes exceeds PKT_MAX={PKT_MAX}")
    data = PKT_BASE + HEADROOM
    ctx = bytearray(_CTX.pack(data, data + n, data, ingress_ifindex & MASK32,
                              rx_queue_index & MASK32, 0))
    buf = bytearray(HEADROOM + PKT_MAX)
    buf[HEADROOM:HEADROOM + n] = packet
    mem = Memory()
    # the fixed regions of jit/ebpf/memmap.py, each in its own page (what Memory.add checks)
    mem._pages = {
        CTX_BASE >> PAGE_SHIFT: Region("context", CTX_BASE, ctx, 0, CTX_SIZE, writable=False,
                                       u32_only=True),
        PKT_BASE >> PAGE_SHIFT: Region("packet", PKT_BASE, buf, HEADROOM, HEADROOM + n),
        STACK_BASE >> PAGE_SHIFT: Region("stack", STACK_BASE,
                                         bytearray(STACK_SIZE * MAX_CALL_DEPTH), 0, STACK_SIZE),
    }
    return mem


def packet_bytes(mem: Memory) -> bytes:
    """The packet between data and data_end."""
    pkt = mem._pages[PKT_BASE >> PAGE_SHIFT]
    return bytes(pkt.buf[pkt.lo:pkt.hi])


# ---- helpers -------------------------------------------------------------------------------------
Helper = Callable[..., int]   # helper(mem, pc, r1, r2, r3, r4, r5) -> r0
HELPERS: dict[int, Helper] = {}
"""Helper functions by id. None are modelled yet (map helpers arrive with maps); calling an id that
is not here raises UnsupportedInsn. `run_xdp`/`run_raw` take a `helpers=` table to override."""


def _call_helper(helpers: Mapping[int, Helper], helper_id: int, pc: int, mem: Memory,
                 r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    fn = helpers.get(helper_id)
    if fn is None:
        raise UnsupportedInsn(pc, f"call to {helper_name(helper_id)}, which the interpreter does "
                                  "not model" + ("" if helpers else " without maps and helpers "
                                                 "(run it through jit.ebpf.runtime)"))
    return fn(mem, pc, r1, r2, r3, r4, r5) & MASK64


# ---- translation ---------------------------------------------------------------------------------
_REGS = ", ".join(f"r{i}" for i in range(isa.N_REGS))


def _budget_error(pc: int, budget: int) -> BudgetExceeded:
    return BudgetExceeded(pc, f"instruction budget of {budget} exhausted")


class _Translator:
    """Generates the Python source of one program. In block mode each basic block is one
    straight-line piece of code charged to the budget on entry; in step mode every instruction is
    its own block, so the budget is checked per instruction."""

    def __init__(self, insns: Sequence[Insn]):
        self.insns = list(insns)
        self.pcs = isa.slot_pcs(self.insns)
        self.at = dict(zip(self.pcs, self.insns))
        self.n_slots = self.pcs[-1] + self.insns[-1].slots if self.insns else 0
        self.errors: list[Callable[[], Exception]] = []

    # ---- small pieces ----
    def _raise(self, exc: Callable[[], Exception]) -> str:
        self.errors.append(exc)
        return f"raise _E[{len(self.errors) - 1}]()"

    def _jump(self, pc: int, target: int, fallthrough: bool = False) -> str:
        if target in self.at:
            return f"pc = {target}"
        what = ("past the last instruction" if fallthrough and target == self.n_slots
                else f"to pc {target}, " + ("inside an lddw" if 0 <= target < self.n_slots
                                            else "outside the program"))
        return self._raise(functools.partial(InvalidJump, pc, f"control flow goes {what}"))

    def _unsupported(self, pc: int, message: str) -> list[str]:
        return [self._raise(functools.partial(UnsupportedInsn, pc, message))]

    @staticmethod
    def _addr(reg: int, off: int) -> str:
        return f"r{reg}" if off == 0 else f"(r{reg} + {off}) & {MASK64:#x}"

    # ---- one instruction: body lines, and whether it ends its block ----
    def body(self, pc: int, insn: Insn) -> tuple[list[str], bool]:
        spec = isa.spec_of(insn)
        why = isa.validate(insn)
        if why is not None:
            return self._unsupported(pc, why), True
        kind, d, s = spec.kind, insn.dst, insn.src
        if kind == isa.ALU:
            if spec.op == isa.BPF_NEG:
                src = "0"
            elif insn.opcode & isa.BPF_X:
                src = f"r{s}"
            else:
                src = str(isa.imm64(insn.imm))
            off = insn.off if spec.op in (isa.BPF_DIV, isa.BPF_MOD, isa.BPF_MOV) else 0
            expr = ALU_EXPR[(spec.op, spec.width, off)].format(d=f"r{d}", s=src)
            return [f"r{d} = {expr}"], False
        if kind == isa.END:
            key = ("bswap" if spec.op == isa.BPF_ALU64 else "be" if spec.op == isa.BPF_TO_BE
                   else "le", spec.width)
            return [f"r{d} = {SWAP_EXPR[key].format(d=f'r{d}')}"], False
        if kind == isa.LDDW:
            if spec.op in (isa.BPF_PSEUDO_MAP_FD, isa.BPF_PSEUDO_MAP_IDX):
                return [f"r{d} = {map_handle(insn.imm & MASK32):#x}"], False
            if spec.op in (isa.BPF_PSEUDO_MAP_VALUE, isa.BPF_PSEUDO_MAP_IDX_VALUE):
                value = (map_base(insn.imm & MASK32) + (insn.imm >> 32)) & MASK64
                return [f"r{d} = {value:#x}"], False
            if spec.op != 0:
                return self._unsupported(pc, f"{spec.name} (src={spec.op}): BTF variable and "
                                             "code address loads are not modelled"), True
            return [f"r{d} = {insn.imm}"], False
        if kind == isa.LDX:
            return [f"r{d} = ld({self._addr(s, insn.off)}, {spec.size}, {pc})"], False
        if kind == isa.LDXSX:
            sb = 1 << (spec.width - 1)
            load = f"ld({self._addr(s, insn.off)}, {spec.size}, {pc})"
            return [f"r{d} = (({load} ^ {sb:#x}) - {sb:#x}) & {MASK64:#x}"], False
        if kind == isa.ST:
            value = isa.imm64(insn.imm) & ((1 << spec.width) - 1)
            return [f"st({self._addr(d, insn.off)}, {spec.size}, {value:#x}, {pc})"], False
        if kind == isa.STX:
            value = f"r{s}" if spec.width == 64 else f"r{s} & {(1 << spec.width) - 1:#x}"
            return [f"st({self._addr(d, insn.off)}, {spec.size}, {value}, {pc})"], False
        if kind == isa.ATOMIC:
            call = f"at({self._addr(d, insn.off)}, {spec.size}, {spec.op:#x}, r{s}, r0, {pc})"
            if spec.op == isa.BPF_CMPXCHG:
                return [f"r0 = {call}"], False
            if spec.op & isa.BPF_FETCH:
                return [f"r{s} = {call}"], False
            return [call], False
        if kind == isa.CALL:
            if spec.op == 0:
                return [f"r0 = _call(H, {insn.imm}, {pc}, M, r1, r2, r3, r4, r5)"], False
            if spec.op == isa.BPF_PSEUDO_KFUNC_CALL:
                return self._unsupported(pc, f"call to kernel function (BTF id {insn.imm})"), True
            return [], True     # local call: a terminator
        if kind == isa.CALLX:
            return [f"r0 = _call(H, r{isa.callx_reg(insn)}, {pc}, M, r1, r2, r3, r4, r5)"], False
        if kind in (isa.LDABS, isa.LDIND):
            return self._unsupported(pc, "legacy packet access (LD_ABS/LD_IND) is not part of "
                                         "XDP"), True
        return [], True        # JA, JCOND, EXIT: terminators

    def terminator(self, pc: int, insn: Insn) -> list[str]:
        """Lines ending a block whose last instruction is `insn` at `pc`."""
        spec = isa.spec_of(insn)
        nxt = pc + insn.slots
        if spec is None or isa.validate(insn) is not None:
            return []           # the body already raises
        kind = spec.kind
        if kind == isa.JA:
            return [self._jump(pc, isa.jump_target(insn, pc))]
        if kind == isa.JCOND:
            b = f"r{insn.src}" if insn.opcode & isa.BPF_X else str(isa.imm64(insn.imm))
            cond = COND_EXPR[(spec.op, spec.width)].format(a=f"r{insn.dst}", b=b)
            return [f"if {cond}:", f"    {self._jump(pc, isa.jump_target(insn, pc))}", "else:",
                    f"    {self._jump(pc, nxt, fallthrough=True)}"]
        if kind == isa.EXIT:
            return ["if cs:",
                    "    pc, r6, r7, r8, r9 = cs.pop()",
                    f"    r10 -= {STACK_SIZE}",
                    "    M.leave_frame()",
                    "else:",
                    f"    return (-1, count, {_REGS}, cs)"]
        if kind == isa.CALL and spec.op == isa.BPF_PSEUDO_CALL:
            target = isa.jump_target(insn, pc)
            if target not in self.at:
                return [self._jump(pc, target)]
            if nxt not in self.at:
                return [self._jump(pc, nxt, fallthrough=True)]
            return [f"M.enter_frame({pc})",
                    f"cs.append(({nxt}, r6, r7, r8, r9))",
                    f"r10 += {STACK_SIZE}",
                    f"pc = {target}"]
        return []               # body raised

    def leaders(self, step: bool) -> list[int]:
        if step:
            return list(self.pcs)
        lead = {0} if self.insns else set()
        for pc, insn in zip(self.pcs, self.insns):
            _, ends = self.body(pc, insn)
            if ends:
                lead.add(pc + insn.slots)
                target = isa.jump_target(insn, pc)
                if target is not None:
                    lead.add(target)
        self.errors.clear()
        return sorted(p for p in lead if p in self.at)

    def source(self, step: bool) -> str:
        leaders = self.leaders(step)
        blocks: dict[int, list[str]] = {}
        for i, start in enumerate(leaders):
            end = leaders[i + 1] if i + 1 < len(leaders) else self.n_slots
            pcs = [p for p in self.pcs if start <= p < end]
            lines = [f"count += {len(pcs)}", "if count > budget:"]
            lines.append(f"    raise _budget_error({start}, budget)" if step else
                         f"    return ({start}, count - {len(pcs)}, {_REGS}, cs)")
            ended = False
            for p in pcs:
                body, ends = self.body(p, self.at[p])
                lines += body
                if ends:
                    lines += self.terminator(p, self.at[p])
                    ended = True
                    break
            if not ended:
                last = pcs[-1]
                lines.append(self._jump(last, last + self.at[last].slots, fallthrough=True))
            blocks[start] = lines
        out = ["def run(M, H, S, budget):",
               f"    pc, count, {_REGS}, cs = S",
               "    ld = M.load; st = M.store; at = M.atomic",
               "    while True:"]

        def tree(lo: int, hi: int, indent: str) -> None:
            if hi - lo == 1:
                out.extend(indent + line for line in blocks[leaders[lo]])
                return
            mid = (lo + hi) // 2
            out.append(f"{indent}if pc < {leaders[mid]}:")
            tree(lo, mid, indent + "    ")
            out.append(f"{indent}else:")
            tree(mid, hi, indent + "    ")

        if leaders:
            tree(0, len(leaders), "        ")
        else:
            out.append("        " + self._raise(functools.partial(
                InvalidJump, 0, "control flow goes past the last instruction (empty program)")))
        return "\n".join(out) + "\n"


class CompiledProgram:
    """A program translated to Python, ready to run many times. Build with `compile_program()`."""

    def __init__(self, insns: Sequence[Insn]):
        self.insns = tuple(insns)
        self._fast = self._build(step=False)
        self._step: Callable | None = None

    def _build(self, step: bool) -> Callable:
        tr = _Translator(self.insns)
        src = tr.source(step)
        namespace = dict(_NAMESPACE, _E=tuple(tr.errors), _call=_call_helper,
                         _budget_error=_budget_error)
        exec(compile(src, f"<ebpf {'step' if step else 'block'} program>", "exec"), namespace)
        return namespace["run"]

    def source(self, step: bool = False) -> str:
        """The generated Python (for debugging)."""
        return _Translator(self.insns).source(step)

    def execute(self, mem: Memory, regs: Sequence[int], *, budget: int = DEFAULT_BUDGET,
                helpers: Mapping[int, Helper] | None = None, step: bool = False) -> tuple[int, int]:
        """Run from pc 0 with registers `regs` (r0..r10) on `mem`. Returns (r0, instructions
        executed). `step=True` runs the per-instruction translation (same results, slower)."""
        helpers = HELPERS if helpers is None else helpers
        state = (0, 0, *[r & MASK64 for r in regs], [])
        if not step:
            state = self._fast(mem, helpers, state, budget)
            if state[0] == -1:
                return state[2], state[1]
        if self._step is None:
            self._step = self._build(step=True)
        state = self._step(mem, helpers, state, budget)
        return state[2], state[1]


_CACHE_BY_ID: dict[int, tuple[tuple, CompiledProgram]] = {}
_CACHE: dict[tuple, CompiledProgram] = {}
_CACHE_MAX = 64


def compile_program(insns: Sequence[Insn] | CompiledProgram) -> CompiledProgram:
    """The translated program, cached per instruction sequence."""
    if isinstance(insns, CompiledProgram):
        return insns
    key = tuple(insns)
    hit = _CACHE_BY_ID.get(id(insns))
    if hit is not None and hit[0] == key:   # identical elements compare by identity: fast
        return hit[1]
    prog = _CACHE.get(key)
    if prog is None:
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.pop(next(iter(_CACHE)))
        prog = _CACHE[key] = CompiledProgram(key)
    if len(_CACHE_BY_ID) >= _CACHE_MAX:
        _CACHE_BY_ID.pop(next(iter(_CACHE_BY_ID)))
    _CACHE_BY_ID[id(insns)] = (key, prog)
    return prog


# ---- entry points --------------------------------------------------------------------------------
@dataclass(frozen=True)
class XdpResult:
    action: int     # r0 truncated to 32 bits
    packet: bytes   # bytes between data and data_end after the run
    insns: int      # instructions executed


def run_xdp(insns: Sequence[Insn] | CompiledProgram, packet: bytes, *, ingress_ifindex: int = 1,
            rx_queue_index: int = 0, budget: int = DEFAULT_BUDGET,
            helpers: Mapping[int, Helper] | None = None) -> XdpResult:
    """Run an XDP program on one packet: r1 = &xdp_md, r10 = stack top, packet after 256 bytes of
    headroom (jit/ebpf/memmap.py)."""
    prog = compile_program(insns)
    mem = xdp_memory(packet, ingress_ifindex=ingress_ifindex, rx_queue_index=rx_queue_index)
    regs = [0] * isa.N_REGS
    regs[1], regs[10] = CTX_BASE, STACK_BASE + STACK_SIZE
    r0, count = prog.execute(mem, regs, budget=budget, helpers=helpers)
    return XdpResult(r0 & MASK32, packet_bytes(mem), count)


def raw_memory(mem: bytes) -> Memory:
    """Memory for run_raw: a writable copy of `mem` at RAW_BASE, and the stack."""
    memory = Memory()
    memory.add(Region("input", RAW_BASE, bytearray(mem), 0, len(mem)))
    memory.add_stack()
    return memory


def run_raw(insns: Sequence[Insn] | CompiledProgram, mem: bytes = b"", *,
            budget: int = DEFAULT_BUDGET, helpers: Mapping[int, Helper] | None = None) -> int:
    """Run with the conformance suite's convention (r1 = pointer to a copy of `mem`, r2 =
    len(mem), r10 = stack top); returns r0 as an unsigned 64-bit value."""
    prog = compile_program(insns)
    regs = [0] * isa.N_REGS
    regs[1], regs[2], regs[10] = RAW_BASE, len(mem), STACK_BASE + STACK_SIZE
    r0, _ = prog.execute(raw_memory(mem), regs, budget=budget, helpers=helpers)
    return r0
