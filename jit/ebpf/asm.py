"""Assembler for the text syntax of the shared eBPF conformance suite (bpf_conformance / uBPF), and
a reader for its `.data` test files.

Syntax, one instruction per line, `#` starts a comment, `name:` defines a label:

    mov %r0, 1            mov32 %r1, 0x80        add %r0, %r1         neg %r0 / neg32 %r0
    sdiv/smod[32] ...     movsx832 %r2, %r1      (movsx{8,16}{32,64}, movsx3264)
    be16 %r0 / le64 %r0   bswap32 %r0 / swap32 %r0
    lddw %r0, 0x1122334455667788
    ldxw %r0, [%r1+4]     ldxsb %r0, [%r1]       stxdw [%r10-8], %r1   stdw [%r10-16], 0xab
    jne %r0, 15, label    jne32 %r2, 0xffffff80, +3      ja label / ja +N / ja32 label
    lock add [%r10-8], %r1     lock fetch xor32 [%r10-4], %r1     lock xchg / lock cmpxchg[32]
    call 5 (helper)       call local label       call %r2 (callx)       exit

A jump to `exit` without an `exit:` label goes to the first `exit` instruction (as in the suite's
own assembler). ALU mnemonics without a suffix (or with `64`) are 64-bit, `32` selects the 32-bit
class. Immediates are decimal or 0x-hex, optionally negative; 32-bit fields accept -2^31 .. 2^32-1.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from jit.ebpf import isa
from jit import JitnicError
from jit.ebpf.isa import Insn


class AsmError(JitnicError):
    """A line the assembler cannot translate (the message names the line)."""


_REG = re.compile(r"%?r(\d+)$")
_MEM = re.compile(r"\[\s*%?r(\d+)\s*(?:([+-])\s*(\w+)\s*)?\]$")
_LABEL = re.compile(r"([A-Za-z_.$][\w.$]*)\s*:\s*(.*)$")
_ALU_NAMES = {name for name, _, _ in isa.ALU_OPS.values()} | {"sdiv", "smod"}
_SWAP_ALIAS = {"swap16": "bswap16", "swap32": "bswap32", "swap64": "bswap64"}


def parse_int(text: str) -> int:
    """Decimal or 0x-hex integer, optionally signed."""
    t = text.strip().lower()
    sign = -1 if t.startswith("-") else 1
    t = t.lstrip("+-")
    try:
        return sign * (int(t, 16) if t.startswith("0x") else int(t, 10))
    except ValueError:
        raise AsmError(f"not a number: {text!r}") from None


def _off16(value: int, what: str) -> int:
    if not -0x8000 <= value <= 0x7fff:
        raise AsmError(f"{what} {value} does not fit in 16 bits")
    return value


@dataclass
class _Line:
    lineno: int
    mnemonic: str
    operands: list[str]
    text: str


def _split(text: str) -> tuple[list[_Line], dict[str, int]]:
    """Instruction lines and label -> index of the instruction it precedes."""
    lines: list[_Line] = []
    labels: dict[str, int] = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        while line:
            m = _LABEL.match(line)
            if not m or line.startswith("["):
                break
            if m.group(1) in labels:
                raise AsmError(f"line {lineno}: label {m.group(1)!r} defined twice")
            labels[m.group(1)] = len(lines)
            line = m.group(2).strip()
        if not line:
            continue
        parts = line.split(None, 1)
        mnemonic = parts[0].lower()
        rest = parts[1] if len(parts) > 1 else ""
        if mnemonic == "lock":            # lock [fetch] op[32] [mem], reg
            words = rest.split(None, 2)
            if words and words[0].lower() == "fetch":
                mnemonic, rest = "lock fetch " + (words[1].lower() if len(words) > 1 else ""), \
                    (words[2] if len(words) > 2 else "")
            else:
                mnemonic, rest = "lock " + (words[0].lower() if words else ""), \
                    (" ".join(words[1:]) if len(words) > 1 else "")
        elif mnemonic == "call" and rest.split(None, 1)[:1] == ["local"]:
            mnemonic, rest = "call local", rest.split(None, 1)[1] if len(rest.split()) > 1 else ""
        operands = [o.strip() for o in _split_operands(rest)] if rest.strip() else []
        lines.append(_Line(lineno, mnemonic, operands, raw.strip()))
    return lines, labels


def _split_operands(text: str) -> list[str]:
    out, depth, cur = [], 0, ""
    for ch in text:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return out


class _Assembler:
    def __init__(self, text: str):
        self.lines, label_index = _split(text)
        # slot pcs: lddw takes two slots
        self.pcs, pc = [], 0
        for line in self.lines:
            self.pcs.append(pc)
            pc += 2 if line.mnemonic == "lddw" else 1
        end = pc
        self.labels = {name: (self.pcs[i] if i < len(self.pcs) else end)
                       for name, i in label_index.items()}
        # As in the suite's assembler, `exit` names the first exit instruction unless defined.
        first_exit = next((pc for line, pc in zip(self.lines, self.pcs) if line.mnemonic == "exit"),
                          None)
        if first_exit is not None:
            self.labels.setdefault("exit", first_exit)

    def run(self) -> list[Insn]:
        out = []
        for line, pc in zip(self.lines, self.pcs):
            try:
                out.append(self.one(line, pc))
            except (AsmError, isa.IsaError) as exc:
                raise AsmError(f"line {line.lineno} ({line.text!r}): {exc}") from None
        return out

    # ---- operands ----
    @staticmethod
    def reg(text: str) -> int:
        m = _REG.match(text.strip())
        if not m or int(m.group(1)) > 10:
            raise AsmError(f"expected a register %r0..%r10, got {text!r}")
        return int(m.group(1))

    @staticmethod
    def is_reg(text: str) -> bool:
        return bool(_REG.match(text.strip()))

    @staticmethod
    def mem(text: str) -> tuple[int, int]:
        m = _MEM.match(text.strip())
        if not m:
            raise AsmError(f"expected a memory operand [%rN+off], got {text!r}")
        off = parse_int(m.group(3)) if m.group(3) else 0
        return int(m.group(1)), _off16(-off if m.group(2) == "-" else off, "memory offset")

    def target(self, text: str, pc: int, wide: bool = False) -> int:
        """A jump target (label or signed offset) as an offset relative to pc + 1; 16 bits, or 32
        (`wide`) for ja32 and local calls, whose offset is the immediate."""
        text = text.strip()
        if text in self.labels:
            rel = self.labels[text] - (pc + 1)
        elif re.match(r"^[+-]?(0x[0-9a-fA-F]+|\d+)$", text):
            rel = parse_int(text)
        else:
            raise AsmError(f"unknown label {text!r}")
        if wide:
            if not -(1 << 31) <= rel < (1 << 31):
                raise AsmError(f"jump offset {rel} does not fit in 32 bits")
            return rel
        return _off16(rel, "jump offset")

    @staticmethod
    def want(line: _Line, n: int) -> None:
        if len(line.operands) != n:
            raise AsmError(f"{line.mnemonic} takes {n} operand(s), got {len(line.operands)}")

    @staticmethod
    def spec(name: str, opcode_bit: int | None = None) -> isa.OpSpec:
        for spec in isa.SPECS_BY_NAME.get(name, ()):
            if opcode_bit is None or spec.opcode & isa.BPF_X == opcode_bit:
                return spec
        raise AsmError(f"unknown mnemonic {name!r}")

    # ---- one instruction ----
    def one(self, line: _Line, pc: int) -> Insn:
        mn, ops = line.mnemonic, line.operands
        base, width = mn, 64
        if mn.endswith("32") and mn[:-2] in _ALU_NAMES | {"neg"} | {n for n, _, _ in
                                                                  isa.JMP_CONDS.values()} | {"ja"}:
            base, width = mn[:-2], 32
        elif mn.endswith("64") and mn[:-2] in _ALU_NAMES | {"neg"}:
            base = mn[:-2]
        sfx = "32" if width == 32 else ""

        if base == "neg":
            self.want(line, 1)
            return Insn(self.spec("neg" + sfx).opcode, self.reg(ops[0]))
        if base in _ALU_NAMES:
            self.want(line, 2)
            dst = self.reg(ops[0])
            off = 1 if base in ("sdiv", "smod") else 0
            if self.is_reg(ops[1]):
                return Insn(self.spec(base + sfx, isa.BPF_X).opcode, dst, self.reg(ops[1]), off, 0)
            return Insn(self.spec(base + sfx, isa.BPF_K).opcode, dst, 0, off, parse_int(ops[1]))
        if mn.startswith("movsx"):
            self.want(line, 2)
            spec = self.spec(mn)
            return Insn(spec.opcode, self.reg(ops[0]), self.reg(ops[1]), spec.value, 0)
        mn = _SWAP_ALIAS.get(mn, mn)
        if re.match(r"^(le|be|bswap)(16|32|64)$", mn):
            self.want(line, 1)
            spec = self.spec(mn)
            return Insn(spec.opcode, self.reg(ops[0]), 0, 0, spec.value)
        if mn == "lddw":
            self.want(line, 2)
            value = parse_int(ops[1])
            if not -(1 << 63) <= value < (1 << 64):
                raise AsmError(f"lddw immediate {ops[1]} does not fit in 64 bits")
            return isa.ld_imm64(self.reg(ops[0]), value)
        if re.match(r"^ldxs?(b|h|w|dw)$", mn):
            self.want(line, 2)
            src, off = self.mem(ops[1])
            return Insn(self.spec(mn).opcode, self.reg(ops[0]), src, off, 0)
        if re.match(r"^stx(b|h|w|dw)$", mn):
            self.want(line, 2)
            dst, off = self.mem(ops[0])
            return Insn(self.spec(mn).opcode, dst, self.reg(ops[1]), off, 0)
        if re.match(r"^st(b|h|w|dw)$", mn):
            self.want(line, 2)
            dst, off = self.mem(ops[0])
            return Insn(self.spec(mn).opcode, dst, 0, off, parse_int(ops[1]))
        if base == "ja":
            self.want(line, 1)
            rel = self.target(ops[0], pc, wide=width == 32)
            return isa.gotol(rel) if width == 32 else isa.ja(rel)
        if base in {n for n, _, _ in isa.JMP_CONDS.values()}:
            self.want(line, 3)
            dst, rel = self.reg(ops[0]), self.target(ops[2], pc)
            if self.is_reg(ops[1]):
                return Insn(self.spec(base + sfx, isa.BPF_X).opcode, dst, self.reg(ops[1]), rel, 0)
            return Insn(self.spec(base + sfx, isa.BPF_K).opcode, dst, 0, rel, parse_int(ops[1]))
        if mn == "call local":
            self.want(line, 1)
            return isa.call_local(self.target(ops[0], pc, wide=True))
        if mn == "call":
            self.want(line, 1)
            if self.is_reg(ops[0]):
                return isa.callx(self.reg(ops[0]))
            return isa.call_helper(parse_int(ops[0]))
        if mn == "exit":
            self.want(line, 0)
            return isa.exit_insn()
        if mn.startswith("lock "):
            self.want(line, 2)
            words = mn.split()
            op = words[-1]
            bits = 32 if op.endswith("32") else 64
            op = op[:-2] if bits == 32 else op
            fetch = "fetch_" if words[1] == "fetch" and op not in ("xchg", "cmpxchg") else ""
            spec = self.spec(f"lock_{fetch}{op}{'32' if bits == 32 else ''}")
            dst, off = self.mem(ops[0])
            return Insn(spec.opcode, dst, self.reg(ops[1]), off, spec.value)
        raise AsmError(f"unknown mnemonic {line.mnemonic!r}")


def assemble(text: str) -> list[Insn]:
    """Assemble conformance-suite syntax into instructions (labels resolved to slot offsets)."""
    return _Assembler(text).run()


# ---- conformance .data files ---------------------------------------------------------------------
_SECTIONS = ("asm", "result", "mem", "raw", "no register offset", " c", "error")


@dataclass
class ConformanceCase:
    """One conformance test: the program (from `-- raw` if present, else `-- asm`), the input
    memory, the expected r0 (`result`) or error text, and `skip` if the suite's runner would skip
    the file (an unknown section)."""
    name: str
    insns: list[Insn]
    mem: bytes = b""
    result: int | None = None
    error: str | None = None
    asm: str = ""
    raw: bool = False
    skip: str | None = None
    sections: list[str] = field(default_factory=list)


def parse_data_file(path: str | Path) -> ConformanceCase:
    """Read a bpf_conformance `.data` file (format: ../shared/bpf_conformance/README.md)."""
    path = Path(path)
    text = path.read_text()
    body: dict[str, list[str]] = {}
    section, skip = None, None
    for raw in text.split("\n"):
        line = raw.rstrip("\r")
        if "--" in line.split("#", 1)[0]:
            directive = line.split("#", 1)[0]
            section = next((s for s in _SECTIONS if s in directive), None)
            if section is None:
                skip = f"unknown section {directive.strip()!r}"
            else:
                body.setdefault(section, [])
            continue
        if section is not None:
            body[section].append(line.split("#", 1)[0] if section != "asm" else line)
    asm_text = "\n".join(body.get("asm", []))
    try:
        if "raw" in body:
            words = [parse_int(w) for line in body["raw"] for w in line.split()]
            insns = isa.decode(b"".join((w & isa.MASK64).to_bytes(8, "little") for w in words))
        else:
            insns = assemble(asm_text)
    except JitnicError as exc:
        raise AsmError(f"{path.name}: {exc}") from None
    mem = bytes(int(b, 16) for line in body.get("mem", []) for b in line.split())
    result = None
    results = [ln.strip() for ln in body.get("result", []) if ln.strip()]
    if results:
        result = parse_int(results[-1]) & isa.MASK64
    errors = [ln.strip() for ln in body.get("error", []) if ln.strip()]
    return ConformanceCase(name=path.stem, insns=insns, mem=mem, result=result,
                           error=errors[-1] if errors else None, asm=asm_text, raw="raw" in body,
                           skip=skip, sections=list(body))
