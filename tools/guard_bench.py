"""Traces and hit rates before and after guards: `python -m tools.guard_bench [--frames N]`.

For each program and traffic mix, every frame's path is compiled the way the host's miss handler
compiles it (trace -> optimize -> the NIC's limits and commit checks), once with the tracer as it
was before guards (trace format v1: relations between fields pinned, map paths on the host) and
once with guards (v2). Reported per mode: distinct NIC entries (atoms + trace) the capture needs,
frames on a cacheable path, and the hit rate of an LRU cache of ENTRIES entries over the sequence
of paths (a frame hits when its path's entry is cached; a miss installs its path, evicting the
least recently used; install latency 0). Map contents evolve as a host-only run leaves them (the
frames run through the program's runtime in order, with the shipped `--maps-in`).

This is a simulation of the cache over path keys, not the NIC model: it does not bound guard
fall-through (MAX_GUARD_TRIES), and it counts a frame whose path is cached as a hit whichever of
the entries sharing its atoms the NIC would try first. The model's numbers (jitnic run) belong in
docs/results.md once the model runs v2 traces.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import OrderedDict

from jit.ebpf import elf
from jit.ebpf.maps import contents as mc
from jit.ebpf.runtime import XdpRuntime
from jit.host.miss_handler import compile_path
from jit.nic.encoding import HDR_BYTES, MAX_ATOMS, MAX_TRACE_LEN
from jit.paths import MAP_PROGRAM_NAMES, program_maps_file, program_object
from jit.traffic import workloads

ENTRIES = 16
PROGRAMS = ("land_filter", "parser_classifier") + MAP_PROGRAM_NAMES
MIXES = {"benign": ("zipf", {"flows": 1000}), "hostile": ("malformed", {})}


def paths(name: str, frames: list[bytes], guards: bool) -> list[tuple | None]:
    """Each frame's NIC entry key (None: not cacheable), frames run in order."""
    linked = elf.load_linked(program_object(name), name)
    maps_file = program_maps_file(name)
    maps_in = mc.read_file(maps_file, linked.maps) if maps_file.exists() else None
    runtime = XdpRuntime(linked, maps_in=maps_in)
    keys = []
    for frame in frames:
        _tr, compiled, _reason = compile_path(linked.insns, frame, max_atoms=MAX_ATOMS,
                                              max_trace_len=MAX_TRACE_LEN, hdr_bytes=HDR_BYTES,
                                              runtime=runtime, guards=guards)
        keys.append(None if compiled is None else compiled.key)
    return keys


def lru_hits(keys: list[tuple | None], entries: int = ENTRIES) -> int:
    cache: OrderedDict = OrderedDict()
    hits = 0
    for key in keys:
        if key is None:
            continue
        if key in cache:
            hits += 1
            cache.move_to_end(key)
            continue
        cache[key] = None
        if len(cache) > entries:
            cache.popitem(last=False)
    return hits


def row(name: str, mix: str, frames: list[bytes]) -> str:
    cells = [name, mix]
    for guards in (False, True):
        keys = paths(name, frames, guards)
        cacheable = sum(k is not None for k in keys)
        cells += [str(len({k for k in keys if k is not None})), str(cacheable),
                  f"{100 * lru_hits(keys) / len(frames):.1f}%"]
    return "| " + " | ".join(cells) + " |"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.guard_bench", description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=1000, help="frames per mix (default 1000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--programs", default=",".join(PROGRAMS), help="comma-separated")
    args = ap.parse_args(argv)
    t0 = time.time()
    mixes = {m: list(workloads.generate(w, args.frames, args.seed, **p)) for m, (w, p) in MIXES.items()}
    print(f"{args.frames} frames per mix (zipf flows=1000 / malformed), seed {args.seed}, LRU "
          f"{ENTRIES} entries\n")
    print("| program | mix | v1 traces | v1 cacheable frames | v1 hits | v2 traces | "
          "v2 cacheable frames | v2 hits |")
    print("|---|---|---|---|---|---|---|---|")
    for name in args.programs.split(","):
        for mix, frames in mixes.items():
            print(row(name, mix, frames), flush=True)
    print(f"\n({time.time() - t0:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
