"""What guards cost at the top: `python -m tools.v2_cycles [--data-widths 64,512]`.

Runs tb/top/v2_cycles.py (Icarus, jitnic_top at its defaults but DATA_WIDTH) and prints one
markdown row per case and width: latency of one 64-byte frame, steady back-to-back cycles per
frame, executor cycles per frame over every attempt (docs/rtl.md "Trace format v2 at the top").
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from tb.common.runner import run_cocotb


def measure(widths: list[int]) -> list[dict]:
    """One row per case and width (case, data_width, n_lanes, latency, b2b_cycles_per_frame,
    exec_cycles_per_frame), from tb/top/v2_cycles.py."""
    rows = []
    for width in widths:
        with tempfile.TemporaryDirectory() as tmp:
            report = Path(tmp) / "v2_cycles.json"
            run_cocotb("jitnic_top", "tb.top.v2_cycles", {"DATA_WIDTH": width},
                       extra_env={"V2_CYCLES_REPORT": str(report), "COCOTB_LOG_LEVEL": "WARNING"})
            rows += json.loads(report.read_text())
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-widths", default="64,512")
    args = ap.parse_args(argv)
    rows = measure([int(w) for w in args.data_widths.split(",")])
    print("| case | DATA_WIDTH | lanes | latency | b2b cycles/frame | exec cycles/frame |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['case']} | {r['data_width']} | {r['n_lanes']} | {r['latency']} | "
              f"{r['b2b_cycles_per_frame']} | {r['exec_cycles_per_frame']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
