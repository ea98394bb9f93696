"""The model's hit path on the shipped stateless programs, in CPU time, optionally against another
revision of `jit/` (to check that a change keeps the hit path's speed).

    python -m tools.hitpath_bench [--rev 48f0a45] [--passes 9] [PROGRAM ...]

Per program: warm a 16-entry LRU model on 5,000 zipf frames (as `jitnic bench model` does), then
the best of `--passes` passes over the same frames, frames per CPU-second (`time.process_time`:
on a shared machine wall-clock rates swing by 2x with the load, CPU time much less). With
`--rev`, that revision's `jit/` is extracted with `git archive` into a temporary directory and
measured in a child process, pass for pass alternating with the working tree.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from jit.paths import PROGRAM_NAMES, PROJECT_ROOT


def measure(names: list[str], passes: int) -> dict[str, float]:
    """{program: best frames per CPU-second} for the `jit` package this process imports."""
    from jit.cli.bench import _shipped_programs, _zipf_frames
    from jit.host.runner import run_frames
    from jit.nic.model import NicConfig, NicModel
    frames = _zipf_frames(5000)
    programs = dict(_shipped_programs())
    out = {}
    for name in names:
        nic = NicModel(NicConfig(n_entries=16))
        run_frames(programs[name].insns, frames, nic, nic.cfg, check=False)
        best = 0.0
        for _ in range(passes):
            start = time.process_time()
            for frame in frames:
                nic.process(frame)
            best = max(best, len(frames) / (time.process_time() - start))
        out[name] = best
    return out


def measure_rev(rev: str, names: list[str], passes: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "archive", rev, "jit"], cwd=PROJECT_ROOT, check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        env = dict(os.environ, PYTHONPATH=tmp,
                   JITNIC_BUILD=os.environ.get("JITNIC_BUILD", str(PROJECT_ROOT / "build")))
        code = ("import json, sys; sys.path.insert(0, sys.argv[1]); "
                "from tools.hitpath_bench import measure; "
                "print(json.dumps(measure(sys.argv[3:], int(sys.argv[2]))))")
        res = subprocess.run([sys.executable, "-c", code, str(PROJECT_ROOT), str(passes), *names],
                             cwd=tmp, env=env, check=True, capture_output=True, text=True)
        return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("programs", nargs="*", default=list(PROGRAM_NAMES))
    ap.add_argument("--rev", help="also measure this git revision's jit/ (e.g. a commit id)")
    ap.add_argument("--passes", type=int, default=9)
    args = ap.parse_args(argv)
    ours = measure(args.programs, args.passes)
    theirs = measure_rev(args.rev, args.programs, args.passes) if args.rev else {}
    print(f"{'program':<18} {'frames/cpu-s':>13}" + (f" {args.rev[:12]:>13} {'change':>7}"
                                                       if theirs else ""))
    for name, rate in ours.items():
        line = f"{name:<18} {rate:>13,.0f}"
        if theirs:
            line += f" {theirs[name]:>13,.0f} {100 * (rate / theirs[name] - 1):>+6.1f}%"
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
