"""The `make results` section on NIC state (issue 10): each map program through the model engine
(NIC traces on the runtime's maps, the host on misses, every frame and the final maps checked
against a shadow runtime) on the benign and hostile captures at 16 entries: hit rate, guard-miss
rate, map operations per hit, what stays on the host.

`python -m tools.results --only state` regenerates just this section.
"""
from __future__ import annotations

from jit.ebpf import elf
from jit.ebpf.maps import contents as mc
from jit.ebpf.runtime import XdpRuntime
from jit.host.runner import run_frames
from jit.nic.model import NicConfig, NicModel
from jit.paths import MAP_PROGRAM_NAMES, program_maps_file, program_object
from jit.traffic import pcap

MIXES = ("benign", "adversarial", "malformed")    # captures of tools/results.py
SECTION = {"tail_dispatch": "tail_dispatch"}      # objects with several XDP programs


def run_one(name: str, capture_path) -> dict:
    linked = elf.load_linked(program_object(name), SECTION.get(name))
    path = program_maps_file(name)
    maps_in = mc.read_file(path, linked.maps) if path.exists() else None
    runtime = XdpRuntime(linked, maps_in=maps_in)
    shadow = XdpRuntime(linked, maps_in=maps_in)
    cfg = NicConfig(n_entries=16, v2=True)
    rep = run_frames(linked.insns, runtime.timed(pcap.read_records(capture_path)), NicModel(cfg),
                     cfg, runtime=runtime, shadow=shadow)
    return rep.as_dict()


def command(name: str, mix: str) -> str:
    maps = f" --maps-in programs/{name}.maps.json" if program_maps_file(name).exists() else ""
    section = f" --section {SECTION[name]}" if name in SECTION else ""
    return f"jitnic run build/programs/{name}.o --pcap build/results/{mix}.pcap{maps}{section}"


def section_state(capture, table, pct, log) -> str:
    """Markdown of the section; `capture(mix)` gives a capture's path (tools.results)."""
    rows = []
    for name in MAP_PROGRAM_NAMES:
        for mix in MIXES:
            log(f"state: {name} on {mix}")
            r = run_one(name, capture(mix))
            hits, n = r["hits"], r["packets"]
            top = max(r["uncacheable_reasons"].items(), key=lambda kv: kv[1], default=None)
            rows.append([name, mix, n, pct(r["hit_rate"]),
                         pct(r["guard_misses"] / n if n else 0),
                         f"{r['map_ops'] / hits:.2f}" if hits else "-", r["installs"],
                         f"{top[0]} ({top[1]})" if top else "-",
                         f"{r['mismatches']} / {r['map_mismatches']}"])
    head = ("## NIC state: map programs on the model engine (16 entries)\n\n"
            "Each map program through the model engine: the NIC runs its traces on the same maps "
            "the host's interpreter uses (one memory), misses and guard failures go to the host, "
            "and every frame and the final maps are checked against a shadow interpreter run "
            "(docs/memory_model.md). Guard-miss rate: frames whose matching entries all failed a "
            "guard (they are misses too). Map ops per hit: counter MAP_OPS (map helper calls and "
            "map value loads/stores/atomics of committed traces) over hits. Mismatches: frames / "
            "maps that differ from the shadow run. Command per row: `"
            + command("PROG", "MIX") + "` plus `--maps-in programs/PROG.maps.json` where it "
            "exists and `--section tail_dispatch` for tail_dispatch; e.g. `"
            + command("deny_list", "benign") + "`.\n")
    return head + "\n" + table(["program", "capture", "frames", "hit rate", "guard-miss rate",
                                "map ops/hit", "installs", "top reason a path stays on the host",
                                "mismatches (frames / maps)"], rows)
