"""The NIC model (jit/model.py, jit/nicexec.py): commit validation, first-match priority, routing
and counters, executor faults, and trace execution agreeing with the reference interpreter."""
import random

import pytest

from jit import interp, isa, memmap
from jit.encoding import Atom, AtomKind, AtomOp, Channel, Counter, ErrorCode, ExecError
from jit.model import NicConfig, NicModel, validate_entry
from jit.nicexec import compile_trace
from jit import encoding as enc

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
    jump = code(isa.mov64_imm(0, 1), isa.ja(0), isa.exit_insn())
    assert validate_entry([], words(jump), cfg) == (ErrorCode.BAD_OPCODE, 1)
    noexit = code(isa.mov64_imm(0, 1), isa.mov64_imm(0, 2))
    assert validate_entry([], words(noexit), cfg) == (ErrorCode.NO_EXIT, 1)
    half = code(isa.ld_imm64(0, 1 << 40))[:8]
    assert validate_entry([], words(half), cfg) == (ErrorCode.BAD_OPCODE, 0)
    assert validate_entry(is_ipv6(), words(ret(2)), cfg) == (ErrorCode.NONE, 0)


def test_rejected_install_changes_nothing_but_the_error_counter():
    nic = NicModel(NicConfig(n_entries=2))
    assert nic.install([], code(isa.ja(0), isa.exit_insn()))[2] == ErrorCode.BAD_OPCODE
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
    ([isa.ja(0)], ExecError.BAD_OPCODE),
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
        ref = interp.run_xdp(trace, frame)
        assert ours.err == ExecError.NONE
        assert ours.action == ref.action
        assert ours.packet == ref.packet
        assert ours.insns == len(trace)
