"""jit/ebpf/runtime.py and jit/ebpf/helpers.py: clang-built programs with maps, global data,
subprograms, atomics and helpers, run frame after frame with state that persists; every expected
value is computed here from the helper's documented semantics, not copied from a run."""
from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from jit.ebpf import elf, interp
from jit.ebpf.maps import contents
from jit.ebpf.maps.contents import Entry, MapContents
from jit.ebpf.memmap import XDP_ABORTED, XDP_DROP, XDP_PASS, XDP_REDIRECT, XDP_TX
from jit.ebpf.runtime import XdpRuntime, load_runtime

HELPERS_C = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __type(key, __u32); __type(value, __u64);
         __uint(max_entries, 4); } stats SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __type(key, __u32); __type(value, __u64);
         __uint(max_entries, 8); } flows SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_DEVMAP); __uint(key_size, 4); __uint(value_size, 4);
         __uint(max_entries, 4); } ports SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PROG_ARRAY); __uint(key_size, 4); __uint(value_size, 4);
         __uint(max_entries, 4); } jmp SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); } rb SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY); __uint(key_size, 4); __uint(value_size, 4);
         } perf SEC(".maps");

__u64 out64[8];
__u32 out32[8];
static volatile const __u32 verdict = XDP_PASS;

/* one 8-byte record per frame: the helper results under test */
SEC("xdp") int counters(struct xdp_md *ctx)
{
	__u32 k = ctx->rx_queue_index;
	__u64 *c = bpf_map_lookup_elem(&stats, &k);
	if (!c)
		return XDP_ABORTED;
	*c += 1;
	__u32 key = (__u32)(ctx->data_end - ctx->data);
	__u64 one = 1, *v = bpf_map_lookup_elem(&flows, &key);
	if (v)
		__sync_fetch_and_add(v, 1);
	else if (bpf_map_update_elem(&flows, &key, &one, BPF_NOEXIST))
		return XDP_DROP;
	return verdict;
}

SEC("xdp") int clocks(struct xdp_md *ctx)
{
	out64[0] = bpf_ktime_get_ns();
	out64[1] = bpf_ktime_get_boot_ns();
	out64[2] = bpf_get_prandom_u32();
	out64[3] = bpf_get_prandom_u32();
	out64[4] = bpf_get_smp_processor_id();
	return XDP_PASS;
}

SEC("xdp") int atomics(struct xdp_md *ctx)
{
	__u64 s64 = 0xf0;
	__u32 s32 = 0xf0;
	out64[0] = __sync_fetch_and_add(&out64[1], 5);
	out64[2] = __sync_fetch_and_or(&out64[3], 0x11);
	out64[4] = __sync_fetch_and_xor(&s64, 0xff);
	out64[5] = s64;
	out64[6] = __sync_val_compare_and_swap(&out64[7], 0, 42);
	out32[0] = __sync_fetch_and_and(&out32[1], 0x0f);
	out32[2] = __sync_lock_test_and_set(&out32[3], 99);
	out32[4] = __sync_val_compare_and_swap(&s32, 0xf0, 0x0f);
	out32[5] = s32;
	__sync_fetch_and_add(&out32[6], 3);
	return XDP_PASS;
}

SEC("xdp") int redirect(struct xdp_md *ctx)
{
	__u32 q = ctx->rx_queue_index;
	if (q == 0)
		return bpf_redirect(5, 0);
	if (q == 1)
		return bpf_redirect(5, 1);
	return bpf_redirect_map(&ports, q - 2, XDP_TX);
}

SEC("xdp") int resize(struct xdp_md *ctx)
{
	__u32 q = ctx->rx_queue_index;
	long rc;
	if (q == 0)
		rc = bpf_xdp_adjust_head(ctx, -20);
	else if (q == 1)
		rc = bpf_xdp_adjust_head(ctx, 14);
	else if (q == 2)
		rc = bpf_xdp_adjust_tail(ctx, 10);
	else if (q == 3)
		rc = bpf_xdp_adjust_tail(ctx, -10);
	else if (q == 4)
		rc = bpf_xdp_adjust_head(ctx, -300);
	else
		rc = bpf_xdp_adjust_meta(ctx, -8);
	out64[0] = rc;
	out64[1] = bpf_xdp_get_buff_len(ctx);
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	if (data + 1 <= end)
		*(__u8 *)data = 0xee;
	return XDP_PASS;
}

SEC("xdp") int bytes_and_csum(struct xdp_md *ctx)
{
	__u32 buf[4] = {};
	out64[0] = bpf_xdp_load_bytes(ctx, 2, buf, 16);
	out64[1] = bpf_xdp_load_bytes(ctx, 60, buf, 16);
	buf[0] = 0x11223344;
	out64[2] = bpf_xdp_store_bytes(ctx, 0, buf, 4);
	out64[3] = bpf_csum_diff(&buf[1], 8, &buf[2], 4, 7);
	out64[4] = bpf_csum_diff(buf, 3, buf, 4, 0);
	return XDP_PASS;
}

SEC("xdp") int events(struct xdp_md *ctx)
{
	char fmt[] = "len %d q %u x %x";
	__u64 rec = 0xabcdef;
	bpf_trace_printk(fmt, sizeof(fmt), ctx->data_end - ctx->data, ctx->rx_queue_index, 255);
	bpf_ringbuf_output(&rb, &rec, sizeof(rec), 0);
	bpf_perf_event_output(ctx, &perf, BPF_F_CURRENT_CPU | (4ULL << 32), &rec, 4);
	return XDP_PASS;
}

SEC("xdp") int reserve(struct xdp_md *ctx)
{
	__u64 *a = bpf_ringbuf_reserve(&rb, 8, 0);
	if (!a)
		return XDP_ABORTED;
	*a = 0x1122;
	bpf_ringbuf_submit(a, 0);
	__u32 *b = bpf_ringbuf_reserve(&rb, 4, 0);
	if (!b)
		return XDP_ABORTED;
	*b = 7;
	bpf_ringbuf_discard(b, 0);
	if (bpf_ringbuf_reserve(&rb, 8192, 0))      /* larger than the ring: NULL */
		return XDP_DROP;
	return XDP_PASS;
}

struct { __uint(type, BPF_MAP_TYPE_QUEUE); __uint(value_size, 4); __uint(max_entries, 2); } q SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_STACK); __uint(value_size, 4); __uint(max_entries, 2); } st SEC(".maps");
struct bucket { struct bpf_spin_lock lock; __u64 n; };
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __type(key, __u32); __type(value, struct bucket);
         __uint(max_entries, 1); } locked SEC(".maps");

SEC("xdp") int misc(struct xdp_md *ctx)
{
	__u32 v, k = 0;
	for (v = 1; v <= 3; v++) {
		out32[v - 1] = (__u32)bpf_map_push_elem(&q, &v, 0);
		bpf_map_push_elem(&st, &v, BPF_EXIST);
	}
	bpf_map_peek_elem(&q, &out32[3]);
	bpf_map_pop_elem(&q, &out32[4]);
	bpf_map_pop_elem(&st, &out32[5]);
	out32[6] = bpf_get_numa_node_id();
	k = 1;
	__u64 *other = bpf_map_lookup_percpu_elem(&stats, &k, 1);
	out64[0] = other ? *other : 99;
	out64[1] = bpf_map_lookup_percpu_elem(&stats, &k, 5) ? 1 : 0;
	k = 0;
	struct bucket *b = bpf_map_lookup_elem(&locked, &k);
	if (b) {
		bpf_spin_lock(&b->lock);
		b->n += 1;
		bpf_spin_unlock(&b->lock);
	}
	return XDP_PASS;
}

SEC("xdp") int dispatch(struct xdp_md *ctx)
{
	bpf_tail_call(ctx, &jmp, ctx->rx_queue_index);
	return XDP_DROP;                 /* the slot is empty */
}

SEC("xdp/leaf") int leaf(struct xdp_md *ctx) { return XDP_TX; }

SEC("xdp") int mtu(struct xdp_md *ctx)
{
	__u32 len = 0, l3 = 1500;
	out64[0] = bpf_check_mtu(ctx, 0, &len, 0, 0);
	out64[1] = len;
	out64[2] = bpf_check_mtu(ctx, 0, &l3, 64037, 0);     /* 1500 + 64037 > 65536 */
	out64[3] = bpf_check_mtu(ctx, 0, &len, 0, 1);
	out64[4] = bpf_check_mtu(ctx, 7, &len, 0, 0);
	return XDP_PASS;
}

SEC("xdp") int unmodelled(struct xdp_md *ctx)
{
	return bpf_get_stackid(ctx, &stats, 0);
}

char _license[] SEC("license") = "GPL";
"""


@pytest.fixture(scope="module")
def obj(tmp_path_factory) -> Path:
    if shutil.which("clang") is None:
        pytest.skip("clang not installed")
    d = tmp_path_factory.mktemp("rt")
    src, out = d / "helpers.c", d / "helpers.o"
    src.write_text(HELPERS_C)
    arch = subprocess.run(["uname", "-m"], capture_output=True, text=True).stdout.strip()
    subprocess.run(["clang", "-O2", "-g", "-target", "bpf", "-mcpu=v3",
                    f"-I/usr/include/{arch}-linux-gnu", "-c", str(src), "-o", str(out)],
                   check=True, capture_output=True)
    return out


def frame(n: int = 60) -> bytes:
    return bytes(range(n))


def bss(rt: XdpRuntime, fmt: str, offset: int = 0):
    m = rt.maps.maps["helpers.bss"]
    return struct.unpack_from(fmt, m.buf, offset)


def out64(rt: XdpRuntime) -> tuple:
    return bss(rt, "<8Q")


def out32(rt: XdpRuntime) -> tuple:
    return bss(rt, "<8I", 64)


def test_state_persists_across_frames(obj):
    rt = load_runtime(obj, "counters")
    assert rt.stateful
    for n in (60, 60, 70):
        assert rt.run(frame(n)).action == XDP_PASS
    assert rt.run(frame(60), rx_queue_index=1).action == XDP_PASS
    c = {mc: v for mc, v in rt.contents().items()}
    assert c["stats"].entries == [Entry(bytes(4), values=((3).to_bytes(8, "little"), bytes(8))),
                                  Entry(b"\1\0\0\0", values=((1).to_bytes(8, "little"), bytes(8)))]
    flows = {int.from_bytes(e.key, "little"): int.from_bytes(e.value, "little")
             for e in c["flows"].entries}
    assert flows == {60: 3, 70: 1}
    assert rt.run(frame(60), rx_queue_index=9).action == XDP_ABORTED     # lookup out of range


def test_maps_in_fills_and_rodata_is_configurable(obj):
    linked = elf.load_linked(obj, "counters")
    doc = {"maps": {"flows": {"entries": [{"key": (60).to_bytes(4, "little").hex(),
                                           "value": (100).to_bytes(8, "little").hex()}]},
                    "helpers.rodata": {"entries": [{"key": "00000000",
                                                    "value": XDP_TX.to_bytes(4, "little").hex()}]}}}
    rt = XdpRuntime(linked, maps_in=contents.parse(doc, linked.maps))
    assert rt.run(frame(60)).action == XDP_TX
    flows = rt.contents()["flows"].entries
    assert flows == [Entry((60).to_bytes(4, "little"), value=(101).to_bytes(8, "little"))]
    # .rodata is read-only for the program: its map memory is mapped without write access
    ro = rt._pages[rt.maps.maps["helpers.rodata"].base >> interp.PAGE_SHIFT]
    assert not ro.writable


def test_full_hash_map_gives_e2big_to_the_program(obj):
    rt = load_runtime(obj, "counters")
    for n in range(60, 68):                  # 8 distinct lengths fill the 8-entry hash map
        assert rt.run(frame(n)).action == XDP_PASS
    assert rt.run(frame(68)).action == XDP_DROP          # update(NOEXIST) fails: -E2BIG


def test_clock_prandom_cpu_are_deterministic(obj):
    a, b = load_runtime(obj, "clocks", seed=1), load_runtime(obj, "clocks", seed=1)
    a.run(frame(), timestamp_ns=123_456)
    b.run(frame(), timestamp_ns=123_456)
    assert out64(a)[:2] == (123_456, 123_456)
    assert out64(a)[2:4] == out64(b)[2:4]
    assert out64(a)[2] != out64(a)[3] and max(out64(a)[2:4]) < 1 << 32
    c = load_runtime(obj, "clocks", seed=2)
    c.run(frame())
    assert out64(c)[2:4] != out64(a)[2:4]
    assert out64(a)[4] == 0                  # the host is CPU 0


def test_atomics_on_map_values_and_stack(obj):
    rt = load_runtime(obj, "atomics")
    m = rt.maps.maps["helpers.bss"]
    struct.pack_into("<8Q", m.buf, 0, 0, 10, 0, 0x101, 0, 0, 0, 7)
    struct.pack_into("<8I", m.buf, 64, 0, 0x3c, 0, 5, 0, 0, 1, 0)
    rt.run(frame())
    o64, o32 = out64(rt), out32(rt)
    assert (o64[0], o64[1]) == (10, 15)                   # fetch-add returns the old value
    assert (o64[2], o64[3]) == (0x101, 0x111)             # fetch-or
    assert (o64[4], o64[5]) == (0xf0, 0x0f)               # fetch-xor on the stack
    assert (o64[6], o64[7]) == (7, 7)                     # cmpxchg fails: old 7 != 0
    assert (o32[0], o32[1]) == (0x3c, 0x0c)               # 32-bit fetch-and
    assert (o32[2], o32[3]) == (5, 99)                    # xchg
    assert (o32[4], o32[5]) == (0xf0, 0x0f)               # 32-bit cmpxchg on the stack succeeds
    assert o32[6] == 4                                    # plain atomic add


def test_redirect_and_redirect_map(obj):
    linked = elf.load_linked(obj, "redirect")
    ports = {"maps": {"ports": {"entries": [{"key": "01000000", "value": "07000000"}]}}}
    rt = XdpRuntime(linked, maps_in=contents.parse(ports, linked.maps))
    r = rt.run(frame(), rx_queue_index=0)
    assert (r.action, r.redirect) == (XDP_REDIRECT, {"ifindex": 5})
    assert rt.run(frame(), rx_queue_index=1).action == XDP_ABORTED     # flags must be 0
    r = rt.run(frame(), rx_queue_index=3)                              # key 1: present
    assert (r.action, r.redirect) == (XDP_REDIRECT, {"map": "ports", "key": 1, "ifindex": 7})
    r = rt.run(frame(), rx_queue_index=2)                              # key 0: missing
    assert (r.action, r.redirect) == (XDP_TX, None)                    # the flags' fallback


@pytest.mark.parametrize("q, rc, length, first", [
    (0, 0, 80, 0xee),        # head grows by 20: new bytes in front
    (1, 0, 46, 0xee),        # head shrinks by 14
    (2, 0, 70, 0xee),        # tail grows by 10 (zeroed)
    (3, 0, 50, 0xee),        # tail shrinks by 10
    (4, -22, 60, 0xee),      # head past the headroom: -EINVAL, frame unchanged
    (5, 0, 60, 0xee),        # 8 bytes of metadata
])
def test_adjust_head_tail_meta(obj, q, rc, length, first):
    rt = load_runtime(obj, "resize")
    pkt = frame(60)
    r = rt.run(pkt, rx_queue_index=q)
    assert struct.unpack("<q", struct.pack("<Q", out64(rt)[0]))[0] == rc
    assert out64(rt)[1] == length == len(r.packet)
    assert r.packet[0] == first
    if q == 0:
        assert r.packet[20:] == pkt[:20] + pkt[20:] and r.packet[21:80] == pkt[1:60]
    if q == 1:
        assert r.packet[1:] == pkt[15:]
    if q == 2:
        assert r.packet[1:60] == pkt[1:] and r.packet[60:] == bytes(10)
    if q == 3:
        assert r.packet[1:] == pkt[1:50]


def _ones_complement16(data: bytes) -> int:
    """RFC 1071 16-bit sum, computed independently of the helper's 32-bit one."""
    s = sum(int.from_bytes(data[i:i + 2], "little") for i in range(0, len(data), 2))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def test_load_store_bytes_and_csum_diff(obj):
    rt = load_runtime(obj, "bytes_and_csum")
    pkt = frame(60)
    r = rt.run(pkt)
    o = out64(rt)
    assert o[0] == 0 and struct.unpack("<q", struct.pack("<Q", o[1]))[0] == -22   # past the end
    assert o[2] == 0 and r.packet[:4] == (0x11223344).to_bytes(4, "little")
    buf = pkt[2:18]
    frm, to = buf[4:12], buf[8:12]
    # csum_diff(from, to, seed): sum of ~from and to plus seed; fold both to 16 bits and compare
    inverted = bytes(b ^ 0xFF for b in frm)
    expect = _ones_complement16(inverted + to + (7).to_bytes(4, "little"))
    assert _ones_complement16(o[3].to_bytes(4, "little")) == expect
    assert o[3] < 1 << 32
    assert struct.unpack("<q", struct.pack("<Q", o[4]))[0] == -22                 # size 3


def test_events_are_recorded_per_frame(obj):
    rt = load_runtime(obj, "events")
    r = rt.run(frame(60), rx_queue_index=3)
    rec = (0xabcdef).to_bytes(8, "little")
    assert r.events == ({"helper": "bpf_trace_printk", "text": "len 60 q 3 x ff"},
                        {"helper": "bpf_ringbuf_output", "map": "rb", "data": rec.hex()},
                        {"helper": "bpf_perf_event_output", "map": "perf", "data": rec[:4].hex(),
                         "packet": frame(60)[:4].hex()})
    assert rt.run(frame(60)).events[0]["text"] == "len 60 q 0 x ff"   # a new list per frame


def test_tail_call_through_prog_array(obj):
    linked = elf.load_linked(obj, "dispatch")
    doc = {"maps": {"jmp": {"entries": [{"key": "01000000", "program": "xdp/leaf"}]}}}
    rt = XdpRuntime(linked, maps_in=contents.parse(doc, linked.maps))
    r = rt.run(frame(), rx_queue_index=1)
    assert (r.action, r.tail_calls) == (XDP_TX, ("xdp/leaf",))
    r = rt.run(frame(), rx_queue_index=0)                # empty slot: falls through
    assert (r.action, r.tail_calls) == (XDP_DROP, ())


def test_unmodelled_helper_is_named(obj):
    rt = load_runtime(obj, "unmodelled")
    with pytest.raises(interp.UnsupportedInsn, match=r"bpf_get_stackid \(27\)"):
        rt.run(frame())


def test_subprograms_and_global_data_run(tmp_path):
    from tests.test_link import GLOBALS_C, _compile
    rt = load_runtime(_compile(tmp_path, "globals", GLOBALS_C), "prog")
    # data_var = 5 + f2(0) = 5 + 2 * (0 + cfg 3) = 11; result f1(11) & 3 = 14 & 3
    assert rt.run(frame()).action == (11 + 3) & 3
    assert rt.run(frame()).action == (17 + 3) & 3        # data_var keeps growing: 17
    data = rt.contents()["globals.data"].entries[0].value
    assert int.from_bytes(data, "little") == 17
    assert int.from_bytes(rt.contents()["globals.bss"].entries[0].value, "little") == 2


def test_map_free_program_is_not_stateful():
    from jit.paths import program_object
    path = program_object("ttl_router")
    if not path.exists():
        pytest.fail(f"{path} missing: run `make programs` first")
    rt = load_runtime(path)
    assert not rt.stateful and not rt.maps
    pkt = frame(60)
    assert rt.run(pkt) == rt.run(pkt)


def test_contents_round_trip_through_json(obj, tmp_path):
    rt = load_runtime(obj, "counters")
    rt.run(frame(60))
    path = tmp_path / "maps.json"
    contents.write_file(path, rt.contents())
    again = XdpRuntime(elf.load_linked(obj, "counters"),
                       maps_in=contents.read_file(path, rt.maps.defs))
    assert again.contents() == rt.contents()
    assert isinstance(again.contents()["stats"], MapContents)


STATIC_C = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
int leaf_a(struct xdp_md *ctx);
struct inner { __uint(type, BPF_MAP_TYPE_ARRAY); __type(key, __u32); __type(value, __u32);
               __uint(max_entries, 1); } in_a SEC(".maps"), in_b SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS); __uint(max_entries, 2); __type(key, __u32);
         __array(values, struct inner); } outer SEC(".maps") = { .values = { [1] = &in_b } };
struct { __uint(type, BPF_MAP_TYPE_PROG_ARRAY); __uint(max_entries, 3); __type(key, __u32);
         __array(values, int (void *)); } jmp SEC(".maps") = { .values = { [2] = (void *)&leaf_a } };
SEC("xdp") int leaf_a(struct xdp_md *ctx) { return XDP_TX; }
SEC("xdp") int entry(struct xdp_md *ctx)
{
	__u32 k = 1, z = 0;
	void *m = bpf_map_lookup_elem(&outer, &k);
	if (!m || !bpf_map_lookup_elem(m, &z))
		return XDP_ABORTED;
	bpf_tail_call(ctx, &jmp, ctx->rx_queue_index);
	return XDP_DROP;
}
char _license[] SEC("license") = "GPL";
"""


def test_static_map_values_and_map_in_map(tmp_path):
    from tests.test_link import _compile
    obj = _compile(tmp_path, "static", STATIC_C)
    linked = elf.load_linked(obj, "entry")
    assert linked.maps["jmp"].initial_entries == ((2, "program", "leaf_a"),)
    assert linked.maps["outer"].initial_entries == ((1, "map", "in_b"),)
    rt = XdpRuntime(linked)
    assert rt.run(frame(), rx_queue_index=2).action == XDP_TX          # static slot 2
    assert rt.run(frame(), rx_queue_index=0).action == XDP_DROP        # empty slot
    assert rt.contents()["outer"].entries == [Entry((1).to_bytes(4, "little"), map="in_b")]
    from jit.cli.maps import show
    assert "\tvalues [2] = program leaf_a" in show(0, linked.maps["jmp"])


def test_check_mtu_against_the_receiving_loopback(obj):
    rt = load_runtime(obj, "mtu")
    rt.run(frame(100))
    o = [struct.unpack("<q", struct.pack("<Q", v))[0] for v in out64(rt)[:5]]
    assert o[:2] == [0, 65536]                   # fits; the MTU comes back in *mtu_len
    assert o[2] == 1                             # BPF_MTU_CHK_RET_FRAG_NEEDED
    assert o[3] == -22 and o[4] == -19           # flags: -EINVAL; unknown device: -ENODEV


def test_ringbuf_reserve_submit_discard(obj):
    rt = load_runtime(obj, "reserve")
    r = rt.run(frame())
    assert r.action == XDP_PASS
    assert r.events == ({"helper": "bpf_ringbuf_submit", "map": "rb",
                         "data": (0x1122).to_bytes(8, "little").hex()},)
    assert rt.run(frame()).events == r.events            # records do not outlive their frame


def test_queue_stack_percpu_lookup_spin_lock(obj):
    linked = elf.load_linked(obj, "misc")
    doc = {"maps": {"stats": {"entries": [{"key": "01000000",
                                           "values": [u.hex() for u in (bytes(8), (4).to_bytes(8, "little"))]}]}}}
    rt = XdpRuntime(linked, maps_in=contents.parse(doc, linked.maps))
    rt.run(frame())
    o = out32(rt)
    assert [struct.unpack("<i", struct.pack("<I", x))[0] for x in o[:3]] == [0, 0, -7]  # -E2BIG
    assert (o[3], o[4]) == (1, 1)              # queue: FIFO, peek then pop the oldest
    assert o[5] == 3                           # stack with BPF_EXIST: 1 dropped, 3 on top
    assert o[6] == 0
    assert out64(rt)[:2] == (4, 0)             # CPU 1's copy; CPU 5 does not exist
    c = rt.contents()
    assert [e.value for e in c["q"].entries] == [(2).to_bytes(4, "little")]
    assert [e.value for e in c["st"].entries] == [(2).to_bytes(4, "little")]
    assert c["locked"].entries[0].value[8:] == (1).to_bytes(8, "little")   # after the 4-byte lock


from functools import lru_cache  # noqa: E402

from hypothesis import assume, given, settings, strategies as st  # noqa: E402

from jit.paths import PROGRAM_NAMES, program_object  # noqa: E402


@lru_cache(maxsize=None)
def _shipped_runtime(name: str):
    path = program_object(name)
    if not path.exists():
        pytest.fail(f"{path} missing: run `make programs` first")
    return load_runtime(path)


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(PROGRAM_NAMES), st.binary(min_size=14, max_size=160))
def test_runtime_equals_the_plain_interpreter_on_map_free_programs(name, pkt):
    """The runtime adds maps and helpers, nothing else: on the shipped map-free programs it gives
    run_xdp's result for any frame (or the same error)."""
    rt = _shipped_runtime(name)
    assume(not rt.stateful)
    try:
        want = interp.run_xdp(rt.insns, pkt)
    except interp.InterpError as exc:
        with pytest.raises(type(exc)):
            rt.run(pkt)
        return
    got = rt.run(pkt)
    assert (got.action, got.packet, got.insns) == (want.action, want.packet, want.insns)
    assert got.events == () and got.redirect is None
