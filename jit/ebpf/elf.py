"""ELF loader for clang-built eBPF objects (`clang -target bpf`), on top of pyelftools.

`load_object(path)` returns a `BpfObject`: its programs (one per function symbol in an executable
section other than `.text`; `.text` functions are subprograms), their relocations, the maps it
defines — legacy `struct bpf_map_def` entries in the `maps` section and BTF-defined maps in `.maps`
(read from the `.BTF` type information with the small parser below) — and its license string.
`load_program(path, section)` picks one program; `default_xdp_program(obj)` the XDP one.

Every problem is reported as a one-line `ElfError`: not an ELF file, an ELF file for another machine
(e_machine != EM_BPF), a missing section (named, with the sections that do exist), a truncated file,
a malformed relocation or malformed BTF.
"""
from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field
from pathlib import Path

from elftools.common.exceptions import ELFError as _PyElfError
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection
from elftools.elf.relocation import RelocationSection

from jit.ebpf import isa
from jit import JitnicError

EM_BPF = 247
INSN_SIZE = 8
OP_LD_IMM64 = 0x18           # BPF_LD | BPF_IMM | BPF_DW, two slots
SHF_EXECINSTR = 0x4
LEGACY_MAPS_SECTION = "maps"
BTF_MAPS_SECTION = ".maps"
LEGACY_MAP_DEF_MIN = 16      # type, key_size, value_size, max_entries (map_flags optional)

# Relocation types of the BPF ELF ABI (llvm/BinaryFormat/ELFRelocs/BPF.def).
R_BPF_NONE = 0
R_BPF_64_64 = 1              # LD_IMM64 immediate (map, global data, function address)
R_BPF_64_ABS64 = 2           # 64-bit data (e.g. in .BTF/.debug_*)
R_BPF_64_ABS32 = 3           # 32-bit data
R_BPF_64_NODYLD32 = 4        # 32-bit data in .BTF.ext, not resolved at load
R_BPF_64_32 = 10             # call imm (BPF-to-BPF call)
RELOC_TYPE_NAMES = {R_BPF_NONE: "R_BPF_NONE", R_BPF_64_64: "R_BPF_64_64",
                    R_BPF_64_ABS64: "R_BPF_64_ABS64", R_BPF_64_ABS32: "R_BPF_64_ABS32",
                    R_BPF_64_NODYLD32: "R_BPF_64_NODYLD32", R_BPF_64_32: "R_BPF_64_32"}

# enum bpf_map_type, the common ones (linux/bpf.h), for readable output.
MAP_TYPE_NAMES = {1: "hash", 2: "array", 3: "prog_array", 4: "perf_event_array",
                  5: "percpu_hash", 6: "percpu_array", 7: "stack_trace", 8: "cgroup_array",
                  9: "lru_hash", 10: "lru_percpu_hash", 11: "lpm_trie", 12: "array_of_maps",
                  13: "hash_of_maps", 14: "devmap", 15: "sockmap", 16: "cpumap", 17: "xskmap",
                  27: "ringbuf"}


class ElfError(JitnicError):
    """The object file cannot be used: one line saying why."""


@dataclass(frozen=True)
class Relocation:
    """One relocation against a program's code."""
    insn_index: int          # index into Program.insns (LD_IMM64 counts as one instruction)
    slot: int                # 8-byte slot index within the program
    symbol: str              # symbol name (the section name for section symbols)
    type: int                # R_BPF_* number
    symbol_section: str | None = None  # section the symbol lives in (None: undefined/extern)
    map_name: str | None = None        # set when the instruction is an LD_IMM64 of a map

    @property
    def type_name(self) -> str:
        return RELOC_TYPE_NAMES.get(self.type, f"R_BPF_{self.type}")


@dataclass(frozen=True)
class MapDef:
    name: str
    type: int
    key_size: int
    value_size: int
    max_entries: int
    flags: int = 0
    source: str = "legacy"   # "legacy" (maps section) or "btf" (.maps section)

    @property
    def type_name(self) -> str:
        return MAP_TYPE_NAMES.get(self.type, str(self.type))


@dataclass
class Program:
    name: str                # function symbol
    section: str
    insns: list              # list[jit.ebpf.isa.Insn]
    relocations: list[Relocation] = field(default_factory=list)
    code: bytes = b""        # raw instruction bytes
    offset: int = 0          # byte offset of the function in its section

    @property
    def map_refs(self) -> dict[int, str]:
        """{insn index: map name} for every LD_IMM64 that loads a map."""
        return {r.insn_index: r.map_name for r in self.relocations if r.map_name}


@dataclass
class BpfObject:
    path: str
    programs: dict[str, Program]
    maps: dict[str, MapDef]
    license: str | None
    subprograms: dict[str, Program] = field(default_factory=dict)
    sections: list[str] = field(default_factory=list)

    def program_sections(self) -> list[str]:
        seen: list[str] = []
        for prog in self.programs.values():
            if prog.section not in seen:
                seen.append(prog.section)
        return seen


# ---- BTF ---------------------------------------------------------------------------------------

BTF_MAGIC = 0xEB9F
BTF_HEADER = struct.Struct("<HBBIIIII")
BTF_TYPE = struct.Struct("<III")
(KIND_INT, KIND_PTR, KIND_ARRAY, KIND_STRUCT, KIND_UNION, KIND_ENUM, KIND_FWD, KIND_TYPEDEF,
 KIND_VOLATILE, KIND_CONST, KIND_RESTRICT, KIND_FUNC, KIND_FUNC_PROTO, KIND_VAR, KIND_DATASEC,
 KIND_FLOAT, KIND_DECL_TAG, KIND_TYPE_TAG, KIND_ENUM64) = range(1, 20)
_MODIFIERS = (KIND_TYPEDEF, KIND_VOLATILE, KIND_CONST, KIND_RESTRICT, KIND_TYPE_TAG)
# Bytes of kind-specific data after the 12-byte btf_type: fixed part, per-vlen-entry part.
_KIND_EXTRA = {KIND_INT: (4, 0), KIND_PTR: (0, 0), KIND_ARRAY: (12, 0), KIND_STRUCT: (0, 12),
               KIND_UNION: (0, 12), KIND_ENUM: (0, 8), KIND_FWD: (0, 0), KIND_TYPEDEF: (0, 0),
               KIND_VOLATILE: (0, 0), KIND_CONST: (0, 0), KIND_RESTRICT: (0, 0),
               KIND_FUNC: (0, 0), KIND_FUNC_PROTO: (0, 8), KIND_VAR: (4, 0),
               KIND_DATASEC: (0, 12), KIND_FLOAT: (0, 0), KIND_DECL_TAG: (4, 0),
               KIND_TYPE_TAG: (0, 0), KIND_ENUM64: (0, 12)}
_MAX_TYPE_DEPTH = 64


class BtfError(ElfError):
    """Malformed .BTF section."""


@dataclass(frozen=True)
class BtfType:
    kind: int
    name: str
    vlen: int
    size_or_type: int        # size for INT/STRUCT/UNION/ENUM/DATASEC/FLOAT, else a type id
    array: tuple[int, int, int] | None = None          # (elem type, index type, nelems)
    # STRUCT/UNION: (name, type id, bit offset); DATASEC: (var type id, offset, size)
    members: tuple[tuple, ...] = ()


class Btf:
    """The type table of a .BTF section (types and strings; .BTF.ext is not needed for maps)."""

    def __init__(self, data: bytes):
        if len(data) < BTF_HEADER.size:
            raise BtfError(f".BTF is {len(data)} bytes, shorter than its header")
        magic, version, _flags, hdr_len, type_off, type_len, str_off, str_len = \
            BTF_HEADER.unpack_from(data)
        if magic != BTF_MAGIC:
            raise BtfError(f".BTF magic {magic:#06x}, expected {BTF_MAGIC:#06x} (little-endian)")
        if version != 1:
            raise BtfError(f".BTF version {version} unsupported")
        tstart, sstart = hdr_len + type_off, hdr_len + str_off
        if tstart + type_len > len(data) or sstart + str_len > len(data):
            raise BtfError("type or string section runs past the end of .BTF")
        self._strings = data[sstart:sstart + str_len]
        self.types: list[BtfType | None] = [None]   # type id 0 is void
        self._parse_types(data[tstart:tstart + type_len])

    def string(self, off: int) -> str:
        if off >= len(self._strings) and off != 0:
            raise BtfError(f"string offset {off} past the string section ({len(self._strings)} bytes)")
        end = self._strings.find(b"\0", off)
        if end < 0:
            raise BtfError(f"unterminated string at offset {off}")
        return self._strings[off:end].decode(errors="replace")

    def _parse_types(self, blob: bytes) -> None:
        pos = 0
        while pos < len(blob):
            if pos + BTF_TYPE.size > len(blob):
                raise BtfError(f"type {len(self.types)} truncated")
            name_off, info, size_or_type = BTF_TYPE.unpack_from(blob, pos)
            pos += BTF_TYPE.size
            kind, vlen = (info >> 24) & 0x1F, info & 0xFFFF
            if kind not in _KIND_EXTRA:
                raise BtfError(f"type {len(self.types)} has unknown kind {kind}")
            fixed, per = _KIND_EXTRA[kind]
            extra = fixed + per * vlen
            if pos + extra > len(blob):
                raise BtfError(f"type {len(self.types)} truncated")
            array = None
            members: tuple = ()
            if kind == KIND_ARRAY:
                array = struct.unpack_from("<III", blob, pos)
            elif kind in (KIND_STRUCT, KIND_UNION):
                kflag = info >> 31
                mems = []
                for i in range(vlen):
                    m_name, m_type, m_off = struct.unpack_from("<III", blob, pos + 12 * i)
                    mems.append((self.string(m_name), m_type,
                                 m_off & 0xFFFFFF if kflag else m_off))
                members = tuple(mems)
            elif kind == KIND_DATASEC:
                members = tuple(struct.unpack_from("<III", blob, pos + 12 * i)
                                for i in range(vlen))
            pos += extra
            self.types.append(BtfType(kind, self.string(name_off), vlen, size_or_type,
                                      array, members))

    def type(self, type_id: int) -> BtfType:
        if not 0 < type_id < len(self.types):
            raise BtfError(f"reference to type id {type_id}, which does not exist "
                           f"({len(self.types) - 1} types)")
        return self.types[type_id]

    def skip_modifiers(self, type_id: int) -> tuple[int, BtfType]:
        for _ in range(_MAX_TYPE_DEPTH):
            t = self.type(type_id)
            if t.kind not in _MODIFIERS:
                return type_id, t
            type_id = t.size_or_type
        raise BtfError(f"type chain too deep at id {type_id}")

    def size_of(self, type_id: int, depth: int = 0) -> int:
        if depth > _MAX_TYPE_DEPTH:
            raise BtfError(f"type chain too deep at id {type_id}")
        type_id, t = self.skip_modifiers(type_id)
        if t.kind in (KIND_INT, KIND_STRUCT, KIND_UNION, KIND_ENUM, KIND_ENUM64, KIND_FLOAT,
                      KIND_DATASEC):
            return t.size_or_type
        if t.kind == KIND_PTR:
            return 8
        if t.kind == KIND_ARRAY:
            elem, _index, nelems = t.array
            return nelems * self.size_of(elem, depth + 1)
        if t.kind == KIND_VAR:
            return self.size_of(t.size_or_type, depth + 1)
        raise BtfError(f"type id {type_id} ({t.name or 'anonymous'}, kind {t.kind}) has no size")

    def find_datasec(self, name: str) -> BtfType | None:
        for t in self.types[1:]:
            if t.kind == KIND_DATASEC and t.name == name:
                return t
        return None

    def map_defs(self) -> list[MapDef]:
        """The maps of the `.maps` DATASEC: each variable is a struct whose members encode the map
        attributes — `__uint(name, v)` is `int (*name)[v]` (pointer to an array of v elements) and
        `__type(name, T)` is `T *name` (the size of T)."""
        sec = self.find_datasec(BTF_MAPS_SECTION)
        if sec is None:
            return []
        out = []
        for var_id, _offset, _size in sec.members:
            var = self.type(var_id)
            if var.kind != KIND_VAR:
                raise BtfError(f".maps entry type {var_id} is not a variable")
            _, struct_t = self.skip_modifiers(var.size_or_type)
            if struct_t.kind != KIND_STRUCT:
                raise BtfError(f"map {var.name!r} is not described by a struct")
            attrs = {"type": 0, "key_size": 0, "value_size": 0, "max_entries": 0, "map_flags": 0}
            for m_name, m_type, _ in struct_t.members:
                _, mt = self.skip_modifiers(m_type)
                if m_name in ("key", "value"):
                    if mt.kind != KIND_PTR:
                        raise BtfError(f"map {var.name!r}: {m_name} is not a __type() pointer")
                    attrs[f"{m_name}_size"] = self.size_of(mt.size_or_type)
                elif m_name in attrs:
                    if mt.kind != KIND_PTR:
                        raise BtfError(f"map {var.name!r}: {m_name} is not a __uint() pointer")
                    _, arr = self.skip_modifiers(mt.size_or_type)
                    if arr.kind != KIND_ARRAY:
                        raise BtfError(f"map {var.name!r}: {m_name} does not point to an array")
                    attrs[m_name] = arr.array[2]
            out.append(MapDef(var.name, attrs["type"], attrs["key_size"], attrs["value_size"],
                              attrs["max_entries"], attrs["map_flags"], source="btf"))
        return out


# ---- ELF ---------------------------------------------------------------------------------------

def _slot_index_map(code: bytes) -> dict[int, int]:
    """{slot: insn index} for the slots that start an instruction (LD_IMM64 covers two slots)."""
    out: dict[int, int] = {}
    slot = index = 0
    nslots = len(code) // INSN_SIZE
    while slot < nslots:
        out[slot] = index
        slot += 2 if code[slot * INSN_SIZE] == OP_LD_IMM64 else 1
        index += 1
    return out


class _Loader:
    def __init__(self, path: str | Path):
        self.path = str(path)
        try:
            self.data = Path(path).read_bytes()
        except OSError as exc:
            raise ElfError(f"{self.path}: cannot read: {exc.strerror or exc}") from None
        self._check_header()
        self.elf = ELFFile(io.BytesIO(self.data))
        self._check_layout()

    def fail(self, what: str) -> ElfError:
        return ElfError(f"{self.path}: {what}")

    def _check_header(self) -> None:
        data = self.data
        if data[:4] != b"\x7fELF":
            raise self.fail("not an ELF file (no \\x7fELF magic)")
        if len(data) < 64:
            raise self.fail(f"truncated: {len(data)} bytes, shorter than the ELF header")
        if data[4] != 2:
            raise self.fail("32-bit ELF; eBPF objects are ELF64")
        if data[5] != 1:
            raise self.fail("big-endian ELF (bpfeb); only little-endian eBPF objects are supported")
        machine = struct.unpack_from("<H", data, 18)[0]
        if machine != EM_BPF:
            raise self.fail(f"ELF for machine {machine}, not eBPF (e_machine {EM_BPF})")

    def _check_layout(self) -> None:
        size = len(self.data)
        hdr = self.elf.header
        end = hdr["e_shoff"] + hdr["e_shnum"] * hdr["e_shentsize"]
        if end > size:
            raise self.fail(f"truncated: section headers end at byte {end}, file has {size}")
        for sec in self.elf.iter_sections():
            if sec["sh_type"] != "SHT_NOBITS" and sec["sh_offset"] + sec["sh_size"] > size:
                raise self.fail(f"truncated: section {sec.name or '#'} ends at byte "
                                f"{sec['sh_offset'] + sec['sh_size']}, file has {size}")

    def load(self) -> BpfObject:
        elf = self.elf
        self.sections = list(elf.iter_sections())
        self.symtab = next((s for s in self.sections if isinstance(s, SymbolTableSection)), None)
        self.symbols = list(self.symtab.iter_symbols()) if self.symtab else []
        license_sec = elf.get_section_by_name("license")
        license = (license_sec.data().split(b"\0", 1)[0].decode(errors="replace")
                   if license_sec is not None else None)
        self.maps, self.map_offsets = self._load_maps()
        programs: dict[str, Program] = {}
        subprograms: dict[str, Program] = {}
        for idx, sec in enumerate(self.sections):
            if not (sec["sh_flags"] & SHF_EXECINSTR) or sec["sh_size"] == 0:
                continue
            target = subprograms if sec.name == ".text" else programs
            for prog in self._programs_in(idx, sec):
                if prog.name in programs or prog.name in subprograms:
                    raise self.fail(f"function {prog.name!r} defined twice")
                target[prog.name] = prog
        return BpfObject(self.path, programs, self.maps, license, subprograms,
                         [s.name for s in self.sections if s.name])

    # -- maps --
    def _load_maps(self) -> tuple[dict[str, MapDef], dict[tuple[str, int], str]]:
        maps: dict[str, MapDef] = {}
        offsets: dict[tuple[str, int], str] = {}   # (section, offset) -> map name
        legacy = self.elf.get_section_by_name(LEGACY_MAPS_SECTION)
        if legacy is not None:
            for m, off in self._legacy_maps(legacy):
                maps[m.name] = m
                offsets[(LEGACY_MAPS_SECTION, off)] = m.name
        dot_maps = self.elf.get_section_by_name(BTF_MAPS_SECTION)
        if dot_maps is not None:
            btf_sec = self.elf.get_section_by_name(".BTF")
            if btf_sec is None:
                raise self.fail("has a .maps section but no .BTF to describe it (compile with -g)")
            try:
                defs = Btf(btf_sec.data()).map_defs()
            except BtfError as exc:
                raise self.fail(f"malformed .BTF: {exc}") from None
            idx = self.sections.index(dot_maps)
            sym_off = {s.name: s["st_value"] for s in self.symbols if s["st_shndx"] == idx and s.name}
            for m in defs:
                if m.name in maps:
                    raise self.fail(f"map {m.name!r} defined twice")
                maps[m.name] = m
                if m.name in sym_off:
                    offsets[(BTF_MAPS_SECTION, sym_off[m.name])] = m.name
        return maps, offsets

    def _legacy_maps(self, sec) -> list[tuple[MapDef, int]]:
        idx = self.sections.index(sec)
        syms = sorted((s for s in self.symbols
                       if s["st_shndx"] == idx and s.name and s["st_info"]["type"] != "STT_SECTION"),
                      key=lambda s: s["st_value"])
        if not syms:
            return []
        data = sec.data()
        # libbpf's rule: the section holds equally sized definitions, one per symbol.
        def_size = len(data) // len(syms)
        if def_size < LEGACY_MAP_DEF_MIN:
            raise self.fail(f"maps section: {len(data)} bytes for {len(syms)} maps, "
                            f"less than {LEGACY_MAP_DEF_MIN} bytes per struct bpf_map_def")
        out = []
        for s in syms:
            off = s["st_value"]
            if off + def_size > len(data):
                raise self.fail(f"maps section: map {s.name!r} at offset {off} runs past the section")
            fields = struct.unpack_from("<IIII", data, off)
            flags = struct.unpack_from("<I", data, off + 16)[0] if def_size >= 20 else 0
            out.append((MapDef(s.name, *fields, flags=flags, source="legacy"), off))
        return out

    # -- programs and relocations --
    def _programs_in(self, idx: int, sec) -> list[Program]:
        code = sec.data()
        if len(code) % INSN_SIZE:
            raise self.fail(f"section {sec.name}: {len(code)} bytes, not a multiple of {INSN_SIZE}")
        funcs = sorted(((s.name, s["st_value"], s["st_size"]) for s in self.symbols
                        if s["st_shndx"] == idx and s["st_info"]["type"] == "STT_FUNC"),
                       key=lambda f: f[1])
        if not funcs:  # hand-made object without symbols: the whole section is one program
            funcs = [(sec.name, 0, len(code))]
        relocs = self._relocations_for(idx, sec)
        progs = []
        for name, start, size in funcs:
            if start % INSN_SIZE or size % INSN_SIZE or start + size > len(code):
                raise self.fail(f"function {name!r} at {start}+{size} does not fit section "
                                f"{sec.name} ({len(code)} bytes)")
            body = code[start:start + size]
            try:
                insns = isa.decode(body)
            except JitnicError as exc:
                raise self.fail(f"{sec.name}/{name}: {exc}") from None
            slots = _slot_index_map(body)
            mine = []
            for r_off, sym, rtype in relocs:
                if not start <= r_off < start + size:
                    continue
                slot = (r_off - start) // INSN_SIZE
                if slot not in slots:
                    raise self.fail(f"malformed relocation in {sec.name} at offset {r_off}: "
                                    f"points into the middle of an LD_IMM64")
                mine.append(self._relocation(sec.name, body, slots[slot], slot, sym, rtype, r_off))
            progs.append(Program(name, sec.name, insns, mine, body, start))
        covered = {r.slot * INSN_SIZE + p.offset for p in progs for r in p.relocations}
        stray = [r_off for r_off, _, _ in relocs if r_off not in covered]
        if stray:
            raise self.fail(f"malformed relocation in {sec.name} at offset {stray[0]}: "
                            f"outside every function")
        return progs

    def _relocations_for(self, idx: int, sec) -> list[tuple[int, object, int]]:
        out = []
        for rsec in self.sections:
            if not isinstance(rsec, RelocationSection) or rsec["sh_info"] != idx:
                continue
            if rsec.is_RELA():
                raise self.fail(f"{rsec.name}: RELA relocations are not used by eBPF objects")
            nsyms = len(self.symbols)
            for i, rel in enumerate(rsec.iter_relocations()):
                r_off, sym_i, rtype = rel["r_offset"], rel["r_info_sym"], rel["r_info_type"]
                where = f"malformed relocation {rsec.name}[{i}]"
                if sym_i >= nsyms:
                    raise self.fail(f"{where}: symbol index {sym_i} out of range ({nsyms} symbols)")
                if r_off % INSN_SIZE or r_off + INSN_SIZE > sec["sh_size"]:
                    raise self.fail(f"{where}: offset {r_off} is not an instruction of "
                                    f"{sec.name} ({sec['sh_size']} bytes)")
                if rtype not in RELOC_TYPE_NAMES:
                    raise self.fail(f"{where}: unknown relocation type {rtype}")
                out.append((r_off, self.symbols[sym_i], rtype))
        return out

    def _relocation(self, section: str, body: bytes, index: int, slot: int, sym, rtype: int,
                    r_off: int) -> Relocation:
        shndx = sym["st_shndx"]
        sym_sec = self.sections[shndx].name if isinstance(shndx, int) and shndx < len(self.sections) \
            else None
        is_section_sym = sym["st_info"]["type"] == "STT_SECTION"
        name = sym_sec if is_section_sym else sym.name
        map_name = None
        if sym_sec in (LEGACY_MAPS_SECTION, BTF_MAPS_SECTION):
            opcode = body[slot * INSN_SIZE]
            if opcode != OP_LD_IMM64:
                raise self.fail(f"malformed relocation in {section} at offset {r_off}: map "
                                f"{name!r} referenced by opcode {opcode:#04x}, not LD_IMM64")
            # A section symbol names the map by the offset held in the instruction's imm (REL).
            off = sym["st_value"]
            if is_section_sym:
                off += struct.unpack_from("<i", body, slot * INSN_SIZE + 4)[0]
            map_name = self.map_offsets.get((sym_sec, off))
            if map_name is None:
                raise self.fail(f"malformed relocation in {section} at offset {r_off}: no map at "
                                f"{sym_sec}+{off}")
        return Relocation(index, slot, name or "", rtype, sym_sec, map_name)


def load_object(path: str | Path) -> BpfObject:
    """Parse a clang-built eBPF object file. Raises ElfError (one line) on any problem."""
    try:
        return _Loader(path).load()
    except ElfError:
        raise
    except (_PyElfError, struct.error, ValueError, IndexError, KeyError, AttributeError,
            TypeError, ArithmeticError, EOFError, OSError, RecursionError) as exc:
        # pyelftools parses lazily and reports a corrupt header field as whatever the stream or
        # struct layer raised; all of them mean the same thing here.
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise ElfError(f"{path}: malformed ELF: {detail}") from None


def is_xdp_section(name: str) -> bool:
    return name in ("xdp", "xdp.frags") or name.startswith(("xdp/", "xdp.frags/"))


def default_xdp_program(obj: BpfObject) -> Program:
    """The object's XDP program (section `xdp` or `xdp/...`); an error if there is none or several."""
    xdp = [p for p in obj.programs.values() if is_xdp_section(p.section)]
    if len(xdp) == 1:
        return xdp[0]
    if not xdp:
        raise ElfError(f"{obj.path}: no XDP program (section 'xdp' or 'xdp/...'); program "
                       f"sections: {', '.join(obj.program_sections()) or 'none'}")
    raise ElfError(f"{obj.path}: several XDP programs ("
                   + ", ".join(f"{p.section}/{p.name}" for p in xdp) + "); choose one by section")


def select_program(obj: BpfObject, section: str | None = None) -> Program:
    """The program in `section` (or, failing that, the function of that name)."""
    if section is None:
        return default_xdp_program(obj)
    in_sec = [p for p in obj.programs.values() if p.section == section]
    if len(in_sec) == 1:
        return in_sec[0]
    if len(in_sec) > 1:
        raise ElfError(f"{obj.path}: section {section!r} holds several programs ("
                       + ", ".join(p.name for p in in_sec) + "); name one")
    if section in obj.programs:
        return obj.programs[section]
    raise ElfError(f"{obj.path}: no program section {section!r}; program sections: "
                   f"{', '.join(obj.program_sections()) or 'none'}; all sections: "
                   f"{', '.join(obj.sections)}")


def load_program(path: str | Path, section: str | None = None) -> Program:
    """Load one program from an object: the XDP one by default, or the one in `section`."""
    return select_program(load_object(path), section)
