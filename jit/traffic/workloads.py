"""Seeded, reproducible traffic generators (`jitnic gen`), streamed as Ethernet frames.

Every workload is a generator: a capture of millions of packets never sits in memory. Scapy builds
each flow's (or path class's) header template once, lazily, on the flow's first packet; after that
a packet costs a few Python operations: pick a flow (Zipf), pick a size (IMIX), fill in the length
fields and checksums for that size (memoized per flow and size), and optionally advance the IPv4
identification / TCP sequence / ICMP echo sequence with incremental checksum updates (RFC 1624).

Determinism: all randomness comes from `random.Random` instances seeded with strings derived from
`seed` (flow specs: one RNG per flow, so a flow does not depend on how many others exist; packet
choices: one RNG per stream). Same (workload, count, seed, params) → identical bytes.

Sizes: IMIX here means the **IP packet length** (IP header + payload, like "Simple IMIX" tables
that list 40/576/1500): 64, 576 and 1500 bytes with weights 7:4:1. The Ethernet frame adds 14 bytes
plus 4 per VLAN tag (no FCS in captures). When the headers alone are longer than the target (e.g.
IPv6 + TCP + QinQ at 64), the packet is the headers with no payload.

See docs/workloads.md for each workload and its parameters.
"""
from __future__ import annotations

import bisect
import itertools
import math
import logging
import random
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from jit import JitnicError
from jit.traffic.pcap import PcapWriter

log = logging.getLogger(__name__)

IMIX = ((64, 7), (576, 4), (1500, 1))       # (IP packet length, weight)
ETH_MAX_FRAME = 1518                        # 802.1Q-tagged maximum without FCS; larger = oversize
MAX_FRAME = 9018                            # largest frame a workload emits (jumbo)

ETH_IPV4, ETH_IPV6, ETH_ARP, ETH_VLAN, ETH_QINQ = 0x0800, 0x86DD, 0x0806, 0x8100, 0x88A8
PROTO_NUM = {"icmp": 1, "tcp": 6, "udp": 17, "gre": 47, "sctp": 132}

# A fixed payload pattern shared by every packet, with prefix sums of its 16-bit words so the L4
# checksum of any payload length costs one lookup.
_PAYLOAD = bytes((i * 131 + 7) % 251 for i in range(MAX_FRAME + 64))
_PAYLOAD_WORDS = [0, *itertools.accumulate(struct.unpack(f"!{len(_PAYLOAD) // 2}H", _PAYLOAD))]
_PAYLOAD_SLICES: dict[int, bytes] = {}


def _payload(n: int) -> bytes:
    b = _PAYLOAD_SLICES.get(n)
    if b is None:
        b = _PAYLOAD_SLICES[n] = _PAYLOAD[:n]
    return b


def _payload_sum(n: int) -> int:
    return _PAYLOAD_WORDS[n >> 1] + ((_PAYLOAD[n - 1] << 8) if n & 1 else 0)


def _sum16(b) -> int:
    if len(b) & 1:
        b = bytes(b) + b"\0"
    return sum(struct.unpack(f"!{len(b) // 2}H", b))


def _fold(s: int) -> int:
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def _csum_replace(csum: int, old: int, new: int) -> int:
    """RFC 1624 eqn. 3: checksum after one 16-bit word changes from `old` to `new`."""
    s = (~csum & 0xFFFF) + (~old & 0xFFFF) + new
    s = (s & 0xFFFF) + (s >> 16)
    return ~((s & 0xFFFF) + (s >> 16)) & 0xFFFF


def ipv4_header_checksum(header: bytes) -> int:
    """Internet checksum of an IPv4 header whose checksum field is zero."""
    return ~_fold(_sum16(header)) & 0xFFFF


# ----------------------------------------------------------------------------- scapy (lazy)

class _Scapy:
    """Scapy, imported on first use: `jitnic gen --list` and `import jit.traffic.workloads` stay fast."""
    _ns = None

    def __getattr__(self, name):
        if _Scapy._ns is None:
            logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
            from scapy.layers import inet, inet6, l2, sctp  # noqa: F401  (registers bindings)
            from scapy.packet import Raw
            ns = {}
            for mod in (l2, inet, inet6, sctp):
                ns.update({k: v for k, v in vars(mod).items() if not k.startswith("_")})
            ns["Raw"] = Raw
            _Scapy._ns = ns
        return _Scapy._ns[name]


S = _Scapy()


# ----------------------------------------------------------------------------- flows

@dataclass(frozen=True)
class FlowSpec:
    """Everything that defines one flow's (or path class's) headers."""
    l3: str = "ipv4"                 # ipv4 | ipv6 | arp | eth
    proto: str | None = "udp"        # tcp | udp | icmp | gre | sctp (None for arp/eth)
    vlans: tuple[tuple[int, int], ...] = ()   # (tpid, vid) outermost first
    src_mac: str = "02:00:00:00:00:01"
    dst_mac: str = "02:00:00:00:00:02"
    src: str = "10.0.0.1"
    dst: str = "10.0.0.2"
    sport: int = 1024                # also the ICMP echo identifier
    dport: int = 80
    ttl: int = 64                    # hop limit for IPv6
    tos: int = 0
    options: tuple[str, int] | None = None   # IPv4 options: (kind, bytes), kind ra|nop|rr|lsrr
    ext: str | None = None           # ipv6: hbh | frag (atomic fragment); ipv4: frag (MF set)
    tcp_flags: str = "A"
    seq: int = 0
    icmp: tuple[int, int] = (8, 0)   # (type, code); ICMPv6 types for ipv6
    ethertype: int = 0               # for l3 == "eth"
    arp_op: int = 1
    size: int | None = None          # fixed IP packet length (None: IMIX)


def _ipv4_options(kind: str, length: int) -> list:
    if kind == "ra":
        return [S.IPOption_Router_Alert()]
    if kind == "nop":
        return [S.IPOption_NOP()] * length
    routers = [f"192.0.2.{i + 1}" for i in range(length // 4 - 1)]
    if kind == "rr":
        return [S.IPOption_RR(routers=["0.0.0.0"] * len(routers))]
    if kind == "lsrr":
        return [S.IPOption_LSRR(routers=routers)]
    raise ValueError(kind)


_ICMP6_CLASSES = {128: "ICMPv6EchoRequest", 129: "ICMPv6EchoReply", 1: "ICMPv6DestUnreach",
                  2: "ICMPv6PacketTooBig", 3: "ICMPv6TimeExceeded", 133: "ICMPv6ND_RS",
                  134: "ICMPv6ND_RA", 135: "ICMPv6ND_NS", 136: "ICMPv6ND_NA"}


def build_template(spec: FlowSpec) -> Template:
    """Build the flow's headers once with scapy (no payload) and record where its fields are."""
    pkt = S.Ether(src=spec.src_mac, dst=spec.dst_mac)
    for tpid, vid in spec.vlans:
        pkt = pkt / (S.Dot1AD(vlan=vid) if tpid == ETH_QINQ else S.Dot1Q(vlan=vid))
    l3_off = 14 + 4 * len(spec.vlans)
    if spec.l3 == "arp":
        pkt = pkt / S.ARP(op=spec.arp_op, hwsrc=spec.src_mac, psrc=spec.src, pdst=spec.dst)
        return Template(bytes(pkt), l3_off, l3_off, None, None, spec)
    if spec.l3 == "eth":
        pkt.lastlayer().type = spec.ethertype
        pkt = pkt / S.Raw(_PAYLOAD[:32])
        return Template(bytes(pkt), l3_off, l3_off, None, None, spec)
    proto = spec.proto
    if spec.l3 == "ipv4":
        opts = _ipv4_options(*spec.options) if spec.options else []
        flags = "MF" if spec.ext == "frag" else ("DF" if proto == "tcp" else 0)
        pkt = pkt / S.IP(src=spec.src, dst=spec.dst, ttl=spec.ttl, tos=spec.tos, id=0,
                         flags=flags, options=opts, proto=PROTO_NUM[proto])
    else:
        pkt = pkt / S.IPv6(src=spec.src, dst=spec.dst, hlim=spec.ttl, tc=spec.tos,
                           fl=(spec.sport * 2654435761) & 0xFFFFF)
        if spec.ext == "hbh":
            pkt = pkt / S.IPv6ExtHdrHopByHop()
        elif spec.ext == "frag":
            pkt = pkt / S.IPv6ExtHdrFragment(offset=0, m=0, id=spec.sport)
        pkt.lastlayer().nh = 58 if proto == "icmp" else PROTO_NUM[proto]
    if proto == "tcp":
        pkt = pkt / S.TCP(sport=spec.sport, dport=spec.dport, flags=spec.tcp_flags, seq=spec.seq,
                          ack=(spec.seq * 7 + 1) & 0xFFFFFFFF if "A" in spec.tcp_flags else 0,
                          window=65535)
    elif proto == "udp":
        pkt = pkt / S.UDP(sport=spec.sport, dport=spec.dport)
    elif proto == "icmp":
        itype, code = spec.icmp
        if spec.l3 == "ipv4":
            pkt = pkt / S.ICMP(type=itype, code=code, id=spec.sport, seq=0)
        else:
            cls = getattr(S, _ICMP6_CLASSES[itype])
            fields = {"id": spec.sport, "seq": 0} if itype in (128, 129) else {}
            pkt = pkt / cls(code=code, **fields)
    elif proto == "gre":
        pkt = pkt / S.Raw(struct.pack("!HH", 0, ETH_IPV4))
    elif proto == "sctp":
        pkt = pkt / S.SCTP(sport=spec.sport, dport=spec.dport, tag=0)
    head = bytes(pkt)
    if spec.l3 == "ipv4":
        l4_off = l3_off + (head[l3_off] & 0xF) * 4
    else:
        l4_off = l3_off + 40 + (8 if spec.ext else 0)
    return Template(head, l3_off, l4_off, spec.l3, proto, spec)


_CSUM_OFF = {"tcp": 16, "udp": 6, "icmp": 2}


def _ipv4_final_dst(header: bytes) -> bytes:
    """Destination for the L4 pseudo-header: the last address of a loose or strict source
    route option if there is one (RFC 791/1122, as scapy does), else the header's."""
    off, end = 20, len(header)
    while off < end:
        kind = header[off]
        if kind == 0:
            break
        if kind == 1:
            off += 1
            continue
        if off + 1 >= end or header[off + 1] < 2:
            break
        length = header[off + 1]
        if kind in (0x83, 0x89) and length >= 7 and off + length <= end:
            return bytes(header[off + length - 4:off + length])
        off += length
    return bytes(header[16:20])


class Template:
    """A flow's header bytes plus what is needed to emit it at any IP packet length."""
    __slots__ = ("head", "l3_off", "l4_off", "l3", "proto", "spec", "min_len", "_sized", "_n",
                 "_seq", "_seq_words", "_var")

    def __init__(self, head: bytes, l3_off: int, l4_off: int, l3: str | None, proto: str | None,
                 spec: FlowSpec):
        self.head, self.l3_off, self.l4_off, self.l3, self.proto = head, l3_off, l4_off, l3, proto
        self.spec = spec
        self.min_len = len(head) - l3_off          # IP packet length with an empty payload
        self._sized: dict[int, tuple[bytes, bytes]] = {}
        self._n = 0
        self._seq = spec.seq
        self._seq_words = divmod(spec.seq, 0x10000)
        # what varies per packet: 1 = IPv4 id, 2 = TCP seq, 4 = ICMP echo seq
        var = 1 if l3 == "ipv4" else 0
        if proto == "tcp":
            var |= 2
        elif proto == "icmp" and spec.icmp[0] in ((8, 0) if l3 == "ipv4" else (128, 129)):
            var |= 4
        self._var = var

    def sized(self, ip_len: int) -> tuple[bytes, bytes]:
        """(headers, payload) for an IP packet of `ip_len` bytes (at least the headers)."""
        got = self._sized.get(ip_len)
        if got is not None:
            return got
        if self.l3 is None:                      # ARP / other ethertype: pad to 60 bytes
            got = (self.head, bytes(max(0, 60 - len(self.head))))
            self._sized[ip_len] = got
            return got
        n = max(ip_len, self.min_len)
        pay = n - self.min_len
        h = bytearray(self.head)
        l3, l4 = self.l3_off, self.l4_off
        if self.l3 == "ipv4":
            ihl = (h[l3] & 0xF) * 4
            struct.pack_into("!H", h, l3 + 2, n)
            struct.pack_into("!H", h, l3 + 10, 0)
            struct.pack_into("!H", h, l3 + 10, ipv4_header_checksum(h[l3:l3 + ihl]))
            pseudo = _sum16(h[l3 + 12:l3 + 16] + _ipv4_final_dst(h[l3:l3 + ihl]))
        else:
            struct.pack_into("!H", h, l3 + 4, n - 40)
            pseudo = _sum16(h[l3 + 8:l3 + 40])
        l4_len = n - (l4 - l3)
        off = _CSUM_OFF.get(self.proto)
        if self.proto == "udp":
            struct.pack_into("!H", h, l4 + 4, l4_len)
        if off is not None:
            struct.pack_into("!H", h, l4 + off, 0)
            s = _sum16(h[l4:]) + _payload_sum(pay)
            if self.l3 == "ipv6" or self.proto != "icmp":
                nh = 58 if self.proto == "icmp" else PROTO_NUM[self.proto]
                s += pseudo + nh + (l4_len >> 16) + (l4_len & 0xFFFF)
            c = ~_fold(s) & 0xFFFF
            if self.proto == "udp" and c == 0:
                c = 0xFFFF
            struct.pack_into("!H", h, l4 + off, c)
        got = (bytes(h), _payload(pay))
        self._sized[ip_len] = got
        return got

    def packet(self, ip_len: int, vary: bool) -> bytes:
        """One frame of this flow; with `vary`, the next packet of the flow (new id / seq)."""
        hdr, pay = self.sized(ip_len)
        if not (vary and self._var):
            return hdr + pay
        self._n = n = (self._n + 1) & 0xFFFF
        h = bytearray(hdr)
        var = self._var
        if var & 1:
            l3 = self.l3_off
            h[l3 + 4] = n >> 8
            h[l3 + 5] = n & 0xFF
            c = _csum_replace((h[l3 + 10] << 8) | h[l3 + 11], 0, n)
            h[l3 + 10] = c >> 8
            h[l3 + 11] = c & 0xFF
        l4 = self.l4_off
        if var & 2:
            old_hi, old_lo = self._seq_words
            new_hi, new_lo = divmod(self._seq, 0x10000)
            struct.pack_into("!I", h, l4 + 4, self._seq)
            c = struct.unpack_from("!H", h, l4 + 16)[0]
            c = _csum_replace(_csum_replace(c, old_hi, new_hi), old_lo, new_lo)
            struct.pack_into("!H", h, l4 + 16, c)
            self._seq = (self._seq + len(pay)) & 0xFFFFFFFF
        elif var & 4:
            struct.pack_into("!H", h, l4 + 6, n)
            c = _csum_replace(struct.unpack_from("!H", h, l4 + 2)[0], 0, n)
            struct.pack_into("!H", h, l4 + 2, c)
        h += pay
        return bytes(h)


# ----------------------------------------------------------------------------- traffic mixes

_TTLS = ((64, 50), (128, 20), (255, 10), (32, 4), (2, 4), (1, 6), (0, 6))
_TCP_FLAGS = (("A", 50), ("PA", 30), ("S", 10), ("SA", 5), ("FA", 3), ("R", 2))
_WELL_KNOWN = (80, 443, 53, 22, 25, 123, 161, 179, 3306, 5201, 8080, 8443, 4789, 6379)
_OPTIONS = (("ra", 4), ("nop", 4), ("rr", 8), ("rr", 12), ("lsrr", 12), ("rr", 20), ("rr", 40))


@dataclass(frozen=True)
class Mix:
    """Protocol mix a flow set is drawn from (fractions of flows, not of packets)."""
    ipv6: float = 0.3           # fraction of IPv6 flows
    tcp: float = 0.55           # L4 weights (ICMP means ICMPv6 for IPv6 flows)
    udp: float = 0.35
    icmp: float = 0.10
    vlan: float = 0.12          # one 802.1Q tag
    qinq: float = 0.04          # two tags (0x88a8 + 0x8100, one in four 0x8100 + 0x8100)
    options: float = 0.04       # fraction of IPv4 flows with IP options


MIXES = {
    "default": Mix(),
    "v4_tcp": Mix(ipv6=0.05, tcp=0.85, udp=0.10, icmp=0.05),
    "v6_udp": Mix(ipv6=0.90, tcp=0.10, udp=0.85, icmp=0.05),
    "v4_only": Mix(ipv6=0.0),
    "v6_only": Mix(ipv6=1.0, options=0.0),
}


def _weighted(rng: random.Random, table) -> object:
    total = sum(w for _, w in table)
    x = rng.random() * total
    for value, w in table:
        x -= w
        if x < 0:
            return value
    return table[-1][0]


def _mac(rng: random.Random) -> str:
    return "02:" + ":".join(f"{rng.randrange(256):02x}" for _ in range(5))


def _ipv4_addr(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.5:
        return f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    if r < 0.7:
        return f"192.168.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    if r < 0.8:
        return f"172.{rng.randrange(16, 32)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    first = rng.choice([x for x in range(1, 224) if x not in (10, 127)])
    return f"{first}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def _ipv6_addr(rng: random.Random) -> str:
    prefix = "fe80:0:0:0" if rng.random() < 0.05 else f"2001:db8:{rng.randrange(65536):x}:0"
    return prefix + ":" + ":".join(f"{rng.randrange(65536):x}" for _ in range(4))


def random_flow(rng: random.Random, mix: Mix) -> FlowSpec:
    """A random flow drawn from `mix`."""
    ipv6 = rng.random() < mix.ipv6
    proto = _weighted(rng, (("tcp", mix.tcp), ("udp", mix.udp), ("icmp", mix.icmp)))
    r = rng.random()
    if r < mix.qinq:
        outer = ETH_QINQ if rng.random() < 0.75 else ETH_VLAN
        vlans = ((outer, rng.randrange(1, 4095)), (ETH_VLAN, rng.randrange(1, 4095)))
    elif r < mix.qinq + mix.vlan:
        vlans = ((ETH_VLAN, rng.randrange(1, 4095)),)
    else:
        vlans = ()
    addr = _ipv6_addr if ipv6 else _ipv4_addr
    dport = rng.choice(_WELL_KNOWN) if rng.random() < 0.7 else rng.randrange(1, 65536)
    options = None
    if not ipv6 and rng.random() < mix.options:
        options = rng.choice(_OPTIONS)
    icmp = ((128, 0) if ipv6 else (8, 0)) if rng.random() < 0.8 else ((129, 0) if ipv6 else (0, 0))
    return FlowSpec(
        l3="ipv6" if ipv6 else "ipv4", proto=proto, vlans=vlans, src_mac=_mac(rng),
        dst_mac=_mac(rng), src=addr(rng), dst=addr(rng), sport=rng.randrange(1024, 65536),
        dport=dport, ttl=_weighted(rng, _TTLS), tos=rng.choice((0, 0, 0, 0, 0xB8, 0x02, 0x03)),
        options=options, tcp_flags=_weighted(rng, _TCP_FLAGS), seq=rng.randrange(1 << 32),
        icmp=icmp)


class FlowSet:
    """`n` flows drawn from `mix`; flow i's spec comes from its own RNG (seed, tag, i) and its
    template is built on first use."""

    def __init__(self, seed: int, tag: str, n: int, mix: Mix):
        self.seed, self.tag, self.n, self.mix = seed, tag, n, mix
        self._templates: dict[int, Template] = {}

    def spec(self, i: int) -> FlowSpec:
        return random_flow(random.Random(f"{self.seed}/{self.tag}/flow/{i}"), self.mix)

    def template(self, i: int) -> Template:
        t = self._templates.get(i)
        if t is None:
            t = self._templates[i] = build_template(self.spec(i))
        return t


class Zipf:
    """Ranks 0..n-1 with P(k) proportional to 1 / (k+1)^s."""

    def __init__(self, n: int, s: float):
        self.n, self.s = n, s
        self.cdf = list(itertools.accumulate((k + 1) ** -s for k in range(n)))
        self.total = self.cdf[-1]

    def probability(self, k: int) -> float:
        return (k + 1) ** -self.s / self.total

    def draw(self, u: float) -> int:
        return min(bisect.bisect_right(self.cdf, u * self.total), self.n - 1)


def _imix_thresholds():
    total = sum(w for _, w in IMIX)
    acc, out = 0, []
    for size, w in IMIX:
        acc += w
        out.append((acc / total, size))
    return tuple(out)


_IMIX_THRESHOLDS = _imix_thresholds()


def _zipf_stream(seed: int, tag: str, flows: int, s: float, mix: Mix, vary: bool
                 ) -> Iterator[tuple[str, bytes]]:
    """Endless (label, frame) stream: Zipf(s) over `flows` flows of `mix`, IMIX sizes."""
    fset = FlowSet(seed, tag, flows, mix)
    zipf = Zipf(flows, s)
    rng = random.Random(f"{seed}/{tag}/packets")
    rnd = rng.random
    cdf, total, last = zipf.cdf, zipf.total, flows - 1
    bisect_right = bisect.bisect_right
    (t1, s1), (t2, s2), (_, s3) = _IMIX_THRESHOLDS
    flow: list[tuple[str, Template] | None] = [None] * flows
    while True:
        i = bisect_right(cdf, rnd() * total)
        if i > last:
            i = last
        f = flow[i]
        if f is None:
            f = flow[i] = (f"{tag}/flow/{i}", fset.template(i))
        u = rnd()
        yield f[0], f[1].packet(s1 if u < t1 else s2 if u < t2 else s3, vary)


# ----------------------------------------------------------------------------- corner cases

def _set_ethertype(frame: bytes, l3_off: int, ethertype: int) -> bytes:
    return frame[:l3_off - 2] + struct.pack("!H", ethertype) + frame[l3_off:]


def _fix_ipv4_checksum(h: bytearray, l3: int, ihl: int | None = None) -> None:
    ihl = (h[l3] & 0xF) * 4 if ihl is None else ihl
    struct.pack_into("!H", h, l3 + 10, 0)
    struct.pack_into("!H", h, l3 + 10, ipv4_header_checksum(bytes(h[l3:l3 + ihl])))


class CornerCases:
    """Malformed and unusual frames, one category at a time (see `CORNER_KINDS`).

    Built by patching frames of a small set of valid flows (cheap per packet), except the few
    kinds that need their own scapy templates (ARP, LLC), built once.
    """

    def __init__(self, seed: int, tag: str, rng: random.Random, kinds: tuple[str, ...]):
        self.rng = rng
        self.kinds = kinds
        self.flows = FlowSet(seed, tag + "/base", 64, MIXES["default"])
        self.v4 = FlowSet(seed, tag + "/base4", 32, replace(MIXES["v4_only"], options=0.0))
        self.v6 = FlowSet(seed, tag + "/base6", 32, MIXES["v6_only"])
        self._arp: list[bytes] | None = None

    def _base(self, fset: FlowSet | None = None) -> Template:
        fset = fset or self.flows
        return fset.template(self.rng.randrange(fset.n))

    def _frame(self, t: Template, small: bool = True) -> bytes:
        hdr, pay = t.sized(self.rng.choice((64, 64, 128, 576) if small else (576, 1500)))
        return hdr + pay

    def next(self) -> tuple[str, bytes]:
        kind = self.kinds[self.rng.randrange(len(self.kinds))]
        return kind, getattr(self, "_" + kind)()

    # one method per kind; each docstring is the kind's documentation
    def _runt(self) -> bytes:
        """0..13 bytes: random bytes or the start of a valid frame."""
        n = self.rng.randrange(14)
        if self.rng.random() < 0.5:
            return self._frame(self._base())[:n]
        return self.rng.randbytes(n)

    def _bad_ip_version(self) -> bytes:
        """IPv4/IPv6 ethertype whose version nibble is anything else (incl. 4 in IPv6, 6 in v4)."""
        t = self._base()
        h = bytearray(self._frame(t))
        good = 4 if t.l3 == "ipv4" else 6
        h[t.l3_off] = (self.rng.choice([v for v in range(16) if v != good]) << 4) | \
            (h[t.l3_off] & 0xF)
        return bytes(h)

    def _ipv4_bad_ihl(self) -> bytes:
        """IPv4 with IHL 0..4 (header shorter than the 20-byte minimum)."""
        t = self._base(self.v4)
        h = bytearray(self._frame(t))
        h[t.l3_off] = 0x40 | self.rng.randrange(5)
        _fix_ipv4_checksum(h, t.l3_off, 20)
        return bytes(h)

    def _ipv4_options(self) -> bytes:
        """IPv4 options, valid (NOP, RA, RR, LSRR, timestamp) or broken (length 0/1, longer
        than the header, unterminated, unknown type)."""
        t = self._base(self.v4)
        frame = self._frame(t)
        rng = self.rng
        choice = rng.randrange(8)
        if choice == 0:
            opts = b"\x01" * 4
        elif choice == 1:
            opts = b"\x94\x04\x00\x00"                                   # router alert
        elif choice == 2:
            k = rng.randrange(1, 10)
            opts = bytes([7, 3 + 4 * k, 4]) + bytes(4 * k)              # record route
        elif choice == 3:
            k = rng.randrange(1, 4)
            opts = bytes([0x44, 4 + 8 * k, 5, 0x01]) + bytes(8 * k)     # timestamp + address
        elif choice == 4:
            opts = bytes([rng.choice((7, 0x83, 0x89)), rng.choice((0, 1))]) + b"\0\0"  # len 0/1
        elif choice == 5:
            opts = bytes([7, 39, 4]) + b"\0"                            # runs past the header
        elif choice == 6:
            opts = bytes([0x9F, 4, 0xAB, 0xCD])                         # unknown option
        else:
            opts = bytes([0x83, 7, 4, 10, 0, 0, 1]) + b"\x01" * rng.choice((1, 5))  # odd LSRR
        opts += b"\0" * (-len(opts) % 4)
        opts = opts[:40]
        l3 = t.l3_off
        h = bytearray(frame[:l3 + 20] + opts + frame[l3 + 20:])
        h[l3] = 0x40 | ((20 + len(opts)) // 4)
        struct.pack_into("!H", h, l3 + 2, len(h) - l3)
        _fix_ipv4_checksum(h, l3)
        return bytes(h)

    def _fragment(self) -> bytes:
        """IPv4 fragments (first, middle, last, tiny offset, overlapping) and IPv6 fragment
        headers (first, middle, atomic)."""
        rng = self.rng
        if rng.random() < 0.6:
            t = self._base(self.v4)
            h = bytearray(self._frame(t))
            flags_off = rng.choice((0x2000, 0x2000 | 185, 185, 0x2000 | 1, 1, 0x2000 | 8191))
            struct.pack_into("!H", h, t.l3_off + 6, flags_off)
            _fix_ipv4_checksum(h, t.l3_off)
            return bytes(h)
        t = self._base(self.v6)
        frame = self._frame(t)
        l3 = t.l3_off
        offset_m = rng.choice((0x0001, (185 << 3) | 1, 185 << 3, 0))
        ext = bytes([frame[l3 + 6], 0]) + struct.pack("!HI", offset_m, rng.randrange(1 << 32))
        h = bytearray(frame[:l3 + 40] + ext + frame[l3 + 40:])
        h[l3 + 6] = 44
        struct.pack_into("!H", h, l3 + 4, len(h) - l3 - 40)
        return bytes(h)

    def _truncated_l4(self) -> bytes:
        """Valid IP header, L4 header cut short (IP length still claims the full packet)."""
        while True:
            t = self._base()
            l4_hdr = len(t.head) - t.l4_off
            if l4_hdr > 1:
                break
        return self._frame(t)[:t.l4_off + self.rng.randrange(l4_hdr)]

    def _bad_ip_length(self) -> bytes:
        """IPv4 total length / IPv6 payload length that disagrees with the frame (0, shorter
        than the header, longer than the frame, 65535)."""
        t = self._base()
        h = bytearray(self._frame(t))
        l3 = t.l3_off
        have = len(h) - l3
        if t.l3 == "ipv4":
            ihl = (h[l3] & 0xF) * 4
            struct.pack_into("!H", h, l3 + 2,
                             self.rng.choice((0, ihl - 1, have + 1, have + 100, 65535)))
            _fix_ipv4_checksum(h, l3)
        else:
            struct.pack_into("!H", h, l3 + 4, self.rng.choice((0, 1, have - 40 + 8, 65535)))
        return bytes(h)

    def _wrong_ethertype(self) -> bytes:
        """Not IPv4/IPv6 under its ethertype: ARP, LLDP, loopback, MPLS, unknown, an 802.3
        length field with LLC, or IPv4/IPv6 swapped under each other's ethertype."""
        rng = self.rng
        t = self._base()
        frame = self._frame(t)
        choice = rng.randrange(6)
        if choice == 0:
            if self._arp is None:
                self._arp = [build_template(FlowSpec(
                    l3="arp", arp_op=op, src_mac=_mac(rng), src=_ipv4_addr(rng),
                    dst=_ipv4_addr(rng), vlans=v)).sized(0)[0]
                    for op in (1, 2) for v in ((), ((ETH_VLAN, 7),))]
            return rng.choice(self._arp)
        if choice == 1:
            return _set_ethertype(frame, t.l3_off, ETH_IPV6 if t.l3 == "ipv4" else ETH_IPV4)
        if choice == 2:
            return _set_ethertype(frame, t.l3_off,
                                  rng.choice((0x88CC, 0x9000, 0x8847, 0x8863, 0x0000, 0xFFFF,
                                              0xF1FF, 0x0600, 0x05DC)))
        if choice == 3:      # 802.3 length + LLC (STP-like)
            body = b"\x42\x42\x03" + frame[t.l3_off:t.l3_off + 40]
            return frame[:12] + struct.pack("!H", len(body)) + body
        if choice == 4:      # MPLS label stack in front of the IP packet
            label = struct.pack("!I", (rng.randrange(16, 1 << 20) << 12) | 0x100 | 64)
            return frame[:t.l3_off - 2] + b"\x88\x47" + label + frame[t.l3_off:]
        while True:
            ethertype = rng.randrange(0x0600, 0x10000)
            if ethertype not in (ETH_IPV4, ETH_IPV6, ETH_VLAN, ETH_QINQ, 0x9100):
                return _set_ethertype(frame, t.l3_off, ethertype)

    def _oversize(self) -> bytes:
        """Frames longer than 1518 bytes (up to a 9018-byte jumbo), IP lengths consistent."""
        t = self._base()
        frame_len = self.rng.choice((1519, 1522, 1600, 2048, 4096, 4353, 9000, MAX_FRAME))
        hdr, pay = t.sized(frame_len - t.l3_off)
        return hdr + pay

    def _vlan_truncated(self) -> bytes:
        """802.1Q / QinQ tags cut short or with nothing after them."""
        rng = self.rng
        macs = bytes.fromhex(_mac(rng).replace(":", "")) + bytes.fromhex(
            _mac(rng).replace(":", ""))
        tpid = rng.choice((ETH_VLAN, ETH_QINQ))
        tag = struct.pack("!HH", rng.randrange(4096), ETH_IPV4)
        frame = macs + struct.pack("!H", tpid) + tag
        if tpid == ETH_QINQ:
            frame = macs + struct.pack("!HH", ETH_QINQ, rng.randrange(4096)) + \
                struct.pack("!H", ETH_VLAN) + tag
        return frame[:rng.randrange(14, len(frame) + 1)]

    def _vlan_odd(self) -> bytes:
        """Complete frames with unusual VLAN stacks: three or four tags, reserved VID 4095,
        priority tag (VID 0), 0x9100 outer TPID."""
        rng = self.rng
        t = self._base(self.flows)
        frame = self._frame(t)
        inner = frame[t.l3_off - 2:]                     # innermost ethertype + IP packet
        n = rng.choice((1, 1, 3, 4))
        vids = [rng.choice((0, 4095, rng.randrange(1, 4095))) for _ in range(n)]
        if n == 1 and vids[0] not in (0, 4095):
            vids[0] = rng.choice((0, 4095))
        tpids = [rng.choice((ETH_QINQ, ETH_VLAN, 0x9100))] + [ETH_VLAN] * (n - 1)
        # Ethernet type = outer TPID; each tag is its VID followed by the next type field
        out = frame[:12] + struct.pack("!H", tpids[0])
        for i, vid in enumerate(vids):
            out += struct.pack("!H", vid)
            if i + 1 < n:
                out += struct.pack("!H", tpids[i + 1])
        return out + inner


CORNER_KINDS = ("runt", "bad_ip_version", "ipv4_bad_ihl", "ipv4_options", "fragment",
                "truncated_l4", "bad_ip_length", "wrong_ethertype", "oversize", "vlan_truncated",
                "vlan_odd")


def corner_kind_doc(kind: str) -> str:
    return " ".join(getattr(CornerCases, "_" + kind).__doc__.split())


# ----------------------------------------------------------------------------- adversarial classes

_RR_STACKS = (
    ("ipv4", "tcp", None), ("ipv4", "udp", None), ("ipv4", "icmp", None),
    ("ipv6", "tcp", None), ("ipv6", "udp", None), ("ipv6", "icmp", None),
    ("ipv4", "gre", None), ("ipv4", "sctp", None), ("ipv4", "udp", "frag"),
    ("ipv6", "udp", "hbh"), ("ipv6", "tcp", "frag"), ("arp", None, None),
    ("eth", None, 0x88CC), ("eth", None, 0x9000), ("eth", None, 0x8847),
)
_RR_PORTS = (0, 1, 7, 21, 22, 23, 52, 53, 54, 79, 80, 81, 442, 443, 444, 546, 547, 1023, 1024,
             1025, 4789, 4999, 5000, 5999, 6000, 6999, 7000, 7999, 8000, 8079, 8080, 8081,
             33433, 33434, 33534, 33535, 49151, 49152, 65535)
_RR_SPORTS = (53, 80, 123, 1023, 1024, 40000, 65535)
_RR_TTLS = (0, 1, 2, 63, 64, 128, 254, 255)
_RR_OPTLENS = (0, 0, 0, 4, 8, 12, 20, 40)
_RR_ICMP4 = ((8, 0), (0, 0), (3, 1), (3, 3), (3, 4), (5, 1), (11, 0), (13, 0))
_RR_ICMP6 = ((128, 0), (129, 0), (1, 4), (2, 0), (3, 0), (133, 0), (134, 0), (135, 0), (136, 0))
_RR_FLAGS = ("S", "SA", "A", "PA", "FA", "R", "FPU", "SF", "")
_RR_VLANS = ((), (), ((ETH_VLAN, 100),), ((ETH_VLAN, 4095),), ((ETH_QINQ, 200), (ETH_VLAN, 100)),
             ((ETH_VLAN, 300), (ETH_VLAN, 100)),
             ((ETH_QINQ, 200), (ETH_VLAN, 100), (ETH_VLAN, 50)))
_RR_SRC4 = ("10.1.1.1", "192.168.1.5", "203.0.113.9")
_RR_DST4 = ("10.0.0.1", "10.1.2.3", "192.168.1.1", "198.51.100.7", "8.8.8.8", "224.0.0.1",
            "127.0.0.1", "255.255.255.255")
_RR_SRC6 = ("2001:db8::100", "fe80::5", "2001:db9::1")
_RR_DST6 = ("2001:db8::1", "fe80::1", "ff02::1", "::1")
_RR_DST_MACS = ("02:00:00:00:00:02", "02:00:00:00:00:02", "ff:ff:ff:ff:ff:ff",
                "01:00:5e:00:00:01", "33:33:00:00:00:01")
_RR_SIZES = (0, 64, 256, 1500)        # IP packet length (0: headers only)


def path_classes(k: int, seed: int) -> list[FlowSpec]:
    """`k` distinct header shapes, cycling through L3/L4 stacks and drawing the other
    dimensions (VLAN depth, ports at ACL-like boundaries, TTL, IP option length, ICMP type, TCP
    flags, destination kind, length) from a seeded RNG; duplicates are redrawn."""
    rng = random.Random(f"{seed}/adversarial_rr/classes")
    seen: set[FlowSpec] = set()
    out: list[FlowSpec] = []
    attempts = 0
    while len(out) < k:
        attempts += 1
        if attempts > 50 * k + 1000:
            raise JitnicError(f"could not find {k} distinct path classes")
        l3, proto, extra = _RR_STACKS[attempts % len(_RR_STACKS)]
        spec = FlowSpec(l3=l3, proto=proto, vlans=rng.choice(_RR_VLANS),
                        src_mac="02:00:00:00:00:01", dst_mac=rng.choice(_RR_DST_MACS),
                        size=rng.choice(_RR_SIZES), ttl=rng.choice(_RR_TTLS))
        if l3 == "ipv4":
            opt_len = rng.choice(_RR_OPTLENS)
            spec = replace(spec, src=rng.choice(_RR_SRC4), dst=rng.choice(_RR_DST4), ext=extra,
                           options=(("ra" if opt_len == 4 else "rr"), opt_len) if opt_len else None)
        elif l3 == "ipv6":
            spec = replace(spec, src=rng.choice(_RR_SRC6), dst=rng.choice(_RR_DST6), ext=extra)
        elif l3 == "arp":
            spec = replace(spec, src="10.1.1.1", dst=rng.choice(_RR_DST4),
                           arp_op=rng.choice((1, 2)), size=None, ttl=0)
        else:
            spec = replace(spec, ethertype=extra, size=None, ttl=0)
        if proto == "sctp":
            spec = replace(spec, size=0)        # scapy's CRC32c covers the headers only
        if proto in ("tcp", "udp", "sctp"):
            spec = replace(spec, sport=rng.choice(_RR_SPORTS), dport=rng.choice(_RR_PORTS))
        if proto == "tcp":
            spec = replace(spec, tcp_flags=rng.choice(_RR_FLAGS), seq=1000)
        if proto == "icmp":
            spec = replace(spec, icmp=rng.choice(_RR_ICMP6 if l3 == "ipv6" else _RR_ICMP4),
                           sport=0x4A49)
        if spec not in seen:
            seen.add(spec)
            out.append(spec)
    return out


# ----------------------------------------------------------------------------- registry

@dataclass(frozen=True)
class Param:
    """A workload parameter: its default fixes its type; `check` returns why a value is bad."""
    default: object
    help: str
    check: Callable[[object], str | None] | None = None


def _positive(v) -> str | None:
    return None if v >= 1 else "must be >= 1"


def _non_negative(v) -> str | None:
    return None if v >= 0 else "must be >= 0"


def _probability(v) -> str | None:
    return None if 0.0 <= v <= 1.0 else "must be between 0 and 1"


def _mix_name(v) -> str | None:
    return None if v in MIXES else f"must be one of {', '.join(MIXES)}"


def _kinds(v) -> str | None:
    if v == "all":
        return None
    bad = [k for k in v.split(",") if k not in CORNER_KINDS]
    return f"unknown kind(s) {', '.join(bad)} (known: {', '.join(CORNER_KINDS)})" if bad else None


def _kind_tuple(v: str) -> tuple[str, ...]:
    return CORNER_KINDS if v == "all" else tuple(v.split(","))


_FLOW_PARAMS = {
    "flows": Param(1000, "number of flows", _positive),
    "s": Param(1.1, "Zipf exponent (0 = uniform)", _non_negative),
    "vary": Param(True, "advance IPv4 id / TCP seq / ICMP echo seq per packet"),
}


@dataclass(frozen=True)
class Workload:
    name: str
    func: Callable[..., Iterator[tuple[str, bytes]]]
    params: dict[str, Param]

    @property
    def doc(self) -> str:
        return (self.func.__doc__ or "").strip()

    @property
    def summary(self) -> str:
        return " ".join(self.doc.split("\n\n")[0].split())


WORKLOADS: dict[str, Workload] = {}


def workload(name: str, **params: Param):
    def register(func):
        WORKLOADS[name] = Workload(name, func, params)
        return func
    return register


@workload("zipf", **_FLOW_PARAMS, mix=Param("default", "protocol mix of the flows", _mix_name))
def _wl_zipf(count: int, seed: int, flows: int, s: float, vary: bool, mix: str):
    """Benign traffic: `flows` flows with Zipf(s) popularity, IMIX packet sizes.

    Flows (fractions of flows in the default mix): 30% IPv6; TCP 55% / UDP 35% / ICMP 10%
    (ICMPv6 for IPv6; 80% echo request, 20% echo reply); 12% one 802.1Q tag, 4% QinQ; 4% of IPv4
    flows with IP options (router alert, NOPs, record route, loose source route, up to 40 bytes);
    TTL/hop limit 64 (50%), 128, 255, 32, 2, 1 (6%), 0 (6%); some DSCP/ECN bits. Flow rank k gets
    probability proportional to 1/(k+1)^s. Other mixes: v4_tcp, v6_udp, v4_only, v6_only.
    """
    stream = _zipf_stream(seed, "zipf", flows, s, MIXES[mix], vary)
    return itertools.islice(stream, count)


@workload("malformed",
          valid=Param(0.25, "fraction of valid (zipf) packets mixed in", _probability),
          kinds=Param("all", "comma-separated corner-case kinds", _kinds),
          flows=Param(256, "flows of the valid part", _positive))
def _wl_malformed(count: int, seed: int, valid: float, kinds: str, flows: int):
    """Malformed and unusual frames mixed with valid traffic.

    Each packet is valid (zipf, probability `valid`) or one corner case drawn uniformly from
    `kinds`: runts (0..13 bytes), bad IP versions, IPv4 with IHL < 5, IPv4 options (valid and
    broken), IPv4/IPv6 fragments, truncated L4 headers, IP lengths that disagree with the frame,
    wrong ethertypes (ARP, LLDP, MPLS, 802.3/LLC, unknown, v4/v6 swapped), oversize frames
    (> 1518 bytes, up to 9018), truncated VLAN tags and odd VLAN stacks (3-4 tags, VID 0 or
    4095, TPID 0x9100). Labels name the kind.
    """
    rng = random.Random(f"{seed}/malformed/choice")
    corners = CornerCases(seed, "malformed", rng, _kind_tuple(kinds))
    benign = _zipf_stream(seed, "malformed/valid", flows, 1.0, MIXES["default"], True)
    for _ in range(count):
        if rng.random() < valid:
            yield next(benign)
        else:
            yield corners.next()


@workload("adversarial_rr", k=Param(64, "number of distinct path classes",
                                    lambda v: None if 1 <= v <= 65536 else "must be 1..65536"))
def _wl_adversarial_rr(count: int, seed: int, k: int):
    """Round-robin over `k` distinct header shapes ("path classes"), class i % k at packet i.

    Classes cycle through 15 L3/L4 stacks (IPv4/IPv6 TCP, UDP, ICMP; GRE; SCTP; IPv4 MF
    fragment; IPv6 hop-by-hop; IPv6 fragment header; ARP; LLDP, loopback and MPLS ethertypes) and
    draw VLAN stack (none, 802.1Q, VID 4095, QinQ 0x88a8 or 0x8100 outer, three tags),
    destination MAC (unicast, broadcast, multicast), ports on both sides of ACL-like rule
    boundaries (7, 22, 53, 80, 443, 546/547, 1023/1024, 5000-5999, 6000-6999, 8000-8080,
    33434-33534, ...), TTL (0, 1, 2, 63, 64, 128, 254, 255), IPv4 option length (0-40),
    ICMP/ICMPv6 types, TCP flags (incl. null and SYN+FIN), source and destination prefixes
    (private, documentation, public, multicast, loopback, broadcast, link-local) and length.
    Every class has a fixed byte image, so with k larger than the trace cache an LRU cache
    misses on every packet. Whether two classes really take
    different paths depends on the XDP program: a program that only looks at the ethertype sees
    a handful of paths, not k.
    """
    frames = [None] * k
    classes = path_classes(k, seed)
    for i in range(count):
        j = i % k
        frame = frames[j]
        if frame is None:
            spec = classes[j]
            hdr, pay = build_template(spec).sized(spec.size or 0)
            frame = frames[j] = hdr + pay
        yield f"class/{j}", frame


@workload("rare_injection", **_FLOW_PARAMS,
          p=Param(0.001, "probability that a packet is a corner case", _probability),
          kinds=Param("all", "comma-separated corner-case kinds", _kinds))
def _wl_rare_injection(count: int, seed: int, flows: int, s: float, vary: bool, p: float,
                       kinds: str):
    """A benign zipf stream (default mix) with rare corner cases injected.

    Each packet is, with probability `p`, a corner case of the `malformed` workload (kinds as
    there), otherwise the next packet of the zipf stream. Labels name the kind or the flow.
    """
    rng = random.Random(f"{seed}/rare_injection/choice")
    corners = CornerCases(seed, "rare_injection", rng, _kind_tuple(kinds))
    benign = _zipf_stream(seed, "rare_injection", flows, s, MIXES["default"], vary)
    for _ in range(count):
        if rng.random() < p:
            yield corners.next()
        else:
            yield next(benign)


@workload("phase_shift", **_FLOW_PARAMS,
          at=Param(0.5, "fraction of the capture after which the mix changes", _probability),
          before=Param("v4_tcp", "mix before the shift", _mix_name),
          after=Param("v6_udp", "mix after the shift", _mix_name))
def _wl_phase_shift(count: int, seed: int, flows: int, s: float, vary: bool, at: float,
                    before: str, after: str):
    """The traffic mix changes once, at fraction `at` of the capture.

    Packets before the shift come from a zipf stream of `flows` flows drawn from mix `before`
    (default v4_tcp: 95% IPv4, 85% TCP); after it, from a different flow set drawn from mix
    `after` (default v6_udp: 90% IPv6, 85% UDP). Both phases use Zipf(s) and IMIX sizes. Labels
    start with phase0/ or phase1/.
    """
    shift = round(count * at)
    phase0 = _zipf_stream(seed, "phase0", flows, s, MIXES[before], vary)
    phase1 = _zipf_stream(seed, "phase1", flows, s, MIXES[after], vary)
    yield from itertools.islice(phase0, shift)
    yield from itertools.islice(phase1, count - shift)


def resolve_params(name: str, params: dict[str, object]) -> dict[str, object]:
    """Defaults filled in, strings (from the command line) converted, values checked."""
    wl = get_workload(name)
    unknown = sorted(set(params) - set(wl.params))
    if unknown:
        known = ", ".join(wl.params) or "none"
        raise JitnicError(f"workload {name}: unknown parameter {unknown[0]!r} (known: {known})")
    out = {}
    for key, spec in wl.params.items():
        value = params.get(key, spec.default)
        want = type(spec.default)
        if isinstance(value, str) and want is not str:
            value = _convert(name, key, value, want)
        elif want is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, want) or (want is int and isinstance(value, bool)):
            raise JitnicError(f"workload {name}: parameter {key}={value!r} is not "
                              f"{want.__name__}")
        if want is float and not math.isfinite(value):      # inf/nan: no workload, invalid JSON
            raise JitnicError(f"workload {name}: parameter {key}={value!r} is not a finite number")
        why = spec.check(value) if spec.check else None
        if why:
            raise JitnicError(f"workload {name}: parameter {key}={value!r} {why}")
        out[key] = value
    return out


def _convert(name: str, key: str, text: str, want: type):
    try:
        if want is bool:
            low = text.strip().lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ValueError(text)
        return want(text)
    except ValueError:
        raise JitnicError(f"workload {name}: parameter {key}={text!r} is not "
                          f"{want.__name__}") from None


def parse_param_args(items: list[str]) -> dict[str, str]:
    """`key=value` strings (command line) → dict."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise JitnicError(f"bad parameter {item!r}: expected key=value")
        out[key.strip()] = value.strip()
    return out


def get_workload(name: str) -> Workload:
    try:
        return WORKLOADS[name]
    except KeyError:
        raise JitnicError(f"unknown workload {name!r} (known: {', '.join(WORKLOADS)})") from None


def _check_count_seed(count: int, seed: int) -> None:
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise JitnicError(f"count must be a non-negative integer, not {count!r}")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise JitnicError(f"seed must be an integer, not {seed!r}")


def generate_labeled(name: str, count: int, seed: int = 0, **params
                     ) -> Iterator[tuple[str, bytes]]:
    """(label, frame) pairs; the label says what the frame is (flow, class, corner kind)."""
    _check_count_seed(count, seed)
    values = resolve_params(name, params)
    return WORKLOADS[name].func(count, seed, **values)


def generate(name: str, count: int, seed: int = 0, **params) -> Iterator[bytes]:
    """`count` Ethernet frames of workload `name`, streamed; same arguments → same bytes."""
    return (frame for _, frame in generate_labeled(name, count, seed, **params))


def write_pcap(path, name: str, count: int, seed: int = 0, *, on_frame=None, **params) -> int:
    """Write the workload to a classic pcap file (1 µs between packets); returns packets written.

    Parameters are checked before the file is created. `on_frame()`, if given, is called after each
    frame is written (progress reporting).
    """
    frames = generate(name, count, seed, **params)
    with PcapWriter(path, snaplen=MAX_FRAME + 14) as w:
        for frame in frames:
            w.write(frame)
            if on_frame is not None:
                on_frame()
        log.info("wrote %d packets of %s to %s", w.count, name, path)
        return w.count


def bench_workloads(count: int = 200_000, tmpdir: str | Path | None = None) -> dict[str, float]:
    """Print and return packets/s for each workload, pcap writing and pcap reading."""
    import tempfile

    from jit.traffic.pcap import read_packets
    S.Ether                                   # import scapy outside the timed loops
    rates = {}
    for name in WORKLOADS:
        n = count if name != "adversarial_rr" else count // 2
        t0 = time.perf_counter()
        total = sum(len(f) for f in generate(name, n, seed=1))
        dt = time.perf_counter() - t0
        rates[name] = n / dt
        print(f"generate {name:15s} {n:9d} pkts {total / 1e6:8.1f} MB {n / dt:12,.0f} pkts/s")
    with tempfile.TemporaryDirectory(dir=tmpdir) as d:
        path = Path(d) / "bench.pcap"
        t0 = time.perf_counter()
        write_pcap(path, "zipf", count, seed=1)
        dt = time.perf_counter() - t0
        rates["write_pcap zipf"] = count / dt
        print(f"write_pcap zipf          {count:9d} pkts {path.stat().st_size / 1e6:8.1f} MB "
              f"{count / dt:12,.0f} pkts/s")
        t0 = time.perf_counter()
        n = sum(1 for _ in read_packets(path))
        dt = time.perf_counter() - t0
        rates["read_packets"] = n / dt
        print(f"read_packets             {n:9d} pkts {'':11s} {n / dt:12,.0f} pkts/s")
    return rates


if __name__ == "__main__":
    bench_workloads()
