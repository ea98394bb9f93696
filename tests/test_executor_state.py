"""The NIC executor on traces of format v2 (jit/nic/stateful_exec.py): guards, transactions on map
memory, per-CPU slot 1, tail-call guards, helpers with the NIC's limits, guard fall-through in the
model, and the commit checks of v2 (jumps, calls, write-buffer capacity). Traces are written by
hand, as the tracer would emit them (docs/abi.md "trace format v2")."""
from __future__ import annotations

import functools
import random

import pytest

from jit.ebpf import elf, interp, isa, memmap
from jit.ebpf.runtime import XdpRuntime
from jit.nic import encoding as enc
from jit.nic.encoding import Counter, ErrorCode, ExecError
from jit.nic.executor import compile_trace
from jit.nic.model import NicConfig, NicModel
from jit.nic.nic_helpers import NicPrandom
from jit.nic.nic_state import NicState
from jit.nic import stateful_exec
from jit.nic.stateful_exec import compile_v2
from jit.nic.validate import validate_words, wb_writes
from tests.test_executor import random_trace

nic_trace = functools.partial(compile_trace, v2=True)    # a NIC of trace format v2
GUARD = "guard"        # placeholder jump target: the guard exit (slot len(trace))
ARRAY, PERCPU, HASH, PROGS, LPM, LRU = 2, 6, 1, 3, 11, 9
DEFS = {"counts": elf.MapDef("counts", ARRAY, 4, 8, 4),
        "percpu": elf.MapDef("percpu", PERCPU, 4, 8, 2),
        "table": elf.MapDef("table", HASH, 4, 8, 8),
        "progs": elf.MapDef("progs", PROGS, 4, 4, 2),
        "routes": elf.MapDef("routes", LPM, 8, 4, 4, flags=1),
        "recent": elf.MapDef("recent", LRU, 4, 8, 4)}
FD = {name: i for i, name in enumerate(DEFS)}
FRAME = bytes(range(64))


def trace(*items) -> list[isa.Insn]:
    """Instructions; a tuple (op, dst, imm, GUARD) is a conditional jump to the guard exit."""
    slots = sum(2 if isinstance(i, isa.Insn) and i.opcode == isa.LD_IMM64 else 1 for i in items)
    out, pc = [], 0
    for item in items:
        if isinstance(item, tuple):
            op, dst, imm, _ = item
            item = isa.jmp_imm(op, dst, imm, slots - pc - 1)
        out.append(item)
        pc += item.slots
    return out


def lookup(fd: int, key: int) -> list[isa.Insn]:
    """r0 = bpf_map_lookup_elem(map fd, &key) with the key at r10-4."""
    return [isa.st_imm(4, 10, -4, key), isa.ld_imm64(1, memmap.map_handle(fd)),
            isa.mov64_reg(2, 10), isa.alu64_imm(isa.BPF_ADD, 2, -4), isa.call_helper(1)]


def bump(add: int = 1) -> list[isa.Insn]:
    """*(u64 *)r0 += add, read-modify-write (what a per-CPU counter compiles to)."""
    return [isa.ldx(8, 1, 0, 0), isa.alu64_imm(isa.BPF_ADD, 1, add), isa.stx(8, 0, 1, 0)]


def runtime() -> XdpRuntime:
    rt = XdpRuntime([isa.mov64_imm(0, 2), isa.exit_insn()], maps=DEFS)
    rt.maps.maps["progs"].programs[0] = "prog_a"
    return rt


def u64(rt: XdpRuntime, name: str, key: int, cpu: int = 0) -> int:
    m = rt.maps.maps[name]
    slot = key if name != "table" else m.find(key.to_bytes(4, "little"))
    return int.from_bytes(m.read_slot(slot, cpu), "little")


def counted_then_guarded(byte: int) -> list[isa.Insn]:
    """Count in counts[1], then guard on the first frame byte being `byte`, then XDP_PASS."""
    return trace(isa.mov64_reg(6, 1), *lookup(FD["counts"], 1),
                 (isa.BPF_JEQ, 0, 0, GUARD), *bump(),
                 isa.ldx(4, 2, 6, 0), isa.ldx(1, 3, 2, 0), (isa.BPF_JNE, 3, byte, GUARD),
                 isa.mov64_imm(0, 2), isa.exit_insn())


def test_a_committed_trace_writes_once_a_failed_guard_writes_nothing():
    rt = runtime()
    state = NicState.for_runtime(rt)
    run = nic_trace(counted_then_guarded(0), state=state)
    assert run.v2
    assert run(FRAME).err == ExecError.NONE and u64(rt, "counts", 1) == 1
    assert state.last_map_ops == 3                       # lookup, load, store
    other = b"\x07" + FRAME[1:]
    res = run(other)
    assert (res.err, res.packet) == (ExecError.GUARD, other)
    assert u64(rt, "counts", 1) == 1                     # the bump before the guard was undone
    assert run(FRAME).err == ExecError.NONE and u64(rt, "counts", 1) == 2


def test_a_fault_after_a_write_undoes_it_and_the_random_draws():
    rt = runtime()
    state = NicState.for_runtime(rt, prandom_seed=5)
    body = trace(*lookup(FD["table"], 9), isa.mov64_imm(0, 0), isa.st_imm(8, 10, -16, 77),
                 isa.ld_imm64(1, memmap.map_handle(FD["table"])), isa.mov64_reg(2, 10),
                 isa.alu64_imm(isa.BPF_ADD, 2, -4), isa.mov64_reg(3, 10),
                 isa.alu64_imm(isa.BPF_ADD, 3, -16), isa.mov64_imm(4, 0), isa.call_helper(2),
                 isa.call_helper(7), isa.ldx(1, 0, 0, 0), isa.exit_insn())   # r0 is no pointer
    before = state.prandom.state
    res = nic_trace(body, state=state)(FRAME)
    assert res.err == ExecError.BAD_ADDRESS
    assert rt.maps.maps["table"].find((9).to_bytes(4, "little")) is None   # the insert undone
    assert state.prandom.state == before


def test_per_cpu_maps_take_slot_one_and_the_nic_cpu_id():
    rt = runtime()
    state = NicState.for_runtime(rt)
    body = trace(*lookup(FD["percpu"], 1), (isa.BPF_JEQ, 0, 0, GUARD), isa.mov64_reg(6, 0),
                 isa.call_helper(8), isa.ldx(8, 1, 6, 0), isa.alu64_reg(isa.BPF_ADD, 1, 0),
                 isa.stx(8, 6, 1, 0), isa.mov64_imm(0, 2), isa.exit_insn())
    run = nic_trace(body, state=state)
    for _ in range(3):
        assert run(FRAME).err == ExecError.NONE
    assert (u64(rt, "percpu", 1, cpu=0), u64(rt, "percpu", 1, cpu=1)) == (0, 3 * enc.NIC_CPU)


def tail_call(expected: int) -> list[isa.Insn]:
    return trace(isa.ld_imm64(2, memmap.map_handle(FD["progs"])), isa.mov64_reg(3, 0),
                 isa.mov64_imm(4, expected), isa.call_helper(12), isa.mov64_imm(0, 3),
                 isa.exit_insn())


def test_a_tail_call_is_a_guard_on_the_slot_content():
    rt = runtime()
    rt.linked = None
    state = NicState.for_runtime(rt)
    state._ids["prog_a"] = 0                    # (an object would give program_id's answer)
    full, empty = b"\x00" * 64, b"\x01" + bytes(63)
    # r3 = the slot: frame byte 0 (slot 0 holds prog_a, slot 1 is empty)
    head = [isa.ldx(4, 5, 1, 0), isa.ldx(1, 0, 5, 0)]
    expect_a = nic_trace(head + tail_call(0), state=state)
    expect_empty = nic_trace(head + tail_call(enc.TAIL_CALL_EMPTY), state=state)
    assert expect_a(full).action == 3 and expect_a(full).err == ExecError.NONE
    assert expect_a(empty).err == ExecError.GUARD
    assert expect_empty(empty).err == ExecError.NONE
    assert expect_empty(full).err == ExecError.GUARD


def test_host_resident_maps_fault_on_the_nic():
    rt = runtime()
    state = NicState.for_runtime(rt)
    assert "recent" in state.reasons and "LRU" in state.reasons["recent"]
    assert "routes" not in state.reasons          # LPM tries are NIC-resident
    body = trace(*lookup(FD["recent"], 0), isa.mov64_imm(0, 2), isa.exit_insn())
    assert nic_trace(body, state=state)(FRAME).err == ExecError.MAP_ACCESS


def test_adjust_head_within_the_margin_matches_the_interpreter_beyond_it_faults():
    def push(delta: int) -> list[isa.Insn]:
        return [isa.mov64_reg(6, 1), isa.mov64_imm(2, delta), isa.call_helper(44),
                (isa.BPF_JNE, 0, 0, GUARD), isa.ldx(4, 2, 6, 0), isa.st_imm(1, 2, 0, 0xAB),
                isa.mov64_imm(0, 2), isa.exit_insn()]
    for delta, err in ((-20, ExecError.NONE), (-enc.NIC_HEADROOM, ExecError.NONE),
                       (-enc.NIC_HEADROOM - 4, ExecError.ADJUST_RANGE), (10, ExecError.NONE)):
        body = trace(*push(delta))
        res = nic_trace(body)(FRAME)
        assert res.err == err, delta
        if err == ExecError.NONE:
            ref = XdpRuntime(body + [isa.exit_insn()]).run(FRAME)
            assert (res.action, res.packet) == (ref.action, ref.packet)


def test_adjust_tail_shrinks_as_the_interpreter_grows_only_inside_the_window():
    """A grown tail must end inside the header window (the NIC clears grown bytes only there):
    beyond it ADJUST_RANGE; shrinking, growing within the window and -EINVAL match the host."""
    def tail(*deltas: int) -> list[isa.Insn]:
        out = [isa.mov64_reg(6, 1)]
        for d in deltas:
            out += [isa.mov64_reg(1, 6), isa.mov64_imm(2, d), isa.call_helper(65)]
        return out + [isa.alu64_imm(isa.BPF_ADD, 0, 2), isa.exit_insn()]
    hdr = enc.HDR_BYTES
    for deltas, err in (((-50,), ExecError.NONE), ((-51,), ExecError.NONE),      # -51: -EINVAL
                        ((hdr - 64,), ExecError.NONE), ((hdr - 63,), ExecError.ADJUST_RANGE),
                        ((-10, 10), ExecError.NONE), ((0x7FFF_FFFF,), ExecError.NONE)):
        body = trace(*tail(*deltas))
        res = nic_trace(body)(FRAME)
        assert res.err == err, deltas
        if err == ExecError.NONE:
            ref = XdpRuntime(body + [isa.exit_insn()]).run(FRAME)
            assert (res.action, res.packet) == (ref.action, ref.packet), deltas
    long = bytes(hdr + 20)                         # already past the window: it cannot grow
    assert nic_trace(trace(*tail(1)))(long).err == ExecError.ADJUST_RANGE
    assert nic_trace(trace(*tail(-1)))(long).err == ExecError.NONE


def test_store_bytes_and_stores_stay_in_the_window():
    body = trace(isa.st_imm(4, 10, -4, 0x01020304), isa.mov64_imm(2, enc.HDR_BYTES - 2),
                 isa.mov64_reg(3, 10), isa.alu64_imm(isa.BPF_ADD, 3, -4), isa.mov64_imm(4, 4),
                 isa.call_helper(190), isa.mov64_imm(0, 2), isa.exit_insn())
    assert nic_trace(body)(bytes(200)).err == ExecError.STORE_WINDOW
    assert nic_trace(body)(bytes(100)).err == ExecError.NONE     # -EINVAL: past the frame


def test_redirect_target_and_map_ops_reach_the_outcome():
    rt = runtime()
    nic = NicModel(NicConfig(v2=True), NicState.for_runtime(rt))
    body = trace(*lookup(FD["counts"], 0), (isa.BPF_JEQ, 0, 0, GUARD), *bump(),
                 isa.mov64_imm(1, 7), isa.mov64_imm(2, 0), isa.call_helper(23), isa.exit_insn())
    assert nic.install([], isa.encode(body))[2] == ErrorCode.NONE
    out = nic.process(FRAME)
    assert (out.where, out.action, out.redirect) == ("nic", 4, {"ifindex": 7})
    assert nic.counter("map_ops") == 3 and nic.counter("redirects") == 1
    word = nic.state.redirect_word(out.redirect)
    assert enc.decode_redirect_meta(word) == (enc.RedirectKind.IFINDEX, 7, 0, 0)
    word = nic.state.redirect_word({"map": "progs", "key": 1, "flags": 8})
    assert enc.decode_redirect_meta(word) == (enc.RedirectKind.MAP, 1, FD["progs"], 8)


def test_guard_failure_falls_through_to_the_next_matching_entry():
    rt = runtime()
    nic = NicModel(NicConfig(n_entries=8, v2=True), NicState.for_runtime(rt))
    for byte in range(enc.MAX_GUARD_TRIES + 1):        # five entries, same (empty) atoms
        assert nic.install([], isa.encode(counted_then_guarded(byte)))[2] == ErrorCode.NONE
    frame = lambda b: bytes([b]) + FRAME[1:]            # noqa: E731
    out = nic.process(frame(2))                        # third entry passes
    assert (out.where, out.entry) == ("nic", 2) and u64(rt, "counts", 1) == 1
    out = nic.process(frame(enc.MAX_GUARD_TRIES))      # the passing entry is one too far
    assert (out.where, out.channel) == ("host", enc.Channel.MISS)
    assert out.packet == frame(enc.MAX_GUARD_TRIES) and u64(rt, "counts", 1) == 1
    assert [nic.counter(c) for c in ("hits", "misses", "guard_misses")] == [1, 1, 1]


def test_v2_commit_checks():
    def check(insns, **kw):
        words = enc.trace_words(isa.encode(insns))
        return validate_words([], 0, words, len(words), max_atoms=16, max_trace_len=128,
                              hdr_bytes=128, v2=kw.get("v2", True))
    ret = [isa.mov64_imm(0, 2), isa.exit_insn()]
    assert check([isa.jmp_imm(isa.BPF_JEQ, 0, 0, 2)] + ret) == (ErrorCode.NONE, 0)  # guard exit
    assert check([isa.jmp_imm(isa.BPF_JEQ, 0, 0, 3)] + ret) == (ErrorCode.BAD_JUMP, 0)
    assert check(ret[:1] + [isa.ja(-2)] + ret) == (ErrorCode.BAD_JUMP, 1)
    assert check([isa.ja(1), isa.ld_imm64(1, 5)] + ret) == (ErrorCode.BAD_JUMP, 1)  # into lddw
    assert check([isa.call_helper(6)] + ret) == (ErrorCode.BAD_CALL, 0)    # trace_printk
    assert check([isa.jmp_imm(isa.BPF_JEQ, 0, 0, 2)] + ret, v2=False) == (ErrorCode.BAD_OPCODE, 0)
    stores = [isa.stx(8, 0, 1, 8 * i) for i in range(enc.WB_ENTRIES + 1)]
    packet = [isa.ldx(4, 6, 1, 0)] + [isa.st_imm(1, 6, i, 0) for i in range(enc.WB_ENTRIES + 1)]
    assert check(lookup(0, 0) + stores[:-1] + ret)[0] == ErrorCode.NONE
    assert check(lookup(0, 0) + stores + ret) == (ErrorCode.WB_OVERFLOW, 6 + enc.WB_ENTRIES)
    assert check(packet + ret)[0] == ErrorCode.NONE           # packet stores use the window
    to_map = [isa.mov64_reg(3, 0), isa.mov64_imm(2, 0), isa.mov64_imm(4, 4), isa.call_helper(189)]
    assert wb_writes(enc.trace_words(isa.encode(lookup(0, 0) + to_map + ret))) == 1
    to_stack = to_map[1:3] + [isa.mov64_reg(3, 10), isa.alu64_imm(isa.BPF_ADD, 3, -8),
                              isa.call_helper(189)]
    assert wb_writes(enc.trace_words(isa.encode(lookup(0, 0) + to_stack + ret))) == 0
    nic = NicModel(NicConfig(v2=True))
    assert nic.install([], isa.encode(lookup(0, 0) + stores + ret))[2] == ErrorCode.WB_OVERFLOW
    assert nic.counter("wb_overflows") == nic.counter("install_errors") == 1


def test_write_count_meets_kinds_at_jump_targets():
    """A packet pointer on one path and a map pointer on the other: the store counts."""
    body = ([isa.ldx(4, 6, 1, 0), isa.jmp_imm(isa.BPF_JEQ, 0, 0, 2), isa.ld_imm64(6, memmap.map_base(0)),
             isa.st_imm(1, 6, 0, 0), isa.mov64_imm(0, 2), isa.exit_insn()])
    assert wb_writes(enc.trace_words(isa.encode(body))) == 1
    body[2] = isa.ldx(4, 6, 1, 0)
    body.insert(3, isa.mov64_imm(0, 0))                   # keep the jump's target
    assert wb_writes(enc.trace_words(isa.encode(body))) == 0


def test_nic_prandom_is_the_lfsr_per_draw():
    gen = NicPrandom(0)
    state = enc.LFSR_DEFAULT_SEED
    for _ in range(5):
        state = enc.lfsr_step(state)
        assert gen.getrandbits(32) == state


@pytest.mark.parametrize("seed", [0, 1])
def test_v2_executor_agrees_with_v1_on_map_free_traces(seed):
    """Property: the v2 translation gives every map-free v1 trace the v1 result (faults and
    their instruction counts included); nothing changes for traces without state."""
    rng = random.Random(seed)
    tested = 0
    for _ in range(300):
        length = rng.choice([0, 14, 34, 60, 100, 128, 200])
        body = random_trace(rng, length)
        if stateful_exec.needs_v2(body):
            continue                       # a map address: v2 semantics (MAP_ACCESS) differ
        v1 = compile_trace(body)
        tested += 1
        v2 = compile_v2(body, enc.HDR_BYTES, None, lambda pc: isa.slot_pcs(body).index(pc) + 1
                        if pc in isa.slot_pcs(body) else 0)
        for packet in (rng.randbytes(length), rng.randbytes(rng.randrange(0, 200))):
            want, got = v1.raw(packet), v2(packet)
            assert got[:3] == want[:3], isa.disasm(body)
            if want[2] == ExecError.NONE:
                assert got[3] == want[3]
    assert tested > 200


def test_helpers_give_the_host_helpers_results():
    """xdp_load_bytes, csum_diff and ktime_get_ns on the NIC: the bytes the interpreter gives."""
    body = [isa.mov64_reg(6, 1), isa.mov64_imm(2, 6), isa.mov64_reg(3, 10),
            isa.alu64_imm(isa.BPF_ADD, 3, -16), isa.mov64_imm(4, 8), isa.call_helper(189),
            isa.mov64_imm(1, 0), isa.mov64_imm(2, 0), isa.mov64_reg(3, 10),
            isa.alu64_imm(isa.BPF_ADD, 3, -16), isa.mov64_imm(4, 8), isa.mov64_imm(5, 0x1234),
            isa.call_helper(28), isa.mov64_reg(7, 0), isa.call_helper(5),
            isa.ldx(4, 2, 6, 0), isa.stx(4, 2, 7, 0), isa.stx(4, 2, 0, 4),
            isa.mov64_imm(0, 2), isa.exit_insn()]
    rt = runtime()
    rt.now_ns = 0x1122334455
    state = NicState.for_runtime(rt)
    nic = nic_trace(body, state=state)(FRAME)
    host = XdpRuntime(body, maps=DEFS).run(FRAME, timestamp_ns=rt.now_ns)
    assert nic.err == ExecError.NONE
    assert (nic.action, nic.packet) == (host.action, host.packet) and nic.packet != FRAME


def test_a_v2_nic_treats_v1_entries_as_the_v1_nic_does():
    """Property: the same map-free v1 entries (random traces, some faulting; random atoms) in a
    NIC of format v1 and one of format v2 give the same outcome for every frame and the same
    counters: guards, fall-through and the new counters change nothing for them."""
    from tests.test_model import faulty, random_atom, random_trace as model_trace
    rng = random.Random(21)
    v1, v2 = NicModel(NicConfig(n_entries=8)), NicModel(NicConfig(n_entries=8, v2=True))
    for _ in range(12):
        atoms = [random_atom(rng, enc.HDR_BYTES) for _ in range(rng.randrange(0, 3))]
        body = model_trace(rng)
        code = isa.encode(faulty(rng, body) if rng.random() < 0.3 else body)
        assert v1.install(atoms, code) == v2.install(atoms, code)
        for _ in range(40):
            frame = rng.randbytes(rng.randrange(14, 200))
            assert v1.process(frame) == v2.process(frame)
    assert v1.counters == v2.counters and v1.counter("hits") > 0


def test_undo_restores_stores_logged_before_the_map_was_saved():
    """A store through a value pointer (logged bytes), then an update of the same map (whole map
    saved), then a guard failure: the map is back to its state before the trace."""
    rt = runtime()
    state = NicState.for_runtime(rt)
    rt.maps.maps["counts"].write_slot(1, (41).to_bytes(8, "little"))
    body = trace(*lookup(FD["counts"], 1), (isa.BPF_JEQ, 0, 0, GUARD), *bump(100),
                 isa.st_imm(8, 10, -16, 7), isa.ld_imm64(1, memmap.map_handle(FD["counts"])),
                 isa.mov64_reg(2, 10), isa.alu64_imm(isa.BPF_ADD, 2, -4), isa.mov64_reg(3, 10),
                 isa.alu64_imm(isa.BPF_ADD, 3, -16), isa.mov64_imm(4, 0), isa.call_helper(2),
                 (isa.BPF_JEQ, 0, 0, GUARD), isa.mov64_imm(0, 2), isa.exit_insn())
    assert nic_trace(body, state=state)(FRAME).err == ExecError.GUARD
    assert u64(rt, "counts", 1) == 41
