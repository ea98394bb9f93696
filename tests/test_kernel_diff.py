"""Differential test: every shipped XDP program in the Linux kernel (bpf(BPF_PROG_TEST_RUN), through
jit.ebpf.kernel) against the reference interpreter (jit.ebpf.interp.run_xdp), on seeded, varied packets.
The programs with maps (MAP_PROGRAM_NAMES) run from the same map contents (programs/<name>.maps.json)
in the interpreter's runtime (jit.ebpf.runtime) and in a KernelObject, packet after packet, and then
their final maps must agree too (jit.ebpf.kernel.compare: per-CPU values summed over CPUs).

Action must agree on every packet; output bytes must agree whenever the action is neither XDP_DROP
nor XDP_ABORTED (the output of a dropped packet carries no meaning). Packets shorter than an
Ethernet header are refused by the kernel: for those we check that the kernel does refuse them
(a distinct outcome, `PacketRefused`) and that the interpreter runs them without error.
Also unit tests of jit.ebpf.kernel itself (verifier errors, refusals, closing)."""
from __future__ import annotations

import struct
import zlib
from collections import Counter

import pytest

from jit.ebpf import interp, isa
from jit.ebpf.elf import load_linked, load_program
from jit.ebpf.kernel import (ETH_HLEN, KernelError, KernelProgram, PacketRefused, VerifierError,
                        kernel_available)
from jit.ebpf.kernel.compare import machine_dependent_calls, map_differences
from jit.ebpf.kernel.netns import available as netns_available
from jit.ebpf.kernel.objects import KernelObject, devmap_ifindexes
from jit.ebpf.maps import contents as mc
from jit.ebpf.memmap import XDP_ABORTED, XDP_DROP, XDP_PASS, XDP_REDIRECT, XDP_TX, action_name
from jit.ebpf.runtime import XdpRuntime
from jit.host.runner import run_frames
from jit.nic.model import NicConfig, NicModel
from jit.paths import MAP_PROGRAM_NAMES, PROGRAM_NAMES, program_maps_file, program_object
from packets import varied_packets

pytestmark = pytest.mark.kernel

PACKETS_PER_PROGRAM = 1000
BASE_SEED = 20240601
# Actions each program must produce on its packet mix: proves the mix reaches every path kind.
EXPECTED_ACTIONS = {
    "ipv6_filter": {XDP_PASS, XDP_DROP},
    "acl_firewall": {XDP_PASS, XDP_DROP},
    "parser_classifier": {XDP_PASS, XDP_DROP, XDP_TX},
    "mac_swap_tx": {XDP_TX},
    "icmp_echo": {XDP_PASS, XDP_TX},
    "ttl_router": {XDP_PASS, XDP_DROP},
    "l4_lb": {XDP_PASS, XDP_TX},
    "proto_stats": {XDP_PASS},
    "deny_list": {XDP_PASS, XDP_DROP},
    "lpm_router": {XDP_PASS, XDP_REDIRECT},
    "ipip_encap": {XDP_PASS, XDP_TX},
    "icmp_frag_needed": {XDP_PASS, XDP_TX},
    "config_filter": {XDP_PASS, XDP_DROP},
    "port_filter_subprog": {XDP_PASS, XDP_DROP},
    "tail_dispatch": {XDP_PASS, XDP_DROP},
    "flow_table": {XDP_PASS, XDP_DROP},
    "dscp_marker": {XDP_PASS},
}
# Programs whose XDP_TX / XDP_PASS output differs from the input on some packets: proves the output
# comparison sees real rewrites (and that the kernel really hands back the modified packet).
# Programs that write their maps (the others only look up): proves the final-map comparison sees
# real updates.
MAP_WRITERS = {"proto_stats", "deny_list", "config_filter", "port_filter_subprog", "tail_dispatch",
               "flow_table"}
REWRITERS = {"mac_swap_tx", "icmp_echo", "ttl_router", "l4_lb", "lpm_router", "ipip_encap",
             "icmp_frag_needed", "dscp_marker"}


@pytest.fixture(scope="module")
def kernel():
    ok, reason = kernel_available()
    if not ok:
        pytest.skip(f"kernel oracle unavailable: {reason}")


def seed_for(name: str) -> int:
    return BASE_SEED ^ zlib.crc32(name.encode())


@pytest.mark.parametrize("name", PROGRAM_NAMES)
def test_kernel_agrees_with_interpreter(kernel, name):
    path = program_object(name)
    if not path.exists():
        pytest.fail(f"{path} missing: run `make programs` first")
    prog = load_program(path)
    packets = varied_packets(name, PACKETS_PER_PROGRAM, seed_for(name))
    actions: Counter[int] = Counter()
    mismatches: list[str] = []
    compared = refused = rewritten = 0
    with KernelProgram(prog.insns, name=name) as kprog:
        for i, pkt in enumerate(packets):
            ours = interp.run_xdp(prog.insns, pkt)
            if len(pkt) < ETH_HLEN:
                with pytest.raises(PacketRefused):
                    kprog.run(pkt)
                refused += 1
                continue
            action, out = kprog.run(pkt)
            actions[action] += 1
            compared += 1
            if action != ours.action:
                mismatches.append(f"#{i} action kernel {action_name(action)} interp "
                                  f"{action_name(ours.action)} packet {pkt.hex()}")
            elif action not in (XDP_DROP, XDP_ABORTED):
                if out != ours.packet:
                    mismatches.append(f"#{i} {action_name(action)} output differs: kernel "
                                      f"{out.hex()} interp {ours.packet.hex()} input {pkt.hex()}")
                rewritten += out != pkt
    assert not mismatches, (f"{name}: {len(mismatches)}/{compared} disagree; first: "
                            + " || ".join(mismatches[:3]))
    assert compared + refused == PACKETS_PER_PROGRAM and refused > 0
    assert compared >= 500
    assert EXPECTED_ACTIONS[name] <= set(actions), f"{name}: actions seen {dict(actions)}"
    if name in REWRITERS:
        assert rewritten > 0, f"{name}: no packet was rewritten"


@pytest.mark.parametrize("name", MAP_PROGRAM_NAMES)
def test_map_program_agrees_with_kernel(kernel, name):
    """Same packets, same initial maps: same action and bytes per packet, same final maps."""
    path = program_object(name)
    if not path.exists():
        pytest.fail(f"{path} missing: run `make programs` first")
    linked = load_linked(path, name)
    maps_file = program_maps_file(name)
    contents = mc.read_file(maps_file, linked.maps) if maps_file.exists() else {}
    assert not machine_dependent_calls(linked.insns), "shipped programs are compared exactly"
    if devmap_ifindexes(linked, contents) and not netns_available()[0]:
        pytest.skip(f"{name}: its devmap names ifindexes that only the oracle's private network "
                    f"namespace has, and none can be made here: {netns_available()[1]}")
    packets = varied_packets(name, PACKETS_PER_PROGRAM, seed_for(name))
    runtime = XdpRuntime(linked, maps_in=contents)
    actions: Counter[int] = Counter()
    mismatches: list[str] = []
    refused = rewritten = 0
    with KernelObject(linked, contents) as kobj, kobj.batch():
        initial = kobj.dump()
        for i, pkt in enumerate(packets):
            if len(pkt) < ETH_HLEN:
                # The kernel refuses runts; the interpreter must still run them (on a copy of the
                # state, since the kernel's maps never see them).
                with pytest.raises(PacketRefused):
                    kobj.run(pkt)
                XdpRuntime(linked, maps_in=contents).run(pkt)
                refused += 1
                continue
            ours = runtime.run(pkt)
            action, out = kobj.run(pkt)
            actions[action] += 1
            if action != ours.action:
                mismatches.append(f"#{i} action kernel {action_name(action)} interp "
                                  f"{action_name(ours.action)} packet {pkt.hex()}")
            elif action not in (XDP_DROP, XDP_ABORTED):
                if out != ours.packet:
                    mismatches.append(f"#{i} {action_name(action)} output differs: kernel "
                                      f"{out.hex()} interp {ours.packet.hex()} input {pkt.hex()}")
                rewritten += out != pkt
        final = kobj.dump()
    assert not mismatches, (f"{name}: {len(mismatches)} packets disagree; first: "
                            + " || ".join(mismatches[:3]))
    assert refused > 0 and sum(actions.values()) + refused == PACKETS_PER_PROGRAM
    assert EXPECTED_ACTIONS[name] <= set(actions), f"{name}: actions seen {dict(actions)}"
    if name in REWRITERS:
        assert rewritten > 0, f"{name}: no packet was rewritten"
    diff = map_differences(runtime.contents(), final)
    assert not diff, f"{name}: final maps differ: " + " || ".join(diff)
    # the model engine (NIC traces on the runtime's maps, per-CPU slot 1; the host on misses) ends
    # in the kernel's maps too, per-CPU slots summed (the runts never reached the kernel's maps)
    model_rt, cfg = XdpRuntime(linked, maps_in=contents), NicConfig(v2=True)
    run_frames(linked.insns, [p for p in packets if len(p) >= ETH_HLEN], NicModel(cfg), cfg,
               runtime=model_rt, check=False)
    diff = map_differences(model_rt.contents(), final)
    assert not diff, f"{name}: the model engine's final maps differ: " + " || ".join(diff)
    if name in MAP_WRITERS:
        # the comparison saw real updates: some map changed during the run
        assert map_differences(initial, final), f"{name}: no map changed over the run"


def test_map_differences_are_detected(kernel):
    """The map comparison is not vacuous: one changed counter, one extra key are reported."""
    linked = load_linked(program_object("deny_list"), "deny_list")
    contents = mc.read_file(program_maps_file("deny_list"), linked.maps)
    runtime = XdpRuntime(linked, maps_in=contents)
    with KernelObject(linked, contents) as kobj:
        assert map_differences(runtime.contents(), kobj.dump()) == []
        kobj.maps["verdicts"].update(bytes(4), (5).to_bytes(8, "little"))
        kobj.maps["deny_v4"].update(bytes([192, 0, 2, 9]), bytes(8))
        diff = " ".join(map_differences(runtime.contents(), kobj.dump()))
    assert "map verdicts" in diff and "c0000209" in diff


def test_mixes_are_reproducible():
    assert varied_packets("l4_lb", 50, 7) == varied_packets("l4_lb", 50, 7)
    assert varied_packets("l4_lb", 50, 7) != varied_packets("l4_lb", 50, 8)


# ---- jit.ebpf.kernel itself ------------------------------------------------------------------------

R0_PASS = [isa.mov64_imm(0, XDP_PASS), isa.exit_insn()]


def test_kernel_available_probe(kernel):
    assert kernel_available() == (True, "")


def test_run_returns_action_and_packet(kernel):
    # r0 = PASS; if data + 2 <= data_end: pkt[1] = pkt[0]; r0 = pkt[0] & 3
    prog = [
        isa.ldx(4, 2, 1, 0),                    # r2 = ctx->data
        isa.ldx(4, 3, 1, 4),                    # r3 = ctx->data_end
        isa.mov64_reg(4, 2),
        isa.alu64_imm(isa.BPF_ADD, 4, 2),
        isa.mov64_imm(0, XDP_PASS),
        isa.jmp_reg(isa.BPF_JGT, 4, 3, 4),      # if r4 > r3 goto exit
        isa.ldx(1, 5, 2, 0),
        isa.stx(1, 2, 5, 1),
        isa.mov64_reg(0, 5),
        isa.alu64_imm(isa.BPF_AND, 0, 3),
        isa.exit_insn(),
    ]
    with KernelProgram(prog) as k:
        action, out = k.run(bytes([0x07, 0xAA]) + bytes(20))
        assert (action, out[:2]) == (3, b"\x07\x07")
        ours = interp.run_xdp(prog, bytes([0x07, 0xAA]) + bytes(20))
        assert (ours.action, ours.packet) == (action, out)
        action, out = k.run(bytes([0x05]) + bytes(2000))
        assert action == 1 and len(out) == 2001


def test_short_packets_are_refused_distinctly(kernel):
    with KernelProgram(R0_PASS) as k:
        for n in (0, 1, ETH_HLEN - 1):
            with pytest.raises(PacketRefused, match="shorter than 14"):
                k.run(bytes(n))
        assert k.run(bytes(ETH_HLEN)) == (XDP_PASS, bytes(ETH_HLEN))


def test_verifier_rejection_carries_log_tail(kernel):
    bad = [isa.mov64_reg(0, 5), isa.exit_insn()]     # r5 is never initialised
    with pytest.raises(VerifierError) as exc:
        KernelProgram(bad)
    assert "R5 !read_ok" in str(exc.value)
    assert "\n" not in str(exc.value)
    assert "R5" in exc.value.log
    # an unbounded packet read is refused too
    unchecked = [isa.ldx(4, 2, 1, 0), isa.ldx(1, 0, 2, 0), isa.exit_insn()]
    with pytest.raises(VerifierError, match="invalid access to packet"):
        KernelProgram(unchecked)


def test_accepts_raw_bytes_and_rejects_bad_lengths(kernel):
    code = isa.encode(R0_PASS)
    with KernelProgram(code) as k:
        assert k.run(bytes(64))[0] == XDP_PASS
    with pytest.raises(KernelError, match="multiple of 8"):
        KernelProgram(code + b"\0")
    with pytest.raises(KernelError, match="empty"):
        KernelProgram(b"")


def test_closed_program_refuses_to_run(kernel):
    k = KernelProgram(R0_PASS)
    k.close()
    k.close()   # idempotent
    with pytest.raises(KernelError, match="closed"):
        k.run(bytes(64))


def test_ld_imm64_encoding_reaches_the_kernel(kernel):
    """LD_IMM64 (one Insn, two slots) is encoded the way the kernel expects."""
    prog = [isa.ld_imm64(0, 0x1_0000_0003), isa.exit_insn()]   # r0 = 2^32 + 3; retval is u32
    with KernelProgram(prog) as k:
        assert k.run(bytes(64))[0] == 3
    assert struct.unpack_from("<I", isa.encode(prog), 12)[0] == 1
