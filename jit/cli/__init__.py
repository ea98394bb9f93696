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
import os
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
    "maps",
]


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions as written; every option's help ends with its default, unless it says it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if any(action.default is v for v in (None, False, argparse.SUPPRESS)) \
                or not action.option_strings or "default" in text:   # 0 is a default, False is not
            return text
        return f"{text} (default: %(default)s)"


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line, like every other error (`-h` still prints the full usage)."""

    def __init__(self, *args, formatter_class=_HelpFormatter, **kwargs):
        super().__init__(*args, formatter_class=formatter_class, **kwargs)

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} (see {self.prog} -h)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="jitnic", description=__doc__)
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
        status = args.func(args)
        sys.stdout.flush()         # a full disk or a closed pipe shows here, not at exit
        return status
    except JitnicError as exc:
        return _fail(args.command, str(exc))
    except OSError as exc:         # output (or input) the system refused: full disk, closed pipe
        if isinstance(exc, BrokenPipeError):
            why = "output closed before the command finished (broken pipe)"
        else:
            name = f"{exc.filename}: " if exc.filename else "output: "
            why = f"{name}{exc.strerror or exc}"
        _silence_stdout()
        return _fail(args.command, why)


def _silence_stdout() -> None:
    """Point standard output at /dev/null, so that the interpreter's final flush of a broken
    stdout cannot print a second error (with a traceback) at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def _fail(command: str, why: str) -> int:
    """One line on stderr, exit status 2."""
    print(f"jitnic {command}: error: {why}", file=sys.stderr)
    return 2

