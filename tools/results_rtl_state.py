"""The `make results` section on NIC state on the RTL (issue 10, Measured): each map program through
`jitnic run --engine rtl` (trace format v2 with the RTL helper set, the NIC's maps loaded, kept in
step and read back over the bus, every frame and the final maps checked against a shadow
interpreter run) on short benign and hostile captures at 16 entries, for the programs whose NIC
traces perform map operations: hits, misses and guard misses
from the RTL's own counters, map operations per hit, and the model engine on the same capture for
comparison. Short because every frame is simulated (Icarus); the model engine's section above has
the long captures.

`python -m tools.results --only rtl_state` regenerates just this section.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from jit.paths import PROJECT_ROOT, program_maps_file
from jit.traffic import workloads
from tools.results_state import SECTION, run_one

FRAMES = 60
# the map programs whose NIC traces perform map operations (tb/e2e/test_e2e_maps.V2_MAP_OPS): each
# row is one Icarus simulation, so the others (whose NIC paths touch no map, or whose map stays on
# the host) are left to the model engine's section
PROGRAMS = ("proto_stats", "deny_list", "config_filter", "tail_dispatch")
ENTRIES = 16
# name -> (workload, seed, params): the benign and adversarial mixes of tools/results.py, shorter
MIXES = {"benign": ("zipf", 1, {"flows": 500, "s": 1.1}),
         "adversarial": ("adversarial_rr", 3, {"k": 64})}


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
           "--entries", str(ENTRIES)]
    if program_maps_file(name).exists():
        cmd += ["--maps-in", f"programs/{name}.maps.json"]
    if name in SECTION:
        cmd += ["--section", SECTION[name]]
    return cmd


def run_rtl(name: str, cap: Path) -> dict:
    cmd = run_cmd(name, str(cap))
    proc = subprocess.run([sys.executable, "-m", "jit", *cmd[1:], "--json"], capture_output=True,
                          text=True, cwd=PROJECT_ROOT)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr.strip().splitlines()[-1:]}")
    return json.loads(proc.stdout.splitlines()[-1])


def section_rtl_state(data: Path, table, pct, log) -> str:
    rows = []
    for name in PROGRAMS:
        for mix in MIXES:
            log(f"rtl state: {name} on {mix}")
            cap = capture(data, mix)
            r, m = run_rtl(name, cap), run_one(name, cap)
            n, hits = r["packets"], r["hits"]
            rows.append([name, mix, n, hits, r["misses"], r["guard_misses"], pct(r["hit_rate"]),
                         pct(m["hit_rate"]),
                         f"{r['map_ops'] / hits:.2f}" if hits else "-", r["installs"],
                         r["cycles_per_frame"],
                         f"{r['mismatches']} / {r['map_mismatches']}"
                         + (f" / {len(r['map_sync']['nic_map_mismatches'])}"
                            if "map_sync" in r else " / -")])
    head = (f"## NIC state on the RTL engine: map programs ({ENTRIES} entries, {FRAMES} frames)\n\n"
            "Each map program whose NIC traces perform map operations through `jitnic run --engine rtl` (Icarus; trace format v2 with the "
            "RTL helper set; the NIC's maps loaded from `--maps-in`, kept in step and read back "
            "over the bus; docs/memory_model.md \"As built in the RTL engine\"). Hits, misses and "
            "guard misses are the RTL's counters; the model engine's hit rate is on the same "
            "capture. Map ops per hit: counter MAP_OPS over hits. Mismatches: frames and maps "
            "that differ from the shadow interpreter run, and maps whose contents read back from "
            "the NIC differ from the host's view (`-`: no NIC-resident map). Captures: `"
            + gen_cmd("benign") + "` and `" + gen_cmd("adversarial") + "`; command per row: `"
            + " ".join(run_cmd("PROG", "CAPTURE")) + "` (with `--maps-in` and `--section` as "
            "for the model engine); e.g. `" + " ".join(run_cmd("deny_list", "CAPTURE")) + "`.\n")
    return head + "\n" + table(["program", "capture", "frames", "hits", "misses", "guard misses",
                                "hit rate (RTL)", "hit rate (model)", "map ops/hit", "installs",
                                "cycles/frame", "mismatches (frames / maps / NIC maps)"], rows)
