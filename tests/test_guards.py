"""Trace format v2 on the host side: guards and their reasons, the trace library with several paths
sharing their atoms, the miss handler installing such paths side by side, tail-call guards,
uncacheable paths naming their reason, the tracer before guards (v1), the shadow's check, and the
`jitnic trace` / `jitnic paths` output."""
from __future__ import annotations

import json
from functools import lru_cache

from jit import cli
from jit.ebpf.asm import assemble
from jit.ebpf import elf, isa
from jit.ebpf.maps import contents as mc
from jit.ebpf.runtime import XdpRuntime
from jit.compiler.shadow import Shadow
from jit.compiler.trace_run import run_trace
from jit.compiler.tracer import trace_packet
from jit.host.miss_handler import Host, TraceLibrary, compile_path
from jit.nic.encoding import TAIL_CALL_EMPTY, ErrorCode
from jit.nic.model import NicConfig
from jit.nic.residency import program_id
from jit.paths import program_maps_file
from jit.traffic import pcap
import packets as pk
from conftest import built_program

LIMITS = dict(max_atoms=16, max_trace_len=128, hdr_bytes=64)


@lru_cache(maxsize=None)
def linked(name: str):
    return elf.load_linked(built_program(name), name)


def runtime(name: str, **kw) -> XdpRuntime:
    lk = linked(name)
    f = program_maps_file(name)
    return XdpRuntime(lk, maps_in=mc.read_file(f, lk.maps) if f.exists() else None, **kw)


def ipv4_udp(src: bytes, dst: bytes, sport: int, dport: int) -> bytes:
    ip = bytes.fromhex("450000240000400040110000") + src + dst
    udp = sport.to_bytes(2, "big") + dport.to_bytes(2, "big") + bytes.fromhex("00100000")
    return bytes.fromhex("02000000000102000000000208 00".replace(" ", "")) + ip + udp + bytes(8)


A, B = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])


def test_land_filter_relations_are_guards_and_one_trace_serves_every_flow():
    insns = linked("land_filter").insns
    r = trace_packet(insns, ipv4_udp(A, B, 1000, 2000))
    assert r.reason is None and r.action == 2
    whys = [g.why for g in r.guards]
    assert whys == ["relation between pkt[16:18] and len",
                    "relation between pkt[26:30] and pkt[30:34]",
                    "relation between pkt[34:36] and pkt[36:38]"]
    # other flows satisfy the same atoms and pass the same guards: one trace for all of them
    other = ipv4_udp(bytes([192, 168, 7, 9]), B, 53, 4444)
    assert all(a.holds(other) for a in r.atoms)
    assert run_trace(r.trace, other).action == 2
    land = ipv4_udp(A, A, 1000, 2000)                   # the LAND frame fails the address guard
    assert all(a.holds(land) for a in r.atoms) and run_trace(r.trace, land).guard_failed
    v1 = trace_packet(insns, ipv4_udp(A, B, 1000, 2000), guards=False)
    assert v1.guards == () and len(v1.atoms) > len(r.atoms)       # before guards: pinned
    assert not all(a.holds(other) for a in v1.atoms)


def test_library_tries_paths_with_the_same_atoms_until_the_guards_pass():
    """land_filter's PASS and DROP(sport == dport) paths share their atoms; the library keeps
    both and a lookup returns the one whose guards hold."""
    insns = linked("land_filter").insns
    cfg = NicConfig(v2=True, **LIMITS)
    lib = TraceLibrary()
    passing, dropped = ipv4_udp(A, B, 7, 9), ipv4_udp(A, B, 7, 7)
    p1, p2 = lib.path_of(insns, passing, cfg), lib.path_of(insns, dropped, cfg)
    assert p1 is not None and p2 is not None and p1.atoms == p2.atoms and p1.key != p2.key
    assert len(lib) == 2
    for frame, want in ((ipv4_udp(B, A, 80, 80), (p2, 1)), (ipv4_udp(B, A, 80, 81), (p1, 2))):
        compiled, result = lib.lookup(frame, cfg.hdr_bytes)
        assert (compiled, result.action) == want


class RecordingNic:
    """A NIC that accepts every install into a fresh entry."""

    def __init__(self):
        self.installed = []

    def install(self, atoms, code):
        self.installed.append((tuple(atoms), code))
        return len(self.installed) - 1, False, ErrorCode.NONE


def test_host_installs_paths_that_differ_only_in_guards_side_by_side():
    """deny_list: a denied and an allowed source take paths with identical atoms (the lookup
    result is a guard); the second install does not replace the first, and a frame on an
    installed path is deduplicated."""
    rt = runtime("deny_list")
    nic = RecordingNic()
    host = Host(linked("deny_list").insns, nic, runtime=rt, **LIMITS)
    denied = bytes.fromhex(json.loads(program_maps_file("deny_list").read_text())
                           ["maps"]["deny_v4"]["entries"][0]["key"])
    decisions = []
    for i, src in enumerate((denied, B, bytes([10, 9, 9, 9]))):
        decisions.append(host.handle_miss(i, ipv4_udp(src, A, 1, 2)))
        host.apply_due(i + 1)
    assert [d.action for d in decisions] == [1, 2, 2]
    assert [d.scheduled for d in decisions] == [True, True, False]     # third: same path as second
    assert len(nic.installed) == 2 and nic.installed[0][0] == nic.installed[1][0]
    assert nic.installed[0][1] != nic.installed[1][1]


def test_tail_call_is_a_guard_on_the_slot():
    rt = runtime("tail_dispatch")
    frame = ipv4_udp(A, B, 1, 2)
    r = trace_packet(linked("tail_dispatch").insns, frame, runtime=rt)
    assert r.reason is None
    calls = [i for i, insn in enumerate(r.trace) if insn.opcode == 0x85 and insn.imm == 12]
    assert len(calls) == 1
    mov = r.trace[calls[0] - 1]
    assert mov == isa.mov32_imm(4, program_id(linked("tail_dispatch").object, "tail_ipv4"))
    assert [g.why for g in r.guards if g.slot == isa.slot_pcs(r.trace)[calls[0]]] == \
        ["tail-call slot"]
    # the same trace on a NIC whose slot 0 is empty: the guard fails
    empty = runtime("tail_dispatch")
    empty.maps.maps["handlers"].programs.pop(0)
    assert run_trace(r.trace, frame, empty).guard_failed
    assert not run_trace(r.trace, frame, runtime("tail_dispatch")).guard_failed
    assert TAIL_CALL_EMPTY == 0xFFFF_FFFF


def test_paths_that_stay_on_the_host_name_their_reason():
    frames = pk.varied_packets("lpm_router", 40, seed=2)
    rt = runtime("lpm_router")
    reasons = {trace_packet(linked("lpm_router").insns, f, runtime=rt).reason for f in frames}
    # lpm_router's trie is NIC-resident: its routed paths are cacheable (the lookup result's null
    # check is a guard), nothing names the trie as a reason
    assert None in reasons and not any(r and "routes" in r for r in reasons)
    # xdp_store_bytes past the header window: the NIC would refuse it (STORE_WINDOW)
    copy = assemble("""
    mov %r6, %r1
    mov %r2, 60
    mov %r3, %r10
    add %r3, -8
    mov %r4, 8
    call 190
    mov %r0, 2
    exit
""")
    r = trace_packet(copy, bytes(80), runtime=XdpRuntime(copy), hdr_bytes=64)
    assert r.reason == ("packet store outside the header window: pc 5 (bpf_xdp_store_bytes) "
                        "writes bytes 60..67, HDR_BYTES is 64, the head margin 64")
    # before guards, a map path stays on the host too, named
    v1 = trace_packet(linked("deny_list").insns, ipv4_udp(A, B, 1, 2), runtime=runtime("deny_list"),
                      guards=False)
    assert v1.reason.startswith("trace format v1 (no guards): pc ") and "call 1" in v1.reason


def test_the_host_run_is_the_only_one_and_the_shadow_is_compared():
    """Tracing a frame changes the real maps exactly as one interpreter run does; a shadow that
    drifted from the runtime is reported."""
    rt, ref = runtime("proto_stats"), runtime("proto_stats")
    for f in pk.varied_packets("proto_stats", 20, seed=3):
        trace_packet(linked("proto_stats").insns, f, runtime=rt)
        ref.run(f)
    assert rt.contents() == ref.contents()
    shadow = Shadow(rt)
    assert shadow.differs() is None
    shadow.maps.by_fd[0].buf[0] ^= 1
    assert shadow.differs() == "map proto_stats_map"


def test_cli_trace_prints_guards_and_residency(tmp_path, capsys):
    cap = tmp_path / "in.pcap"
    pcap.write_packets(str(cap), [ipv4_udp(A, B, 1, 2)])
    path, maps = str(built_program("deny_list")), str(program_maps_file("deny_list"))
    assert cli.main(["trace", path, "--pcap", str(cap), "--maps-in", maps]) == 0
    out = capsys.readouterr().out
    assert "guards (2), checked by the trace; the path needs:" in out
    assert "lookup result (deny_v4) == 0   [lookup result]" in out
    assert "  deny_v4 (hash): NIC\n" in out and "cacheable: yes" in out
    assert cli.main(["trace", path, "--pcap", str(cap), "--maps-in", maps, "--no-guards"]) == 1
    assert "not cacheable: trace format v1" in capsys.readouterr().out
    lpm = str(built_program("lpm_router"))
    assert cli.main(["trace", lpm, "--pcap", str(cap), "--maps-in",
                     str(program_maps_file("lpm_router")), "--json"]) in (0, 1)
    obj = json.loads(capsys.readouterr().out)
    assert {m["name"]: m["why_host"] for m in obj["maps"]}["routes"] is None
    # a routed frame (10.0.0.2 matches 10.0.0.0/8): the trie lookup's null check is a guard
    assert cli.main(["trace", lpm, "--pcap", str(cap), "--maps-in",
                     str(program_maps_file("lpm_router"))]) == 0
    out = capsys.readouterr().out
    assert "lookup result (routes) != 0   [lookup result]" in out
    assert "  routes (lpm_trie): NIC\n" in out and "cacheable: yes" in out


def test_cli_paths_prints_guards(tmp_path, capsys):
    cap = tmp_path / "in.pcap"
    pcap.write_packets(str(cap), [ipv4_udp(A, B, 1, 2), ipv4_udp(B, A, 3, 4),
                                  ipv4_udp(A, A, 1, 2)])
    path = str(built_program("land_filter"))
    assert cli.main(["paths", path, "--pcap", str(cap)]) == 0
    out = capsys.readouterr().out
    assert "2 frames" in out and "3 guards" in out
    assert "relation between pkt[26:30] and pkt[30:34]" in out and "guard: " in out
    assert cli.main(["paths", path, "--pcap", str(cap), "--no-guards"]) == 0
    assert "guard:" not in capsys.readouterr().out


def test_head_and_tail_moves_are_traced():
    """icmp_frag_needed truncates the frame (adjust_tail by K - len: the delta is pinned, one
    trace per frame length) and grows the head (adjust_head by a constant: whether it succeeds is
    a `len` atom); ipip_encap grows the head by 20 for a tunnelled VIP. Both traces give the full
    program's bytes on other frames their atoms accept."""
    ip = ipv4_udp(A, B, 1, 2)
    big = bytearray(ip[:16] + (1500).to_bytes(2, "big") + ip[18:] + bytes(1500))
    big[20] |= 0x40                                       # don't fragment
    big = bytes(big)
    vip = bytes.fromhex(json.loads(program_maps_file("ipip_encap").read_text())
                        ["maps"]["vip_tunnels"]["entries"][0]["key"])
    encap = ipv4_udp(bytes([7, 7, 7, 7]), vip, 5, 6)
    for name, frame in (("icmp_frag_needed", big), ("ipip_encap", encap)):
        r = trace_packet(linked(name).insns, frame, runtime=runtime(name), max_trace_len=4096)
        assert r.reason is None and r.packet != frame, (name, r.reason)
        assert any(i.opcode == 0x85 and i.imm in (44, 65) for i in r.trace)
        other = frame[:26] + bytes([9, 9, 9, 9]) + frame[30:]       # another source address
        for q in (frame, other):
            assert all(a.holds(q) for a in r.atoms)
            got = run_trace(r.trace, q, runtime(name))
            full = runtime(name).run(q)
            assert not got.guard_failed and (got.action, got.packet) == (full.action, full.packet)
        if name == "icmp_frag_needed":
            assert any("pinned to its observed value" in n for n in r.notes)
            shorter = frame[:-1]                                    # another length: not this trace
            assert not all(a.holds(shorter) for a in r.atoms)
    # both fit the NIC after optimization: the ICMP reply is 152 slots as traced, under 128 once
    # the optimizer works across the frame moves (docs/opt.md "Frame moves")
    assert compile_path(linked("ipip_encap").insns, encap, runtime=runtime("ipip_encap"),
                        **LIMITS)[2] is None
    r = trace_packet(linked("icmp_frag_needed").insns, big, runtime=runtime("icmp_frag_needed"),
                     max_trace_len=4096)
    assert sum(i.slots for i in r.trace) > LIMITS["max_trace_len"]
    _tr, compiled, reason = compile_path(linked("icmp_frag_needed").insns, big,
                                         runtime=runtime("icmp_frag_needed"), **LIMITS)
    assert reason is None and len(compiled.code) // 8 <= LIMITS["max_trace_len"]
