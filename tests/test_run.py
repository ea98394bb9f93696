"""Host + model end to end (jit/host/miss_handler.py, jit/host/runner.py, `jitnic run`): every final result equals
the reference interpreter's, the counters add up, install latency and dedupe behave as specified,
and the CLI's JSON keys are the documented ones."""
import json
import subprocess
import sys

import pytest

from jit.ebpf import elf
from jit.traffic import workloads
from jit.host.miss_handler import Host
from jit.nic.model import NicConfig, NicModel
from jit.paths import PROGRAM_NAMES
from jit.host.runner import run_frames, run_model
from tests.conftest import built_program
from tests.packets import varied_packets


def frames_for(name, n=1500, seed=3):
    """Program-specific scapy traffic, then a zipf stream, then malformed frames."""
    out = varied_packets(name, n // 3, seed)
    out += list(workloads.generate("zipf", n // 3, seed=seed, flows=40))
    out += list(workloads.generate("malformed", n // 3, seed=seed))
    return out


@pytest.mark.parametrize("name", PROGRAM_NAMES)
@pytest.mark.parametrize("policy", ["lru", "random"])
def test_every_result_matches_the_reference(name, policy):
    prog = elf.load_program(built_program(name))
    frames = frames_for(name)
    rep = run_model(prog.insns, frames, NicConfig(n_entries=8, policy=policy))
    assert rep.mismatches == 0
    assert rep.packets + rep.empty_records == len(frames)
    assert rep.hits + rep.misses + rep.oversize == rep.packets
    assert rep.hits > 0, "the cache never hit: traces are not being installed"
    assert rep.installs <= rep.misses
    assert rep.evictions <= rep.installs
    assert rep.exec_errors == 0


def test_latency_delays_installs_and_never_installs_twice():
    prog = elf.load_program(built_program("ipv6_filter"))
    ipv6 = bytes(12) + b"\x86\xdd" + bytes(40)
    frames = [ipv6] * 10
    for latency, expected_misses in ((0, 1), (3, 4), (20, 10)):
        nic = NicModel(NicConfig(n_entries=4))
        rep = run_frames(prog.insns, frames, nic, nic.cfg, latency=latency)
        assert rep.misses == expected_misses
        assert rep.installs == (1 if latency < 10 else 0)   # pending at the end: never committed
        assert rep.mismatches == 0


def test_dedupe_against_the_mirror_after_eviction():
    """An evicted path is installed again when it misses again (the mirror forgets it)."""
    prog = elf.load_program(built_program("ipv6_filter"))
    ipv6 = bytes(12) + b"\x86\xdd" + bytes(40)
    ipv4 = bytes(12) + b"\x08\x00" + bytes(40)
    nic = NicModel(NicConfig(n_entries=1))
    rep = run_frames(prog.insns, [ipv6, ipv4, ipv6, ipv6], nic, nic.cfg)
    assert (rep.misses, rep.installs, rep.evictions, rep.hits) == (3, 3, 2, 1)


def test_host_uses_the_nic_reported_entry():
    prog = elf.load_program(built_program("ipv6_filter"))
    nic = NicModel(NicConfig(n_entries=2))
    host = Host(prog.insns, nic, max_atoms=16, max_trace_len=128, hdr_bytes=128)
    d = host.handle_miss(0, bytes(12) + b"\x86\xdd" + bytes(40))
    assert d.scheduled and d.reason is None and d.action == 2
    assert host.apply_due(1) == 1
    assert list(host.mirror) == [0]
    assert not host.handle_miss(1, bytes(12) + b"\x86\xdd" + bytes(50)).scheduled  # same path


def run_cli(*args):
    proc = subprocess.run([sys.executable, "-m", "jit", *args], capture_output=True, text=True)
    return proc


def test_cli_json_and_jsonl(tmp_path):
    path = tmp_path / "t.pcap"
    workloads.write_pcap(path, "zipf", 300, seed=5, flows=20)
    obj = str(built_program("ttl_router"))
    proc = run_cli("run", obj, "--pcap", str(path), "--json", "--entries", "4")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    for key in ("packets", "hits", "misses", "installs", "evictions", "uncacheable",
                "distinct_traces", "mismatches", "hit_rate", "nic_insns", "full_insns"):
        assert key in summary
    assert summary["packets"] == 300 and summary["hits"] + summary["misses"] == 300
    proc = run_cli("run", obj, "--pcap", str(path), "--jsonl", "--entries", "4")
    lines = [json.loads(l) for l in proc.stdout.splitlines()]
    assert len(lines) == 301 and lines[-1] == summary
    assert {l["where"] for l in lines[:-1]} <= {"nic", "host"}
    assert sum(l["where"] == "nic" for l in lines[:-1]) == summary["hits"]
    assert all(l["entry"] is None for l in lines[:-1] if l["where"] == "host")
    assert [l["index"] for l in lines[:-1]] == list(range(300))


def test_cli_bad_input_is_one_line(tmp_path):
    bad = tmp_path / "x.o"
    bad.write_bytes(b"not an elf")
    proc = run_cli("run", str(bad), "--pcap", str(bad))
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_cli_bench_rtl_bad_data_width_is_one_line():
    proc = run_cli("bench", "rtl", "--data-widths", "64,96")
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr and "96" in proc.stderr


def test_cli_opt_policy_bounds_lru(tmp_path):
    path = tmp_path / "z.pcap"
    workloads.write_pcap(path, "zipf", 600, seed=8, flows=80, s=0.8)
    obj = str(built_program("parser_classifier"))
    res = {}
    for policy in ("lru", "opt"):
        proc = run_cli("run", obj, "--pcap", str(path), "--json", "--entries", "4", "--policy", policy)
        assert proc.returncode == 0, proc.stderr
        res[policy] = json.loads(proc.stdout)
    assert res["opt"]["mismatches"] == 0
    assert res["opt"]["hits"] >= res["lru"]["hits"]
    assert res["opt"]["distinct_traces"] == res["lru"]["distinct_traces"]
    proc = run_cli("run", obj, "--pcap", str(path), "--policy", "opt", "--engine", "rtl")
    assert proc.returncode == 2 and "only in the model" in proc.stderr
