"""The RTL executor's helper set (jit/nic/nic_helpers.py `rtl` column, `RTL_HELPER_OK` in the
header): a NIC configured with it (NicConfig.helper_set "rtl") keeps paths calling other helpers
on the host with a named reason, in the miss handler, `jitnic trace` and the model engine; the full
set is unchanged."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from jit.ebpf import isa
from jit.host.miss_handler import compile_path
from jit.host.runner import run_frames
from jit.nic import encoding as enc
from jit.nic import nic_helpers as nh
from jit.nic.model import NicConfig, NicModel
from jit.nic.params import ParamError
from jit.paths import PROJECT_ROOT, program_maps_file
from tests.conftest import built_program
from tests.packets import varied_packets
from tests.test_map_sync import program_runtime

ADJUST_HEAD = "bpf_xdp_adjust_head: not in the RTL executor's helper set"
RTL_SET = [1, 2, 3, 5, 7, 8, 12, 23, 28, 44, 51, 65, 189, 190]


def test_the_rtl_set_is_the_contracts_and_in_the_header():
    assert nh.HELPER_SETS["rtl"] == set(RTL_SET)
    assert nh.HELPER_SETS["full"] == set(nh.NIC_HELPERS)
    header = (PROJECT_ROOT / "rtl" / "jitnic_abi.vh").read_text()
    line = next(x for x in header.splitlines() if x.startswith("`define RTL_HELPER_OK"))
    assert sorted(int(i) for i in re.findall(r"32'd(\d+)", line)) == RTL_SET
    assert line in enc.verilog_header()          # the header is generated, not edited


def test_set_reason_names_the_first_helper_or_atomic_the_rtl_lacks(monkeypatch):
    call = lambda k: isa.Insn(0x85, imm=k)      # noqa: E731
    trace = [call(1), call(44), call(5), call(28), isa.exit_insn()]
    assert nh.set_reason(trace, "full") is None
    # every NIC helper is in the RTL set now; a NIC built with fewer names the first one it lacks
    assert nh.HELPER_SETS["rtl"] == nh.HELPER_SETS["full"]
    assert nh.set_reason(trace, "rtl") is None
    monkeypatch.setitem(nh.HELPER_SETS, "rtl", frozenset({1, 5, 28}))
    assert nh.set_reason(trace, "rtl") == ADJUST_HEAD
    monkeypatch.undo()
    assert nh.set_reason([call(1), call(51), call(12), isa.exit_insn()], "rtl") is None
    add, xchg = isa.Insn(0xDB, dst=1, src=2, imm=0x01), isa.Insn(0xDB, dst=1, src=2, imm=0xE1)
    assert nh.set_reason([add, isa.exit_insn()], "rtl") is None
    assert "atomic operation 0xe1" in nh.set_reason([xchg], "rtl")
    with pytest.raises(ParamError, match="helper set must be one of full, rtl"):
        NicConfig(helper_set="fpga")


def _paths(name: str, helper_set: str, n: int = 60):
    """(reason or None) per frame of `name` traced for a NIC with `helper_set`."""
    rt = program_runtime(name)
    out = []
    for frame in varied_packets(name, n, seed=4):
        _tr, compiled, reason = compile_path(rt.insns, frame, max_atoms=enc.MAX_ATOMS,
                                             max_trace_len=enc.MAX_TRACE_LEN,
                                             hdr_bytes=enc.HDR_BYTES, runtime=rt,
                                             helper_set=helper_set)
        out.append(reason if compiled is None else None)
    return out


def _adjusting_paths(name: str, frames) -> list[int]:
    """Frames of `name` whose traced path calls bpf_xdp_adjust_head or _tail."""
    rt = program_runtime(name)
    out = []
    for i, frame in enumerate(frames):
        tr, _compiled, _reason = compile_path(rt.insns, frame, max_atoms=enc.MAX_ATOMS,
                                              max_trace_len=enc.MAX_TRACE_LEN,
                                              hdr_bytes=enc.HDR_BYTES, runtime=rt,
                                              helper_set="full")
        if tr is not None and any(x.opcode == 0x85 and x.imm in (44, 65) for x in tr.trace):
            out.append(i)
    return out


@pytest.mark.parametrize("name", ["ipip_encap", "icmp_frag_needed"])
def test_adjusting_paths_are_cached_alike_under_the_rtl_and_full_sets(name):
    """adjust_head/tail are in the RTL set (with csum_diff): the RTL set keeps no path of the
    programs that move the frame on the host that the full set caches, and every path that moves
    the frame is cached (icmp_frag_needed's reply: 152 slots as traced, under MAX_TRACE_LEN once
    optimized)."""
    frames = varied_packets(name, 60, seed=4)
    full, rtl = _paths(name, "full"), _paths(name, "rtl")
    assert full == rtl
    moved = _adjusting_paths(name, frames)
    assert moved and not any(rtl[i] and "helper set" in rtl[i] for i in moved)
    assert all(rtl[i] is None for i in moved), [rtl[i] for i in moved]


def test_the_model_engine_runs_ipip_encap_alike_with_both_sets():
    frames = varied_packets("ipip_encap", 80, seed=9)
    reps = {}
    for hs in ("full", "rtl"):
        cfg = NicConfig(n_entries=16, v2=True, helper_set=hs)
        rt = program_runtime("ipip_encap")
        reps[hs] = run_frames(rt.insns, frames, NicModel(cfg), cfg, runtime=rt)
    full, rtl = reps["full"], reps["rtl"]
    assert (full.mismatches, full.map_mismatches, rtl.mismatches, rtl.map_mismatches) == (0,) * 4
    assert not any("helper set" in r for r in rtl.reasons), rtl.reasons
    assert rtl.hits == full.hits > 0


def test_jitnic_trace_caches_an_adjust_head_path_under_the_rtl_set():
    frames = varied_packets("ipip_encap", 60, seed=4)
    i = _adjusting_paths("ipip_encap", frames)[0]
    cmd = [sys.executable, "-m", "jit", "trace", str(built_program("ipip_encap")), "--packet",
           frames[i].hex(), "--maps-in", str(program_maps_file("ipip_encap")), "--json"]
    runs = {hs: subprocess.run(cmd + ["--helpers", hs], capture_output=True, text=True,
                               cwd=PROJECT_ROOT) for hs in ("full", "rtl")}
    assert (runs["full"].returncode, runs["rtl"].returncode) == (0, 0), runs["rtl"].stderr
    assert json.loads(runs["rtl"].stdout)["reason"] is None
    assert json.loads(runs["full"].stdout)["reason"] is None


@pytest.mark.parametrize("name", ["proto_stats", "deny_list", "config_filter", "tail_dispatch",
                                  "port_filter_subprog", "lpm_router", "land_filter",
                                  "flow_table"])
def test_the_rtl_engines_twin_runs_the_contracts_programs(name):
    """The model as the RTL engine configures it (v2, the RTL helper set, 4 entries) on the
    traffic of tb/e2e/test_e2e_maps.py: 0 mismatches in frames and final maps, NIC hits (with map
    operations where the bench expects them), and nothing kept on the host for want of a helper
    (the RTL set covers these programs; lpm_router's trie lookups run on the NIC's LPM unit)."""
    from tb.e2e.test_e2e_maps import V2_MAP_OPS, V2_PROGRAMS, program_runtime as rt_of, traffic
    seed = V2_PROGRAMS.index(name) + 1
    cfg = NicConfig(n_entries=4, v2=True, helper_set="rtl", seed=0x99 + seed)
    rt = rt_of(name)
    rep = run_frames(rt.insns, traffic(name, 20, seed), NicModel(cfg), cfg, runtime=rt,
                     prandom_seed=7)
    assert (rep.mismatches, rep.map_mismatches) == (0, 0)
    assert rep.hits > 0 and (rep.map_ops > 0) == (name in V2_MAP_OPS), rep.as_dict()
    assert not any("helper set" in r for r in rep.reasons), rep.reasons


def test_rtl_map_write_reason_rules():
    """Update/delete under the RTL set: decided at the call against map memory, so a map must not
    be touched after its update/delete in one trace; only (per-CPU) array/hash; values up to
    MAPOP_VALUE_BYTES; at most MAPOP_ENTRIES maps written (docs/exec.md "Map updates and
    deletes")."""
    use, upd, dele = ("t", "use", 8, "hash"), ("t", "update", 8, "hash"), ("t", "delete", 8, "hash")
    assert nh.rtl_map_write_reason([use, upd, ("c", "use", 8, "array")]) is None
    # LPM tries: looked up on the NIC, their updates/deletes stay on the host
    assert nh.rtl_map_write_reason([("r", "use", 16, "lpm_trie")]) is None
    assert "on a lpm_trie map: not in the RTL executor's helper set" in nh.rtl_map_write_reason(
        [("r", "update", 16, "lpm_trie")])
    assert "map t: used again after its update/delete" in nh.rtl_map_write_reason([upd, use])
    assert "map t: used again" in nh.rtl_map_write_reason([dele, upd])
    assert "on a devmap map" in nh.rtl_map_write_reason([("d", "update", 4, "devmap")])
    big = enc.MAPOP_VALUE_BYTES + 8
    assert f"of {big} bytes" in nh.rtl_map_write_reason([("w", "update", big, "array")])
    many = [(f"m{i}", "delete", 8, "hash") for i in range(enc.MAPOP_ENTRIES + 1)]
    assert nh.rtl_map_write_reason(many[:-1]) is None
    assert "MAPOP_ENTRIES" in nh.rtl_map_write_reason(many)


def test_a_lookup_after_an_update_of_the_same_map_stays_on_the_host_under_the_rtl_set():
    from jit.ebpf import elf, memmap
    from jit.ebpf.runtime import XdpRuntime
    handle = memmap.map_handle(0)
    prog = [isa.st_imm(4, 10, -8, 5), isa.st_imm(8, 10, -16, 9),
            isa.ld_imm64(1, handle), isa.mov64_reg(2, 10), isa.alu64_imm(isa.BPF_ADD, 2, -8),
            isa.mov64_reg(3, 10), isa.alu64_imm(isa.BPF_ADD, 3, -16), isa.mov64_imm(4, 0),
            isa.call_helper(2),
            isa.ld_imm64(1, handle), isa.mov64_reg(2, 10), isa.alu64_imm(isa.BPF_ADD, 2, -8),
            isa.call_helper(1), isa.mov64_imm(0, 2), isa.exit_insn()]
    frame = bytes(64)
    out = {}
    for hs in ("full", "rtl"):
        rt = XdpRuntime(prog, maps={"t": elf.MapDef("t", 1, 4, 8, 4)})
        _tr, compiled, reason = compile_path(prog, frame, max_atoms=enc.MAX_ATOMS,
                                             max_trace_len=enc.MAX_TRACE_LEN,
                                             hdr_bytes=enc.HDR_BYTES, runtime=rt, helper_set=hs)
        out[hs] = (compiled is not None, reason)
    assert out["full"] == (True, None)
    assert out["rtl"][0] is False and "map t: used again after its update/delete" in out["rtl"][1]
