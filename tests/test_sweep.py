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
