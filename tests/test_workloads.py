"""Tests for the traffic generators (jit/traffic/workloads.py) and `jitnic gen` (jit/cli/gen.py)."""
from __future__ import annotations

import collections
import itertools
import math
import struct

import pytest

from jit.traffic import workloads as W
from jit.cli import main as cli_main
from jit import JitnicError
from jit.paths import PROJECT_ROOT
from jit.traffic.pcap import read_packets, read_records

TPIDS = (0x8100, 0x88A8, 0x9100)


def l2(frame: bytes) -> tuple[int | None, int, int]:
    """(ethertype after VLAN tags or None if cut, L3 offset, number of tags)."""
    off, tags = 12, 0
    while len(frame) >= off + 2:
        et = struct.unpack_from("!H", frame, off)[0]
        if et in TPIDS:
            off += 4
            tags += 1
            continue
        return et, off + 2, tags
    return None, off + 2, tags


def ip_length_of(frame: bytes) -> int:
    et, l3, _ = l2(frame)
    if et == 0x0800:
        return struct.unpack_from("!H", frame, l3 + 2)[0]
    assert et == 0x86DD
    return struct.unpack_from("!H", frame, l3 + 4)[0] + 40


def flow_of(label: str) -> int:
    return int(label.rsplit("/", 1)[1])


def take(name, count, seed=1, **params):
    return list(W.generate_labeled(name, count, seed, **params))


# ---------------------------------------------------------------- determinism and streaming

SMALL = {"zipf": {"flows": 50}, "malformed": {"flows": 20}, "adversarial_rr": {"k": 20},
         "rare_injection": {"flows": 50, "p": 0.05}, "phase_shift": {"flows": 50}}


def test_every_workload_is_registered_and_documented():
    assert set(W.WORKLOADS) == {"zipf", "malformed", "adversarial_rr", "rare_injection",
                                "phase_shift"}
    for wl in W.WORKLOADS.values():
        assert len(wl.doc) > 100 and wl.summary
        for key, param in wl.params.items():
            assert param.help, (wl.name, key)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_same_seed_same_bytes_other_seed_other_bytes(name):
    a = list(W.generate(name, 400, 7, **SMALL[name]))
    b = list(W.generate(name, 400, 7, **SMALL[name]))
    c = list(W.generate(name, 400, 8, **SMALL[name]))
    assert len(a) == 400 and all(isinstance(f, bytes) for f in a)
    assert a == b
    assert a != c


@pytest.mark.parametrize("name", ["zipf", "adversarial_rr", "rare_injection", "malformed"])
def test_shorter_capture_is_a_prefix(name):
    long = list(W.generate(name, 500, 3, **SMALL[name]))
    assert list(W.generate(name, 123, 3, **SMALL[name])) == long[:123]


def test_generation_is_lazy():
    it = W.generate("zipf", 10 ** 12, 1, flows=10 ** 5)
    first = list(itertools.islice(it, 50))
    assert len(first) == 50
    assert list(W.generate("zipf", 0, 1)) == []


def test_write_pcap_round_trip_and_reproducible(tmp_path):
    p1, p2 = tmp_path / "a.pcap", tmp_path / "b.pcap"
    assert W.write_pcap(p1, "malformed", 600, 5, flows=30) == 600
    assert W.write_pcap(p2, "malformed", 600, 5, flows=30) == 600
    assert p1.read_bytes() == p2.read_bytes()
    assert list(read_packets(p1)) == list(W.generate("malformed", 600, 5, flows=30))
    recs = list(read_records(p1))
    assert all(r.orig_len == len(r.data) for r in recs)          # nothing truncated
    assert [r.ts_ns for r in recs[:3]] == [0, 1000, 2000]


# ---------------------------------------------------------------- parameters

@pytest.mark.parametrize("name,params,pattern", [
    ("nope", {}, "unknown workload 'nope'"),
    ("zipf", {"flow": 3}, "unknown parameter 'flow'"),
    ("zipf", {"flows": 0}, "flows=0 must be >= 1"),
    ("zipf", {"flows": "many"}, "flows='many' is not int"),
    ("zipf", {"s": -1.0}, "must be >= 0"),
    ("zipf", {"mix": "v5"}, "mix='v5' must be one of"),
    ("zipf", {"vary": "maybe"}, "is not bool"),
    ("zipf", {"flows": 2.5}, "is not int"),
    ("rare_injection", {"p": 1.5}, "between 0 and 1"),
    ("malformed", {"kinds": "runt,bogus"}, "unknown kind"),
    ("adversarial_rr", {"k": 0}, "must be 1..65536"),
    ("phase_shift", {"at": "x"}, "is not float"),
])
def test_bad_parameters(name, params, pattern):
    with pytest.raises(JitnicError, match=pattern) as info:
        W.generate(name, 10, 1, **params)
    assert "\n" not in str(info.value)


def test_bad_count_and_seed():
    with pytest.raises(JitnicError):
        W.generate("zipf", -1, 1)
    with pytest.raises(JitnicError):
        W.generate("zipf", 10, "1")


def test_string_parameters_are_converted():
    got = W.resolve_params("rare_injection", {"flows": "12", "p": "0.5", "vary": "off",
                                              "kinds": "runt,oversize"})
    assert got == {"flows": 12, "s": 1.1, "vary": False, "p": 0.5, "kinds": "runt,oversize"}
    assert W.parse_param_args(["a=1", " b = x=y "]) == {"a": "1", "b": "x=y"}
    with pytest.raises(JitnicError, match="expected key=value"):
        W.parse_param_args(["novalue"])


def test_write_pcap_checks_parameters_before_creating_the_file(tmp_path):
    path = tmp_path / "x.pcap"
    with pytest.raises(JitnicError):
        W.write_pcap(path, "zipf", 10, 1, flows=-3)
    assert not path.exists()


# ---------------------------------------------------------------- zipf: shape

def test_zipf_top_flow_frequency():
    n, flows, s = 20_000, 100, 1.1
    counts = collections.Counter(flow_of(lbl) for lbl, _ in take("zipf", n, 11, flows=flows, s=s))
    harmonic = sum((k + 1) ** -s for k in range(flows))
    for rank in (0, 1, 9):
        p = (rank + 1) ** -s / harmonic
        sigma = math.sqrt(p * (1 - p) / n)
        assert abs(counts[rank] / n - p) < 5 * sigma, (rank, counts[rank] / n, p)
    assert counts[0] > counts[1] > counts[9]
    assert W.Zipf(flows, s).probability(0) == pytest.approx(1 / harmonic)


def test_zipf_uniform_when_s_is_zero():
    n, flows = 20_000, 20
    counts = collections.Counter(flow_of(lbl) for lbl, _ in take("zipf", n, 4, flows=flows, s=0))
    assert len(counts) == flows
    assert max(counts.values()) / n < 1 / flows + 5 * math.sqrt(0.05 * 0.95 / n)


def test_imix_proportions():
    n = 20_000
    frames = list(W.generate("zipf", n, 2, flows=300))
    sizes = collections.Counter()
    for f in frames:
        length = ip_length_of(f)
        assert length == len(f) - l2(f)[1]                 # IP length agrees with the frame
        sizes["small" if length <= 100 else "medium" if length == 576 else
              "large" if length == 1500 else "other"] += 1
    assert sizes["other"] == 0
    total_weight = sum(w for _, w in W.IMIX)
    for name, (_, weight) in zip(("small", "medium", "large"), W.IMIX):
        assert abs(sizes[name] / n - weight / total_weight) < 0.02, sizes


def test_zipf_mix_covers_the_protocol_corners():
    """Flow-level mix: IPv4/IPv6, TCP/UDP/ICMP(v6) echo, VLAN and QinQ, IPv4 options, TTL 0/1."""
    fset = W.FlowSet(1, "zipf", 3000, W.MIXES["default"])
    specs = [fset.spec(i) for i in range(3000)]
    frac = lambda pred: sum(map(pred, specs)) / len(specs)      # noqa: E731
    assert 0.25 < frac(lambda s: s.l3 == "ipv6") < 0.35
    assert 0.50 < frac(lambda s: s.proto == "tcp") < 0.60
    assert 0.30 < frac(lambda s: s.proto == "udp") < 0.40
    assert 0.07 < frac(lambda s: s.proto == "icmp") < 0.13
    assert 0.09 < frac(lambda s: len(s.vlans) == 1) < 0.15
    assert 0.02 < frac(lambda s: len(s.vlans) == 2) < 0.06
    assert any(s.vlans and s.vlans[0][0] == 0x88A8 for s in specs)
    assert 0.01 < frac(lambda s: s.options is not None) < 0.05
    assert all(s.options is None for s in specs if s.l3 == "ipv6")
    assert {0, 1, 64, 128, 255} <= {s.ttl for s in specs}
    assert {(8, 0), (0, 0), (128, 0), (129, 0)} <= {s.icmp for s in specs if s.proto == "icmp"}


# ---------------------------------------------------------------- scapy reads the packets back

def _recomputed(pkt):
    """The packet rebuilt by scapy with every checksum recomputed."""
    from scapy.layers.l2 import Ether
    clone = pkt.copy()
    layer = clone
    while layer is not None and layer.name not in ("Raw", "Padding", "NoPayload"):
        for field in ("chksum", "cksum"):
            if field in layer.fields:
                delattr(layer, field)
        layer = layer.payload if layer.payload else None
    return bytes(Ether(bytes(clone)))


def test_scapy_parses_zipf_packets_as_their_flows():
    from scapy.layers.inet import ICMP, IP, TCP, UDP
    from scapy.layers.inet6 import ICMPv6EchoReply, ICMPv6EchoRequest, IPv6
    from scapy.layers.l2 import Dot1AD, Dot1Q, Ether
    seed, flows = 9, 400
    fset = W.FlowSet(seed, "zipf", flows, W.MIXES["default"])
    seen = collections.Counter()
    for label, frame in take("zipf", 1500, seed, flows=flows):
        spec = fset.spec(flow_of(label))
        pkt = Ether(frame)
        assert (Dot1AD in pkt) == bool(spec.vlans and spec.vlans[0][0] == 0x88A8)
        tags = sum(1 for layer in pkt.layers() if layer in (Dot1Q, Dot1AD))
        assert tags == len(spec.vlans)
        if spec.l3 == "ipv4":
            ip = pkt[IP]
            assert (ip.src, ip.dst, ip.ttl) == (spec.src, spec.dst, spec.ttl)
            assert ip.ihl == 5 + (spec.options[1] // 4 if spec.options else 0)
            assert ip.len == len(frame) - l2(frame)[1]
        else:
            ip = pkt[IPv6]
            assert (ip.hlim, ip.plen) == (spec.ttl, len(frame) - l2(frame)[1] - 40)
        if spec.proto == "tcp":
            assert (pkt[TCP].sport, pkt[TCP].dport) == (spec.sport, spec.dport)
        elif spec.proto == "udp":
            assert (pkt[UDP].sport, pkt[UDP].dport, pkt[UDP].len) == (
                spec.sport, spec.dport, ip.len - ip.ihl * 4 if spec.l3 == "ipv4" else ip.plen)
        elif spec.l3 == "ipv4":
            assert (pkt[ICMP].type, pkt[ICMP].id) == (spec.icmp[0], spec.sport)
        else:
            cls = ICMPv6EchoRequest if spec.icmp[0] == 128 else ICMPv6EchoReply
            assert pkt[cls].id == spec.sport
        assert _recomputed(pkt) == frame, (label, pkt.summary())   # every checksum valid
        seen[(spec.l3, spec.proto)] += 1
    assert len(seen) == 6                                    # v4/v6 x tcp/udp/icmp


def test_per_packet_variation_keeps_checksums_valid():
    """vary: successive packets of one flow differ in IPv4 id / TCP seq / echo seq only."""
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Ether
    frames = collections.defaultdict(list)
    for label, frame in take("zipf", 3000, 21, flows=8, s=0.0):
        frames[label].append(frame)
    varied = 0
    for label, fl in frames.items():
        for frame in fl[:40]:
            pkt = Ether(frame)
            assert _recomputed(pkt) == frame, label
        ids = [Ether(f)[IP].id for f in fl[:40] if IP in Ether(f)]
        if ids:
            assert ids == list(range(1, len(ids) + 1))
            varied += 1
        tcp = [Ether(f)[TCP] for f in fl[:20] if TCP in Ether(f)]
        for a, b, fa in zip(tcp, tcp[1:], fl):
            assert (b.seq - a.seq) % (1 << 32) == len(a.payload)
    assert varied
    still = list(W.generate("zipf", 200, 21, flows=2, s=0.0, vary=False))
    assert len(set(still)) <= 2 * 3                          # 2 flows x 3 sizes


# ---------------------------------------------------------------- malformed

def check_corner(kind: str, f: bytes) -> None:
    et, l3, tags = l2(f)
    if kind == "runt":
        assert len(f) <= 13
    elif kind == "bad_ip_version":
        assert et in (0x0800, 0x86DD)
        assert f[l3] >> 4 != (4 if et == 0x0800 else 6)
    elif kind == "ipv4_bad_ihl":
        assert et == 0x0800 and f[l3] >> 4 == 4 and f[l3] & 0xF < 5
    elif kind == "ipv4_options":
        assert et == 0x0800 and f[l3] & 0xF > 5
    elif kind == "fragment":
        if et == 0x0800:
            flags_off = struct.unpack_from("!H", f, l3 + 6)[0]
            assert flags_off & 0x3FFF
        else:
            assert et == 0x86DD and f[l3 + 6] == 44
    elif kind == "truncated_l4":
        assert et in (0x0800, 0x86DD)
        l4 = l3 + ((f[l3] & 0xF) * 4 if et == 0x0800 else 40)
        proto = f[l3 + 9] if et == 0x0800 else f[l3 + 6]
        assert len(f) - l4 < {6: 20, 17: 8, 1: 8, 58: 8}[proto]
        assert ip_length_of(f) > len(f) - l3
    elif kind == "bad_ip_length":
        assert ip_length_of(f) != len(f) - l3
    elif kind == "wrong_ethertype":
        if et == 0x0800:
            assert f[l3] >> 4 == 6
        elif et == 0x86DD:
            assert f[l3] >> 4 == 4
    elif kind == "oversize":
        assert len(f) > 1518
        assert ip_length_of(f) == len(f) - l3
    elif kind == "vlan_truncated":
        assert struct.unpack_from("!H", f, 12)[0] in TPIDS
        assert len(f) <= l3 or et is None
    elif kind == "vlan_odd":
        vids = [struct.unpack_from("!H", f, 14 + 4 * i)[0] & 0xFFF for i in range(tags)]
        assert tags >= 3 or 0 in vids or 4095 in vids or f[12:14] == b"\x91\x00"
        assert et in (0x0800, 0x86DD)
    else:
        raise AssertionError(kind)


def test_malformed_kinds_have_their_defects():
    from scapy.layers.inet import IP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import Ether
    got = take("malformed", 4000, 13, flows=40)
    kinds = collections.Counter(lbl if not lbl.startswith("malformed/valid") else "valid"
                                for lbl, _ in got)
    assert set(kinds) == set(W.CORNER_KINDS) | {"valid"}
    assert abs(kinds["valid"] / 4000 - 0.25) < 0.04
    for label, frame in got:
        if label.startswith("malformed/valid"):
            pkt = Ether(frame)
            assert IP in pkt or IPv6 in pkt
        else:
            check_corner(label, frame)
    sizes = [len(f) for lbl, f in got if lbl == "runt"]
    assert 0 in sizes and 13 in sizes


def test_malformed_kinds_parameter_and_all_corners():
    got = take("malformed", 300, 2, valid=0.0, kinds="runt,oversize")
    assert {lbl for lbl, _ in got} == {"runt", "oversize"}
    for kind in W.CORNER_KINDS:
        for label, frame in take("malformed", 60, 17, valid=0.0, kinds=kind):
            assert label == kind
            check_corner(kind, frame)
        assert W.corner_kind_doc(kind)


def test_rare_injection_rate():
    n, p = 20_000, 0.02
    got = take("rare_injection", n, 6, flows=200, p=p)
    injected = [(lbl, f) for lbl, f in got if not lbl.startswith("rare_injection/flow/")]
    sigma = math.sqrt(p * (1 - p) / n)
    assert abs(len(injected) / n - p) < 5 * sigma
    for label, frame in injected:
        check_corner(label, frame)
    assert all(lbl.startswith("rare_injection/flow/")
               for lbl, _ in take("rare_injection", 2000, 6, flows=50, p=0.0))
    assert all(lbl in W.CORNER_KINDS
               for lbl, _ in take("rare_injection", 300, 6, flows=50, p=1.0))


# ---------------------------------------------------------------- adversarial round robin

@pytest.mark.parametrize("k", [1, 7, 64, 300])
def test_adversarial_cycles_exactly_k_classes(k):
    got = take("adversarial_rr", 3 * k + 5, 4, k=k)
    frames = [f for _, f in got]
    assert len(set(frames)) == k
    assert all(frames[i] == frames[i % k] for i in range(len(frames)))
    assert [lbl for lbl, _ in got] == [f"class/{i % k}" for i in range(len(frames))]


def test_adversarial_classes_span_the_dimensions():
    from scapy.layers.inet import ICMP, IP, TCP, UDP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import Ether
    k = 256
    frames = [f for _, f in take("adversarial_rr", k, 4, k=k)]
    ethertypes = collections.Counter(l2(f)[0] for f in frames)
    assert {0x0800, 0x86DD, 0x0806, 0x88CC, 0x9000, 0x8847} <= set(ethertypes)
    assert {0, 1, 2, 3} <= {l2(f)[2] for f in frames}                  # VLAN depths
    pkts = [Ether(f) for f in frames]
    assert len({p[TCP].dport for p in pkts if TCP in p} | {p[UDP].dport for p in pkts
                                                            if UDP in p}) >= 20
    assert {0, 1, 255} <= {p[IP].ttl for p in pkts if IP in p}
    assert {5, 6, 15} <= {p[IP].ihl for p in pkts if IP in p}
    assert len({p[ICMP].type for p in pkts if ICMP in p}) >= 4
    assert len({bytes(p[IPv6])[40] for p in pkts if IPv6 in p}) >= 3       # next headers
    assert len(W.path_classes(k, 4)) == len(set(W.path_classes(k, 4))) == k


def ones_sum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def checksums_ok(frame: bytes) -> bool | None:
    """Independent check of the IPv4 header and TCP/UDP/ICMP/ICMPv6 checksums (None: no L4
    checksum to check)."""
    et, l3, _ = l2(frame)
    if et == 0x0800:
        ihl = (frame[l3] & 0xF) * 4
        if ones_sum(frame[l3:l3 + ihl]) != 0xFFFF:
            return False
        proto, l4 = frame[l3 + 9], l3 + ihl
        assert not any(frame[o] in (0x83, 0x89) for o in range(l3 + 20, l4))   # no source route
        pseudo = frame[l3 + 12:l3 + 20] + struct.pack("!HH", proto, len(frame) - l4)
    elif et == 0x86DD:
        proto, l4 = frame[l3 + 6], l3 + 40
        while proto in (0, 44):                     # hop-by-hop, fragment
            proto, l4 = frame[l4], l4 + (8 if proto == 44 else (frame[l4 + 1] + 1) * 8)
        pseudo = frame[l3 + 8:l3 + 40] + struct.pack("!IxxxB", len(frame) - l4, proto)
    else:
        return None
    if proto not in (1, 6, 17, 58):
        return None
    return ones_sum((b"" if proto == 1 else pseudo) + frame[l4:]) == 0xFFFF


def test_adversarial_and_oversize_checksums():
    checked = 0
    for frame in itertools.chain(W.generate("adversarial_rr", 300, 5, k=300),
                                 W.generate("malformed", 100, 5, kinds="oversize", valid=0.0),
                                 W.generate("zipf", 500, 5, flows=100, mix="v6_only")):
        ok = checksums_ok(frame)
        assert ok is not False, frame.hex()
        checked += ok is True
    assert checked > 500


def test_adversarial_default_k_exceeds_typical_cache():
    from jit.nic.encoding import N_ENTRIES
    assert W.WORKLOADS["adversarial_rr"].params["k"].default > N_ENTRIES


# ---------------------------------------------------------------- phase shift

def test_phase_shift_changes_the_mix():
    n = 6000
    got = take("phase_shift", n, 8, flows=200, s=0.8, at=0.25)
    shift = n // 4
    assert all(lbl.startswith("phase0/") for lbl, _ in got[:shift])
    assert all(lbl.startswith("phase1/") for lbl, _ in got[shift:])

    def mix(frames):
        c = collections.Counter()
        for f in frames:
            et, l3, _ = l2(f)
            proto = f[l3 + 9] if et == 0x0800 else f[l3 + 6]
            c[(et, proto)] += 1
        return {key: v / len(frames) for key, v in c.items()}
    before = mix([f for _, f in got[:shift]])
    after = mix([f for _, f in got[shift:]])
    assert before.get((0x0800, 6), 0) > 0.6
    assert after.get((0x86DD, 17), 0) > 0.6
    assert after.get((0x0800, 6), 0) < 0.2 and before.get((0x86DD, 17), 0) < 0.2
    # different flow sets: no frame header of phase 0 reappears after the shift
    heads = lambda part: {f[:l2(f)[1] + 20] for _, f in part}     # noqa: E731
    assert not heads(got[:shift]) & heads(got[shift:])


# ---------------------------------------------------------------- CLI, docs, bench

def test_cli_gen_writes_a_capture(tmp_path, capsys):
    out = tmp_path / "g.pcap"
    rc = cli_main(["gen", "adversarial_rr", "-o", str(out), "--count", "50", "--seed", "3",
                   "--param", "k=10"])
    assert rc == 0
    assert list(read_packets(out)) == list(W.generate("adversarial_rr", 50, 3, k=10))
    assert '"packets": 50' in capsys.readouterr().out


def test_cli_gen_list_and_errors(tmp_path, capsys):
    assert cli_main(["gen", "--list"]) == 0
    listed = capsys.readouterr().out
    for name in W.WORKLOADS:
        assert f"{name}:" in listed
    assert cli_main(["gen", "zipf", "-o", str(tmp_path / "x.pcap"), "-p", "flows=zero"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "flows='zero'" in err
    assert cli_main(["gen", "zipf"]) == 2
    assert cli_main(["gen", "-o", str(tmp_path / "y.pcap")]) == 2
    assert cli_main(["gen", "zipf", "-o", str(tmp_path / "z.pcap"), "--count", "-4"]) == 2
    assert not (tmp_path / "x.pcap").exists()


def test_docs_describe_every_workload_parameter_and_kind():
    doc = (PROJECT_ROOT / "docs" / "workloads.md").read_text()
    for wl in W.WORKLOADS.values():
        assert f"`{wl.name}`" in doc, wl.name
        for key in wl.params:
            assert f"`{key}`" in doc, (wl.name, key)
    for kind in W.CORNER_KINDS:
        assert f"`{kind}`" in doc, kind
    for mix in W.MIXES:
        assert f"`{mix}`" in doc, mix


def test_bench_runs(capsys, tmp_path):
    rates = W.bench_workloads(count=2000, tmpdir=tmp_path)
    assert set(W.WORKLOADS) <= set(rates) and all(r > 0 for r in rates.values())
    assert "pkts/s" in capsys.readouterr().out
