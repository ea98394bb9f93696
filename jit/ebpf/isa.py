"""The eBPF instruction set (RFC 9669): the one opcode table, decode/encode, validation and an
`llvm-objdump -d` style disassembler.

Every instruction is a frozen `Insn(opcode, dst, src, off, imm)`. `off` is a signed 16-bit value;
`imm` is a signed 32-bit value, except for LD_IMM64 (`lddw`), which is ONE `Insn` occupying two
8-byte slots whose `imm` holds the full 64-bit constant, unsigned (low word from the first slot,
high word from the second). Program counters ("pc") count 8-byte slots, the unit of jump offsets and
of the numbers `llvm-objdump` prints; `slot_pcs()` maps list positions to pcs.

`SPECS` is the opcode table. Each `OpSpec` is composed from named fields (`CLASS | SRC | OP`, plus,
where the opcode alone is ambiguous, the value of one selector field: `off` for sdiv/smod/movsx,
`imm` for byte swaps and atomics, `src` for LD_IMM64 pseudo forms and calls). `spec_of(insn)` finds
the entry; the decoder's strict mode, `validate()`, `disasm_insn()`, the assembler (`jit.ebpf.asm`) and
the interpreter's dispatch (`jit.ebpf.interp`) all work from it.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Mapping, Sequence

from jit import JitnicError


class IsaError(JitnicError):
    """Malformed or invalid eBPF bytecode (the message names the pc)."""


# ---- named fields -------------------------------------------------------------------------------
# instruction classes (opcode & 0x07)
BPF_LD = 0x00
BPF_LDX = 0x01
BPF_ST = 0x02
BPF_STX = 0x03
BPF_ALU = 0x04
BPF_JMP = 0x05
BPF_JMP32 = 0x06
BPF_ALU64 = 0x07

# source operand (opcode & 0x08) for ALU and JMP classes
BPF_K = 0x00        # use the 32-bit immediate
BPF_X = 0x08        # use the source register
# byte-swap direction, same bit as the source operand
BPF_TO_LE = 0x00
BPF_TO_BE = 0x08

# ALU operations (opcode & 0xf0)
BPF_ADD = 0x00
BPF_SUB = 0x10
BPF_MUL = 0x20
BPF_DIV = 0x30      # off=1: BPF_SDIV
BPF_OR = 0x40
BPF_AND = 0x50
BPF_LSH = 0x60
BPF_RSH = 0x70
BPF_NEG = 0x80
BPF_MOD = 0x90      # off=1: BPF_SMOD
BPF_XOR = 0xa0
BPF_MOV = 0xb0      # off=8/16/32: BPF_MOVSX
BPF_ARSH = 0xc0
BPF_END = 0xd0

# JMP operations (opcode & 0xf0)
BPF_JA = 0x00
BPF_JEQ = 0x10
BPF_JGT = 0x20
BPF_JGE = 0x30
BPF_JSET = 0x40
BPF_JNE = 0x50
BPF_JSGT = 0x60
BPF_JSGE = 0x70
BPF_CALL = 0x80
BPF_EXIT = 0x90
BPF_JLT = 0xa0
BPF_JLE = 0xb0
BPF_JSLT = 0xc0
BPF_JSLE = 0xd0

# load/store sizes (opcode & 0x18) and modes (opcode & 0xe0)
BPF_W = 0x00
BPF_H = 0x08
BPF_B = 0x10
BPF_DW = 0x18
BPF_IMM = 0x00
BPF_ABS = 0x20
BPF_IND = 0x40
BPF_MEM = 0x60
BPF_MEMSX = 0x80
BPF_ATOMIC = 0xc0

SIZE_BYTES = {BPF_B: 1, BPF_H: 2, BPF_W: 4, BPF_DW: 8}
SIZE_CODE = {v: k for k, v in SIZE_BYTES.items()}
SIZE_SUFFIX = {1: "b", 2: "h", 4: "w", 8: "dw"}

# atomic operations (imm of BPF_STX | BPF_ATOMIC)
BPF_FETCH = 0x01
BPF_XCHG = 0xe0 | BPF_FETCH
BPF_CMPXCHG = 0xf0 | BPF_FETCH

# LD_IMM64 src values (RFC 9669 section 5.4)
BPF_PSEUDO_MAP_FD = 1       # dst = map_by_fd(imm)
BPF_PSEUDO_MAP_VALUE = 2    # dst = map_val(map_by_fd(imm)) + next_imm
BPF_PSEUDO_BTF_ID = 3       # dst = var_addr(imm)
BPF_PSEUDO_FUNC = 4         # dst = code_addr(imm)
BPF_PSEUDO_MAP_IDX = 5      # dst = map_by_idx(imm)
BPF_PSEUDO_MAP_IDX_VALUE = 6  # dst = map_val(map_by_idx(imm)) + next_imm
# CALL src values
BPF_PSEUDO_CALL = 1         # program-local function, imm = pc-relative offset
BPF_PSEUDO_KFUNC_CALL = 2   # helper identified by BTF id

LD_IMM64 = BPF_LD | BPF_IMM | BPF_DW   # 0x18
N_REGS = 11                 # r0..r10; r10 is the read-only frame pointer
FP = 10

# ---- integer helpers -----------------------------------------------------------------------------
MASK32 = 0xFFFF_FFFF
MASK64 = 0xFFFF_FFFF_FFFF_FFFF


def mask32(value: int) -> int:
    """`value` reduced to an unsigned 32-bit integer."""
    return value & MASK32


def mask64(value: int) -> int:
    """`value` reduced to an unsigned 64-bit integer."""
    return value & MASK64


def sign_extend(value: int, bits: int) -> int:
    """The low `bits` bits of `value` read as a two's-complement signed integer."""
    sign = 1 << (bits - 1)
    value &= (1 << bits) - 1
    return (value ^ sign) - sign


def imm64(imm: int) -> int:
    """A 32-bit immediate as a 64-bit operand, `(u64)(s64)(s32)imm` (ALU64 and JMP)."""
    return sign_extend(imm, 32) & MASK64


# ---- the instruction -----------------------------------------------------------------------------
_SLOT = struct.Struct("<BBhi")     # opcode, dst:4|src:4 (dst in the low nibble), off, imm


@dataclass(frozen=True)
class Insn:
    """One eBPF instruction. Fields are normalised on construction: `off` to a signed 16-bit and
    `imm` to a signed 32-bit integer (unsigned 64-bit for LD_IMM64); out-of-range values raise
    IsaError."""
    opcode: int
    dst: int = 0
    src: int = 0
    off: int = 0
    imm: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.opcode <= 0xff:
            raise IsaError(f"opcode {self.opcode:#x} does not fit in 8 bits")
        if not (0 <= self.dst <= 15 and 0 <= self.src <= 15):
            raise IsaError(f"register numbers must be 0..15 (dst={self.dst}, src={self.src})")
        if not -0x8000 <= self.off <= 0xffff:
            raise IsaError(f"offset {self.off} does not fit in 16 bits")
        if self.off > 0x7fff:
            object.__setattr__(self, "off", self.off - 0x10000)
        if self.opcode == LD_IMM64:
            if not -(1 << 63) <= self.imm < (1 << 64):
                raise IsaError(f"lddw immediate {self.imm} does not fit in 64 bits")
            object.__setattr__(self, "imm", self.imm & MASK64)
        else:
            if not -(1 << 31) <= self.imm < (1 << 32):
                raise IsaError(f"immediate {self.imm} does not fit in 32 bits")
            if self.imm > 0x7fff_ffff:
                object.__setattr__(self, "imm", self.imm - (1 << 32))

    @property
    def cls(self) -> int:
        return self.opcode & 0x07

    @property
    def slots(self) -> int:
        """8-byte slots the instruction occupies: 2 for LD_IMM64, else 1."""
        return 2 if self.opcode == LD_IMM64 else 1

    @property
    def spec(self) -> "OpSpec | None":
        """The opcode-table entry, or None for an unknown/invalid encoding."""
        return spec_of(self)

    def encode(self) -> bytes:
        regs = (self.src << 4) | self.dst
        if self.opcode == LD_IMM64:
            lo, hi = self.imm & MASK32, self.imm >> 32
            return (_SLOT.pack(self.opcode, regs, self.off, sign_extend(lo, 32))
                    + _SLOT.pack(0, 0, 0, sign_extend(hi, 32)))
        return _SLOT.pack(self.opcode, regs, self.off, self.imm)

    def __str__(self) -> str:
        return disasm_insn(self, 0)


# ---- the opcode table ----------------------------------------------------------------------------
# Kinds of instruction; the interpreter and the disassembler dispatch on them.
ALU = "alu"          # dst = dst OP src  (ALU / ALU64, incl. neg, movsx, sdiv, smod)
END = "end"          # byte swap
JA = "ja"            # goto off (JMP) / gotol imm (JMP32)
JCOND = "jcond"      # conditional jump
CALL = "call"        # helper (src 0), local function (src 1), helper by BTF id (src 2)
CALLX = "callx"      # call through a register
EXIT = "exit"
LDDW = "lddw"        # 64-bit immediate load and its pseudo forms (src 1..6)
LDX = "ldx"          # dst = *(size *)(src + off)
LDXSX = "ldxsx"      # sign-extending load
ST = "st"            # *(size *)(dst + off) = imm
STX = "stx"          # *(size *)(dst + off) = src
ATOMIC = "atomic"    # atomic read-modify-write on *(size *)(dst + off)
LDABS = "ldabs"      # legacy packet access, r0 = *(size *)skb[imm]
LDIND = "ldind"      # legacy packet access, r0 = *(size *)skb[src + imm]


@dataclass(frozen=True)
class OpSpec:
    """One opcode-table entry.

    `opcode` is the composed opcode byte; when several entries share it, `select` names the field
    whose value (`value`) tells them apart. `zero` lists the fields the encoding reserves (must be
    0). `op` is the operation field (ALU op, JMP op, atomic imm, byte-swap direction), `width` the
    operand width in bits (ALU/JMP: 32 or 64; memory: access size; END: swap width). `form` is the
    `llvm-objdump` text template, `doc` the meaning.
    """
    name: str
    opcode: int
    kind: str
    op: int
    width: int
    select: str | None
    value: int | None
    zero: frozenset
    form: str
    doc: str

    @property
    def size(self) -> int:
        """Memory access size in bytes (memory kinds)."""
        return self.width // 8


ALU_OPS = {  # op: (name, llvm operator, meaning)
    BPF_ADD: ("add", "+=", "dst += src"),
    BPF_SUB: ("sub", "-=", "dst -= src"),
    BPF_MUL: ("mul", "*=", "dst *= src"),
    BPF_DIV: ("div", "/=", "dst = (src != 0) ? (dst / src) : 0, unsigned"),
    BPF_OR: ("or", "|=", "dst |= src"),
    BPF_AND: ("and", "&=", "dst &= src"),
    BPF_LSH: ("lsh", "<<=", "dst <<= (src & (width - 1))"),
    BPF_RSH: ("rsh", ">>=", "dst >>= (src & (width - 1)), logical"),
    BPF_NEG: ("neg", None, "dst = -dst"),
    BPF_MOD: ("mod", "%=", "dst = (src != 0) ? (dst % src) : dst, unsigned"),
    BPF_XOR: ("xor", "^=", "dst ^= src"),
    BPF_MOV: ("mov", "=", "dst = src"),
    BPF_ARSH: ("arsh", "s>>=", "dst >>= (src & (width - 1)), arithmetic"),
}
JMP_CONDS = {  # op: (name, llvm operator, signed)
    BPF_JEQ: ("jeq", "==", False),
    BPF_JGT: ("jgt", ">", False),
    BPF_JGE: ("jge", ">=", False),
    BPF_JSET: ("jset", "&", False),
    BPF_JNE: ("jne", "!=", False),
    BPF_JSGT: ("jsgt", "s>", True),
    BPF_JSGE: ("jsge", "s>=", True),
    BPF_JLT: ("jlt", "<", False),
    BPF_JLE: ("jle", "<=", False),
    BPF_JSLT: ("jslt", "s<", True),
    BPF_JSLE: ("jsle", "s<=", True),
}
ATOMIC_OPS = {  # imm: (name, llvm operator or function, meaning)
    BPF_ADD: ("add", "+=", "*(dst + off) += src"),
    BPF_OR: ("or", "|=", "*(dst + off) |= src"),
    BPF_AND: ("and", "&=", "*(dst + off) &= src"),
    BPF_XOR: ("xor", "^=", "*(dst + off) ^= src"),
    BPF_ADD | BPF_FETCH: ("fetch_add", "atomic_fetch_add", "src = fetch_add(*(dst + off), src)"),
    BPF_OR | BPF_FETCH: ("fetch_or", "atomic_fetch_or", "src = fetch_or(*(dst + off), src)"),
    BPF_AND | BPF_FETCH: ("fetch_and", "atomic_fetch_and", "src = fetch_and(*(dst + off), src)"),
    BPF_XOR | BPF_FETCH: ("fetch_xor", "atomic_fetch_xor", "src = fetch_xor(*(dst + off), src)"),
    BPF_XCHG: ("xchg", "xchg", "src = exchange(*(dst + off), src)"),
    BPF_CMPXCHG: ("cmpxchg", "cmpxchg",
                  "r0 = compare-and-exchange(*(dst + off), expected r0, new value src)"),
}
LDDW_FORMS = {  # src: (name, form, meaning), RFC 9669 section 5.4
    0: ("lddw", "{d} = {imm64} ll", "dst = imm64"),
    BPF_PSEUDO_MAP_FD: ("lddw_map_fd", "{d} = map_by_fd({lo}) ll", "dst = map_by_fd(imm)"),
    BPF_PSEUDO_MAP_VALUE: ("lddw_map_value", "{d} = map_val(map_by_fd({lo})) + {hi} ll",
                           "dst = map_val(map_by_fd(imm)) + next_imm"),
    BPF_PSEUDO_BTF_ID: ("lddw_var_addr", "{d} = var_addr({lo}) ll", "dst = var_addr(imm)"),
    BPF_PSEUDO_FUNC: ("lddw_code_addr", "{d} = code_addr({lo}) ll", "dst = code_addr(imm)"),
    BPF_PSEUDO_MAP_IDX: ("lddw_map_idx", "{d} = map_by_idx({lo}) ll", "dst = map_by_idx(imm)"),
    BPF_PSEUDO_MAP_IDX_VALUE: ("lddw_map_idx_value", "{d} = map_val(map_by_idx({lo})) + {hi} ll",
                               "dst = map_val(map_by_idx(imm)) + next_imm"),
}


def _build_table() -> list[OpSpec]:
    specs: list[OpSpec] = []

    def add(name, opcode, kind, op, width, form, doc, zero=(), select=None, value=None):
        specs.append(OpSpec(name, opcode, kind, op, width, select, value, frozenset(zero), form,
                            doc))

    # ALU and ALU64
    for cls, bits, sfx, r in ((BPF_ALU64, 64, "", "r"), (BPF_ALU, 32, "32", "w")):
        for op, (name, sym, doc) in ALU_OPS.items():
            if op == BPF_NEG:   # source bit must be K: operates on dst only
                add(name + sfx, cls | BPF_K | op, ALU, op, bits, f"{{{r}d}} = -{{{r}d}}",
                    f"{doc} ({bits}-bit)", zero=("src", "off", "imm"))
                continue
            for src_bit in (BPF_K, BPF_X):
                opnd, zero = (("{imm}", ("src",)) if src_bit == BPF_K else (f"{{{r}s}}", ("imm",)))
                sel = "off" if op in (BPF_DIV, BPF_MOD, BPF_MOV) else None
                zero = zero if sel else zero + ("off",)
                add(name + sfx, cls | src_bit | op, ALU, op, bits, f"{{{r}d}} {sym} {opnd}",
                    f"{doc} ({bits}-bit)", zero=zero, select=sel, value=0 if sel else None)
                if op in (BPF_DIV, BPF_MOD):
                    sname = "s" + name
                    add(sname + sfx, cls | src_bit | op, ALU, op, bits, f"{{{r}d}} s{sym} {opnd}",
                        f"signed {doc.replace(', unsigned', '')} ({bits}-bit, truncating)",
                        zero=zero, select="off", value=1)
        # MOVSX: register source only
        for ext in ((8, 16) if bits == 32 else (8, 16, 32)):
            add(f"movsx{ext}{bits}", cls | BPF_X | BPF_MOV, ALU, BPF_MOV, bits,
                f"{{{r}d}} = (s{ext}){{{r}s}}",
                f"dst = sign-extend low {ext} bits of src to {bits} bits",
                zero=("imm",), select="off", value=ext)
    # byte swaps: ALU|END (le/be, host is little-endian) and ALU64|END (unconditional bswap)
    for width in (16, 32, 64):
        add(f"le{width}", BPF_ALU | BPF_TO_LE | BPF_END, END, BPF_TO_LE, width,
            f"{{d}} = le{width} {{d}}", f"dst = htole{width}(dst): keep the low {width} bits",
            zero=("src", "off"), select="imm", value=width)
        add(f"be{width}", BPF_ALU | BPF_TO_BE | BPF_END, END, BPF_TO_BE, width,
            f"{{d}} = be{width} {{d}}", f"dst = htobe{width}(dst): swap the low {width} bits",
            zero=("src", "off"), select="imm", value=width)
        add(f"bswap{width}", BPF_ALU64 | BPF_K | BPF_END, END, BPF_ALU64, width,
            f"{{d}} = bswap{width} {{d}}", f"dst = bswap{width}(dst)",
            zero=("src", "off"), select="imm", value=width)
    # jumps
    add("ja", BPF_JMP | BPF_JA, JA, BPF_JA, 64, "goto {joff}{lbl}", "pc += off",
        zero=("dst", "src", "imm"))
    add("ja32", BPF_JMP32 | BPF_JA, JA, BPF_JA, 32, "gotol {jimm}{lbl}", "pc += imm (gotol)",
        zero=("dst", "src", "off"))
    for cls, bits, sfx, r in ((BPF_JMP, 64, "", "r"), (BPF_JMP32, 32, "32", "w")):
        for op, (name, sym, signed) in JMP_CONDS.items():
            kind = "signed" if signed else "unsigned"
            add(name + sfx, cls | BPF_K | op, JCOND, op, bits,
                f"if {{{r}d}} {sym} {{imm}} goto {{joff}}{{lbl}}",
                f"if dst {sym} imm ({bits}-bit, {kind}) pc += off", zero=("src",))
            add(name + sfx, cls | BPF_X | op, JCOND, op, bits,
                f"if {{{r}d}} {sym} {{{r}s}} goto {{joff}}{{lbl}}",
                f"if dst {sym} src ({bits}-bit, {kind}) pc += off", zero=("imm",))
    add("call", BPF_JMP | BPF_CALL, CALL, 0, 64, "call {imm}", "call helper function imm",
        zero=("dst", "off"), select="src", value=0)
    add("call_local", BPF_JMP | BPF_CALL, CALL, BPF_PSEUDO_CALL, 64, "call {imm}",
        "call program-local function at pc + imm + 1", zero=("dst", "off"), select="src",
        value=BPF_PSEUDO_CALL)
    add("call_btf", BPF_JMP | BPF_CALL, CALL, BPF_PSEUDO_KFUNC_CALL, 64, "call btf_id({imm})",
        "call helper function by BTF id imm", zero=("dst", "off"), select="src",
        value=BPF_PSEUDO_KFUNC_CALL)
    add("callx", BPF_JMP | BPF_X | BPF_CALL, CALLX, 0, 64, "callx {cx}",
        "call the helper whose id is in register dst (LLVM <= 18 put the register in imm)",
        zero=("src", "off"))
    add("exit", BPF_JMP | BPF_EXIT, EXIT, 0, 64, "exit",
        "return r0 (from a local call or the program)", zero=("dst", "src", "off", "imm"))
    # LD_IMM64 and its pseudo forms
    for src, (name, form, doc) in LDDW_FORMS.items():
        add(name, LD_IMM64, LDDW, src, 64, form, doc, zero=("off",), select="src", value=src)
    # loads and stores
    for size_code, nbytes in SIZE_BYTES.items():
        sfx, bits = SIZE_SUFFIX[nbytes], nbytes * 8
        add(f"ldx{sfx}", BPF_LDX | BPF_MEM | size_code, LDX, 0, bits,
            f"{{d}} = *(u{bits} *)({{s}}{{moff}})", f"dst = *(u{bits} *)(src + off)", zero=("imm",))
        if nbytes < 8:
            add(f"ldxs{sfx}", BPF_LDX | BPF_MEMSX | size_code, LDXSX, 0, bits,
                f"{{d}} = *(s{bits} *)({{s}}{{moff}})",
                f"dst = *(s{bits} *)(src + off), sign-extended to 64 bits", zero=("imm",))
            add(f"ldabs{sfx}", BPF_LD | BPF_ABS | size_code, LDABS, 0, bits,
                f"r0 = *(u{bits} *)skb[{{imm}}]",
                f"legacy: r0 = ntoh(*(u{bits} *)(skb->data + imm))",
                zero=("dst", "src", "off"))
            add(f"ldind{sfx}", BPF_LD | BPF_IND | size_code, LDIND, 0, bits,
                f"r0 = *(u{bits} *)skb[{{s}}{{iimm}}]",
                f"legacy: r0 = ntoh(*(u{bits} *)(skb->data + src + imm))", zero=("dst", "off"))
        add(f"st{sfx}", BPF_ST | BPF_MEM | size_code, ST, 0, bits,
            f"*(u{bits} *)({{d}}{{moff}}) = {{imm}}", f"*(u{bits} *)(dst + off) = imm",
            zero=("src",))
        add(f"stx{sfx}", BPF_STX | BPF_MEM | size_code, STX, 0, bits,
            f"*(u{bits} *)({{d}}{{moff}}) = {{s}}", f"*(u{bits} *)(dst + off) = src", zero=("imm",))
    # atomics
    for size_code, bits, sfx in ((BPF_W, 32, "32"), (BPF_DW, 64, "")):
        r = "w" if bits == 32 else "r"
        for imm, (name, fn, doc) in ATOMIC_OPS.items():
            if imm & BPF_FETCH == 0:
                form = f"lock *(u{bits} *)({{d}}{{moff}}) {fn} {{s}}"
            elif imm == BPF_XCHG:
                form = (f"{{{r}s}} = xchg{'32' if bits == 32 else ''}_{bits}({{d}}{{moff}}, "
                        f"{{{r}s}})")
            elif imm == BPF_CMPXCHG:
                form = (f"{r}0 = cmpxchg{'32' if bits == 32 else ''}_{bits}({{d}}{{moff}}, {r}0, "
                        f"{{{r}s}})")
            else:
                form = f"{{{r}s}} = {fn}((u{bits} *)({{d}}{{moff}}), {{{r}s}})"
            add(f"lock_{name}{sfx}", BPF_STX | BPF_ATOMIC | size_code, ATOMIC, imm, bits, form,
                f"{doc} ({bits}-bit)", select="imm", value=imm)
    return specs


SPECS: tuple[OpSpec, ...] = tuple(_build_table())
SPECS_BY_OPCODE: dict[int, tuple[OpSpec, ...]] = {}
for _s in SPECS:
    SPECS_BY_OPCODE[_s.opcode] = SPECS_BY_OPCODE.get(_s.opcode, ()) + (_s,)
SPECS_BY_NAME: dict[str, list[OpSpec]] = {}
for _s in SPECS:
    SPECS_BY_NAME.setdefault(_s.name, []).append(_s)
del _s


@lru_cache(maxsize=65536)
def _lookup(opcode: int, src: int, off: int, imm: int) -> OpSpec | None:
    for spec in SPECS_BY_OPCODE.get(opcode, ()):
        if spec.select is None:
            return spec
        field = {"off": off, "imm": imm, "src": src}[spec.select]
        if field == spec.value:
            return spec
    return None


def spec_of(insn: Insn) -> OpSpec | None:
    """The table entry for `insn` (matched on opcode and selector field), or None if unknown."""
    imm = insn.imm if insn.opcode != LD_IMM64 else 0
    return _lookup(insn.opcode, insn.src, insn.off, imm)


def validate(insn: Insn) -> str | None:
    """Why `insn` is not a valid instruction, or None if it is. Checks the opcode table, reserved
    fields, register numbers and writes to the read-only frame pointer r10."""
    spec = spec_of(insn)
    if spec is None:
        return f"unknown opcode {insn.opcode:#04x} (src={insn.src} off={insn.off} imm={insn.imm})"
    for field in spec.zero:
        if getattr(insn, field) != 0:
            return f"{spec.name}: reserved field {field} is {getattr(insn, field)}, must be 0"
    if insn.dst >= N_REGS or insn.src >= N_REGS:
        return f"{spec.name}: invalid register number (dst={insn.dst}, src={insn.src})"
    if writes_dst(spec) and insn.dst == FP:
        return f"{spec.name}: r10 (frame pointer) is read-only"
    if spec.kind == ATOMIC and spec.op & BPF_FETCH and spec.op != BPF_CMPXCHG and insn.src == FP:
        return f"{spec.name}: r10 (frame pointer) is read-only"
    if spec.kind == CALLX:
        if insn.dst and insn.imm:
            return f"callx: register given twice (dst={insn.dst}, imm={insn.imm})"
        if callx_reg(insn) >= N_REGS:
            return f"callx: invalid register r{callx_reg(insn)}"
    return None


def writes_dst(spec: OpSpec) -> bool:
    """Whether instructions of this kind write their dst register."""
    return spec.kind in (ALU, END, LDDW, LDX, LDXSX)


def callx_reg(insn: Insn) -> int:
    """The register a callx instruction calls through: dst (RFC/Linux encoding), or imm when dst
    is 0 (LLVM <= 18 encoding)."""
    return insn.dst if insn.dst or not 0 < insn.imm <= 15 else insn.imm


# ---- decode / encode -----------------------------------------------------------------------------
def decode(code: bytes, strict: bool = False) -> list[Insn]:
    """Bytecode -> one Insn per instruction (LD_IMM64 as one Insn covering two slots).

    Raises IsaError on a length that is not a multiple of 8, a truncated LD_IMM64 or a non-zero
    field in its second slot. With `strict=True` every instruction must also pass `validate()`
    (known opcode, reserved fields zero, registers r0..r10, r10 not written)."""
    code = bytes(code)
    if len(code) % 8:
        raise IsaError(f"bytecode length {len(code)} is not a multiple of 8")
    insns: list[Insn] = []
    n = len(code) // 8
    pc = 0
    while pc < n:
        opcode, regs, off, imm = _SLOT.unpack_from(code, pc * 8)
        if opcode == LD_IMM64:
            if pc + 1 >= n:
                raise IsaError(f"pc {pc}: lddw truncated (second slot missing)")
            op2, regs2, off2, imm2 = _SLOT.unpack_from(code, pc * 8 + 8)
            if op2 or regs2 or off2:
                raise IsaError(f"pc {pc}: lddw second slot must have zero opcode, registers and "
                               f"offset (got opcode={op2:#x} regs={regs2:#x} off={off2})")
            value = (imm & MASK32) | ((imm2 & MASK32) << 32)
            insn = Insn(opcode, regs & 0xf, regs >> 4, off, value)
        else:
            insn = Insn(opcode, regs & 0xf, regs >> 4, off, imm)
        if strict:
            why = validate(insn)
            if why:
                raise IsaError(f"pc {pc}: {why}")
        insns.append(insn)
        pc += insn.slots
    return insns


def encode(insns: Iterable[Insn]) -> bytes:
    """Instructions -> bytecode (little-endian, LD_IMM64 as two slots)."""
    return b"".join(insn.encode() for insn in insns)


def slot_pcs(insns: Sequence[Insn]) -> list[int]:
    """The pc (in 8-byte slots) of each instruction."""
    pcs, pc = [], 0
    for insn in insns:
        pcs.append(pc)
        pc += insn.slots
    return pcs


def jump_target(insn: Insn, pc: int) -> int | None:
    """Target pc of a jump or local call at `pc`, or None for other instructions."""
    spec = spec_of(insn)
    if spec is None:
        return None
    if spec.kind == JCOND or (spec.kind == JA and spec.width == 64):
        return pc + 1 + insn.off
    if spec.kind == JA:
        return pc + 1 + insn.imm
    if spec.kind == CALL and spec.op == BPF_PSEUDO_CALL:
        return pc + 1 + insn.imm
    return None


# ---- disassembly ---------------------------------------------------------------------------------
def _signed_off(value: int) -> str:
    return f"+{value}" if value >= 0 else str(value)


def disasm_insn(insn: Insn, pc: int = 0, labels: Mapping[int, str] | None = None) -> str:
    """One instruction in `llvm-objdump -d` syntax (LLVM 14 where LLVM 14 decodes it, the newer
    LLVM syntax for what LLVM 14 does not know: mod, jset, st, sdiv/smod, movsx, ldsx, bswap,
    gotol, 32-bit atomics other than add). Jumps get a ` <label>` suffix: `labels[target]` if
    given, else `L<target pc>`. Unknown encodings print `<unknown>`."""
    spec = spec_of(insn)
    if spec is None:
        return "<unknown>"
    d, s = insn.dst, insn.src
    fields = {
        "d": f"r{d}", "s": f"r{s}", "rd": f"r{d}", "rs": f"r{s}", "wd": f"w{d}", "ws": f"w{s}",
        "imm": insn.imm, "imm64": sign_extend(insn.imm, 64) if spec.kind == LDDW else insn.imm,
        "lo": insn.imm & MASK32, "hi": sign_extend(insn.imm >> 32, 32),
        "moff": f" + {insn.off}" if insn.off >= 0 else f" - {-insn.off}",
        "iimm": "" if insn.imm == 0 else (f" + {insn.imm}" if insn.imm > 0 else f" - {-insn.imm}"),
        "joff": _signed_off(insn.off), "jimm": _signed_off(insn.imm), "lbl": "",
        "cx": f"r{callx_reg(insn)}",
    }
    if spec.kind in (JA, JCOND):
        target = jump_target(insn, pc)
        name = labels.get(target) if labels else None
        fields["lbl"] = f" <{name if name is not None else f'L{target}'}>"
    return spec.form.format(**fields)


def disasm(insns: Sequence[Insn], labels: Mapping[int, str] | None = None, *,
           symbol: str | None = None, base_pc: int = 0) -> str:
    """A listing in `llvm-objdump -d --no-show-raw-insn` layout: `{pc:>8}:\t{text}` lines, and a
    `{byte address:016x} <label>:` header before each jump target. `base_pc` is the pc of the
    first instruction (a function's place in its section); `labels` maps pcs (same coordinates) to
    names, else targets are called `L<pc>`; `symbol` names the header of the first instruction."""
    pcs = [base_pc + pc for pc in slot_pcs(insns)]
    names: dict[int, str] = {}
    for insn, pc in zip(insns, pcs):
        spec = spec_of(insn)
        if spec is not None and spec.kind in (JA, JCOND):
            target = jump_target(insn, pc)
            names[target] = labels.get(target, f"L{target}") if labels else f"L{target}"
    if symbol is not None:
        names[base_pc] = symbol
    out: list[str] = []
    for insn, pc in zip(insns, pcs):
        if pc in names:
            if out:
                out.append("")
            out.append(f"{pc * 8:016x} <{names[pc]}>:")
        out.append(f"{pc:>8}:\t{disasm_insn(insn, pc, names)}")
    return "\n".join(out) + ("\n" if out else "")


# ---- builders ------------------------------------------------------------------------------------
def _size_code(size: int) -> int:
    if size not in SIZE_CODE:
        raise IsaError(f"access size must be 1, 2, 4 or 8 bytes, not {size}")
    return SIZE_CODE[size]


def alu64_imm(op: int, dst: int, imm: int, off: int = 0) -> Insn:
    return Insn(BPF_ALU64 | BPF_K | op, dst, 0, off, imm)


def alu64_reg(op: int, dst: int, src: int, off: int = 0) -> Insn:
    return Insn(BPF_ALU64 | BPF_X | op, dst, src, off, 0)


def alu32_imm(op: int, dst: int, imm: int, off: int = 0) -> Insn:
    return Insn(BPF_ALU | BPF_K | op, dst, 0, off, imm)


def alu32_reg(op: int, dst: int, src: int, off: int = 0) -> Insn:
    return Insn(BPF_ALU | BPF_X | op, dst, src, off, 0)


def mov64_imm(dst: int, imm: int) -> Insn:
    return alu64_imm(BPF_MOV, dst, imm)


def mov64_reg(dst: int, src: int) -> Insn:
    return alu64_reg(BPF_MOV, dst, src)


def mov32_imm(dst: int, imm: int) -> Insn:
    return alu32_imm(BPF_MOV, dst, imm)


def mov32_reg(dst: int, src: int) -> Insn:
    return alu32_reg(BPF_MOV, dst, src)


def neg64(dst: int) -> Insn:
    return Insn(BPF_ALU64 | BPF_K | BPF_NEG, dst)


def endian(kind: str, dst: int, width: int) -> Insn:
    """kind 'le', 'be' (ALU|END) or 'bswap' (ALU64|END); width 16, 32 or 64."""
    opcode = {"le": BPF_ALU | BPF_TO_LE | BPF_END, "be": BPF_ALU | BPF_TO_BE | BPF_END,
              "bswap": BPF_ALU64 | BPF_K | BPF_END}[kind]
    return Insn(opcode, dst, 0, 0, width)


def ld_imm64(dst: int, value: int, src: int = 0) -> Insn:
    return Insn(LD_IMM64, dst, src, 0, value & MASK64)


def ldx(size: int, dst: int, src: int, off: int) -> Insn:
    """dst = *(u<size*8> *)(src + off); `size` in bytes (1, 2, 4, 8)."""
    return Insn(BPF_LDX | BPF_MEM | _size_code(size), dst, src, off, 0)


def ldxsx(size: int, dst: int, src: int, off: int) -> Insn:
    """dst = *(s<size*8> *)(src + off); `size` in bytes (1, 2, 4)."""
    return Insn(BPF_LDX | BPF_MEMSX | _size_code(size), dst, src, off, 0)


def st_imm(size: int, dst: int, off: int, imm: int) -> Insn:
    return Insn(BPF_ST | BPF_MEM | _size_code(size), dst, 0, off, imm)


def stx(size: int, dst: int, src: int, off: int) -> Insn:
    return Insn(BPF_STX | BPF_MEM | _size_code(size), dst, src, off, 0)


def atomic(size: int, op: int, dst: int, src: int, off: int) -> Insn:
    """Atomic `op` (an ATOMIC_OPS key, e.g. BPF_ADD | BPF_FETCH) on *(size *)(dst + off)."""
    return Insn(BPF_STX | BPF_ATOMIC | _size_code(size), dst, src, off, op)


def jmp_imm(op: int, dst: int, imm: int, off: int) -> Insn:
    return Insn(BPF_JMP | BPF_K | op, dst, 0, off, imm)


def jmp_reg(op: int, dst: int, src: int, off: int) -> Insn:
    return Insn(BPF_JMP | BPF_X | op, dst, src, off, 0)


def jmp32_imm(op: int, dst: int, imm: int, off: int) -> Insn:
    return Insn(BPF_JMP32 | BPF_K | op, dst, 0, off, imm)


def jmp32_reg(op: int, dst: int, src: int, off: int) -> Insn:
    return Insn(BPF_JMP32 | BPF_X | op, dst, src, off, 0)


def ja(off: int) -> Insn:
    return Insn(BPF_JMP | BPF_JA, 0, 0, off, 0)


def gotol(imm: int) -> Insn:
    return Insn(BPF_JMP32 | BPF_JA, 0, 0, 0, imm)


def call_helper(helper_id: int) -> Insn:
    return Insn(BPF_JMP | BPF_CALL, 0, 0, 0, helper_id)


def call_local(rel: int) -> Insn:
    """Call the local function at pc + rel + 1."""
    return Insn(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, rel)


def callx(reg: int) -> Insn:
    return Insn(BPF_JMP | BPF_X | BPF_CALL, reg, 0, 0, 0)


def exit_insn() -> Insn:
    return Insn(BPF_JMP | BPF_EXIT)
