"""End-to-end bench: scapy-built traffic through `rx` of `jitnic_top` (in the bench top
`jitnic_tb_top`: whole-frame transfers, tb/common/fast.py), misses handled by the Python
host which installs over AXI4-Lite, every output (stream, channel, bytes) checked by the scoreboard,
every final result checked against the reference interpreter, and the NIC's counters and per-entry
hits checked against `jit/nic/model.py` -- for every shipped program and every policy, with random idle
cycles on the sources and random back-pressure on the sinks.

`JITNIC_POLICY` / `JITNIC_N_ENTRIES` (set by `make SIM=icarus POLICY=... N_ENTRIES=...`) restrict
the sweep; the bench writes a summary per run to sim_build/reports/ for the regression summary.
"""
from __future__ import annotations

import json
import os
import time

import cocotb
import pytest

from jit.ebpf import elf
from jit.nic.encoding import Counter
from jit.traffic import workloads
from jit.paths import PROGRAM_NAMES, PROJECT_ROOT, program_object
from tb.common.e2e import assert_agreement, run_e2e
from tb.common.fast import BENCH_TOP, FastNicTb
from tb.common.runner import run_cocotb

POLICIES = ["lru", "fifo", "random", "plru"]
REPORTS = PROJECT_ROOT / "sim_build" / "reports"


def traffic(name: str, seed: int) -> list[bytes]:
    """Program-specific families (incl. runts, truncated, random bytes), a Zipf stream, malformed
    corner cases and one frame longer than the packet buffer."""
    from tests.packets import varied_packets
    frames = varied_packets(name, 90, seed)
    frames += list(workloads.generate("zipf", 70, seed=seed, flows=12))
    frames += list(workloads.generate("malformed", 30, seed=seed, valid=0))
    frames.insert(len(frames) // 2, bytes(range(256)) * 10)      # 2560 bytes > PKT_BYTES
    return frames


@cocotb.test()
async def e2e(dut):
    name = os.environ["E2E_PROGRAM"]
    seed = int(os.environ.get("E2E_SEED", "1"))
    tb = FastNicTb(dut, idle=0.2, backpressure=0.3, seed=seed)
    await tb.reset()
    program = elf.load_program(program_object(name))
    cfg = tb.params.model_config(seed=0x1234 + seed)
    frames = traffic(name, seed)
    wall = time.perf_counter()
    res = await run_e2e(tb, program.insns, frames, cfg)
    wall = time.perf_counter() - wall
    tb.check()
    assert_agreement(res)
    assert res.report.hits > 0 and res.report.misses > 0
    refused = os.environ.get("E2E_EXPECT_REFUSED")       # a commit error the NIC's size forces
    if refused:
        assert res.report.install_errors.get(refused, 0) > 0, res.report.install_errors
    # the shells really produced idle gaps on rx and back-pressure on the outputs
    shells = tb.stream_counters()
    # every frame sent (0-byte records are not: RunLoop counts them as empty) started on the wire
    assert shells["rx_frames"] == tb.rx.sent == res.counters_rtl[Counter.RX_PACKETS], shells
    assert shells["rx_idle_gaps"] > 0, shells
    assert shells["tx_stalls"] + shells["host_stalls"] > 0, shells
    REPORTS.mkdir(parents=True, exist_ok=True)
    width = tb.params.data_width
    wide = "" if width == 64 else f" dw{width}"
    summary = res.summary(f"e2e {name} {cfg.policy} x{cfg.n_entries}{wide}")
    summary["frames_per_wall_s"] = round(len(frames) / wall, 1)   # Icarus + cocotb + host speed
    (REPORTS / f"e2e_{name}_{cfg.policy}_{cfg.n_entries}{wide.strip() and '_' + wide.strip()}.json"
     ).write_text(json.dumps(summary))
    dut._log.info("summary %s", summary)


def _policies():
    only = os.environ.get("JITNIC_POLICY")
    return [only] if only else POLICIES


@pytest.mark.rtl
@pytest.mark.parametrize("policy", _policies())
@pytest.mark.parametrize("program", PROGRAM_NAMES)
def test_e2e(program, policy):
    entries = int(os.environ.get("JITNIC_N_ENTRIES", "4"))
    run_cocotb(BENCH_TOP, "tb.e2e.test_e2e", {"N_ENTRIES": entries, "POLICY": policy},
               extra_env={"E2E_PROGRAM": program, "E2E_SEED": str(PROGRAM_NAMES.index(program) + 1)})


WIDE_PROGRAMS = ("mac_swap_tx", "l4_lb")       # the shortest and the longest transmit traces


@pytest.mark.rtl
@pytest.mark.parametrize("program", WIDE_PROGRAMS)
def test_e2e_512(program):
    """The same loop on a 512-bit NIC (one policy: the policies do not depend on the width)."""
    policy = _policies()[0]
    entries = int(os.environ.get("JITNIC_N_ENTRIES", "4"))
    run_cocotb(BENCH_TOP, "tb.e2e.test_e2e",
               {"N_ENTRIES": entries, "POLICY": policy, "DATA_WIDTH": 512},
               extra_env={"E2E_PROGRAM": program, "E2E_SEED": str(PROGRAM_NAMES.index(program) + 1)})


@pytest.mark.rtl
def test_e2e_cells():
    """Fewer compare cells than the defaults (one general atom, no length cell), set on the bench
    top: the NIC's CFG_CELLS register reports them, commits of paths that need more are refused
    (CELLS_FULL) exactly where the model refuses them, and everything else still agrees."""
    program = "parser_classifier"       # the shipped program whose paths need the most atoms
    run_cocotb(BENCH_TOP, "tb.e2e.test_e2e",
               {"N_ENTRIES": 4, "POLICY": "lru", "N_LEN_ATOMS": 0, "N_GEN_ATOMS": 1},
               extra_env={"E2E_PROGRAM": program, "E2E_SEED": "3",
                          "E2E_EXPECT_REFUSED": "CELLS_FULL"})
