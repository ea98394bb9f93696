"""`jitnic sweep PROG.o --pcap FILE --entries 1,2,4 --policy lru,fifo,opt`: hit rate, misses and
installs per cache size and policy (table, `--json`, and a PNG plot with `--plot`)."""
from __future__ import annotations

import sys
import time

import argparse
import os

from jit.ebpf import elf
from jit.cli.capture import open_capture, print_notes
from jit.cli.run import add_nic_arguments
from jit.cli.output import emit_json
from jit import JitnicError
from jit.nic import params
from jit.nic.model import NicConfig
from jit.host.sweep import OPT, path_stats, sweep

ALL_POLICIES = list(params.POLICY_NAMES) + [OPT]


def _checked(convert, flag: str):
    """An argparse `type` from a shared-rules check (a ParamError becomes argparse's error)."""
    def wrapped(text: str):
        try:
            return convert(text)
        except params.ParamError as exc:      # argparse prefixes "argument FLAG: "
            raise argparse.ArgumentTypeError(str(exc).removeprefix(flag).lstrip()) from None
    return wrapped


def _int_list(text: str) -> list[int]:
    return params.check_list(text, lambda v: params.check_int("N_ENTRIES", v, "--entries"),
                             "--entries")


def _policy_list(text: str) -> list[str]:
    return params.check_list(text, lambda v: params.check_policy(v, "--policy", (OPT,)),
                             "--policy")


def _check_plot_path(path: str) -> None:
    """Fail before a long sweep, not after it: the PNG's folder must exist and be writable."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise JitnicError(f"--plot {path}: folder {folder} does not exist")
    if os.path.isdir(path):
        raise JitnicError(f"--plot {path}: is a folder")
    if not os.access(folder, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise JitnicError(f"--plot {path}: not writable")


def register(sub) -> None:
    p = sub.add_parser("sweep", help="hit rate per cache size and policy", description=__doc__)
    p.add_argument("program")
    p.add_argument("--pcap", required=True)
    p.add_argument("--entries", type=_checked(_int_list, "--entries"), default="1,2,4,8,16,32,64")
    p.add_argument("--policy", type=_checked(_policy_list, "--policy"), default=",".join(ALL_POLICIES))
    p.add_argument("--json", action="store_true", help="a JSON list of rows")
    p.add_argument("--plot", metavar="PNG", help="write hit rate vs entries per policy")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_nic_arguments(p)
    p.set_defaults(func=run)


def run(args) -> int:
    program = elf.load_program(args.program, args.section)
    entries, policies = args.entries, args.policy
    if args.plot:
        _check_plot_path(args.plot)
    capture = open_capture(args)
    base = NicConfig(max_atoms=args.max_atoms, max_trace_len=args.max_trace_len,
                     hdr_bytes=args.hdr_bytes, seed=args.seed)
    total = len(entries) * len(policies)
    done = [0]
    t0 = time.time()

    def progress(msg: str) -> None:
        done[0] += 1
        if not args.quiet:
            bar = "#" * (30 * done[0] // total)
            sys.stderr.write(f"\r[{bar:<30}] {done[0]}/{total} {msg:<40} {time.time() - t0:6.1f}s")
            if done[0] == total:
                sys.stderr.write("\n")
            sys.stderr.flush()

    rows, library = sweep(program.insns, capture.frames, entries, policies,
                          base, latency=args.latency, progress=progress)
    if args.plot:
        try:
            plot(rows, args.plot, f"{program.name}: {args.pcap}")
        except OSError as exc:
            raise JitnicError(f"--plot {args.plot}: {exc.strerror or exc}") from None
    if args.json:
        emit_json([r.as_dict() for r in rows])
        print_notes(capture)
        return 0
    stats = path_stats(library)
    print(f"program {program.name}: {stats['distinct_paths']} distinct cacheable paths, "
          f"atoms per condition avg {stats['atoms_avg']:.1f} max {stats['atoms_max']}, "
          f"trace insns avg {stats['insns_before_avg']:.1f} -> {stats['insns_after_avg']:.1f} "
          f"after optimization")
    print(f"{'entries':>8} {'policy':<7}{'hit rate':>9}{'hits':>10}{'misses':>10}{'installs':>10}{'evictions':>10}")
    for r in rows:
        print(f"{r.entries:>8} {r.policy:<7}{100 * r.hit_rate:>8.2f}%{r.hits:>10}{r.misses:>10}"
              f"{r.installs:>10}{r.evictions:>10}")
    print_notes(capture)
    return 0


def plot(rows, path: str, title: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    for policy in dict.fromkeys(r.policy for r in rows):
        pts = sorted((r.entries, 100 * r.hit_rate) for r in rows if r.policy == policy)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=policy)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("cache entries")
    ax.set_ylabel("hit rate (%)")
    ax.set_title(title, fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
