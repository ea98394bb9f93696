"""Benchmarks: `python -m jit.bench [SECTION ...] [--seconds S] [--json]` (`make bench` runs all).

Each section is a function registered in `BENCHMARKS` with the `@benchmark` decorator; it takes the
parsed arguments and returns result rows (dicts), which `main` prints as a table or as JSON lines.
Sections so far:

  interp   the reference interpreter: eBPF instructions per second on every built program
           (build/programs/*.o) over a mix of scapy-built packets, plus a loop-heavy synthetic
           program that shows the translated code's speed without per-packet set-up.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from typing import Callable

from jit.errors import JitnicError


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
    from jit import interp

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
    from jit import elf
    from jit.asm import assemble
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


# ---- driver ------------------------------------------------------------------------------------
_COLUMNS = ("program", "insns_per_s", "packets_per_s", "insns_per_packet", "errors", "seconds")


def _table(rows: list[dict]) -> str:
    cols = [c for c in _COLUMNS if any(c in r for r in rows)]
    cells = [[f"{r.get(c, ''):,}" if isinstance(r.get(c), int) else str(r.get(c, ""))
              for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    line = lambda items: "  ".join(  # noqa: E731
        (s.ljust(w) if i == 0 else s.rjust(w)) for i, (s, w) in enumerate(zip(items, widths)))
    return "\n".join([line(cols), line(["-" * w for w in widths])] + [line(r) for r in cells])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jit.bench",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("sections", nargs="*", metavar="SECTION",
                        help=f"benchmarks to run (default: all): {', '.join(BENCHMARKS)}")
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement")
    parser.add_argument("--json", action="store_true", help="one JSON object per result row")
    args = parser.parse_args(argv)
    unknown = [s for s in args.sections if s not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; "
                     f"choose from {', '.join(BENCHMARKS)}")
    for name in args.sections or list(BENCHMARKS):
        rows = BENCHMARKS[name].run(args)
        if args.json:
            for row in rows:
                print(json.dumps(row))
        else:
            print(f"== {name}: {BENCHMARKS[name].help}")
            print(_table(rows))
            print()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:
        sys.exit(0)
