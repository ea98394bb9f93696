"""The `make results` section "NIC state on the RTL engine" (tools/results_rtl_state.py): which
programs and captures it covers, the commands it runs (Verilator), its rows (a program without a
NIC-resident map included), the goal line, and the error when a run fails. The runs themselves are
replaced by canned summaries: the engine has its own tests (tests/test_run_state.py and the e2e
benches); the real section is `python -m tools.results --only rtl_state`."""
from __future__ import annotations

import subprocess

import pytest

from jit.paths import MAP_PROGRAM_NAMES
from jit.traffic import pcap
from tools import results
from tools import results_rtl_state as rs
from tools import results_state


def table_rows(md: str) -> list[list[str]]:
    return [[c.strip() for c in line.strip("|").split("|")] for line in md.splitlines()
            if line.startswith("| ") and not line.startswith("| program")]


def summary(name: str, hits: int, packets: int = 10, nic_maps=("m",), nic_bad=0, reasons=None):
    return {"program": name, "packets": packets, "hits": hits, "misses": packets - hits,
            "guard_misses": 1, "hit_rate": hits / packets, "map_ops": 3 * hits, "installs": 2,
            "cycles_per_frame": 99.5, "mismatches": 0, "map_mismatches": 0,
            "uncacheable_reasons": reasons or {},
            "map_sync": {"nic_maps": list(nic_maps),
                         "nic_map_mismatches": [f"m{i}" for i in range(nic_bad)]}}


def test_every_map_program_on_verilator_with_real_length_captures():
    assert rs.PROGRAMS == MAP_PROGRAM_NAMES
    for name in ("flow_table", "lpm_router", "icmp_frag_needed", "ipip_encap",
                 "port_filter_subprog"):
        assert name in rs.PROGRAMS
    assert rs.FRAMES >= 1000 and set(rs.MIXES) == {"benign", "adversarial"}
    cmd = rs.run_cmd("deny_list", "x.pcap")
    assert cmd[cmd.index("--engine") + 1] == "rtl" and cmd[cmd.index("--sim") + 1] == "verilator"
    assert cmd[cmd.index("--maps-in") + 1] == "programs/deny_list.maps.json"
    assert "--maps-in" not in rs.run_cmd("icmp_frag_needed", "x.pcap")     # no maps file
    tail = rs.run_cmd("tail_dispatch", "x.pcap")
    assert tail[tail.index("--section") + 1] == "tail_dispatch"
    assert f"--count {rs.FRAMES}" in rs.gen_cmd("benign")


def test_the_model_engine_section_lists_flow_table(monkeypatch):
    seen = []
    monkeypatch.setattr(results_state, "run_one",
                        lambda name, path: seen.append(name) or summary(name, 5))
    md = results_state.section_state(lambda mix: f"{mix}.pcap", results.table, results.pct,
                                     lambda msg: None)
    names = [r[0] for r in table_rows(md)]
    assert "flow_table" in seen and names.count("flow_table") == len(results_state.MIXES)
    assert set(names) == set(MAP_PROGRAM_NAMES)


def test_captures_have_the_section_length(tmp_path, monkeypatch):
    monkeypatch.setattr(rs, "FRAMES", 1000)
    path = rs.capture(tmp_path, "adversarial")
    assert path.name == "rtl_state_adversarial_1000.pcap"
    assert sum(1 for _ in pcap.read_records(path)) == 1000
    assert rs.capture(tmp_path, "adversarial") == path          # kept, not regenerated


def test_rows_columns_and_goal(tmp_path, monkeypatch):
    canned = {"proto_stats": summary("proto_stats", 10),
              "icmp_frag_needed": summary("icmp_frag_needed", 9, nic_maps=(),
                                          reasons={"trace too long": 1}),
              "deny_list": summary("deny_list", 8, nic_bad=2)}
    monkeypatch.setattr(rs, "PROGRAMS", tuple(canned))
    monkeypatch.setattr(rs, "FRAMES", 10)
    monkeypatch.setattr(rs, "run_rtl", lambda name, cap: canned[name])
    monkeypatch.setattr(rs, "run_one", lambda name, cap: {"hit_rate": 0.5})
    logged = []
    md = rs.section_rtl_state(tmp_path, results.table, results.pct, logged.append)
    rows = {(r[0], r[1]): r for r in table_rows(md)}
    assert set(rows) == {(p, m) for p in canned for m in ("benign", "adversarial")}
    assert rows[("proto_stats", "benign")] == [
        "proto_stats", "benign", "10", "10", "0", "1", "100.0%", "50.0%", "3.00", "2", "99.5",
        "0 / 0 / 0", "-"]
    # no NIC-resident map: `-`; the reason a path stays on the host is named
    assert rows[("icmp_frag_needed", "benign")][11:] == ["0 / 0 / -", "trace too long (1)"]
    assert rows[("deny_list", "adversarial")][11] == "0 / 0 / 2"
    assert "--sim verilator" in md and "Verilator" in md and "10 frames" in md
    assert ("reached by proto_stats; not by icmp_frag_needed (90.0%), deny_list (80.0%)"
            in md), md
    assert any("6 rows in" in m for m in logged)


def test_a_failed_run_is_a_clear_error(monkeypatch, tmp_path):
    def fake(args, **kw):
        return subprocess.CompletedProcess(args, 2, "", "Traceback ...\nJitnicError: no such pcap\n")
    monkeypatch.setattr(rs.subprocess, "run", fake)
    with pytest.raises(RuntimeError, match=r"jitnic run build/programs/deny_list.o .*--sim "
                       r"verilator.*exit status 2.*no such pcap"):
        rs.run_rtl("deny_list", tmp_path / "x.pcap")
