"""The NIC model (jit/nic/model.py, jit/nic/executor.py): commit validation, first-match priority, routing
and counters, executor faults, and trace execution agreeing with the reference interpreter."""
import dataclasses
import random

import pytest

from jit.ebpf import interp, isa, memmap
from jit.nic.encoding import Atom, AtomKind, AtomOp, Channel, Counter, ErrorCode, ExecError
from jit.nic.model import (NicConfig, NicModel, Outcome, _outcome, compile_condition, compile_lookup,
                       validate_entry)
from jit.nic.executor import compile_trace
from jit.nic import encoding as enc
from jit.paths import PROGRAM_NAMES
from tests.test_executor import CALLX, V2_ONLY

ETH_IPV6 = bytes(12) + b"\x86\xdd" + bytes(50)
ETH_IPV4 = bytes(12) + b"\x08\x00" + bytes(50)


def code(*insns):
    return isa.encode(list(insns))


def ret(action):
    return code(isa.mov64_imm(0, action), isa.exit_insn())


def is_ipv6():
    return [Atom(AtomKind.LEN, AtomOp.GE, const=14),
            Atom(AtomKind.PKT, AtomOp.EQ, 12, 2, True, 0xFFFF, 0x86DD)]


def test_validation_reports_the_first_failure_in_abi_order():
    cfg = NicConfig(max_atoms=2, max_trace_len=4)
    words = enc.trace_words
    many = [Atom(AtomKind.LEN, AtomOp.GE, const=1)] * 3
    assert validate_entry(many, words(ret(1)), cfg) == (ErrorCode.TOO_MANY_ATOMS, 3)
    far = [Atom(AtomKind.PKT, AtomOp.EQ, 127, 2, True, 0xFFFF, 0)]
    assert validate_entry(far, words(ret(1)), cfg) == (ErrorCode.ATOM_WINDOW, 0)
    assert validate_entry([], [], cfg)[0] == ErrorCode.BAD_TRACE_LEN
    long = code(*[isa.mov64_imm(0, 1)] * 4, isa.exit_insn())
    assert validate_entry([], words(long), cfg) == (ErrorCode.BAD_TRACE_LEN, 5)
    jump = code(isa.mov64_imm(0, 1), CALLX, isa.exit_insn())
    assert validate_entry([], words(jump), cfg) == (ErrorCode.BAD_OPCODE, 1)
    noexit = code(isa.mov64_imm(0, 1), isa.mov64_imm(0, 2))
    assert validate_entry([], words(noexit), cfg) == (ErrorCode.NO_EXIT, 1)
    tail = code(isa.mov64_imm(0, 1), isa.ld_imm64(0, 1 << 40))
    assert validate_entry([], words(tail), cfg) == (ErrorCode.NO_EXIT, 2)
    half = code(isa.ld_imm64(0, 1 << 40))[:8]
    assert validate_entry([], words(half), cfg) == (ErrorCode.BAD_OPCODE, 0)
    assert validate_entry(is_ipv6(), words(ret(2)), cfg) == (ErrorCode.NONE, 0)


def test_rejected_install_changes_nothing_but_the_error_counter():
    nic = NicModel(NicConfig(n_entries=2))
    assert nic.install([], code(CALLX, isa.exit_insn()))[2] == ErrorCode.BAD_OPCODE
    assert nic.counters[Counter.INSTALL_ERRORS] == 1
    assert nic.counters[Counter.INSTALLS] == 0
    assert nic.entries == [None, None]


def test_first_match_priority_and_routing():
    nic = NicModel(NicConfig(n_entries=4))
    assert nic.install(is_ipv6(), ret(memmap.XDP_TX))[:2] == (0, False)
    assert nic.install([Atom(AtomKind.LEN, AtomOp.GE, const=14)], ret(memmap.XDP_DROP))[:2] == (1, False)
    out = nic.process(ETH_IPV6)
    assert (out.where, out.entry, out.stream, out.action) == ("nic", 0, "tx", memmap.XDP_TX)
    out = nic.process(ETH_IPV4)
    assert (out.where, out.entry, out.stream) == ("nic", 1, None)
    out = nic.process(b"\x00" * 10)          # runt: no entry matches
    assert (out.where, out.channel, out.packet) == ("host", Channel.MISS, b"\x00" * 10)
    out = nic.process(bytes(3000))           # oversize
    assert out.where == "dropped"
    c = nic.counters
    assert (c[Counter.RX_PACKETS], c[Counter.HITS], c[Counter.MISSES], c[Counter.OVERSIZE],
            c[Counter.RUNTS], c[Counter.TX], c[Counter.DROPS]) == (4, 2, 1, 1, 1, 1, 1)
    assert nic.entry_hits[:2] == [1, 1]


def test_rx_drops_bad_full_and_malformed_in_rtl_priority():
    """A bad frame (rx_error) is RX_ERRORS even when oversize or when no buffer was free; an
    oversize one is OVERSIZE even when no buffer was free; `full` alone is RX_DROPS. None of them
    matches, touches the policy or counts a hit; runts are counted whatever becomes of them."""
    nic = NicModel(NicConfig(n_entries=2))
    nic.install([], ret(memmap.XDP_TX))                 # matches everything
    for frame, kw, counter in ((ETH_IPV6, dict(bad=True, full=True), Counter.RX_ERRORS),
                               (bytes(3000), dict(bad=True), Counter.RX_ERRORS),
                               (bytes(3000), dict(full=True), Counter.OVERSIZE),
                               (ETH_IPV6, dict(full=True), Counter.RX_DROPS),
                               (b"\x00" * 9, dict(full=True), Counter.RX_DROPS)):
        before = list(nic.counters)
        out = nic.process(frame, **kw)
        assert (out.where, out.stream, out.entry) == ("dropped", None, None)
        diff = {Counter(i) for i, (x, y) in enumerate(zip(before, nic.counters)) if x != y}
        assert diff == {Counter.RX_PACKETS, counter} | ({Counter.RUNTS} if len(frame) < 14 else set())
    nic.malformed()
    assert nic.counters[Counter.RX_MALFORMED] == 1 and nic.counters[Counter.RX_PACKETS] == 5
    assert nic.entry_hits == [0, 0]
    assert nic.process(ETH_IPV6).stream == "tx"


def test_lru_eviction_is_counted_and_follows_hits():
    nic = NicModel(NicConfig(n_entries=2, policy="lru"))
    a = [Atom(AtomKind.PKT, AtomOp.EQ, 0, 1, True, 0xFF, 0xA)]
    b = [Atom(AtomKind.PKT, AtomOp.EQ, 0, 1, True, 0xFF, 0xB)]
    c = [Atom(AtomKind.PKT, AtomOp.EQ, 0, 1, True, 0xFF, 0xC)]
    nic.install(a, ret(1))
    nic.install(b, ret(1))
    nic.process(b"\x0a" + bytes(20))        # a is now most recent
    assert nic.install(c, ret(1))[:2] == (1, True)   # b evicted
    assert nic.counters[Counter.EVICTIONS] == 1
    assert nic.process(b"\x0b" + bytes(20)).where == "host"


def test_store_past_the_window_faults_and_returns_the_original_frame():
    trace = code(isa.ldx(4, 2, 1, 0),                 # r2 = data
                 isa.st_imm(1, 2, 200, 0x55),          # pkt[200] = 0x55: outside a 128-byte window
                 isa.mov64_imm(0, memmap.XDP_TX), isa.exit_insn())
    nic = NicModel(NicConfig(n_entries=1))
    nic.install([], trace)
    frame = bytes(range(256))
    out = nic.process(frame)
    assert (out.where, out.channel, out.err, out.packet) == ("host", Channel.EXEC_ERROR,
                                                             ExecError.STORE_WINDOW, frame)
    assert nic.counters[Counter.EXEC_ERRORS] == 1


@pytest.mark.parametrize("bad, err", [
    ([isa.ldx(4, 2, 1, 0), isa.ldx(1, 0, 2, 64)], ExecError.PKT_BOUNDS),       # past data_end
    ([isa.ldx(8, 0, 1, 0)], ExecError.CTX_ACCESS),                             # 8-byte ctx load
    ([isa.st_imm(4, 1, 0, 0)], ExecError.CTX_ACCESS),                          # ctx store
    ([isa.ldx(8, 0, 10, 0)], ExecError.STACK_BOUNDS),                          # above the stack
    ([isa.mov64_imm(3, 64), isa.ldx(1, 0, 3, 0)], ExecError.BAD_ADDRESS),
    ([CALLX], ExecError.BAD_OPCODE),
])
def test_executor_faults(bad, err):
    run = compile_trace(bad + [isa.exit_insn()])
    assert run(bytes(64)).err == err


def test_trace_without_exit_falls_off():
    assert compile_trace([isa.mov64_imm(0, 2)])(bytes(64)).err == ExecError.FELL_OFF


def random_trace(rng: random.Random):
    """A straight-line trace the executor supports: ALU on registers, packet/stack traffic."""
    ops = [isa.BPF_ADD, isa.BPF_SUB, isa.BPF_MUL, isa.BPF_DIV, isa.BPF_OR, isa.BPF_AND,
           isa.BPF_LSH, isa.BPF_RSH, isa.BPF_MOD, isa.BPF_XOR, isa.BPF_MOV, isa.BPF_ARSH]
    out = [isa.ldx(4, 6, 1, 0)]               # r6 = data
    for r in range(2, 6):
        out.append(isa.ldx(rng.choice([1, 2, 4, 8]), r, 6, rng.randrange(0, 24)))
    for _ in range(rng.randrange(5, 30)):
        kind = rng.random()
        dst, src = rng.randrange(0, 6), rng.randrange(0, 6)
        if kind < 0.3:
            op = rng.choice(ops)
            signed = op in (isa.BPF_DIV, isa.BPF_MOD) and rng.random() < 0.5
            out.append(isa.alu64_reg(op, dst, src, 1 if signed else 0))
        elif kind < 0.55:
            out.append(isa.alu32_imm(rng.choice(ops), dst, rng.randrange(-2**31, 2**31)))
        elif kind < 0.65:
            out.append(isa.endian(rng.choice(["le", "be", "bswap"]), dst, rng.choice([16, 32, 64])))
        elif kind < 0.8:
            out.append(isa.stx(rng.choice([1, 2, 4, 8]), 10, src, -8 * rng.randrange(1, 8)))
            out.append(isa.ldx(rng.choice([1, 2, 4, 8]), dst, 10, -8 * rng.randrange(1, 8)))
        elif kind < 0.9:
            out.append(isa.stx(rng.choice([1, 2, 4]), 6, src, rng.randrange(0, 40)))
        else:
            out.append(isa.ld_imm64(dst, rng.getrandbits(64)))
    out += [isa.mov64_reg(0, rng.randrange(0, 6)), isa.exit_insn()]
    return out


def test_compiled_traces_agree_with_the_reference_interpreter():
    rng = random.Random(7)
    for _ in range(300):
        trace = random_trace(rng)
        frame = rng.randbytes(rng.randrange(64, 200))
        ours = compile_trace(trace)(frame)
        generic = compile_trace(trace, specialize=False)(frame)
        ref = interp.run_xdp(trace, frame)
        assert ours == generic
        assert ours.err == ExecError.NONE
        assert ours.action == ref.action
        assert ours.packet == ref.packet
        assert ours.insns == len(trace)


def faulty(rng: random.Random, trace: list) -> list:
    """`trace` with one instruction replaced by an access that may fault (or an opcode the NIC
    refuses), or cut short of its exit."""
    out = list(trace)
    k = rng.randrange(len(out) - 1)
    size = rng.choice([1, 2, 4, 8])
    out[k] = rng.choice([
        isa.ldx(size, rng.randrange(0, 6), 6, rng.randrange(30, 210)),        # past data_end?
        isa.stx(size, 6, rng.randrange(0, 6), rng.randrange(110, 140)),      # past the window?
        isa.stx(size, 10, rng.randrange(0, 6), rng.randrange(-8, 8)),        # above the stack?
        isa.ldx(size, rng.randrange(0, 6), rng.randrange(0, 6), 0),          # data as a pointer
        isa.ldx(size, 0, 1, rng.randrange(0, 28)),                           # context widths
        isa.st_imm(size, 1, 0, 1),
        CALLX,
    ])
    if rng.random() < 0.1:
        out = out[:-1]
    return out


def test_specialized_and_generic_traces_agree_including_faults():
    """Same (action, packet, err, insns) from the specialized translation and the generic one
    (`specialize=False`) on random traces that fault at any instruction with any code."""
    rng = random.Random(8)
    seen = set()
    for _ in range(600):
        trace = random_trace(rng)
        if rng.random() < 0.7:
            trace = faulty(rng, trace)
        frame = rng.randbytes(rng.randrange(0, 200))
        max_slots = rng.choice([None, enc.MAX_TRACE_LEN, rng.randrange(1, 40)])
        fast = compile_trace(trace, 128, max_slots)
        slow = compile_trace(trace, 128, max_slots, specialize=False)
        assert fast(frame) == slow(frame), isa.disasm(trace)
        assert fast.raw(frame) == slow.raw(frame)
        seen.add(slow(frame).err)
    assert seen == set(ExecError) - V2_ONLY


# ---- compiled lookup -----------------------------------------------------------------------------
def random_atom(rng: random.Random, hdr_bytes: int) -> Atom:
    if rng.random() < 0.15:
        return Atom(AtomKind.LEN, AtomOp(rng.randrange(10)), mask=rng.choice([0xFFFF_FFFF, 0xFFF0]),
                    const=rng.choice([14, 34, 60, 64, 100, 128, rng.getrandbits(32)]))
    width = rng.choice([1, 2, 4])
    full = (1 << (8 * width)) - 1
    return Atom(AtomKind.PKT, AtomOp(rng.choice([0, 0, 1, 1, *range(10)])),
                offset=rng.choice([rng.randrange(0, 24), rng.randrange(0, hdr_bytes - width + 1),
                                   hdr_bytes - width]),
                width=width, big_endian=rng.random() < 0.7,
                mask=rng.choice([0xFFFF_FFFF, full, rng.getrandbits(32), 0xF0]),
                const=rng.choice([0, 1, 0x80, 0xFF, 0x8000, 0x86DD, rng.getrandbits(8 * width),
                                  rng.getrandbits(32)]))


def test_compiled_lookup_is_first_match_over_compile_condition():
    """`compile_lookup` (shared field reads) returns the first entry whose `compile_condition`
    holds, on random conditions and on frames built to satisfy one of them."""
    rng = random.Random(5)
    hdr = 128
    for _ in range(300):
        conditions = []
        for _ in range(rng.choice([0, 1, 4, 16])):
            if rng.random() < 0.15:
                conditions.append(None)
            else:
                conditions.append([random_atom(rng, hdr) for _ in range(rng.choice([0, 1, 3, 8]))])
        lookup = compile_lookup(conditions)
        singles = [compile_condition(c) if c is not None else None for c in conditions]
        for _ in range(20):
            frame = bytearray(rng.randbytes(rng.choice([0, 10, 14, 40, 64, 127, 128, 200])))
            live = [c for c in conditions if c]
            if live and rng.random() < 0.6:             # make one entry's EQ atoms hold
                for atom in rng.choice(live):
                    if atom.kind == AtomKind.PKT and atom.op == AtomOp.EQ:
                        end = atom.offset + atom.width
                        if end <= len(frame):
                            value = int.from_bytes(frame[atom.offset:end],
                                                   "big" if atom.big_endian else "little")
                            value = (value & ~atom.mask) | (atom.const & atom.mask)
                            value &= (1 << (8 * atom.width)) - 1
                            frame[atom.offset:end] = value.to_bytes(
                                atom.width, "big" if atom.big_endian else "little")
            frame = bytes(frame)
            w = frame[:hdr] + bytes(hdr + 8)
            want = next((i for i, m in enumerate(singles) if m is not None and m(w, len(frame))),
                        None)
            assert lookup(w, len(frame)) == want
            if len(frame) >= hdr:
                assert lookup(frame, len(frame)) == want


def test_fast_outcome_is_an_ordinary_outcome():
    frame = bytes(range(20))
    fast = _outcome("nic", 3, "tx", None, 3, frame, ExecError.NONE, 9, None)
    slow = Outcome("nic", 3, "tx", None, 3, frame, insns=9)
    assert fast == slow and hash(fast) == hash(slow) and repr(fast) == repr(slow)
    assert type(fast) is Outcome and dataclasses.asdict(fast) == dataclasses.asdict(slow)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.action = 1


# ---- the model against a plain re-statement of its hit path --------------------------------------
class ReferenceModel(NicModel):
    """The model's data path written plainly: each entry's own `compile_condition` in index order,
    the generic trace translation, an Outcome built by its constructor."""

    def __init__(self, cfg):
        super().__init__(cfg)
        self.generic = {}

    def lookup(self, frame):
        w = frame[:self.cfg.hdr_bytes] + bytes(self.cfg.hdr_bytes + 8)
        return next((i for i, e in enumerate(self.entries)
                     if e is not None and e.match(w, len(frame))), None)

    def process(self, frame):
        c = self.counters
        c[Counter.RX_PACKETS] += 1
        if len(frame) < enc.ETH_HLEN:
            c[Counter.RUNTS] += 1
        if len(frame) > self.cfg.pkt_bytes:
            c[Counter.OVERSIZE] += 1
            return Outcome("dropped", None, None, None, None, frame)
        index = self.lookup(frame)
        if index is None:
            c[Counter.MISSES] += 1
            return Outcome("host", None, "host", Channel.MISS, None, frame)
        c[Counter.HITS] += 1
        self.entry_hits[index] += 1
        self.policy.touch(index)
        entry = self.entries[index]
        if entry.code not in self.generic:
            self.generic[entry.code] = compile_trace(isa.decode(entry.code), self.cfg.hdr_bytes,
                                                     self.cfg.max_trace_len, specialize=False)
        result = self.generic[entry.code](frame)
        if result.err != ExecError.NONE:
            c[Counter.EXEC_ERRORS] += 1
            return Outcome("host", index, "host", Channel.EXEC_ERROR, None, frame, result.err,
                           result.insns)
        action = result.action
        routes = {memmap.XDP_TX: (Counter.TX, "tx", None),
                  memmap.XDP_PASS: (Counter.PASSES, "host", Channel.PASS),
                  memmap.XDP_REDIRECT: (Counter.REDIRECTS, "host", Channel.REDIRECT),
                  memmap.XDP_DROP: (Counter.DROPS, None, None)}
        counter, stream, channel = routes.get(action, (Counter.ABORTS, None, None))
        c[counter] += 1
        return Outcome("nic", index, stream, channel, action, result.packet, insns=result.insns)


@pytest.mark.parametrize("compile_after", [0, 5, 10_000])
@pytest.mark.parametrize("name", PROGRAM_NAMES)
def test_model_agrees_with_the_plain_reference_on_every_program(name, compile_after, monkeypatch):
    """Frame for frame, the model and `ReferenceModel` fed the same frames and the same installs
    (the host's traces for each program, plus a few random entries and oversize/runt frames)."""
    from jit.ebpf import elf
    from jit.traffic import workloads
    from jit.host.runner import run_frames
    from tests.conftest import built_program

    monkeypatch.setattr(NicModel, "lookup_compile_after", compile_after)
    prog = elf.load_program(built_program(name))
    frames = list(workloads.generate("zipf", 400, seed=2, flows=60))
    frames += list(workloads.generate("malformed", 100, seed=2)) + [bytes(3000), bytes(5)]
    cfg = NicConfig(n_entries=8)
    donor = NicModel(cfg)
    run_frames(prog.insns, frames, donor, cfg, check=False)          # the host's entries
    rng = random.Random(name)
    installs = [(list(e.atoms), e.code) for e in donor.entries if e is not None]
    installs += [([random_atom(rng, cfg.hdr_bytes)], rng.choice(installs)[1]) for _ in range(3)]
    fast, ref = NicModel(cfg), ReferenceModel(cfg)
    rng.shuffle(installs)
    for step, (atoms, trace) in enumerate(installs):
        assert fast.install(atoms, trace) == ref.install(atoms, trace)
        for frame in frames[step::len(installs)]:
            assert fast.process(frame) == ref.process(frame)
            assert fast.lookup(frame) == ref.lookup(frame)
    for frame in frames:
        assert fast.process(frame) == ref.process(frame)
    assert fast.counters == ref.counters and fast.entry_hits == ref.entry_hits
    fast.invalidate_all()
    ref.invalidate_all()
    assert fast.process(frames[0]) == ref.process(frames[0])
    faults = code(isa.ldx(4, 2, 1, 0), isa.ldx(2, 0, 2, 100), isa.exit_insn())   # short frames
    assert fast.install([], faults) == ref.install([], faults)
    for frame in frames[:50]:
        assert fast.process(frame) == ref.process(frame)
    assert fast.counters == ref.counters and fast.entry_hits == ref.entry_hits
    assert fast.counters[Counter.HITS] > 0 and fast.counters[Counter.EXEC_ERRORS] > 0
    fast.invalidate_all()
    ref.invalidate_all()
    for action in (0, 1, 2, 3, 4, 5, 77):                   # every route, by the length
        atoms = [Atom(AtomKind.LEN, AtomOp.EQ, mask=0x7, const=action & 7)]
        assert fast.install(atoms, ret(action)) == ref.install(atoms, ret(action))
    for frame in frames + [bytes(range(60 + k)) for k in range(8)]:
        assert fast.process(frame) == ref.process(frame)
    assert fast.counters == ref.counters
    assert all(fast.counters[c] for c in (Counter.TX, Counter.PASSES, Counter.REDIRECTS,
                                           Counter.DROPS, Counter.ABORTS))
    assert (fast._match is None) == (compile_after >= 10_000)    # both lookups were exercised


@pytest.mark.parametrize("compile_after", [0, 10_000])
def test_window_edge_frames(compile_after, monkeypatch):
    """Frames just shorter than, as long as and longer than the window, with atoms reading its
    last bytes: the model's window (the frame itself once it covers hdr_bytes, else padded)."""
    monkeypatch.setattr(NicModel, "lookup_compile_after", compile_after)
    for hdr in (64, 128):
        cfg = NicConfig(n_entries=4, hdr_bytes=hdr)
        nic, ref = NicModel(cfg), ReferenceModel(cfg)
        for atoms in ([Atom(AtomKind.PKT, AtomOp.EQ, hdr - 2, 2, True, 0xFFFF, 0)],
                      [Atom(AtomKind.PKT, AtomOp.NE, hdr - 4, 4, False, 0xFFFF_FFFF, 0)],
                      [Atom(AtomKind.PKT, AtomOp.EQ, hdr - 1, 1, False, 0xFF, 0x55)]):
            assert nic.install(atoms, ret(3)) == ref.install(atoms, ret(3))
        for n in (0, hdr - 5, hdr - 3, hdr - 2, hdr - 1, hdr, hdr + 1, 2000):
            for fill in (0x00, 0x55, 0xFF):
                frame = bytes([fill]) * n
                assert nic.process(frame) == ref.process(frame), (hdr, n, fill)
                assert nic.lookup(frame) == ref.lookup(frame)
                assert nic.lookup(bytearray(frame)) == ref.lookup(frame)
