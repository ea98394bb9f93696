"""jit.nic.executor: the specialized translation (constants folded, known addresses as direct buffer
accesses, registers as locals) against the generic one (`specialize=False`: a register list and
`_Machine` checking every access at run time) on random traces that fault as often as they finish,
and against the reference interpreter where nothing faults."""
import random

import pytest

from jit.ebpf import interp, isa, memmap
from jit.nic import encoding as enc
from jit.nic.encoding import ExecError
from jit.nic.executor import compile_trace

M64 = (1 << 64) - 1
DATA = memmap.PKT_DATA
ALU_OPS = [isa.BPF_ADD, isa.BPF_SUB, isa.BPF_MUL, isa.BPF_DIV, isa.BPF_OR, isa.BPF_AND,
           isa.BPF_LSH, isa.BPF_RSH, isa.BPF_NEG, isa.BPF_MOD, isa.BPF_XOR, isa.BPF_MOV,
           isa.BPF_ARSH]
SIZES = [1, 2, 4, 8]
CALLX = isa.Insn(0x8D, 0, 0, 0, 0)   # executable in no trace format: a BAD_OPCODE fault
# faults only format v2 (jumps, calls, maps: tests/test_executor_state.py) can give
V2_ONLY = enc.V2_EXEC_ERRORS
V1_CODES = set(ExecError) - V2_ONLY


def both(trace, packet, hdr_bytes=128, max_slots=None):
    """(specialized, generic) raw results; the public ExecResult must agree with raw."""
    fast = compile_trace(trace, hdr_bytes, max_slots)
    slow = compile_trace(trace, hdr_bytes, max_slots, specialize=False)
    a, b = fast.raw(packet), slow.raw(packet)
    res = fast(packet)
    assert (res.action, res.packet, res.err, res.insns) == a
    return a, b


def rand_value(rng):
    return rng.choice([0, 1, 2, 7, 31, 32, 63, 64, 0x7F, 0x80, 0xFF, 0x8000, 0xFFFF,
                       0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 1 << 63, M64, rng.getrandbits(64),
                       rng.getrandbits(16)])


def rand_imm(rng):
    return rng.choice([0, 1, -1, 7, 16, 31, 32, 63, 64, -2**31, 2**31 - 1,
                       rng.randrange(-2**31, 2**31)])


def rand_pointer(rng, length_hint: int):
    """An address near something interesting: inside/around the packet, window end, stack edges,
    context fields, nowhere."""
    near = rng.randrange(-10, 10)
    return rng.choice([
        DATA + rng.randrange(0, 48), DATA + near, DATA + length_hint + near, DATA + 128 + near,
        memmap.STACK_TOP - 8 * rng.randrange(1, 10), memmap.STACK_BASE + near,
        memmap.STACK_TOP + near,
        memmap.CTX_BASE + rng.randrange(-4, 28), memmap.PKT_BASE + near, memmap.MAP_BASE + near,
        rng.getrandbits(64), (1 << 32) + DATA,
    ]) & M64


SCRATCH = [0, 2, 3, 4, 5, 9]      # registers the generator computes in; r6 = data, r7 = data_end,
                                 # r8 = a pointer computed from packet data (a dynamic address)


def random_trace(rng: random.Random, length_hint: int, risk: float | None = None) -> list[isa.Insn]:
    """A straight-line trace mixing every kind of instruction the executor implements, with
    pointers known at compile time (data, r10, ld_imm64 constants, context fields) and computed
    from packet data. Accesses are in bounds for a `length_hint`-byte frame except for "risky"
    instructions (probability `risk` each: any address, any register as a base, a store past the
    window, an opcode the NIC refuses), so traces run to their end as well as fault anywhere."""
    if risk is None:
        risk = rng.choice([0.0, 0.02, 0.06, 0.2])
    room = max(length_hint, 1)

    def pkt_off(size):          # an in-bounds packet offset for a length_hint-byte frame
        return rng.randrange(0, max(room - size, 0) + 1)

    def stack_off(size):
        return -rng.randrange(size, memmap.STACK_SIZE + 1) if rng.random() < 0.2 else \
            -8 * rng.randrange(1, 8) - rng.randrange(0, 8 - size + 1) * (size < 8)

    out = [isa.ldx(4, 6, 1, 0)]                              # r6 = data
    if rng.random() < 0.3:
        out.append(isa.ldx(4, 7, 1, 4))                     # r7 = data_end
    for _ in range(rng.randrange(1, 28)):
        dst, src = rng.choice(SCRATCH), rng.randrange(0, 11)
        if rng.random() < risk:
            k = rng.random()
            size = rng.choice(SIZES)
            if k < 0.3:
                out.append(isa.ld_imm64(rng.choice(SCRATCH), rand_pointer(rng, length_hint)))
                base = out[-1].dst
            else:
                base = rng.randrange(0, 11)
            off = rng.randrange(-16, 16)
            if k < 0.5:
                out.append(isa.ldx(size, dst, base, off))
            elif k < 0.6:
                out.append(isa.ldxsx(rng.choice([1, 2, 4]), dst, base, off))
            elif k < 0.75:
                out.append(isa.stx(size, base, src, off))
            elif k < 0.8:
                out.append(isa.st_imm(size, base, off, rand_imm(rng)))
            elif k < 0.85:                                  # around either window end
                edge = rng.choice([64, 128]) - size + rng.randrange(-1, 3)
                out.append(isa.stx(size, 6, src, rng.choice([edge, rng.randrange(100, 140)])))
            elif k < 0.9:
                out.append(isa.ldx(size, dst, 7, rng.randrange(-8, 4)))
            else:
                out.append(rng.choice([CALLX, isa.ld_imm64(dst, 3, src=1)]))
            continue
        k = rng.random()
        if k < 0.3:
            op = rng.choice(ALU_OPS)
            off = 0
            if op in (isa.BPF_DIV, isa.BPF_MOD) and rng.random() < 0.4:
                off = 1
            if op == isa.BPF_MOV and rng.random() < 0.3:
                off = rng.choice([8, 16, 32])
            is64 = rng.random() < 0.6
            if op == isa.BPF_MOV and off == 32 and not is64:
                off = 16
            if op == isa.BPF_NEG:
                out.append((isa.alu64_imm if is64 else isa.alu32_imm)(op, dst, 0))
            elif off not in (8, 16, 32) and rng.random() < 0.5:      # movsx has no imm form
                make = isa.alu64_imm if is64 else isa.alu32_imm
                out.append(make(op, dst, rand_imm(rng), off))
            else:
                make = isa.alu64_reg if is64 else isa.alu32_reg
                out.append(make(op, dst, src, off))
        elif k < 0.38:
            out.append(isa.endian(rng.choice(["le", "be", "bswap"]), dst, rng.choice([16, 32, 64])))
        elif k < 0.42:
            out.append(isa.ld_imm64(dst, rand_value(rng)))
        elif k < 0.47:
            out.append(isa.ld_imm64(dst, DATA + pkt_off(8)))  # a known packet pointer
            size = rng.choice(SIZES)
            out.append(isa.ldx(size, rng.choice(SCRATCH), dst, 0))
        elif k < 0.6:                                       # packet load, maybe + byte swap
            size = rng.choice(SIZES)
            out.append(isa.ldx(size, dst, 6, pkt_off(size)))
            if rng.random() < 0.5 and size > 1:             # the pair the translator fuses
                out.append(isa.endian(rng.choice(["be", "bswap", "be", "le"]), dst,
                                      rng.choice([8 * size, 8 * size, 16, 32, 64])))
        elif k < 0.64:
            size = rng.choice([1, 2, 4])
            if rng.random() < 0.5:
                out.append(isa.ldxsx(size, dst, 6, pkt_off(size)))
            else:
                out.append(isa.ldxsx(size, dst, 10, stack_off(size)))
        elif k < 0.72:                                      # stack traffic
            size = rng.choice(SIZES)
            out.append(isa.stx(size, 10, src, stack_off(size)))
            size = rng.choice(SIZES)
            out.append(isa.ldx(size, dst, 10, stack_off(size)))
        elif k < 0.76:
            size = rng.choice(SIZES)
            out.append(isa.st_imm(size, 10, stack_off(size), rand_imm(rng)))
        elif k < 0.84:                                      # packet stores inside the window
            size = rng.choice(SIZES)
            off = min(pkt_off(size), max(0, 64 - size))
            if rng.random() < 0.5:
                out.append(isa.stx(size, 6, src, off))
            else:
                out.append(isa.st_imm(size, 6, off, rand_imm(rng)))
        elif k < 0.92:                                      # a pointer from packet data: dynamic
            out.append(isa.ldx(1, 8, 6, pkt_off(1)))
            size = rng.choice(SIZES)
            if rng.random() < 0.7:                          # into the packet
                out.append(isa.alu64_imm(isa.BPF_AND, 8, 0x1F))
                out.append(isa.alu64_reg(isa.BPF_ADD, 8, 6))
                off = rng.randrange(0, 8)
                limit = min(room, 64)
            else:                                           # into the stack
                out.append(isa.alu64_imm(isa.BPF_AND, 8, 0x3F))
                out.append(isa.alu64_reg(isa.BPF_SUB, 8, 10))
                out.append(isa.neg64(8))
                off = -rng.randrange(size, 40)
                limit = None
            if limit is not None and 0x1F + off + size > limit:
                off = 0                                     # may still overrun short frames
            kind = rng.random()
            if kind < 0.5:
                out.append(isa.ldx(size, dst, 8, off))
            elif kind < 0.8:
                out.append(isa.stx(size, 8, src, off))
            else:
                out.append(isa.st_imm(size, 8, off, rand_imm(rng)))
        else:
            out.append(isa.mov64_reg(dst, src))
    out.append(isa.alu64_reg(rng.choice([isa.BPF_MOV, isa.BPF_XOR, isa.BPF_ADD]), 0,
                             rng.choice(SCRATCH)))
    if rng.random() < 0.97:
        out.append(isa.exit_insn())
    return out


@pytest.mark.parametrize("seed", range(4))
def test_specialized_agrees_with_generic_on_random_traces(seed):
    rng = random.Random(seed)
    codes = {}
    for _ in range(600):
        length = rng.choice([0, 1, 13, 14, 20, 34, 42, 60, 64, 100, 127, 128, 129, 200, 600])
        trace = random_trace(rng, length)
        hdr = rng.choice([128, 128, 64])
        max_slots = rng.choice([None, None, 128, 8, 12, rng.randrange(1, 40)])
        for packet in (rng.randbytes(length), rng.randbytes(rng.randrange(0, 200))):
            fast, slow = both(trace, packet, hdr, max_slots)
            where = f"len {len(packet)} hdr {hdr} slots {max_slots}"
            assert fast == slow, f"{isa.disasm(trace)}\n{where}"
            codes[slow[2]] = codes.get(slow[2], 0) + 1
    assert set(codes) == V1_CODES, f"fault codes not exercised: {V1_CODES - set(codes)}"
    assert codes[ExecError.NONE] > 100


def test_specialized_agrees_with_the_interpreter_when_nothing_faults():
    rng = random.Random(99)
    agreed = 0
    for _ in range(1500):
        packet = rng.randbytes(rng.randrange(64, 200))
        trace = random_trace(rng, len(packet))
        fast = compile_trace(trace)(packet)
        if fast.err != ExecError.NONE:
            continue
        ref = interp.run_xdp(trace, packet)
        assert (fast.action, fast.packet) == (ref.action, ref.packet), isa.disasm(trace)
        assert fast.insns == sum(1 for _ in trace[:fast.insns])
        agreed += 1
    assert agreed > 200


def test_bytearray_and_memoryview_packets():
    trace = [isa.ldx(4, 2, 1, 0), isa.ldx(2, 3, 2, 12), isa.endian("be", 3, 16),
             isa.stx(2, 2, 3, 0), isa.mov64_reg(0, 3), isa.exit_insn()]
    frame = bytes(range(64))
    want = compile_trace(trace, specialize=False).raw(frame)
    for packet in (bytearray(frame), memoryview(frame)):
        got = compile_trace(trace).raw(packet)
        assert got == want and type(got[1]) is bytes


def test_read_only_trace_returns_the_frame_without_copying():
    trace = [isa.ldx(4, 2, 1, 0), isa.ldx(1, 0, 2, 5), isa.exit_insn()]
    frame = bytes(range(64))
    action, packet, err, insns = compile_trace(trace).raw(frame)
    assert (action, err, insns) == (5, ExecError.NONE, 3) and packet is frame


def test_known_addresses_compile_to_direct_accesses():
    """The shapes the optimizer emits (data pointer as a constant, load + be swap, checksum
    arithmetic) leave no run-time address checks beyond one length check per new maximum."""
    trace = [isa.ld_imm64(1, DATA), isa.ldx(2, 4, 1, 12), isa.endian("be", 4, 16),
             isa.ldx(1, 5, 1, 23), isa.alu64_imm(isa.BPF_ADD, 5, -1),
             isa.stx(1, 1, 5, 22), isa.stx(2, 1, 4, 20), isa.mov64_imm(0, 3), isa.exit_insn()]
    run = compile_trace(trace)
    assert "m.load" not in run.source and "m.store" not in run.source and "_alu" not in run.source
    assert run.source.count("if L <") == 2           # ends 14 and 24
    assert "_b2(f, 12)" in run.source                # load + be16 fused
    for n in (0, 13, 14, 23, 24, 64):
        frame = bytes(range(n))
        assert both(trace, frame)[0] == both(trace, frame)[1]


@pytest.mark.parametrize("trace, err, insns", [
    ([isa.ld_imm64(1, DATA - 1), isa.ldx(1, 0, 1, 0)], ExecError.PKT_BOUNDS, 2),
    ([isa.ld_imm64(1, DATA), isa.st_imm(4, 1, 126, 0)], ExecError.STORE_WINDOW, 2),
    ([isa.ld_imm64(1, DATA), isa.stx(8, 1, 1, 121)], ExecError.STORE_WINDOW, 2),
    ([isa.ld_imm64(1, DATA), isa.stx(2, 1, 1, 127)], ExecError.STORE_WINDOW, 2),
    ([isa.ld_imm64(1, DATA), isa.stx(1, 1, 1, 128)], ExecError.STORE_WINDOW, 2),
    ([isa.ld_imm64(1, DATA), isa.ldx(1, 0, 1, 200)], ExecError.PKT_BOUNDS, 2),
    ([isa.ld_imm64(1, DATA), isa.stx(1, 1, 1, 200)], ExecError.PKT_BOUNDS, 2),
    ([isa.mov64_imm(0, 1), isa.stx(8, 10, 0, -4)], ExecError.STACK_BOUNDS, 2),
    ([isa.ldx(2, 0, 1, 0)], ExecError.CTX_ACCESS, 1),
    ([isa.stx(4, 1, 1, 0)], ExecError.CTX_ACCESS, 1),
    ([isa.ldx(4, 0, 1, 24)], ExecError.CTX_ACCESS, 1),
    ([isa.ldx(4, 0, 0, 0)], ExecError.BAD_ADDRESS, 1),
    ([isa.mov64_imm(0, 1), CALLX], ExecError.BAD_OPCODE, 2),
])
def test_static_faults_match_the_generic_path(trace, err, insns):
    frame = bytes(200)
    fast, slow = both(trace + [isa.exit_insn()], frame)
    assert fast == slow == (0, frame, err, insns)
    frame = bytes(range(200))
    fast, slow = both(trace + [isa.exit_insn()], frame)
    assert fast == slow == (0, frame, err, insns)


def test_fell_off_and_max_slots_match_the_generic_path():
    filler = [isa.alu64_imm(isa.BPF_ADD, 0, 1)] * 6
    lddw_last = filler[:3] + [isa.ld_imm64(2, 5), isa.exit_insn()]
    fused_at_edge = [isa.ld_imm64(1, DATA), isa.ldx(4, 0, 1, 0), isa.endian("be", 0, 32),
                     isa.exit_insn()]
    for trace in (filler, lddw_last, fused_at_edge, []):
        for max_slots in (None, 1, 3, 4, 5, 6, 10):
            fast, slow = both(trace, bytes(range(64)), 128, max_slots)
            assert fast == slow, (trace, max_slots)


def test_context_fields_known_and_data_end():
    trace = [isa.ldx(4, 2, 1, 4), isa.ldx(4, 3, 1, 12), isa.ldxsx(4, 4, 1, 0),
             isa.alu64_reg(isa.BPF_SUB, 2, 4), isa.alu64_reg(isa.BPF_ADD, 2, 3),
             isa.ldx(4, 5, 1, 8), isa.ldx(1, 6, 5, 3), isa.alu64_reg(isa.BPF_ADD, 2, 6),
             isa.mov64_reg(0, 2), isa.exit_insn()]
    for n in (0, 3, 4, 77):
        frame = bytes(range(n))
        fast, slow = both(trace, frame)
        assert fast == slow
    assert both(trace, bytes(range(77)))[0][0] == 77 + 1 + 3
