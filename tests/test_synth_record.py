"""The synthesis record (tools/synth.py --record, docs/synth.json) and the area section rendered
from it (tools/results_synth.py): merging runs, provenance against the current RTL, Mpps at the
estimated clock. No yosys here."""
from __future__ import annotations

import json

from tools import results, results_synth, synth


def row(name, luts=None, **extra):
    r = {"name": name, "n_entries": 16, "max_atoms": 16, "max_trace_len": 128, "hdr_bytes": 128,
         "data_width": 64, "top": "jitnic_top", "params": {}, "rtl_digest": "aaaa", "commit": "c1",
         "date": "2026-12-02 05:00 UTC"}
    if luts is not None:
        r["luts"] = luts
    r.update(extra)
    return r


def test_record_merges_by_name_and_keeps_a_measured_row_over_a_failed_run(tmp_path):
    path = tmp_path / "synth.json"
    synth.record([row("small", 100), row("default", 200)], path)
    synth.record([row("small", 90), row("default", error="yosys took longer than 1800 s")], path)
    rows = {r["name"]: r for r in json.loads(path.read_text())["rows"]}
    assert rows["small"]["luts"] == 90
    assert rows["default"]["luts"] == 200 and "error" not in rows["default"]
    assert [r["name"] for r in json.loads(path.read_text())["rows"]] == ["small", "default"]


def test_block_configs_set_the_parameters_jitnic_top_passes():
    match = synth.CONFIGS["match"]
    assert match.top == "jitnic_match"
    assert match.chparam() == ("chparam -set N_ENTRIES 16 -set HDR_BYTES 128 -set N_SLOTS 16 "
                               "-set N_LEN_ATOMS 2 -set N_GEN_ATOMS 4 -set TAG_W 3 jitnic_match")
    assert synth.CONFIGS["default"].chparam().startswith("chparam -set N_ENTRIES 16 ")
    assert set(synth.GROUPS["blocks"].split(",")) <= set(synth.CONFIGS)


def test_measured_on_says_when_the_rtl_changed_since():
    assert "same RTL as now" in results_synth.measured_on(row("d", 1), "aaaa")
    assert "RTL aaaa, since changed" in results_synth.measured_on(row("d", 1), "bbbb")


RTL_MD = """## RTL: cycles per frame

Command: ...

| program | bytes | data_width | b2b_cycles_per_frame | stream_limit |
|---|---|---|---|---|
| parser_classifier | 64 | 64 | 8.0 | 8 |
| parser_classifier | 1518 | 64 | 190.0 | 190 |
| parser_classifier | 64 | 512 | 1.2 | 1 |

Goals ...

| program | bytes |
|---|---|
| other | 1 |
"""


def test_mpps_uses_the_default_clock_of_the_same_width():
    rtl_rows = results_synth.rtl_rows_from_markdown(RTL_MD)
    assert [(r["bytes"], r["data_width"], r["b2b_cycles_per_frame"]) for r in rtl_rows] == \
        [(64, 64.0, 8.0), (1518, 64.0, 190.0), (64, 512.0, 1.2)]
    record = [row("default", 1, fmax_mhz_cells_only=200.0), row("small", 1, fmax_mhz_cells_only=400.0)]
    md = results_synth.mpps_table(record, rtl_rows, results.HXDP, results.LINE_RATE_MPPS, results.table)
    body = [[c.strip() for c in line.strip("|").split("|")] for line in md.splitlines()[2:]]
    assert body[0] == ["parser_classifier", "64", "8.0", "200.0 (default)", "25.0"]
    assert body[1][:4] == ["parser_classifier", "512", "1.2", "not synthesized at this width"]
    assert body[-1] == ["100 GbE line rate", "", "", "", "148.8"]
    assert len(body) == 2 + len(results.HXDP) + 1        # the 1518-byte row is not a 64-byte row


def test_mpps_prefers_the_default_row_measured_on_todays_rtl():
    old = row("default", 1, fmax_mhz_cells_only=85.0, rtl_digest="aaa", date="2026-12-01 10:00 UTC")
    hier = row("default-hier", 1, fmax_mhz_cells_only=95.0, rtl_digest="bbb", date="2026-11-30 10:00 UTC")
    assert results_synth.default_clocks([old, hier], current="bbb")[64] is hier
    # neither on today's RTL: the most recent measurement
    assert results_synth.default_clocks([old, hier], current="ccc")[64] is old
    small = row("small4-hier", 1, fmax_mhz_cells_only=300.0, rtl_digest="ccc")
    assert results_synth.default_clocks([small], current="ccc") == {}


def test_hier_maps_module_by_module_and_flattens_before_counting(monkeypatch):
    cfg = synth.CONFIGS["default"]
    flat = synth.synth_script(cfg, timing=True)
    hier = synth.synth_script(cfg, timing=True, hier=True)
    assert "synth_xilinx -family xcup -flatten -top jitnic_top; stat;" in flat
    assert "synth_xilinx -family xcup -top jitnic_top; flatten; stat;" in hier
    assert hier.endswith("; sta") and flat.endswith("; sta")
    monkeypatch.setattr(synth, "synth_run", lambda c, t, timing, hier=False: {"luts": 7 if hier else 5})
    row = synth.synth_one(cfg, 10, False, hier=True)
    assert row["name"] == "default-hier" and row["luts"] == 7 and "hierarchical" in row["flow"]
    assert synth.synth_one(cfg, 10, False)["name"] == "default"
    assert "hierarchical" in results_synth.note(row)
