"""jit.ebpf.elf linking (`link_program`, `load_linked`): subprograms appended and calls fixed as the
kernel expects, global data as libbpf's one-element array maps, map relocations, map-in-map inner
definitions, and clear refusals of CO-RE relocations, kfuncs and externs."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from jit.ebpf import elf, isa
from jit.ebpf.elf import ElfError, load_linked
from jit.paths import PROGRAM_NAMES, program_object

GLOBALS_C = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __type(key, __u32); __type(value, __u64);
         __uint(max_entries, 4); } cnt SEC(".maps");
struct inner { __uint(type, BPF_MAP_TYPE_HASH); __type(key, __u32); __type(value, __u16);
               __uint(max_entries, 8); } in1 SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS); __uint(max_entries, 2); __type(key, __u32);
         __array(values, struct inner); } outer SEC(".maps");
__u64 counter;
int data_var = 5;
static volatile const __u32 cfg = 3;
static __attribute__((noinline)) int f1(int x) { return x + cfg; }
__attribute__((noinline)) int f2(int x) { return f1(x) * 2; }
static __attribute__((noinline)) int unused(int x) { return x - 1; }
SEC("xdp") int prog(struct xdp_md *ctx)
{
	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem(&cnt, &k);
	if (v)
		*v += 1;
	counter++;
	data_var += f2(ctx->rx_queue_index);
	return f1(data_var) & 3;
}
SEC("xdp/other") int other(struct xdp_md *ctx) { return unused(ctx->rx_queue_index) & 3; }
char _license[] SEC("license") = "GPL";
"""

CORE_C = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
struct pkt_hdr { int a; int b; } __attribute__((preserve_access_index));
SEC("xdp") int core(struct xdp_md *ctx)
{
	struct pkt_hdr *h = (void *)(long)ctx->data;
	return bpf_core_field_exists(h->b) ? XDP_PASS : XDP_DROP;
}
"""

CORE_XDP_MD_C = r"""
#include <linux/types.h>
#include <bpf/bpf_helpers.h>
/* what vmlinux.h gives: the UAPI context, marked for CO-RE */
struct xdp_md { __u32 data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex; }
	__attribute__((preserve_access_index));
SEC("xdp") int core_ok(struct xdp_md *ctx)
{
	return (ctx->data_end - ctx->data > 50 ? 2 : 1) + (ctx->rx_queue_index ? 1 : 0);
}
"""

KFUNC_C = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
extern void bpf_rcu_read_lock(void) __ksym;
SEC("xdp") int kf(struct xdp_md *ctx) { bpf_rcu_read_lock(); return XDP_PASS; }
"""


def _compile(tmp_path: Path, name: str, source: str) -> Path:
    if shutil.which("clang") is None:
        pytest.skip("clang not installed")
    src, obj = tmp_path / f"{name}.c", tmp_path / f"{name}.o"
    src.write_text(source)
    arch = subprocess.run(["uname", "-m"], capture_output=True, text=True).stdout.strip()
    subprocess.run(["clang", "-O2", "-g", "-target", "bpf", f"-I/usr/include/{arch}-linux-gnu",
                    "-c", str(src), "-o", str(obj)], check=True, capture_output=True)
    return obj


@pytest.fixture(scope="module")
def globals_obj(tmp_path_factory) -> Path:
    return _compile(tmp_path_factory.mktemp("link"), "globals", GLOBALS_C)


def _calls(insns) -> list[tuple[int, int]]:
    """(call slot, target slot) of every bpf-to-bpf call."""
    return [(pc, isa.jump_target(i, pc)) for i, pc in zip(insns, isa.slot_pcs(insns))
            if i.opcode == 0x85 and i.src == isa.BPF_PSEUDO_CALL]


def test_subprograms_appended_once_and_calls_point_at_them(globals_obj):
    lp = load_linked(globals_obj, "prog")
    assert (lp.name, lp.section) == ("prog", "xdp")
    assert lp.subprograms == ("f2", "f1")           # reachable ones only, in first-call order
    obj = lp.object
    main_slots = sum(i.slots for i in obj.programs["prog"].insns)
    f2_at = main_slots
    f1_at = f2_at + sum(i.slots for i in obj.subprograms["f2"].insns)
    calls = _calls(lp.insns)
    assert sorted(t for _, t in calls) == sorted([f2_at, f1_at, f1_at])
    # the appended bodies are the subprograms' instructions, calls aside
    body = lp.insns[len(obj.programs["prog"].insns):]
    f2 = obj.subprograms["f2"].insns
    assert [i for i in body[:len(f2)] if i.opcode != 0x85] == [i for i in f2 if i.opcode != 0x85]
    other = load_linked(globals_obj, "other")
    assert other.subprograms == ("unused",)


def test_global_data_becomes_libbpf_maps(globals_obj):
    lp = load_linked(globals_obj, "prog")
    assert list(lp.maps)[:3] == ["cnt", "in1", "outer"]
    bss, data, rodata = lp.maps["globals.bss"], lp.maps["globals.data"], lp.maps["globals.rodata"]
    for m in (bss, data, rodata):
        assert (m.type_name, m.key_size, m.max_entries, m.source) == ("array", 4, 1, "data")
    assert bss.initial == bytes(8) and data.initial == (5).to_bytes(4, "little")
    assert rodata.frozen and not data.frozen
    assert rodata.flags & elf.BPF_F_RDONLY_PROG and not data.flags & elf.BPF_F_RDONLY_PROG
    assert rodata.initial == (3).to_bytes(4, "little")


def test_map_relocations_and_relocate(globals_obj):
    lp = load_linked(globals_obj, "prog")
    kinds = {(r.map_name, r.kind) for r in lp.map_relocs}
    assert ("cnt", isa.BPF_PSEUDO_MAP_FD) in kinds
    assert {("globals.bss", 2), ("globals.data", 2), ("globals.rodata", 2)} <= kinds
    for r in lp.map_relocs:
        insn = lp.insns[r.insn_index]
        assert insn.opcode == 0x18 and insn.src == r.kind
        assert insn.imm & 0xFFFF_FFFF == lp.map_fd_index(r.map_name)
        assert insn.imm >> 32 == r.offset
    fds = {name: 100 + i for i, name in enumerate(lp.maps)}
    out = lp.relocate(fds)
    for r in lp.map_relocs:
        assert out[r.insn_index].imm == fds[r.map_name] | (r.offset << 32)
    assert sum(a != b for a, b in zip(out, lp.insns)) == len(lp.map_relocs)


def test_map_in_map_inner_definition(globals_obj):
    outer = elf.load_object(globals_obj).maps["outer"]
    assert (outer.type_name, outer.key_size, outer.value_size, outer.max_entries) == \
        ("array_of_maps", 4, 4, 2)
    inner = outer.inner
    assert (inner.type_name, inner.key_size, inner.value_size, inner.max_entries) == \
        ("hash", 4, 2, 8)


def test_internal_map_names_follow_libbpf():
    assert elf.internal_map_name("acl_firewall", ".data") == "acl_firewa.data"
    assert elf.internal_map_name("p", ".rodata") == "p.rodata"
    assert elf.internal_map_name("x", ".rodata.str1.1") == ".rodata.str1.1"
    assert elf.internal_map_name("x", ".data.a_rather_long_name") == ".data.a_rather_"


def test_core_relocations_refused_by_name(tmp_path):
    obj = _compile(tmp_path, "core", CORE_C)
    with pytest.raises(ElfError, match=r"CO-RE relocation.*struct pkt_hdr.*not supported.*UAPI"):
        load_linked(obj)


def test_core_on_uapi_types_resolves_to_the_compiled_offsets(tmp_path):
    from jit.ebpf import interp
    obj = _compile(tmp_path, "corexdp", CORE_XDP_MD_C)
    relocs = elf.load_object(obj).core_relocs["xdp"]
    assert relocs and all(r.type_name == "xdp_md" and r.resolves_locally for r in relocs)
    lp = load_linked(obj)
    assert lp.insns == elf.load_program(obj).insns          # nothing to rewrite
    assert interp.run_xdp(lp.insns, bytes(60)).action == 2
    assert interp.run_xdp(lp.insns, bytes(40)).action == 1
    assert interp.run_xdp(lp.insns, bytes(60), rx_queue_index=3).action == 3


def test_kfunc_refused_by_name(tmp_path):
    obj = _compile(tmp_path, "kf", KFUNC_C)
    with pytest.raises(ElfError, match=r"bpf_rcu_read_lock.*not supported"):
        load_linked(obj)


@pytest.mark.parametrize("name", PROGRAM_NAMES)
def test_shipped_programs_link_to_their_own_section(name):
    path = program_object(name)
    if not path.exists():
        pytest.fail(f"{path} missing: run `make programs` first")
    lp = load_linked(path)
    if not lp.subprograms and not lp.map_relocs:
        assert lp.insns == elf.load_program(path).insns
