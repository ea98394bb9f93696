"""Misuse gives one-line errors, never tracebacks (issue 12, "the fuzz cases give 0 tracebacks"):
mutated ELF objects and mutated captures through the commands, in-process, so any exception that
escapes `jitnic`'s error handling fails the test."""
from __future__ import annotations

import random

import pytest

from jit import cli
from jit.paths import program_object
from jit.traffic import pcap, workloads

OK_STATUS = {0, 1, 2, 3}


@pytest.fixture(scope="module")
def small_pcap(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "small.pcap"
    frames = list(workloads.generate("malformed", 12, seed=3)) + [b""]
    pcap.write_packets(str(path), frames)
    return path


def mutate(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rng.choice([1, 3, 10, 40])):
        b[rng.randrange(len(b))] = rng.getrandbits(8)
    if rng.random() < 0.15:
        b = b[:rng.randrange(len(b))]
    return bytes(b)


def run_quiet(argv, capsys) -> int:
    status = cli.main(argv)
    out, err = capsys.readouterr()
    assert status in OK_STATUS, (argv, status)
    if status == 2:
        assert len(err.strip().splitlines()) == 1 and "error" in err, err
    return status


@pytest.mark.parametrize("seed", range(4))
def test_mutated_objects(seed, small_pcap, tmp_path, capsys):
    rng = random.Random(seed)
    src = program_object("acl_firewall").read_bytes()
    for k in range(6):
        obj = tmp_path / f"m{k}.o"
        obj.write_bytes(mutate(rng, src))
        for argv in (["disasm", str(obj)], ["interp", str(obj), "--pcap", str(small_pcap)],
                     ["trace", str(obj), "--pcap", str(small_pcap), "--index", "2"],
                     ["run", str(obj), "--pcap", str(small_pcap), "--json", "--entries", "2"]):
            run_quiet(argv, capsys)


@pytest.mark.parametrize("seed", range(4))
def test_mutated_captures(seed, small_pcap, tmp_path, capsys):
    rng = random.Random(100 + seed)
    prog = str(program_object("parser_classifier"))
    src = small_pcap.read_bytes()
    for k in range(6):
        cap = tmp_path / f"c{k}.pcap"
        cap.write_bytes(mutate(rng, src))
        for argv in (["interp", prog, "--pcap", str(cap)],
                     ["trace", prog, "--pcap", str(cap), "--index", "4"],
                     ["run", prog, "--pcap", str(cap), "--jsonl", "--entries", "2"],
                     ["sweep", prog, "--pcap", str(cap), "--entries", "1,2", "--policy", "lru,opt",
                      "--quiet", "--json"]):
            run_quiet(argv, capsys)
