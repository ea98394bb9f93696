"""jit/ebpf/fib.py and bpf_fib_lookup: the user's forwarding table, the kernel's result codes and
the fields it fills (egress ifindex, gateway as destination, MACs, MTU), in a clang-built router."""
from __future__ import annotations

import shutil
import struct
import subprocess

import pytest

from jit.ebpf import fib, interp
from jit.ebpf.fib import Fib, FibError
from jit.ebpf.memmap import XDP_DROP, XDP_PASS, XDP_REDIRECT
from jit.ebpf.runtime import load_runtime

TABLE = {
    "interfaces": [{"ifindex": 1, "mac": "02:00:00:00:00:01"},
                   {"ifindex": 2, "mac": "02:00:00:00:00:02", "mtu": 1400},
                   {"ifindex": 3, "mac": "02:00:00:00:00:03", "forwarding": False}],
    "routes": [{"prefix": "10.0.0.0/8", "ifindex": 2, "gateway": "192.168.0.1", "metric": 7},
               {"prefix": "10.9.0.0/16", "ifindex": 2},
               {"prefix": "10.66.0.0/16", "type": "blackhole"},
               {"prefix": "2001:db8::/32", "ifindex": 2}],
    "neighbors": [{"ip": "192.168.0.1", "mac": "aa:bb:cc:dd:ee:01"},
                  {"ip": "2001:db8::5", "mac": "aa:bb:cc:dd:ee:06"}],
}


def params(dst: str, ifindex: int = 1, tot_len: int = 100, family: int = fib.AF_INET) -> bytearray:
    import ipaddress
    p = bytearray(fib.PARAMS_SIZE)
    p[0] = family
    struct.pack_into("<H", p, 6, tot_len)
    struct.pack_into("<I", p, 8, ifindex)
    addr = ipaddress.ip_address(dst).packed
    p[32:32 + len(addr)] = addr
    return p


def test_lookup_result_codes_and_fields():
    t = Fib.from_json(TABLE)
    p = params("10.1.2.3")
    assert t.lookup(p, 0) == fib.RET_SUCCESS
    assert struct.unpack_from("<I", p, 8)[0] == 2                 # egress ifindex
    assert struct.unpack_from("<I", p, 12)[0] == 7                # rt_metric
    assert bytes(p[32:36]) == bytes([192, 168, 0, 1])              # gateway replaces dst
    assert p[52:58] == bytes.fromhex("020000000002")                # smac: egress interface
    assert p[58:64] == bytes.fromhex("aabbccddee01")                # dmac: the neighbour
    assert struct.unpack_from("<H", p, 6)[0] == 1400               # mtu_result
    assert t.lookup(params("10.9.0.1"), 0) == fib.RET_NO_NEIGH       # /16 wins, no neighbour
    assert t.lookup(params("10.9.0.1"), fib.LOOKUP_SKIP_NEIGH) == fib.RET_SUCCESS
    assert t.lookup(params("10.66.1.1"), 0) == fib.RET_BLACKHOLE
    assert t.lookup(params("11.0.0.1"), 0) == fib.RET_NOT_FWDED
    big = params("10.1.2.3", tot_len=1500)
    assert t.lookup(big, 0) == fib.RET_FRAG_NEEDED and struct.unpack_from("<H", big, 6)[0] == 1400
    assert t.lookup(params("10.1.2.3", ifindex=3), 0) == fib.RET_FWD_DISABLED
    assert t.lookup(params("10.1.2.3", ifindex=3), fib.LOOKUP_OUTPUT) == fib.RET_SUCCESS
    assert t.lookup(params("10.1.2.3", ifindex=9), 0) == -fib.ENODEV
    assert t.lookup(params("10.1.2.3", family=7), 0) == -fib.EAFNOSUPPORT
    v6 = params("2001:db8::5", family=fib.AF_INET6)
    assert t.lookup(v6, 0) == fib.RET_SUCCESS and v6[58:64] == bytes.fromhex("aabbccddee06")
    with pytest.raises(FibError, match="TBID/SRC are not modelled"):
        t.lookup(params("10.1.2.3"), fib.LOOKUP_TBID)


@pytest.mark.parametrize("doc, message", [
    ({"routes": [{"prefix": "10.0.0.0/8", "ifindex": 5}]}, "ifindex 5, which no interface has"),
    ({"routes": [{"prefix": "10.0.0.0/8", "type": "local"}]}, "type 'local' is not one of"),
    ({"interfaces": [{"ifindex": 1, "mac": "xx"}]}, "not a MAC address"),
    ({"route": []}, "unknown field 'route'"),
    ({"routes": [{"prefix": "300.0.0.0/8", "type": "blackhole"}]}, "ValueError"),
])
def test_bad_tables_are_one_line_errors(doc, message):
    with pytest.raises(FibError, match=message) as exc:
        Fib.from_json(doc)
    assert "\n" not in str(exc.value)


ROUTER_C = r"""
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#define AF_INET 2
SEC("xdp") int router(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	struct bpf_fib_lookup p = {};
	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	p.family = AF_INET;
	p.tot_len = bpf_ntohs(ip->tot_len);
	p.ifindex = ctx->ingress_ifindex;
	p.ipv4_src = ip->saddr;
	p.ipv4_dst = ip->daddr;
	long rc = bpf_fib_lookup(ctx, &p, sizeof(p), 0);
	if (rc == BPF_FIB_LKUP_RET_BLACKHOLE)
		return XDP_DROP;
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return XDP_PASS;
	__builtin_memcpy(eth->h_dest, p.dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, p.smac, ETH_ALEN);
	return bpf_redirect(p.ifindex, 0);
}
char _license[] SEC("license") = "GPL";
"""


def test_router_program_uses_the_table(tmp_path):
    if shutil.which("clang") is None:
        pytest.skip("clang not installed")
    src, obj = tmp_path / "router.c", tmp_path / "router.o"
    src.write_text(ROUTER_C)
    arch = subprocess.run(["uname", "-m"], capture_output=True, text=True).stdout.strip()
    subprocess.run(["clang", "-O2", "-g", "-target", "bpf", f"-I/usr/include/{arch}-linux-gnu",
                    "-c", str(src), "-o", str(obj)], check=True, capture_output=True)

    def frame(dst: bytes) -> bytes:
        ip = bytes([0x45, 0, 0, 40]) + bytes(8) + bytes([10, 0, 0, 9]) + dst
        return bytes(12) + b"\x08\x00" + ip + bytes(20)
    rt = load_runtime(obj, fib=Fib.from_json(TABLE))
    r = rt.run(frame(bytes([10, 1, 2, 3])))
    assert (r.action, r.redirect) == (XDP_REDIRECT, {"ifindex": 2})
    assert r.packet[:12] == bytes.fromhex("aabbccddee01" "020000000002")
    assert r.packet[12:] == frame(bytes([10, 1, 2, 3]))[12:]
    assert rt.run(frame(bytes([10, 66, 0, 1]))).action == XDP_DROP
    assert rt.run(frame(bytes([10, 9, 0, 1]))).action == XDP_PASS     # no neighbour
    with pytest.raises(interp.InterpError, match="needs a forwarding table"):
        load_runtime(obj).run(frame(bytes([10, 1, 2, 3])))
