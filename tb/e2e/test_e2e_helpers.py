"""End-to-end runs of the RTL helpers added to the executor's set by engineer "exh" (issue 10):
`jitnic run --engine rtl`, the user's path, on a program whose routed frames' paths call the helper
(and no helper outside the RTL set), checked by the command against the interpreter frame by frame.

csum_diff: tb/e2e/csum_ttl.c (TTL decrement, header checksum by bpf_csum_diff from a stack copy
and the packet). The shipped programs that call csum_diff (ipip_encap, icmp_frag_needed) also call
xdp_adjust_head, which is not in the RTL set yet, so their paths still stay on the host; this
program shows the helper's paths hitting on the NIC.
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


@pytest.fixture(scope="module")
def csum_ttl(tmp_path_factory):
    if shutil.which("clang") is None:
        pytest.skip("clang not installed")
    d = tmp_path_factory.mktemp("csum_ttl")
    obj, pcap = d / "csum_ttl.o", d / "traffic.pcap"
    arch = subprocess.run(["uname", "-m"], capture_output=True, text=True).stdout.strip()
    subprocess.run(["clang", "-O2", "-g", "-target", "bpf", "-Wall", "-Werror",
                    f"-I/usr/include/{arch}-linux-gnu", f"-I{PROJECT_ROOT / 'programs'}", "-c",
                    str(HERE / "csum_ttl.c"), "-o", str(obj)], check=True, capture_output=True)
    subprocess.run([sys.executable, "-m", "jit", "gen", "zipf", "-o", str(pcap), "--count",
                    str(FRAMES), "--seed", "5", "-p", "flows=8", "-p", "mix=v4_only"], check=True, capture_output=True,
                   cwd=PROJECT_ROOT)
    return obj, pcap


def _run(obj, pcap, *extra: str) -> tuple[dict, Counter]:
    proc = subprocess.run([sys.executable, "-m", "jit", "run", str(obj), "--pcap", str(pcap),
                           "--entries", "4", "--jsonl", *extra], capture_output=True, text=True,
                          cwd=PROJECT_ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [json.loads(x) for x in proc.stdout.splitlines()]
    where = Counter((d["where"], d["action_name"]) for d in lines if "index" in d)
    return lines[-1], where


@pytest.mark.rtl
def test_csum_diff_paths_hit_on_the_rtl(csum_ttl):
    """Routed frames (XDP_TX: the path with bpf_csum_diff) hit on the NIC under the RTL engine,
    0 mismatches and no exec errors, frame for frame as the model configured like the RTL (v2,
    the RTL helper set) places them."""
    obj, pcap = csum_ttl
    rtl, rtl_where = _run(obj, pcap, "--engine", "rtl")
    model, model_where = _run(obj, pcap, "--helpers", "rtl")
    assert rtl["mismatches"] == 0 and rtl["exec_errors"] == 0 and rtl["host_errors"] == 0, rtl
    assert not any("helper set" in r for r in rtl["uncacheable_reasons"]), rtl
    assert rtl_where[("nic", "XDP_TX")] >= FRAMES // 4, rtl_where
    assert rtl_where == model_where and rtl["hits"] == model["hits"]
