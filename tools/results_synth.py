"""docs/results.md's area section, rendered from the committed synthesis record docs/synth.json
(`make synth` = `python -m tools.synth --record`) instead of re-running yosys (~50 minutes for the
defaults): each row says the commit and RTL digest it was measured on, and whether today's rtl/
still has that digest.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from tools import synth

TITLE = "## Area and timing estimate (yosys `synth_xilinx -family xcup`, `make synth`)"


def load_record(path: Path = synth.RECORD) -> list[dict]:
    return json.loads(path.read_text())["rows"] if path.exists() else []


def measured_on(row: dict, current: str) -> str:
    """'commit, date' and whether rtl/ changed since."""
    same = "same RTL as now" if row.get("rtl_digest") == current else \
        f"RTL {row.get('rtl_digest', '?')}, since changed"
    return f"{row.get('commit', '?')}, {row.get('date', '?')} ({same})"


def fmax(row: dict):
    return row.get("fmax_mhz_cells_only") or ""


def note(row: dict) -> str:
    """A failed run's error, or the row's note."""
    return "; ".join(x for x in (row.get("error"), row.get("flow"), row.get("note")) if x)


def whole_table(rows: list[dict], current: str, table) -> str:
    body = [[r["name"], f"{r['n_entries']} x {r['max_atoms']}", r["max_trace_len"], r["hdr_bytes"],
             r["data_width"], r.get("n_bufs", ""), r.get("n_lanes", ""), r.get("n_slots", ""),
             r.get("luts", ""), r.get("flip_flops", ""), r.get("bram36", ""), r.get("dsp", ""),
             r.get("path_ns", ""), fmax(r), r.get("seconds", ""), note(r), measured_on(r, current)]
            for r in rows]
    return table(["config", "entries x atoms", "MAX_TRACE_LEN", "HDR_BYTES", "DATA_WIDTH", "N_BUFS",
                  "N_LANES", "N_SLOTS", "LUTs", "FFs", "BRAM36", "DSP", "path ns", "fmax MHz",
                  "yosys s", "note", "measured on"], body)


def block_table(rows: list[dict], current: str, table) -> str:
    body = [[r["name"], r["top"], " ".join(f"{k}={v}" for k, v in r.get("params", {}).items()),
             r.get("luts", ""), r.get("flip_flops", ""), r.get("bram36", ""), r.get("dsp", ""),
             r.get("path_ns", ""), fmax(r), r.get("seconds", ""), note(r), measured_on(r, current)]
            for r in rows]
    return table(["block", "module", "parameters (as jitnic_top sets them at the defaults)", "LUTs",
                  "FFs", "BRAM36", "DSP", "path ns", "fmax MHz", "yosys s", "note", "measured on"],
                 body)


def rtl_rows_from_markdown(markdown: str) -> list[dict]:
    """The rows of the RTL cycles table (`jitnic bench rtl`) as docs/results.md shows them."""
    lines = markdown.splitlines()
    try:
        start = lines.index("## RTL: cycles per frame")
    except ValueError:
        return []
    table_lines = []
    for line in lines[start + 1:]:
        if line.startswith("## "):
            break
        if line.startswith("|"):
            table_lines.append(line)
        elif table_lines:
            break
    if len(table_lines) < 3:
        return []
    cells = lambda line: [c.strip() for c in line.strip().strip("|").split("|")]  # noqa: E731
    header = cells(table_lines[0])
    rows = [dict(zip(header, cells(line))) for line in table_lines[2:]]
    for r in rows:
        for key in ("data_width", "b2b_cycles_per_frame"):
            r[key] = float(r[key]) if re.fullmatch(r"[\d.]+", r.get(key, "")) else None
        r["bytes"] = int(r["bytes"]) if r.get("bytes", "").isdigit() else r.get("bytes")
    return rows


DEFAULT_NAMES = ("default", "default-hier", "default512", "default512-hier")


def default_clocks(record: list[dict], current: str | None = None) -> dict[int, dict]:
    """Per data width, the default configuration's row whose clock the Mpps table uses: flattened
    or hierarchical, preferring a row measured on today's RTL, then the most recent."""
    clocks: dict[int, dict] = {}
    rank = lambda r: (r.get("rtl_digest") == current, r.get("date", ""))  # noqa: E731
    for r in record:
        if r.get("top", "jitnic_top") != "jitnic_top" or r["name"] not in DEFAULT_NAMES or not fmax(r):
            continue
        best = clocks.get(r["data_width"])
        if best is None or rank(r) > rank(best):
            clocks[r["data_width"]] = r
    return clocks


def mpps_table(record: list[dict], rtl_rows: list[dict], hxdp, line_rate: float, table,
               current: str | None = None) -> str:
    """64-byte Mpps at the estimated clock of the default configuration of the same data width."""
    clocks = default_clocks(record, current)
    body = []
    for r in rtl_rows:
        if r["bytes"] != 64 or not r["b2b_cycles_per_frame"]:
            continue
        cfg = clocks.get(int(r["data_width"]))
        if cfg is None:
            body.append([r["program"], int(r["data_width"]), r["b2b_cycles_per_frame"],
                         "not synthesized at this width", ""])
            continue
        body.append([r["program"], int(r["data_width"]), r["b2b_cycles_per_frame"],
                     f"{fmax(cfg)} ({cfg['name']})", round(fmax(cfg) / r["b2b_cycles_per_frame"], 1)])
    body += [[name, "", "", "", round(mpps, 1)] for name, mpps in hxdp]
    body.append(["100 GbE line rate", "", "", "", line_rate])
    return table(["program (64-byte frames)", "data_width", "cycles/frame", "clock MHz (config)", "Mpps"],
                 body)


def section(markdown: str, hxdp, line_rate: float, table) -> str:
    record = load_record()
    if not record:
        return (f"{TITLE}\n\nNo synthesis record: run `make synth` (writes "
                f"{synth.RECORD.relative_to(synth.PROJECT_ROOT)}).")
    current = synth.rtl_digest()
    whole = [r for r in record if r.get("top", "jitnic_top") == "jitnic_top"]
    blocks = [r for r in record if r.get("top", "jitnic_top") != "jitnic_top"]
    out = [TITLE, "",
           "Rendered from docs/synth.json, the record `make synth` writes (`python -m tools.synth "
           "--configs NAMES --record`; `--configs blocks` synthesizes each block alone); this "
           "section never runs yosys. yosys mapping onto UltraScale+ cells, `-flatten` (rows named "
           "NAME-hier: mapped module by module, flattened after mapping; an upper bound of the "
           "flattened flow's counts). The path is "
           "the longest register-to-register path of the same netlist under yosys `sta` with the "
           "7-series cell delays of yosys' Xilinx models: cell delays only, no routing (yosys has "
           "no UltraScale+ timing), so fmax = 1 / path is an upper bound, a ranking of designs "
           f"rather than a sign-off clock. Current RTL digest: {current}. \"yosys s\": wall time "
           "of the run on the shared 2-core VM.", "",
           "Whole design (`jitnic_top`):", "", whole_table(whole, current, table)]
    if blocks:
        out += ["", "Each block alone (`--configs blocks`; `jitnic_top` holds N_LANES executors, "
                "one of everything else):", "", block_table(blocks, current, table)]
    out += ["", "Frames per second at the estimated clock (cycles per frame from the RTL cycles "
            "section above; the clock is the cells-only bound, so these are upper bounds):", "",
            mpps_table(record, rtl_rows_from_markdown(markdown), hxdp, line_rate, table, current)]
    return "\n".join(out)
