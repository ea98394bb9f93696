"""End-to-end runs of the RTL helpers added to the executor's set by engineer "exh" (issue 10):
`jitnic run --engine rtl`, the user's path, on a program whose routed frames' paths call the helper
(and no helper outside the RTL set), checked by the command against the interpreter frame by frame.

csum_diff: tb/e2e/csum_ttl.c (TTL decrement, header checksum by bpf_csum_diff from a stack copy
and the packet). ktime_get_ns: tb/e2e/ktime_stamp.c (the capture time stamped into the source
MAC), which also shows each frame's timestamp travelling from the bench top's rx_timestamp. The shipped programs that call csum_diff (ipip_encap, icmp_frag_needed) also call
xdp_adjust_head, which is not in the RTL set yet, so their paths still stay on the host; this
program shows the helper's paths hitting on the NIC.

xdp_load_bytes / xdp_store_bytes: the shipped programs/dscp_marker.c (headers read into stack copies
with load_bytes, the remarked IPv4 header written back with store_bytes), on traffic of a few
marked flows, at DATA_WIDTH 64 (`jitnic run --engine rtl`, against the model) and 512 (the same
bench built wide): remarked frames hit on the NIC with the interpreter's bytes.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter

import pytest

from jit.paths import PROJECT_ROOT

HERE = PROJECT_ROOT / "tb" / "e2e"
FRAMES = 48


def _build(d, name: str):
    obj = d / f"{name}.o"
    arch = subprocess.run(["uname", "-m"], capture_output=True, text=True).stdout.strip()
    subprocess.run(["clang", "-O2", "-g", "-target", "bpf", "-Wall", "-Werror",
                    f"-I/usr/include/{arch}-linux-gnu", f"-I{PROJECT_ROOT / 'programs'}", "-c",
                    str(HERE / f"{name}.c"), "-o", str(obj)], check=True, capture_output=True)
    return obj


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(csum_ttl.o, ktime_stamp.o, traffic.pcap): IPv4 zipf traffic, 8 flows."""
    if shutil.which("clang") is None:
        pytest.skip("clang not installed")
    d = tmp_path_factory.mktemp("helpers")
    pcap = d / "traffic.pcap"
    subprocess.run([sys.executable, "-m", "jit", "gen", "zipf", "-o", str(pcap), "--count",
                    str(FRAMES), "--seed", "5", "-p", "flows=8", "-p", "mix=v4_only"], check=True,
                   capture_output=True, cwd=PROJECT_ROOT)
    return _build(d, "csum_ttl"), _build(d, "ktime_stamp"), pcap


def _run(obj, pcap, *extra: str) -> tuple[dict, Counter, list[dict]]:
    proc = subprocess.run([sys.executable, "-m", "jit", "run", str(obj), "--pcap", str(pcap),
                           "--entries", "4", "--jsonl", *extra], capture_output=True, text=True,
                          cwd=PROJECT_ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [json.loads(x) for x in proc.stdout.splitlines()]
    frames = [d for d in lines if "index" in d]
    return lines[-1], Counter((d["where"], d["action_name"]) for d in frames), frames


@pytest.mark.rtl
def test_csum_diff_paths_hit_on_the_rtl(built):
    """Routed frames (XDP_TX: the path with bpf_csum_diff) hit on the NIC under the RTL engine,
    0 mismatches and no exec errors, frame for frame as the model configured like the RTL (v2,
    the RTL helper set) places them."""
    obj, _, pcap = built
    rtl, rtl_where, _ = _run(obj, pcap, "--engine", "rtl")
    model, model_where, _ = _run(obj, pcap, "--helpers", "rtl")
    assert rtl["mismatches"] == 0 and rtl["exec_errors"] == 0 and rtl["host_errors"] == 0, rtl
    assert not any("helper set" in r for r in rtl["uncacheable_reasons"]), rtl
    assert rtl_where[("nic", "XDP_TX")] >= FRAMES // 4, rtl_where
    assert rtl_where == model_where and rtl["hits"] == model["hits"]


@pytest.mark.rtl
def test_ktime_paths_hit_on_the_rtl_with_each_frames_capture_time(built):
    """ktime_stamp's stamping path hits on the NIC under the RTL engine with 0 mismatches: each
    frame's capture timestamp reaches its trace through rx_timestamp (the stamp in the source
    MAC is the capture time's low 48 bits, and the stamps differ from frame to frame)."""
    from jit.traffic.capture import CaptureReader
    _, obj, pcap = built
    rtl, where, frames = _run(obj, pcap, "--engine", "rtl")
    assert rtl["mismatches"] == 0 and rtl["exec_errors"] == 0 and rtl["host_errors"] == 0, rtl
    assert not any("helper set" in r for r in rtl["uncacheable_reasons"]), rtl
    assert where[("nic", "XDP_TX")] >= FRAMES // 4, where
    stamps = {i: ts for i, (ts, _f) in enumerate(CaptureReader(str(pcap)).stamped_frames())}
    seen = set()
    for f in frames:
        if f["where"] == "nic" and f["action_name"] == "XDP_TX":
            mac = bytes.fromhex(f["out_hex"])[6:12]
            assert mac == (stamps[f["index"]] & (1 << 48) - 1).to_bytes(6, "little"), f["index"]
            seen.add(mac)
    assert len(seen) > 1, "every stamped frame carries the same time"


@pytest.mark.rtl
def test_ktime_at_512_bits_single_beat_frames_back_to_back(built, tmp_path):
    """At DATA_WIDTH 512 a 60-byte frame is one beat (start and end together: jitnic_top takes
    its rx_timestamp in that very beat) and frames follow each other with no idle cycle: every
    stamped frame still carries its own capture time."""
    from jit.traffic.pcap import PcapWriter
    from tb.common.fast import BENCH_TOP
    from tb.common.runner import run_cocotb
    _, obj, _ = built
    pcap = tmp_path / "short.pcap"
    stamps = []
    with open(pcap, "wb") as f:
        w = PcapWriter(f, nanosecond=True)
        for i in range(24):
            size = 60 if i % 3 else 100              # one beat, or two
            frame = bytes(12) + b"\x08\x00" + bytes([i]) * (size - 14)
            stamps.append(1_700_000_000_000_000_000 + 977 * i * i + i)
            w.write(frame, ts_ns=stamps[-1])
    report, rows = tmp_path / "report.json", tmp_path / "frames.jsonl"
    # the bench of `jitnic run --engine rtl` (tb/e2e/rtl_run.py), built at 512 bits
    run_cocotb(BENCH_TOP, "tb.e2e.rtl_run", {"N_ENTRIES": 4, "POLICY": "lru", "DATA_WIDTH": 512},
               extra_env={"RTL_RUN_PROGRAM": str(obj), "RTL_RUN_PCAP": str(pcap),
                          "RTL_RUN_REPORT": str(report), "RTL_RUN_FRAMES": str(rows)})
    summary = json.loads(report.read_text())
    frames = [json.loads(x) for x in rows.read_text().splitlines()]
    assert summary["mismatches"] == 0 and summary["hits"] >= 20, summary
    for f in frames:
        assert f["action_name"] == "XDP_TX", f
        mac = bytes.fromhex(f["out_hex"])[6:12]
        assert mac == (stamps[f["index"]] & (1 << 48) - 1).to_bytes(6, "little"), f


def _dscp_traffic(path) -> list[bytes]:
    """8 flows of tests.packets' ipv4_marked family (marked TCP/UDP to the class ports), each
    sent 6 times, shuffled: repeated paths, so that installed traces hit."""
    import random
    from jit.traffic.pcap import write_packets
    from tests.packets import ipv4_marked
    rng = random.Random(19)
    flows = []
    while len(flows) < 8:
        f = ipv4_marked(rng)
        if len(f) <= 200:
            flows.append(f)
    frames = [f for f in flows for _ in range(6)]
    rng.shuffle(frames)
    write_packets(str(path), frames)
    return frames


def _check_dscp(frames: list[bytes], summary: dict, rows: list[dict]) -> None:
    assert summary["mismatches"] == 0 and summary["exec_errors"] == 0, summary
    assert summary["host_errors"] == 0 and summary["hits"] >= len(frames) // 2, summary
    assert not any("helper set" in r or "does not follow" in r
                   for r in summary.get("uncacheable_reasons", ())), summary
    remarked = [r for r in rows if r["where"] == "nic"
                and bytes.fromhex(r["out_hex"]) != frames[r["index"]]]
    assert len(remarked) >= 6, [(r["index"], r["where"]) for r in rows]
    for r in remarked:                  # only the TOS byte and the header checksum change
        out, raw = bytes.fromhex(r["out_hex"]), frames[r["index"]]
        assert out[:15] == raw[:15] and out[16:24] == raw[16:24] and out[26:] == raw[26:], r


@pytest.mark.rtl
def test_load_store_bytes_paths_hit_on_the_rtl(tmp_path):
    """dscp_marker's paths (load_bytes, and store_bytes on remarked frames) hit on the NIC under
    the RTL engine with 0 mismatches, frame for frame where the model configured like the RTL
    places them."""
    from jit.paths import program_object
    obj = program_object("dscp_marker")
    if not obj.exists():
        pytest.fail(f"{obj} missing: run `make programs` first")
    pcap = tmp_path / "marked.pcap"
    frames = _dscp_traffic(pcap)
    rtl, rtl_where, rows = _run(obj, pcap, "--engine", "rtl")
    model, model_where, _ = _run(obj, pcap, "--helpers", "rtl")
    _check_dscp(frames, rtl, rows)
    assert rtl_where == model_where and rtl["hits"] == model["hits"], (rtl_where, model_where)


@pytest.mark.rtl
def test_load_store_bytes_at_512_bits(tmp_path):
    """The same traffic through the bench built at DATA_WIDTH 512 (frames of one or two beats)."""
    from jit.paths import program_object
    from tb.common.fast import BENCH_TOP
    from tb.common.runner import run_cocotb
    pcap = tmp_path / "marked.pcap"
    frames = _dscp_traffic(pcap)
    report, rows = tmp_path / "report.json", tmp_path / "frames.jsonl"
    run_cocotb(BENCH_TOP, "tb.e2e.rtl_run", {"N_ENTRIES": 4, "POLICY": "lru", "DATA_WIDTH": 512},
               extra_env={"RTL_RUN_PROGRAM": str(program_object("dscp_marker")),
                          "RTL_RUN_PCAP": str(pcap), "RTL_RUN_REPORT": str(report),
                          "RTL_RUN_FRAMES": str(rows)})
    summary = json.loads(report.read_text())
    _check_dscp(frames, summary, [json.loads(x) for x in rows.read_text().splitlines()])
