"""The kernel oracle with maps (jit.ebpf.kernel): maps through bpf(2) with the kernel's semantics,
whole objects set up from map-contents JSON (private namespace, frozen .rodata, prog_array filled
by program name) and read back in the interpreter's format. Skips where bpf(2) is not permitted."""
from __future__ import annotations

import pytest
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import ARP, Ether

from jit.ebpf.elf import load_linked
from jit.ebpf.kernel import KernelError, kernel_available
from jit.ebpf.kernel import maps as km
from jit.ebpf.kernel.netns import available as netns_available
from jit.ebpf.kernel.objects import KernelObject
from jit.ebpf.maps import contents as mc
from jit.ebpf.memmap import XDP_DROP, XDP_PASS, XDP_REDIRECT
from jit.ebpf.runtime import XdpRuntime
from jit.paths import program_maps_file, program_object

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def kernel():
    ok, reason = kernel_available()
    if not ok:
        pytest.skip(f"kernel oracle unavailable: {reason}")


@pytest.fixture(scope="module")
def netns(kernel):
    ok, reason = netns_available()
    if not ok:
        pytest.skip(f"no private network namespace: {reason}")


def u32(v: int) -> bytes:
    return v.to_bytes(4, "little")


def linked(name: str):
    path = program_object(name)
    if not path.exists():
        pytest.fail(f"{path} missing: run `make programs` first")
    return load_linked(path, name)


def shipped(name: str):
    lp = linked(name)
    return lp, mc.read_file(program_maps_file(name), lp.maps)


def test_hash_map_flags_and_full(kernel):
    with km.KernelMap("t_hash", km.HASH, 4, 8, 2) as m:
        m.update(u32(1), bytes(8), km.BPF_NOEXIST)
        with pytest.raises(KernelError, match="File exists"):
            m.update(u32(1), bytes(8), km.BPF_NOEXIST)
        with pytest.raises(KernelError, match="No such file"):
            m.update(u32(2), bytes(8), km.BPF_EXIST)
        m.update(u32(2), b"\x07" + bytes(7))
        with pytest.raises(KernelError, match="Argument list too long"):   # E2BIG: full
            m.update(u32(3), bytes(8))
        assert sorted(m.keys()) == [u32(1), u32(2)]
        assert m.lookup(u32(2)) == b"\x07" + bytes(7) and m.lookup(u32(3)) is None
        assert m.delete(u32(1)) and not m.delete(u32(1))
        with pytest.raises(KernelError, match="key of 2 bytes"):
            m.lookup(b"\0\0")


def test_percpu_values_one_per_possible_cpu(kernel):
    n = km.possible_cpus()
    with km.KernelMap("t_pcpu", km.PERCPU_ARRAY, 4, 12, 2) as m:   # 12: padded to 16 per CPU
        values = [bytes([i + 1]) * 12 for i in range(n)]
        m.update(u32(1), values)
        assert m.lookup(u32(1)) == values
        m.update(u32(0), b"\x05" * 12)                             # one value fills every CPU
        assert m.lookup(u32(0)) == [b"\x05" * 12] * n
        with pytest.raises(KernelError, match="per-CPU values"):
            m.update(u32(0), [bytes(12)] * (n + 1))


def test_deny_list_counts_and_reads_back(netns):
    lp, contents = shipped("deny_list")
    denied = contents["deny_v4"].entries[0].key               # network order, as in the packet
    src = ".".join(str(b) for b in denied)
    with KernelObject(lp, contents) as ko:
        before = ko.dump()
        assert [e.key for e in before["deny_v4"].entries] == sorted(e.key for e in
                                                                    contents["deny_v4"].entries)
        assert before["verdicts"].entries == []               # all-zero array entries left out
        bad = bytes(Ether() / IP(src=src, dst="10.0.0.1") / UDP())
        good = bytes(Ether() / IP(src="192.0.2.77", dst="10.0.0.1") / UDP())
        assert ko.run(bad)[0] == XDP_DROP
        assert ko.run(bad)[0] == XDP_DROP
        assert ko.run(good) == (XDP_PASS, good)
        after = mc.summed(ko.dump())
    drops = {e.key: e.value for e in after["deny_v4"].entries}
    assert drops[denied] == (2).to_bytes(8, "little")
    verdicts = {e.key: e.value for e in after["verdicts"].entries}
    assert verdicts == {u32(0): (1).to_bytes(8, "little"), u32(1): (2).to_bytes(8, "little")}


def test_rodata_filled_then_frozen(netns):
    lp, contents = shipped("config_filter")
    rodata = next(n for n, d in lp.maps.items() if d.frozen)
    with KernelObject(lp, contents) as ko:
        assert ko.dump()[rodata].entries[0].value == contents[rodata].entries[0].value
        with pytest.raises(KernelError, match="Operation not permitted"):
            ko.maps[rodata].update(u32(0), bytes(7))
        # the file's configuration (max 1000 bytes, port 22 blocked) is what the program sees
        ssh = bytes(Ether() / IP() / TCP(dport=22))
        assert ko.run(ssh)[0] == XDP_DROP
        assert ko.run(bytes(Ether() / IP() / TCP(dport=23)))[0] == XDP_PASS
        assert ko.run(bytes(Ether() / IP() / UDP() / bytes(1000)))[0] == XDP_DROP


def test_devmap_ifindexes_exist_in_the_private_namespace(netns):
    lp, contents = shipped("lpm_router")
    with KernelObject(lp, contents) as ko:
        assert ko.netns is not None and ko.netns.ifindexes == [2, 3, 4]
        routed = bytes(Ether() / IP(dst="10.9.8.7", ttl=9) / UDP())
        action, out = ko.run(routed)
        assert action == XDP_REDIRECT
        assert out[:6] == bytes.fromhex("02000000 0a01") and out[22] == 8      # MAC, TTL - 1
        # 198.51.100.7/32 -> port 3, which the devmap lacks: bpf_redirect_map's miss action
        assert ko.run(bytes(Ether() / IP(dst="198.51.100.7") / UDP()))[0] == XDP_PASS
        devmap = {e.key: e.value for e in ko.dump()["tx_ports"].entries}
    assert devmap == {u32(0): u32(2), u32(1): u32(3), u32(2): u32(4)}


def test_devmap_needs_the_namespace(kernel):
    """Without the private namespace the devmap's ifindexes may not exist: a clear error."""
    lp, contents = shipped("lpm_router")
    contents["tx_ports"].entries[0] = mc.Entry(u32(0), value=u32(0x7FFF_FFF0))
    with pytest.raises(KernelError, match="tx_ports.*update"):
        KernelObject(lp, contents, private_netns=False)


def test_prog_array_slots_by_program_name(netns):
    lp, contents = shipped("tail_dispatch")
    with KernelObject(lp, contents) as ko:
        assert set(ko.programs) == {"tail_dispatch", "tail_ipv4", "tail_ipv6"}
        assert ko.run(bytes(Ether() / IP(ttl=1) / UDP()))[0] == XDP_DROP       # IPv4 handler
        assert ko.run(bytes(Ether() / IPv6(hlim=9) / UDP()))[0] == XDP_PASS    # IPv6 handler
        assert ko.run(bytes(Ether() / ARP()))[0] == XDP_PASS                   # empty slot
        dump = mc.summed(ko.dump())
    assert [(e.key, e.program) for e in dump["handlers"].entries] == \
        [(u32(0), "tail_ipv4"), (u32(1), "tail_ipv6")]
    stages = {e.key: int.from_bytes(e.value, "little") for e in dump["stage_counts"].entries}
    assert stages == {u32(0): 1, u32(1): 1, u32(2): 1}


STATIC_C = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct inner { __uint(type, BPF_MAP_TYPE_ARRAY); __type(key, __u32); __type(value, __u32);
               __uint(max_entries, 1); } verdict SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS); __uint(max_entries, 2); __type(key, __u32);
         __array(values, struct inner); } tables SEC(".maps") = { .values = { [1] = &verdict } };
SEC("xdp/next") int next(struct xdp_md *ctx)
{
	__u32 k = 1, zero = 0;
	void *inner = bpf_map_lookup_elem(&tables, &k);
	__u32 *v = inner ? bpf_map_lookup_elem(inner, &zero) : 0;
	return v ? *v & 3 : XDP_ABORTED;
}
struct { __uint(type, BPF_MAP_TYPE_PROG_ARRAY); __uint(max_entries, 2); __type(key, __u32);
         __array(values, int (struct xdp_md *)); } jump SEC(".maps") = { .values = { [0] = &next } };
SEC("xdp") int entry(struct xdp_md *ctx) { bpf_tail_call(ctx, &jump, 0); return XDP_PASS; }
char _license[] SEC("license") = "GPL";
"""


def test_static_prog_array_and_map_in_map(netns, tmp_path):
    """`.values = {...}` initializers: loaded like libbpf does, read back by name; the user's
    contents still apply on top."""
    import platform
    import shutil
    import subprocess
    if shutil.which("clang") is None:
        pytest.skip("clang not installed")
    (tmp_path / "s.c").write_text(STATIC_C)
    subprocess.run(["clang", "-O2", "-g", "-target", "bpf",
                    f"-I/usr/include/{platform.machine()}-linux-gnu", "-c", str(tmp_path / "s.c"),
                    "-o", str(tmp_path / "s.o")], check=True, capture_output=True)
    lp = load_linked(tmp_path / "s.o", "entry")
    d = lp.maps["verdict"]
    contents = {"verdict": mc.MapContents("verdict", d.type_name, d.key_size, d.value_size,
                                          d.max_entries, [mc.Entry(u32(0), value=u32(XDP_DROP))])}
    frame = bytes(Ether() / IP())
    with KernelObject(lp, contents) as ko:
        assert ko.run(frame)[0] == XDP_DROP            # entry -> next -> tables[1] -> verdict
        dump = ko.dump()
    assert XdpRuntime(lp, maps_in=contents).run(frame).action == XDP_DROP
    assert [(e.key, e.program) for e in dump["jump"].entries] == [(u32(0), "next")]
    assert [(e.key, e.map) for e in dump["tables"].entries] == [(u32(1), "verdict")]


META_C = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("xdp") int meta(struct xdp_md *ctx)
{
	__u32 *m;
	if (bpf_xdp_adjust_meta(ctx, -8))
		return XDP_ABORTED;
	m = (void *)(long)ctx->data_meta;
	if ((void *)(m + 2) > (void *)(long)ctx->data)
		return XDP_ABORTED;
	m[0] = 0xdeadbeef;
	m[1] = ctx->data_end - ctx->data;
	return XDP_PASS;
}
char _license[] SEC("license") = "GPL";
"""


def test_run_returns_the_packet_without_metadata(kernel, tmp_path):
    """BPF_PROG_TEST_RUN hands back metadata + packet; `run` returns data..data_end, like the
    interpreter."""
    import platform
    import shutil
    import subprocess
    if shutil.which("clang") is None:
        pytest.skip("clang not installed")
    (tmp_path / "m.c").write_text(META_C)
    subprocess.run(["clang", "-O2", "-g", "-target", "bpf",
                    f"-I/usr/include/{platform.machine()}-linux-gnu", "-c", str(tmp_path / "m.c"),
                    "-o", str(tmp_path / "m.o")], check=True, capture_output=True)
    lp = load_linked(tmp_path / "m.o")
    frame = bytes(Ether() / IP() / UDP())
    with KernelObject(lp) as ko:
        assert ko.run(frame) == (XDP_PASS, frame)
    r = XdpRuntime(lp).run(frame)
    assert (r.action, r.packet) == (XDP_PASS, frame)


SIZED_C = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __type(key, __u32); __type(value, __u64); }
	per_cpu_count SEC(".maps");          /* max_entries left to the loader */
SEC("xdp") int sized(struct xdp_md *ctx)
{
	__u32 k = 3;
	__u64 *v = bpf_map_lookup_elem(&per_cpu_count, &k);
	if (v)
		*v += 1;
	return XDP_PASS;
}
char _license[] SEC("license") = "GPL";
"""


def test_max_entries_set_by_the_contents_file(netns, tmp_path):
    """A map the object leaves at max_entries 0 is created with the size the contents give."""
    import platform
    import shutil
    import subprocess
    if shutil.which("clang") is None:
        pytest.skip("clang not installed")
    (tmp_path / "z.c").write_text(SIZED_C)
    subprocess.run(["clang", "-O2", "-g", "-target", "bpf",
                    f"-I/usr/include/{platform.machine()}-linux-gnu", "-c", str(tmp_path / "z.c"),
                    "-o", str(tmp_path / "z.o")], check=True, capture_output=True)
    lp = load_linked(tmp_path / "z.o")
    contents = mc.parse({"maps": {"per_cpu_count": {"max_entries": 4, "entries": []}}}, lp.maps)
    frame = bytes(Ether() / IP())
    with KernelObject(lp, contents) as ko:
        assert ko.maps["per_cpu_count"].max_entries == 4
        ko.run(frame)
        dump = mc.summed(ko.dump())
    assert dump["per_cpu_count"].max_entries == 4
    assert [(e.key, e.value) for e in dump["per_cpu_count"].entries] == \
        [(u32(3), (1).to_bytes(8, "little"))]
