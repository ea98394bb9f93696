"""Honest per-frame reports (issue 12, items 1-2): every command numbers frames by their record
position in the capture, empty records included, and a frame the host cannot run (the program
faults on it) is a host error with its reason, never XDP_ABORTED and never a mismatch; the exit
status of `jitnic run` tells agreement (0), mismatches (1), errors (2) and host errors (3) apart."""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from jit import cli
from jit.compiler.tracer import trace_packet
from jit.ebpf import elf
from jit.host.runner import run_model
from jit.nic.model import NicConfig
from jit.traffic import pcap

# Reads byte 60 of the frame without a bounds check: frames of 60 bytes or fewer fault (a memory
# fault on the host); longer ones return PASS or DROP by byte 20.
FAULTY_C = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("xdp") int faulty(struct xdp_md *ctx)
{
	unsigned char *d = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	if (d + 21 > end)
		return XDP_TX;
	if (d[60] == 7)
		return XDP_ABORTED;
	return d[20] & 1 ? XDP_PASS : XDP_DROP;
}
char LICENSE[] SEC("license") = "GPL";
"""


@pytest.fixture(scope="module")
def faulty(tmp_path_factory):
    if shutil.which("clang") is None:
        pytest.skip("clang not installed")
    d = tmp_path_factory.mktemp("faulty")
    src, obj = d / "faulty.c", d / "faulty.o"
    src.write_text(FAULTY_C)
    arch = subprocess.run(["uname", "-m"], capture_output=True, text=True).stdout.strip()
    subprocess.run(["clang", "-O2", "-g", "-target", "bpf", f"-I/usr/include/{arch}-linux-gnu",
                    "-c", str(src), "-o", str(obj)], check=True, capture_output=True)
    return obj


def frame(n: int, b20: int = 0) -> bytes:
    f = bytearray(n)
    if n > 20:
        f[20] = b20
    return bytes(f)


# records: 0 ok (PASS), 1 empty, 2 short (TX), 3 faults (40 bytes), 4 empty, 5 ok (DROP), 6 faults
RECORDS = [frame(80, 1), b"", frame(10), frame(40), b"", frame(90, 0), frame(50, 1)]


@pytest.fixture
def capture(tmp_path):
    path = tmp_path / "mixed.pcap"
    pcap.write_packets(str(path), RECORDS)
    return str(path)


def jsonl(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines()]


def test_tracer_reports_a_fault_as_a_host_error_not_aborted(faulty):
    prog = elf.load_program(str(faulty))
    r = trace_packet(prog.insns, frame(40))
    assert r.action is None and r.error is not None and r.error.startswith("memory fault")
    assert r.reason.startswith("program error")
    ok = trace_packet(prog.insns, frame(80, 1))
    assert ok.error is None and ok.action == 2


def test_run_counts_host_errors_not_mismatches(faulty):
    prog = elf.load_program(str(faulty))
    rep = run_model(prog.insns, RECORDS * 3, NicConfig(n_entries=4))
    assert rep.mismatches == 0
    assert rep.host_errors == 6 and rep.host_error_reasons == {"memory fault": 6}
    assert rep.empty_records == 6 and rep.packets == 15


def test_every_command_numbers_frames_by_capture_record(faulty, capture, capsys):
    assert cli.main(["run", str(faulty), "--pcap", capture, "--jsonl", "--entries", "2"]) == 3
    lines = jsonl(capsys.readouterr().out)
    frames, summary = lines[:-1], lines[-1]
    assert [f["index"] for f in frames] == list(range(len(RECORDS)))
    assert [f["where"] for f in frames if not RECORDS[f["index"]]] == ["empty", "empty"]
    errors = {f["index"]: f["error"] for f in frames if "error" in f}
    assert sorted(errors) == [3, 6] and all(e.startswith("memory fault") for e in errors.values())
    assert frames[3]["action"] is None and frames[5]["action"] == 1
    assert summary["host_errors"] == 2 and summary["mismatches"] == 0
    assert summary["empty_records"] == 2

    assert cli.main(["interp", str(faulty), "--pcap", capture, "--jsonl"]) == 1
    interp = jsonl(capsys.readouterr().out)
    assert [f["index"] for f in interp] == list(range(len(RECORDS)))
    assert [f["length"] for f in interp] == [len(r) for r in RECORDS]
    for f in frames:        # the same index names the same packet in both commands
        assert interp[f["index"]]["action"] == f["action"] or f["where"] == "empty"

    assert cli.main(["trace", str(faulty), "--pcap", capture, "--index", "5", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["length"] == len(RECORDS[5])


def test_text_outputs_name_the_host_error(faulty, capture, capsys):
    assert cli.main(["trace", str(faulty), "--pcap", capture, "--index", "3"]) == 1
    out = capsys.readouterr().out
    assert "host error" in out and "memory fault" in out and "XDP_ABORTED" not in out
    assert cli.main(["interp", str(faulty), "--pcap", capture]) == 1
    out = capsys.readouterr().out
    assert "memory fault: 2" in out and "2 empty records" in out
    assert cli.main(["run", str(faulty), "--pcap", capture]) == 3
    out = capsys.readouterr().out
    assert "host error: memory fault: 2" in out
    assert [line.split()[-1] for line in out.splitlines()
            if line.split()[:1] == ["mismatches"]] == ["0"]
