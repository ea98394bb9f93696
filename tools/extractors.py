"""How many field extractor slots (N_SLOTS) the NIC needs: the measurement behind the default.

For every shipped program the NIC can run and every workload generator (`jitnic gen --list`), the
frames run through the model (`jit.host.runner.run_frames`) with the default cache (N_ENTRIES
entries, LRU) and as many extractor slots as the hardware allows (64), so that no install is refused
for want of a slot. Per run it prints the distinct packet fields (offset, width, byte order) over
every installed path, the most one path needs, and the peak of slots in use at once (the slots the
valid entries read after each commit): a NIC with at least that many slots refuses no install on
that traffic (SLOTS_FULL), and one with fewer slots than a path needs can never cache it. Then the
same runs with each of `--slots` K: hit rate and installs refused with SLOTS_FULL. "repeated":
installed paths that read some field with two or more atoms (a range, several `!=`), "max rep":
the most atoms one path has on one field (what a per-(entry, slot) compare cell would hold).

    python -m tools.extractors [--frames N] [--slots 4,8,16,32] [--json]
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
from jit.nic.validate import distinct_fields, field_word
from jit.paths import PROGRAM_NAMES, program_object
from jit.traffic import workloads

MAX_SLOTS = 64
WORKLOADS = ("zipf", "malformed", "adversarial_rr", "rare_injection", "phase_shift")


class _Recording(NicModel):
    """The model, recording the fields of every installed path and the slots in use."""

    def __init__(self, cfg: NicConfig):
        super().__init__(cfg)
        self.fields: set[int] = set()
        self.per_path = 0
        self.peak = 0
        self.installs = 0
        self.dup_paths = 0      # installed paths reading some field with two or more atoms
        self.max_dup = 0        # the most atoms one path has on one field

    def install(self, atoms, code):
        result = super().install(atoms, code)
        ctrls = [a.words()[0] for a in atoms]
        self.fields |= {f for f in map(field_word, ctrls) if f is not None}
        self.per_path = max(self.per_path, distinct_fields(ctrls))
        self.peak = max(self.peak, bin(self.slots_in_use()).count("1"))
        # atoms per field: what slots per (entry, slot) cell would have to hold (docs/rtl.md)
        per_field = Counter(f for f in map(field_word, ctrls) if f is not None)
        self.installs += 1
        self.dup_paths += max(per_field.values(), default=0) > 1
        self.max_dup = max(self.max_dup, max(per_field.values(), default=0))
        return result


def measure(frames: int = 2000, slots: tuple[int, ...] = (), seed: int = 1,
            programs=PROGRAM_NAMES, workload_names=WORKLOADS) -> list[dict]:
    rows = []
    for name in programs:
        insns = elf.load_program(program_object(name)).insns
        for wl in workload_names:
            traffic = list(workloads.generate(wl, frames, seed=seed))
            cfg = NicConfig(n_slots=MAX_SLOTS)
            nic = _Recording(cfg)
            rep = run_frames(insns, traffic, nic, cfg, check=False)
            row = {"program": name, "workload": wl, "frames": rep.packets,
                   "installs": rep.installs, "distinct_fields": len(nic.fields),
                   "max_per_path": nic.per_path, "peak_in_use": nic.peak,
                   "paths_with_repeated_field": nic.dup_paths, "max_atoms_on_one_field": nic.max_dup,
                   "hit_rate": {MAX_SLOTS: rep.hit_rate}, "slots_full": {}}
            for k in slots:
                cfg = NicConfig(n_slots=k)
                rep = run_frames(insns, traffic, NicModel(cfg), cfg, check=False)
                row["hit_rate"][k] = rep.hit_rate
                row["slots_full"][k] = rep.install_errors.get("SLOTS_FULL", 0)
            rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=2000, help="frames per workload")
    parser.add_argument("--slots", default="4,8,16,32",
                        help="N_SLOTS values to measure hit rates with (comma-separated)")
    parser.add_argument("--json", action="store_true", help="rows as JSON")
    args = parser.parse_args(argv)
    slots = tuple(int(k) for k in args.slots.split(",") if k.strip())
    rows = measure(args.frames, slots)
    if args.json:
        json.dump(rows, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    w = sys.stdout.write
    w(f"N_ENTRIES {enc.N_ENTRIES}, LRU, {args.frames} frames per workload, slots unlimited "
      f"({MAX_SLOTS})\n")
    w(f"{'program':<18} {'workload':<15} {'installs':>8} {'fields':>7} {'per path':>8} "
      f"{'peak in use':>11} {'repeated':>8} {'max rep':>7}  hit rate % (SLOTS_FULL) at N_SLOTS "
      f"{', '.join(map(str, slots + (MAX_SLOTS,)))}\n")
    for r in rows:
        rates = "  ".join(f"{100 * r['hit_rate'][k]:5.1f} ({r['slots_full'].get(k, 0)})"
                          for k in slots + (MAX_SLOTS,))
        w(f"{r['program']:<18} {r['workload']:<15} {r['installs']:>8} {r['distinct_fields']:>7} "
          f"{r['max_per_path']:>8} {r['peak_in_use']:>11} {r['paths_with_repeated_field']:>8} "
          f"{r['max_atoms_on_one_field']:>7}  {rates}\n")
    w(f"max: fields {max(r['distinct_fields'] for r in rows)}, per path "
      f"{max(r['max_per_path'] for r in rows)}, peak in use {max(r['peak_in_use'] for r in rows)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
