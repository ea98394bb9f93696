"""Program state for the subcommands that run programs (`interp`, `trace`, `run`, `sweep`): the
linked program, its runtime (maps persisting across frames) and the `--maps-in`/`--maps-out`
files (jit/ebpf/maps/contents.py)."""
from __future__ import annotations

import argparse

from jit.ebpf import elf
from jit.ebpf.fib import Fib
from jit.ebpf.maps import contents
from jit.ebpf.runtime import XdpRuntime


def add_arguments(p: argparse.ArgumentParser, *, maps_out: bool = True) -> None:
    p.add_argument("--maps-in", metavar="FILE",
                   help="initial map contents (JSON: {\"maps\": {NAME: {\"entries\": [...]}}})")
    if maps_out:
        p.add_argument("--maps-out", metavar="FILE",
                       help="write every map's final contents (JSON, same format)")
    p.add_argument("--prandom-seed", type=lambda s: int(s, 0), default=0,
                   help="seed of bpf_get_prandom_u32 (default 0)")
    p.add_argument("--fib", metavar="FILE",
                   help="forwarding table for bpf_fib_lookup (JSON: interfaces, routes, neighbors)")


def load(args) -> tuple[elf.LinkedProgram, XdpRuntime]:
    """Link the program `args.section` names and set up its maps from `--maps-in`."""
    linked = elf.load_linked(args.program, getattr(args, "section", None))
    return linked, runtime_factory(args, linked)()


def runtime_factory(args, linked: elf.LinkedProgram):
    """A function giving a fresh runtime (maps in their `--maps-in` state) per call; the file is
    read and checked once."""
    maps_in = (contents.read_file(args.maps_in, linked.maps)
               if getattr(args, "maps_in", None) else None)
    table = Fib.read(args.fib) if getattr(args, "fib", None) else None

    def make() -> XdpRuntime:
        return XdpRuntime(linked, maps_in=maps_in, seed=getattr(args, "prandom_seed", 0),
                          fib=table)
    return make


def finish(args, runtime: XdpRuntime) -> None:
    if getattr(args, "maps_out", None):
        contents.write_file(args.maps_out, runtime.contents())
