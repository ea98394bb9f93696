"""End-to-end: the programs that move the frame's head and tail hit on the NIC (issue 10, helpers
bpf_xdp_adjust_head/tail, engineer "adj").

ipip_encap grows the head by an IPv4 header (adjust_head), icmp_frag_needed cuts the frame
(adjust_tail) and grows the head for its ICMP reply; both then checksum with bpf_csum_diff. Their
XDP_TX paths run on the NIC under the RTL's configuration (trace format v2, the RTL helper set)
and leave from a byte offset inside the packet buffer's head margin that is not bus-word aligned
(ipip_encap: 44, icmp_frag_needed: 36), through the egress realign stage, at DATA_WIDTH 64 and 512.
Every frame is checked against the interpreter at its turn and the counters against the model
(tb/common/e2e.py); the NIC's own TX counter must show the adjusted frames hitting.

Traffic: the program's varied frames plus, for each frame the program answers with XDP_TX, a few
copies with other payload bytes (same shape and length: icmp_frag_needed pins the frame length, so
one trace serves one length). Both run at the default MAX_TRACE_LEN (128): the optimizer shrinks
icmp_frag_needed's reply trace from 152 slots to 95 and ipip_encap's encapsulation from 101 to
76 (docs/opt.md "Frame moves").

The host queue's side: tb/e2e/adjust_pass.c pushes a tag in front of IPv4 frames and cuts both
ends of IPv6 frames, then passes them to the host, through `jitnic run --engine rtl` (the user's
path), checked by the command against the interpreter frame by frame.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from collections import Counter as Tally

import cocotb
import pytest

from jit.ebpf.memmap import XDP_TX
from jit.nic.encoding import Counter
from tb.common.e2e import assert_agreement, run_e2e
from tb.common.fast import BENCH_TOP, FastNicTb
from jit.paths import PROJECT_ROOT
from tb.common.runner import run_cocotb
from tb.e2e.rtl_run import rtl_config
from tb.e2e.test_e2e_maps import program_runtime

# bytes from which a copy of a TX frame gets new contents (after what the path reads and pins)
VARY_FROM = {"ipip_encap": 34, "icmp_frag_needed": 42}
COPIES = 4


def traffic(name: str, seed: int) -> tuple[list[bytes], int]:
    """(frames, how many of them the program sends back with XDP_TX)."""
    from tests.packets import varied_packets
    rng = random.Random(seed)
    base = varied_packets(name, 24, seed)
    ref = program_runtime(name)
    tx = [f for f in base if ref.run(f).action == XDP_TX]
    frames = base + [f[:VARY_FROM[name]] + rng.randbytes(len(f) - VARY_FROM[name])
                     for f in tx for _ in range(COPIES)]
    rng.shuffle(frames)
    return frames, len(tx) * (COPIES + 1)


@cocotb.test()
async def e2e_adjust(dut):
    name = os.environ["E2E_PROGRAM"]
    tb = FastNicTb(dut, idle=0.1, backpressure=0.2, seed=3)
    await tb.reset()
    runtime, shadow = program_runtime(name), program_runtime(name)
    cfg = rtl_config(tb.params, seed=0x99)
    frames, n_tx = traffic(name, 3)
    res = await run_e2e(tb, runtime.insns, frames, cfg, runtime=runtime, shadow=shadow)
    tb.check()
    assert_agreement(res)                    # frames, counters, final maps three ways
    rep = res.report
    assert rep.mismatches == 0 == rep.map_mismatches
    assert not any("helper set" in r for r in rep.reasons), rep.reasons
    nic_tx = res.counters_rtl[Counter.TX]
    # every TX frame but the first of each trace hits (one trace per frame shape)
    assert nic_tx >= n_tx - n_tx // (COPIES + 1), (nic_tx, n_tx, rep.as_dict())
    dut._log.info("%s: %d frames, %d hits, %d XDP_TX on the NIC of %d, %d cycles", name,
                  len(frames), rep.hits, nic_tx, n_tx, res.cycles)


CASES = [("ipip_encap", 64), ("ipip_encap", 512), ("icmp_frag_needed", 512)]


@pytest.mark.rtl
@pytest.mark.parametrize("program, width", CASES, ids=[f"{p}-w{w}" for p, w in CASES])
def test_e2e_adjust(program, width):
    params = {"N_ENTRIES": 4, "POLICY": "lru", "DATA_WIDTH": width}
    run_cocotb(BENCH_TOP, "tb.e2e.test_e2e_adjust", params, testcase="e2e_adjust",
               extra_env={"E2E_PROGRAM": program})


@pytest.fixture(scope="module")
def adjust_pass(tmp_path_factory):
    if shutil.which("clang") is None:
        pytest.skip("clang not installed")
    from tests.packets import varied_packets
    from jit.traffic import workloads
    from jit.traffic.pcap import write_packets
    d = tmp_path_factory.mktemp("adjust_pass")
    obj, pcap = d / "adjust_pass.o", d / "traffic.pcap"
    arch = subprocess.run(["uname", "-m"], capture_output=True, text=True).stdout.strip()
    subprocess.run(["clang", "-O2", "-g", "-target", "bpf", "-Wall", "-Werror",
                    f"-I/usr/include/{arch}-linux-gnu", f"-I{PROJECT_ROOT / 'programs'}", "-c",
                    str(PROJECT_ROOT / "tb" / "e2e" / "adjust_pass.c"), "-o", str(obj)],
                   check=True, capture_output=True)
    frames = list(workloads.generate("zipf", 32, seed=5, flows=6))
    frames += [f for f in varied_packets("ipv6_filter", 40, 5) if f[12:14] == b"\x86\xdd"][:16]
    random.Random(5).shuffle(frames)
    write_packets(str(pcap), frames)
    return obj, pcap


@pytest.mark.rtl
def test_adjusted_frames_reach_the_host_from_the_nic(adjust_pass):
    """XDP_PASS frames with a grown head (IPv4) and with both ends cut (IPv6) hit on the NIC and
    leave on the host queue from unaligned offsets; 0 mismatches, no exec errors."""
    obj, pcap = adjust_pass
    proc = subprocess.run([sys.executable, "-m", "jit", "run", str(obj), "--pcap", str(pcap),
                           "--entries", "4", "--engine", "rtl", "--jsonl"], capture_output=True,
                          text=True, cwd=PROJECT_ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [json.loads(x) for x in proc.stdout.splitlines()]
    rep = lines[-1]
    assert rep["mismatches"] == 0 and rep["exec_errors"] == 0 and rep["host_errors"] == 0, rep
    # frames that left the NIC for the host moved: IPv4 with the tag ("zag" at byte 0),
    # IPv6 starting 2 bytes in (the EtherType's second byte is now byte 10 of the frame)
    where = Tally((d["where"], d["action_name"], d["out_hex"][:6] == "7a6167") for d in lines
                  if "index" in d)
    v6 = sum(1 for d in lines if "index" in d and d["where"] == "nic"
             and d["action_name"] == "XDP_PASS" and d["out_hex"][20:26] == "86dd60")
    assert where[("nic", "XDP_PASS", True)] >= 8 and v6 >= 8, (where, v6)
