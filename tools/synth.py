"""`make synth`: generic yosys synthesis of `jitnic_top` for a few N_ENTRIES x MAX_ATOMS
configurations; reports cells and flip-flops per configuration (and writes build/synth/*.log).

Generic synthesis (no FPGA library): logic is mapped to yosys' internal gates (abc -fast), and
memories (packet buffers, trace memory, stack, staging) are kept as memories and reported in bits,
so logic, flip-flops and RAM can be compared separately as the cache scales.
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time

from jit.paths import PROJECT_ROOT

CONFIGS = [(4, 4), (8, 8), (16, 8)]
FF_CELLS = re.compile(r"^\s+\$_(S?DFFE?|DFF|SDFF|DFFE|ALDFF|SDFFE|SDFFCE|DLATCH)[A-Z_0-9]*\s+(\d+)", re.M)


def memory_bits(dump: str) -> int:
    """Total WIDTH x SIZE over the $mem_v2 cells of an RTLIL dump."""
    total = 0
    for cell in dump.split("cell $mem_v2")[1:]:
        width = re.search(r"parameter \\WIDTH (\d+)", cell)
        size = re.search(r"parameter \\SIZE (\d+)", cell)
        if width and size:
            total += int(width.group(1)) * int(size.group(1))
    return total


def synth_one(entries: int, atoms: int, trace_len: int, hdr: int, timeout: int) -> dict:
    out = PROJECT_ROOT / "build" / "synth"
    out.mkdir(parents=True, exist_ok=True)
    sources = " ".join(str(p) for p in sorted((PROJECT_ROOT / "rtl").glob("*.v")))
    log = out / f"jitnic_top_e{entries}_a{atoms}_t{trace_len}_h{hdr}.log"
    script = (f"read_verilog -I{PROJECT_ROOT / 'rtl'} {sources}; "
              f"chparam -set N_ENTRIES {entries} -set MAX_ATOMS {atoms} "
              f"-set MAX_TRACE_LEN {trace_len} -set HDR_BYTES {hdr} jitnic_top; "
              "hierarchy -top jitnic_top; proc; flatten; opt; memory -nomap; opt -full; "
              "techmap; opt; abc -fast; opt; stat; "
              f"tee -q -o {log.with_suffix('.mem')} dump t:$mem_v2")
    t0 = time.time()
    proc = subprocess.run(["yosys", "-q", "-p", script, "-l", str(log)], capture_output=True,
                          text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"yosys failed for N_ENTRIES={entries} MAX_ATOMS={atoms}: "
                           f"{(proc.stderr or proc.stdout).strip().splitlines()[-1:]}")
    text = log.read_text()
    stat = text[text.rfind("Printing statistics"):]
    cells = int(re.search(r"Number of cells:\s+(\d+)", stat).group(1))
    ffs = sum(int(m.group(2)) for m in FF_CELLS.finditer(stat))
    mem_bits = memory_bits(log.with_suffix(".mem").read_text())
    return {"n_entries": entries, "max_atoms": atoms, "max_trace_len": trace_len,
            "hdr_bytes": hdr, "cells": cells, "flip_flops": ffs,
            "memory_bits": mem_bits,
            "seconds": round(time.time() - t0, 1), "log": str(log.relative_to(PROJECT_ROOT))}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", default=",".join(f"{e}x{a}" for e, a in CONFIGS),
                    help="comma-separated N_ENTRIESxMAX_ATOMS")
    ap.add_argument("--trace-len", type=int, default=16)
    ap.add_argument("--hdr-bytes", type=int, default=64)
    ap.add_argument("--timeout", type=int, default=900)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if shutil.which("yosys") is None:
        print("synth: yosys not found; install it with: apt-get install -y yosys", file=sys.stderr)
        return 2
    rows = []
    for item in args.configs.split(","):
        entries, atoms = (int(v) for v in item.lower().split("x"))
        rows.append(synth_one(entries, atoms, args.trace_len, args.hdr_bytes, args.timeout))
        if not args.json:
            r = rows[-1]
            print(f"N_ENTRIES={r['n_entries']:<3} MAX_ATOMS={r['max_atoms']:<3} "
                  f"MAX_TRACE_LEN={r['max_trace_len']} HDR_BYTES={r['hdr_bytes']}: "
                  f"{r['cells']} cells, {r['flip_flops']} flip-flops, {r['memory_bits']} memory bits "
                  f"({r['seconds']} s)", flush=True)
    if args.json:
        print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
