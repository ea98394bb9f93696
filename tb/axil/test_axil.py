"""jitnic_axil_regs: register map, staging read-back, commit validation, install, counters.

The bench drives the block through cocotb-bus's AXI4LiteMaster (tb.common.axil) and plays the rest
of the NIC: it answers engine_hold with engine_idle, offers a policy victim, pulses counter events,
and records every entry/trace/policy write the block makes. Expected commit outcomes come from
`reference_commit` below, which is `jit.nic.validate.validate_words`, the validator the model uses:
random invalid slots (writes to r10, registers past r10, reserved fields) and traces over the
execution budget must get the same error code and index from the RTL. The block accepts trace
format v2 (jumps, helper calls, atomics): random v2 traces with forward jumps (some past the trace
length, backwards, or into an LD_IMM64's second slot) and calls (some outside the helper set) get
the validator's BAD_JUMP / BAD_CALL / budget verdicts. The validator's static write-buffer count
(WB_OVERFLOW) is host-side only (docs/abi.md), so a case it refuses for that reason is not sent. Installs draw their packet
fields from a pool a little larger than N_SLOTS, so that extractor slots are shared, released by
evictions and sometimes run out, and often repeat a field or hold several length atoms, so that
general atoms fill up: every commit's slot assignment and cell placement (the cell each atom is
written into, one per cycle after the entry's cells are cleared, the slot a general atom reads, the
slot fields, SLOTS_FULL or CELLS_FULL and its atom index) is checked against
`jit.nic.validate.plan_entry`, and REG_SLOTS against the bench's mirror of the slots.
"""
from __future__ import annotations

import random
from collections import Counter as Tally
from dataclasses import dataclass, field

import cocotb
import pytest
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge

from jit.nic import encoding as enc
from jit.ebpf import isa
from jit.nic.encoding import Atom, AtomKind, AtomOp, Counter, ErrorCode
from jit.nic.model import NicConfig
from jit.nic.validate import RULE_FIELDS, RULE_TABLE_V2, plan_entry, slot_ok, validate_words
from tb.common.axil import AxilMaster, NicDriver
from tb.common.runner import param, run_cocotb


def reference_commit(atom_words: list[tuple[int, int, int]], natoms: int,
                     trace: list[tuple[int, int]], trace_len: int, cfg: NicConfig
                     ) -> tuple[ErrorCode, int]:
    """Expected (error, index) of a commit with STAGE_NATOMS=natoms, STAGE_TRACE_LEN=trace_len:
    the one validator definition (jit/nic/validate.py) the model uses too, for trace format v2."""
    return validate_words(atom_words, natoms, trace, trace_len, max_atoms=cfg.max_atoms,
                          max_trace_len=cfg.max_trace_len, hdr_bytes=cfg.hdr_bytes,
                          exec_budget=cfg.exec_budget, v2=True)


# helpers of the RTL executor's set (issue 10) and ids outside every NIC helper set
RTL_CALLS = (1, 7, 8, 12, 23, 51)
NOT_HELPERS = (0, 6, 9, 200, 0xFFFF_FFFF)


def v2_trace(rng: random.Random, n: int) -> list[tuple[int, int]]:
    """n slots ending in exit, with forward conditional jumps and `ja`s (targets anywhere after
    the jump up to the guard exit n, sometimes past it, backwards or onto an LD_IMM64's second
    slot), helper calls (now and then an id outside the helper set) and atomics."""
    out: list[tuple[int, int]] = []
    while len(out) < n - 1:
        left = n - 1 - len(out)
        here = len(out)
        choice = rng.random()
        if choice < 0.15 and left >= 2:
            out += enc.trace_words(isa.ld_imm64(rng.randrange(10), rng.getrandbits(64)).encode())
            continue
        if choice < 0.45:
            target = rng.randrange(here + 1, n + 1)
            if rng.random() < 0.08:
                target = rng.choice([here, here - 1, n + 1, n + 5])
            off = (target - here - 1) & 0xFFFF
            insn = (isa.ja(0) if rng.random() < 0.3 else
                    isa.jmp_imm(rng.choice([0x10, 0x20, 0x50, 0xA0]), rng.randrange(10),
                                rng.getrandbits(31), 0))
            lo, hi = enc.trace_words(insn.encode())[0]
            out.append((lo & 0xFFFF | off << 16, hi))
            continue
        if choice < 0.6:
            helper = rng.choice(NOT_HELPERS) if rng.random() < 0.1 else rng.choice(RTL_CALLS)
            out.append(enc.trace_words(isa.call_helper(helper).encode())[0])
            continue
        if choice < 0.65:
            out.append(enc.trace_words(isa.atomic(rng.choice([4, 8]), 0x00, 1, 2, 0).encode())[0])
            continue
        out.append(enc.trace_words(isa.mov64_imm(rng.randrange(10), rng.getrandbits(31)).encode())[0])
    return out + enc.trace_words(isa.exit_insn().encode())


def invalid_slot(rng: random.Random) -> tuple[int, int]:
    """A slot the validator refuses: an executable opcode with one field off its rule (a write to
    r10, a register past r10, a reserved field set), or any opcode with random fields."""
    while True:
        if rng.random() < 0.7:
            opcode = rng.choice([op for op in range(256) if RULE_TABLE_V2[op]])
            f = RULE_FIELDS[RULE_TABLE_V2[opcode]]
            dst = rng.randrange({"w": 10, "r": 11, "0": 1}[f.dst])
            src = rng.randrange({"w": 10, "r": 11, "0": 1}[f.src])
            off = rng.choice(f.off) if f.off else rng.getrandbits(16)
            imm = rng.choice(f.imm) if f.imm else rng.getrandbits(32)
            which = rng.randrange(4)
            dst = rng.choice([10, 11, 15]) if which == 0 else dst
            src = rng.choice([1, 11, 15]) if which == 1 else src
            off = rng.choice([1, 2, 0xFFFF]) if which == 2 else off
            imm = rng.choice([1, 0xFFFF_FFFF]) if which == 3 else imm
            lo, hi = opcode | dst << 8 | src << 12 | off << 16, imm
        else:
            lo, hi = rng.getrandbits(32), rng.getrandbits(32)
        if not slot_ok(lo, hi, v2=True):
            return lo, hi


@dataclass
class Recorder:
    """Everything the block wrote towards the rest of the NIC."""
    entry_writes: list = field(default_factory=list)     # (index, cycle): an entry's write starts
    atom_writes: list = field(default_factory=list)      # (index, cell, slot, atom words, cycle)
    trace_lens: list = field(default_factory=list)       # entry_wr_trace_len of each entry write
    trace_writes: list = field(default_factory=list)     # (addr, data)
    fills: list = field(default_factory=list)            # (index, evict)
    invalidates: int = 0
    seeds: list = field(default_factory=list)
    writes_while_busy: int = 0                           # entry/trace writes without the grant


class AxilTb:
    def __init__(self, dut):
        self.dut = dut
        self.cfg = NicConfig(n_entries=param("N_ENTRIES"), max_atoms=param("MAX_ATOMS"),
                             max_trace_len=param("MAX_TRACE_LEN"), hdr_bytes=param("HDR_BYTES"),
                             pkt_bytes=param("PKT_BYTES"),
                             exec_budget=param("EXEC_BUDGET", enc.EXEC_BUDGET),
                             n_slots=param("N_SLOTS", enc.N_SLOTS),
                             n_len_atoms=param("N_LEN_ATOMS", enc.N_LEN_ATOMS),
                             n_gen_atoms=param("N_GEN_ATOMS", enc.N_GEN_ATOMS))
        self.slot_w = max(1, (self.cfg.max_trace_len - 1).bit_length())
        Clock(dut.clk, 10, unit="ns", impl="gpi").start(start_high=False)
        dut.engine_idle.value = 1
        dut.pol_victim.value = 0
        dut.cnt_inc.value = 0
        dut.cnt_exec_cycles.value = 0
        dut.cnt_map_ops.value = 0
        dut.hit_valid.value = 0
        dut.hit_index.value = 0
        dut.map_reg_rdata.value = 0     # the map region is jitnic_maps' (tb/maps, tb/top)
        dut.map_busy.value = 0
        self.axil = AxilMaster(dut, dut.clk)
        self.nic = NicDriver(self.axil)
        self.rec = Recorder()

    async def reset(self):
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 3)
        self.dut.rst.value = 0
        await RisingEdge(self.dut.clk)
        cocotb.start_soon(self._record())

    async def _record(self):
        dut, rec = self.dut, self.rec
        cycle = 0
        while True:
            await RisingEdge(dut.clk)
            cycle += 1
            granted = int(dut.engine_hold.value) and int(dut.engine_idle.value)
            if int(dut.entry_wr_en.value):
                rec.entry_writes.append((int(dut.entry_wr_index.value), cycle))
                rec.trace_lens.append(int(dut.entry_wr_trace_len.value))
                rec.writes_while_busy += not granted
            if int(dut.atom_wr_en.value):
                rec.atom_writes.append((int(dut.entry_wr_index.value), int(dut.atom_wr_cell.value),
                                        int(dut.atom_wr_slot.value), int(dut.atom_wr_words.value),
                                        cycle))
                rec.writes_while_busy += not granted
            if int(dut.trace_wr_en.value):
                rec.trace_writes.append((int(dut.trace_wr_addr.value), int(dut.trace_wr_data.value)))
                rec.writes_while_busy += not granted
            if int(dut.pol_fill_valid.value):
                rec.fills.append((int(dut.pol_fill_index.value), bool(int(dut.pol_fill_evict.value))))
            if int(dut.pol_invalidate_all.value):
                rec.invalidates += 1
                rec.writes_while_busy += not granted
            if int(dut.pol_seed_valid.value):
                rec.seeds.append(int(dut.pol_seed.value))

    def valid_bits(self) -> list[bool]:
        v = int(self.dut.entry_valid.value)
        return [bool(v >> i & 1) for i in range(self.cfg.n_entries)]


def exit_trace(rng: random.Random, n: int) -> list[tuple[int, int]]:
    """n slots of supported instructions ending in exit."""
    body, slots = [], 0
    while slots < n - 1:
        choice = rng.random()
        if choice < 0.2 and slots < n - 2:
            insn = isa.ld_imm64(rng.randrange(10), rng.getrandbits(64))
        elif choice < 0.6:
            insn = isa.alu64_imm(rng.choice([0x00, 0x10, 0xA0, 0x50]), rng.randrange(10),
                                 rng.getrandbits(31))
        else:
            insn = isa.mov64_imm(0, rng.randrange(5))
        body.append(insn)
        slots += insn.slots
    code = isa.encode(body + [isa.exit_insn()])
    words = enc.trace_words(code)
    assert len(words) == n
    return words


def random_atoms(rng: random.Random, k: int, hdr: int, pool=None) -> list[Atom]:
    """k atoms; packet fields (offset, width, big-endian) from `pool` when given."""
    out = []
    for _ in range(k):
        if pool:
            offset, width, be = rng.choice(pool)
        else:
            width = rng.choice([1, 2, 4])
            offset, be = rng.randrange(hdr - width + 1), rng.random() < 0.5
        kind = AtomKind.LEN if rng.random() < 0.2 else AtomKind.PKT
        out.append(Atom(kind, AtomOp(rng.randrange(10)), offset, width, be, rng.getrandbits(32),
                        rng.getrandbits(32)))
    return out


@cocotb.test()
async def register_map(dut):
    tb = AxilTb(dut)
    await tb.reset()
    cfg = await tb.nic.config()
    policy = param("POLICY_CODE")
    assert cfg == {"id": enc.ID_VALUE, "version": enc.ABI_VERSION, "n_entries": tb.cfg.n_entries,
                   "max_atoms": tb.cfg.max_atoms, "max_trace_len": tb.cfg.max_trace_len,
                   "hdr_bytes": tb.cfg.hdr_bytes, "policy": policy, "pkt_bytes": tb.cfg.pkt_bytes,
                   "n_slots": tb.cfg.n_slots, "n_len_atoms": tb.cfg.n_len_atoms,
                   "n_gen_atoms": tb.cfg.n_gen_atoms}, cfg
    assert await tb.nic.slots(tb.cfg.n_slots) == [0] * tb.cfg.n_slots    # reset: none in use
    st = await tb.nic.status()
    assert not (st.busy or st.commit_ok or st.commit_err), st
    # unmapped, write-only and out-of-range addresses read 0
    unmapped = [enc.REG_CTRL, 0x0044, 0x00FC, 0x0200, enc.REG_SLOTS + 4 * tb.cfg.n_slots,
                enc.REG_COUNTERS + 4 * len(Counter),
                enc.REG_ENTRY_HITS + 4 * tb.cfg.n_entries,
                enc.REG_ENTRY_VALID + 4 * ((tb.cfg.n_entries + 31) // 32),
                enc.REG_STAGE_ATOMS + 12,
                enc.REG_STAGE_ATOMS + enc.ATOM_STRIDE * tb.cfg.max_atoms,
                enc.REG_STAGE_TRACE + enc.TRACE_STRIDE * tb.cfg.max_trace_len,
                enc.REG_MAP_REGION + enc.MAP_REGION_BYTES, 0xFFFC]
    for addr in unmapped:
        await tb.axil.write(addr, 0xFFFF_FFFF) if addr != enc.REG_CTRL else None
        assert await tb.axil.read(addr) == 0, f"{addr:#06x} should read 0"
    # the writes to unmapped addresses changed nothing visible
    assert await tb.nic.status() == st

    # staging read-back, every word of every atom and slot
    rng = random.Random(1)
    atom_vals = [[rng.getrandbits(32) for _ in range(3)] for _ in range(tb.cfg.max_atoms)]
    slot_vals = [[rng.getrandbits(32) for _ in range(2)] for _ in range(tb.cfg.max_trace_len)]
    for i, words in enumerate(atom_vals):
        for w, v in enumerate(words):
            await tb.axil.write(enc.REG_STAGE_ATOMS + 16 * i + 4 * w, v)
    for s, words in enumerate(slot_vals):
        for w, v in enumerate(words):
            await tb.axil.write(enc.REG_STAGE_TRACE + 8 * s + 4 * w, v)
    for reg in (enc.REG_STAGE_NATOMS, enc.REG_STAGE_TRACE_LEN, enc.REG_POLICY_SEED,
                enc.REG_PRANDOM_SEED):
        v = rng.getrandbits(32)
        await tb.axil.write(reg, v)
        assert await tb.axil.read(reg) == v
    for i, words in enumerate(atom_vals):
        for w, v in enumerate(words):
            got = await tb.axil.read(enc.REG_STAGE_ATOMS + 16 * i + 4 * w)
            assert got == v, f"atom {i} word {w}: {got:#x} != {v:#x}"
    for s, words in enumerate(slot_vals):
        for w, v in enumerate(words):
            got = await tb.axil.read(enc.REG_STAGE_TRACE + 8 * s + 4 * w)
            assert got == v, f"slot {s} word {w}: {got:#x} != {v:#x}"

    # byte strobes: write one byte lane at a time
    for reg in (enc.REG_POLICY_SEED, enc.REG_STAGE_ATOMS + 4, enc.REG_STAGE_TRACE + 12):
        await tb.axil.write(reg, 0x11223344)
        await tb.axil._guard(tb.axil.master.write(reg, 0xAABBCCDD, byte_enable=0b0101), "strobe")
        assert await tb.axil.read(reg) == 0x11BB33DD, f"{reg:#06x} strobes"
    assert tb.rec.entry_writes == [] and tb.rec.trace_writes == [] and tb.rec.fills == []


@cocotb.test()
async def commit_errors(dut):
    """Each rejection, with its code and index, counted in INSTALL_ERRORS and changing nothing."""
    tb = AxilTb(dut)
    await tb.reset()
    cfg, rng = tb.cfg, random.Random(2)
    hdr, max_atoms, max_len = cfg.hdr_bytes, cfg.max_atoms, cfg.max_trace_len
    good_atom = Atom(AtomKind.PKT, AtomOp.EQ, 12, 2, True, 0xFFFF, 0x0800)
    good = exit_trace(rng, min(4, max_len))
    ja = isa.ja(0).encode()
    call = isa.call_helper(1).encode()
    xadd = isa.atomic(8, 0x00, 1, 2, 0).encode()

    def words(insn_bytes):
        return enc.trace_words(insn_bytes)[0]

    mov = words(isa.mov64_imm(0, 2).encode())
    ex = words(isa.exit_insn().encode())
    ld = enc.trace_words(isa.ld_imm64(3, 0x1122334455667788).encode())
    ld_pseudo = enc.trace_words(isa.ld_imm64(3, 7, src=1).encode())
    bad_width = (Atom(AtomKind.PKT, AtomOp.EQ, 0, 1).words()[0] | 0x30, 0xFF, 1)
    bad_op = (Atom(AtomKind.PKT, AtomOp.EQ, 0, 1).words()[0] | 0xA, 0xFF, 1)

    cases = [
        ("too many atoms", [good_atom], max_atoms + 1, good, len(good)),
        ("too many atoms (huge)", [good_atom], 0x1_0003, good, len(good)),
        ("bad atom op", [good_atom, bad_op], 2, good, len(good)),
        ("bad atom width", [bad_width], 1, good, len(good)),
        ("atom window", [Atom(AtomKind.PKT, AtomOp.EQ, hdr - 1, 2)], 1, good, len(good)),
        ("atom window 4B", [good_atom, Atom(AtomKind.PKT, AtomOp.NE, hdr - 3, 4)], 2, good, len(good)),
        ("window before bad op", [Atom(AtomKind.PKT, AtomOp.EQ, hdr, 1), bad_op], 2, good, len(good)),
        ("bad width and window, same atom", [good_atom, (Atom(AtomKind.PKT, AtomOp.EQ, hdr, 1).words()[0] | 0x30, 1, 1)],
         2, good, len(good)),
        ("bad op and window, same atom", [(Atom(AtomKind.PKT, AtomOp.EQ, hdr - 1, 2).words()[0] | 0xF, 1, 1)],
         1, good, len(good)),
        ("trace len 0", [], 0, good, 0),
        ("trace len too long", [], 0, good, max_len + 1),
        ("jump", [], 0, [mov, words(ja), ex], 3),
        ("call", [], 0, [words(call), ex], 2),
        ("atomic", [], 0, [mov, words(xadd), ex], 3),
        ("jump to the guard exit", [], 0, [words(isa.ja(1).encode()), mov, ex], 3),
        ("jump past the guard exit", [], 0, [words(isa.ja(2).encode()), mov, ex], 3),
        ("jump backwards", [], 0, [mov, words(isa.ja(-2).encode()), ex], 3),
        ("jump to itself", [], 0, [mov, words(isa.ja(-1).encode()), ex], 3),
        ("jump into LD_IMM64", [], 0, [words(isa.jmp_imm(0x10, 1, 0, 1).encode())] + ld + [ex], 4),
        ("jump onto LD_IMM64", [], 0, [words(isa.jmp_imm(0x10, 1, 0, 0).encode())] + ld + [ex], 4),
        ("call outside the helper set", [], 0, [mov, words(isa.call_helper(6).encode()), ex], 3),
        ("call with src 1", [], 0, [(0x85 | 1 << 12, 1), ex], 2),
        ("LD_IMM64 pseudo", [], 0, ld_pseudo + [ex], 3),
        ("LD_IMM64 missing half", [], 0, [mov, ld[0]], 2),
        ("LD_IMM64 last", [], 0, [mov] + ld, 3),
        ("no exit", [], 0, [mov, mov], 2),
        ("no exit single", [], 0, [mov], 1),
        ("neg reg form", [], 0, [(0x8F, 0), ex], 2),
        ("ldx dw sx", [], 0, [(0x99 | 1 << 12, 0), ex], 2),
        ("opcode zero", [], 0, [(0x00, 0), ex], 2),
        ("legacy LD_ABS", [], 0, [(0x20, 0), ex], 2),
        ("end ALU64 to-be", [], 0, [(0xDF, 16), ex], 2),
        ("add r10, 1", [], 0, [words(isa.alu64_imm(isa.BPF_ADD, 10, 1).encode()), ex], 2),
        ("mov r11", [], 0, [words(isa.mov64_imm(11, 1).encode()), ex], 2),
        ("exit with imm", [], 0, [(0x95, 1)], 1),
        ("lddw r10", [], 0, enc.trace_words(isa.ld_imm64(10, 5).encode()) + [ex], 3),
    ]
    # over the execution budget: 64-bit divides until the budget is passed (where they fit)
    div = words(isa.alu64_imm(isa.BPF_DIV, 0, 3).encode())
    n_div = cfg.exec_budget // enc.EXEC_COST_DIV64 + 1
    if n_div + 1 <= max_len:
        cases.append(("budget", [], 0, [div] * n_div + [ex], n_div + 1))
        cases.append(("budget at the limit", [], 0, [div] * (n_div - 1) + [ex], n_div))
    plain = cfg.exec_budget + 1
    if plain <= max_len:
        cases.append(("budget, plain slots", [], 0, [mov] * (plain - 1) + [ex], plain))
    # map helper calls cost the lookup's budget
    n_calls = cfg.exec_budget // 24 + 1
    if n_calls + 1 <= max_len:
        cases.append(("budget, calls", [], 0, [words(call)] * n_calls + [ex], n_calls + 1))
    # random v2 traces: jumps, calls, atomics
    for _ in range(40):
        n = rng.randrange(1, max_len + 1)
        cases.append(("v2", [], 0, v2_trace(rng, n), n))
    # random invalid slots at random places of otherwise good traces
    for _ in range(40):
        n = rng.randrange(2, max_len + 1)
        tr = [mov] * (n - 1) + [ex]
        tr[rng.randrange(n)] = invalid_slot(rng)
        cases.append(("invalid slot", [], 0, tr, n))
    # random garbage traces as well
    for _ in range(15):
        n = rng.randrange(1, max_len + 1)
        tr = [(rng.getrandbits(32), rng.getrandbits(32)) for _ in range(n)]
        if rng.random() < 0.5:
            tr[-1] = ex
        cases.append(("random", [], 0, tr, n))

    errors = accepted = 0
    seen = set()
    for name, atoms, natoms, trace, tlen in cases:
        if len(trace) > max_len or len(atoms) > max_atoms:
            continue
        raw = [a.words() if isinstance(a, Atom) else a for a in atoms]
        expected = reference_commit(raw, natoms, trace, tlen, cfg)
        if expected[0] == ErrorCode.WB_OVERFLOW:
            continue                    # the host's check alone (docs/abi.md)
        seen.add(expected[0])
        valid_before = tb.valid_bits()
        n_writes = len(tb.rec.entry_writes)
        await tb.nic.stage(atoms, trace, natoms=natoms, trace_len=tlen)
        result = await tb.nic.commit()
        if expected[0] == ErrorCode.NONE:
            assert result.ok, f"{name}: expected accept, got {result}"
            accepted += 1
            continue
        errors += 1
        assert not result.ok, f"{name}: expected {expected}, accepted"
        assert (result.error, result.index) == expected, f"{name}: got {result.error.name} @{result.index}, expected {expected[0].name} @{expected[1]}"
        assert tb.valid_bits() == valid_before and len(tb.rec.entry_writes) == n_writes, f"{name} changed state"
        assert (await tb.nic.read_counters([Counter.INSTALL_ERRORS]))[Counter.INSTALL_ERRORS] == errors
    assert errors >= 15
    # the v2 verdicts were all exercised
    assert {ErrorCode.BAD_JUMP, ErrorCode.BAD_CALL, ErrorCode.NONE} <= seen, seen
    counts = await tb.nic.read_counters([Counter.INSTALLS, Counter.INSTALL_ERRORS])
    assert counts == {Counter.INSTALLS: accepted, Counter.INSTALL_ERRORS: errors}
    assert len(tb.rec.fills) == accepted


@cocotb.test()
async def commit_installs(dut):
    """Good commits: lowest invalid entry first, then the policy's victim; atoms and trace copied;
    the copy happens only while the packet engine is held and idle; counters and STATUS."""
    tb = AxilTb(dut)
    await tb.reset()
    cfg, rng = tb.cfg, random.Random(3)
    n = cfg.n_entries
    installs = evictions = slot_errors = cell_errors = 0
    cells_used = Tally()
    expected_valid = [False] * n
    # the bench's mirror of the extractor slots: fields, and the slots each entry reads
    fields, uses = [0] * cfg.n_slots, [0] * n
    pool = []
    while len(pool) < cfg.n_slots + 3:
        width = rng.choice([1, 2, 4])
        f = (rng.randrange(cfg.hdr_bytes - width + 1), width, rng.random() < 0.5)
        if all(f[:2] != g[:2] for g in pool):
            pool.append(f)
    for round_ in range(3 * (n + 6 + cfg.n_slots)):
        if installs >= n + 6 and slot_errors >= 3 and cell_errors >= 3:
            break
        natoms = min(cfg.max_atoms, rng.choice([0, 1, 2, 3, rng.randrange(cfg.max_atoms + 1)]))
        atoms = random_atoms(rng, natoms, cfg.hdr_bytes, pool)
        trace = exit_trace(rng, rng.randrange(1, cfg.max_trace_len + 1))
        # keep the engine busy for a while: the commit must wait
        engine_busy = rng.choice([0, 0, 5, 40])
        victim = rng.randrange(n)
        dut.pol_victim.value = victim
        dut.engine_idle.value = 0 if engine_busy else 1
        await tb.nic.stage(atoms, trace)
        entry_writes, trace_writes = len(tb.rec.entry_writes), len(tb.rec.trace_writes)
        atom_writes = len(tb.rec.atom_writes)
        slot_words_before = await tb.nic.slots(cfg.n_slots)
        await tb.nic.ctrl(enc.CTRL_COMMIT)
        if engine_busy:
            await ClockCycles(dut.clk, engine_busy)
            st = await tb.nic.status()
            assert st.busy and int(dut.engine_hold.value), "commit must wait for the engine"
            assert len(tb.rec.entry_writes) == entry_writes, "entry written while the engine was busy"
            dut.engine_idle.value = 1
        st = await tb.nic.wait_idle()
        expect_entry = expected_valid.index(False) if not all(expected_valid) else victim
        evict = all(expected_valid)
        in_use = 0
        for i in range(n):
            if expected_valid[i] and i != expect_entry:
                in_use |= uses[i]
        entry_plan = plan_entry([a.words()[0] for a in atoms], fields, in_use, cfg.n_len_atoms,
                                cfg.n_gen_atoms)
        plan, cells = entry_plan.slots, entry_plan.cells
        if entry_plan.error != ErrorCode.NONE:
            # no slot or no cell left for atom entry_plan.index: refused after the engine was
            # held, nothing changes
            assert st.commit_err and not st.commit_ok, st
            assert await tb.nic.error() == (entry_plan.error, entry_plan.index)
            assert len(tb.rec.entry_writes) == entry_writes and tb.valid_bits() == expected_valid
            assert len(tb.rec.atom_writes) == atom_writes
            assert not int(dut.engine_hold.value), "engine still held after a refused commit"
            assert await tb.nic.slots(cfg.n_slots) == slot_words_before, "slots changed"
            slot_errors += entry_plan.error == ErrorCode.SLOTS_FULL
            cell_errors += entry_plan.error == ErrorCode.CELLS_FULL
            continue
        assert st.commit_ok and not st.commit_err, st
        assert (st.last_entry, st.last_evicted) == (expect_entry, evict), (st, expect_entry, evict)
        assert await tb.nic.error() == (ErrorCode.NONE, 0)
        installs += 1
        evictions += evict
        expected_valid[expect_entry] = True
        assert tb.valid_bits() == expected_valid
        assert await tb.nic.entry_valid(n) == expected_valid
        # what went to the match table and the trace RAM
        (index, start), = tb.rec.entry_writes[entry_writes:]
        assert index == expect_entry
        assert tb.rec.trace_lens[-1] == len(trace), "entry_wr_trace_len"
        # then the atoms, one per cycle, each into its cell (general atoms: with their slot)
        written = tb.rec.atom_writes[atom_writes:]
        assert len(written) == natoms, f"{len(written)} atom writes for {natoms} atoms"
        first_general = cfg.n_slots + cfg.n_len_atoms
        for i, (a, k, cell, (w_index, w_cell, w_slot, w_words, w_cycle)) in enumerate(
                zip(atoms, plan.atom_slots, cells.atom_cells, written)):
            ctrl, mask, const = a.words()
            assert (w_index, w_cell, w_cycle) == (expect_entry, cell, start + 1 + i), f"atom {i}"
            assert w_words == ctrl | mask << 32 | const << 64, f"atom {i} words"
            if cell >= first_general and k is not None:
                assert w_slot == k, f"atom {i}: general atom's slot"
            cells_used["slot" if cell < cfg.n_slots else
                       "length" if cell < first_general else "general"] += 1
        for k, word_k in plan.configure:
            fields[k] = word_k
        uses[expect_entry] = plan.uses
        used = 0
        for i in range(n):
            if expected_valid[i]:
                used |= uses[i]
        await ClockCycles(dut.clk, 1)
        assert int(dut.slot_fields.value) == sum(w << (32 * k) for k, w in enumerate(fields))
        assert await tb.nic.slots(cfg.n_slots) == [
            w | (enc.SLOT_IN_USE if used >> k & 1 else 0) for k, w in enumerate(fields)]
        copied = tb.rec.trace_writes[trace_writes:]
        want = [((expect_entry << tb.slot_w) | s, lo | hi << 32) for s, (lo, hi) in enumerate(trace)]
        assert copied == want, "trace copy"
        assert tb.rec.fills[-1] == (expect_entry, evict)
        assert len(tb.rec.fills) == installs
    counts = await tb.nic.read_counters([Counter.INSTALLS, Counter.EVICTIONS, Counter.INSTALL_ERRORS])
    assert counts == {Counter.INSTALLS: installs, Counter.EVICTIONS: evictions,
                      Counter.INSTALL_ERRORS: slot_errors + cell_errors}
    assert tb.rec.writes_while_busy == 0
    dut._log.info("%d installs, %d refused with SLOTS_FULL, %d with CELLS_FULL; atoms per cell "
                  "kind %s", installs, slot_errors, cell_errors, dict(cells_used))
    assert installs >= n + 6 and evictions > 0, "too few installs to evict"
    assert slot_errors > 0, "the bench never ran out of extractor slots"
    assert cell_errors > 0, "the bench never ran out of compare cells"
    for kind, k in (("length", cfg.n_len_atoms), ("general", cfg.n_gen_atoms)):
        assert not k or cells_used[kind], f"no atom went to a {kind} cell"

    # AXI writes wait while a commit waits for the engine; reads go on
    dut.engine_idle.value = 0
    await tb.nic.ctrl(enc.CTRL_COMMIT)
    write = cocotb.start_soon(tb.axil.write(enc.REG_POLICY_SEED, 0x1234))
    await ClockCycles(dut.clk, 30)
    assert not write.done(), "a write completed during a commit"
    assert (await tb.nic.status()).busy
    dut.engine_idle.value = 1
    await write
    assert await tb.axil.read(enc.REG_POLICY_SEED) == 0x1234

    # invalidate-all: waits for the engine, clears valid bits, tells the policy
    dut.engine_idle.value = 0
    await tb.nic.ctrl(enc.CTRL_INVALIDATE_ALL)
    await ClockCycles(dut.clk, 10)
    assert any(tb.valid_bits()) and tb.rec.invalidates == 0
    dut.engine_idle.value = 1
    await tb.nic.wait_idle()
    assert tb.valid_bits() == [False] * n and tb.rec.invalidates == 1
    assert not any(w & enc.SLOT_IN_USE for w in await tb.nic.slots(cfg.n_slots)), \
        "INVALIDATE_ALL releases every extractor slot"
    # invalidate + commit in one write: invalidate first, so the commit lands in entry 0
    await tb.nic.stage([], exit_trace(rng, 1))
    await tb.nic.ctrl(enc.CTRL_INVALIDATE_ALL | enc.CTRL_COMMIT)
    st = await tb.nic.wait_idle()
    assert st.commit_ok and st.last_entry == 0 and tb.rec.invalidates == 2
    assert tb.valid_bits() == [True] + [False] * (n - 1)


@cocotb.test()
async def counters_and_control(dut):
    tb = AxilTb(dut)
    await tb.reset()
    rng = random.Random(4)
    n = tb.cfg.n_entries
    expect = {c: 0 for c in Counter}
    hits = [0] * n
    await FallingEdge(dut.clk)
    for _ in range(300):
        bits = rng.getrandbits(len(Counter)) & rng.getrandbits(len(Counter))
        cycles = rng.getrandbits(12)
        map_ops = rng.getrandbits(16)
        hit = rng.random() < 0.5
        index = rng.randrange(n)
        dut.cnt_inc.value = bits
        dut.cnt_exec_cycles.value = cycles
        dut.cnt_map_ops.value = map_ops
        dut.hit_valid.value = int(hit)
        dut.hit_index.value = index
        for c in Counter:
            if bits >> c & 1 and c not in (Counter.INSTALLS, Counter.EVICTIONS, Counter.INSTALL_ERRORS):
                expect[c] += (cycles if c == Counter.EXEC_CYCLES else
                              map_ops if c == Counter.MAP_OPS else 1)
        hits[index] += hit
        await FallingEdge(dut.clk)
    dut.cnt_inc.value = 0
    dut.hit_valid.value = 0
    assert await tb.nic.read_counters() == expect
    assert await tb.nic.entry_hits(n) == hits
    # wrap-around of a counter
    await FallingEdge(dut.clk)
    dut.cnt_inc.value = 1 << Counter.EXEC_CYCLES
    dut.cnt_exec_cycles.value = 0xFFFF_FFFF
    await FallingEdge(dut.clk)
    dut.cnt_inc.value = 0
    got = (await tb.nic.read_counters([Counter.EXEC_CYCLES]))[Counter.EXEC_CYCLES]
    assert got == (expect[Counter.EXEC_CYCLES] + 0xFFFF_FFFF) & 0xFFFF_FFFF
    await tb.nic.clear_counters()
    assert set((await tb.nic.read_counters()).values()) == {0}
    assert set(await tb.nic.entry_hits(n)) == {0}
    # an increment in the very cycle CLEAR_COUNTERS takes effect is counted, not lost: events
    # every cycle while the clear lands; afterwards each counter holds the events from the
    # clearing cycle on
    events = {"after": 0, "cleared": False}

    async def pulse():
        while True:
            await RisingEdge(dut.clk)
            if int(dut.clear_c.value):
                events["cleared"], events["after"] = True, 0
            if events["cleared"] and int(dut.cnt_inc.value):
                events["after"] += 1
    dut.cnt_inc.value = 1 << Counter.HITS
    dut.hit_valid.value = 1
    dut.hit_index.value = 0
    watch = cocotb.start_soon(pulse())
    await ClockCycles(dut.clk, 3)
    await tb.nic.clear_counters()
    await ClockCycles(dut.clk, 3)
    await FallingEdge(dut.clk)
    dut.cnt_inc.value = 0
    dut.hit_valid.value = 0
    await RisingEdge(dut.clk)
    watch.cancel()
    assert events["cleared"] and events["after"] > 0
    got = (await tb.nic.read_counters([Counter.HITS]))[Counter.HITS]
    assert got == events["after"], f"HITS {got} after clear, {events['after']} events from the clear on"
    assert (await tb.nic.entry_hits(n))[0] == events["after"]
    await tb.nic.clear_counters()
    # reseed: the policy gets POLICY_SEED
    await tb.nic.reseed(0xDEADBEEF)
    await tb.nic.reseed(0)
    await ClockCycles(dut.clk, 2)
    assert tb.rec.seeds == [0xDEADBEEF, 0]
    # REG_PRANDOM_SEED goes out beside it (the NIC's prandom LFSR loads it on the same pulse)
    await tb.axil.write(enc.REG_PRANDOM_SEED, 0x1234_5678)
    assert int(dut.prandom_seed.value) == 0x1234_5678


CONFIGS = [
    dict(N_ENTRIES=16, MAX_ATOMS=16, MAX_TRACE_LEN=64, HDR_BYTES=128, PKT_BYTES=2048, POLICY_CODE=0,
         N_SLOTS=8, N_LEN_ATOMS=2, N_GEN_ATOMS=4),
    dict(N_ENTRIES=2, MAX_ATOMS=3, MAX_TRACE_LEN=8, HDR_BYTES=32, PKT_BYTES=256, POLICY_CODE=3,
         EXEC_BUDGET=8, N_SLOTS=2, N_LEN_ATOMS=0, N_GEN_ATOMS=1),
    dict(N_ENTRIES=64, MAX_ATOMS=4, MAX_TRACE_LEN=16, HDR_BYTES=64, PKT_BYTES=1024, POLICY_CODE=2,
         EXEC_BUDGET=200, N_SLOTS=5, N_LEN_ATOMS=1, N_GEN_ATOMS=1),
]


@pytest.mark.rtl
@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: "n{N_ENTRIES}-a{MAX_ATOMS}-t{MAX_TRACE_LEN}".format(**c))
def test_axil(cfg):
    run_cocotb("jitnic_axil_regs", "tb.axil.test_axil", parameters=cfg)
