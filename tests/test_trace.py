"""The tracer: golden conditions for the shipped programs, hand-written programs for each tracer
feature (pointer tracking, store-to-load forwarding, spills, variable offsets, memory safety, every
uncacheable reason), every shipped program on generated traffic, tracing speed, and `jitnic trace`."""
from __future__ import annotations

import json

import pytest
from scapy.layers.inet import IP, TCP, UDP, IPOption_NOP, IPOption_RR
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import ARP, Ether

from jit import cli
from jit.ebpf import elf, interp, isa
from jit.traffic import pcap
from jit.ebpf.asm import assemble
from jit.nic.encoding import HDR_BYTES, MAX_ATOMS, MAX_TRACE_LEN, Atom, AtomKind, AtomOp
from jit.ebpf.memmap import XDP_DROP, XDP_PASS, XDP_TX
from jit.paths import PROGRAM_NAMES
from jit.compiler.trace_run import run_trace
from jit.compiler.tracer import TraceResult, trace_packet, trace_program
import packets as pk

from conftest import built_program


def load(name: str):
    return elf.load_program(built_program(name)).insns


def run(insns, packet):
    r = interp.run_xdp(insns, packet)
    return r.action, r.packet


def check_result(insns, packet, r: TraceResult):
    """Invariants of every traced path."""
    assert r.reason is None or not r.reason.startswith("tracer error"), r.reason
    assert (r.action, r.packet) == run(insns, packet)
    assert r.exact.evaluate(packet), str(r.exact)
    if r.reason is None or r.reason.startswith(("trace too long", "too many atoms",
                                                 "atom outside", "packet store outside")):
        assert r.trace and r.trace[-1].opcode == 0x95
        check_v2_jumps(r)
        got = run_trace(r.trace, packet)
        assert not got.guard_failed and (got.action, got.packet) == (r.action, r.packet)
    if r.reason is None:
        assert all(a.holds(packet) for a in r.atoms), [str(a) for a in r.atoms]
        assert len(r.atoms) <= MAX_ATOMS and r.slots <= MAX_TRACE_LEN
        for a in r.atoms:
            a.words()                                    # encodable
            assert a.kind == AtomKind.LEN or a.offset + a.width <= HDR_BYTES


def check_v2_jumps(r: TraceResult) -> None:
    """Trace format v2: every jump goes forward, to a later slot or to the guard exit (one past
    the last slot); each guard's record points at its jump."""
    pcs = isa.slot_pcs(r.trace)
    end = pcs[-1] + r.trace[-1].slots
    for pc, insn in zip(pcs, r.trace):
        kind = isa.spec_of(insn).kind
        assert kind != isa.CALLX
        if kind in (isa.JA, isa.JCOND):
            target = isa.jump_target(insn, pc)
            assert pc < target <= end and (target == end or target in pcs), (pc, str(insn))
    for g in r.guards:
        assert pcs[g.index] == g.slot and g.why and g.text


def eth(proto: int, payload: bytes = b"") -> bytes:
    return bytes.fromhex("020000000001020000000002") + proto.to_bytes(2, "big") + payload


# ---- shipped programs: golden conditions -------------------------------------------------------
def test_ipv6_filter_ipv6_path():
    insns = load("ipv6_filter")
    frame = bytes(Ether() / IPv6() / UDP())
    r = trace_packet(insns, frame)
    check_result(insns, frame, r)
    assert r.reason is None and r.action == XDP_PASS
    assert str(r.exact) == "len >= 14 && pkt[12:14] == 0x86dd"
    assert r.atoms == (Atom(AtomKind.LEN, AtomOp.GE, 0, 4, True, 0xFFFF_FFFF, 14),
                       Atom(AtomKind.PKT, AtomOp.EQ, 12, 2, True, 0xFFFF, 0x86DD))
    assert [str(a) for a in r.atoms] == ["len >= 14", "pkt[12:14] == 0x86dd"]
    assert r.notes == ()
    assert r.insns == len(r.path) and len(r.trace) < r.insns


def test_ipv6_filter_other_and_runt_paths():
    insns = load("ipv6_filter")
    r = trace_packet(insns, bytes(Ether() / IP() / TCP()))
    assert r.action == XDP_DROP
    assert [str(a) for a in r.atoms] == ["len >= 14", "pkt[12:14] != 0x86dd"]
    runt = bytes(10)
    r = trace_packet(insns, runt)
    check_result(insns, runt, r)
    assert r.action == XDP_PASS and str(r.exact) == "len < 14"
    assert [str(a) for a in r.atoms] == ["len <= 13"]
    assert all(isa.spec_of(i).kind != isa.LDX or i.src != 1 or i.off in (0, 4) for i in r.trace)
    for n in range(0, 20):                               # the runt condition, edge by edge
        assert all(a.holds(bytes(n)) for a in r.atoms) == (n < 14)


def test_parser_classifier_ipv4_options_pins_ihl():
    insns = load("parser_classifier")
    frame = bytes(Ether() / IP(options=[IPOption_NOP(), IPOption_NOP(), IPOption_NOP(),
                                        IPOption_NOP()]) / TCP(dport=80, flags="S"))
    assert (frame[14] & 0xF) == 6
    r = trace_packet(insns, frame)
    check_result(insns, frame, r)
    assert r.reason is None and r.action == XDP_PASS
    assert any("pinned (pkt[14] & 0x0f) == 0x06" in n for n in r.notes)
    ihl = [a for a in r.atoms if a.kind == AtomKind.PKT and a.offset <= 14 < a.offset + a.width]
    assert ihl and all(a.op == AtomOp.EQ for a in ihl)
    assert any((a.mask >> (8 * (a.offset + a.width - 1 - 14))) & 0x0F == 0x0F for a in ihl)
    # the TCP header sits 24 bytes into IP: flags at 14 + 24 + 13 = 51, dport at 14 + 24 + 2
    assert any(a.offset <= 51 < a.offset + a.width for a in r.atoms if a.kind == AtomKind.PKT)
    assert "pkt[((((pkt[14] & 15) << 2) + 14) + 13)]" in str(r.exact) or "pkt[(((pkt[14] & 15) << 2) + 27)]" in str(r.exact)
    # a plain IPv4 TCP frame with IHL 5 takes a different path: its condition does not hold here
    plain = bytes(Ether() / IP() / TCP(dport=80, flags="S"))
    assert not r.exact.evaluate(plain)
    assert not all(a.holds(plain) for a in r.atoms)
    rp = trace_packet(insns, plain)
    assert rp.notes and all("0x05" in n for n in rp.notes if "pinned" in n)


def test_parser_classifier_source_route_option():
    insns = load("parser_classifier")
    frame = bytes(Ether() / IP(options=[IPOption_RR()]) / UDP())
    r = trace_packet(insns, frame)
    check_result(insns, frame, r)
    frame = bytearray(frame)
    frame[34] = 0x83                                     # LSRR first: drop
    r = trace_packet(insns, bytes(frame))
    check_result(insns, bytes(frame), r)
    assert r.action == XDP_DROP and "pkt[34:35] == 0x83" in [str(a) for a in r.atoms]


def test_mac_swap_and_ttl_router_conditions():
    insns = load("mac_swap_tx")
    frame = bytes(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / ARP())
    r = trace_packet(insns, frame)
    check_result(insns, frame, r)
    assert r.action == XDP_TX and [str(a) for a in r.atoms] == ["len >= 14"]
    assert r.packet[:6] == frame[6:12] and r.packet[6:12] == frame[:6]
    insns = load("ttl_router")
    frame = bytes(Ether() / IP(ttl=64) / UDP())
    r = trace_packet(insns, frame)
    check_result(insns, frame, r)
    assert [str(a) for a in r.atoms] == ["len >= 34", "(pkt[12:16] & 0xfffff000) == 0x8004000",
                                         "(pkt[14:15] & 0xf) >= 0x5", "pkt[22:23] >= 0x2"]


@pytest.mark.parametrize("name", PROGRAM_NAMES)
def test_every_program_on_generated_traffic(name):
    insns = load(name)
    frames = pk.varied_packets(name, 80, seed=7) + pk.mixed_packets(40, seed=8)
    reasons = {}
    for frame in frames:
        r = trace_packet(insns, frame)
        check_result(insns, frame, r)
        key = (r.reason or "cacheable").split(":")[0]
        reasons[key] = reasons.get(key, 0) + 1
    assert reasons.get("cacheable", 0) > 0, reasons
    assert "program error" not in reasons and "tracer error" not in reasons, reasons


def test_trace_program_accepts_paths_programs_and_insns():
    path = built_program("ipv6_filter")
    frame = eth(0x86DD, bytes(40))
    a = trace_program(path, frame)
    b = trace_program(str(path), frame)
    c = trace_program(elf.load_program(path), frame)
    d = trace_program(load("ipv6_filter"), frame)
    assert a.atoms == b.atoms == c.atoms == d.atoms


# ---- hand-written programs -------------------------------------------------------------------------
PROLOGUE = """
    ldxw %r2, [%r1+4]
    ldxw %r1, [%r1+0]
    mov %r0, 2
"""


def prog(body: str, bound: int | None = None):
    text = PROLOGUE
    if bound is not None:
        text += f"""
    mov %r3, %r1
    add %r3, {bound}
    jgt %r3, %r2, out
"""
    return assemble(text + body + "\nout:\n    exit\n")


def test_store_then_load_reads_the_stored_value():
    insns = prog("""
    stb [%r1+0], 5
    ldxb %r4, [%r1+0]
    jne %r4, 5, drop
    ldxh %r5, [%r1+0]
    jne %r5, 0x0705, drop
    mov %r0, 3
    ja out
drop:
    mov %r0, 1
""", bound=4)
    frame = bytes([0xAA, 7, 0, 0])
    r = trace_packet(insns, frame)
    check_result(insns, frame, r)
    assert r.action == XDP_TX
    # byte 0 is the stored 5, not the packet's: only byte 1 is constrained
    assert [str(a) for a in r.atoms] == ["len >= 4", "pkt[1:2] == 0x7"]
    assert run(r.trace, bytes([0x13, 7, 9, 9])) == run(insns, bytes([0x13, 7, 9, 9]))


def test_pointer_spill_and_fill_through_the_stack():
    insns = prog("""
    stxdw [%r10-8], %r1
    stxdw [%r10-16], %r2
    ldxdw %r3, [%r10-8]
    ldxdw %r4, [%r10-16]
    mov %r5, %r3
    add %r5, 14
    jgt %r5, %r4, out
    ldxh %r6, [%r3+12]
    jne %r6, 0xdd86, out
    mov %r0, 1
""")
    frame = eth(0x86DD, bytes(20))
    r = trace_packet(insns, frame)
    check_result(insns, frame, r)
    assert [str(a) for a in r.atoms] == ["len >= 14", "pkt[12:14] == 0x86dd"] and r.notes == ()


def test_stack_partial_reload_and_sign_extending_load():
    insns = prog("""
    ldxw %r4, [%r1+20]
    stxw [%r10-8], %r4
    ldxb %r5, [%r10-7]
    jne %r5, 0x22, out
    ldxsb %r6, [%r1+24]
    jslt %r6, -3, out
    mov %r0, 1
""", bound=30)
    frame = bytes(20) + bytes([0x11, 0x22, 0x33, 0x44, 0xFE]) + bytes(10)
    r = trace_packet(insns, frame)
    check_result(insns, frame, r)
    assert r.action == XDP_DROP and r.notes == ()
    assert [str(a) for a in r.atoms] == ["len >= 30", "pkt[21:22] == 0x22", "pkt[24:25] s>= 0xfffffffd"]


def test_jset_jmp32_and_eight_byte_compare():
    insns = prog("""
    ldxb %r4, [%r1+14]
    jset %r4, 0x40, out
    ldxw %r5, [%r1+16]
    jgt32 %r5, 0x1000, out
    ldxdw %r6, [%r1+20]
    lddw %r7, 0x0807060504030201
    jne %r6, %r7, out
    mov %r0, 1
""", bound=28)
    frame = bytes(14) + bytes([0x81, 0, 0x10, 0, 0, 0]) + bytes(range(1, 9)) + bytes(4)
    r = trace_packet(insns, frame)
    check_result(insns, frame, r)
    assert r.action == XDP_DROP and r.notes == ()
    assert [str(a) for a in r.atoms] == [
        "len >= 28", "(pkt[14:15] & 0x40) == 0x0", "pkt[20:24] == 0x1020304",
        "pkt[24:28] == 0x5060708", "pkt[16:20].le <= 0x1000"]
    assert all(str(p) for p in r.exact)


def test_jmp32_compares_only_the_low_half_and_alu32_truncates():
    insns = prog("""
    ldxdw %r5, [%r1+16]
    jne32 %r5, 0x04030201, out
    ldxw %r6, [%r1+24]
    add32 %r6, -1
    jgt %r6, 0xffff, out
    mov %r0, 1
""", bound=28)
    frame = bytes(16) + bytes([1, 2, 3, 4, 0xEE, 0xEE, 0xEE, 0xEE]) + bytes([5, 0, 0, 0])
    r = trace_packet(insns, frame)
    check_result(insns, frame, r)
    assert r.action == XDP_DROP
    # bytes 20..23 are loaded but never compared; the 32-bit add wraps at 2**32, not 2**64
    assert [str(a) for a in r.atoms] == ["len >= 28", "pkt[16:20] == 0x1020304",
                                         "pkt[24:28].le >= 0x1", "pkt[24:28].le <= 0x10000"]
    assert r.notes == ()
    zero = frame[:24] + bytes(4)                          # 0 - 1 wraps to 0xffffffff: > 0xffff
    assert run(insns, zero)[0] == XDP_PASS and not r.exact.evaluate(zero)


def test_data_end_relative_pointers():
    insns = prog("""
    mov %r3, %r2
    add %r3, -20
    jlt %r3, %r1, out
    ldxb %r4, [%r2-1]
    jne %r4, 0x55, out
    mov %r0, 1
""")
    frame = bytes(30) + b"\x55"
    r = trace_packet(insns, frame)
    check_result(insns, frame, r)
    assert r.action == XDP_DROP
    assert "len >= 20" in str(r.exact)
    assert any("variable offset" in n and "len == 31" in n for n in r.notes)
    assert "len == 31" in [str(a) for a in r.atoms]


def test_variable_offset_store_pins_its_address():
    insns = prog("""
    ldxb %r3, [%r1+0]
    and %r3, 15
    add %r3, %r1
    stb [%r3+4], 9
    ldxb %r4, [%r1+5]
    jne %r4, 9, out
    mov %r0, 1
""", bound=40)
    frame = bytes([1]) + bytes(39)
    r = trace_packet(insns, frame)
    check_result(insns, frame, r)
    assert r.action == XDP_DROP                       # the store landed on byte 5
    assert "(pkt[0:1] & 0xf) == 0x1" in [str(a) for a in r.atoms]
    other = bytes([2]) + bytes(39)                    # the store lands on byte 6: different result
    assert run(insns, other)[0] == XDP_PASS
    assert not r.exact.evaluate(other) and not all(a.holds(other) for a in r.atoms)


def test_unchecked_access_gets_a_length_atom():
    insns = assemble("""
    ldxw %r1, [%r1+0]
    ldxb %r0, [%r1+99]
    and %r0, 3
    exit
""")
    frame = bytes(120)
    r = trace_packet(insns, frame)
    check_result(insns, frame, r)
    assert str(r.exact) == "len >= 100" and [str(a) for a in r.atoms] == ["len >= 100"]
    short = trace_packet(insns, bytes(50))
    assert short.reason.startswith("program error") and short.trace == []


def test_context_fields_are_nic_constants():
    insns = assemble("""
    ldxw %r2, [%r1+12]
    ldxw %r3, [%r1+16]
    mov %r0, 1
    jne %r2, 1, out
    jne %r3, 0, out
    mov %r0, 2
out:
    exit
""")
    r = trace_packet(insns, bytes(20))
    check_result(insns, bytes(20), r)
    assert r.action == XDP_PASS and len(r.exact) == 0 and r.atoms == ()


@pytest.mark.parametrize("body,reason", [
    ("    call 6\n", "helper bpf_trace_printk (6) is not in the NIC helper set"),
    ("    call local sub\n    ja out\nsub:\n    stw [%r10-4], 1\n    mov %r0, 1\n    exit\n",
     "unsupported call: an inlined subprogram uses a stack frame of its own"),
    ("    lock add [%r10-8], %r0\n", "unsupported instruction"),
])
def test_unsupported_instructions(body, reason):
    insns = prog(body)
    r = trace_packet(insns, bytes(60))
    assert r.reason.startswith(reason), r.reason
    assert r.atoms == () and r.trace == []


def test_uncacheable_limits():
    insns = load("ipv6_filter")
    frame = eth(0x86DD, bytes(40))
    assert trace_packet(insns, frame, max_atoms=1).reason == "too many atoms: 2 > MAX_ATOMS 1"
    r = trace_packet(insns, frame, max_trace_len=5)
    assert r.reason.startswith("trace too long: 11 slots > MAX_TRACE_LEN 5")
    assert r.atoms and r.exact                      # still computed, for inspection
    loop = assemble("""
    mov %r0, 0
loop:
    add %r0, 1
    jlt %r0, 100, loop
    mov %r0, 2
    exit
""")
    r = trace_packet(loop, bytes(20), budget=50)
    assert r.reason.startswith("budget exceeded") and r.action == XDP_PASS
    r = trace_packet(loop, bytes(20), max_trace_len=64)
    assert r.reason == "trace too long: 103 slots > MAX_TRACE_LEN 64" and r.exact.evaluate(b"")
    assert trace_packet(loop, bytes(20), max_trace_len=103).reason is None


def test_store_and_atom_outside_the_header_window():
    store = prog("    stb [%r1+130], 1\n", bound=140)
    r = trace_packet(store, bytes(150))
    assert r.reason.startswith("packet store outside the header window")
    assert trace_packet(store, bytes(150), hdr_bytes=256).reason is None
    branch = prog("    ldxb %r4, [%r1+130]\n    jeq %r4, 0, out\n    mov %r0, 1\n", bound=140)
    r = trace_packet(branch, bytes(150))
    assert r.reason.startswith("atom outside the header window")
    assert trace_packet(branch, bytes(150), hdr_bytes=256).reason is None


# ---- jitnic trace ----------------------------------------------------------------------------------
def test_cli_trace_packet(capsys):
    path = str(built_program("ipv6_filter"))
    frame = bytes(Ether() / IPv6() / UDP())
    assert cli.main(["trace", path, "--packet", frame.hex()]) == 0
    out = capsys.readouterr().out
    assert "action: XDP_PASS" in out
    assert "len >= 14\n" in out and "pkt[12:14] == 0x86dd\n" in out
    assert "exit" in out and "cacheable: yes" in out
    assert "instructions: 13 executed by the full program, 11 in the trace" in out


def test_cli_trace_pcap_index_and_json(tmp_path, capsys):
    cap = tmp_path / "in.pcap"
    frames = [bytes(10), bytes(Ether() / IP(options=[IPOption_RR()]) / TCP())]
    pcap.write_packets(str(cap), frames)
    path = str(built_program("parser_classifier"))
    assert cli.main(["trace", path, "--pcap", str(cap), "--index", "1", "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["reason"] is None and obj["atoms"] and obj["notes"]
    assert obj["insns_trace"] == len(obj["trace"]) and obj["trace"][-1] == "exit"
    assert cli.main(["trace", path, "--pcap", str(cap), "--index", "1", "--max-atoms", "1"]) == 1
    out = capsys.readouterr().out
    assert "not cacheable: too many atoms" in out
    assert cli.main(["trace", path, "--pcap", str(cap), "--index", "5"]) == 2
    assert "no packet with index 5" in capsys.readouterr().err
    assert cli.main(["trace", path, "--packet", "zz"]) == 2


def test_variable_offset_load_after_a_store_fixes_its_address():
    insns = prog("""
    stb [%r1+6], 7
    ldxb %r3, [%r1+0]
    and %r3, 7
    add %r3, %r1
    ldxb %r4, [%r3+0]
    jne %r4, 7, out
    mov %r0, 1
""", bound=16)
    frame = bytes([3, 0, 0, 7]) + bytes(12)          # reads byte 3 (original 7): drop
    r = trace_packet(insns, frame)
    check_result(insns, frame, r)
    assert r.action == XDP_DROP
    aliased = bytes([6, 0, 0, 0]) + bytes(12)        # reads byte 6, the stored 7: drop as well,
    assert run(insns, aliased)[0] == XDP_DROP        # but by another aliasing: not this trace's
    assert not r.exact.evaluate(aliased)             # condition, which fixes the address
    assert [str(a) for a in r.atoms] == ["len >= 16", "(pkt[0:4] & 0x70000ff) == 0x3000007"]
    assert str(r.exact) == "len >= 16 && (pkt[0] & 0x7) == 0x03 && pkt[(pkt[0] & 7)] == 7"
    r6 = trace_packet(insns, aliased)
    check_result(insns, aliased, r6)
    assert [str(a) for a in r6.atoms] == ["len >= 16", "(pkt[0:1] & 0x7) == 0x6"]


def test_map_handle_without_helper_stays_a_plain_constant():
    """A path that loads a map handle but calls no helper is cacheable; its trace holds the handle
    as an ordinary 64-bit constant, never a map pseudo load the NIC could not run."""
    from jit.ebpf import memmap
    insns = [isa.ld_imm64(1, 0, src=isa.BPF_PSEUDO_MAP_FD), isa.mov64_imm(0, 2), isa.exit_insn()]
    r = trace_packet(insns, bytes(60))
    assert r.reason is None and r.action == XDP_PASS
    assert r.trace[0] == isa.ld_imm64(1, memmap.map_handle(0))
    value = [isa.ld_imm64(1, 0, src=isa.BPF_PSEUDO_MAP_VALUE), isa.mov64_imm(0, 2), isa.exit_insn()]
    r = trace_packet(value, bytes(60))
    assert r.reason is None and r.trace[0] == isa.ld_imm64(1, memmap.map_base(0))


# ---- trace format v2: inlined calls, guards ----------------------------------------------------------
def test_inlined_call_keeps_r6_to_r9_and_agrees_with_the_program():
    """A subprogram that overwrites r6 (callee-saved: the interpreter restores it on return) is
    inlined with a save and a restore around it; the trace computes what the program does on
    every frame its atoms accept and its guards pass."""
    insns = assemble("""
    ldxw %r2, [%r1+0]
    ldxw %r3, [%r1+4]
    mov %r4, %r2
    add %r4, 4
    mov %r0, 1
    jgt %r4, %r3, out
    ldxb %r6, [%r2+0]
    mov %r1, %r2
    call local sub
    add %r0, %r6
    and %r0, 3
    ja out
sub:
    ldxb %r6, [%r1+1]
    ldxb %r7, [%r1+2]
    add %r6, %r7
    mov %r0, %r6
    exit
out:
    exit
""")
    frame = bytes([1, 2, 3, 4]) + bytes(20)
    r = trace_packet(insns, frame)
    check_result(insns, frame, r)
    stores = [i for i in r.trace if isa.spec_of(i).kind == isa.STX and i.dst == isa.FP]
    loads = [i for i in r.trace if isa.spec_of(i).kind == isa.LDX and i.src == isa.FP]
    assert {i.src for i in stores} == {6, 7} and {i.dst for i in loads} == {6, 7}
    for b in range(0, 256, 37):
        q = bytes([b, 2 * b & 0xFF, 255 - b, 4]) + bytes(20)
        assert all(a.holds(q) for a in r.atoms)
        got = run_trace(r.trace, q)
        assert not got.guard_failed and (got.action, got.packet) == run(insns, q)


def test_relation_between_fields_is_a_guard_not_a_pin():
    """`pkt[0] == pkt[1]` relates two fields: a guard in the trace (one trace for every frame with
    equal bytes), not a pin of both observed values."""
    insns = prog("""
    ldxb %r4, [%r1+0]
    ldxb %r5, [%r1+1]
    mov %r0, 1
    jne %r4, %r5, out
    mov %r0, 2
""", bound=2)
    r = trace_packet(insns, bytes([7, 7, 0, 0]))
    check_result(insns, bytes([7, 7, 0, 0]), r)
    assert [str(a) for a in r.atoms] == ["len >= 2"] and len(r.guards) == 1
    g = r.guards[0]
    assert g.why.startswith("relation between pkt[0] and pkt[1]") and "==" in g.text
    for a, b in ((9, 9), (9, 8), (200, 200)):
        got = run_trace(r.trace, bytes([a, b, 0, 0]))
        assert got.guard_failed == (a != b)
        if a == b:
            assert got.action == 2
