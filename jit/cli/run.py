"""`jitnic run PROG.o --pcap FILE`: stream a capture through the NIC (model or RTL) with the host
handling misses, check every final result against the reference interpreter, print a report."""
from __future__ import annotations

import argparse
import os
import sys

from jit.cli import state
from jit.cli.capture import add_capture_arguments, open_capture, print_notes
from jit.cli.output import emit_json
from jit.cli.progress import Bar
from jit.traffic import pcap
from jit import JitnicError
from jit.nic.nic_helpers import HELPER_SETS
from jit.nic.model import NicConfig, NicModel
from jit.nic.policies import POLICIES
from jit.host.runner import FrameRecord, run_frames
from jit.nic import encoding as enc
from jit.nic import params
from tb.common.simulators import SIMULATORS     # stdlib only: no cocotb import for the model engine

ENGINES = ("model", "rtl")

# Exit status of `jitnic run` (README): the three outcomes a user must tell apart.
EXIT_OK = 0            # every frame's final result agrees with the reference interpreter
EXIT_MISMATCH = 1      # at least one frame disagrees (a soundness bug)
EXIT_ERROR = 2         # bad input or usage: nothing was run (or the run could not finish)
EXIT_HOST_ERRORS = 3   # no mismatch, but the host could not run the program on some frames


def param_type(name: str, flag: str):
    """An argparse `type` that checks a NIC parameter by the shared rules (jit/nic/params.py)."""
    def convert(text: str) -> int:
        try:
            return params.check_int(name, text, flag)
        except params.ParamError as exc:      # argparse prefixes "argument FLAG: "
            raise argparse.ArgumentTypeError(str(exc).removeprefix(flag).lstrip()) from None
    return convert


def add_nic_arguments(p: argparse.ArgumentParser) -> None:
    """NIC configuration flags shared by `run` and `sweep`."""
    p.add_argument("--section", help="program: section or function name (default: the XDP one)")
    p.add_argument("--max-atoms", type=param_type("MAX_ATOMS", "--max-atoms"),
                   default=enc.MAX_ATOMS,
                   help="NIC limit: atoms per entry's condition")
    p.add_argument("--max-trace-len", type=param_type("MAX_TRACE_LEN", "--max-trace-len"),
                   default=enc.MAX_TRACE_LEN,
                   help="NIC limit: 64-bit instruction slots per trace (after optimization)")
    p.add_argument("--hdr-bytes", type=param_type("HDR_BYTES", "--hdr-bytes"),
                   default=enc.HDR_BYTES,
                   help="NIC header window in bytes: atoms read and traces store only here")
    p.add_argument("--seed", type=param_type("SEED", "--seed"), default=0,
                   help="RANDOM policy seed")
    p.add_argument("--latency", type=param_type("LATENCY", "--latency"), default=0,
                   help="host install latency in frames (0: before the next frame)")
    p.add_argument("--no-opt", action="store_true", help="install traces without optimization")
    add_capture_arguments(p)


def register(sub) -> None:
    p = sub.add_parser("run", help="stream a capture through the NIC and the host",
                       description=__doc__)
    p.add_argument("program", help="XDP object file")
    p.add_argument("--pcap", required=True, help="capture (pcap or pcapng, Ethernet)")
    p.add_argument("--entries", type=param_type("N_ENTRIES", "--entries"), default=enc.N_ENTRIES,
                   help="trace-cache entries (power of two, 1..64)")
    p.add_argument("--policy", choices=sorted(POLICIES) + ["opt"], default="lru",
                   help="replacement policy; opt = Belady's optimum (model only, reads the capture twice)")
    p.add_argument("--engine", choices=ENGINES, default="model",
                   help="model: the Python NIC model; rtl: jitnic_top.v in a simulator (--sim)")
    p.add_argument("--sim", choices=SIMULATORS, default="icarus",
                   help="simulator of the RTL engine (default icarus)")
    p.add_argument("--waves", action="store_true",
                   help="RTL engine: write an FST waveform and its GTKWave layout, and print the "
                        "gtkwave command that opens them (on stderr)")
    p.add_argument("--no-check", action="store_true",
                   help="skip the independent reference-interpreter run per frame")
    p.add_argument("--helpers", choices=sorted(HELPER_SETS), default=None,
                   help="model engine: the NIC's helper set, full (default) or rtl (what the RTL "
                        "engine's NIC runs: paths calling other helpers stay on the host); the RTL "
                        "engine always uses rtl")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="one JSON summary object")
    out.add_argument("--jsonl", action="store_true", help="one JSON object per frame, then the summary")
    p.add_argument("--pcap-out", metavar="FILE",
                   help="write every frame that leaves (TX, PASS, REDIRECT) with its output bytes and "
                        "its capture timestamp, in capture order, as a pcap (ns timestamps)")
    add_nic_arguments(p)
    state.add_arguments(p)
    p.set_defaults(func=run)


def nic_config(args, entries: int, policy: str) -> NicConfig:
    return NicConfig(n_entries=entries, max_atoms=args.max_atoms, max_trace_len=args.max_trace_len,
                     hdr_bytes=args.hdr_bytes, policy="lru" if policy == "opt" else policy,
                     seed=args.seed, v2=getattr(args, "engine", "model") == "model",
                     helper_set=getattr(args, "helpers", None) or "full")


def run(args) -> int:
    program, runtime = state.load(args)
    cfg = nic_config(args, args.entries, args.policy)
    capture = open_capture(args)
    # WAVES=1 in the environment asks for waveforms as in `make SIM=icarus WAVES=1`
    args.waves = args.waves or (args.engine == "rtl" and os.environ.get("WAVES") == "1")
    if args.waves and args.engine != "rtl":
        raise JitnicError("--waves needs --engine rtl (the model has no waveforms)")
    with FrameOutput(args.pcap_out, args.jsonl) as output:
        if args.engine == "rtl":
            if args.policy == "opt":
                raise JitnicError("--policy opt (Belady) exists only in the model: it needs the future")
            if args.helpers == "full":
                raise JitnicError("--helpers full: the RTL engine's NIC runs the rtl helper set")
            if getattr(args, "fib", None):
                raise JitnicError("--fib: the RTL engine's host has no forwarding table yet "
                                  "(use --engine model)")
            from jit.cli.rtl_engine import run_rtl    # needs cocotb and Icarus: imported only when asked
            summary, records = run_rtl(args.program, args.pcap, cfg, section=args.section,
                                       latency=args.latency, check=not args.no_check,
                                       want_frames=output.wanted, convert_link=capture.convert,
                                       simulator=args.sim, waves=args.waves,
                                       maps_in=getattr(args, "maps_in", None),
                                       maps_out=getattr(args, "maps_out", None),
                                       prandom_seed=args.prandom_seed)
            output.write_rtl_records(records, capture)
            if args.waves:
                print(f"waves: gtkwave {summary['waves']['fst']} {summary['waves']['gtkw']}",
                      file=sys.stderr)
        else:
            summary = run_model_engine(program, runtime, cfg, args, capture, output).as_dict()
            state.finish(args, runtime)
    summary = {"program": program.name, "section": program.section, "pcap": args.pcap,
               "engine": args.engine, "simulator": args.sim if args.engine == "rtl" else None,
               "entries": args.entries, "policy": args.policy,
               "max_atoms": args.max_atoms, "max_trace_len": args.max_trace_len,
               "hdr_bytes": args.hdr_bytes, "data_width": enc.DATA_WIDTH, "latency": args.latency,
               **summary}
    if args.pcap_out:
        summary["pcap_out_frames"] = output.written
    return finish(summary, program.name, args, capture)


def _clocked(capture, runtime):
    """The capture's frames, setting the runtime's clock (bpf_ktime_get_ns) to each timestamp."""
    for ts_ns, frame in capture.stamped_frames():
        runtime.now_ns = ts_ns
        yield frame


def run_model_engine(program, runtime, cfg: NicConfig, args, capture, output: "FrameOutput"):
    nic = NicModel(cfg)
    if args.policy == "opt":
        from jit.host.miss_handler import TraceLibrary
        from jit.host.sweep import PathOracle, belady_model
        library = TraceLibrary()
        oracle_rt = state.runtime_factory(args, program)()   # its own maps: the run starts afresh
        nic = belady_model(cfg, PathOracle(program.insns, _clocked(capture, oracle_rt), library, cfg,
                                           oracle_rt), library)
    current = {}                          # the record being processed (the model loop is synchronous)

    def frames():
        for ts_ns, frame in capture.stamped_frames():
            current["ts_ns"] = runtime.now_ns = ts_ns
            yield frame

    with Bar("run", unit="frame") as bar:
        def on_frame(rec: FrameRecord) -> None:
            bar.update()
            output.frame(rec, current.get("ts_ns"))

        # the check's shadow runtime starts from the same --maps-in state as `runtime`
        shadow = (state.runtime_factory(args, program)()
                  if runtime.stateful and not args.no_check else None)
        return run_frames(program.insns, frames(), nic, cfg, latency=args.latency,
                          check=not args.no_check, do_optimize=not args.no_opt,
                          on_frame=on_frame, runtime=runtime, shadow=shadow,
                          prandom_seed=args.prandom_seed)


class FrameOutput:
    """Per-frame outputs of a run: JSONL rows on stdout and/or a pcap of the frames that leave.
    The pcap file is created before the run starts, so an unwritable path fails at once."""

    def __init__(self, pcap_out: str | None, jsonl: bool):
        self.jsonl = jsonl
        self.written = 0
        self.writer = pcap.PcapWriter(pcap_out, nanosecond=True) if pcap_out else None

    @property
    def wanted(self) -> bool:
        return self.jsonl or self.writer is not None

    def frame(self, rec: FrameRecord, ts_ns: int | None) -> None:
        if self.jsonl:
            emit_json(rec.as_dict())
        if self.writer is not None and rec.output is not None:
            self.writer.write(rec.packet, ts_ns=ts_ns)
            self.written += 1

    def write_rtl_records(self, rows: list[dict], capture) -> None:
        """The RTL engine's per-frame rows (FrameRecord.as_dict), with timestamps from the capture."""
        if not rows:
            return
        stamps = {}
        if self.writer is not None:
            wanted = {row["index"] for row in rows if row["output"] is not None}
            stamps = {i: ts for i, (ts, _f) in enumerate(capture.stamped_frames()) if i in wanted}
        for row in rows:
            if self.jsonl:
                emit_json(row)
            if self.writer is not None and row["output"] is not None:
                self.writer.write(bytes.fromhex(row["out_hex"]), ts_ns=stamps.get(row["index"]))
                self.written += 1

    def __enter__(self) -> "FrameOutput":
        return self

    def __exit__(self, *exc) -> None:
        if self.writer is not None:
            self.writer.close()


def finish(summary: dict, name: str, args, capture=None) -> int:
    child_notes = summary.pop("capture_notes", [])       # the RTL engine's reader, in its child
    if args.json or args.jsonl:
        emit_json(summary)
    else:
        print_report(summary, name, args)
    if capture is not None:
        print_notes(capture, child_notes)
    return exit_status(summary)


def exit_status(summary: dict) -> int:
    if summary["mismatches"] or summary.get("map_mismatches"):
        return EXIT_MISMATCH
    return EXIT_HOST_ERRORS if summary["host_errors"] else EXIT_OK


def print_report(s: dict, name: str, args) -> None:
    w = sys.stdout.write
    w(f"program {name}, {args.entries} entries, policy {args.policy}, engine {args.engine}\n")
    for key in ("packets", "hits", "misses", "installs", "evictions", "uncacheable",
                "distinct_traces", "mismatches", "oversize", "exec_errors", "host_errors",
                "empty_records", "guard_misses", "map_ops", "map_mismatches"):
        if key in s:
            w(f"  {key:<16} {s[key]}\n")
    if s.get("mismatched_maps"):
        w(f"  {'maps differing':<16} {', '.join(s['mismatched_maps'])}\n")
    w(f"  {'hit_rate':<16} {100 * s['hit_rate']:.2f}%\n")
    w(f"  {'nic_insns':<16} {s['nic_insns']}\n")
    w(f"  {'full_insns':<16} {s['full_insns']}\n")
    if "cycles" in s:                     # the RTL engine measures time
        w(f"  {'cycles':<16} {s['cycles']}\n")
        w(f"  {'cycles/frame':<16} {s['cycles_per_frame']}  (DATA_WIDTH {s['data_width']}, incl. install pauses)\n")
    if "pcap_out_frames" in s:
        w(f"  {'pcap_out':<16} {s['pcap_out_frames']} frames to {args.pcap_out}\n")
    for reason, n in sorted(s["uncacheable_reasons"].items()):
        w(f"  uncacheable: {reason}: {n}\n")
    for reason, n in sorted(s.get("host_error_reasons", {}).items()):
        w(f"  host error: {reason}: {n}\n")
    for code, n in sorted(s.get("install_errors", {}).items()):
        w(f"  install rejected by the NIC: {code}: {n}\n")
