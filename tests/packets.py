"""Seeded, reproducible packet generators (scapy) for tests: one generator per protocol family, and
mixes of them per program.

    varied_packets(program_name, n, seed) -> list[bytes]   families weighted toward what the program
                                                           handles, plus malformed input
    mixed_packets(n, seed) -> list[bytes]                  every family, equal weights
    FAMILIES                                               {family name: generator(rng) -> bytes}

Each family generator takes a `random.Random` and returns one frame. Addresses and ports are drawn
from pools that hit the interesting values of the shipped programs (ACL prefixes and port-range
edges, traceroute ports, telnet, DNS, ...) as well as random ones. The first `len(families)` packets
of a mix contain each of its families once, so every family is present whenever n is at least that.
"""
from __future__ import annotations

import ipaddress
import random

from scapy.layers.inet import (ICMP, IP, TCP, UDP, IPOption_LSRR, IPOption_NOP, IPOption_Router_Alert,
                               IPOption_RR, IPOption_SSRR)
from scapy.layers.inet6 import (ICMPv6DestUnreach, ICMPv6EchoReply, ICMPv6EchoRequest, ICMPv6ND_NA,
                                ICMPv6ND_NS, ICMPv6ND_Redirect, IPv6, IPv6ExtHdrHopByHop)
from scapy.layers.l2 import ARP, Dot1AD, Dot1Q, Ether
from scapy.packet import Raw

ETH_HLEN = 14

# ---- value pools -------------------------------------------------------------------------------

V4_NETS = ["192.168.0.0/16", "203.0.113.0/24", "10.0.0.0/8", "10.1.0.0/16", "198.51.100.7/32",
           "198.51.100.0/24", "172.16.0.0/12", "8.8.8.0/24", "0.0.0.0/0"]
V6_NETS = ["2001:db8::/32", "fe80::/10", "2001:db8:bad::/48", "2001:db8:1::/64", "2001:db8:2::1/128",
           "2001:db8:2::/64", "2001:db9::/32", "::/0"]
PORTS = [0, 1, 7, 22, 23, 53, 79, 80, 81, 442, 443, 444, 546, 547, 548, 1023, 1024, 4999, 5000, 5999,
         6000, 6999, 7000, 7999, 8000, 8080, 8081, 33433, 33434, 33500, 33534, 33535, 65535]
TTLS = [0, 1, 2, 3, 64, 128, 255]
TCP_FLAGS = ["S", "SA", "A", "PA", "FA", "R", "RA", "", "SF", "FPU", "SFRPAUEC"]


def _addr(rng: random.Random, nets: list[str]) -> str:
    """A random address inside a random network of the pool (sometimes the network's edges)."""
    net = ipaddress.ip_network(rng.choice(nets))
    pick = rng.random()
    if pick < 0.1:
        value = int(net.network_address)
    elif pick < 0.2:
        value = int(net.broadcast_address)
    else:
        value = int(net.network_address) + rng.randrange(net.num_addresses)
    return str(type(net.network_address)(value))


def v4(rng: random.Random) -> str:
    return _addr(rng, V4_NETS)


def v6(rng: random.Random) -> str:
    return _addr(rng, V6_NETS)


def port(rng: random.Random) -> int:
    return rng.choice(PORTS) if rng.random() < 0.75 else rng.randrange(65536)


def mac(rng: random.Random) -> str:
    first = rng.randrange(256) & 0xFE | 0x02  # unicast, locally administered
    return ":".join(f"{b:02x}" for b in [first] + [rng.randrange(256) for _ in range(5)])


def payload(rng: random.Random) -> bytes:
    size = rng.choice([0, 0, 1, 4, 18, 32, 64, 100, 200]) if rng.random() < 0.9 \
        else rng.randrange(200, 1400)
    return bytes(rng.randrange(256) for _ in range(size))


def ether(rng: random.Random) -> Ether:
    return Ether(src=mac(rng), dst=mac(rng))


def ipv4(rng: random.Random, **kw) -> IP:
    fields = dict(src=v4(rng), dst=v4(rng), ttl=rng.choice(TTLS) if rng.random() < 0.5
                  else rng.randrange(256), id=rng.randrange(65536))
    fields.update(kw)
    return IP(**fields)


def ipv6(rng: random.Random, **kw) -> IPv6:
    fields = dict(src=v6(rng), dst=v6(rng), hlim=rng.choice(TTLS), fl=rng.randrange(1 << 20))
    fields.update(kw)
    return IPv6(**fields)


def tcp(rng: random.Random) -> TCP:
    return TCP(sport=port(rng), dport=port(rng), flags=rng.choice(TCP_FLAGS),
               seq=rng.randrange(1 << 32), ack=rng.randrange(1 << 32), window=rng.randrange(65536))


def udp(rng: random.Random) -> UDP:
    return UDP(sport=port(rng), dport=port(rng))


def l4(rng: random.Random, v6_l3: bool):
    """A random L4 header for IPv4 or IPv6."""
    pick = rng.randrange(4)
    if pick == 0:
        return tcp(rng)
    if pick == 1:
        return udp(rng)
    if pick == 2:
        return icmp6_any(rng) if v6_l3 else icmp4_any(rng)
    return Raw(payload(rng)[:8])  # another protocol number, decided by the L3 layer


def icmp4_any(rng: random.Random) -> ICMP:
    return ICMP(type=rng.choice([0, 3, 5, 8, 8, 11, 13, 17, rng.randrange(256)]),
                code=rng.choice([0, 0, 0, 1]), id=rng.randrange(65536), seq=rng.randrange(65536))


def icmp6_any(rng: random.Random):
    pick = rng.randrange(6)
    if pick == 0:
        return ICMPv6EchoRequest(id=rng.randrange(65536), seq=rng.randrange(65536))
    if pick == 1:
        return ICMPv6EchoReply(id=rng.randrange(65536), seq=rng.randrange(65536))
    if pick == 2:
        return ICMPv6ND_NS(tgt=v6(rng))
    if pick == 3:
        return ICMPv6ND_NA(tgt=v6(rng))
    if pick == 4:
        return ICMPv6ND_Redirect(tgt=v6(rng), dst=v6(rng))
    return ICMPv6DestUnreach(code=rng.randrange(5))


# ---- families ----------------------------------------------------------------------------------

def ipv4_tcp(rng):
    return bytes(ether(rng) / ipv4(rng) / tcp(rng) / payload(rng))


def ipv4_udp(rng):
    return bytes(ether(rng) / ipv4(rng) / udp(rng) / payload(rng))


def ipv4_udp_nocsum(rng):
    return bytes(ether(rng) / ipv4(rng) / UDP(sport=port(rng), dport=port(rng), chksum=0)
                 / payload(rng))


def ipv4_icmp(rng):
    return bytes(ether(rng) / ipv4(rng) / icmp4_any(rng) / payload(rng))


def ipv4_echo_request(rng):
    return bytes(ether(rng) / ipv4(rng) / ICMP(type=8, id=rng.randrange(65536),
                                               seq=rng.randrange(65536)) / payload(rng))


def ipv4_echo_reply(rng):
    return bytes(ether(rng) / ipv4(rng) / ICMP(type=0, id=rng.randrange(65536),
                                               seq=rng.randrange(65536)) / payload(rng))


def ipv4_other_proto(rng):
    return bytes(ether(rng) / ipv4(rng, proto=rng.choice([2, 4, 41, 47, 50, 58, 132, 255]))
                 / payload(rng))


def ipv4_options(rng):
    """IPv4 with options (IHL 6..15): source routes, record route, router alert, NOPs."""
    routers = [v4(rng) for _ in range(rng.randrange(1, 4))]
    opts = rng.choice([
        [IPOption_LSRR(routers=routers)],
        [IPOption_SSRR(routers=routers)],
        [IPOption_RR(routers=routers)],
        [IPOption_Router_Alert()],
        [IPOption_NOP(), IPOption_NOP(), IPOption_NOP(), IPOption_NOP()],
        [IPOption_NOP(), IPOption_LSRR(routers=routers)],
        [IPOption_RR(routers=[v4(rng) for _ in range(9)])],   # IHL 15
    ])
    return bytes(ether(rng) / ipv4(rng, options=opts) / l4(rng, False) / payload(rng))


def ipv4_fragment(rng):
    frag = rng.choice([0, 1, 185, 0x1FFF])
    flags = rng.choice(["MF", "", "DF"])
    return bytes(ether(rng) / ipv4(rng, frag=frag, flags=flags) / l4(rng, False) / payload(rng))


def ipv6_tcp(rng):
    return bytes(ether(rng) / ipv6(rng) / tcp(rng) / payload(rng))


def ipv6_udp(rng):
    return bytes(ether(rng) / ipv6(rng) / udp(rng) / payload(rng))


def ipv6_icmp6(rng):
    return bytes(ether(rng) / ipv6(rng) / icmp6_any(rng) / payload(rng))


def ipv6_echo_request(rng):
    return bytes(ether(rng) / ipv6(rng) / ICMPv6EchoRequest(id=rng.randrange(65536),
                                                            seq=rng.randrange(65536),
                                                            data=payload(rng)))


def ipv6_other(rng):
    """IPv6 with an extension header or another next header."""
    if rng.random() < 0.5:
        return bytes(ether(rng) / ipv6(rng) / IPv6ExtHdrHopByHop() / l4(rng, True) / payload(rng))
    return bytes(ether(rng) / ipv6(rng, nh=rng.choice([1, 4, 41, 44, 50, 59, 132]))
                 / payload(rng))


def vlan(rng):
    """One 802.1Q tag over IPv4/IPv6/ARP (VLAN ID sometimes 4095)."""
    vid = rng.choice([1, 100, 4094, 4095, rng.randrange(4096)])
    inner = rng.choice([ipv4_tcp, ipv4_udp, ipv4_icmp, ipv4_options, ipv6_tcp, ipv6_udp,
                        ipv6_icmp6, arp])(rng)
    return _tagged(inner, [(0x8100, vid, rng.randrange(8))])


def qinq(rng):
    """Two tags: 802.1ad (0x88a8) or 0x8100 outer, 0x8100 inner; sometimes a third tag."""
    outer = rng.choice([0x88A8, 0x88A8, 0x8100])
    tags = [(outer, rng.choice([10, 4095, rng.randrange(4096)]), rng.randrange(8)),
            (0x8100, rng.randrange(4096), rng.randrange(8))]
    if rng.random() < 0.15:
        tags.append((0x8100, rng.randrange(4096), 0))
    inner = rng.choice([ipv4_tcp, ipv4_udp, ipv4_icmp, ipv4_options, ipv6_tcp, ipv6_icmp6])(rng)
    return _tagged(inner, tags)


def _tagged(frame: bytes, tags: list[tuple[int, int, int]]) -> bytes:
    """Insert VLAN tags (tpid, vid, pcp) after the MACs of an untagged frame."""
    out = bytearray(frame[:12])
    for tpid, vid, pcp in tags:
        out += tpid.to_bytes(2, "big") + ((pcp << 13) | vid).to_bytes(2, "big")
    return bytes(out + frame[12:])


def vlan_scapy(rng):
    """Tagged frames built by scapy's own Dot1Q/Dot1AD layers."""
    if rng.random() < 0.5:
        pkt = ether(rng) / Dot1Q(vlan=rng.randrange(4096)) / ipv4(rng) / l4(rng, False)
    else:
        pkt = ether(rng) / Dot1AD(vlan=rng.randrange(4096)) / Dot1Q(vlan=rng.randrange(4096)) \
            / ipv6(rng) / l4(rng, True)
    return bytes(pkt / payload(rng))


def arp(rng):
    return bytes(ether(rng) / ARP(op=rng.choice([1, 2]), psrc=v4(rng), pdst=v4(rng),
                                  hwsrc=mac(rng)))


def other_ethertype(rng):
    etype = rng.choice([0x88CC, 0x8847, 0x88F7, 0x0842, 0x9000, 0x0000, 0xFFFF, rng.randrange(65536)])
    return bytes(Ether(src=mac(rng), dst=mac(rng), type=etype) / payload(rng))


def random_bytes(rng):
    """Arbitrary bytes, 14..200 long; sometimes with an IP ethertype so the parsers go deeper."""
    data = bytearray(rng.randrange(256) for _ in range(rng.randrange(ETH_HLEN, 200)))
    if rng.random() < 0.6:
        data[12:14] = rng.choice([b"\x08\x00", b"\x86\xdd", b"\x81\x00", b"\x88\xa8"])
        if data[12:14] == b"\x08\x00" and len(data) > 14 and rng.random() < 0.7:
            data[14] = 0x40 | rng.randrange(16)   # version 4, random IHL
        elif data[12:14] == b"\x86\xdd" and len(data) > 14 and rng.random() < 0.7:
            data[14] = 0x60 | (data[14] & 0x0F)   # version 6
    return bytes(data)


def corrupted(rng):
    """A valid frame with one to three bytes overwritten in the first 60 (hits version, IHL, TTL,
    protocol, flags, ports...)."""
    data = bytearray(rng.choice(_VALID)(rng))
    for _ in range(rng.randrange(1, 4)):
        i = rng.randrange(min(len(data), 60))
        data[i] = rng.randrange(256)
    return bytes(data)


def truncated(rng):
    """A prefix of a valid frame, cut anywhere from 14 bytes to one byte short."""
    data = rng.choice(_VALID)(rng)
    return data[:rng.randrange(ETH_HLEN, len(data))] if len(data) > ETH_HLEN else data


def runt(rng):
    """Shorter than an Ethernet header (0..13 bytes); the kernel refuses these."""
    data = rng.choice(_VALID)(rng)
    return data[:rng.randrange(ETH_HLEN)]


_VALID = [ipv4_tcp, ipv4_udp, ipv4_icmp, ipv4_echo_request, ipv4_options, ipv4_fragment, ipv6_tcp,
          ipv6_udp, ipv6_icmp6, ipv6_echo_request, vlan, qinq, arp]

FAMILIES = {f.__name__: f for f in [
    ipv4_tcp, ipv4_udp, ipv4_udp_nocsum, ipv4_icmp, ipv4_echo_request, ipv4_echo_reply,
    ipv4_other_proto, ipv4_options, ipv4_fragment, ipv6_tcp, ipv6_udp, ipv6_icmp6,
    ipv6_echo_request, ipv6_other, vlan, qinq, vlan_scapy, arp, other_ethertype, random_bytes,
    corrupted, truncated, runt]}

def ipv4_large_df(rng):
    """IPv4 with Don't Fragment set and 800-1400 bytes of payload (around a 1000-byte MTU)."""
    size = rng.randrange(800, 1400)
    inner = rng.choice([tcp, udp, icmp4_any])(rng)
    return bytes(ether(rng) / ipv4(rng, flags="DF") / inner
                 / bytes(rng.randrange(256) for _ in range(size)))


SERVICE_PORTS = [22, 23, 80, 135, 136, 137, 138, 139, 140, 443, 445, 3389]


def service_ports(rng):
    """TCP or UDP over IPv4 (sometimes with options) or IPv6 to well-known service ports."""
    l4 = rng.choice([TCP, UDP])(sport=port(rng), dport=rng.choice(SERVICE_PORTS))
    if rng.random() < 0.3:
        l3 = ipv6(rng)
    elif rng.random() < 0.2:
        l3 = ipv4(rng, options=[IPOption_NOP()] * 4)
    else:
        l3 = ipv4(rng)
    return bytes(ether(rng) / l3 / l4 / payload(rng))


# Families only the programs that emphasize them get (so adding one leaves every other mix as it was).
CLASS_PORTS = [22, 23, 53, 80, 443, 3389, 5004, 16384, 20000, 32767, 32768]


def ipv4_marked(rng):
    """TCP or UDP over IPv4 (sometimes with options or a fragment offset) carrying a DSCP/ECN
    marking from outside, to the ports dscp_marker classifies (and their neighbours)."""
    l4 = rng.choice([TCP, UDP])(sport=port(rng), dport=rng.choice(CLASS_PORTS))
    kw = dict(tos=rng.choice([0, 0, 1, 2, 3, 0xb8, 0x48, rng.randrange(256)]))
    if rng.random() < 0.15:
        kw["options"] = [IPOption_NOP()] * 4
    if rng.random() < 0.1:
        kw["frag"] = rng.randrange(1, 100)
    return bytes(ether(rng) / ipv4(rng, **kw) / l4 / payload(rng))


EXTRA_FAMILIES = {f.__name__: f for f in [ipv4_large_df, service_ports, ipv4_marked]}

# Extra weight (on top of 1 for every family) for the families a program cares most about.
PROGRAM_EMPHASIS = {
    "ipv6_filter": {"ipv6_tcp": 2, "ipv6_udp": 2, "ipv6_icmp6": 2, "other_ethertype": 2},
    "acl_firewall": {"ipv4_tcp": 6, "ipv4_udp": 6, "ipv6_tcp": 5, "ipv6_udp": 5, "ipv4_icmp": 1,
                     "ipv4_fragment": 2, "ipv4_options": 1},
    "parser_classifier": {"vlan": 4, "qinq": 4, "vlan_scapy": 2, "ipv4_options": 4, "ipv4_tcp": 2,
                          "ipv4_udp": 2, "ipv4_icmp": 2, "ipv6_icmp6": 2, "ipv4_fragment": 2},
    "mac_swap_tx": {"random_bytes": 2, "truncated": 2},
    "icmp_echo": {"ipv4_echo_request": 8, "ipv6_echo_request": 5, "ipv4_echo_reply": 2,
                  "ipv4_icmp": 3, "ipv6_icmp6": 2, "ipv4_options": 1},
    "ttl_router": {"ipv4_tcp": 3, "ipv4_udp": 3, "ipv4_icmp": 2, "ipv4_options": 2,
                   "ipv4_fragment": 1},
    "l4_lb": {"ipv4_tcp": 8, "ipv4_udp": 6, "ipv4_udp_nocsum": 3, "ipv4_fragment": 2,
              "ipv4_options": 1},
    # the programs with maps and helpers (jit.paths.MAP_PROGRAM_NAMES)
    "proto_stats": {"ipv4_tcp": 2, "ipv4_udp": 2, "ipv6_icmp6": 2, "vlan": 2, "ipv4_other_proto": 2},
    "deny_list": {"ipv4_tcp": 6, "ipv4_udp": 6, "ipv4_icmp": 2},
    "lpm_router": {"ipv4_tcp": 6, "ipv4_udp": 6, "ipv4_options": 1},
    "ipip_encap": {"ipv4_tcp": 6, "ipv4_udp": 6, "ipv4_fragment": 2},
    "icmp_frag_needed": {"ipv4_large_df": 12, "ipv4_tcp": 2, "ipv4_fragment": 2},
    "config_filter": {"service_ports": 6, "ipv4_icmp": 2, "ipv6_icmp6": 2, "ipv4_large_df": 3},
    "port_filter_subprog": {"service_ports": 10, "ipv4_options": 2, "ipv4_fragment": 2},
    "tail_dispatch": {"ipv4_tcp": 3, "ipv6_tcp": 3, "arp": 3},
    "flow_table": {"ipv4_tcp": 6, "ipv4_udp": 6, "ipv4_icmp": 1},
    "dscp_marker": {"ipv4_marked": 12, "service_ports": 4, "ipv4_tcp": 2, "ipv4_udp": 2,
                    "ipv4_fragment": 1, "ipv4_options": 1},
}


def _mix(weights: dict[str, int], n: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    names = list(weights)
    family = {**FAMILIES, **EXTRA_FAMILIES}
    out = [family[name](rng) for name in names[:n]]
    population = [name for name in names for _ in range(weights[name])]
    while len(out) < n:
        out.append(family[rng.choice(population)](rng))
    return out


def varied_packets(program_name: str, n: int, seed: int = 0) -> list[bytes]:
    """n frames for `program_name`: every family at least once (n permitting), weighted toward
    the protocols the program handles. Same (program, n, seed) -> same frames."""
    weights = {name: 1 for name in FAMILIES}
    for name, extra in PROGRAM_EMPHASIS.get(program_name, {}).items():
        weights[name] = weights.get(name, 0) + extra
    return _mix(weights, n, seed)


def mixed_packets(n: int, seed: int = 0) -> list[bytes]:
    """n frames from every family with equal weight."""
    return _mix({name: 1 for name in FAMILIES}, n, seed)


def flow_table_traffic(n: int, seed: int = 0, room: int = 6) -> list[bytes]:
    """n frames for flow_table (programs/flow_table.c, whose shipped maps leave `room` of its 32
    flow slots free): a few IPv4 UDP and TCP flows that repeat, new flows arriving (inserted while
    there is room, dropped when the table is full), and TCP FIN/RST frames that close flows the
    table holds (deleted) or never held. Every outcome of update and delete recurs, so each path
    can hit on the NIC after its first miss."""
    rng = random.Random(seed)
    flows, held = [], []          # every flow seen; the ones the table holds (as the program will)

    def new_flow(proto=None):
        nonlocal room
        f = (f"10.9.{rng.randrange(256)}.{rng.randrange(1, 255)}",
             f"10.0.0.{rng.randrange(1, 255)}", rng.randrange(1024, 65536),
             rng.choice((53, 80, 443)), proto or rng.choice((6, 6, 17)))
        flows.append(f)
        if room > 0:
            room -= 1
            held.append(f)
        return f

    def frame(f, flags="A"):
        src, dst, sport, dport, proto = f
        l4 = (TCP(sport=sport, dport=dport, flags=flags) if proto == 6
              else UDP(sport=sport, dport=dport))
        return bytes(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
                     / IP(src=src, dst=dst) / l4 / payload(rng))

    out = []
    while len(out) < n:
        r = rng.random()
        if not flows or r < 0.3:
            out.append(frame(new_flow()))
        elif r < 0.65:
            out.append(frame(rng.choice(flows)))
        else:
            tcp = [f for f in held if f[4] == 6]
            if tcp and rng.random() < 0.75:
                f = rng.choice(tcp)
                held.remove(f)
                flows.remove(f)
                room += 1
            else:
                f = (f"10.8.{rng.randrange(256)}.{rng.randrange(1, 255)}", "10.0.0.1",
                     rng.randrange(1024, 65536), 80, 6)          # a flow never seen
            out.append(frame(f, rng.choice(("FA", "R"))))
    return out
