"""Soundness of the tracer, property-tested on every shipped program with generated and mutated
packets. For a traced packet P with trace T, exact condition E and installed atoms A, and any packet
Q derived from P (bits flipped outside the atoms' masks, other bytes rewritten, length changed) or
drawn at random:

  (a) A(Q) and T's guards pass on Q  =>  running T on Q gives exactly the full program's action and
      output bytes (a guard failing means Q is off the path: then not E(Q));
  (b) A(Q) and the guards pass  =>  E(Q)   (the installed condition implies the exact one);
  (c) Q takes a different instruction sequence  =>  not E(Q)   (E is exact for this path);
  (d) Q takes the same instruction sequence     =>  E(Q)       (E is the weakest precondition,
      for the shipped programs, none of which needs an address-fixing predicate).
"""
from __future__ import annotations

import random
import re
import zlib
from functools import lru_cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import packets as pk
from conftest import built_program
from jit.ebpf import elf, interp, isa
from jit.ebpf.maps import contents as mc
from jit.ebpf.runtime import XdpRuntime
from jit.nic.encoding import AtomKind
from jit.nic.mapmem import lpm_canon
from jit.paths import MAP_PROGRAM_NAMES, PROGRAM_NAMES, program_maps_file
from jit.compiler.opt import optimize
from jit.compiler.trace_run import run_trace
from jit.compiler.tracer import trace_packet


@lru_cache(maxsize=None)
def program(name: str):
    return tuple(elf.load_program(built_program(name)).insns)


# the stateless programs: the shipped ones and land_filter (relations between fields: guards)
STATELESS = PROGRAM_NAMES + ("land_filter",)


@lru_cache(maxsize=None)
def seeds(name: str) -> tuple[bytes, ...]:
    base = pk.varied_packets(name, 48, seed=21) + pk.mixed_packets(24, seed=22)
    if name == "land_filter":           # frames whose addresses or ports are equal
        v4 = [f for f in base if len(f) >= 38 and f[12:14] == b"\x08\x00"]
        base += [f[:30] + f[26:30] + f[34:] for f in v4[:6]]
        base += [f[:36] + f[34:36] + f[38:] for f in v4[:6]]
    return tuple(base)


_TRACES: dict = {}


def traced(insns, packet: bytes):
    key = (insns, packet)
    r = _TRACES.get(key)
    if r is None:
        if len(_TRACES) > 20_000:
            _TRACES.clear()
        r = _TRACES[key] = trace_packet(insns, packet)
    return r


def outcome(insns, packet: bytes):
    try:
        r = interp.run_xdp(insns, packet)
    except interp.InterpError as exc:
        return ("error", type(exc).__name__)
    return (r.action, r.packet)


def constrained_masks(atoms, n: int) -> list[int]:
    """Per byte of a frame of n bytes, the bits some packet atom looks at."""
    masks = [0] * n
    for a in atoms:
        if a.kind != AtomKind.PKT:
            continue
        for k in range(a.width):
            shift = 8 * (a.width - 1 - k) if a.big_endian else 8 * k
            if a.offset + k < n:
                masks[a.offset + k] |= (a.mask >> shift) & 0xFF
    return masks


def derive(rng: random.Random, base: bytes, atoms) -> bytes:
    """A packet near `base`: mostly keeps what the atoms constrain, sometimes not."""
    q = bytearray(base)
    kind = rng.random()
    if kind < 0.08:
        n = rng.choice([0, 1, 13, 14, 20, 34, 42, 54, 60, rng.randrange(0, 200)])
        return bytes(rng.randrange(256) for _ in range(n))
    masks = constrained_masks(atoms, len(q))
    for _ in range(rng.randrange(1, 8)):
        if not q:
            break
        i = rng.randrange(min(len(q), 96)) if rng.random() < 0.85 else rng.randrange(len(q))
        v = rng.randrange(256)
        if kind < 0.75:
            q[i] = (q[i] & masks[i]) | (v & ~masks[i] & 0xFF)    # outside the atoms' bits
        else:
            q[i] = v                                            # anywhere
    r = rng.random()
    if r < 0.15:
        del q[rng.randrange(len(q) + 1):]
    elif r < 0.3:
        q += bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
    return bytes(q)


class Stats:
    def __init__(self):
        self.satisfying = self.different_path = self.same_path = self.guard_failed = 0


def check_pair(insns, base: bytes, q: bytes, stats: Stats | None = None) -> None:
    r = traced(insns, base)
    rq = traced(insns, q)
    # every traced packet satisfies its own conditions
    assert rq.exact.evaluate(q), str(rq.exact)
    if rq.reason is None:
        assert all(a.holds(q) for a in rq.atoms)
    if r.reason is not None:
        if rq.path != r.path and r.trace:
            assert not r.exact.evaluate(q), (q.hex(), str(r.exact))
        return
    holds = all(a.holds(q) for a in r.atoms)
    if holds:
        got = run_trace(r.trace, q)
        if got.guard_failed:            # a guard is part of the exact condition: Q is off the path
            assert r.guards and not r.exact.evaluate(q), (q.hex(), str(r.exact))
            holds = False
            if stats:
                stats.guard_failed += 1
        else:
            if stats:
                stats.satisfying += 1
            full = outcome(insns, q)
            assert full[0] != "error", (q.hex(), [str(a) for a in r.atoms])
            assert (got.action, got.packet) == full, (q.hex(), [str(a) for a in r.atoms])  # (a)
            assert r.exact.evaluate(q), (q.hex(), [str(a) for a in r.atoms], str(r.exact))  # (b)
    if rq.path != r.path:
        if stats:
            stats.different_path += 1
        assert not r.exact.evaluate(q), (q.hex(), str(r.exact))                         # (c)
        assert not holds
    elif rq.reason is None or not rq.reason.startswith("program error"):
        if stats:
            stats.same_path += 1
        assert r.exact.evaluate(q), (q.hex(), str(r.exact))                             # (d)


@pytest.mark.parametrize("name", STATELESS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_soundness_hypothesis(name, data):
    insns = program(name)
    pool = seeds(name)
    base = data.draw(st.sampled_from(pool) | st.binary(min_size=0, max_size=120), label="base")
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    rng = random.Random(seed)
    atoms = traced(insns, base).atoms
    for _ in range(12):
        check_pair(insns, base, derive(rng, base, atoms))
    # and the hypothesis-shrinkable mutation: a few explicit byte writes and a length
    edits = data.draw(st.lists(st.tuples(st.integers(0, 127), st.integers(0, 255)), max_size=4),
                      label="edits")
    length = data.draw(st.none() | st.integers(0, 160), label="length")
    q = bytearray(base)
    for i, v in edits:
        if i < len(q):
            q[i] = v
    if length is not None:
        q = q[:length] if length <= len(q) else q + bytes(length - len(q))
    check_pair(insns, base, bytes(q))


@pytest.mark.parametrize("name", STATELESS)
def test_soundness_sweep(name):
    """A deterministic sweep that also checks the properties were exercised, not vacuous."""
    insns = program(name)
    rng = random.Random(zlib.crc32(name.encode()))  # str hash() is salted per process
    stats = Stats()
    for base in seeds(name)[:40]:
        atoms = traced(insns, base).atoms
        for _ in range(25):
            check_pair(insns, base, derive(rng, base, atoms), stats)
    assert stats.satisfying >= 200, vars(stats)
    assert stats.different_path >= 50, vars(stats)
    assert stats.same_path >= 200, vars(stats)
    if name == "land_filter":           # its relations are guards, and mutants do break them
        assert stats.guard_failed >= 10, vars(stats)


# ---- programs with maps and helpers ------------------------------------------------------------
# Map paths are cached with guards (issue 10): helper calls, map value accesses and tail calls stay
# in the trace, and every branch on a lookup result, a map value or a helper's result is a guard.
# The property, with random map contents: for a trace T recorded on frame P under map state S0, any
# frame Q its atoms accept and ANY map state S, if every guard of T passes when T runs on (Q, S),
# then T gives exactly the full program's action, bytes, redirect target and final maps on (Q, S).
# Both run on CPU 1 (the NIC's per-CPU slot). Paths that still cannot be cached name their reason,
# and the host's run of a frame (through the runtime, once) equals an interpreter-only runtime.

NAMED_REASON = re.compile(r"helper bpf_\w+ \(\d+\)|map '\w+' \(\w+\) stays on the host|"
                          r"local function call|the tracer does not follow|^trace too long|"
                          r"^too many atoms|^atom outside|^packet store outside")
NIC_CPU = 1


@lru_cache(maxsize=None)
def map_program(name: str):
    linked = elf.load_linked(built_program(name), name)
    maps_file = program_maps_file(name)
    contents = mc.read_file(maps_file, linked.maps) if maps_file.exists() else {}
    return linked, contents


def random_contents(name: str, rng: random.Random, frames) -> dict:
    """Map contents drawn at random, with keys taken from the frames (IPv4 addresses, so lookups
    hit as well as miss); maps the NIC does not hold keep their shipped contents."""
    linked, shipped = map_program(name)
    addrs = [f[o:o + 4] for f in frames for o in (26, 30) if len(f) >= o + 4]
    programs = list(linked.object.programs)
    out = {}
    for d in linked.maps.values():
        c = mc.MapContents(d.name, d.type_name, d.key_size, d.value_size, d.max_entries)
        val = lambda: bytes(rng.choice([0, 1, 2, rng.randrange(256)]) for _ in range(d.value_size))
        if d.type_name == "hash":
            keys = {rng.choice(addrs) if addrs and d.key_size == 4 and rng.random() < 0.7
                    else bytes(rng.randrange(256) for _ in range(d.key_size))
                    for _ in range(rng.randrange(0, min(d.max_entries, 12) + 1))}
            c.entries = [mc.Entry(k, value=val()) for k in sorted(keys)]
        elif d.type_name == "lpm_trie":
            # prefixes of the frames' addresses at random lengths (longer ones shadow shorter
            # ones, so lookups hit, miss and pick between nested routes), plus random ones
            data = d.key_size - 4
            ents = {}
            for _ in range(rng.randrange(0, min(d.max_entries, 12) + 1)):
                raw = (rng.choice(addrs) if addrs and data == 4 and rng.random() < 0.8
                       else bytes(rng.randrange(256) for _ in range(data)))
                plen = rng.choice([0, 8, 16, 24, 8 * data, rng.randrange(8 * data + 1)])
                key = plen.to_bytes(4, "little") + raw
                ents[lpm_canon(key, d.key_size, plen)] = key      # one entry per prefix
            c.entries = [mc.Entry(k, value=val()) for k in sorted(ents.values())]
        elif d.type_name in ("array", "percpu_array"):
            for i in range(min(d.max_entries, 16)):
                if rng.random() < 0.6:
                    k = i.to_bytes(4, "little")
                    c.entries.append(mc.Entry(k, values=(val(), val())) if d.type_name ==
                                     "percpu_array" else mc.Entry(k, value=val()))
        elif d.type_name == "prog_array":
            for i in range(d.max_entries):
                if rng.random() < 0.7:
                    c.entries.append(mc.Entry(i.to_bytes(4, "little"),
                                              program=rng.choice(programs)))
        elif d.name in shipped:
            c = shipped[d.name]
        out[d.name] = c
    return out


def runtime(name: str, contents, cpu: int = 0) -> XdpRuntime:
    linked, _ = map_program(name)
    return XdpRuntime(linked, maps_in=contents, cpu=cpu)


class MapStats:
    def __init__(self):
        self.passed = self.guard_failed = self.refused = self.cacheable = 0


def check_map_trace(name: str, r, q: bytes, contents, stats: MapStats) -> None:
    """The property above for one trace, frame and map state."""
    if not all(a.holds(q) for a in r.atoms):
        return
    on_trace, on_full = runtime(name, contents, NIC_CPU), runtime(name, contents, NIC_CPU)
    on_opt = runtime(name, contents, NIC_CPU)
    try:
        full = on_full.run(q)
    except interp.InterpError:
        full = None
    try:
        got = run_trace(r.trace, q, on_trace)
    except interp.InterpError:
        return              # a faulting trace hands the frame to the host: no answer to compare
    # the optimized trace (what the host installs) fails the same guards and gives the same answer
    opt = optimized(r)
    try:
        got_opt = run_trace(opt, q, on_opt)
    except interp.InterpError:
        got_opt = None
    assert got_opt == got, (q.hex(), got, got_opt)
    if not got.guard_failed:
        assert on_opt.contents() == on_trace.contents(), q.hex()

    if got.guard_failed:
        stats.guard_failed += 1
        return
    stats.passed += 1
    assert full is not None, (q.hex(), [str(a) for a in r.atoms])
    assert (got.action, got.packet) == (full.action, full.packet), q.hex()
    assert got.redirect == full.redirect, q.hex()
    assert on_trace.contents() == on_full.contents(), q.hex()


_OPT: dict = {}


def optimized(r) -> list:
    key = (tuple(r.trace), r.atoms)
    if key not in _OPT:
        _OPT[key] = optimize(r.trace, r.atoms).trace
    return _OPT[key]


def check_map_frame(name: str, traced_rt, reference_rt, q: bytes, rng: random.Random,
                    stats: MapStats, frames):
    """Trace `q` on the host's runtime (its single run), compare with an interpreter-only
    runtime, and check the trace against random map states."""
    linked, _ = map_program(name)
    r = trace_packet(linked.insns, q, runtime=traced_rt)
    ref = reference_rt.run(q) if r.error is None else None
    if ref is not None:
        assert (r.action, r.packet, r.redirect) == (ref.action, ref.packet, ref.redirect), q.hex()
    if r.reason is not None:
        assert not r.reason.startswith("tracer error"), r.reason
        if not r.reason.startswith("program error"):
            stats.refused += 1
            assert NAMED_REASON.search(r.reason), r.reason
        return r
    stats.cacheable += 1
    check_map_trace(name, r, q, random_contents(name, rng, frames), stats)
    for _ in range(2):
        q2 = derive(rng, q, r.atoms)
        check_map_trace(name, r, q2, random_contents(name, rng, frames), stats)
    return r


@pytest.mark.parametrize("name", MAP_PROGRAM_NAMES)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_map_soundness_with_random_contents(name, data):
    pool = seeds(name)
    rng = random.Random(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    start = random_contents(name, rng, pool)
    traced_rt, reference_rt = runtime(name, start), runtime(name, start)
    frames = data.draw(st.lists(st.sampled_from(pool) | st.binary(min_size=0, max_size=120),
                                min_size=1, max_size=4), label="frames")
    stats = MapStats()
    for q in frames:
        check_map_frame(name, traced_rt, reference_rt, q, rng, stats, pool)
    assert traced_rt.contents() == reference_rt.contents()      # the host ran each frame once


# what each map program's paths must show on its seed traffic: (cacheable, guards seen)
EXPECTED_CACHEABLE = set(MAP_PROGRAM_NAMES)


# (proto_stats's one guard, "lookup in a per-CPU array found the index", holds for every index the
# program computes, so random contents never break it)
GUARDED = {"deny_list", "config_filter", "tail_dispatch", "ipip_encap", "lpm_router"}


@pytest.mark.parametrize("name", MAP_PROGRAM_NAMES)
def test_map_programs_sweep(name):
    """Deterministic: a program's seed frames in order; the properties were exercised (guards
    both passed and failed under random contents), the refusals name their reason, and the maps
    end up identical to an interpreter-only run."""
    rng = random.Random(zlib.crc32(name.encode()))
    pool = seeds(name)
    start = random_contents(name, rng, pool)
    traced_rt, reference_rt = runtime(name, start), runtime(name, start)
    stats = MapStats()
    for q in pool:
        check_map_frame(name, traced_rt, reference_rt, q, rng, stats, pool)
    assert traced_rt.contents() == reference_rt.contents()
    if name in EXPECTED_CACHEABLE:
        assert stats.cacheable >= 10 and stats.passed >= 10, vars(stats)
    else:
        assert stats.cacheable == 0 and stats.refused >= 10, vars(stats)
    if name in GUARDED:
        assert stats.guard_failed >= 3, vars(stats)     # random contents do break guards
