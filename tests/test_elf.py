"""jit.ebpf.elf: program sections, relocations, legacy and BTF-defined maps, and one-line errors for
everything that is not a usable eBPF object."""
from __future__ import annotations

import random
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from jit.ebpf import elf, isa
from jit.ebpf.elf import (ElfError, R_BPF_64_32, R_BPF_64_64, default_xdp_program, load_object,
                     load_program)
from jit.paths import program_object

BPF_MAP_TYPE_HASH = 1
BPF_MAP_TYPE_ARRAY = 2
BPF_MAP_TYPE_LRU_HASH = 9
BPF_F_NO_COMMON_LRU = 2
BPF_F_NO_PREALLOC = 1

MAPS_C = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* libbpf >= 1.0 dropped struct bpf_map_def; the legacy layout is five u32s. */
struct legacy_map_def { __u32 type, key_size, value_size, max_entries, map_flags; };
struct legacy_map_def legacy_counts SEC("maps") = {
	.type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 16 };
struct legacy_map_def legacy_hash SEC("maps") = {
	.type = BPF_MAP_TYPE_HASH, .key_size = 12, .value_size = 4, .max_entries = 1024,
	.map_flags = BPF_F_NO_PREALLOC };

struct key6 { __u32 addr[4]; __u16 port; };   /* 20 bytes with padding */
typedef __u64 counter_t;
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct key6);
	__type(value, counter_t);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
} flows SEC(".maps");
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(key_size, 4);
	__uint(value_size, 32);
	__uint(max_entries, 8);
} stats SEC(".maps");

static volatile const __u32 threshold = 7;

static __attribute__((noinline)) int bump(__u32 x)
{
	return x * 3 + 1;
}

SEC("xdp")
int with_maps(struct xdp_md *ctx)
{
	__u32 k = 0;
	struct key6 key = {};
	__u64 *v = bpf_map_lookup_elem(&legacy_counts, &k);
	if (v)
		*v += 1;
	if (bpf_map_lookup_elem(&flows, &key))
		return XDP_DROP;
	if (bpf_map_lookup_elem(&stats, &k))
		return XDP_TX;
	if (bpf_map_lookup_elem(&legacy_hash, &k))
		return XDP_ABORTED;
	return bump(ctx->rx_queue_index) > threshold ? XDP_PASS : XDP_DROP;
}

SEC("tc")
int classifier(struct __sk_buff *skb)
{
	return 0;
}

char _license[] SEC("license") = "Dual BSD/GPL";
"""

TWO_XDP_C = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("xdp") int first(struct xdp_md *ctx) { return XDP_PASS; }
SEC("xdp/second") int second(struct xdp_md *ctx) { return XDP_DROP; }
char _license[] SEC("license") = "GPL";
"""

NO_XDP_C = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("socket") int sock(void *ctx) { return 0; }
"""


def _compile(tmp_path: Path, name: str, source: str, target: str = "bpf") -> Path:
    if shutil.which("clang") is None:
        pytest.skip("clang not installed")
    src = tmp_path / f"{name}.c"
    obj = tmp_path / f"{name}.o"
    src.write_text(source)
    arch = subprocess.run(["uname", "-m"], capture_output=True, text=True).stdout.strip()
    subprocess.run(["clang", "-O2", "-g", "-target", target, "-Wall", "-Werror",
                    f"-I/usr/include/{arch}-linux-gnu", "-c", str(src), "-o", str(obj)],
                   check=True, capture_output=True)
    return obj


@pytest.fixture(scope="module")
def maps_obj(tmp_path_factory) -> Path:
    return _compile(tmp_path_factory.mktemp("elf"), "maps", MAPS_C)


# ---- shipped programs ----------------------------------------------------------------------------

def built_program(name: str) -> Path:
    path = program_object(name)
    if not path.exists():
        pytest.fail(f"{path} missing: run `make programs` first")
    return path


def test_shipped_program_loads(program_path):
    path = program_path
    name = path.stem
    obj = load_object(path)
    prog = default_xdp_program(obj)
    assert prog.name == name
    assert prog.section == "xdp"
    assert obj.license == "GPL"
    assert obj.maps == {}
    assert prog.relocations == []           # straight loads/stores only: nothing to relocate
    assert isa.encode(prog.insns) == prog.code
    assert any(insn.opcode == 0x95 for insn in prog.insns)   # has an exit
    # the same bytes as the section itself
    with open(path, "rb") as f:
        assert ELFFile(f).get_section_by_name("xdp").data() == prog.code
    assert load_program(path).code == prog.code
    assert load_program(path, "xdp").code == prog.code
    assert load_program(path, name).code == prog.code   # by function name


# ---- maps -----------------------------------------------------------------------------------------

def test_legacy_maps(maps_obj):
    maps = load_object(maps_obj).maps
    counts, hashed = maps["legacy_counts"], maps["legacy_hash"]
    assert (counts.type, counts.key_size, counts.value_size, counts.max_entries, counts.flags) == \
        (BPF_MAP_TYPE_ARRAY, 4, 8, 16, 0)
    assert (hashed.type, hashed.key_size, hashed.value_size, hashed.max_entries, hashed.flags) == \
        (BPF_MAP_TYPE_HASH, 12, 4, 1024, BPF_F_NO_PREALLOC)
    assert counts.source == hashed.source == "legacy"
    assert counts.type_name == "array" and hashed.type_name == "hash"


def test_btf_maps(maps_obj):
    maps = load_object(maps_obj).maps
    flows, stats = maps["flows"], maps["stats"]
    # __type(key, struct key6): 4*4 + 2, padded to 20; __type(value, typedef u64): 8
    assert (flows.type, flows.key_size, flows.value_size, flows.max_entries, flows.flags) == \
        (BPF_MAP_TYPE_LRU_HASH, 20, 8, 4096, BPF_F_NO_COMMON_LRU)
    assert (stats.type, stats.key_size, stats.value_size, stats.max_entries, stats.flags) == \
        (BPF_MAP_TYPE_ARRAY, 4, 32, 8, 0)
    assert flows.source == stats.source == "btf"
    # the static volatile const becomes libbpf's frozen .rodata map, named after the object
    assert set(maps) == {"legacy_counts", "legacy_hash", "flows", "stats", "maps.rodata"}


def test_btf_parser_on_shipped_program_types():
    """The BTF of a shipped program describes its function; sizes resolve through typedefs."""
    with open(built_program("l4_lb"), "rb") as f:
        btf = elf.Btf(ELFFile(f).get_section_by_name(".BTF").data())
    by_name = {t.name: (i, t) for i, t in enumerate(btf.types) if t is not None and t.name}
    i, xdp_md = by_name["xdp_md"]
    assert xdp_md.kind == elf.KIND_STRUCT and btf.size_of(i) == 24
    assert [m[0] for m in xdp_md.members][:2] == ["data", "data_end"]
    assert by_name["l4_lb"][1].kind == elf.KIND_FUNC
    assert btf.size_of(by_name["__u32"][0]) == 4


def test_malformed_btf_is_one_line_error():
    with pytest.raises(elf.BtfError, match="magic"):
        elf.Btf(b"\x00" * 24)
    header = struct.pack("<HBBIIIII", elf.BTF_MAGIC, 1, 0, 24, 0, 12, 12, 1)
    # one STRUCT type claiming 5 members but with no member data
    bad = header + struct.pack("<III", 0, (elf.KIND_STRUCT << 24) | 5, 8) + b"\0"
    with pytest.raises(elf.BtfError, match="truncated|past the end"):
        elf.Btf(bad)


# ---- relocations ----------------------------------------------------------------------------------

def test_relocations_mark_map_loads(maps_obj):
    obj = load_object(maps_obj)
    prog = obj.programs["with_maps"]
    by_map = {r.map_name: r for r in prog.relocations if r.map_name and r.map_offset is None}
    assert set(by_map) == {"legacy_counts", "legacy_hash", "flows", "stats"}
    for name, rel in by_map.items():
        insn = prog.insns[rel.insn_index]
        assert insn.opcode == 0x18 and insn.src == 0, name   # LD_IMM64, not yet a pseudo map fd
        assert rel.type == R_BPF_64_64 and rel.type_name == "R_BPF_64_64"
        assert rel.symbol == name
        # slot counts 8-byte slots, insn_index counts instructions (LD_IMM64 = 1 insn, 2 slots)
        assert isa.slot_pcs(prog.insns)[rel.insn_index] == rel.slot
    assert prog.map_refs == {r.insn_index: r.map_name for r in by_map.values()}
    # later map loads sit after earlier LD_IMM64s, so slot and index differ
    assert any(r.slot != r.insn_index for r in by_map.values())


def test_relocations_for_global_data_and_calls(maps_obj):
    prog = load_object(maps_obj).programs["with_maps"]
    data = [r for r in prog.relocations if r.map_offset is not None]
    assert [(r.symbol_section, r.type, r.map_name) for r in data] == \
        [(".rodata", R_BPF_64_64, "maps.rodata")]          # the volatile const threshold
    calls = [r for r in prog.relocations if r.type == R_BPF_64_32]
    assert calls and all(prog.insns[r.insn_index].opcode == 0x85 for r in calls)
    assert all(r.symbol_section == ".text" for r in calls)


def test_programs_sections_and_subprograms(maps_obj):
    obj = load_object(maps_obj)
    assert obj.license == "Dual BSD/GPL"
    assert set(obj.programs) == {"with_maps", "classifier"}
    assert obj.programs["classifier"].section == "tc"
    assert "bump" in obj.subprograms and obj.subprograms["bump"].section == ".text"
    assert default_xdp_program(obj).name == "with_maps"
    assert load_program(maps_obj, "tc").name == "classifier"


def _rel_entry_offset(path: Path, rel_section: str, index: int) -> int:
    with open(path, "rb") as f:
        sec = ELFFile(f).get_section_by_name(rel_section)
        return sec["sh_offset"] + index * sec["sh_entsize"]


@pytest.mark.parametrize("patch, message", [
    ("offset_out_of_range", "malformed relocation.*offset"),
    ("offset_unaligned", "malformed relocation.*offset"),
    ("middle_of_lddw", "malformed relocation.*middle of an LD_IMM64"),
    ("symbol_out_of_range", "malformed relocation.*symbol index"),
    ("unknown_type", "malformed relocation.*type"),
])
def test_malformed_relocation(maps_obj, tmp_path, patch, message):
    data = bytearray(maps_obj.read_bytes())
    entry = _rel_entry_offset(maps_obj, ".relxdp", 0)
    r_offset, r_info = struct.unpack_from("<QQ", data, entry)
    sym, rtype = r_info >> 32, r_info & 0xFFFFFFFF
    if patch == "offset_out_of_range":
        r_offset = 1 << 20
    elif patch == "offset_unaligned":
        r_offset += 4
    elif patch == "middle_of_lddw":
        r_offset += 8
    elif patch == "symbol_out_of_range":
        sym = 100000
    else:
        rtype = 77
    struct.pack_into("<QQ", data, entry, r_offset, (sym << 32) | rtype)
    bad = tmp_path / "bad.o"
    bad.write_bytes(bytes(data))
    with pytest.raises(ElfError, match=message) as exc:
        load_object(bad)
    assert "\n" not in str(exc.value)


# ---- errors ---------------------------------------------------------------------------------------

def test_not_an_elf_file(tmp_path):
    path = tmp_path / "prog.o"
    path.write_text("int main(void) { return 0; }\n")
    with pytest.raises(ElfError, match="not an ELF file"):
        load_object(path)
    empty = tmp_path / "empty.o"
    empty.write_bytes(b"")
    with pytest.raises(ElfError, match="not an ELF file"):
        load_object(empty)


def test_missing_file(tmp_path):
    with pytest.raises(ElfError, match="cannot read"):
        load_object(tmp_path / "nope.o")


def test_elf_for_another_machine():
    host = Path("/bin/true").resolve()
    if not host.exists():
        pytest.skip("/bin/true not present")
    with pytest.raises(ElfError, match=r"not eBPF \(e_machine 247\)"):
        load_object(host)


def test_big_endian_bpf(tmp_path):
    obj = _compile(tmp_path, "be", TWO_XDP_C, target="bpfeb")
    with pytest.raises(ElfError, match="big-endian"):
        load_object(obj)


def test_missing_section_names_it_and_lists_what_exists():
    path = built_program("ttl_router")
    with pytest.raises(ElfError) as exc:
        load_program(path, "xdp/nosuch")
    msg = str(exc.value)
    assert "'xdp/nosuch'" in msg and "programs: ttl_router (section xdp)" in msg
    assert "\n" not in msg


def test_no_xdp_program_and_several(tmp_path):
    with pytest.raises(ElfError, match="no XDP program.*socket"):
        default_xdp_program(load_object(_compile(tmp_path, "noxdp", NO_XDP_C)))
    two = load_object(_compile(tmp_path, "two", TWO_XDP_C))
    with pytest.raises(ElfError, match="several XDP programs"):
        default_xdp_program(two)
    assert load_program(two.path, "xdp/second").name == "second"
    assert load_program(two.path, "xdp").name == "first"


def test_every_name_an_error_suggests_is_accepted(tmp_path):
    """The error lists each program by function name and section; both select it."""
    two = load_object(_compile(tmp_path, "two", TWO_XDP_C))
    with pytest.raises(ElfError) as exc:
        elf.select_program(two, "nosuch")
    msg = str(exc.value)
    for p in two.programs.values():
        assert f"{p.name} (section {p.section}" in msg
        assert elf.select_program(two, p.name) is p
        assert elf.select_program(two, p.section) is p
        assert elf.select_program(two, f"{p.section}/{p.name}") is p


def test_truncated_copies(tmp_path):
    """Every prefix of a real object is refused with an ElfError, never another exception."""
    data = built_program("parser_classifier").read_bytes()
    cut = tmp_path / "cut.o"
    cuts = sorted(set(range(0, len(data), max(1, len(data) // 97))) | {4, 63, 64, len(data) - 1})
    for n in cuts:
        cut.write_bytes(data[:n])
        with pytest.raises(ElfError) as exc:
            load_object(cut)
        assert "\n" not in str(exc.value)
        if n >= 64:
            assert "truncated" in str(exc.value), (n, str(exc.value))


def test_corrupted_objects_never_traceback(tmp_path, maps_obj):
    """Random byte corruption: the loader either succeeds or raises a one-line ElfError."""
    rng = random.Random(1234)
    originals = [maps_obj.read_bytes(), built_program("icmp_echo").read_bytes()]
    bad = tmp_path / "fuzz.o"
    for _ in range(300):
        data = bytearray(rng.choice(originals))
        for _ in range(rng.randrange(1, 9)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        bad.write_bytes(bytes(data))
        try:
            obj = load_object(bad)
        except ElfError as exc:
            assert "\n" not in str(exc)
        else:
            assert isinstance(obj, elf.BpfObject)
