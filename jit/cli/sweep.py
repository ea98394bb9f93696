"""`jitnic sweep PROG.o --pcap FILE --entries 1,2,4 --policy lru,fifo,opt`: hit rate, misses and
installs per cache size and policy (table, `--json`, and a PNG plot with `--plot`)."""
from __future__ import annotations

import argparse
import os

from jit.ebpf import elf
from jit.cli.capture import open_capture, print_notes
from jit.cli.run import add_nic_arguments
from jit.cli import state
from jit.cli.output import emit_json
from jit.cli.progress import Bar
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
    p.add_argument("program",
                   help="XDP object file (clang -target bpf)")
    p.add_argument("--pcap", required=True,
                   help="capture (pcap or pcapng, Ethernet)")
    p.add_argument("--entries", type=_checked(_int_list, "--entries"), default="1,2,4,8,16,32,64",
                   help="cache sizes to sweep, comma-separated powers of two")
    p.add_argument("--policy", type=_checked(_policy_list, "--policy"), default=",".join(ALL_POLICIES),
                   help="policies to sweep, comma-separated (opt: Belady's optimum)")
    p.add_argument("--json", action="store_true", help="a JSON list of rows")
    p.add_argument("--plot", metavar="PNG", help="write hit rate vs entries per policy")
    p.add_argument("--quiet", action="store_true",
                   help="no progress bar (there is none anyway when stderr is not a terminal)")
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

    entries, policies = args.entries, args.policy
    if args.plot:
        _check_plot_path(args.plot)
    capture = open_capture(args)
    base = NicConfig(max_atoms=args.max_atoms, max_trace_len=args.max_trace_len,
                     hdr_bytes=args.hdr_bytes, seed=args.seed)
    configs = len(entries) * len(policies)
    with Bar("sweep", show=not args.quiet) as bar:
        passes = [0]                    # frames per pass, known once the first pass has run
        per_pass = [0]

        def frames():
            # a generator: its body runs when the pass starts reading, after fresh_runtime()
            rt, n = current[0], 0
            for ts_ns, frame in capture.stamped_frames():
                if rt is not None:
                    rt.now_ns = ts_ns
                n += 1
                bar.update()
                yield frame
            per_pass[0] = n

        def progress(msg: str) -> None:
            passes[0] += 1
            bar.set_description(f"sweep {passes[0]}/{configs} ({msg})")
            if passes[0] == 1:
                bar.set_total(per_pass[0] * configs)

        rows, library = sweep(program.insns, frames, entries, policies, base,
                              latency=args.latency, progress=progress,
                              runtime_factory=fresh_runtime)
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
    print(f"{'entries':>8} {'policy':<7}{'hit rate':>9}{'hits':>10}{'misses':>10}{'installs':>10}"
          f"{'evictions':>10}{'oversize':>10}")
    for r in rows:
        print(f"{r.entries:>8} {r.policy:<7}{100 * r.hit_rate:>8.2f}%{r.hits:>10}{r.misses:>10}"
              f"{r.installs:>10}{r.evictions:>10}{r.oversize:>10}")
    print("hit rate = hits / frames; oversize frames are dropped by the NIC and count as neither "
          "hits nor misses")
    print_notes(capture)
    return 0


# Policies often tie (LRU = PLRU at small sizes, every policy at the largest): distinct markers
# and line styles keep every line visible, and the legend says which ones coincide.
_STYLES = [("o", "-"), ("s", "--"), ("^", "-."), ("v", ":"), ("D", "-"), ("x", "--")]


def plot(rows, path: str, title: str) -> None:
    import matplotlib.pyplot as plt
    fig = figure(rows, title)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def curve_labels(curves: dict[str, tuple]) -> dict[str, str]:
    """Legend label per policy, naming the policies whose curve is identical."""
    return {p: p + "".join(f" (= {', '.join(same)})" for same in
                           [[q for q in curves if q != p and curves[q] == pts]] if same)
            for p, pts in curves.items()}


def figure(rows, title: str):
    """Hit rate (0..100%) against cache entries, one line per policy."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
    curves = {}
    for policy in dict.fromkeys(r.policy for r in rows):
        curves[policy] = tuple(sorted((r.entries, round(100 * r.hit_rate, 6))
                                      for r in rows if r.policy == policy))
    labels = curve_labels(curves)
    fig, ax = plt.subplots(figsize=(6, 4))
    for k, (policy, pts) in enumerate(curves.items()):
        marker, style = _STYLES[k % len(_STYLES)]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=marker, linestyle=style,
                markersize=max(8 - k, 3), markerfacecolor="none", label=labels[policy])
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())   # 16, not 2^4
    ax.set_ylim(0, 100)
    ax.set_xlabel("cache entries")
    ax.set_ylabel("hit rate (%)")
    ax.set_title(title, fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig
