"""Sweeps (jit/host/sweep.py, `jitnic sweep`): Belady's optimum bounds every policy, LRU's stack
property (more entries never hurt), agreement with single `run`s, and the CLI outputs."""
import json
import subprocess
import sys

import pytest

from jit.ebpf import elf
from jit.traffic import workloads
from jit.nic.model import NicConfig
from jit.host.runner import run_model
from jit.host.sweep import sweep
from tests.conftest import built_program


@pytest.fixture(scope="module")
def capture():
    return list(workloads.generate("zipf", 1500, seed=9, flows=150, s=0.9))


@pytest.mark.parametrize("name", ["parser_classifier", "acl_firewall"])
def test_belady_bounds_every_policy_and_lru_is_monotone(name, capture):
    prog = elf.load_program(built_program(name))
    entries = [1, 2, 4, 8]
    rows, library = sweep(prog.insns, lambda: iter(capture), entries,
                          ["lru", "fifo", "random", "plru", "opt"], NicConfig())
    assert len(library) > 4, "workload too easy to say anything"
    by = {(r.policy, r.entries): r for r in rows}
    for n in entries:
        for policy in ("lru", "fifo", "random", "plru"):
            assert by["opt", n].hits >= by[policy, n].hits, (policy, n)
        for r in (by[p, n] for p in ("lru", "fifo", "random", "plru", "opt")):
            assert r.hits + r.misses == r.packets == len(capture)
    lru = [by["lru", n].hits for n in entries]
    assert lru == sorted(lru)


def test_sweep_rows_equal_single_runs(capture):
    prog = elf.load_program(built_program("parser_classifier"))
    rows, _ = sweep(prog.insns, lambda: iter(capture), [4], ["plru", "random"], NicConfig())
    for r in rows:
        rep = run_model(prog.insns, capture, NicConfig(n_entries=4, policy=r.policy), check=False)
        assert (rep.hits, rep.misses, rep.installs, rep.evictions) == \
            (r.hits, r.misses, r.installs, r.evictions)


def test_cli_json_rows_and_plot(tmp_path):
    pcap = tmp_path / "z.pcap"
    workloads.write_pcap(pcap, "zipf", 500, seed=2, flows=50)
    png = tmp_path / "s.png"
    proc = subprocess.run([sys.executable, "-m", "jit", "sweep", str(built_program("ttl_router")),
                           "--pcap", str(pcap), "--entries", "1,4", "--policy", "lru,opt",
                           "--json", "--plot", str(png), "--quiet"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [(r["entries"], r["policy"]) for r in rows] == [(1, "lru"), (4, "lru"), (1, "opt"), (4, "opt")]
    for r in rows:
        assert set(r) >= {"entries", "policy", "hits", "misses", "installs", "hit_rate"}
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_rejects_bad_lists(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "jit", "sweep", str(built_program("ttl_router")),
                           "--pcap", "x", "--entries", "3"], capture_output=True, text=True)
    assert proc.returncode == 2 and "power of two" in proc.stderr


def test_library_lookup_is_indexed_and_finds_the_same_path(monkeypatch):
    """Issue 12 item 8: with one path per frame the library must not scan every condition per
    lookup (a linear scan made 20k-frame sweeps take minutes). Counts condition evaluations
    (not time), and checks each lookup against a brute-force scan of every path."""
    import random
    from jit.host import miss_handler
    from jit.nic import model
    from jit.nic.encoding import Atom, AtomKind, AtomOp
    from jit.ebpf import isa

    calls = [0]
    real = model.compile_condition

    def counting(atoms):
        match = real(atoms)

        def counted(w, n):
            calls[0] += 1
            return match(w, n)
        return counted
    monkeypatch.setattr(model, "compile_condition", counting)
    rng = random.Random(7)
    code = isa.encode([isa.mov64_imm(0, 2), isa.exit_insn()])
    lib = miss_handler.TraceLibrary()
    conds = []
    for i in range(600):          # pinned 5-tuple-like paths, plus length and range atoms
        atoms = (Atom(AtomKind.LEN, AtomOp.GE, const=34),
                 Atom(AtomKind.PKT, AtomOp.EQ, 12, 2, True, 0xFFFF, 0x0800),
                 Atom(AtomKind.PKT, AtomOp.EQ, 26, 4, True, 0xFFFF_FFFF, rng.getrandbits(32)),
                 Atom(AtomKind.PKT, AtomOp.LT, 30, 1, True, 0xFF, 200 + i % 50))
        if i % 3 == 0:
            atoms = atoms[:2] + (Atom(AtomKind.PKT, AtomOp.EQ, 30, 2, False, 0x0FFF, i),)
        conds.append(atoms)
        lib.add(miss_handler.CompiledTrace(atoms, code, 2, 2), 128)
    frames = []
    for atoms in conds[::7]:              # one frame per sampled path, and random misses
        f = bytearray(rng.randbytes(64))
        f[12:14] = b"\x08\x00"
        for a in atoms:
            if a.kind == AtomKind.PKT and a.op == AtomOp.EQ:
                cur = int.from_bytes(f[a.offset:a.offset + a.width], "big" if a.big_endian else "little")
                val = (cur & ~a.mask) | a.const
                f[a.offset:a.offset + a.width] = val.to_bytes(a.width, "big" if a.big_endian else "little")
        frames.append(bytes(f))
    frames += [rng.randbytes(64) for _ in range(50)]
    calls[0] = 0
    for f in frames:
        got = lib.lookup(f, 128)
        want = [c for c in conds if all(a.holds(f, 128) for a in c)]
        assert (got is None) == (not want)
        if got is not None:
            assert got[0].atoms in want
    assert calls[0] <= 2 * len(frames), f"{calls[0]} condition evaluations for {len(frames)} lookups"


def test_belady_is_not_shifted_by_empty_records():
    """Empty capture records never reach the NIC: Belady's clock and its oracle must both skip
    them (frame numbering, issue 12 item 1), so interleaved empty records change nothing."""
    prog = elf.load_program(built_program("acl_firewall"))
    frames = list(workloads.generate("zipf", 600, seed=2, flows=80))
    with_empty = [f for frame in frames for f in (frame, b"")]
    plain, _ = sweep(prog.insns, lambda: iter(frames), [2, 4], ["opt"], NicConfig())
    mixed, _ = sweep(prog.insns, lambda: iter(with_empty), [2, 4], ["opt"], NicConfig())
    assert [r.hits for r in mixed] == [r.hits for r in plain]
