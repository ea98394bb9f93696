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
  library  the host's trace library lookup with one path per flow (indexed vs a linear scan).
  memory   peak RSS of the host after 20k and 200k frames that nearly all miss (flat: nothing
           is kept per miss).
  maps     NIC map memory: lookup-unit cycles (arrays; hash maps at several loads, hits and
           misses) and cycles per lookup/update/delete over AXI4-Lite at the top level.
  sim      the same end-to-end RTL run (host in the loop) on Icarus and on Verilator: frames per
           wall second and per CPU second, and Verilator's speed-up.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from typing import Callable

from jit import JitnicError
from jit.ebpf import elf
from jit.ebpf.runtime import XdpRuntime


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


def _measure(insns, packets: list[bytes], seconds: float, runtime=None) -> dict:
    """Instructions and packets per second; a stateful program (`runtime`, maps persisting across
    frames) runs through jit.ebpf.runtime, a map-free one through interp.run_xdp."""
    from jit.ebpf import interp

    prog = interp.compile_program(insns)
    run = runtime.run if runtime is not None else lambda frame: interp.run_xdp(prog, frame)
    count = runs = errors = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for frame in packets:
            try:
                count += run(frame).insns
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
            program = elf.load_linked(path)
            rt = XdpRuntime(program)
        except JitnicError as exc:
            print(f"interp: {name}: {exc}", file=sys.stderr)
            continue
        rows.append({"section": "interp", "program": name,
                     **_measure(program.insns, packets, args.seconds,
                                rt if rt.stateful else None)})
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
    counter = synthetic_map_counter()
    rows.append({"section": "interp", "program": "synthetic per-CPU counter (maps)",
                 **_measure(counter, packets, args.seconds,
                            XdpRuntime(counter, maps=SYNTHETIC_COUNTER_MAPS))})
    return rows


SYNTHETIC_COUNTER_MAPS = {"counts": elf.MapDef("counts", elf.MAP_TYPE_IDS["percpu_array"], 4, 8, 4)}


def synthetic_map_counter() -> list:
    """The most common map idiom: look up a per-CPU array slot (the packet length's low two bits)
    and add the length to it atomically."""
    from jit.ebpf import isa
    return [isa.mov64_reg(6, 1),
            isa.ldx(4, 2, 6, 0), isa.ldx(4, 3, 6, 4), isa.alu64_reg(isa.BPF_SUB, 3, 2),
            isa.mov64_reg(7, 3), isa.alu64_imm(isa.BPF_AND, 3, 3),
            isa.stx(4, 10, 3, -4),
            isa.mov64_reg(2, 10), isa.alu64_imm(isa.BPF_ADD, 2, -4),
            isa.ld_imm64(1, 0, src=isa.BPF_PSEUDO_MAP_FD), isa.call_helper(1),
            isa.jmp_imm(isa.BPF_JEQ, 0, 0, 1),
            isa.atomic(8, isa.BPF_ADD, 0, 7, 0),
            isa.mov64_imm(0, 2), isa.exit_insn()]


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


@benchmark("state", "NIC model hit path on the map programs (trace format v2, one memory with the "
           "host): frames/s once the cache is warm (16 entries, LRU), map operations per hit")
def bench_state(args: argparse.Namespace) -> list[dict]:
    from jit.ebpf.maps import contents as mc
    from jit.host.runner import run_frames
    from jit.nic.encoding import Counter
    from jit.nic.model import NicConfig, NicModel
    from jit.paths import MAP_PROGRAM_NAMES, program_maps_file, program_object

    frames = _zipf_frames(5000)
    rows = []
    for name in MAP_PROGRAM_NAMES:
        path = program_object(name)
        if not path.exists():
            print(f"bench: {path} not built (make programs)", file=sys.stderr)
            continue
        linked = elf.load_linked(path, name)
        maps_file = program_maps_file(name)
        runtime = XdpRuntime(linked, maps_in=mc.read_file(maps_file, linked.maps)
                             if maps_file.exists() else None)
        nic = NicModel(NicConfig(n_entries=16, v2=True))
        run_frames(linked.insns, frames, nic, nic.cfg, check=False, runtime=runtime)  # warm up
        hits_before, ops_before = nic.counters[Counter.HITS], nic.counters[Counter.MAP_OPS]
        done = 0
        start = time.perf_counter()
        while time.perf_counter() - start < args.seconds:
            for frame in frames:
                nic.process(frame)
            done += len(frames)
        elapsed = time.perf_counter() - start
        hits = nic.counters[Counter.HITS] - hits_before
        ops = nic.counters[Counter.MAP_OPS] - ops_before
        rows.append({"section": "state", "program": name, "packets_per_s": round(done / elapsed),
                     "hit_fraction": round(hits / done, 4),
                     "map_ops_per_hit": round(ops / hits, 2) if hits else 0,
                     "seconds": round(elapsed, 3)})
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


# ---- memory ------------------------------------------------------------------------------------
MEMORY_PROGRAM = "acl_firewall"


def miss_stream(count: int, seed: int = 5):
    """`count` frames, nearly all on paths of their own for acl_firewall (fresh random addresses
    and ports on a few hundred zipf templates), generated as they are consumed: nothing but the
    host's own state can grow with `count`."""
    import random
    from jit.traffic import workloads
    base = list(workloads.generate("zipf", 256, seed=seed, flows=256))
    rng = random.Random(seed)
    for i in range(count):
        f = bytearray(base[i % len(base)])
        f[26:38] = rng.randbytes(12)[:max(0, min(len(f), 38) - 26)]
        yield bytes(f)


def memory_probe(count: int) -> dict:
    """Run `count` frames through the model (2 entries, RANDOM) with the host handling every miss;
    peak RSS of this process. Called in a child process per size, so sizes do not share a peak."""
    import resource
    from jit.ebpf import elf
    from jit.host.runner import run_frames
    from jit.nic.model import NicConfig, NicModel
    from jit.paths import program_object

    program = elf.load_program(program_object(MEMORY_PROGRAM))
    cfg = NicConfig(n_entries=2, policy="random")
    t0 = time.perf_counter()
    rep = run_frames(program.insns, miss_stream(count), NicModel(cfg), cfg, check=False)
    return {"section": "memory", "program": MEMORY_PROGRAM, "frames": count,
            "misses": rep.misses, "distinct_traces": rep.distinct_traces,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "seconds": round(time.perf_counter() - t0, 1)}


@benchmark("memory", "host memory vs misses: peak RSS after N frames that nearly all miss "
           f"({MEMORY_PROGRAM}, 2 entries, RANDOM); flat when nothing leaks per miss")
def bench_memory(args: argparse.Namespace) -> list[dict]:
    import subprocess
    rows = []
    for count in args.memory_frames:
        code = f"import json; from jit.cli.bench import memory_probe; print(json.dumps(memory_probe({count})))"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        if out.returncode:
            raise JitnicError(f"memory probe of {count} frames failed: "
                              f"{(out.stderr.strip().splitlines() or ['?'])[-1]}")
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return rows


# ---- library -----------------------------------------------------------------------------------
def synthetic_paths(n: int, seed: int = 9):
    """n compiled paths that pin a 5-tuple-like field each (one path per flow, the case that made
    a linear library super-linear), and for each a frame that takes it."""
    import random
    from jit.ebpf import isa
    from jit.host.miss_handler import CompiledTrace
    from jit.nic.encoding import Atom, AtomKind, AtomOp
    rng = random.Random(seed)
    code = isa.encode([isa.mov64_imm(0, 2), isa.exit_insn()])
    paths, frames = [], []
    for value in rng.sample(range(1 << 32), n):
        atoms = (Atom(AtomKind.LEN, AtomOp.GE, const=42),
                 Atom(AtomKind.PKT, AtomOp.EQ, 12, 2, True, 0xFFFF, 0x0800),
                 Atom(AtomKind.PKT, AtomOp.EQ, 26, 4, True, 0xFFFF_FFFF, value),
                 Atom(AtomKind.PKT, AtomOp.LT, 23, 1, True, 0xFF, 18))
        paths.append(CompiledTrace(atoms, code, 2, 2))
        f = bytearray(64)
        f[12:14], f[23], f[26:30] = b"\x08\x00", 6, value.to_bytes(4, "big")
        frames.append(bytes(f))
    return paths, frames


@benchmark("library", "host trace library: lookups/s with one path per flow, indexed vs a linear "
           "scan of the same conditions (what sweeps and --policy opt did per missed frame)")
def bench_library(args: argparse.Namespace) -> list[dict]:
    from jit.host.miss_handler import TraceLibrary
    from jit.nic.model import compile_condition
    rows = []
    for n in (1000, 10000):
        paths, frames = synthetic_paths(n)
        lib = TraceLibrary()
        for p in paths:
            lib.add(p, 128)
        conds = [compile_condition(list(p.atoms)) for p in paths]
        sample = frames[::max(1, n // 500)]

        def indexed():
            for f in sample:
                assert lib.lookup(f, 128) is not None

        def linear():
            for f in sample:
                w = f[:128] + bytes(136)
                assert any(c(w, len(f)) for c in conds)

        row = {"section": "library", "paths": n}
        for name, fn in (("indexed", indexed), ("linear", linear)):
            done, t0 = 0, time.perf_counter()
            while time.perf_counter() - t0 < args.seconds:
                fn()
                done += len(sample)
            row[f"{name}_lookups_per_s"] = round(done / (time.perf_counter() - t0))
        rows.append(row)
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


@benchmark("maps", "NIC map memory (Icarus): lookup-unit cycles per executor lookup (arrays, hash "
           "maps at 1/8, 1/4, 1/2 of their buckets, hits and misses, LPM tries of IPv4 and IPv6 "
           "routes at 5 prefix lengths: hits at the longest and shortest length, misses) and "
           "cycles per map operation over AXI4-Lite at the top level")
def bench_maps(args: argparse.Namespace) -> list[dict]:
    import tempfile
    from pathlib import Path

    from tb.common.runner import run_cocotb
    from tb.maps.test_maps import DEFAULT_PARAMS

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "maps.json"
        env = {"MAPS_REPORT": str(report), "COCOTB_LOG_LEVEL": "WARNING"}
        run_cocotb("jitnic_maps", "tb.maps.test_maps", DEFAULT_PARAMS,
                   testcase="maps_lookup_cycles", extra_env=env)
        rows += [{"section": "maps", "port": "executor", **r} for r in json.loads(report.read_text())]
        run_cocotb("jitnic_top", "tb.top.test_top_maps", {}, testcase="maps_bus_latency",
                   extra_env=env)
        rows += [{"section": "maps", "port": "axil", **r} for r in json.loads(report.read_text())]
    return rows


SIM_BENCH_PROGRAM = "parser_classifier"     # a classifier: the target program kind
SIM_BENCH_FRAMES = 1000                      # zipf mix, 200 flows, IMIX-like sizes (seed 5)


@benchmark("sim", f"end-to-end RTL run ({SIM_BENCH_PROGRAM}, {SIM_BENCH_FRAMES} zipf frames, 16 "
           "entries, host in the loop, every frame checked) on each simulator and stream width: "
           "frames per wall second and per CPU second of the simulation, CPU seconds, build + "
           "start-up time, speed-up over Icarus at the same width")
def bench_sim(args: argparse.Namespace) -> list[dict]:
    import tempfile
    from pathlib import Path

    from jit.cli.rtl_engine import run_rtl
    from jit.nic.model import NicConfig
    from jit.paths import program_object
    from jit.traffic import workloads
    from tb.common.simulators import SIMULATORS

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        capture = Path(tmp) / "sim_bench.pcap"
        workloads.write_pcap(capture, "zipf", SIM_BENCH_FRAMES, seed=5, flows=200)
        for width in parse_widths(getattr(args, "sim_data_widths", "64")):
            base = None
            for sim in SIMULATORS:
                start = time.perf_counter()
                s, _ = run_rtl(str(program_object(SIM_BENCH_PROGRAM)), str(capture),
                               NicConfig(n_entries=16), simulator=sim, data_width=width)
                total = time.perf_counter() - start
                row = {"section": "sim", "program": SIM_BENCH_PROGRAM, "simulator": sim,
                       "data_width": width, "frames": s["packets"], "hits": s["hits"],
                       "mismatches": s["mismatches"], "cycles_per_frame": s["cycles_per_frame"],
                       "sim_wall_s": s["sim_wall_s"], "sim_cpu_s": s["sim_cpu_s"],
                       "frames_per_wall_s": s["frames_per_wall_s"],
                       "frames_per_cpu_s": round(s["packets"] / max(s["sim_cpu_s"], 1e-9), 1),
                       "build_and_start_s": round(total - s["sim_wall_s"], 1)}
                base = base or row
                row["speedup_wall"] = round(row["frames_per_wall_s"] / base["frames_per_wall_s"], 2)
                row["speedup_cpu"] = round(row["frames_per_cpu_s"] / base["frames_per_cpu_s"], 2)
                rows.append(row)
    return rows


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
    parser.add_argument("--memory-frames", type=lambda t: [int(v) for v in t.split(",")],
                        default=[20_000, 200_000], metavar="N,N",
                        help="frames per memory probe (default 20000,200000)")
    parser.add_argument("--data-widths", default="64,512", metavar="W,W",
                        help="rtl: DATA_WIDTH of each run (64, 128, 256, 512; default 64,512)")
    parser.add_argument("--sim-data-widths", default="64,512", metavar="W,W",
                        help="sim: DATA_WIDTH of each pair of runs (default 64,512)")


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
