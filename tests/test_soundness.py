"""Soundness of the tracer, property-tested on every shipped program with generated and mutated
packets. For a traced packet P with trace T, exact condition E and installed atoms A, and any packet
Q derived from P (bits flipped outside the atoms' masks, other bytes rewritten, length changed) or
drawn at random:

  (a) A(Q)  =>  running T on Q gives exactly the full program's action and output bytes;
  (b) A(Q)  =>  E(Q)                      (the installed condition implies the exact one);
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
from jit.paths import MAP_PROGRAM_NAMES, PROGRAM_NAMES, program_maps_file
from jit.compiler.tracer import trace_packet


@lru_cache(maxsize=None)
def program(name: str):
    return tuple(elf.load_program(built_program(name)).insns)


@lru_cache(maxsize=None)
def seeds(name: str) -> tuple[bytes, ...]:
    return tuple(pk.varied_packets(name, 48, seed=21) + pk.mixed_packets(24, seed=22))


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
        self.satisfying = self.different_path = self.same_path = 0


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
        if stats:
            stats.satisfying += 1
        full = outcome(insns, q)
        assert full[0] != "error", (q.hex(), [str(a) for a in r.atoms])
        assert outcome(r.trace, q) == full, (q.hex(), [str(a) for a in r.atoms])       # (a)
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


@pytest.mark.parametrize("name", PROGRAM_NAMES)
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


@pytest.mark.parametrize("name", PROGRAM_NAMES)
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


# ---- programs with maps and helpers ------------------------------------------------------------
# Map paths are not cacheable until the NIC has maps (issue 10): every path that reaches a helper, a
# map or global data must be refused with a reason that names it, and the host's result for the
# frame (the tracer's full run, through the program's runtime) must be the interpreter's, with the
# maps evolving exactly as in a runtime that only interprets. Paths that touch no state (runts,
# early exits) stay cacheable, and then the usual soundness properties hold for them.

NAMED_REASON = re.compile(r"helper bpf_\w+ \(\d+\)|global data \(map fd \d+|map fd \d+|"
                          r"local function call|tail call")


@lru_cache(maxsize=None)
def map_program(name: str):
    linked = elf.load_linked(built_program(name), name)
    maps_file = program_maps_file(name)
    contents = mc.read_file(maps_file, linked.maps) if maps_file.exists() else {}
    pcs = dict(zip(isa.slot_pcs(linked.insns), linked.insns))
    return linked, contents, pcs


def touches_state(pcs, path) -> bool:
    """Whether the executed path calls anything or loads a map (fd or value)."""
    for pc in path:
        insn = pcs.get(pc)
        if insn is not None and (insn.opcode == 0x85 or (insn.opcode == isa.LD_IMM64
                                                          and insn.src != 0)):
            return True
    return False


def check_map_frame(name: str, traced_rt, reference_rt, q: bytes, rng: random.Random,
                    stats: Stats | None = None):
    """Check one frame (see above); returns its trace result."""
    linked, contents, pcs = map_program(name)
    r = trace_packet(linked.insns, q, runtime=traced_rt)
    ref = reference_rt.run(q)
    assert (r.action, r.packet) == (ref.action, ref.packet), q.hex()      # host == interpreter
    if r.reason is not None:
        if touches_state(pcs, r.path) or not r.trace:
            assert NAMED_REASON.search(r.reason) or r.reason.startswith("program error"), r.reason
        return r
    assert not touches_state(pcs, r.path), f"cacheable path touches state: {q.hex()}"
    # a stateless path: the trace, on any frame its atoms accept, is the full program
    for _ in range(4):
        q2 = derive(rng, q, r.atoms)
        if not all(a.holds(q2) for a in r.atoms):
            continue
        if stats:
            stats.satisfying += 1
        full = XdpRuntime(linked, maps_in=contents).run(q2)
        assert outcome(r.trace, q2) == (full.action, full.packet), q2.hex()
        assert r.exact.evaluate(q2), (q2.hex(), str(r.exact))
    return r


def runtimes(name: str):
    linked, contents, _ = map_program(name)
    return XdpRuntime(linked, maps_in=contents), XdpRuntime(linked, maps_in=contents)


@pytest.mark.parametrize("name", MAP_PROGRAM_NAMES)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_map_paths_refused_and_host_equals_interpreter(name, data):
    traced_rt, reference_rt = runtimes(name)
    pool = seeds(name)
    frames = data.draw(st.lists(st.sampled_from(pool) | st.binary(min_size=0, max_size=120),
                                min_size=1, max_size=6), label="frames")
    rng = random.Random(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    for q in frames:
        check_map_frame(name, traced_rt, reference_rt, q, rng)
    assert traced_rt.contents() == reference_rt.contents()


@pytest.mark.parametrize("name", MAP_PROGRAM_NAMES)
def test_map_programs_sweep(name):
    """Deterministic: a program's seed frames in order through the tracer and the interpreter; the
    refusals were exercised and the maps end up identical."""
    traced_rt, reference_rt = runtimes(name)
    rng = random.Random(zlib.crc32(name.encode()))
    stats = Stats()
    refused = cacheable = 0
    for q in seeds(name):
        r = check_map_frame(name, traced_rt, reference_rt, q, rng, stats)
        refused += r.reason is not None
        cacheable += r.reason is None
    assert refused >= 5, (refused, cacheable)
    assert stats.satisfying >= cacheable, vars(stats)    # every stateless path was re-checked
    assert traced_rt.contents() == reference_rt.contents()
