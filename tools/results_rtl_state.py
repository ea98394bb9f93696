"""The `make results` section on NIC state on the RTL (issue 10, Measured): every shipped map program
(jit.paths.MAP_PROGRAM_NAMES) through `jitnic run --engine rtl --sim verilator` (trace format v2
with the RTL helper set, the NIC's maps loaded, kept in step and read back over the bus, every frame
and the final maps checked against a shadow interpreter run) on benign and adversarial captures of
FRAMES frames at 16 entries: hits, misses and guard misses from the RTL's own counters, map
operations per hit, and the model engine on the same capture for comparison. Verilator simulates
every frame about 100x faster than Icarus, so the captures are real-length: 18 runs of 2,000 frames
took 3.6 minutes on the shared 2-core development machine (load average 4-5), about 12 s a run,
once the Verilator build of jitnic_tb_top exists (about 5 more minutes the first time, cached in
sim_build/ after). A program whose maps all stay on the host (or that has none) gets its row too,
with `-` for NIC maps.

`python -m tools.results --only rtl_state` regenerates just this section.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from jit.paths import MAP_PROGRAM_NAMES, PROJECT_ROOT, program_maps_file
from jit.traffic import workloads
from tools.results_state import SECTION, run_one

FRAMES = 2000
SIM = "verilator"
PROGRAMS = MAP_PROGRAM_NAMES        # every shipped map program, NIC-resident maps or not
ENTRIES = 16
# name -> (workload, seed, params): the benign and adversarial mixes of tools/results.py
MIXES = {"benign": ("zipf", 1, {"flows": 500, "s": 1.1}),
         "adversarial": ("adversarial_rr", 3, {"k": 64})}
GOAL = 0.99                         # issue 10: >= 99% hits for statistics programs, benign, 16 entries


def capture(data: Path, mix: str) -> Path:
    workload, seed, params = MIXES[mix]
    path = data / f"rtl_state_{mix}_{FRAMES}.pcap"
    if not path.exists():
        data.mkdir(parents=True, exist_ok=True)
        workloads.write_pcap(path, workload, FRAMES, seed=seed, **params)
    return path


def gen_cmd(mix: str) -> str:
    workload, seed, params = MIXES[mix]
    ps = " ".join(f"-p {k}={v}" for k, v in params.items())
    return (f"jitnic gen {workload} -o build/results/rtl_state_{mix}_{FRAMES}.pcap --count {FRAMES} "
            f"--seed {seed} {ps}")


def run_cmd(name: str, cap: str) -> list[str]:
    cmd = ["jitnic", "run", f"build/programs/{name}.o", "--pcap", cap, "--engine", "rtl",
           "--sim", SIM, "--entries", str(ENTRIES)]
    if program_maps_file(name).exists():
        cmd += ["--maps-in", f"programs/{name}.maps.json"]
    if name in SECTION:
        cmd += ["--section", SECTION[name]]
    return cmd


def run_rtl(name: str, cap: Path) -> dict:
    """The summary of one `jitnic run --engine rtl` (exit status 1 means mismatches, which the row
    shows); anything else is an error naming the command and the last line it printed."""
    cmd = run_cmd(name, str(cap))
    proc = subprocess.run([sys.executable, "-m", "jit", *cmd[1:], "--json"], capture_output=True,
                          text=True, cwd=PROJECT_ROOT)
    if proc.returncode not in (0, 1) or not proc.stdout.strip():
        last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise RuntimeError(f"{' '.join(cmd)} failed (exit status {proc.returncode}): {last}")
    return json.loads(proc.stdout.splitlines()[-1])


def nic_map_mismatches(r: dict) -> str:
    """Maps read back from the NIC that differ from the host's view, or `-` when the run kept no
    map on the NIC (none, or all host-resident)."""
    sync = r.get("map_sync") or {}
    if not sync.get("nic_maps"):
        return "-"
    return str(len(sync["nic_map_mismatches"]))


def top_reason(r: dict) -> str:
    top = max(r["uncacheable_reasons"].items(), key=lambda kv: kv[1], default=None)
    return f"{top[0]} ({top[1]})" if top else "-"


def row(name: str, mix: str, r: dict, m: dict, pct) -> list:
    n, hits = r["packets"], r["hits"]
    return [name, mix, n, hits, r["misses"], r["guard_misses"], pct(r["hit_rate"]),
            pct(m["hit_rate"]), f"{r['map_ops'] / hits:.2f}" if hits else "-", r["installs"],
            r["cycles_per_frame"],
            f"{r['mismatches']} / {r['map_mismatches']} / {nic_map_mismatches(r)}", top_reason(r)]


def goal_text(rates: dict[str, float], pct) -> str:
    """Which programs reach GOAL on the benign capture (`rates`: program -> RTL hit rate)."""
    met = [p for p, h in rates.items() if h >= GOAL]
    below = [f"{p} ({pct(h)})" for p, h in rates.items() if h < GOAL]
    return (f"Issue 10's goal, >= {GOAL:.0%} hits on benign traffic at {ENTRIES} entries, on the "
            f"RTL engine at {FRAMES} frames: reached by {', '.join(met) or 'none'}; not by "
            f"{', '.join(below) or 'none'}.")


def section_rtl_state(data: Path, table, pct, log) -> str:
    rows, benign = [], {}
    start = time.monotonic()
    for name in PROGRAMS:
        for mix in MIXES:
            log(f"rtl state: {name} on {mix} ({SIM}, {FRAMES} frames)")
            cap = capture(data, mix)
            r, m = run_rtl(name, cap), run_one(name, cap)
            rows.append(row(name, mix, r, m, pct))
            if mix == "benign":
                benign[name] = r["hit_rate"]
    wall = time.monotonic() - start
    log(f"rtl state: {len(rows)} rows in {wall:.0f} s")
    head = (f"## NIC state on the RTL engine: map programs ({ENTRIES} entries, {FRAMES} frames)\n\n"
            f"Every shipped map program through `jitnic run --engine rtl --sim {SIM}` (Verilator; "
            "trace format v2 with the RTL helper set; the NIC's maps loaded from `--maps-in`, kept "
            "in step and read back over the bus; docs/memory_model.md \"As built in the RTL "
            "engine\"). Hits, misses and guard misses are the RTL's counters; the model engine's "
            "hit rate is on the same capture. Map ops per hit: counter MAP_OPS over hits. "
            "Mismatches: frames and maps that differ from the shadow interpreter run, and maps "
            "whose contents read back from the NIC differ from the host's view (`-`: no "
            "NIC-resident map). Captures: `" + gen_cmd("benign") + "` and `"
            + gen_cmd("adversarial") + "`; command per row: `"
            + " ".join(run_cmd("PROG", "CAPTURE")) + "` (with `--maps-in` and `--section` as for "
            "the model engine); e.g. `" + " ".join(run_cmd("deny_list", "CAPTURE")) + "`. "
            f"Wall time of the section: {wall / 60:.1f} min ({len(rows)} runs).\n\n"
            + goal_text(benign, pct) + "\n")
    return head + "\n" + table(["program", "capture", "frames", "hits", "misses", "guard misses",
                                "hit rate (RTL)", "hit rate (model)", "map ops/hit", "installs",
                                "cycles/frame", "mismatches (frames / maps / NIC maps)",
                                "top reason a path stays on the host"], rows)
