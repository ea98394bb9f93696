"""The tracer follows bpf_xdp_load_bytes (189) and bpf_xdp_store_bytes (190) (issue 10, "state on
the NIC"): the kernel's checks become path predicates (a `len` atom for -EINVAL; -EFAULT and 0
bytes from constants), offsets and lengths computed from the frame are pinned, copied bytes keep
their symbolic values (conditions speak about the ORIGINAL frame), and the NIC's limits (header
window, no map memory in a copy) keep a path on the host with a named reason.

Soundness, on hand-written programs that exercise each case and on programs/dscp_marker.c: a traced
path compiled and installed in the NIC model (format v2) gives, for every frame its atoms accept,
exactly the interpreter's action and bytes; frames its atoms reject miss; the exact condition holds
exactly on the frames that take the same path."""
from __future__ import annotations

import random
from functools import lru_cache

import pytest

import packets as pk
from conftest import built_program
from jit.compiler.opt import optimize
from jit.compiler.opt.analysis import analyze, Env, copy_span, unsupported
from jit.compiler.opt.facts import facts_from_atoms
from jit.compiler.trace_run import run_trace
from jit.compiler.tracer import trace_packet
from jit.ebpf import elf, interp, isa, memmap
from jit.ebpf.asm import assemble
from jit.ebpf.runtime import XdpRuntime
from jit.host.miss_handler import compile_path
from jit.nic.encoding import ExecError
from jit.nic.model import NicConfig, NicModel

HDR = 128
LIMITS = dict(max_atoms=16, max_trace_len=128, hdr_bytes=HDR)
EFAULT, EINVAL = 14, 22

# load_bytes(ctx, 12, fp-8, 2); r0 != 0: DROP; the copied ethertype 0x0800: TX, else PASS
COPY_BRANCH = """
    mov %r6, %r1
    mov %r2, 12
    mov %r3, %r10
    add %r3, -8
    mov %r4, 2
    call 189
    jne %r0, 0, drop
    ldxh %r1, [%r10-8]
    jeq %r1, 8, tx
    mov %r0, 2
    exit
tx:
    mov %r0, 3
    exit
drop:
    mov %r0, 1
    exit
"""

# the offset 14 + 4 * IHL read from the frame (pinned), 4 bytes copied; a branch on the last one
IHL_OFFSET = """
    mov %r6, %r1
    ldxw %r2, [%r1+0]
    ldxw %r3, [%r1+4]
    mov %r4, %r2
    add %r4, 15
    jgt %r4, %r3, pass
    ldxb %r2, [%r2+14]
    and %r2, 15
    lsh %r2, 2
    add %r2, 14
    mov %r1, %r6
    mov %r3, %r10
    add %r3, -4
    mov %r4, 4
    call 189
    jne %r0, 0, drop
    ldxb %r1, [%r10-1]
    jgt %r1, 128, tx
pass:
    mov %r0, 2
    exit
tx:
    mov %r0, 3
    exit
drop:
    mov %r0, 1
    exit
"""

# the destination MAC copied over the source MAC (load to the stack, store back), then a branch on
# packet byte 6 -- which now holds the original byte 0
MAC_COPY = """
    mov %r6, %r1
    mov %r2, 0
    mov %r3, %r10
    add %r3, -8
    mov %r4, 6
    call 189
    jne %r0, 0, pass
    mov %r1, %r6
    mov %r2, 6
    mov %r3, %r10
    add %r3, -8
    mov %r4, 6
    call 190
    jne %r0, 0, abort
    ldxw %r2, [%r6+0]
    ldxw %r3, [%r6+4]
    mov %r4, %r2
    add %r4, 7
    jgt %r4, %r3, pass
    ldxb %r4, [%r2+6]
    jeq %r4, 255, drop
    mov %r0, 3
    exit
pass:
    mov %r0, 2
    exit
drop:
    mov %r0, 1
    exit
abort:
    mov %r0, 0
    exit
"""

# an overlapping copy inside the packet (bytes 0..7 to 4..11: a memmove), then TX
MEMMOVE = """
    mov %r6, %r1
    ldxw %r3, [%r1+0]
    ldxw %r4, [%r1+4]
    mov %r5, %r3
    add %r5, 16
    jgt %r5, %r4, pass
    add %r3, 4
    mov %r2, 0
    mov %r4, 8
    call 189
    mov %r0, 3
    exit
pass:
    mov %r0, 2
    exit
"""

# store_bytes of 16 stack bytes at frame offset 120: past a 128-byte window when it succeeds
STORE_FAR = """
    mov %r6, %r1
    stdw [%r10-16], 0x1234
    stdw [%r10-8], -1
    mov %r2, 120
    mov %r3, %r10
    add %r3, -16
    mov %r4, 16
    call 190
    jeq %r0, 0, tx
    mov %r0, 2
    exit
tx:
    mov %r0, 3
    exit
"""

# off = 0x10000: -EFAULT whatever the frame; the result decides the action
EFAULT_OFF = """
    mov %r2, 0x10000
    mov %r3, %r10
    add %r3, -8
    mov %r4, 4
    call 189
    jeq %r0, -14, tx
    mov %r0, 2
    exit
tx:
    mov %r0, 3
    exit
"""

PROGRAMS = {"copy_branch": COPY_BRANCH, "ihl_offset": IHL_OFFSET, "mac_copy": MAC_COPY,
            "memmove": MEMMOVE, "store_far": STORE_FAR, "efault_off": EFAULT_OFF}


@lru_cache(maxsize=None)
def prog(name: str) -> tuple:
    return tuple(assemble(PROGRAMS[name]))


def trace(name: str, frame: bytes, **kw):
    insns = list(prog(name))
    return trace_packet(insns, frame, runtime=XdpRuntime(insns), **kw)


def frame_of(n: int, **at) -> bytes:
    b = bytearray((7 * i + 3) & 0xFF for i in range(n))
    for k, v in at.items():
        b[int(k[1:])] = v
    return bytes(b)


def test_load_bytes_result_is_a_len_atom_and_the_copy_speaks_about_the_frame():
    ok = trace("copy_branch", frame_of(60, b12=0x08, b13=0x00))
    assert ok.reason is None and ok.action == 3
    assert [str(a) for a in ok.atoms] == ["len >= 14", "pkt[12:14] == 0x800"]
    assert any(i.opcode == 0x85 and i.imm == 189 for i in ok.trace)
    short = trace("copy_branch", frame_of(13))
    assert short.reason is None and short.action == 1
    assert [str(a) for a in short.atoms] == ["len <= 13"]      # -EINVAL: off + len past the end
    other = trace("copy_branch", frame_of(60, b12=0x86, b13=0xdd))
    assert other.action == 2 and [str(a) for a in other.atoms] == ["len >= 14",
                                                                   "pkt[12:14] != 0x800"]


def test_efault_needs_no_atom_and_zero_bytes_succeed():
    r = trace("efault_off", frame_of(3))
    assert r.reason is None and r.action == 3 and r.atoms == () and str(r.exact) == "true"
    zero = assemble(COPY_BRANCH.replace("mov %r4, 2", "mov %r4, 0"))
    r = trace_packet(zero, frame_of(12), runtime=XdpRuntime(zero))
    assert r.reason is None and [str(a) for a in r.atoms] == ["len >= 12"]
    r = trace_packet(zero, frame_of(11), runtime=XdpRuntime(zero))
    assert r.action == 1 and [str(a) for a in r.atoms] == ["len <= 11"]


def test_a_variable_offset_is_pinned_with_a_note():
    ipv4 = frame_of(60, b12=0x08, b13=0x00, b14=0x45, b37=0x90)
    r = trace("ihl_offset", ipv4)
    assert r.reason is None and r.action == 3
    assert any("bpf_xdp_load_bytes's offset" in n and "pinned to its observed value 34" in n
               for n in r.notes), r.notes
    # the IHL nibble is pinned; the byte branched on is original byte 37
    atoms = [str(a) for a in r.atoms]
    assert atoms == ["len >= 38", "(pkt[14:15] & 0xf) == 0x5", "pkt[37:38] >= 0x81"], atoms
    opts = ipv4[:14] + bytes([0x46]) + ipv4[15:]      # IHL 6: another offset, another path
    assert not all(a.holds(opts) for a in r.atoms)
    assert not r.exact.evaluate(opts)


def test_store_bytes_moves_symbolic_bytes_and_conditions_name_the_original_frame():
    f = frame_of(40, b0=0xFF)
    r = trace("mac_copy", f)
    assert r.reason is None and r.action == 1 and r.packet[6:12] == f[0:6]
    atoms = [str(a) for a in r.atoms]
    assert "pkt[0:1] == 0xff" in atoms and not any("pkt[6" in a for a in atoms), atoms
    g = frame_of(40, b0=0x01, b6=0xFF)                # byte 6 is 0xff, but it is overwritten
    r2 = trace("mac_copy", g)
    assert r2.action == 3 and not all(a.holds(g) for a in r.atoms)


def test_window_and_map_memory_keep_paths_on_the_host():
    r = trace("store_far", frame_of(200))
    assert r.reason == ("packet store outside the header window: pc 7 (bpf_xdp_store_bytes) writes "
                        "bytes 120..135, HDR_BYTES is 128, the head margin 64")
    short = trace("store_far", frame_of(135))          # -EINVAL: nothing is stored
    assert short.reason is None and short.action == 2
    assert [str(a) for a in short.atoms] == ["len <= 135"]
    into_map = assemble("""
    mov %r6, %r1
    stw [%r10-4], 0
    lddw %r1, map_handle_0
    mov %r2, %r10
    add %r2, -4
    call 1
    jeq %r0, 0, out
    mov %r3, %r0
    mov %r1, %r6
    mov %r2, 0
    mov %r4, 4
    call 189
out:
    mov %r0, 2
    exit
""".replace("map_handle_0", str(memmap.map_handle(0))))
    rt = XdpRuntime(into_map, maps={"vals": elf.MapDef("vals", 2, 4, 8, 4)})
    r = trace_packet(into_map, frame_of(40), runtime=rt)
    assert r.reason == ("unsupported call: pc 12: bpf_xdp_load_bytes with its destination in map "
                        "memory (the NIC copies between the packet and the stack only)")
    by_helper = assemble("""
    call 7
    mov %r4, %r0
    and %r4, 7
    mov %r2, 0
    mov %r3, %r10
    add %r3, -8
    call 189
    mov %r0, 2
    exit
""")
    r = trace_packet(by_helper, frame_of(40), runtime=XdpRuntime(by_helper))
    assert r.reason.startswith("unsupported call: pc 6: bpf_xdp_load_bytes with a length computed "
                               "from helper result"), r.reason


def _frames(rng: random.Random, n: int) -> list[bytes]:
    out = []
    for _ in range(n):
        length = rng.choice([0, 5, 11, 12, 13, 14, 15, 16, 17, 20, 33, 34, 38, 40, 60, 135, 136, 150,
                             rng.randrange(0, 200)])
        b = bytearray(rng.randbytes(length))
        if length > 14 and rng.random() < 0.6:
            b[12:15] = bytes([0x08, 0x00, rng.choice([0x45, 0x45, 0x46, 0x4F, rng.randrange(256)])])
        if length > 0 and rng.random() < 0.3:
            b[0] = 0xFF
        out.append(bytes(b))
    return out


def _derive(rng: random.Random, base: bytes) -> bytes:
    q = bytearray(base)
    for _ in range(rng.randrange(0, 4)):
        if q:
            q[rng.randrange(len(q))] = rng.randrange(256)
    r = rng.random()
    if r < 0.2:
        del q[rng.randrange(len(q) + 1):]
    elif r < 0.4:
        q += rng.randbytes(rng.randrange(1, 40))
    return bytes(q)


def _interp(insns, q: bytes):
    try:
        r = XdpRuntime(list(insns)).run(q)
    except interp.InterpError:
        return None
    return r.action, r.packet


def check_on_the_nic(insns, base: bytes, rng: random.Random, n: int, stats: dict) -> None:
    """`base`'s path, compiled and installed in the NIC model: every derived frame its atoms
    accept hits with the interpreter's action and bytes; every other frame misses; the exact
    condition holds iff the frame takes the same path."""
    insns = list(insns)
    tr, compiled, why = compile_path(insns, base, runtime=XdpRuntime(insns), **LIMITS)
    if tr.reason is not None and tr.error is None:
        stats["host"] += 1
        assert tr.reason.startswith(("packet store outside the header window",
                                     "unsupported call")), tr.reason
    if compiled is None:
        return
    nic = NicModel(NicConfig(v2=True, hdr_bytes=HDR))
    guard_misses = 0
    assert nic.install(list(compiled.atoms), compiled.code)[0] is not None
    for _ in range(n):
        q = _derive(rng, base)
        out = nic.process(q)
        accepted = all(a.holds(q) for a in compiled.atoms)
        if not accepted:
            assert out.where == "host" and out.entry is None, q.hex()
            stats["miss"] += 1
        elif out.where == "host":               # a guard failed: q is off the recorded path
            assert tr.guards and nic.counter("guard_misses") > guard_misses, (q.hex(), out)
            assert not tr.exact.evaluate(q), q.hex()
            guard_misses = nic.counter("guard_misses")
            stats["guard"] += 1
        else:
            assert out.where == "nic" and out.err == ExecError.NONE, (q.hex(), out)
            assert (out.action, out.packet) == _interp(insns, q), q.hex()
            assert tr.exact.evaluate(q), q.hex()
            stats["hit"] += 1
        same = trace_packet(insns, q, runtime=XdpRuntime(insns)).path == tr.path
        if tr.error is None and _interp(insns, q) is not None:
            # exact: a frame on another path never satisfies it; one on the same path does
            # unless a pin (an offset's observed value, noted) makes it stronger
            if tr.exact.evaluate(q):
                assert same, (q.hex(), str(tr.exact))
            elif not any("pinned to its observed value" in n for n in tr.notes):
                assert not same, (q.hex(), str(tr.exact))


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_traces_with_copies_are_sound_on_the_nic_model(name):
    rng = random.Random(name)
    stats = {"hit": 0, "miss": 0, "host": 0, "guard": 0}
    for base in _frames(rng, 30):
        check_on_the_nic(prog(name), base, rng, 12, stats)
    assert stats["hit"] >= 40, stats
    if name == "store_far":          # the copy's paths stay on the host; -EINVAL ones are cached
        assert stats["host"] >= 3 and stats["miss"] >= 3, stats
    elif name != "efault_off":       # (-EFAULT on every frame: no atom, every frame hits)
        assert stats["miss"] >= 20, stats


@lru_cache(maxsize=None)
def dscp():
    return tuple(elf.load_linked(built_program("dscp_marker"), "dscp_marker").insns)


def test_dscp_marker_paths_hit_on_the_nic_model():
    """The shipped program: every path is cacheable and fits the NIC after optimization; traces
    give the interpreter's bytes (remarked TOS and checksum) on the frames their atoms accept."""
    rng = random.Random(7)
    stats = {"hit": 0, "miss": 0, "host": 0, "guard": 0}
    rewritten = 0
    for base in pk.varied_packets("dscp_marker", 60, seed=3):
        tr, compiled, why = compile_path(list(dscp()), base, runtime=XdpRuntime(list(dscp())),
                                         **LIMITS)
        assert why is None, why
        assert sum(1 for i in tr.trace if i.opcode == 0x85 and i.imm in (189, 190)) >= 1
        rewritten += tr.packet != base
        check_on_the_nic(dscp(), base, rng, 6, stats)
    assert rewritten >= 5 and stats["hit"] >= 150 and stats["miss"] >= 20, (rewritten, stats)


def test_the_optimizer_models_the_copies():
    """load/store_bytes are no longer outside the optimizer: it forgets exactly the bytes they
    may write (a stack byte stored before a load_bytes over it is not forwarded past the call)."""
    body = [isa.st_imm(1, 10, -8, 0x55), isa.mov64_reg(6, 1), isa.mov64_imm(2, 0),
            isa.mov64_reg(3, 10), isa.alu64_imm(isa.BPF_ADD, 3, -8), isa.mov64_imm(4, 2),
            isa.call_helper(189), isa.ldx(1, 0, 10, -8), isa.st_imm(1, 10, -16, 0x66),
            isa.ldx(1, 1, 10, -16), isa.alu64_reg(isa.BPF_ADD, 0, 1), isa.exit_insn()]
    assert unsupported(body) is None
    env = Env(facts_from_atoms([], HDR), HDR)
    states = analyze(body, env)
    assert copy_span(body[6], states[6]) == ("stack", memmap.STACK_SIZE - 8, memmap.STACK_SIZE - 6)
    assert states[7].stack.get(memmap.STACK_SIZE - 8) is None          # overwritten by the copy
    out = optimize(body, []).trace
    assert isa.ldx(1, 0, 10, -8) in out                                # still loaded
    assert isa.ldx(1, 1, 10, -16) not in out                           # this one folded
    # store_bytes at an offset the analysis does not know (data_end, no `len ==` atom): every
    # packet byte is unknown afterwards
    st = [isa.ldx(4, 2, 1, 4), isa.mov64_imm(3, 0), isa.mov64_imm(4, 1), isa.call_helper(190),
          isa.exit_insn()]
    assert copy_span(st[3], analyze(st, env)[3]) is None
    for q in (frame_of(20), frame_of(60, b0=0x90)):
        want = run_trace(body, q)
        got = run_trace(out, q)
        assert (got.action, got.packet) == (want.action, want.packet) and want.action == q[0] + 0x66


def random_copy_program(rng: random.Random) -> str:
    """load_bytes of a random span to a random stack slot, store_bytes of another stack span back
    to a random packet offset, then branches on a packet byte and a stack byte (each may be one
    the copies wrote, or not)."""
    n1, n2 = rng.randrange(1, 17), rng.randrange(1, 17)
    d1, d2 = rng.randrange(n1, 65), rng.randrange(n2, 65)
    p = rng.randrange(0, 50)
    return f"""
    mov %r6, %r1
    stdw [%r10-{rng.choice([8, 16, 24, 32])}], {rng.randrange(1 << 31)}
    mov %r2, {rng.randrange(0, 41)}
    mov %r3, %r10
    add %r3, -{d1}
    mov %r4, {n1}
    call 189
    jne %r0, 0, fail
    mov %r1, %r6
    mov %r2, {rng.randrange(0, 41)}
    mov %r3, %r10
    add %r3, -{d2}
    mov %r4, {n2}
    call 190
    jne %r0, 0, fail
    ldxw %r2, [%r6+0]
    ldxw %r3, [%r6+4]
    mov %r4, %r2
    add %r4, {p + 1}
    jgt %r4, %r3, pass
    ldxb %r4, [%r2+{p}]
    jgt %r4, {rng.randrange(256)}, tx
    ldxb %r5, [%r10-{rng.randrange(1, 65)}]
    jeq %r5, {rng.randrange(256)}, drop
pass:
    mov %r0, 2
    exit
tx:
    mov %r0, 3
    exit
drop:
    mov %r0, 1
    exit
fail:
    mov %r0, 0
    exit
"""


def test_random_copy_programs_are_sound_on_the_nic_model():
    """Property over random copy programs (offsets, lengths, overlapping stack spans, branches on
    copied and uncopied bytes) and random frames: installed traces hit with the interpreter's
    action and bytes on the frames their atoms accept and miss on the others; the exact
    condition is exact."""
    rng = random.Random(1945)
    stats = {"hit": 0, "miss": 0, "host": 0, "guard": 0}
    for _ in range(25):
        insns = tuple(assemble(random_copy_program(rng)))
        for base in _frames(rng, 8):
            check_on_the_nic(insns, base, rng, 8, stats)
    assert stats["hit"] >= 400 and stats["miss"] >= 100, stats
