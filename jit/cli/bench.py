"""Benchmarks: `jitnic bench [SECTION ...] [--seconds S] [--json]` (`make bench` runs all).

Each section is a function registered in `BENCHMARKS` with the `@benchmark` decorator; it takes the
parsed arguments and returns result rows (dicts), which `main` prints as a table or as JSON lines.
Sections:

  interp   the reference interpreter: eBPF instructions per second on every built program
           (build/programs/*.o) over a mix of scapy-built packets, plus a loop-heavy synthetic
           program that shows the translated code's speed without per-packet set-up.
  model    the NIC model's hit path (frames/s with a warm cache).
  rtl      the RTL's hit and miss paths under Icarus: latency and back-to-back cycles per frame
           for 64-, 128-, 256-, 512- and 1518-byte frames and IMIX per program, at each data
           width of --data-widths (default 64,512), against the bus streaming limit.
  miss     the host's miss handling (trace + optimize + encode), and trace length: instructions
           the full program executes vs. the trace before and after optimization.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from typing import Callable

from jit import JitnicError


@dataclass(frozen=True)
class Benchmark:
    name: str
    help: str
    run: Callable[[argparse.Namespace], list[dict]]


BENCHMARKS: dict[str, Benchmark] = {}


def benchmark(name: str, help: str):
    """Register a benchmark section: `fn(args) -> list[dict]`."""
    def register(fn):
        BENCHMARKS[name] = Benchmark(name, help, fn)
        return fn
    return register


# ---- interp ------------------------------------------------------------------------------------
def packet_mix() -> list[bytes]:
    """A fixed mix of frames: IPv4/IPv6 TCP, UDP, ICMP echo, VLAN, ARP, a runt, several sizes."""
    from scapy.layers.inet import ICMP, IP, TCP, UDP
    from scapy.layers.inet6 import ICMPv6EchoRequest, IPv6
    from scapy.layers.l2 import ARP, Dot1Q, Ether

    eth = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
    frames = [
        eth / IP(src="10.0.0.1", dst="192.168.1.2", ttl=64) / TCP(sport=40000, dport=80, flags="S"),
        eth / IP(src="10.0.0.2", dst="192.168.1.3", ttl=1) / TCP(sport=40001, dport=443)
        / (b"a" * 200),
        eth / IP(src="172.16.0.9", dst="10.1.2.3") / UDP(sport=5353, dport=53) / (b"q" * 30),
        eth / IP(src="198.51.100.7", dst="10.1.2.3") / UDP(sport=1234, dport=4789) / (b"v" * 1000),
        eth / IP(src="10.9.9.9", dst="10.0.0.1") / ICMP(type=8, id=7, seq=1) / (b"ping" * 14),
        eth / IPv6(src="2001:db8::1", dst="2001:db8::2") / TCP(sport=50000, dport=22),
        eth / IPv6(src="2001:db8::3", dst="2001:db8::4") / UDP(sport=53, dport=53) / (b"6" * 80),
        eth / IPv6(src="2001:db8::5", dst="2001:db8::6") / ICMPv6EchoRequest(),
        eth / Dot1Q(vlan=10) / IP(src="10.0.0.5", dst="10.0.0.6") / UDP(sport=1, dport=2),
        eth / ARP(psrc="10.0.0.1", pdst="10.0.0.2"),
        eth / IP(src="10.0.0.1", dst="10.0.0.2", ttl=32) / TCP(sport=1, dport=2) / (b"m" * 1400),
    ]
    return [bytes(f) for f in frames] + [bytes(f)[:10] for f in frames[:1]]


# A loop that sums the packet's bytes: many instructions per run, so it measures the translated
# code rather than per-packet set-up.
SYNTHETIC_LOOP = """
    ldxw %r2, [%r1+0]
    ldxw %r3, [%r1+4]
    mov %r0, 0
loop:
    mov %r4, %r2
    add %r4, 1
    jgt %r4, %r3, done
    ldxb %r5, [%r2]
    add %r0, %r5
    stxdw [%r10-8], %r0
    xor %r0, 0x55
    lsh32 %r0, 3
    add %r2, 1
    ja loop
done:
    and %r0, 3
    exit
"""


def _measure(insns, packets: list[bytes], seconds: float) -> dict:
    from jit.ebpf import interp

    prog = interp.compile_program(insns)
    count = runs = errors = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for frame in packets:
            try:
                count += interp.run_xdp(prog, frame).insns
            except interp.InterpError:
                errors += 1
            runs += 1
        if time.perf_counter() >= deadline:
            break
    elapsed = time.perf_counter() - start
    return {"insns": count, "packets": runs, "errors": errors, "seconds": round(elapsed, 3),
            "insns_per_s": round(count / elapsed), "packets_per_s": round(runs / elapsed),
            "insns_per_packet": round(count / max(runs - errors, 1), 1)}


@benchmark("interp", "reference interpreter: eBPF instructions/s per built program")
def bench_interp(args: argparse.Namespace) -> list[dict]:
    from jit.ebpf import elf
    from jit.ebpf.asm import assemble
    from jit.paths import PROGRAM_NAMES, program_object

    packets = packet_mix()
    rows = []
    missing = [name for name in PROGRAM_NAMES if not program_object(name).exists()]
    if missing:
        print(f"interp: {len(missing)} program(s) not built ({', '.join(missing)}): run "
              "`make programs`; measuring the rest", file=sys.stderr)
    for name in PROGRAM_NAMES:
        path = program_object(name)
        if not path.exists():
            continue
        try:
            program = elf.load_program(path)
        except JitnicError as exc:
            print(f"interp: {name}: {exc}", file=sys.stderr)
            continue
        rows.append({"section": "interp", "program": name, **_measure(program.insns, packets,
                                                                       args.seconds)})
    if rows:
        total_insns = sum(r["insns"] for r in rows)
        total_s = sum(r["seconds"] for r in rows)
        total_pkts = sum(r["packets"] for r in rows)
        rows.append({"section": "interp", "program": "ALL (shipped)", "insns": total_insns,
                     "packets": total_pkts, "errors": sum(r["errors"] for r in rows),
                     "seconds": round(total_s, 3), "insns_per_s": round(total_insns / total_s),
                     "packets_per_s": round(total_pkts / total_s),
                     "insns_per_packet": round(total_insns / max(total_pkts, 1), 1)})
    rows.append({"section": "interp", "program": "synthetic byte-sum loop",
                 **_measure(assemble(SYNTHETIC_LOOP), packets, args.seconds)})
    return rows


# ---- model and miss handling -----------------------------------------------------------------
def _shipped_programs():
    from jit.ebpf import elf
    from jit.paths import PROGRAM_NAMES, program_object
    for name in PROGRAM_NAMES:
        path = program_object(name)
        if path.exists():
            yield name, elf.load_program(path)
        else:
            print(f"bench: {path} not built (make programs)", file=sys.stderr)


def _zipf_frames(count: int) -> list[bytes]:
    from jit.traffic import workloads
    return list(workloads.generate("zipf", count, seed=11, flows=200))


@benchmark("model", "NIC model hit path: frames/s once the cache is warm (16 entries, LRU)")
def bench_model(args: argparse.Namespace) -> list[dict]:
    from jit.nic.encoding import Counter
    from jit.nic.model import NicConfig, NicModel
    from jit.host.runner import run_frames

    frames = _zipf_frames(5000)
    rows = []
    for name, program in _shipped_programs():
        nic = NicModel(NicConfig(n_entries=16))
        run_frames(program.insns, frames, nic, nic.cfg, check=False)    # warm up: install paths
        hits_before = nic.counters[Counter.HITS]
        done = 0
        start = time.perf_counter()
        while time.perf_counter() - start < args.seconds:
            for frame in frames:
                nic.process(frame)
            done += len(frames)
        elapsed = time.perf_counter() - start
        hits = nic.counters[Counter.HITS] - hits_before
        rows.append({"section": "model", "program": name, "packets_per_s": round(done / elapsed),
                     "hit_fraction": round(hits / done, 4), "seconds": round(elapsed, 3)})
    return rows


@benchmark("miss", "host miss handling: trace + optimize + encode per missed frame (the optimizer "
           "result is cached per path; first_compile = a path's first miss), and trace length")
def bench_miss(args: argparse.Namespace) -> list[dict]:
    import statistics
    from jit.nic import encoding as enc
    from jit.host.miss_handler import compile_path

    frames = packet_mix() + _zipf_frames(300)
    rows = []
    from jit.host.miss_handler import _optimized
    for name, program in _shipped_programs():
        times, first, before, after, full = [], [], [], [], []
        _optimized.cache_clear()
        for frame in frames:
            misses = _optimized.cache_info().misses
            t0 = time.perf_counter()
            tr, compiled, _reason = compile_path(program.insns, frame, max_atoms=enc.MAX_ATOMS,
                                                 max_trace_len=enc.MAX_TRACE_LEN,
                                                 hdr_bytes=enc.HDR_BYTES)
            times.append(time.perf_counter() - t0)
            if _optimized.cache_info().misses != misses:     # first time this path was compiled
                first.append(times[-1])
            if compiled is not None:
                before.append(compiled.insns_before)
                after.append(compiled.insns_after)
                full.append(tr.insns)
        n = max(len(after), 1)
        rows.append({"section": "miss", "program": name,
                     "median_ms": round(1000 * statistics.median(times), 3),
                     "p90_ms": round(1000 * sorted(times)[int(0.9 * len(times))], 3),
                     "first_compile_median_ms": round(1000 * statistics.median(first), 3) if first else None,
                     "paths": len(first),
                     "cacheable": f"{len(after)}/{len(frames)}",
                     "full_insns": round(sum(full) / n, 1),
                     "trace_insns": round(sum(before) / n, 1),
                     "opt_insns": round(sum(after) / n, 1),
                     "reduction": round(sum(full) / max(sum(after), 1), 2)})
    return rows


# ---- RTL ---------------------------------------------------------------------------------------
DATA_WIDTHS = (64, 128, 256, 512)


def parse_widths(text: str) -> list[int]:
    try:
        widths = [int(w) for w in text.split(",") if w.strip()]
    except ValueError:
        widths = []
    if not widths or any(w not in DATA_WIDTHS for w in widths):
        raise JitnicError(f"--data-widths {text!r}: give a comma-separated list of "
                          f"{', '.join(map(str, DATA_WIDTHS))}")
    return widths


@benchmark("rtl", "RTL hit/miss paths (Icarus): latency and back-to-back cycles per frame vs bus limit")
def bench_rtl(args: argparse.Namespace) -> list[dict]:
    import tempfile
    from pathlib import Path

    from tb.common.runner import run_cocotb

    rows = []
    for width in parse_widths(getattr(args, "data_widths", "64,512")):
        with tempfile.TemporaryDirectory() as tmp:
            report = Path(tmp) / "cycles.json"
            run_cocotb("jitnic_top", "tb.e2e.cycles", {"DATA_WIDTH": width},
                       extra_env={"CYCLES_REPORT": str(report), "COCOTB_LOG_LEVEL": "WARNING"})
            rows += json.loads(report.read_text())
    return [{"section": "rtl", **r} for r in rows]


# ---- driver ------------------------------------------------------------------------------------
_COLUMNS = ("program", "insns_per_s", "packets_per_s", "insns_per_packet", "errors", "seconds")


def _table(rows: list[dict]) -> str:
    cols = [c for c in _COLUMNS if any(c in r for r in rows)]
    cols += [c for c in dict.fromkeys(k for r in rows for k in r) if c not in cols and c != "section"]
    cells = [[f"{r.get(c, ''):,}" if isinstance(r.get(c), int) else str(r.get(c, ""))
              for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    line = lambda items: "  ".join(  # noqa: E731
        (s.ljust(w) if i == 0 else s.rjust(w)) for i, (s, w) in enumerate(zip(items, widths)))
    return "\n".join([line(cols), line(["-" * w for w in widths])] + [line(r) for r in cells])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sections", nargs="*", metavar="SECTION",
                        help=f"benchmarks to run (default: all): {', '.join(BENCHMARKS)}")
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement (default 1)")
    parser.add_argument("--json", action="store_true", help="one JSON object per result row")
    parser.add_argument("--data-widths", default="64,512", metavar="W,W",
                        help="rtl: DATA_WIDTH of each run (64, 128, 256, 512; default 64,512)")


def register(sub) -> None:
    p = sub.add_parser("bench", help="run benchmarks (interpreter, model, miss handling, RTL cycles)",
                       description=__doc__.splitlines()[0])
    add_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    unknown = [s for s in args.sections if s not in BENCHMARKS]
    if unknown:
        raise JitnicError(f"unknown benchmark section(s) {', '.join(unknown)}; "
                          f"choose from {', '.join(BENCHMARKS)}")
    for name in args.sections or list(BENCHMARKS):
        rows = BENCHMARKS[name].run(args)
        if args.json:
            for row in rows:
                print(json.dumps(row), flush=True)
        else:
            print(f"== {name}: {BENCHMARKS[name].help}")
            print(_table(rows))
            print(flush=True)
    return 0
