"""jitnic: run an XDP program on a simulated smartNIC that caches straight-line traces of it.

A frame that satisfies a cached trace's path condition is processed on the NIC; a miss goes to the
host, which runs the full program, records the path and installs its trace. Subcommands run a
program on a capture through the reference interpreter (interp), trace one packet (trace), list the
paths a capture takes (paths), stream a capture through the NIC model or the RTL with the host in
the loop (run), sweep cache sizes and policies (sweep), generate traffic (gen), disassemble (disasm)
and measure (bench). `jitnic COMMAND --help` for each.

Exit status: 0 success, 1 the command's own negative result (see each command), 2 an error.
"""
# Each subcommand lives in its own module `jit/cli/<name>.py`, which exposes
# `register(subparsers)`; that function adds the parser and sets `func(args) -> int`.
from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import logging
import sys

from jit import JitnicError

# One line per subcommand module; a module that fails to import is a bug, not a missing feature.
COMMANDS = [
    "trace",
    "disasm",
    "interp",
    "gen",
    "run",
    "sweep",
    "paths",
    "bench",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jitnic", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--version", action="version", version=f"jitnic {version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        importlib.import_module(f"jit.cli.{name}").register(sub)
    return parser


def version() -> str:
    try:
        return importlib.metadata.version("jitnic")
    except importlib.metadata.PackageNotFoundError:     # run from a source tree without install
        return "unknown (not installed)"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except BrokenPipeError:
        return 0
    except JitnicError as exc:
        print(f"jitnic {args.command}: error: {exc}", file=sys.stderr)
        return 2

