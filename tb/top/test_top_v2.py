"""jitnic_top with trace format v2 (issue 10): commits of the tracer's v2 traces, guard
fall-through across entries, and guards of a relational program, every frame and counter checked
against the NIC model with `NicConfig(v2=True)` (jit/nic/model.py, whose `_fall_through` is the
order the RTL must follow). Nothing is hard-coded: expected commit verdicts come from
jit.nic.validate.validate_words(v2=True), routing and counters from the model.
"""
from __future__ import annotations

import dataclasses
import random

import cocotb
import pytest
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from jit.ebpf import elf, isa
from jit.ebpf.maps import contents as mc
from jit.ebpf.runtime import XdpRuntime
from jit.host.miss_handler import compile_path
from jit.nic import encoding as enc
from jit.nic.encoding import Atom, AtomKind, AtomOp, Counter, ErrorCode
from jit.nic.model import NicModel
from jit.nic.validate import RULE_TABLE_V2, SlotRule, validate_words
from jit.paths import program_maps_file, program_object
from tb.common.nic import NicTb
from tb.common.runner import run_cocotb

XDP_DROP, XDP_PASS, XDP_TX = 1, 2, 3
JUMPS = (SlotRule.JA, SlotRule.JCOND_K, SlotRule.JCOND_X)


class V2Tb(NicTb):
    """NicTb with the v2 NIC model as the reference."""

    def __init__(self, dut, **kw):
        super().__init__(dut, **kw)
        self.model = NicModel(dataclasses.replace(self.params.model_config(), v2=True))

    async def install_both(self, atoms: list[Atom], code: bytes):
        """Commit on the RTL and the model; they must agree (entry, eviction, error and index)."""
        want = self.model.install(atoms, code)
        got = await self.install(atoms, code)
        assert (got.entry if got.ok else want[0], got.evicted if got.ok else want[1], got.error) == want, \
            f"RTL {got} != model {want}"
        return got

    def expect_frame(self, frame: bytes) -> None:
        self.expect_outcome(self.model.process(frame), self.model.state)
        self.send(frame)

    async def check_counters(self) -> None:
        got = await self.counters()
        for c in Counter:
            if c != Counter.EXEC_CYCLES:
                assert got[c] == self.model.counters[c], \
                    f"{c.name}: RTL {got[c]} != model {self.model.counters[c]}"
        hits = await self.nic.entry_hits(self.params.n_entries)
        assert hits == self.model.entry_hits, f"entry hits {hits} != model {self.model.entry_hits}"


def linked_runtime(name: str):
    lk = elf.load_linked(program_object(name), name)
    f = program_maps_file(name)
    return lk, XdpRuntime(lk, maps_in=mc.read_file(f, lk.maps) if f.exists() else None)


def sample_frames(rng: random.Random, n: int) -> list[bytes]:
    """UDP and TCP frames over a few addresses and ports, some with equal source and
    destination (land_filter's relation)."""
    out = []
    for _ in range(n):
        a = f"10.0.0.{rng.randrange(1, 4)}"
        b = a if rng.random() < 0.4 else f"10.0.1.{rng.randrange(1, 4)}"
        sport = rng.choice([53, 80, 1234])
        dport = sport if rng.random() < 0.5 else rng.choice([53, 80, 443])
        l4 = UDP(sport=sport, dport=dport) if rng.random() < 0.5 else TCP(sport=sport, dport=dport)
        out.append(bytes(Ether() / IP(src=a, dst=b) / l4 / Raw(bytes(rng.randrange(4, 30)))))
    return out


def traced(name: str, frames: list[bytes], p, rt=None) -> list:
    """The distinct v2 NIC traces (CompiledTrace) of `name` on `frames` (each frame run once
    through the runtime `rt`, a fresh one with the shipped maps if None)."""
    lk, fresh = linked_runtime(name)
    rt = rt or fresh
    out, seen = [], set()
    for f in frames:
        _tr, compiled, _reason = compile_path(lk.insns, f, max_atoms=p.max_atoms,
                                              max_trace_len=p.max_trace_len, hdr_bytes=p.hdr_bytes,
                                              n_slots=p.n_slots, runtime=rt, guards=True)
        if compiled is not None and (compiled.atoms, compiled.code) not in seen:
            seen.add((compiled.atoms, compiled.code))
            out.append(compiled)
    return out


@cocotb.test()
async def v2_commits(dut):
    """The tracer's v2 traces of the map programs commit (their jumps, calls and atomics pass the
    commit engine), and the same traces broken on purpose are refused with the validator's code
    and slot index: a jump past the guard exit (BAD_JUMP), a call outside the helper set
    (BAD_CALL)."""
    tb = V2Tb(dut)
    await tb.reset()
    p, rng = tb.params, random.Random(10)
    frames = sample_frames(rng, 12)
    kinds, refused = set(), {}
    for name in ("proto_stats", "deny_list", "tail_dispatch", "config_filter", "land_filter"):
        for compiled in traced(name, frames, p):
            atoms, code = list(compiled.atoms), compiled.code
            words = enc.trace_words(code)
            rules = [RULE_TABLE_V2[lo & 0xFF] for lo, _ in words]
            kinds |= {r for r in rules if r in (*JUMPS, SlotRule.CALL, SlotRule.ATOMIC)}
            assert (await tb.install_both(atoms, code)).ok, f"{name}: a tracer trace was refused"
            for slot, rule in enumerate(rules):
                lo, hi = words[slot]
                if rule in JUMPS and slot + 1 < len(words) and rules[slot - 1] != SlotRule.LDDW:
                    off = len(words) - slot            # target = trace length + 1
                    broken = words[:slot] + [(lo & 0xFFFF | off << 16, hi)] + words[slot + 1:]
                elif rule == SlotRule.CALL:
                    broken = words[:slot] + [(lo, 6)] + words[slot + 1:]     # trace_printk
                else:
                    continue
                want = validate_words([a.words() for a in atoms], len(atoms), broken, len(broken),
                                      max_atoms=p.max_atoms, max_trace_len=p.max_trace_len,
                                      hdr_bytes=p.hdr_bytes, v2=True)
                assert want[0] != ErrorCode.NONE
                got = await tb.install_both(atoms, b"".join(
                    lo2.to_bytes(4, "little") + hi2.to_bytes(4, "little") for lo2, hi2 in broken))
                assert (got.error, got.index) == want, f"{name} slot {slot}: {got} != {want}"
                refused[want[0].name] = refused.get(want[0].name, 0) + 1
    dut._log.info("v2 kinds committed: %s; refused: %s", sorted(k.name for k in kinds), refused)
    assert {SlotRule.CALL, SlotRule.ATOMIC, SlotRule.JCOND_K, SlotRule.JCOND_X} <= kinds, kinds
    assert refused.get("BAD_JUMP") and refused.get("BAD_CALL"), refused
    await tb.check_counters()


def guarded(value: int, action: int) -> bytes:
    """Guard: frame byte 14 == value (a jump to the trace length fails it), then `action`."""
    return isa.encode([isa.ldx(4, 2, 1, 0), isa.ldx(1, 3, 2, 14),
                       isa.jmp_imm(isa.BPF_JNE, 3, value, 2),
                       isa.mov64_imm(0, action), isa.exit_insn()])


@cocotb.test()
async def guard_fall_through(dut):
    """Entries 0..3 guard on frame byte 14 == 1..4 (entry 1 matches only frames of >= 61 bytes),
    entry 4 has no guard. A failed guard runs the next matching entry of higher index, at most
    MAX_GUARD_TRIES attempts in all: a 60-byte frame with byte 5 reaches entry 4 (entries 0, 2, 3
    fail first), a 64-byte one exhausts its tries on entries 0..3 and goes to the host as a MISS
    (GUARD_MISSES). Lanes run such frames at once; idle gaps and back-pressure on."""
    tb = V2Tb(dut, idle=0.2, backpressure=0.2, seed=3)
    await tb.reset()
    if tb.params.n_entries < 5:
        raise AssertionError("guard_fall_through needs N_ENTRIES >= 5")
    assert enc.MAX_GUARD_TRIES == 4, "the entries below are laid out for MAX_GUARD_TRIES = 4"
    for k, action in enumerate([XDP_TX, XDP_PASS, XDP_DROP, XDP_TX]):
        atoms = [Atom(AtomKind.LEN, AtomOp.GE, const=61 if k == 1 else 20)]
        assert (await tb.install_both(atoms, guarded(k + 1, action))).entry == k
    await tb.install_both([Atom(AtomKind.LEN, AtomOp.GE, const=20)],
                          isa.encode([isa.mov64_imm(0, XDP_PASS), isa.exit_insn()]))
    rng = random.Random(11)
    for _ in range(80):
        n = rng.choice([60, 64])
        tb.expect_frame(bytes(rng.getrandbits(8) for _ in range(14)) + bytes([rng.randrange(1, 7)])
                        + bytes(rng.getrandbits(8) for _ in range(n - 15)))
    await tb.wait_outputs()
    tb.check()
    await tb.check_counters()
    c = tb.model.counters
    dut._log.info("hits %d, guard misses %d, entry hits %s", c[Counter.HITS],
                  c[Counter.GUARD_MISSES], tb.model.entry_hits[:5])
    assert c[Counter.GUARD_MISSES] > 0 and all(tb.model.entry_hits[:5]), "a case was not exercised"


@cocotb.test()
async def relational_guards(dut):
    """land_filter's traces (a relation between fields, checked as a guard instead of pinned)
    from the tracer, on frames that pass and fail their guards."""
    tb = V2Tb(dut, idle=0.1, backpressure=0.1, seed=4)
    await tb.reset()
    rng = random.Random(12)
    for compiled in traced("land_filter", sample_frames(rng, 6), tb.params):
        assert (await tb.install_both(list(compiled.atoms), compiled.code)).ok
    for frame in sample_frames(rng, 60):
        tb.expect_frame(frame)
    await tb.wait_outputs()
    tb.check()
    await tb.check_counters()
    c = tb.model.counters
    dut._log.info("land_filter: hits %d, guard misses %d, misses %d", c[Counter.HITS],
                  c[Counter.GUARD_MISSES], c[Counter.MISSES])
    assert c[Counter.HITS] and c[Counter.GUARD_MISSES], "guards never both passed and failed"


CONFIGS = {
    "default": dict(),
    "n8-l1-dw512": dict(N_ENTRIES=8, N_LANES=1, DATA_WIDTH=512, POLICY="fifo"),
}


@pytest.mark.rtl
@pytest.mark.parametrize("name", list(CONFIGS))
def test_top_v2(name):
    run_cocotb("jitnic_top", "tb.top.test_top_v2", parameters=CONFIGS[name])
