"""`make results`: regenerate docs/results.md (and its plots under docs/img/) from fixed seeds.

Every table says the command that reproduces it. Sections: workloads; paths per program; hit rate
vs cache size per policy (with Belady's optimum) on the benign Zipf mix; the smallest cache with no
capacity misses; thrashing on adversarial mixes; RTL cycles per frame and bus streaming limit;
RTL vs model agreement on a sample of each workload; synthesis area (from the committed record
docs/synth.json that `make synth` writes); sweep speed on 1M frames;
Icarus vs Verilator speed on the end-to-end bench (`--only sim` regenerates just that section); NIC
map memory cycles per map operation (`--only maps`); traces before and after guards (`--only
guards`); map programs on the RTL engine (`--only rtl_state`).
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

from jit.cli.progress import Bar, counted
from jit.ebpf import elf
from jit.traffic import pcap, workloads
from jit.nic.model import NicConfig
from jit.paths import PROGRAM_NAMES, PROJECT_ROOT, program_object
from jit.host.runner import run_model
from jit.host.sweep import path_stats, sweep

OUT = PROJECT_ROOT / "docs" / "results.md"
IMG = PROJECT_ROOT / "docs" / "img"
DATA = PROJECT_ROOT / "build" / "results"
ENTRIES = [1, 2, 4, 8, 16, 32, 64]
POLICIES = ["lru", "fifo", "random", "plru", "opt"]

# name -> (workload, count, seed, params)
CAPTURES = {
    "benign": ("zipf", 20000, 1, {"flows": 500, "s": 1.1}),
    "malformed": ("malformed", 5000, 2, {}),
    "adversarial": ("adversarial_rr", 10000, 3, {"k": 64}),
    "rare": ("rare_injection", 20000, 4, {"p": 0.01, "flows": 500}),
    "phase": ("phase_shift", 20000, 5, {}),
    "mixed": ("rare_injection", 100000, 6, {"p": 0.05, "flows": 2000}),
}


def capture(name: str) -> Path:
    workload, count, seed, params = CAPTURES[name]
    path = DATA / f"{name}.pcap"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        workloads.write_pcap(path, workload, count, seed=seed, **params)
    return path


def gen_cmd(name: str) -> str:
    workload, count, seed, params = CAPTURES[name]
    ps = " ".join(f"-p {k}={v}" for k, v in params.items())
    return f"jitnic gen {workload} -o build/results/{name}.pcap --count {count} --seed {seed} {ps}".strip()


# frames simulated so far, on a terminal only; main() replaces this silent one while it runs
PROGRESS = Bar("results", show=False)


def frames_of(name: str):
    """A factory re-opening capture `name` for each pass, each frame moving PROGRESS."""
    path = capture(name)
    return lambda: counted(pcap.read_packets(path), PROGRESS)


def table(header: list[str], rows: list[list]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def log(msg: str) -> None:
    """A dated line on stderr; on a terminal the bar also names the step."""
    PROGRESS.write(f"[results {time.strftime('%H:%M:%S')}] {msg}")
    PROGRESS.set_description(f"results: {msg}")


# ---- sections ----------------------------------------------------------------------------------
def section_workloads() -> str:
    rows = []
    for name, (workload, count, seed, params) in CAPTURES.items():
        capture(name)
        rows.append([name, workload, count, seed, json.dumps(params), f"`{gen_cmd(name)}`"])
    return "## Workloads\n\n" + table(["capture", "workload", "frames", "seed", "params", "command"], rows)


def section_sweeps(programs) -> tuple[str, dict]:
    """Hit rate vs entries per policy on the benign mix; returns markdown and per-program rows."""
    IMG.mkdir(parents=True, exist_ok=True)
    from jit.cli.sweep import plot
    parts = ["## Hit rate vs cache size (benign Zipf mix)\n",
             f"Command per program: `jitnic sweep build/programs/PROG.o --pcap build/results/benign.pcap "
             f"--entries {','.join(map(str, ENTRIES))} --policy {','.join(POLICIES)} --plot PNG`\n"]
    stats_rows, all_rows = [], {}
    for name, program in programs:
        log(f"sweep {name}")
        t0 = time.time()
        rows, library = sweep(program.insns, frames_of("benign"), ENTRIES, POLICIES, NicConfig())
        all_rows[name] = rows
        st = path_stats(library)
        stats_rows.append([name, st["distinct_paths"], f"{st['atoms_avg']:.1f}", st["atoms_max"],
                           f"{st['insns_before_avg']:.1f}", f"{st['insns_after_avg']:.1f}"])
        png = IMG / f"sweep_{name}.png"
        plot(rows, str(png), f"{name}: benign Zipf mix")
        grid = {(r.policy, r.entries): r for r in rows}
        body = [[p] + [pct(grid[p, n].hit_rate) for n in ENTRIES] for p in POLICIES]
        parts.append(f"### {name} ({time.time() - t0:.0f} s)\n\n"
                     + table(["policy"] + [f"{n}" for n in ENTRIES], body)
                     + f"\n\n![{name}](img/{png.name})\n")
    head = ("## Paths per program (benign Zipf mix)\n\n"
            + table(["program", "distinct cacheable paths", "atoms avg", "atoms max",
                     "trace insns before opt", "after opt"], stats_rows))
    return head + "\n\n" + "\n".join(parts), all_rows


def section_worst_case(programs, sweep_rows) -> str:
    """Smallest cache without capacity misses on the benign mix; thrashing on hostile mixes."""
    rows = []
    for name, _program in programs:
        lru = {r.entries: r for r in sweep_rows[name] if r.policy == "lru"}
        # No capacity misses: every miss is a first sight of a path (compulsory) or uncacheable.
        floor = min(r.misses for r in lru.values())
        fits = [n for n in ENTRIES if lru[n].misses == floor]
        rows.append([name, fits[0] if fits else f"> {ENTRIES[-1]}", floor,
                     pct(lru[16].hit_rate), pct(lru[ENTRIES[-1]].hit_rate)])
    out = ["## Worst case\n",
           "Smallest LRU cache whose misses equal the compulsory + uncacheable floor (the misses of "
           "the largest cache) on the benign mix:\n",
           table(["program", "smallest cache without capacity misses", "misses at that size",
                  "hit rate @16", f"hit rate @{ENTRIES[-1]}"], rows), ""]
    for cap in ("adversarial", "rare", "phase", "malformed"):
        log(f"thrash {cap}")
        out.append(f"### {cap} mix, 16 entries (`{gen_cmd(cap)}`, then "
                   f"`jitnic sweep PROG.o --pcap build/results/{cap}.pcap --entries 16`)\n")
        body = []
        for name, program in programs:
            rows16, lib = sweep(program.insns, frames_of(cap), [16], POLICIES, NicConfig())
            grid = {r.policy: r for r in rows16}
            body.append([name, path_stats(lib)["distinct_paths"]]
                        + [pct(grid[p].hit_rate) for p in POLICIES])
        out.append(table(["program", "paths"] + POLICIES, body) + "\n")
    return "\n".join(out)


def section_model_checks(programs) -> str:
    """`jitnic run` with the reference check on every program over the mixed captures."""
    rows = []
    for name, program in programs:
        total = {"packets": 0, "hits": 0, "mismatches": 0, "nic": 0, "full": 0}
        for cap in ("mixed",):
            rep = run_model(program.insns, frames_of(cap)(), NicConfig())
            total["packets"] += rep.packets
            total["hits"] += rep.hits
            total["mismatches"] += rep.mismatches
            total["nic"] += rep.nic_insns
            total["full"] += rep.full_insns
        log(f"run-check {name}: {total}")
        rows.append([name, total["packets"], pct(total["hits"] / total["packets"]),
                     total["mismatches"], total["nic"], total["full"]])
    return ("## Soundness on captures (every frame checked against the reference interpreter)\n\n"
            f"`{gen_cmd('mixed')}` (a Zipf mix with 5% malformed and corner-case frames), then "
            "`jitnic run build/programs/PROG.o --pcap build/results/mixed.pcap` (16 entries, LRU):\n\n"
            + table(["program", "frames", "hit rate", "mismatches", "NIC insns", "full-program insns"], rows))


HXDP = (("hXDP, drop (156 MHz, ~3 cycles/frame)", 156 / 3),
        ("hXDP, firewall (156 MHz, ~24 cycles/frame)", 156 / 24))
LINE_RATE_MPPS = 148.8          # 100 GbE, 64-byte frames (84 bytes on the wire with preamble and gap)


def line_rate_table(rows: list[dict], clock_mhz: float = 250.0) -> str:
    """Mpps of the 64-byte and IMIX rows at `clock_mhz`, beside hXDP and 100 GbE line rate."""
    body = [[r["program"], r["bytes"], r["data_width"], r["b2b_cycles_per_frame"],
             round(clock_mhz / r["b2b_cycles_per_frame"], 1)]
            for r in rows if r["bytes"] in (64, "imix") and r.get("b2b_cycles_per_frame")]
    body += [[name, 64, "", "", round(mpps, 1)] for name, mpps in HXDP]
    body.append(["100 GbE line rate", 64, "", "", LINE_RATE_MPPS])
    return (f"Frames per second at {clock_mhz:g} MHz (the issue's target clock; the timing estimate "
            "is in the area section):\n\n"
            + table(["program", "bytes", "data_width", "cycles/frame", "Mpps"], body))


# the issue-11 cycle goals at 512 bits, 64-byte hits: (program, goal in cycles per frame)
CYCLE_GOALS = (("parser_classifier", 2), ("acl_firewall", 2), ("mac_swap_tx", 4), ("l4_lb", 8))


def goals_table(rows: list[dict]) -> str:
    """The cycle goals against the measured 64-byte (smallest frame) rows at DATA_WIDTH 512."""
    body = []
    for program, goal in CYCLE_GOALS:
        hits = [r for r in rows if r["program"] == program and r["data_width"] == 512
                and r["bytes"] != "imix"]
        if not hits:
            continue
        r = min(hits, key=lambda r: r["bytes"])
        body.append([program, r["bytes"], goal, r["b2b_cycles_per_frame"], r["exec_cycles"],
                     "yes" if r["b2b_cycles_per_frame"] <= goal else "no"])
    return ("Goals (issue 11, smallest frame, DATA_WIDTH 512, back to back):\n\n"
            + table(["program", "bytes", "goal cycles/frame", "measured", "exec cycles per hit", "met"],
                    body))


def per_program_table(rows: list[dict]) -> str:
    """Cycles per hit of every program (the executor's, from EXEC_CYCLES) and its smallest frame's
    back-to-back cycles per frame at each data width."""
    body = []
    for program in dict.fromkeys(r["program"] for r in rows):
        mine = [r for r in rows if r["program"] == program and r["bytes"] != "imix"]
        small = {r["data_width"]: r for r in mine if r["bytes"] == min(x["bytes"] for x in mine)}
        body.append([program, mine[0]["exec_cycles"]]
                    + [small[w]["b2b_cycles_per_frame"] if w in small else "" for w in (64, 512)])
    return ("Cycles per hit, every shipped program (smallest frame; exec cycles from the EXEC_CYCLES "
            "counter, start to done of one lane):\n\n"
            + table(["program", "exec cycles per hit", "cycles/frame @64 bits", "cycles/frame @512 bits"],
                    body))


def section_rtl_cycles() -> str:
    """RTL cycles per frame (from the `rtl` benchmark), the goals and per-program cycles per hit."""
    out = ["## RTL: cycles per frame\n"]
    proc = subprocess.run([sys.executable, "-m", "jit", "bench", "rtl", "--json"], capture_output=True,
                          text=True, cwd=PROJECT_ROOT)
    rows = [json.loads(l) for l in proc.stdout.splitlines() if l.startswith("{")]
    if proc.returncode != 0 or not rows:
        out.append(f"`jitnic bench rtl` failed: {proc.stderr.strip().splitlines()[-1:]}")
    else:
        keys = [k for k in rows[0] if k != "section"]
        out.append("Command: `jitnic bench rtl` (DATA_WIDTH 64 and 512: 8 and 64 bytes per beat; "
                   "`stream_limit` is the bus limit, ceil(bytes / beat bytes) cycles per frame; IMIX is "
                   "64, 594 and 1518 bytes in the ratio 7:4:1; default parameters: `n_lanes` executor "
                   "lanes, `n_bufs` packet buffers).\n")
        out.append(table(keys, [[r.get(k, "") for k in keys] for r in rows]))
        out.append("\n" + goals_table(rows))
        out.append("\n" + per_program_table(rows))
        out.append("\n" + line_rate_table(rows))
    return "\n".join(out)


def section_rtl_agreement() -> str:
    """RTL vs model agreement on workload samples."""
    out = ["## RTL vs model agreement (samples of each workload)\n"]
    body = []
    for cap, names in (("benign", ("parser_classifier", "l4_lb")), ("malformed", ("parser_classifier",)),
                       ("adversarial", ("parser_classifier", "acl_firewall")), ("rare", ("icmp_echo",)),
                       ("phase", ("ttl_router",))):
        sample = DATA / f"{cap}_sample.pcap"
        with pcap.PcapWriter(sample) as w:
            for i, frame in enumerate(pcap.read_packets(capture(cap))):
                if i >= 150:
                    break
                w.write(frame)
        for name in names:
            log(f"rtl run {cap} {name}")
            cmd = [sys.executable, "-m", "jit", "run", str(program_object(name)), "--pcap", str(sample),
                   "--entries", "8", "--json"]
            model = json.loads(subprocess.run(cmd, capture_output=True, text=True).stdout)
            rtl_proc = subprocess.run(cmd + ["--engine", "rtl"], capture_output=True, text=True)
            try:
                rtl = json.loads(rtl_proc.stdout.splitlines()[-1])
            except (IndexError, json.JSONDecodeError):
                body.append([cap, name, "RTL run failed", rtl_proc.stderr.strip()[-200:], "", ""])
                continue
            same = all(model[k] == rtl[k] for k in ("hits", "misses", "installs", "evictions"))
            body.append([cap, name, f"{model['hits']}/{model['misses']}/{model['installs']}/{model['evictions']}",
                         f"{rtl['hits']}/{rtl['misses']}/{rtl['installs']}/{rtl['evictions']}",
                         "yes" if same else "NO", rtl["mismatches"]])
    out.append("Command: `jitnic run PROG.o --pcap build/results/CAP_sample.pcap --entries 8 [--engine rtl]` "
               "(first 150 frames of each capture)\n")
    out.append(table(["capture", "program", "model hits/misses/installs/evictions",
                      "RTL hits/misses/installs/evictions", "identical", "RTL mismatches"], body))
    return "\n".join(out)


def section_rtl(programs) -> str:
    """RTL cycles and RTL vs model agreement."""
    return section_rtl_cycles() + "\n\n" + section_rtl_agreement()


def section_synth(markdown: str | None = None) -> str:
    """The area table from the committed record docs/synth.json (`make synth`; yosys is not run
    here); the Mpps table takes its cycles from the RTL section of `markdown` (default: the
    current docs/results.md)."""
    from tools.results_synth import section
    if markdown is None:
        markdown = OUT.read_text() if OUT.exists() else ""
    return section(markdown, HXDP, LINE_RATE_MPPS, table)


def section_speed(program) -> str:
    """A 1M-frame sweep point for one program and one policy, timed, with peak memory."""
    path = DATA / "zipf_1m.pcap"
    if not path.exists():
        log("writing the 1M-frame capture")
        workloads.write_pcap(path, "zipf", 1_000_000, seed=7, flows=2000)
    cmd = ["/usr/bin/time", "-f", "%e %M", sys.executable, "-m", "jit", "sweep",
           str(program_object(program)), "--pcap", str(path), "--entries", "16", "--policy", "lru",
           "--json", "--quiet"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    secs, kb = proc.stderr.strip().splitlines()[-1].split()
    row = json.loads(proc.stdout)[0]
    return ("## Sweep speed\n\n"
            f"`jitnic gen zipf -o build/results/zipf_1m.pcap --count 1000000 --seed 7 -p flows=2000` then "
            f"`jitnic sweep build/programs/{program}.o --pcap build/results/zipf_1m.pcap --entries 16 "
            f"--policy lru`: {float(secs):.1f} s wall, peak memory {int(kb) // 1024} MB, hit rate "
            f"{pct(row['hit_rate'])} over {row['packets']} frames.")


def section_sim_speed() -> str:
    """Icarus vs Verilator on the same end-to-end bench (`jitnic bench sim`)."""
    proc = subprocess.run([sys.executable, "-m", "jit", "bench", "sim", "--json"], capture_output=True,
                          text=True, cwd=PROJECT_ROOT)
    rows = [json.loads(l) for l in proc.stdout.splitlines() if l.startswith("{")]
    head = "## Simulator speed: Icarus vs Verilator\n\n"
    if proc.returncode != 0 or not rows:
        return head + f"`jitnic bench sim` failed: {proc.stderr.strip().splitlines()[-1:]}"
    load = open("/proc/loadavg").read().split()[0] if Path("/proc/loadavg").exists() else "?"
    return (head + "Command: `jitnic bench sim` (the `jitnic run --engine rtl --sim SIM` bench: "
            f"{rows[0]['program']} on {rows[0]['frames']} zipf frames, 16 entries, LRU, the Python "
            "host in the loop, every frame checked by the scoreboard, the model and the reference "
            "interpreter; frames move whole through the bench top `jitnic_tb_top`, "
            "tb/common/fast.py), at the default 64-bit stream and at 512 bits. Frames per wall "
            "second of the simulation (build and start-up excluded), CPU seconds of the simulator "
            "process for the run and frames per CPU second (the figure without other jobs' share "
            f"of the cores: the 1-minute load average was {load} on 2 cores), speed-up over Icarus "
            "at the same width, and the one-off build + start-up time.\n\n"
            + table(["simulator", "width", "frames", "mismatches", "cycles/frame", "frames/wall s",
                     "CPU s", "frames/CPU s", "speed-up (wall)", "speed-up (CPU)",
                     "build + start-up s"],
                    [[r["simulator"], r.get("data_width", 64), r["frames"], r["mismatches"],
                      r["cycles_per_frame"], r["frames_per_wall_s"], r.get("sim_cpu_s", ""),
                      r["frames_per_cpu_s"], f"{r['speedup_wall']}x", f"{r['speedup_cpu']}x",
                      r["build_and_start_s"]] for r in rows]))


def section_maps() -> str:
    """NIC map memory: lookup-unit and bus cycles per map operation (`jitnic bench maps`)."""
    proc = subprocess.run([sys.executable, "-m", "jit", "bench", "maps", "--json"], capture_output=True,
                          text=True, cwd=PROJECT_ROOT)
    rows = [json.loads(l) for l in proc.stdout.splitlines() if l.startswith("{")]
    head = "## NIC map memory: cycles per map operation\n\n"
    if proc.returncode != 0 or not rows:
        return head + f"`jitnic bench maps` failed: {proc.stderr.strip().splitlines()[-1:]}"
    ex = [r for r in rows if r["port"] == "executor"]
    bus = [r for r in rows if r["port"] == "axil"]
    return (head + "Command: `jitnic bench maps` (Icarus; `rtl/jitnic_maps.v` at the default "
            "parameters, docs/rtl.md). Executor-port lookups: cycles from the request's acceptance "
            "to the response, mean (max) over the lookups; hash maps filled with random keys to the "
            "given share of their buckets (1/2 = max_entries, a full map).\n\n"
            + table(["map", "load", "lookup", "lookups", "cycles mean", "cycles max"],
                    [[r["map"], r["load"], r["lookup"], r["n"], r["cycles_mean"], r["cycles_max"]]
                     for r in ex])
            + "\n\nMap operations over AXI4-Lite at the top level: `bus` = cycles of the whole "
            "register protocol (staging writes, command, status polls, errno and result reads; "
            "cocotb-bus master), `engine` = MAP_CYCLES (command write to done).\n\n"
            + table(["map", "operation", "operations", "bus cycles mean", "bus cycles max",
                     "engine cycles mean", "engine cycles max"],
                    [[r["map"], r["op"], r["n"], r["bus_cycles_mean"], r["bus_cycles_max"],
                      r["engine_cycles_mean"], r["engine_cycles_max"]] for r in bus]))


def _title_key(line: str) -> str:
    """A `## ` title without a trailing parenthetical, which holds the section's parameters
    (`## NIC state on the RTL engine: map programs (16 entries, 2000 frames)`)."""
    return re.sub(r" \([^()]*\)$", "", line)


def replace_section(markdown: str, section: str) -> str:
    """`markdown` with the `## ` section of the same title as `section` replaced by it (or
    inserted before the closing `_Generated in` line when absent). Titles that differ only in a
    trailing parenthetical are the same section with other parameters: it is replaced too."""
    title = section.splitlines()[0]
    lines = markdown.rstrip("\n").split("\n")
    same = [i for i, line in enumerate(lines) if line == title] or \
        [i for i, line in enumerate(lines) if line.startswith("## ")
         and _title_key(line) == _title_key(title)]
    if same:
        start = same[0]
        end = next((i for i in range(start + 1, len(lines))
                    if lines[i].startswith("## ") or lines[i].startswith("_Generated in")), len(lines))
        lines[start:end] = section.rstrip("\n").split("\n") + [""]
    else:
        at = next((i for i, l in enumerate(lines) if l.startswith("_Generated in")), len(lines))
        lines[at:at] = section.rstrip("\n").split("\n") + [""]
    return "\n".join(lines) + "\n"


def section_v2_cycles() -> str:
    """Guards and map operations at the top (`python -m tools.v2_cycles`)."""
    from tools.v2_cycles import measure
    rows = measure([64, 512])
    return ("## NIC state on the RTL: cycles per frame with guards and map operations\n\n"
            "Command: `python -m tools.v2_cycles` (Icarus; `jitnic_top` at its defaults but "
            "DATA_WIDTH, 64-byte frames back to back; docs/rtl.md \"Trace format v2 at the top\"). "
            "Latency of one frame, steady cycles per frame back to back, and executor cycles per "
            "frame over every attempt (fall-throughs included; for the map programs also the "
            "cycles a lane waits for the map grant, which only the oldest frame holds: memory "
            "model rule 1). `adjust_head`: bpf_xdp_adjust_head(ctx, -6) then XDP_TX, the frame "
            "leaves 70 bytes long from byte 58 of its buffer, through the egress realign stage "
            "(docs/rtl.md \"Head margin and egress offset\"); the other rows' frames do not move "
            "and keep the cycles they had before the head margin.\n\n"
            + table(["case", "DATA_WIDTH", "lanes", "latency", "b2b cycles/frame",
                     "exec cycles/frame"],
                    [[r["case"], r["data_width"], r["n_lanes"], r["latency"],
                      r["b2b_cycles_per_frame"], r["exec_cycles_per_frame"]] for r in rows]))


# sections that can be regenerated alone (`--only NAME`), in place in docs/results.md
def section_state() -> str:
    from tools.results_state import section_state as state
    return state(capture, table, pct, log)


def section_guards(frames: int = 1000, seed: int = 1) -> str:
    """Traces and hits before and after guards (`python -m tools.guard_bench`)."""
    from tools import guard_bench as gb
    mixes = {m: list(workloads.generate(w, frames, seed, **p)) for m, (w, p) in gb.MIXES.items()}
    rows = []
    for name in gb.PROGRAMS:
        for mix, fs in mixes.items():
            log(f"guards: {name} on {mix}")
            rows.append(gb.row(name, mix, fs))
    return ("## Traces before and after guards\n\n"
            f"Command: `python -m tools.guard_bench --frames {frames} --seed {seed}` (docs/tracing.md "
            "\"Measured\"): every frame's path compiled as the miss handler compiles it, once as the "
            "tracer did before guards (v1: relations between fields pinned, map paths on the host) and "
            f"once with guards (v2); distinct NIC entries, frames on a cacheable path, and hits of an "
            f"LRU cache of {gb.ENTRIES} entries over the paths (a simulation over path keys, not the "
            "NIC model). Benign: `jitnic gen zipf -p flows=1000`; hostile: `jitnic gen malformed`.\n\n"
            "| program | mix | v1 traces | v1 cacheable frames | v1 hits | v2 traces | "
            "v2 cacheable frames | v2 hits |\n|---|---|---|---|---|---|---|---|\n" + "\n".join(rows))


def section_rtl_state() -> str:
    from tools.results_rtl_state import section_rtl_state as rtl_state
    return rtl_state(DATA, table, pct, log)


SINGLE_SECTIONS = {"sim": section_sim_speed, "rtl": section_rtl_cycles, "synth": section_synth,
                   "maps": section_maps, "state": section_state, "v2": section_v2_cycles,
                   "rtl_state": section_rtl_state, "guards": section_guards}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip", default="", help="comma-separated sections to skip: "
                    "state,rtl,synth,speed,sim,maps,v2,guards,rtl_state")
    ap.add_argument("--only", choices=sorted(SINGLE_SECTIONS),
                    help="regenerate only this section, in place in docs/results.md")
    args = ap.parse_args(argv)
    if args.only:
        OUT.write_text(replace_section(OUT.read_text(), SINGLE_SECTIONS[args.only]()))
        log(f"updated section {args.only} of {OUT.relative_to(PROJECT_ROOT)}")
        return 0
    global PROGRESS
    PROGRESS = Bar("results")
    try:
        return write_all(set(args.skip.split(",")))
    finally:
        PROGRESS.close()
        PROGRESS = Bar("results", show=False)


def write_all(skip: set[str]) -> int:
    """Every section, into docs/results.md."""
    programs = [(n, elf.load_program(program_object(n))) for n in PROGRAM_NAMES]
    t0 = time.time()
    parts = ["# JITNIC results",
             f"Generated by `make results` (`python -m tools.results`) on {time.strftime('%Y-%m-%d')}; "
             "every capture comes from a fixed seed, so the tables are reproducible. Defaults: "
             "16 entries, MAX_ATOMS 16, MAX_TRACE_LEN 128, HDR_BYTES 128, install latency 0.",
             section_workloads()]
    sweeps_md, rows = section_sweeps(programs)
    parts.append(sweeps_md)
    parts.append(section_worst_case(programs, rows))
    parts.append(section_model_checks(programs))
    if "state" not in skip:
        parts.append(section_state())
    if "rtl" not in skip:
        parts.append(section_rtl(programs))
    if "synth" not in skip:
        parts.append(section_synth("\n\n".join(parts)))
    if "speed" not in skip:
        parts.append(section_speed("parser_classifier"))
    if "sim" not in skip:
        parts.append(section_sim_speed())
    if "maps" not in skip:
        parts.append(section_maps())
    if "v2" not in skip:
        parts.append(section_v2_cycles())
    if "guards" not in skip:
        parts.append(section_guards())
    if "rtl_state" not in skip:
        parts.append(section_rtl_state())
    parts.append(f"_Generated in {time.time() - t0:.0f} s by a whole `make results` run on "
                 f"{time.strftime('%Y-%m-%d')}; a section regenerated alone (`--only NAME`) "
                 "leaves this line as it was._")
    OUT.write_text("\n\n".join(parts) + "\n")
    log(f"wrote {OUT.relative_to(PROJECT_ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
