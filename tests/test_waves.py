"""The GTKWave layout generator (tb/common/waves.py) and its filters, without a simulator
(tb/top/test_waves.py checks the layout against real FSTs)."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from jit import cli
from jit.ebpf import isa
from jit.paths import PROJECT_ROOT, program_object
from jit.traffic import workloads
from tb.common import waves
from tb.common import runner
from tb.regress import wave_commands


def test_committed_layout_and_filter_match_generator():
    committed = (PROJECT_ROOT / "rtl" / "jitnic.gtkw").read_text()
    assert committed == waves.layout({}, Path(".")), "rtl/jitnic.gtkw is stale: run `make waves`"
    actions = (PROJECT_ROOT / waves.ACTIONS_FILTER).read_text()
    assert actions == waves.actions_filter(), f"{waves.ACTIONS_FILTER} is stale: run `make waves`"
    assert actions.splitlines()[4] == "4 XDP_REDIRECT"


def test_widths_follow_parameters():
    lines = waves.layout({"N_ENTRIES": 4, "DATA_WIDTH": 512, "N_BUFS": 2}).splitlines()
    assert "jitnic_top.dbg_match_vector[3:0]" in lines
    assert "jitnic_top.u_match.lookup_index[1:0]" in lines
    assert "jitnic_top.rx_data[511:0]" in lines and "jitnic_top.rx_empty[5:0]" in lines
    assert "jitnic_top.u_rx.buf_reg" in lines                  # one bit: no range
    one = waves.layout({"N_ENTRIES": 1}).splitlines()
    assert "jitnic_top.dbg_match_vector" in one and "jitnic_top.dq_entry" in one
    lanes = waves.layout({"N_LANES": 3}).splitlines()
    assert "jitnic_top.g_lane[2].dbg_pc[6:0]" in lanes and "jitnic_top.lane_busy_reg[2:0]" in lanes
    assert "jitnic_top.g_lane[3].dbg_pc[6:0]" not in lanes and "jitnic_top.rob_lane[1:0]" in lanes


def test_filtered_traces_name_their_filter():
    lines = waves.layout({}).splitlines()
    at = lines.index("jitnic_top.retire_action[31:0]")
    assert lines[at - 2:at] == [waves.ACTION, f"^1 {PROJECT_ROOT / waves.ACTIONS_FILTER}"]
    assert f"^>1 {PROJECT_ROOT / waves.INSN_FILTER}" in lines


def slot_hex(insn) -> str:
    return f"{int.from_bytes(insn.encode()[:8], 'little'):016x}"


def test_insn_filter_prints_mnemonics():
    """Fed as GTKWave feeds it: one hex value per line, under a plain python3 (no venv)."""
    words = [slot_hex(isa.mov64_imm(0, 3)), slot_hex(isa.ldx(4, 2, 1, 0)), slot_hex(isa.exit_insn()),
             slot_hex(isa.ld_imm64(1, 0x1122334455667788)), "xxxxxxxxxxxxxxxx", "0000000000000000"]
    out = subprocess.run(["python3", str(PROJECT_ROOT / waves.INSN_FILTER)], input="\n".join(words) + "\n",
                         capture_output=True, text=True, check=True, timeout=30).stdout.splitlines()
    assert out == ["r0 = 3", "r2 = *(u32 *)(r1 + 0)", "exit", "r1 = 1432778632 ll",
                   "xxxxxxxxxxxxxxxx", "<unknown>"]


def test_regress_lists_this_runs_waves_by_bench_and_parameters(tmp_path, monkeypatch):
    sim_build = tmp_path / "sim_build"
    monkeypatch.setattr(runner, "SIM_BUILD", sim_build)
    old = sim_build / "jitnic_top" / "icarus_old"
    top = sim_build / "jitnic_top" / "icarus_new"
    match = sim_build / "jitnic_match" / "icarus_abc"
    for d in (old, top, match):
        d.mkdir(parents=True)
    (old / "jitnic_top.fst").write_bytes(b"")
    runner.name_waves(old, "jitnic_top", runner.waves_name("tb.top.test_top", None, {"N_ENTRIES": 2}),
                      "icarus")
    os.utime(old / "jitnic_top.fst", (1, 1))                  # an earlier run's
    (top / "jitnic_top.fst").write_bytes(b"")
    waves.write_layout(top, {"N_ENTRIES": 4})
    name = runner.waves_name("tb.top.test_top", None, {"N_ENTRIES": 4, "POLICY": "lru"})
    assert name == "test_top-n_entries4-policylru"
    runner.name_waves(top, "jitnic_top", name, "icarus")
    (match / "jitnic_match.fst").write_bytes(b"")
    runner.name_waves(match, "jitnic_match", runner.waves_name("tb.match.test_match", "t", {}),
                      "icarus")
    assert wave_commands("icarus", since=100, sim_build=sim_build) == [
        "waves: gtkwave sim_build/waves/icarus/test_match-t.fst",
        "waves: gtkwave sim_build/waves/icarus/test_top-n_entries4-policylru.fst "
        "sim_build/waves/icarus/test_top-n_entries4-policylru.gtkw"]
    assert (sim_build / "waves" / "icarus" / f"{name}.fst").resolve() == top / "jitnic_top.fst"
    assert wave_commands("verilator", since=100, sim_build=sim_build) == []


@pytest.mark.rtl
def test_rtl_engine_waves_writes_fst_and_layout(tmp_path, capsys, monkeypatch):
    """`WAVES=1 jitnic run --engine rtl` (as `make WAVES=1`; `--waves` is the same switch): the FST
    and the layout for that run's parameters, named on stderr."""
    cap = tmp_path / "few.pcap"
    workloads.write_pcap(cap, "zipf", 12, seed=3)
    monkeypatch.setenv("WAVES", "1")
    code = cli.main(["run", str(program_object("ttl_router")), "--pcap", str(cap), "--entries", "4",
                     "--engine", "rtl", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    paths = json.loads(out)["waves"]
    assert f"waves: gtkwave {paths['fst']} {paths['gtkw']}" in err
    assert Path(paths["fst"]).stat().st_size > 0
    # the run's top is the bench top, which holds the NIC as u_nic
    assert "jitnic_tb_top.u_nic.dbg_match_vector[3:0]" in Path(paths["gtkw"]).read_text().splitlines()


def test_waves_needs_the_rtl_engine(tmp_path, capsys):
    assert cli.main(["run", str(program_object("ttl_router")), "--pcap", str(tmp_path / "x.pcap"),
                     "--waves"]) == 2
    assert "--waves needs --engine rtl" in capsys.readouterr().err
