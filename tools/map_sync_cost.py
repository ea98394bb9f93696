"""What keeping the NIC's maps in step with the host's costs on the control bus, measured on the RTL
(`jitnic run --engine rtl`, Icarus): per map program, map commands and AXI4-Lite register accesses
to load --maps-in, per missed frame (the write-through of the host's map changes and the read-back
checks after NIC map operations), and for the final read-back. Prints a markdown table
(docs/memory_model.md "As built in the RTL engine" holds the last one).

    python -m tools.map_sync_cost [--frames 40] [--programs proto_stats,deny_list]
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from jit.cli.rtl_engine import run_rtl
from jit.nic.model import NicConfig
from jit.paths import program_maps_file, program_object
from jit.traffic import workloads
from jit.traffic.pcap import PcapWriter

PROGRAMS = ("proto_stats", "deny_list", "config_filter", "tail_dispatch", "port_filter_subprog",
            "lpm_router")
SECTION = {"tail_dispatch": "tail_dispatch"}


def measure(name: str, frames: int, tmp: Path) -> dict:
    from tests.packets import varied_packets
    capture = tmp / f"{name}.pcap"
    with open(capture, "wb") as f, PcapWriter(f) as w:
        for frame in varied_packets(name, frames, 1) + list(
                workloads.generate("zipf", frames, seed=1, flows=6)):
            w.write(frame)
    maps_in = program_maps_file(name)
    summary, _ = run_rtl(str(program_object(name)), str(capture), NicConfig(n_entries=4),
                         section=SECTION.get(name), maps_in=str(maps_in) if maps_in.exists() else None)
    return summary


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=40, help="frames of each of two mixes (default 40)")
    ap.add_argument("--programs", default=",".join(PROGRAMS))
    args = ap.parse_args(argv)
    print("| program | format | frames | misses | load cmds / accesses | misses written through | "
          "read-back checks | cmds per miss | accesses per miss | final read-back cmds / accesses |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.programs.split(","):
            s = measure(name, args.frames, Path(tmp))
            m = s["map_sync"]
            print(f"| {name} | v{s['trace_format']} | {s['packets']} | {s['misses']} | "
                  f"{m['load_commands']} / {m['load_accesses']} | {m['write_throughs']} | "
                  f"{m['checks']} | {m['commands_per_miss']} | {m['accesses_per_miss']} | "
                  f"{m['final_commands']} / {m['final_accesses']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
