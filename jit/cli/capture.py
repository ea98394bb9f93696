"""Capture options shared by the subcommands that read `--pcap` (`interp`, `trace`, `run`, `sweep`):
`--convert-link`, and the notes and warnings of a read (jit/traffic/capture.py) printed on stderr
after the command's report."""
from __future__ import annotations

import argparse
import sys

from jit.traffic.capture import CaptureReader


def add_capture_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--convert-link", action="store_true",
                   help="convert Linux cooked (SLL, SLL2) and raw IP captures to Ethernet frames "
                        "(synthetic MAC addresses; a note says so)")


def open_capture(args) -> CaptureReader:
    return CaptureReader(args.pcap, convert=getattr(args, "convert_link", False))


def print_notes(reader: CaptureReader, extra: list[str] = ()) -> None:
    """The reader's notes and warnings (and `extra` lines, e.g. from the RTL engine's child)."""
    for line in [*reader.notes, *reader.warnings, *extra]:
        if line:
            print(f"jitnic: {line}", file=sys.stderr)
