"""`jitnic` command line. Each subcommand lives in its own module `jit/cli/<name>.py`, which
exposes `register(subparsers)`; that function adds the parser and sets `func(args) -> int`."""
from __future__ import annotations

import argparse
import importlib
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
    "bench",
    "maps",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jitnic", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        importlib.import_module(f"jit.cli.{name}").register(sub)
    return parser


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

