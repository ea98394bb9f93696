"""`make SIM=icarus` / `make SIM=verilator`: run the cocotb regression (every testbench under tb/,
through pytest and the cocotb runner) on that simulator and end with a short summary: tests, and per
end-to-end run the frames, hits, misses and cycles per frame that the testbenches measured.

POLICY restricts the policy-dependent benches (top, end-to-end) to one policy; WAVES=1 writes FST
waveforms and prints the GTKWave command for each, with its layout; TEST selects benches by name
(a pytest -k expression, e.g. `TEST="test_top and default"`).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from jit.nic import params
from jit.paths import PROJECT_ROOT
from tb.common import waves
from tb.common.simulators import SIMULATORS

SIM_BUILD = PROJECT_ROOT / "sim_build"
REPORTS = SIM_BUILD / "reports"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sim", default="icarus", choices=SIMULATORS)
    ap.add_argument("--policy", default="", help="lru, fifo, random or plru (default: all)")
    ap.add_argument("--entries", default="")
    ap.add_argument("--waves", default="0")
    ap.add_argument("--test", default="")
    ap.add_argument("--jobs", default=str(os.cpu_count() or 2))
    args = ap.parse_args(argv)
    try:        # the shared rules (jit/nic/params.py): a bad value fails now, by name
        if args.policy:
            params.check_policy(args.policy, "POLICY")
        if args.entries:
            params.check_int("N_ENTRIES", args.entries, "N_ENTRIES")
    except params.ParamError as exc:
        print(f"regress: {exc}", file=sys.stderr)
        return 2
    env = dict(os.environ)
    env["JITNIC_SIM"] = args.sim
    if args.policy:
        env["JITNIC_POLICY"] = args.policy
    if args.entries:
        env["JITNIC_N_ENTRIES"] = args.entries
    env["WAVES"] = args.waves
    if REPORTS.exists():
        for f in REPORTS.glob("*.json"):
            f.unlink()
    cmd = [sys.executable, "-m", "pytest", "-q", "-rs", "tb"]
    if args.waves != "1":
        cmd += ["-n", args.jobs]
    if args.test:
        cmd += ["-k", args.test]
    t0 = time.time()
    rc = subprocess.call(cmd, cwd=PROJECT_ROOT, env=env)
    print_summary(args.sim, time.time() - t0, rc)
    if args.waves == "1":
        for line in wave_commands(args.sim, t0):
            print(line)
    return rc


def wave_commands(sim: str, since: float, sim_build: Path = SIM_BUILD) -> list[str]:
    """`gtkwave FST [LAYOUT]` per waveform this run wrote (older runs' stay out), named by bench
    and parameters (sim_build/waves/<sim>/, tb/common/runner.py), each with the layout generated
    for its parameters (jitnic_top's; other blocks have none), paths relative to the project root."""
    out = []
    for fst in sorted((sim_build / "waves" / sim).glob("*.fst")):
        if not fst.exists() or fst.stat().st_mtime < since:     # stat follows the link to the FST
            continue
        gtkw = fst.with_suffix(".gtkw")
        cmd = f"waves: gtkwave {fst.relative_to(sim_build.parent)}"
        out.append(cmd + (f" {gtkw.relative_to(sim_build.parent)}" if gtkw.exists() else ""))
    return out


def print_summary(sim: str, seconds: float, rc: int) -> None:
    rows = []
    for f in sorted(REPORTS.glob("*.json")) if REPORTS.exists() else []:
        rows.append(json.loads(f.read_text()))
    print(f"\n== JITNIC RTL regression ({sim}): {'PASS' if rc == 0 else 'FAIL'} in {seconds:.0f} s ==")
    if not rows:
        return
    print(f"{'bench':<34}{'frames':>8}{'hits':>7}{'misses':>8}{'installs':>9}{'cyc/frame':>11}{'exec cyc':>9}{'frames/s':>9}")
    for r in rows:
        print(f"{r['name']:<34}{r['packets']:>8}{r['hits']:>7}{r['misses']:>8}{r['installs']:>9}"
              f"{r.get('cycles_per_frame', 0):>11.1f}{r.get('hit_cycles', 0):>9.1f}"
              f"{r.get('frames_per_wall_s', 0):>9.1f}")
    tot = {k: sum(r[k] for r in rows) for k in ("packets", "hits", "misses")}
    print("cyc/frame: simulated cycles per frame including the pauses for installs; exec cyc: "
          "executor cycles per hit (EXEC_CYCLES / HITS); frames/s: simulated frames per wall second;\n"
          "`jitnic bench rtl` measures the hit and miss paths alone")
    print(f"{'total':<34}{tot['packets']:>8}{tot['hits']:>7}{tot['misses']:>8}")


if __name__ == "__main__":
    raise SystemExit(main())
