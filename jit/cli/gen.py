"""`jitnic gen WORKLOAD -o FILE.pcap --count N --seed S [--param key=value ...]`: write a seeded
traffic workload to a pcap file; `jitnic gen --list` lists the workloads and their parameters."""
from __future__ import annotations

import json
import sys

from jit.traffic import workloads
from jit.cli.output import emit_json
from jit.cli.progress import Bar
from jit import JitnicError


def register(sub) -> None:
    p = sub.add_parser("gen", help="generate a workload capture (pcap)", description=__doc__)
    p.add_argument("workload", nargs="?", help="workload name (see --list)")
    p.add_argument("-o", "--output", help="output pcap file ('-' for stdout)")
    p.add_argument("--count", type=int, default=10_000, help="packets (default 10000)")
    p.add_argument("--seed", type=lambda s: int(s, 0), default=0, help="RNG seed (default 0)")
    p.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                   help="workload parameter (repeatable)")
    p.add_argument("--list", action="store_true", help="list workloads and their parameters")
    p.set_defaults(func=run)


def run(args) -> int:
    if args.list:
        print_list()
        return 0
    if not args.workload:
        raise JitnicError("give a WORKLOAD (see `jitnic gen --list`)")
    if not args.output:
        raise JitnicError("give an output file with -o FILE.pcap")
    if args.count < 0:
        raise JitnicError(f"--count must be >= 0, not {args.count}")
    params = workloads.resolve_params(args.workload,
                                      workloads.parse_param_args(args.param))
    to_stdout = args.output == "-"
    with Bar(f"gen {args.workload}", total=args.count) as bar:
        written = workloads.write_pcap(sys.stdout.buffer if to_stdout else args.output,
                                       args.workload, args.count, args.seed, on_frame=bar.update,
                                       **params)
    summary = {"workload": args.workload, "packets": written, "seed": args.seed,
               "params": params, "output": args.output}
    if to_stdout:                     # the capture owns stdout: the summary goes to stderr
        print(json.dumps(summary), file=sys.stderr)
    else:
        emit_json(summary)
    return 0


def print_list() -> None:
    for wl in workloads.WORKLOADS.values():
        print(f"{wl.name}: {wl.summary}")
        for key, param in wl.params.items():
            print(f"    {key + '=' + str(param.default):<16} {param.help}")
    print(f"mixes: {', '.join(workloads.MIXES)}")
    print(f"corner-case kinds: {', '.join(workloads.CORNER_KINDS)}")
