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
import zlib
from functools import lru_cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import packets as pk
from conftest import built_program
from jit.ebpf import elf, interp
from jit.nic.encoding import AtomKind
from jit.paths import PROGRAM_NAMES
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
