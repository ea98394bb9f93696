"""The shipped XDP programs do what their header comments say, checked with the reference
interpreter on hand-built packets (and, for acl_firewall and l4_lb, against small Python models of
the rules and the hash). Also the `jitnic interp` subcommand."""
from __future__ import annotations

import functools
import ipaddress
import json
import random
import shutil
import struct
import subprocess

import pytest
from scapy.layers.inet import (ICMP, IP, TCP, UDP, IPOption_LSRR, IPOption_NOP, IPOption_RR,
                               IPOption_Router_Alert, IPOption_SSRR)
from scapy.layers.inet6 import (ICMPv6DestUnreach, ICMPv6EchoReply, ICMPv6EchoRequest, ICMPv6ND_NS,
                                ICMPv6ND_Redirect, IPv6, IPv6ExtHdrHopByHop)
from scapy.layers.l2 import ARP, Dot1AD, Dot1Q, Ether

from jit import cli
from jit.ebpf import interp
from jit.traffic import pcap
from jit.ebpf.elf import load_program
from jit.ebpf.memmap import XDP_DROP, XDP_PASS, XDP_TX, action_name
from jit.paths import program_object
from packets import mixed_packets, varied_packets

A = "02:00:00:00:00:0a"
B = "02:00:00:00:00:0b"


@functools.lru_cache(maxsize=None)
def insns(name: str):
    path = program_object(name)
    if not path.exists():
        pytest.fail(f"{path} missing: run `make programs` first")
    return load_program(path).insns


def run(name: str, pkt) -> interp.XdpResult:
    return interp.run_xdp(insns(name), bytes(pkt))


def eth(**kw) -> Ether:
    return Ether(src=A, dst=B, **kw)


def csum_ok(data: bytes) -> bool:
    """One's-complement sum over data (with its checksum field in place) is 0xffff."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total == 0xFFFF


def scapy_checksum(layer_cls, frame: bytes, field: str) -> tuple[int, int]:
    """(checksum in the frame, checksum scapy computes for the same bytes)."""
    pkt = Ether(bytes(frame))
    got = getattr(pkt[layer_cls], field)
    delattr(pkt[layer_cls], field)
    return got, getattr(Ether(bytes(pkt))[layer_cls], field)


# ---- ipv6_filter ----------------------------------------------------------------------------------

@pytest.mark.parametrize("pkt, action", [
    (eth() / IPv6(src="2001:db8::1", dst="2001:db8::2") / UDP(), XDP_PASS),
    (eth() / IPv6(src="fe80::1", dst="ff02::1") / ICMPv6ND_NS(tgt="fe80::2"), XDP_PASS),
    (eth(type=0x86DD), XDP_PASS),                         # exactly an Ethernet header
    (eth() / IP(src="10.0.0.1", dst="10.0.0.2") / TCP(), XDP_DROP),
    (eth() / ARP(psrc="10.0.0.1", pdst="10.0.0.2"), XDP_DROP),
    (eth() / Dot1Q(vlan=5) / IPv6(), XDP_DROP),           # the outer ethertype is 0x8100
    (eth(type=0x86DC), XDP_DROP),
    (bytes(13), XDP_PASS),                                # runt
    (b"", XDP_PASS),
])
def test_ipv6_filter(pkt, action):
    res = run("ipv6_filter", pkt)
    assert action_name(res.action) == action_name(action)
    assert res.packet == bytes(pkt)


# ---- mac_swap_tx ------------------------------------------------------------------------------

def test_mac_swap_tx_swaps_and_transmits():
    rng = random.Random(5)
    for pkt in mixed_packets(300, seed=11):
        res = run("mac_swap_tx", pkt)
        if len(pkt) < 14:
            assert (res.action, res.packet) == (XDP_PASS, pkt)
        else:
            assert res.action == XDP_TX
            assert res.packet == pkt[6:12] + pkt[0:6] + pkt[12:]
    edge = bytes(rng.randrange(256) for _ in range(14))
    assert run("mac_swap_tx", edge).packet == edge[6:12] + edge[:6] + edge[12:]
    assert run("mac_swap_tx", edge[:13]).action == XDP_PASS


# ---- icmp_echo ----------------------------------------------------------------------------------

def _echo_requests(rng: random.Random, n: int):
    for i in range(n):
        data = bytes(rng.randrange(256) for _ in range(rng.choice([0, 1, 7, 56, 300, 1400])))
        yield Ether(src=A, dst=B) / IP(src=f"192.0.2.{i % 250 + 1}", dst="198.51.100.9",
                                       ttl=rng.randrange(1, 256), id=rng.randrange(65536)) / \
            ICMP(type=8, id=rng.randrange(65536), seq=rng.randrange(65536)) / data


def fold(total: int) -> int:
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def with_checksum(frame: bytes, start: int, end: int, csum_off: int, free_off: int,
                  target: int) -> bytes:
    """`frame` with the checksum field at `csum_off` set to `target` and the 16-bit word at
    `free_off` chosen so that the one's-complement sum over [start, end) is 0xffff (valid)."""
    data = bytearray(frame)
    data[csum_off:csum_off + 2] = target.to_bytes(2, "big")
    data[free_off:free_off + 2] = b"\0\0"
    region = bytes(data[start:end]) + b"\0" * ((end - start) % 2)
    total = fold(sum(struct.unpack(f"!{len(region) // 2}H", region)))
    data[free_off:free_off + 2] = (~total & 0xFFFF).to_bytes(2, "big")
    assert csum_ok(bytes(data[start:end]))
    return bytes(data)


def _echo_with_checksum(target: int) -> bytes:
    """An echo request whose ICMP checksum field is `target` (the sequence number absorbs it)."""
    frame = bytes(Ether(src=A, dst=B) / IP(src="192.0.2.1", dst="192.0.2.2") /
                  ICMP(type=8, id=0x1234) / b"edge")
    return with_checksum(frame, 34, len(frame), 36, 40, target)


def _check_echo_reply(req: Ether, res: interp.XdpResult, canonical: bool = True) -> None:
    """`canonical`: the request's checksums are what scapy computes (then so must the reply's;
    otherwise the reply's checksums need only be valid)."""
    assert res.action == XDP_TX
    raw_req = bytes(req)
    req = Ether(raw_req)
    assert len(res.packet) == len(raw_req)
    rep = Ether(res.packet)
    assert (rep.src, rep.dst) == (req.dst, req.src)
    assert (rep[IP].src, rep[IP].dst) == (req[IP].dst, req[IP].src)
    assert (rep[ICMP].type, rep[ICMP].code) == (0, 0)
    assert (rep[ICMP].id, rep[ICMP].seq) == (req[ICMP].id, req[ICMP].seq)
    assert bytes(rep[ICMP].payload) == bytes(req[ICMP].payload)
    if canonical:
        got, want = scapy_checksum(ICMP, res.packet, "chksum")
        assert got == want, f"ICMP checksum {got:#06x}, scapy computes {want:#06x}"
        got, want = scapy_checksum(IP, res.packet, "chksum")
        assert got == want
    assert csum_ok(res.packet[34:]) and csum_ok(res.packet[14:34])
    # nothing but MACs, addresses, type and checksum changed
    changed = {i for i, (a, b) in enumerate(zip(raw_req, res.packet)) if a != b}
    assert changed <= set(range(12)) | set(range(26, 34)) | {34, 36, 37}


def test_icmp_echo_replies_with_valid_checksums():
    rng = random.Random(99)
    for req in _echo_requests(rng, 150):
        _check_echo_reply(req, run("icmp_echo", req))


@pytest.mark.parametrize("target", [0x0000, 0x0001, 0xF7FF, 0xF800, 0xF801, 0xFFFE, 0xFFFF])
def test_icmp_echo_checksum_edges(target):
    req = _echo_with_checksum(target)
    canonical = scapy_checksum(ICMP, req, "chksum")[1] == target
    _check_echo_reply(req, run("icmp_echo", req), canonical)


def test_icmpv6_echo_reply():
    rng = random.Random(3)
    for i in range(60):
        req = Ether(src=A, dst=B) / IPv6(src=f"2001:db8::{i + 1:x}", dst="2001:db8:ffff::1",
                                         hlim=rng.randrange(256)) / \
            ICMPv6EchoRequest(id=rng.randrange(65536), seq=rng.randrange(65536),
                              data=bytes(rng.randrange(256) for _ in range(rng.randrange(64))))
        res = run("icmp_echo", req)
        assert res.action == XDP_TX
        rep = Ether(res.packet)
        assert (rep.src, rep.dst) == (B, A)
        assert (rep[IPv6].src, rep[IPv6].dst) == (req[IPv6].dst, req[IPv6].src)
        assert rep[IPv6].nh == 58 and ICMPv6EchoReply in rep
        got, want = scapy_checksum(ICMPv6EchoReply, res.packet, "cksum")
        assert got == want


@pytest.mark.parametrize("pkt", [
    eth() / IP() / ICMP(type=0),                                    # echo reply
    eth() / IP() / ICMP(type=3, code=1),
    eth() / IP() / ICMP(type=8, code=1),                            # echo request, wrong code
    eth() / IP(options=[IPOption_NOP()] * 4) / ICMP(type=8),        # IPv4 options: not handled
    eth() / IP(flags="MF") / ICMP(type=8),                          # fragment
    eth() / IP(frag=10) / ICMP(type=8),
    eth() / IP() / UDP(dport=7),
    eth() / IPv6() / ICMPv6EchoReply(),
    eth() / IPv6() / IPv6ExtHdrHopByHop() / ICMPv6EchoRequest(),    # not directly after IPv6
    eth() / Dot1Q() / IP() / ICMP(type=8),
    eth() / ARP(),
])
def test_icmp_echo_passes_everything_else(pkt):
    res = run("icmp_echo", pkt)
    assert (res.action, res.packet) == (XDP_PASS, bytes(pkt))


def test_icmp_echo_truncated_request_passes():
    req = bytes(eth() / IP() / ICMP(type=8) / b"abcd")
    for n in range(0, 14 + 20 + 8):
        res = run("icmp_echo", req[:n])
        assert (res.action, res.packet) == (XDP_PASS, req[:n]), n
    assert run("icmp_echo", req[:42]).action == XDP_TX


# ---- ttl_router ---------------------------------------------------------------------------------

def _ip_with_checksum(target: int, ttl: int) -> bytes:
    """An IPv4 frame whose header checksum field is `target` (the IP id absorbs it)."""
    frame = bytes(eth() / IP(src="10.1.2.3", dst="10.4.5.6", ttl=ttl) / UDP())
    return with_checksum(frame, 14, 34, 24, 18, target)


def _check_forwarded(pkt, res: interp.XdpResult, canonical: bool = True) -> None:
    raw = bytes(pkt)
    ihl = (raw[14] & 0xF) * 4
    assert res.action == XDP_PASS
    assert res.packet[22] == raw[22] - 1                           # TTL
    if canonical:
        got, want = scapy_checksum(IP, res.packet, "chksum")
        assert got == want, f"IP checksum {got:#06x}, scapy computes {want:#06x}"
    assert csum_ok(res.packet[14:14 + ihl])
    assert res.packet[:22] == raw[:22] and res.packet[26:] == raw[26:]


def test_ttl_router_decrements_with_valid_checksum():
    rng = random.Random(8)
    for ttl in list(range(2, 256)):
        opts = rng.choice([[], [], [IPOption_NOP()] * 4, [IPOption_RR(routers=["1.2.3.4"] * 3)]])
        pkt = eth() / IP(src="10.0.0.1", dst="10.9.9.9", ttl=ttl, id=rng.randrange(65536),
                         options=opts) / TCP(dport=rng.randrange(65536))
        _check_forwarded(pkt, run("ttl_router", pkt))


@pytest.mark.parametrize("target", [0x0000, 0x00FF, 0x0100, 0xFEFF, 0xFF00, 0xFFFE, 0xFFFF])
def test_ttl_router_checksum_edges(target):
    pkt = _ip_with_checksum(target, ttl=64)
    canonical = scapy_checksum(IP, pkt, "chksum")[1] == target
    _check_forwarded(pkt, run("ttl_router", pkt), canonical)


@pytest.mark.parametrize("ttl", [0, 1])
def test_ttl_router_drops_expiring(ttl):
    assert run("ttl_router", eth() / IP(ttl=ttl) / UDP()).action == XDP_DROP


@pytest.mark.parametrize("pkt", [
    eth() / IPv6(hlim=1) / UDP(),
    eth() / ARP(),
    eth() / Dot1Q() / IP(ttl=1),
    bytes(eth() / IP(ttl=1))[:33],                       # IPv4 header cut short
    bytes(eth() / IP(ttl=1, ihl=4)),                     # IHL < 5
    bytes(eth(type=0x0800) / IPv6(hlim=1)),              # version 6 under the IPv4 ethertype
    bytes(10),
])
def test_ttl_router_passes_non_ipv4_unchanged(pkt):
    res = run("ttl_router", pkt)
    assert (res.action, res.packet) == (XDP_PASS, bytes(pkt))


# ---- l4_lb ----------------------------------------------------------------------------------------

def lb_backend(saddr: str, daddr: str, proto: int, sport: int, dport: int) -> int:
    """Python model of l4_lb's hash (see programs/l4_lb.c)."""
    m32 = 0xFFFFFFFF
    s, d = int(ipaddress.IPv4Address(saddr)), int(ipaddress.IPv4Address(daddr))
    h = s ^ ((d * 31) & m32) ^ ((sport << 16) | dport) ^ (proto << 24)
    h ^= h >> 16
    h = (h * 0x9E3779B1) & m32
    h ^= h >> 15
    return h >> 30


def _flows(rng: random.Random, n: int):
    for _ in range(n):
        src = str(ipaddress.IPv4Address(rng.randrange(1 << 32)))
        dst = rng.choice(["203.0.113.80", "203.0.113.81", "192.0.2.10"])
        sport, dport = rng.randrange(1024, 65536), rng.choice([80, 443, 53, 8080])
        l4 = rng.choice([TCP(sport=sport, dport=dport, flags="S", seq=rng.randrange(1 << 32)),
                         UDP(sport=sport, dport=dport)])
        yield eth() / IP(src=src, dst=dst, ttl=64) / l4 / bytes(rng.randrange(40))


def test_l4_lb_rewrites_and_distributes():
    rng = random.Random(4)
    per_backend = [0] * 4
    flows = list(_flows(rng, 1200))
    for pkt in flows:
        res = run("l4_lb", pkt)
        assert res.action == XDP_TX
        out = Ether(res.packet)
        idx = lb_backend(pkt[IP].src, pkt[IP].dst, pkt[IP].proto, pkt.sport, pkt.dport)
        per_backend[idx] += 1
        assert out.dst == f"02:00:00:00:01:0{idx}" and out.src == B
        assert out[IP].dst == f"10.10.0.{10 + idx}" and out[IP].src == pkt[IP].src
        for layer, field in ((IP, "chksum"), (TCP if TCP in pkt else UDP, "chksum")):
            got, want = scapy_checksum(layer, res.packet, field)
            assert got == want, f"{layer.__name__} checksum {got:#06x}, scapy {want:#06x}"
        # only MACs, destination IP and checksums change
        changed = {i for i, (a, b) in enumerate(zip(bytes(pkt), res.packet)) if a != b}
        l4_csum = {50, 51} if TCP in pkt else {40, 41}
        assert changed <= set(range(12)) | {24, 25} | set(range(30, 34)) | l4_csum
    assert all(n > len(flows) // 8 for n in per_backend), per_backend


def test_l4_lb_same_flow_same_backend():
    a = eth() / IP(src="198.18.0.1", dst="203.0.113.80", ttl=64) / TCP(sport=40000, dport=443)
    b = eth() / IP(src="198.18.0.1", dst="203.0.113.80", ttl=9, id=77) / \
        TCP(sport=40000, dport=443, flags="PA") / b"payload"
    assert run("l4_lb", a).packet[:6] == run("l4_lb", b).packet[:6]


def test_l4_lb_udp_without_checksum_stays_without():
    pkt = eth() / IP(src="198.18.0.1", dst="203.0.113.80") / UDP(sport=5, dport=53, chksum=0) / b"q"
    res = run("l4_lb", pkt)
    assert res.action == XDP_TX and Ether(res.packet)[UDP].chksum == 0


@pytest.mark.parametrize("pkt", [
    eth() / IP() / ICMP(),
    eth() / IPv6() / TCP(),
    eth() / IP(flags="MF") / TCP(),
    eth() / IP(frag=100) / UDP(),
    eth() / IP(options=[IPOption_Router_Alert()]) / TCP(),
    bytes(eth() / IP() / TCP())[:14 + 20 + 19],          # TCP header cut short
    bytes(eth() / IP() / UDP())[:14 + 20 + 7],
    eth() / ARP(),
    bytes(12),
])
def test_l4_lb_passes_everything_else(pkt):
    res = run("l4_lb", pkt)
    assert (res.action, res.packet) == (XDP_PASS, bytes(pkt))


# ---- acl_firewall ---------------------------------------------------------------------------------

ANY4, ANY6 = "0.0.0.0/0", "::/0"
ANYP = (0, 65535)
# (action, family, src, dst, proto (0 any), sport range, dport range): programs/acl_firewall.c
ACL = [
    (XDP_PASS, 4, "192.168.0.0/16", ANY4, 6, ANYP, (22, 22)),
    (XDP_DROP, 4, ANY4, ANY4, 6, ANYP, (22, 22)),
    (XDP_DROP, 4, "203.0.113.0/24", ANY4, 0, ANYP, ANYP),
    (XDP_PASS, 4, ANY4, "10.0.0.0/8", 17, ANYP, (53, 53)),
    (XDP_PASS, 4, ANY4, "10.1.0.0/16", 6, ANYP, (80, 443)),
    (XDP_DROP, 4, ANY4, ANY4, 17, (1024, 65535), (6000, 6999)),
    (XDP_PASS, 4, "10.0.0.0/8", ANY4, 17, ANYP, (1024, 65535)),
    (XDP_PASS, 4, ANY4, "198.51.100.7/32", 6, (1024, 65535), (8000, 8080)),
    (XDP_PASS, 4, ANY4, ANY4, 1, ANYP, ANYP),
    (XDP_PASS, 6, "2001:db8::/32", ANY6, 6, ANYP, (443, 443)),
    (XDP_PASS, 6, "fe80::/10", ANY6, 17, ANYP, (546, 547)),
    (XDP_DROP, 6, ANY6, "2001:db8:bad::/48", 0, ANYP, ANYP),
    (XDP_PASS, 6, "2001:db8:1::/64", "2001:db8:2::1/128", 17, ANYP, (5000, 5999)),
    (XDP_DROP, 6, ANY6, ANY6, 6, ANYP, (0, 1023)),
    (XDP_PASS, 6, ANY6, ANY6, 58, ANYP, ANYP),
    (XDP_PASS, 6, ANY6, ANY6, 17, (1024, 65535), (1024, 65535)),
]
ACL_DEFAULT = XDP_DROP


def acl_model(frame: bytes) -> int:
    """Independent model of acl_firewall's key extraction and rule list."""
    if len(frame) < 14:
        return XDP_PASS
    etype = int.from_bytes(frame[12:14], "big")
    if etype == 0x0800:
        ip = frame[14:]
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[0] & 0xF != 5:
            return XDP_DROP
        fam, src, dst, proto = 4, ip[12:16], ip[16:20], ip[9]
        l4 = ip[20:] if int.from_bytes(ip[6:8], "big") & 0x1FFF == 0 else None
    elif etype == 0x86DD:
        ip = frame[14:]
        if len(ip) < 40 or ip[0] >> 4 != 6:
            return XDP_DROP
        fam, src, dst, proto, l4 = 6, ip[8:24], ip[24:40], ip[6], ip[40:]
    else:
        return XDP_PASS
    sport = dport = 0
    if proto in (6, 17) and l4 is not None:
        if len(l4) < 4:
            return XDP_DROP
        sport, dport = struct.unpack("!HH", l4[:4])
    s, d = ipaddress.ip_address(bytes(src)), ipaddress.ip_address(bytes(dst))
    for action, rfam, rsrc, rdst, rproto, (slo, shi), (dlo, dhi) in ACL:
        if (rfam == fam and s in ipaddress.ip_network(rsrc) and d in ipaddress.ip_network(rdst)
                and (rproto == 0 or rproto == proto) and slo <= sport <= shi and dlo <= dport <= dhi):
            return action
    return ACL_DEFAULT


def v4(src, dst, l4):
    return eth() / IP(src=src, dst=dst) / l4


def v6(src, dst, l4):
    return eth() / IPv6(src=src, dst=dst) / l4


@pytest.mark.parametrize("pkt, action", [
    (v4("192.168.7.7", "8.8.8.8", TCP(dport=22)), XDP_PASS),       # rule 1 before rule 2
    (v4("192.169.0.1", "8.8.8.8", TCP(dport=22)), XDP_DROP),
    (v4("203.0.113.9", "10.0.0.1", UDP(dport=53)), XDP_DROP),      # rule 3 before rule 4
    (v4("8.8.8.8", "10.200.0.1", UDP(dport=53)), XDP_PASS),
    (v4("8.8.8.8", "11.0.0.1", UDP(dport=53)), XDP_DROP),          # default
    (v4("8.8.8.8", "10.1.0.1", TCP(dport=80)), XDP_PASS),          # range edges
    (v4("8.8.8.8", "10.1.0.1", TCP(dport=443)), XDP_PASS),
    (v4("8.8.8.8", "10.1.0.1", TCP(dport=79)), XDP_DROP),
    (v4("8.8.8.8", "10.1.0.1", TCP(dport=444)), XDP_DROP),
    (v4("10.0.0.5", "8.8.8.8", UDP(sport=1024, dport=6000)), XDP_DROP),
    (v4("10.0.0.5", "8.8.8.8", UDP(sport=1023, dport=6000)), XDP_PASS),   # rule 7
    (v4("10.0.0.5", "8.8.8.8", UDP(sport=1024, dport=7000)), XDP_PASS),
    (v4("1.1.1.1", "198.51.100.7", TCP(sport=1024, dport=8080)), XDP_PASS),
    (v4("1.1.1.1", "198.51.100.8", TCP(sport=1024, dport=8080)), XDP_DROP),
    (v4("1.1.1.1", "198.51.100.7", TCP(sport=1023, dport=8080)), XDP_DROP),
    (v4("1.1.1.1", "2.2.2.2", ICMP()), XDP_PASS),
    (eth() / IP(src="1.1.1.1", dst="10.1.0.1", options=[IPOption_NOP()] * 4) / TCP(dport=80),
     XDP_DROP),                                                    # options: dropped by policy
    (eth() / IP(src="8.8.8.8", dst="10.9.0.1", frag=20) / UDP(dport=53), XDP_DROP),  # ports 0
    (bytes(v4("8.8.8.8", "10.9.0.1", UDP(dport=53)))[:14 + 20 + 3], XDP_DROP),       # short L4
    (bytes(v4("8.8.8.8", "10.9.0.1", UDP(dport=53)))[:14 + 20 + 4], XDP_PASS),
    (v6("2001:db8:5::1", "2001:db9::1", TCP(dport=443)), XDP_PASS),
    (v6("2001:db9::1", "2001:db8::1", TCP(dport=443)), XDP_DROP),  # rule 14: TCP < 1024
    (v6("fe80::1", "ff02::1:2", UDP(sport=546, dport=547)), XDP_PASS),
    (v6("fec0::1", "ff02::1:2", UDP(sport=546, dport=547)), XDP_DROP),
    (v6("2001:db8::1", "2001:db8:bad::1", ICMPv6EchoRequest()), XDP_DROP),
    (v6("2001:db8::1", "2001:db8:bae::1", ICMPv6EchoRequest()), XDP_PASS),
    (v6("2001:db8:1::9", "2001:db8:2::1", UDP(sport=53, dport=5000)), XDP_PASS),
    (v6("2001:db8:1::9", "2001:db8:2::2", UDP(sport=53, dport=5000)), XDP_DROP),
    (v6("2001:db8:1:1::9", "2001:db8:2::1", UDP(sport=53, dport=5999)), XDP_DROP),
    (v6("2001:db9::1", "2001:db9::2", UDP(sport=1024, dport=65535)), XDP_PASS),
    (v6("2001:db9::1", "2001:db9::2", TCP(sport=1024, dport=1024)), XDP_DROP),       # default
    (eth() / ARP(), XDP_PASS),
    (eth() / Dot1Q() / IP() / TCP(dport=22), XDP_PASS),            # not IP at the outer level
    (bytes(9), XDP_PASS),
])
def test_acl_firewall_cases(pkt, action):
    res = run("acl_firewall", pkt)
    assert action_name(res.action) == action_name(action)
    assert acl_model(bytes(pkt)) == action
    assert res.packet == bytes(pkt)


def test_acl_firewall_matches_model_on_varied_packets():
    seen = set()
    for i, pkt in enumerate(varied_packets("acl_firewall", 1500, seed=42)):
        want = acl_model(pkt)
        got = run("acl_firewall", pkt).action
        assert got == want, f"#{i}: program {action_name(got)}, model {action_name(want)} " \
                            f"for {pkt.hex()}"
        seen.add(want)
    assert seen == {XDP_PASS, XDP_DROP}


# ---- parser_classifier ----------------------------------------------------------------------------

def qinq(outer_tpid: int, vid: int, inner):
    tag = Dot1AD(vlan=vid) if outer_tpid == 0x88A8 else Dot1Q(vlan=vid)
    return eth() / tag / Dot1Q(vlan=20) / inner


@pytest.mark.parametrize("pkt, action", [
    (eth() / IP() / TCP(dport=80, flags="S"), XDP_PASS),
    (eth() / IP() / TCP(dport=80, flags=""), XDP_DROP),                # null scan
    (eth() / IP() / TCP(dport=80, flags="SF"), XDP_DROP),
    (eth() / IP() / TCP(dport=23, flags="S"), XDP_DROP),
    (eth() / IP() / UDP(dport=53), XDP_PASS),
    (eth() / IP() / UDP(dport=7), XDP_TX),
    (eth() / IP() / UDP(dport=33434), XDP_DROP),
    (eth() / IP() / UDP(dport=33534), XDP_DROP),
    (eth() / IP() / UDP(dport=33535), XDP_PASS),
    (eth() / IP() / ICMP(type=8), XDP_TX),
    (eth() / IP() / ICMP(type=0), XDP_PASS),
    (eth() / IP() / ICMP(type=13), XDP_DROP),
    (eth() / IP() / ICMP(type=17), XDP_DROP),
    (eth() / IP(proto=47) / b"gre!", XDP_PASS),
    (eth() / IP(frag=5) / bytes(8), XDP_PASS),                     # non-first fragment
    # options: the L4 header moves with IHL
    (eth() / IP(options=[IPOption_NOP()] * 4) / UDP(dport=7), XDP_TX),
    (eth() / IP(options=[IPOption_RR(routers=["1.1.1.1"] * 9)]) / UDP(dport=7), XDP_TX),
    (eth() / IP(options=[IPOption_RR(routers=["1.1.1.1"] * 9)]) / TCP(dport=23), XDP_DROP),
    (eth() / IP(options=[IPOption_Router_Alert()]) / ICMP(type=8), XDP_TX),
    (eth() / IP(options=[IPOption_LSRR(routers=["1.1.1.1"])]) / UDP(dport=53), XDP_DROP),
    (eth() / IP(options=[IPOption_SSRR(routers=["1.1.1.1"])]) / UDP(dport=53), XDP_DROP),
    (bytes(eth() / IP(options=[IPOption_NOP()] * 8) / UDP(dport=7))[:14 + 28 + 7], XDP_DROP),
    (bytes(eth() / IP(ihl=4) / UDP()), XDP_DROP),
    (bytes(eth() / IP(ihl=15) / UDP())[:14 + 40], XDP_DROP),           # header longer than frame
    (eth() / IPv6() / TCP(dport=443, flags="S"), XDP_PASS),
    (eth() / IPv6() / UDP(dport=7), XDP_TX),
    (eth() / IPv6() / ICMPv6EchoRequest(), XDP_TX),
    (eth() / IPv6() / ICMPv6ND_Redirect(), XDP_DROP),
    (eth() / IPv6() / ICMPv6DestUnreach(), XDP_PASS),
    (eth() / IPv6() / IPv6ExtHdrHopByHop() / UDP(dport=7), XDP_PASS),  # ext headers not followed
    (bytes(eth() / IPv6() / UDP())[:14 + 39], XDP_DROP),
    (eth() / Dot1Q(vlan=100) / IP() / UDP(dport=7), XDP_TX),
    (eth() / Dot1Q(vlan=4095) / IP() / UDP(dport=7), XDP_DROP),
    (qinq(0x88A8, 10, IP() / ICMP(type=8)), XDP_TX),
    (qinq(0x88A8, 4095, IP() / ICMP(type=8)), XDP_DROP),
    (qinq(0x8100, 10, IPv6() / ICMPv6EchoRequest()), XDP_TX),
    (qinq(0x88A8, 10, IPv6() / TCP(dport=23, flags="S")), XDP_DROP),
    (eth() / Dot1AD(vlan=1) / Dot1Q(vlan=2) / Dot1Q(vlan=3) / IP(), XDP_DROP),  # three tags
    (eth() / Dot1AD(vlan=1) / IP() / UDP(dport=7), XDP_TX),            # single 802.1ad tag
    (bytes(eth() / Dot1Q(vlan=1) / IP())[:16], XDP_DROP),              # tag cut short
    (eth() / ARP(), XDP_PASS),
    (eth() / Dot1Q(vlan=7) / ARP(), XDP_PASS),
    (eth(type=0x88CC) / b"lldp", XDP_DROP),
    (eth(type=0x9000) / b"loop", XDP_PASS),
    (bytes(13), XDP_DROP),
])
def test_parser_classifier_cases(pkt, action):
    res = run("parser_classifier", pkt)
    assert action_name(res.action) == action_name(action)
    assert res.packet == bytes(pkt)          # a classifier never rewrites


# ---- dscp_marker (bpf_xdp_load_bytes / bpf_xdp_store_bytes) --------------------------------------

def run_helpers(name: str, pkt):
    """A program that calls helpers runs through its runtime (jit.ebpf.runtime)."""
    from jit.ebpf.elf import load_linked
    from jit.ebpf.runtime import XdpRuntime
    return XdpRuntime(load_linked(program_object(name), name)).run(bytes(pkt))


@pytest.mark.parametrize("l4, dscp", [
    (UDP(dport=16384), 46), (UDP(dport=20000), 46), (UDP(dport=32767), 46), (UDP(dport=32768), 0),
    (UDP(dport=16383), 0), (TCP(dport=20000), 0),            # voice: UDP in the RTP range only
    (TCP(dport=22), 16), (UDP(dport=23), 16),                # OAM: either protocol
    (TCP(dport=80), 18), (TCP(dport=443), 18), (UDP(dport=443), 0),
    (TCP(dport=3389), 34), (UDP(dport=3389), 0), (TCP(dport=25), 0), (ICMP(), 0),
])
@pytest.mark.parametrize("tos", [0, 3, 0xB8, 0xFE])
@pytest.mark.parametrize("opts", [[], [IPOption_NOP()] * 4])
def test_dscp_marker_remarks_by_class_keeping_ecn(l4, dscp, tos, opts):
    pkt = eth() / IP(src="192.0.2.1", dst="198.51.100.2", tos=tos, options=opts) / l4 / b"data"
    raw, res = bytes(pkt), run_helpers("dscp_marker", pkt)
    want = dscp << 2 | tos & 3
    assert res.action == XDP_PASS and res.packet[15] == want
    if want == tos:
        assert res.packet == raw
    else:
        got, ref = scapy_checksum(IP, res.packet, "chksum")
        assert got == ref, f"IP checksum {got:#06x}, scapy computes {ref:#06x}"
        assert res.packet[:15] == raw[:15] and res.packet[16:24] == raw[16:24]
        assert res.packet[26:] == raw[26:]


def test_dscp_marker_fragments_and_cut_l4_headers_get_cs0():
    first = eth() / IP(tos=0xB9, flags="MF") / TCP(dport=22)
    assert run_helpers("dscp_marker", first).packet[15] == 16 << 2 | 1     # first fragment: classified
    later = eth() / IP(tos=0xB9, frag=100) / TCP(dport=22)
    assert run_helpers("dscp_marker", later).packet[15] == 1                # no L4 header: CS0
    cut = bytes(eth() / IP(tos=0xB8) / UDP(dport=20000))[:36]      # ports past the frame's end
    res = run_helpers("dscp_marker", cut)
    assert res.action == XDP_PASS and res.packet[15] == 0 and csum_ok(res.packet[14:34])
    assert res.packet[16:24] == cut[16:24] and res.packet[26:] == cut[26:]


@pytest.mark.parametrize("pkt", [
    eth() / IPv6() / UDP(dport=20000),
    eth() / ARP(),
    eth() / Dot1Q() / IP(tos=0xB8) / UDP(dport=20000),
    bytes(eth() / IP(tos=0xB8))[:33],                    # IPv4 header cut short: -EINVAL
    bytes(eth() / IP(tos=0xB8, ihl=4) / TCP()),          # IHL < 5
    bytes(eth(type=0x0800) / IPv6() / UDP()),            # version 6 under the IPv4 ethertype
    bytes(10),
])
def test_dscp_marker_passes_everything_else_unchanged(pkt):
    res = run_helpers("dscp_marker", pkt)
    assert res.action == XDP_PASS and res.packet == bytes(pkt)


# ---- jitnic interp --------------------------------------------------------------------------------

def _write_pcap(path, frames):
    pcap.write_packets(str(path), frames)
    return path


def test_cli_interp_json_and_jsonl(tmp_path, capsys):
    frames = mixed_packets(120, seed=3)
    cap = _write_pcap(tmp_path / "mix.pcap", frames)
    obj = str(program_object("parser_classifier"))
    expected = [run("parser_classifier", f) for f in frames]

    assert cli.main(["interp", obj, "--pcap", str(cap), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    counts: dict[str, int] = {}
    for r in expected:
        counts[action_name(r.action)] = counts.get(action_name(r.action), 0) + 1
    assert summary["packets"] == len(frames) and summary["errors"] == 0
    assert summary["actions"] == counts
    assert summary["insns"] == sum(r.insns for r in expected)

    assert cli.main(["interp", obj, "--pcap", str(cap), "--jsonl"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [x["index"] for x in lines] == list(range(len(frames)))
    for line, r in zip(lines, expected):
        assert (line["action"], line["out_hex"], line["insns"]) == (r.action, r.packet.hex(), r.insns)

    assert cli.main(["interp", obj, "--pcap", str(cap)]) == 0
    text = capsys.readouterr().out
    for name, n in counts.items():
        assert any(row.split() == [name, str(n)] for row in text.splitlines()), text


FAULTY_C = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
/* Reads byte 100 without a bounds check: the interpreter faults on shorter packets. */
SEC("xdp")
int faulty(struct xdp_md *ctx)
{
	unsigned char *p = (unsigned char *)(long)ctx->data;
	return p[100] ? XDP_PASS : XDP_DROP;
}
char _license[] SEC("license") = "GPL";
"""


def test_cli_interp_counts_errors_and_goes_on(tmp_path, capsys):
    if shutil.which("clang") is None:
        pytest.skip("clang not installed")
    src, obj = tmp_path / "faulty.c", tmp_path / "faulty.o"
    src.write_text(FAULTY_C)
    arch = subprocess.run(["uname", "-m"], capture_output=True, text=True).stdout.strip()
    subprocess.run(["clang", "-O2", "-target", "bpf", f"-I/usr/include/{arch}-linux-gnu", "-c",
                    str(src), "-o", str(obj)], check=True)
    frames = [bytes(60), bytes(200), b"\x01" * 150, bytes(14)]
    cap = _write_pcap(tmp_path / "f.pcap", frames)
    assert cli.main(["interp", str(obj), "--pcap", str(cap), "--json"]) == 1
    summary = json.loads(capsys.readouterr().out)
    assert summary["packets"] == 4 and summary["errors"] == 2
    assert summary["actions"] == {"XDP_DROP": 1, "XDP_PASS": 1}
    assert cli.main(["interp", str(obj), "--pcap", str(cap), "--jsonl"]) == 1
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [("error" in x) for x in lines] == [True, False, False, True]
    assert lines[0]["action"] is None and "pc" in lines[0]["error"]


def test_cli_interp_reports_bad_inputs_in_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(b"not a capture at all")
    obj = str(program_object("ttl_router"))
    assert cli.main(["interp", obj, "--pcap", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("jitnic interp: error:") and err.count("\n") == 1
    cap = _write_pcap(tmp_path / "ok.pcap", [bytes(64)])
    assert cli.main(["interp", obj, "--pcap", str(cap), "--section", "nosuch"]) == 2
    err = capsys.readouterr().err
    assert "'nosuch'" in err and err.count("\n") == 1
    assert cli.main(["interp", "/bin/true", "--pcap", str(cap)]) == 2
    assert "not eBPF" in capsys.readouterr().err
