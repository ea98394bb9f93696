"""What the compare cells cost in hit rate: installs refused with CELLS_FULL per program and workload.

Each entry of the match has one compare cell per extractor slot, N_LEN_ATOMS length cells and
N_GEN_ATOMS general atoms (docs/rtl.md "Compare cells"); a condition with more atoms on one field, or
more length atoms, than those hold is refused at every commit (CELLS_FULL) and its path stays on the
host. For every shipped program the NIC can run and every workload generator, the frames run
through the model (`jit.host.runner.run_frames`, default cache: N_ENTRIES entries, LRU, N_SLOTS
slots) once per cell configuration `--cells LEN:GEN,...` plus an unlimited one (16:64, which no
condition of MAX_ATOMS atoms can fill): hit rate and installs refused with CELLS_FULL. "most
general" is the most general atoms one installed path needed (unlimited run), "paths > k": paths
that needed more than k.

    python -m tools.cells [--frames N] [--cells 2:4,2:1,1:0] [--json]
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter

from jit.ebpf import elf
from jit.host.runner import run_frames
from jit.nic import encoding as enc
from jit.nic.model import NicConfig, NicModel
from jit.nic.params import ParamError
from jit.nic.validate import condition_placement
from jit.paths import PROGRAM_NAMES, program_object
from jit.traffic import workloads

WORKLOADS = ("zipf", "malformed", "adversarial_rr", "rare_injection", "phase_shift")
UNLIMITED = (16, 64)
DEFAULT_CELLS = f"{enc.N_LEN_ATOMS}:{enc.N_GEN_ATOMS},2:1,1:0"


class _Recording(NicModel):
    """The model, recording how many general atoms each installed path needs at the default
    length cells."""

    def __init__(self, cfg: NicConfig):
        super().__init__(cfg)
        self.general = Counter()      # general atoms needed -> installed paths

    def install(self, atoms, code):
        result = super().install(atoms, code)
        if result[2].name == "NONE":
            plan = condition_placement([a.words()[0] for a in atoms], self.cfg.n_slots,
                                       enc.N_LEN_ATOMS, UNLIMITED[1])
            first = self.cfg.n_slots + enc.N_LEN_ATOMS
            self.general[sum(c >= first for c in plan.cells.atom_cells)] += 1
        return result


def parse_cells(text: str) -> list[tuple[int, int]]:
    out = []
    for item in text.split(","):
        try:
            n_len, n_gen = (int(v) for v in item.split(":"))
        except ValueError:
            raise ParamError(f"--cells wants LEN:GEN pairs separated by commas, got {text!r}") from None
        NicConfig(n_len_atoms=n_len, n_gen_atoms=n_gen)      # the legal ranges
        out.append((n_len, n_gen))
    return out


def measure(frames: int = 1000, cells=((enc.N_LEN_ATOMS, enc.N_GEN_ATOMS),), seed: int = 1,
            programs=PROGRAM_NAMES, workload_names=WORKLOADS) -> list[dict]:
    rows = []
    for name in programs:
        insns = elf.load_program(program_object(name)).insns
        for wl in workload_names:
            traffic = list(workloads.generate(wl, frames, seed=seed))
            cfg = NicConfig(n_len_atoms=UNLIMITED[0], n_gen_atoms=UNLIMITED[1])
            nic = _Recording(cfg)
            rep = run_frames(insns, traffic, nic, cfg, check=False)
            key = f"{UNLIMITED[0]}:{UNLIMITED[1]}"
            row = {"program": name, "workload": wl, "frames": rep.packets,
                   "installs": rep.installs, "general_needed": dict(sorted(nic.general.items())),
                   "hit_rate": {key: rep.hit_rate},
                   "cells_full": {key: rep.install_errors.get("CELLS_FULL", 0)}}
            for n_len, n_gen in cells:
                cfg = NicConfig(n_len_atoms=n_len, n_gen_atoms=n_gen)
                rep = run_frames(insns, traffic, NicModel(cfg), cfg, check=False)
                row["hit_rate"][f"{n_len}:{n_gen}"] = rep.hit_rate
                row["cells_full"][f"{n_len}:{n_gen}"] = rep.install_errors.get("CELLS_FULL", 0)
            rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1000, help="frames per workload")
    parser.add_argument("--cells", default=DEFAULT_CELLS,
                        help="N_LEN_ATOMS:N_GEN_ATOMS configurations (comma-separated; default "
                             f"{DEFAULT_CELLS})")
    parser.add_argument("--json", action="store_true", help="rows as JSON")
    args = parser.parse_args(argv)
    try:
        cells = parse_cells(args.cells)
    except ParamError as e:
        parser.error(str(e))
    rows = measure(args.frames, cells)
    if args.json:
        json.dump(rows, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    keys = [f"{a}:{b}" for a, b in cells] + [f"{UNLIMITED[0]}:{UNLIMITED[1]}"]
    w = sys.stdout.write
    w(f"N_ENTRIES {enc.N_ENTRIES}, LRU, N_SLOTS {enc.N_SLOTS}, {args.frames} frames per workload\n")
    w(f"{'program':<18} {'workload':<15} {'installs':>8} {'most general':>12}  "
      f"hit rate % (CELLS_FULL) at N_LEN_ATOMS:N_GEN_ATOMS {', '.join(keys)}\n")
    total = Counter()
    for r in rows:
        rates = "  ".join(f"{100 * r['hit_rate'][k]:5.1f} ({r['cells_full'][k]})" for k in keys)
        most = max(r["general_needed"], default=0)
        w(f"{r['program']:<18} {r['workload']:<15} {r['installs']:>8} {most:>12}  {rates}\n")
        for k in keys:
            total[k] += r["cells_full"][k]
    needed = Counter()
    for r in rows:
        needed.update(r["general_needed"])
    w("CELLS_FULL refusals in all: " + ", ".join(f"{k}: {total[k]}" for k in keys) + "\n")
    w("installed paths by general atoms needed (N_LEN_ATOMS "
      f"{enc.N_LEN_ATOMS}): " + ", ".join(f"{g}: {n}" for g, n in sorted(needed.items())) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
