"""ELF loader for clang-built eBPF objects (`clang -target bpf`), on top of pyelftools.

Main entry: `load_linked(path, name=None) -> LinkedProgram`, what both the interpreter and the
kernel oracle consume (neither re-parses ELF):
* `insns`: the selected program's section plus every `.text` subprogram it reaches, bpf-to-bpf
  calls fixed as the kernel expects (src_reg = BPF_PSEUDO_CALL, imm = relative slot offset);
* `maps`: every map definition of the object in fd order (`MapDef`: name, type, key_size,
  value_size, max_entries, map_flags, inner definition for map-in-map; `.data`/`.bss`/`.rodata*`
  as one-element array maps named like libbpf, with `initial` contents, `.rodata` frozen);
* `map_relocs`: (instruction index, map name, kind BPF_PSEUDO_MAP_FD or BPF_PSEUDO_MAP_VALUE,
  value offset); the instructions already hold provisional fds (position in `maps`), and
  `relocate({name: fd})` swaps in real ones.
Program selection (`select_program`) by section name, function name or `section/function`, legacy
`xdp*` section names included; every name an error lists is accepted. CO-RE relocations
(.BTF.ext) are accepted on UAPI types (xdp_md, packet headers: `CORE_STABLE_TYPES`), whose
compiled-in offsets hold on every kernel, so the instructions stay as clang wrote them for the
interpreter and the kernel alike; on any other type they are refused naming it, as are kfuncs and
extern variables. A prog_array or map-in-map
statically initialized in `.maps` (`.values = { [i] = &prog_or_map }`) carries the slots in
`MapDef.initial_entries` as (index, "program" | "map", name): the runtime loads them before
`--maps-in`, and so must the kernel oracle (with the programs' / maps' fds).

Lower level: `load_object(path)` returns a `BpfObject`: its programs (one per function symbol in an
executable section other than `.text`; `.text` functions are subprograms), their relocations, the
maps it defines — legacy `struct bpf_map_def` entries in the `maps` section, BTF-defined maps in
`.maps` (read from the `.BTF` type information with the small parser below) and global data — and
its license string. `load_program(path, section)` picks one program's own, unlinked section.

Every problem is reported as a one-line `ElfError`: not an ELF file, an ELF file for another machine
(e_machine != EM_BPF), a missing section (named, with the sections that do exist), a truncated file,
a malformed relocation or malformed BTF.
"""
from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field, replace
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
                  18: "sockhash", 19: "cgroup_storage", 20: "reuseport_sockarray",
                  21: "percpu_cgroup_storage", 22: "queue", 23: "stack", 24: "sk_storage",
                  25: "devmap_hash", 26: "struct_ops", 27: "ringbuf", 28: "inode_storage",
                  29: "task_storage", 30: "bloom_filter", 31: "user_ringbuf",
                  32: "cgrp_storage", 33: "arena"}
MAP_TYPE_IDS = {name: num for num, name in MAP_TYPE_NAMES.items()}
BPF_MAP_TYPE_ARRAY = 2
BPF_F_RDONLY_PROG = 1 << 7
BPF_F_MMAPABLE = 1 << 10


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
    map_name: str | None = None        # LD_IMM64 of a map (map fd) or of global data (map value)
    symbol_value: int = 0              # st_value of the symbol (offset in its section)
    map_offset: int | None = None      # global data: byte offset into the map's value

    @property
    def type_name(self) -> str:
        return RELOC_TYPE_NAMES.get(self.type, f"R_BPF_{self.type}")


@dataclass(frozen=True)
class MapDef:
    """One map of an object, as bpf(BPF_MAP_CREATE) needs it.

    `source` says where it came from: "legacy" (`maps` section, `struct bpf_map_def`), "btf"
    (`.maps`), "data" (a global-data section turned into a one-element array map, libbpf style:
    key_size 4, value_size = section size, max_entries 1, `initial` = the section's bytes (zeros for
    `.bss`), `frozen` for `.rodata*`, which programs may only read), or "inner" (the template of a
    map-in-map's inner map, `inner`). `btf_key_type`/`btf_value_type` are BTF type ids (0: none),
    for typed dumps."""
    name: str
    type: int
    key_size: int
    value_size: int
    max_entries: int
    flags: int = 0
    source: str = "legacy"   # "legacy", "btf", "data" or "inner"
    inner: "MapDef | None" = None       # map-in-map: the inner map's definition
    initial: bytes | None = None        # global data: initial value of the single element
    frozen: bool = False                # .rodata: read-only for programs (BPF_F_RDONLY_PROG)
    section: str = ""                   # ELF section the definition lives in
    btf_key_type: int = 0
    btf_value_type: int = 0
    # static `.values = { [i] = &x }` of a prog_array / map-in-map: (index, "program"|"map", name)
    initial_entries: tuple[tuple[int, str, str], ...] = ()

    @property
    def type_name(self) -> str:
        return MAP_TYPE_NAMES.get(self.type, str(self.type))

    @property
    def map_flags(self) -> int:
        return self.flags


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
        """{insn index: map name} for every LD_IMM64 that loads a map (its fd, not a value)."""
        return {r.insn_index: r.map_name for r in self.relocations
                if r.map_name and r.map_offset is None}


@dataclass
class BpfObject:
    path: str
    programs: dict[str, Program]
    maps: dict[str, MapDef]
    license: str | None
    subprograms: dict[str, Program] = field(default_factory=dict)
    sections: list[str] = field(default_factory=list)
    btf: "Btf | None" = None
    # CO-RE relocations from .BTF.ext: section -> relocations
    core_relocs: dict[str, list["CoreReloc"]] = field(default_factory=dict)

    def program_sections(self) -> list[str]:
        seen: list[str] = []
        for prog in self.programs.values():
            if prog.section not in seen:
                seen.append(prog.section)
        return seen


# CO-RE relocation kinds (enum bpf_core_relo_kind), for messages.
CORE_RELO_KINDS = {0: "field_byte_offset", 1: "field_byte_size", 2: "field_exists",
                   3: "field_signed", 4: "field_lshift_u64", 5: "field_rshift_u64",
                   6: "type_id_local", 7: "type_id_target", 8: "type_exists", 9: "type_size",
                   10: "enumval_exists", 11: "enumval_value", 12: "type_matches"}

CORE_TYPE_ID_TARGET = 7
# Types whose layout the kernel's ABI fixes (UAPI): a CO-RE relocation against one of them resolves
# to what clang already compiled in (the local BTF's answer), on every kernel. The XDP context and
# the packet headers programs parse; vmlinux.h marks them preserve_access_index like any other.
CORE_STABLE_TYPES = frozenset({
    "xdp_md", "ethhdr", "vlan_hdr", "vlan_ethhdr", "iphdr", "ipv6hdr", "tcphdr", "udphdr",
    "icmphdr", "icmp6hdr", "arphdr", "in6_addr", "in_addr", "ipv6_opt_hdr", "frag_hdr",
    "gre_hdr", "bpf_fib_lookup", "bpf_devmap_val", "bpf_cpumap_val", "bpf_lpm_trie_key",
    "bpf_sock_tuple", "bpf_spin_lock", "bpf_timer"})


@dataclass(frozen=True)
class CoreReloc:
    """One CO-RE relocation (struct bpf_core_relo) of a section."""
    insn_off: int            # byte offset of the instruction in its section
    type_name: str
    type_kind: str
    access: str
    kind: int

    def describe(self) -> str:
        return (f"{self.type_kind} {self.type_name or '(anonymous)'}, access {self.access}, "
                f"kind {CORE_RELO_KINDS.get(self.kind, self.kind)}")

    @property
    def resolves_locally(self) -> bool:
        """Whether the compiled-in value is the answer on any kernel (UAPI type, and not a
        request for the kernel's own BTF type id)."""
        return self.type_name in CORE_STABLE_TYPES and self.kind != CORE_TYPE_ID_TARGET


BPF_OBJ_NAME_LEN = 16


def is_data_section(name: str) -> bool:
    """A global-data section that libbpf turns into a one-element array map."""
    return any(name == base or name.startswith(base + ".") for base in (".data", ".bss", ".rodata"))


def internal_map_name(object_stem: str, section: str) -> str:
    """libbpf's name for a global-data map: the object name (up to its first dot) truncated so that
    prefix + section name fit in 15 characters (`acl_firewa.data`); a section name with a second dot
    (`.rodata.str1.1`, `.data.custom`) is used alone, truncated to 15 characters. Characters other
    than letters, digits, `_` and `.` become `_`."""
    if "." in section[1:]:
        name = section[:BPF_OBJ_NAME_LEN - 1]
    else:
        sfx = section[:BPF_OBJ_NAME_LEN - 1]
        name = object_stem[:max(0, BPF_OBJ_NAME_LEN - len(sfx) - 1)] + sfx
    return "".join(c if c.isalnum() or c in "_." else "_" for c in name)


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
_KIND_NAMES = {KIND_INT: "int", KIND_PTR: "pointer", KIND_ARRAY: "array", KIND_STRUCT: "struct",
               KIND_UNION: "union", KIND_ENUM: "enum", KIND_FWD: "forward", KIND_TYPEDEF: "typedef",
               KIND_FUNC: "func", KIND_VAR: "var", KIND_DATASEC: "datasec", KIND_ENUM64: "enum"}


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
    int_encoding: int = 0    # INT: the encoding word (bit 24 BTF_INT_SIGNED, bit 26 BOOL, ...)


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
            int_encoding = 0
            if kind == KIND_INT:
                int_encoding = struct.unpack_from("<I", blob, pos)[0]
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
                                      array, members, int_encoding))

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

    def map_values_offset(self, map_name: str) -> int | None:
        """Byte offset of the `values` member in the `.maps` struct of `map_name`, or None."""
        sec = self.find_datasec(BTF_MAPS_SECTION)
        for var_id, _off, _size in (sec.members if sec else ()):
            var = self.type(var_id)
            if var.name == map_name:
                _, st = self.skip_modifiers(var.size_or_type)
                for m_name, _m_type, bit_off in st.members:
                    if m_name == "values":
                        return bit_off // 8
        return None

    def find_datasec(self, name: str) -> BtfType | None:
        for t in self.types[1:]:
            if t.kind == KIND_DATASEC and t.name == name:
                return t
        return None

    def map_defs(self) -> list[MapDef]:
        """The maps of the `.maps` DATASEC: each variable is a struct whose members encode the map
        attributes — `__uint(name, v)` is `int (*name)[v]` (pointer to an array of v elements),
        `__type(name, T)` is `T *name` (the size of T) and `__array(values, struct inner)` is
        `struct inner *values[]` (the inner map of a map-in-map, or the program type of a
        prog_array). `pinning` and other attributes are ignored."""
        sec = self.find_datasec(BTF_MAPS_SECTION)
        if sec is None:
            return []
        out = []
        for var_id, _offset, _size in sec.members:
            var = self.type(var_id)
            if var.kind != KIND_VAR:
                raise BtfError(f".maps entry type {var_id} is not a variable")
            out.append(self._map_def(var.name, var.size_or_type, "btf"))
        return out

    def _map_def(self, name: str, type_id: int, source: str, depth: int = 0) -> MapDef:
        _, struct_t = self.skip_modifiers(type_id)
        if struct_t.kind != KIND_STRUCT:
            raise BtfError(f"map {name!r} is not described by a struct")
        attrs = {"type": 0, "key_size": 0, "value_size": 0, "max_entries": 0, "map_flags": 0}
        types = {"key": 0, "value": 0}
        inner = None
        has_values = False
        for m_name, m_type, _ in struct_t.members:
            _, mt = self.skip_modifiers(m_type)
            if m_name in ("key", "value"):
                if mt.kind != KIND_PTR:
                    raise BtfError(f"map {name!r}: {m_name} is not a __type() pointer")
                attrs[f"{m_name}_size"] = self.size_of(mt.size_or_type)
                types[m_name] = mt.size_or_type
            elif m_name == "values":
                has_values = True
                if mt.kind != KIND_ARRAY:
                    raise BtfError(f"map {name!r}: values is not an __array()")
                _, ptr = self.skip_modifiers(mt.array[0])
                if ptr.kind != KIND_PTR:
                    raise BtfError(f"map {name!r}: values is not an array of pointers")
                _, pointee = self.skip_modifiers(ptr.size_or_type)
                # map-in-map: a struct describing the inner map; prog_array: a function prototype
                if pointee.kind == KIND_STRUCT and depth == 0:
                    inner = self._map_def(f"{name}.inner", ptr.size_or_type, "inner", depth + 1)
            elif m_name in attrs:
                if mt.kind != KIND_PTR:
                    raise BtfError(f"map {name!r}: {m_name} is not a __uint() pointer")
                _, arr = self.skip_modifiers(mt.size_or_type)
                if arr.kind != KIND_ARRAY:
                    raise BtfError(f"map {name!r}: {m_name} does not point to an array")
                attrs[m_name] = arr.array[2]
        if has_values and attrs["value_size"] == 0:
            attrs["value_size"] = 4          # libbpf: an inner map's or a program's fd
        return MapDef(name, attrs["type"], attrs["key_size"], attrs["value_size"],
                      attrs["max_entries"], attrs["map_flags"], source=source, inner=inner,
                      section=BTF_MAPS_SECTION if source == "btf" else "",
                      btf_key_type=types["key"], btf_value_type=types["value"])


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
        self.btf = self._btf()
        self.maps, self.map_offsets = self._load_maps()
        self.data_maps = self._data_maps()       # section name -> map name
        for sec_name, map_name in self.data_maps.items():
            if map_name in self.maps:
                raise self.fail(f"global data map {map_name!r} ({sec_name}) clashes with a map "
                                "of the same name")
        self.maps.update(self.data_map_defs)
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
                         [s.name for s in self.sections if s.name], self.btf, self._core_relocs())

    def _btf(self) -> Btf | None:
        sec = self.elf.get_section_by_name(".BTF")
        if sec is None:
            return None
        try:
            return Btf(sec.data())
        except BtfError as exc:
            raise self.fail(f"malformed .BTF: {exc}") from None

    # -- global data (.data, .bss, .rodata*) as one-element array maps, like libbpf --
    def _data_maps(self) -> dict[str, str]:
        out: dict[str, str] = {}
        self.data_map_defs: dict[str, MapDef] = {}
        stem = Path(self.path).name.split(".", 1)[0]
        for sec in self.sections:
            name = sec.name
            if not is_data_section(name) or sec["sh_size"] == 0:
                continue
            if sec["sh_flags"] & SHF_EXECINSTR:
                continue
            map_name = internal_map_name(stem, name)
            if map_name in self.data_map_defs:
                raise self.fail(f"sections {name} and {self.data_map_defs[map_name].section} both "
                                f"become map {map_name!r}")
            size = sec["sh_size"]
            initial = bytes(size) if sec["sh_type"] == "SHT_NOBITS" else sec.data()
            rodata = name == ".rodata" or name.startswith(".rodata.")
            datasec = self.btf.find_datasec(name) if self.btf is not None else None
            datasec_id = self.btf.types.index(datasec) if datasec is not None else 0
            flags = BPF_F_MMAPABLE | (BPF_F_RDONLY_PROG if rodata else 0)
            self.data_map_defs[map_name] = MapDef(
                map_name, BPF_MAP_TYPE_ARRAY, 4, size, 1, flags, source="data", initial=initial,
                frozen=rodata, section=name, btf_value_type=datasec_id)
            out[name] = map_name
        return out

    # -- CO-RE relocations (.BTF.ext): found so that a program using them is refused by name --
    def _core_relocs(self) -> dict[str, list[CoreReloc]]:
        sec = self.elf.get_section_by_name(".BTF.ext")
        if sec is None or self.btf is None:
            return {}
        data = sec.data()
        if len(data) < 8:
            raise self.fail(".BTF.ext shorter than its header")
        magic, _version, _flags, hdr_len = struct.unpack_from("<HBBI", data)
        if magic != BTF_MAGIC:
            raise self.fail(f".BTF.ext magic {magic:#06x}, expected {BTF_MAGIC:#06x}")
        if hdr_len < 32 or len(data) < 32:
            return {}                       # no core_relo_off/len fields: no CO-RE relocations
        core_off, core_len = struct.unpack_from("<II", data, 24)
        if core_len == 0:
            return {}
        pos, end = hdr_len + core_off, hdr_len + core_off + core_len
        if end > len(data) or core_len < 4:
            raise self.fail(".BTF.ext: CO-RE relocation block runs past the section")
        rec_size = struct.unpack_from("<I", data, pos)[0]
        pos += 4
        if rec_size < 16:
            raise self.fail(f".BTF.ext: CO-RE record size {rec_size} < 16")
        out: dict[str, list[CoreReloc]] = {}
        try:
            while pos < end:
                sec_off, count = struct.unpack_from("<II", data, pos)
                pos += 8
                sec_name = self.btf.string(sec_off)
                for _ in range(count):
                    insn_off, type_id, access_off, kind = struct.unpack_from("<IIII", data, pos)
                    pos += rec_size
                    t = self.btf.skip_modifiers(type_id)[1] if type_id else None
                    out.setdefault(sec_name, []).append(CoreReloc(
                        insn_off, t.name if t is not None else "",
                        _KIND_NAMES.get(t.kind, "type") if t is not None else "type 0",
                        self.btf.string(access_off), kind))
        except struct.error:
            raise self.fail(".BTF.ext: truncated CO-RE relocation") from None
        return out

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
            self._static_values(maps, idx, sym_off, Btf(btf_sec.data()))
        return maps, offsets

    def _static_values(self, maps: dict[str, MapDef], idx: int, sym_off: dict[str, int],
                       btf: Btf) -> None:
        """libbpf's static initialization of a prog_array or map-in-map (`.values = { [i] = &x }`):
        relocations in `.rel.maps` against the slots of the `values` member. Each becomes an
        `initial_entries` item (index, "program" | "map", name) of the map's definition."""
        found: dict[str, list[tuple[int, str, str]]] = {}
        starts = sorted((off, name) for name, off in sym_off.items() if name in maps)
        for rsec in self.sections:
            if not isinstance(rsec, RelocationSection) or rsec["sh_info"] != idx:
                continue
            for rel in rsec.iter_relocations():
                r_off = rel["r_offset"]
                sym = self.symbols[rel["r_info_sym"]]
                owner = next((n for o, n in reversed(starts) if o <= r_off), None)
                values_off = btf.map_values_offset(owner) if owner else None
                if owner is None or values_off is None:
                    raise self.fail(f".rel.maps: relocation at {r_off} is not in a map's values")
                index, rem = divmod(r_off - sym_off[owner] - values_off, 8)
                shndx = sym["st_shndx"]
                target_sec = self.sections[shndx].name if isinstance(shndx, int) else None
                if sym["st_info"]["type"] == "STT_FUNC":
                    kind = "program"
                elif target_sec == BTF_MAPS_SECTION:
                    kind = "map"
                else:
                    raise self.fail(f"map {owner!r}: static value {sym.name!r} is neither a "
                                    "program nor a map")
                if rem or index < 0:
                    raise self.fail(f".rel.maps: relocation at {r_off} is not a slot of "
                                    f"{owner!r}'s values")
                found.setdefault(owner, []).append((index, kind, sym.name))
        for name, items in found.items():
            maps[name] = replace(maps[name], initial_entries=tuple(sorted(items)))

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
            out.append((MapDef(s.name, *fields, flags=flags, source="legacy",
                               section=LEGACY_MAPS_SECTION), off))
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
        sym_sec = self.sections[shndx].name if isinstance(shndx, int) and 0 < shndx < len(self.sections) \
            else None
        is_section_sym = sym["st_info"]["type"] == "STT_SECTION"
        name = sym_sec if is_section_sym else sym.name
        map_name = None
        map_offset = None
        if sym_sec in self.data_maps:
            opcode = body[slot * INSN_SIZE]
            if opcode != OP_LD_IMM64:
                raise self.fail(f"malformed relocation in {section} at offset {r_off}: global "
                                f"data {name!r} referenced by opcode {opcode:#04x}, not LD_IMM64")
            # libbpf: value offset = the instruction's imm + the symbol's offset in its section
            map_offset = (struct.unpack_from("<i", body, slot * INSN_SIZE + 4)[0]
                          + sym["st_value"])
            map_name = self.data_maps[sym_sec]
        elif sym_sec in (LEGACY_MAPS_SECTION, BTF_MAPS_SECTION):
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
        return Relocation(index, slot, name or "", rtype, sym_sec, map_name, sym["st_value"],
                          map_offset)


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
    """An XDP program's section: `xdp`, `xdp.frags`, `xdp/...`, and the legacy names libbpf < 1.0
    and iproute2 accepted (any section starting with `xdp`, e.g. `xdp_prog`, `xdp1`)."""
    return name.startswith("xdp")


def _choices(obj: BpfObject) -> str:
    """Every program, with the names `select_program` accepts for it."""
    out = []
    for p in obj.programs.values():
        shared = sum(1 for q in obj.programs.values() if q.section == p.section) > 1
        out.append(f"{p.name} (section {p.section}{', shared' if shared else ''})")
    return ", ".join(out) or "none"


def default_xdp_program(obj: BpfObject) -> Program:
    """The object's XDP program (section `xdp`, `xdp/...` or a legacy `xdp*` name); an error if
    there is none or several."""
    xdp = [p for p in obj.programs.values() if is_xdp_section(p.section)]
    if len(xdp) == 1:
        return xdp[0]
    if not xdp:
        raise ElfError(f"{obj.path}: no XDP program (section 'xdp' or 'xdp/...'); programs: "
                       f"{_choices(obj)}")
    raise ElfError(f"{obj.path}: several XDP programs; choose one by name or section: "
                   + _choices(obj))


def select_program(obj: BpfObject, name: str | None = None) -> Program:
    """The program called `name`: a section name (`xdp`, `xdp/fw`, a legacy `xdp_prog`), a function
    name, or `section/function`. None: the default XDP program. Every name an error lists works."""
    if name is None:
        return default_xdp_program(obj)
    in_sec = [p for p in obj.programs.values() if p.section == name]
    if len(in_sec) == 1:
        return in_sec[0]
    if name in obj.programs:
        return obj.programs[name]
    if len(in_sec) > 1:
        raise ElfError(f"{obj.path}: section {name!r} holds several programs ("
                       + ", ".join(p.name for p in in_sec) + "); name the function")
    for p in obj.programs.values():
        if f"{p.section}/{p.name}" == name:
            return p
    if name in obj.subprograms:
        raise ElfError(f"{obj.path}: {name!r} is a subprogram in .text, not a program; programs: "
                       f"{_choices(obj)}")
    raise ElfError(f"{obj.path}: no program {name!r}; programs: {_choices(obj)}")


def load_program(path: str | Path, section: str | None = None) -> Program:
    """Load one program's own section (unlinked): the XDP one by default, or the one `section`
    names (see `select_program`). Programs that call subprograms or use maps need
    `load_linked`."""
    return select_program(load_object(path), section)


# ---- linking: what the kernel is given --------------------------------------------------------

@dataclass(frozen=True)
class MapReloc:
    """One LD_IMM64 of a linked program that refers to a map.

    kind BPF_PSEUDO_MAP_FD (1): `dst = map` (fd in the low 32 bits of imm); kind
    BPF_PSEUDO_MAP_VALUE (2): `dst = &value[0] + offset` of a one-element/array map (global data),
    fd in the low 32 bits of imm, `offset` in the high 32 bits."""
    insn_index: int          # index into LinkedProgram.insns (LD_IMM64 counts as one)
    map_name: str
    kind: int                # isa.BPF_PSEUDO_MAP_FD or isa.BPF_PSEUDO_MAP_VALUE
    offset: int = 0          # map value: byte offset into the value


@dataclass
class LinkedProgram:
    """A program ready for bpf(BPF_PROG_LOAD), as libbpf would hand it to the kernel.

    `insns`: the program's section followed by every `.text` subprogram it reaches (each once, in
    the order first called), with bpf-to-bpf calls fixed (src_reg = BPF_PSEUDO_CALL, imm = target
    slot - call slot - 1) and callback addresses (LD_IMM64 src_reg = BPF_PSEUDO_FUNC, imm = same
    relative offset). Map loads already carry their pseudo src_reg and a provisional fd: the map's
    position in `maps` (`map_fd_index`), plus the value offset in imm's high 32 bits; the
    interpreter runs `insns` as they are (map k = fd k), the kernel oracle calls
    `relocate({name: fd})` with real fds.

    `maps`: every map of the object (libbpf creates them all), in fd order: BTF `.maps` and legacy
    `maps` definitions, then the global-data maps (`.data`, `.bss`, `.rodata*`, one-element arrays
    with `initial` contents; `.rodata` frozen). `map_relocs`: where each map is referenced.
    `object`: the whole object, for tail calls (prog_array entries name other programs)."""
    name: str
    section: str
    insns: list
    maps: dict[str, MapDef]
    map_relocs: list[MapReloc]
    license: str | None
    object: BpfObject
    subprograms: tuple[str, ...] = ()   # linked .text functions, in order

    def map_fd_index(self, name: str) -> int:
        return list(self.maps).index(name)

    def relocate(self, fds: dict[str, int]) -> list:
        """`insns` with the provisional fds replaced by `fds[map name]` (the offset stays)."""
        out = list(self.insns)
        for r in self.map_relocs:
            insn = out[r.insn_index]
            out[r.insn_index] = isa.Insn(insn.opcode, insn.dst, insn.src, insn.off,
                                         (insn.imm & ~0xFFFF_FFFF) | (fds[r.map_name] & 0xFFFF_FFFF))
        return out


OP_CALL = 0x85


def link_program(obj: BpfObject, name: str | None = None) -> LinkedProgram:
    """Select a program (see `select_program`) and link it. Raises ElfError naming the symbol for
    what cannot be linked: calls to kernel functions (kfuncs), extern variables (`__ksym`,
    `__kconfig`), CO-RE relocations, calls to a function that does not exist."""
    main = select_program(obj, name)
    by_offset: dict[tuple[str, int], Program] = {}
    for p in list(obj.programs.values()) + list(obj.subprograms.values()):
        by_offset[(p.section, p.offset)] = p
    map_index = {m: i for i, m in enumerate(obj.maps)}

    def fail(msg: str) -> ElfError:
        return ElfError(f"{obj.path}: {main.section}/{main.name}: {msg}")

    def callee(p: Program, insn, pc: int, rel: Relocation | None, what: str) -> Program:
        if rel is not None:
            if rel.symbol_section is None:
                raise fail(f"{what} {rel.symbol}: kernel functions (kfuncs) and extern symbols are "
                           "not supported")
            section = rel.symbol_section
            imm = insn.imm if insn.opcode == OP_CALL else isa.sign_extend(insn.imm & 0xFFFF_FFFF, 32)
            # libbpf: call target = symbol offset + (imm + 1) slots; an LD_IMM64 adds imm bytes
            target = (rel.symbol_value + (imm + 1) * INSN_SIZE if insn.opcode == OP_CALL
                      else rel.symbol_value + imm)
        else:
            section, target = p.section, p.offset + (pc + 1 + insn.imm) * INSN_SIZE
        found = by_offset.get((section, target))
        if found is None:
            raise fail(f"{what} at {p.name}+{pc} goes to {section}+{target}, which is not the "
                       "start of a function")
        return found

    order: list[Program] = [main]
    edges: dict[tuple[str, int], Program] = {}     # (function, insn index) -> callee
    i = 0
    while i < len(order):
        p = order[i]
        i += 1
        for core in obj.core_relocs.get(p.section, []):
            if p.offset <= core.insn_off < p.offset + len(p.code) and not core.resolves_locally:
                raise fail(f"CO-RE relocation in {p.name} ({core.describe()}) is not supported "
                           "(only UAPI types such as xdp_md and packet headers resolve without "
                           "the kernel's BTF)")
        rels = {r.insn_index: r for r in p.relocations}
        for idx, (insn, pc) in enumerate(zip(p.insns, isa.slot_pcs(p.insns))):
            rel = rels.get(idx)
            if insn.opcode == OP_CALL and insn.src == isa.BPF_PSEUDO_KFUNC_CALL:
                raise fail(f"call to kernel function {rel.symbol if rel else f'btf_id({insn.imm})'}"
                           " (kfunc) is not supported")
            if insn.opcode == OP_CALL and (insn.src == isa.BPF_PSEUDO_CALL or rel is not None):
                if rel is not None and rel.symbol_section is None:
                    raise fail(f"call to kernel function {rel.symbol} (kfunc) is not supported")
                target = callee(p, insn, pc, rel, "call")
            elif insn.opcode == OP_LD_IMM64 and rel is not None and rel.map_name is None:
                if rel.symbol_section is None:
                    raise fail(f"extern variable {rel.symbol} is not supported (a __ksym or "
                               "__kconfig, or a variable another object defines: link the objects "
                               "first with `bpftool gen object`)")
                if (rel.symbol_section, rel.symbol_value) not in by_offset and \
                        rel.symbol_section not in {q.section for q in by_offset.values()}:
                    raise fail(f"LD_IMM64 of {rel.symbol} in section {rel.symbol_section}, "
                               "which is neither a map, global data nor code")
                target = callee(p, insn, pc, rel, "address of function")
            else:
                continue
            edges[(p.name, idx)] = target
            if target not in order:
                order.append(target)

    starts: dict[str, int] = {}
    slot = 0
    for p in order:
        starts[p.name] = slot
        slot += sum(insn.slots for insn in p.insns)
    insns: list = []
    relocs: list[MapReloc] = []
    for p in order:
        rels = {r.insn_index: r for r in p.relocations}
        base = starts[p.name]
        for idx, (insn, pc) in enumerate(zip(p.insns, isa.slot_pcs(p.insns))):
            target = edges.get((p.name, idx))
            rel = rels.get(idx)
            if target is not None:
                rel_off = starts[target.name] - (base + pc) - 1
                src = isa.BPF_PSEUDO_CALL if insn.opcode == OP_CALL else isa.BPF_PSEUDO_FUNC
                insn = isa.Insn(insn.opcode, insn.dst, src, insn.off,
                                rel_off if insn.opcode == OP_CALL else rel_off & 0xFFFF_FFFF)
            elif rel is not None and rel.map_name is not None:
                fd = map_index[rel.map_name]
                if rel.map_offset is None:
                    kind, imm = isa.BPF_PSEUDO_MAP_FD, fd
                else:
                    kind, imm = isa.BPF_PSEUDO_MAP_VALUE, fd | ((rel.map_offset & 0xFFFF_FFFF) << 32)
                insn = isa.Insn(insn.opcode, insn.dst, kind, insn.off, imm)
                relocs.append(MapReloc(len(insns), rel.map_name, kind, rel.map_offset or 0))
            insns.append(insn)
    return LinkedProgram(main.name, main.section, insns, dict(obj.maps), relocs, obj.license, obj,
                         tuple(p.name for p in order[1:]))


def load_linked(path: str | Path, name: str | None = None) -> LinkedProgram:
    """Load an object and link one program (the XDP one by default): the loader's main entry."""
    return link_program(load_object(path), name)
