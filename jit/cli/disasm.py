"""`jitnic disasm PROG.o [--section NAME]`: list an eBPF object's code in `llvm-objdump -d` style
(`--no-show-raw-insn` layout unless `--raw`). Jump targets are named by the object's own label
symbols (LBB0_3, ...) when it has them."""
from __future__ import annotations

import logging
from collections import defaultdict

from jit.ebpf import elf, isa

log = logging.getLogger(__name__)


def register(sub) -> None:
    p = sub.add_parser("disasm", help="disassemble an eBPF object (llvm-objdump style)",
                       description=__doc__)
    p.add_argument("program", help="eBPF object file (clang -target bpf)")
    p.add_argument("--section", help="only this program section (or function)")
    p.add_argument("--raw", action="store_true", help="also print the instruction bytes")
    p.set_defaults(func=run)


def section_labels(path: str) -> dict[str, dict[int, str]]:
    """{section name: {slot pc: symbol name}} from the object's symbol table (functions and the
    LBB* labels clang keeps for BPF); empty if the table cannot be read."""
    from elftools.elf.elffile import ELFFile
    from elftools.elf.sections import SymbolTableSection

    labels: dict[str, dict[int, str]] = defaultdict(dict)
    try:
        with open(path, "rb") as fh:
            ef = ELFFile(fh)
            for sec in ef.iter_sections():
                if not isinstance(sec, SymbolTableSection):
                    continue
                for sym in sec.iter_symbols():
                    shndx = sym["st_shndx"]
                    if (not isinstance(shndx, int) or not sym.name
                            or sym["st_info"]["type"] not in ("STT_FUNC", "STT_NOTYPE")):
                        continue
                    name = ef.get_section(shndx).name
                    if sym["st_value"] % 8 == 0:
                        labels[name].setdefault(sym["st_value"] // 8, sym.name)
    except Exception as exc:  # noqa: BLE001 - labels are cosmetic; the loader reports real damage
        log.debug("no labels from %s: %s", path, exc)
        return {}
    return dict(labels)


def listing(path: str, section: str | None = None, raw: bool = False) -> str:
    """The whole listing as text."""
    obj = elf.load_object(path)
    if section is not None:
        chosen = [elf.select_program(obj, section)]
        if chosen[0].section == section:   # a section: list every function in it
            chosen = [p for p in obj.programs.values() if p.section == section]
    else:
        chosen = list(obj.programs.values()) + list(obj.subprograms.values())
    by_section: dict[str, list[elf.Program]] = defaultdict(list)
    for prog in chosen:
        if prog not in by_section[prog.section]:
            by_section[prog.section].append(prog)
    labels = section_labels(path)
    out = [f"\n{path}:\tfile format elf64-bpf"]
    for sec in sorted(by_section, key=lambda s: obj.sections.index(s) if s in obj.sections else 0):
        out.append(f"\nDisassembly of section {sec}:\n")
        sec_labels = labels.get(sec, {})
        for i, prog in enumerate(sorted(by_section[sec], key=lambda p: p.offset)):
            base = prog.offset // 8
            text = isa.disasm(prog.insns, sec_labels, symbol=prog.name, base_pc=base)
            if raw:
                text = _with_bytes(text, prog)
            out.append(("\n" if i else "") + text.rstrip("\n"))
    return "\n".join(out) + "\n"


def _with_bytes(text: str, prog: elf.Program) -> str:
    """Insert the instruction bytes after the pc, as llvm-objdump does by default."""
    raw = {pc + prog.offset // 8: insn.encode() for insn, pc in
           zip(prog.insns, isa.slot_pcs(prog.insns))}
    lines = []
    for line in text.split("\n"):
        head, sep, rest = line.partition(":\t")
        if sep and head.strip().isdigit() and int(head) in raw:
            code = " ".join(f"{b:02x}" for b in raw[int(head)])
            line = f"{head}:\t{code}\t{rest}"
        lines.append(line)
    return "\n".join(lines)


def run(args) -> int:
    print(listing(args.program, args.section, args.raw), end="")
    return 0
