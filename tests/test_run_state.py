"""One memory in the model engine (jit/host/runner.py, docs/memory_model.md): the NIC's traces run
on the host runtime's maps, every frame of a stateful program is checked against a shadow runtime
at its turn, and final maps are compared. The map programs run with 0 mismatches; a lost or a
doubled map effect is caught."""
from __future__ import annotations

import pytest

from jit.ebpf import elf, isa, memmap
from jit.ebpf.maps import contents as mc
from jit.ebpf.runtime import XdpRuntime
from jit.host.runner import run_frames
from jit.nic.model import NicConfig, NicModel
from jit.nic.nic_helpers import NicPrandom
from jit.nic.nic_state import Transaction
from jit.paths import MAP_PROGRAM_NAMES, program_maps_file
from jit.traffic import workloads
from tests.conftest import built_program
from tests.packets import varied_packets
from tests.test_executor_state import DEFS, FD, counted_then_guarded, lookup, u64

# the programs whose frames the NIC can take (their other maps and helpers are in the NIC's set)
NIC_CACHEABLE = ("proto_stats", "deny_list", "config_filter", "tail_dispatch", "ipip_encap",
                 "flow_table")
SECTION = {"tail_dispatch": "tail_dispatch"}


def program_run(name: str, frames: list[bytes], **kw):
    linked = elf.load_linked(built_program(name), SECTION.get(name, name))
    path = program_maps_file(name)
    maps_in = mc.read_file(path, linked.maps) if path.exists() else None
    rt = XdpRuntime(linked, maps_in=maps_in)
    shadow = XdpRuntime(linked, maps_in=maps_in)
    cfg = NicConfig(n_entries=16, v2=True)
    rep = run_frames(linked.insns, frames, NicModel(cfg), cfg, runtime=rt, shadow=shadow, **kw)
    return rep, rt


@pytest.mark.parametrize("name", MAP_PROGRAM_NAMES)
def test_map_programs_agree_frame_by_frame_and_in_final_maps(name):
    frames = varied_packets(name, 300, seed=11) + list(workloads.generate("zipf", 300, seed=11,
                                                                          flows=30))
    rep, _rt = program_run(name, frames, prandom_seed=3)
    assert (rep.mismatches, rep.map_mismatches) == (0, 0), rep.mismatched_maps
    assert rep.hits + rep.misses + rep.oversize == rep.packets
    if name in NIC_CACHEABLE:
        assert rep.hits > rep.packets // 2 and rep.map_ops > 0, rep.as_dict()


# a program whose XDP_PASS path is `counted_then_guarded(0)`'s trace: count in counts[1], then
# pass frames starting with 0 and drop the others
PROGRAM = [isa.mov64_reg(6, 1), *lookup(FD["counts"], 1), isa.jmp_imm(isa.BPF_JEQ, 0, 0, 9),
           isa.ldx(8, 1, 0, 0), isa.alu64_imm(isa.BPF_ADD, 1, 1), isa.stx(8, 0, 1, 0),
           isa.ldx(4, 2, 6, 0), isa.ldx(1, 3, 2, 0), isa.mov64_imm(0, 1),
           isa.jmp_imm(isa.BPF_JNE, 3, 0, 1), isa.mov64_imm(0, 2), isa.exit_insn(),
           isa.mov64_imm(0, 0), isa.exit_insn()]
FRAMES = [bytes([i % 2]) + bytes(range(1, 60)) for i in range(40)]


def guarded_run(own_shadow: bool = True):
    """PROGRAM over FRAMES with its guarded PASS trace installed in entry 0 beforehand (the
    shadow: a runtime of its own, or the runner's copy of `rt` with `own_shadow=False`)."""
    rt = XdpRuntime(PROGRAM, maps=DEFS)
    shadow = XdpRuntime(PROGRAM, maps=DEFS) if own_shadow else None
    cfg = NicConfig(n_entries=4, v2=True)
    nic = NicModel(cfg)
    assert nic.install([], isa.encode(counted_then_guarded(0)))[0] == 0
    rep = run_frames(PROGRAM, FRAMES, nic, cfg, runtime=rt, shadow=shadow)
    return rep, rt, nic


def test_each_frame_counts_exactly_once_across_nic_and_host():
    rep, rt, nic = guarded_run()
    assert (rep.mismatches, rep.map_mismatches) == (0, 0)
    assert nic.entry_hits[0] == len(FRAMES) // 2           # the PASS frames hit entry 0
    assert u64(rt, "counts", 1) == len(FRAMES)             # no frame lost, none counted twice


@pytest.mark.parametrize("own_shadow", [True, False])
def test_a_write_buffer_that_is_not_committed_is_caught(monkeypatch, own_shadow):
    monkeypatch.setattr(Transaction, "commit", lambda self, redirect: self.discard())
    rep, rt, _nic = guarded_run(own_shadow)
    assert u64(rt, "counts", 1) < len(FRAMES)
    assert rep.map_mismatches == 1 and rep.mismatched_maps == ["counts"]


def test_writes_leaking_from_a_failed_guard_are_caught(monkeypatch):
    monkeypatch.setattr(Transaction, "discard", lambda self: None)
    rep, rt, _nic = guarded_run()
    assert u64(rt, "counts", 1) > len(FRAMES)
    assert rep.map_mismatches == 1


def test_jitnic_maps_names_residency(capsys):
    from jit.cli import main
    assert main(["maps", str(built_program("lpm_router"))]) == 0
    text = capsys.readouterr().out
    assert "host-resident" not in text            # the trie is NIC-resident (LPM lookup unit)
    assert "devmap  name tx_ports" in text and text.count("\tNIC-resident") == 2


def test_nic_hits_draw_from_the_nic_generator_as_cpu_one():
    """A hit draws bpf_get_prandom_u32 from the NIC's LFSR and sees CPU 1; the shadow run of the
    same frame does too, so the check passes; host frames keep the host's generator."""
    prog = [isa.mov64_reg(6, 1), isa.call_helper(7), isa.ldx(4, 2, 6, 0), isa.stx(4, 2, 0, 0),
            isa.call_helper(8), isa.ldx(4, 2, 6, 0), isa.stx(1, 2, 0, 4), isa.mov64_imm(0, 2),
            isa.exit_insn()]
    frames = [bytes(range(i, i + 40)) for i in range(20)]
    cfg = NicConfig(n_entries=4, v2=True)
    nic = NicModel(cfg)
    nic.install([], isa.encode(prog))
    seen = []
    rep = run_frames(prog, frames, nic, cfg, runtime=XdpRuntime(prog, seed=5), prandom_seed=9,
                     on_frame=seen.append)
    assert (rep.hits, rep.mismatches, rep.map_mismatches) == (20, 0, 0)
    lfsr = NicPrandom(9)
    assert [r.packet[:5] for r in seen] == [lfsr.getrandbits(32).to_bytes(4, "little") + b"\x01"
                                            for _ in frames]
