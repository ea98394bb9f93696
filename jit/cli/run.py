"""`jitnic run PROG.o --pcap FILE`: stream a capture through the NIC (model or RTL) with the host
handling misses, check every final result against the reference interpreter, print a report."""
from __future__ import annotations

import argparse
import sys

from jit.ebpf import elf
from jit.traffic import pcap
from jit.cli.output import emit_json
from jit import JitnicError
from jit.nic.model import NicConfig, NicModel
from jit.nic.policies import POLICIES
from jit.host.runner import FrameRecord, run_frames
from jit.nic import encoding as enc
from tb.common.simulators import SIMULATORS     # stdlib only: no cocotb import for the model engine

ENGINES = ("model", "rtl")


def add_nic_arguments(p: argparse.ArgumentParser) -> None:
    """NIC configuration flags shared by `run` and `sweep`."""
    p.add_argument("--section", help="program section (default: the object's XDP program)")
    p.add_argument("--max-atoms", type=int, default=enc.MAX_ATOMS)
    p.add_argument("--max-trace-len", type=int, default=enc.MAX_TRACE_LEN)
    p.add_argument("--hdr-bytes", type=int, default=enc.HDR_BYTES)
    p.add_argument("--seed", type=lambda s: int(s, 0), default=0, help="RANDOM policy seed")
    p.add_argument("--latency", type=int, default=0,
                   help="host install latency in frames (0: before the next frame)")
    p.add_argument("--no-opt", action="store_true", help="install traces without optimization")


def register(sub) -> None:
    p = sub.add_parser("run", help="stream a capture through the NIC and the host",
                       description=__doc__)
    p.add_argument("program", help="XDP object file")
    p.add_argument("--pcap", required=True, help="capture (pcap or pcapng, Ethernet)")
    p.add_argument("--entries", type=int, default=enc.N_ENTRIES)
    p.add_argument("--policy", choices=sorted(POLICIES) + ["opt"], default="lru",
                   help="replacement policy; opt = Belady's optimum (model only, reads the capture twice)")
    p.add_argument("--engine", choices=ENGINES, default="model")
    p.add_argument("--sim", choices=SIMULATORS, default="icarus",
                   help="simulator of the RTL engine (default icarus)")
    p.add_argument("--no-check", action="store_true",
                   help="skip the independent reference-interpreter run per frame")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="one JSON summary object")
    out.add_argument("--jsonl", action="store_true", help="one JSON object per frame, then the summary")
    add_nic_arguments(p)
    p.set_defaults(func=run)


def nic_config(args, entries: int, policy: str) -> NicConfig:
    return NicConfig(n_entries=entries, max_atoms=args.max_atoms, max_trace_len=args.max_trace_len,
                     hdr_bytes=args.hdr_bytes, policy="lru" if policy == "opt" else policy,
                     seed=args.seed)


def run(args) -> int:
    program = elf.load_program(args.program, args.section)
    cfg = nic_config(args, args.entries, args.policy)
    on_frame = None
    if args.jsonl:
        def on_frame(rec: FrameRecord) -> None:
            emit_json({"index": rec.index, "action": rec.action, "out_hex": rec.packet.hex(),
                       "where": rec.where, "entry": rec.entry})
    if args.engine == "rtl":
        if args.policy == "opt":
            raise JitnicError("--policy opt (Belady) exists only in the model: it needs the future")
        from jit.cli.rtl_engine import run_rtl    # needs cocotb and Icarus: imported only when asked
        summary, records = run_rtl(args.program, args.pcap, cfg, section=args.section,
                                   latency=args.latency, check=not args.no_check,
                                   want_frames=args.jsonl, simulator=args.sim)
        for rec in records:
            emit_json(rec)
        return finish(summary, program.name, args)
    nic = NicModel(cfg)
    if args.policy == "opt":
        from jit.host.miss_handler import TraceLibrary
        from jit.host.sweep import PathOracle, belady_model
        library = TraceLibrary()
        nic = belady_model(cfg, PathOracle(program.insns, pcap.read_packets(args.pcap), library, cfg),
                           library)
    report = run_frames(program.insns, pcap.read_packets(args.pcap), nic, cfg, latency=args.latency,
                        check=not args.no_check, do_optimize=not args.no_opt, on_frame=on_frame)
    return finish(report.as_dict(), program.name, args)


def finish(summary: dict, name: str, args) -> int:
    if args.json or args.jsonl:
        emit_json(summary)
    else:
        print_report(summary, name, args)
    return 1 if summary["mismatches"] else 0


def print_report(s: dict, name: str, args) -> None:
    w = sys.stdout.write
    w(f"program {name}, {args.entries} entries, policy {args.policy}, engine {args.engine}\n")
    for key in ("packets", "hits", "misses", "installs", "evictions", "uncacheable",
                "distinct_traces", "mismatches", "oversize", "exec_errors", "host_errors"):
        w(f"  {key:<16} {s[key]}\n")
    w(f"  {'hit_rate':<16} {100 * s['hit_rate']:.2f}%\n")
    w(f"  {'nic_insns':<16} {s['nic_insns']}\n")
    w(f"  {'full_insns':<16} {s['full_insns']}\n")
    for reason, n in sorted(s["uncacheable_reasons"].items()):
        w(f"  uncacheable: {reason}: {n}\n")
