"""`jitnic sweep PROG.o --pcap FILE --entries 1,2,4 --policy lru,fifo,opt`: hit rate, misses and
installs per cache size and policy (table, `--json`, and a PNG plot with `--plot`)."""
from __future__ import annotations

import sys
import time

from jit.ebpf import elf
from jit.traffic import pcap
from jit.cli.run import add_nic_arguments
from jit.cli import state
from jit.cli.output import emit_json
from jit import JitnicError
from jit.nic.model import NicConfig
from jit.nic.policies import POLICIES
from jit.host.sweep import OPT, path_stats, sweep

ALL_POLICIES = sorted(POLICIES) + [OPT]


def _int_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v]
    except ValueError:
        raise JitnicError(f"--entries wants comma-separated integers, got {text!r}") from None
    for v in values:
        if v < 1 or v & (v - 1):
            raise JitnicError(f"--entries: {v} is not a power of two")
    return values


def _policy_list(text: str) -> list[str]:
    values = [v for v in text.split(",") if v]
    for v in values:
        if v not in ALL_POLICIES:
            raise JitnicError(f"--policy: unknown policy {v!r}; choose from {', '.join(ALL_POLICIES)}")
    return values


def register(sub) -> None:
    p = sub.add_parser("sweep", help="hit rate per cache size and policy", description=__doc__)
    p.add_argument("program")
    p.add_argument("--pcap", required=True)
    p.add_argument("--entries", default="1,2,4,8,16,32,64")
    p.add_argument("--policy", default=",".join(ALL_POLICIES))
    p.add_argument("--json", action="store_true", help="a JSON list of rows")
    p.add_argument("--plot", metavar="PNG", help="write hit rate vs entries per policy")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_nic_arguments(p)
    state.add_arguments(p, maps_out=False)
    p.set_defaults(func=run)


def run(args) -> int:
    program = elf.load_linked(args.program, args.section)
    make_runtime = state.runtime_factory(args, program)
    current = [None]                  # the runtime of the pass in progress (one per pass)

    def fresh_runtime():
        current[0] = make_runtime()
        return current[0] if current[0].stateful else None

    def frames():
        # a generator: its body runs when the pass starts reading, after fresh_runtime()
        rt = current[0]
        for rec in pcap.read_records(args.pcap):
            if rt is not None:
                rt.now_ns = rec.ts_ns
            yield rec.data
    entries, policies = _int_list(args.entries), _policy_list(args.policy)
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

    rows, library = sweep(program.insns, frames, entries, policies, base, latency=args.latency,
                          progress=progress, runtime_factory=fresh_runtime)
    if args.plot:
        plot(rows, args.plot, f"{program.name}: {args.pcap}")
    if args.json:
        emit_json([r.as_dict() for r in rows])
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
