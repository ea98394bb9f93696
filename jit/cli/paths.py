"""`jitnic paths PROG.o --pcap FILE`: every distinct path the capture takes through the program, with
its frame count, actions, installed condition (after optimization), trace length before and after
optimization, and whether the NIC can cache it (or why not). Counts sum to the capture's records."""
from __future__ import annotations

from jit.cli import state
from jit.cli.capture import add_capture_arguments, open_capture, print_notes
from jit.cli.output import emit_json
from jit.cli.progress import Bar, counted
from jit.cli.run import param_type
from jit.host.path_census import PathRow, census
from jit.nic import encoding as enc
from jit.nic.model import NicConfig


def register(sub) -> None:
    p = sub.add_parser("paths", help="list the distinct paths a capture takes, with counts",
                       description=__doc__)
    p.add_argument("program", help="XDP object file (clang -target bpf)")
    p.add_argument("--pcap", required=True, metavar="FILE", help="capture (pcap or pcapng, Ethernet)")
    p.add_argument("--section", help="program section or function (default: the object's XDP program)")
    state.add_arguments(p, maps_out=False)
    p.add_argument("--max-atoms", type=param_type("MAX_ATOMS", "--max-atoms"), default=enc.MAX_ATOMS,
                   help=f"NIC limit: atoms per entry (default {enc.MAX_ATOMS})")
    p.add_argument("--max-trace-len", type=param_type("MAX_TRACE_LEN", "--max-trace-len"), default=enc.MAX_TRACE_LEN,
                   help=f"NIC limit: trace slots per entry (default {enc.MAX_TRACE_LEN})")
    p.add_argument("--hdr-bytes", type=param_type("HDR_BYTES", "--hdr-bytes"), default=enc.HDR_BYTES,
                   help=f"NIC header window in bytes (default {enc.HDR_BYTES})")
    p.add_argument("--no-opt", action="store_true", help="list traces without optimization")
    p.add_argument("--no-guards", action="store_true",
                   help="paths as a NIC without guards sees them (trace format v1: relations "
                        "between fields pinned, paths through maps and helpers on the host)")
    p.add_argument("--traces", action="store_true", help="also print each path's NIC trace")
    p.add_argument("--json", action="store_true", help="one JSON object: program and a list of paths")
    add_capture_arguments(p)
    p.set_defaults(func=run)


def run(args) -> int:
    program, runtime = state.load(args)
    cfg = NicConfig(max_atoms=args.max_atoms, max_trace_len=args.max_trace_len,
                    hdr_bytes=args.hdr_bytes, v2=not args.no_guards)
    capture = open_capture(args)

    def frames():
        for ts_ns, frame in capture.stamped_frames():
            runtime.now_ns = ts_ns
            yield frame

    with Bar("paths") as bar:
        rows = census(program.insns, counted(frames(), bar), cfg, do_optimize=not args.no_opt,
                      runtime=runtime if runtime.stateful else None)
    frames = sum(r.frames for r in rows)
    if args.json:
        emit_json({"program": program.name, "section": program.section, "pcap": args.pcap,
                   "frames": frames, "paths": [r.as_dict() for r in rows]})
        print_notes(capture)
        return 0
    cacheable = [r for r in rows if r.cacheable]
    print(f"{args.program}: {program.section}/{program.name}; {frames} frames, {len(rows)} paths "
          f"({len(cacheable)} cacheable, covering {sum(r.frames for r in cacheable)} frames)")
    for n, row in enumerate(rows, 1):
        print_row(n, row, frames, args.traces)
    print_notes(capture)
    return 0


def print_row(n: int, r: PathRow, total: int, traces: bool) -> None:
    acts = ", ".join(f"{a} x{c}" if len(r.actions) > 1 else a for a, c in sorted(r.actions.items()))
    head = f"#{n}: {r.frames} frames ({100 * r.frames / max(total, 1):.1f}%), first {r.first_index}, {acts}"
    if r.cacheable:
        print(f"{head}, cacheable, trace {r.insns_before} -> {r.insns_after} insns, "
              f"{len(r.atoms)} atoms" + (f", {len(r.guards)} guards" if r.guards else ""))
        for a in r.atoms or ("(none: matches every frame)",):
            print(f"    {a}")
        for g in r.guards:
            print(f"    guard: {g}")
    else:
        print(f"{head}, not cacheable: {r.reason}")
        if r.exact:
            print(f"    exact: {' && '.join(r.exact)}")
    for note in r.notes:
        print(f"    note: {note}")
    if traces and r.nic_trace:
        for line in r.nic_trace:
            print(f"    {line}")
