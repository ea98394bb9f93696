"""cocotb test module behind `jitnic run --engine rtl` (see jit/cli/rtl_engine.py): streams a capture
through `jitnic_top` (in the bench top `jitnic_tb_top`, whole-frame transfers) with the Python host in the loop and writes the run report (and, if asked,
one JSON object per frame) to the files named in the environment.

A program with maps runs with its runtime (RTL_RUN_MAPS_IN, RTL_RUN_PRANDOM_SEED): the NIC's maps
are loaded, kept in step and read back over the bus (tb/common/e2e.py), and the final maps, the
NIC-resident ones as the NIC holds them, go to RTL_RUN_MAPS_OUT. The NIC configuration is the RTL
engine's: trace format v2 with the RTL helper set (`rtl_config`)."""
from __future__ import annotations

import json
import os
import time

import cocotb

from jit.ebpf import elf
from jit.ebpf.maps import contents
from jit.ebpf.runtime import XdpRuntime
from jit.traffic.capture import CaptureReader
from jit.nic.model import NicConfig
from tb.common.e2e import assert_agreement, run_e2e
from tb.common.fast import FastNicTb


@cocotb.test()
async def rtl_run(dut):
    env = os.environ
    tb = FastNicTb(dut, idle=float(env.get("RTL_RUN_IDLE", "0")),
               backpressure=float(env.get("RTL_RUN_BACKPRESSURE", "0")))
    await tb.reset()
    program = elf.load_linked(env["RTL_RUN_PROGRAM"], env.get("RTL_RUN_SECTION") or None)
    p = tb.params
    cfg = rtl_config(p, int(env.get("RTL_RUN_SEED", "0")))
    maps_in = (contents.read_file(env["RTL_RUN_MAPS_IN"], program.maps)
               if env.get("RTL_RUN_MAPS_IN") else None)
    rng_seed = int(env.get("RTL_RUN_PRANDOM_SEED", "0"))
    runtime, shadow = (XdpRuntime(program, maps_in=maps_in, seed=rng_seed) for _ in range(2))
    frames_out = open(env["RTL_RUN_FRAMES"], "w") if env.get("RTL_RUN_FRAMES") else None

    def on_frame(rec):
        frames_out.write(json.dumps(rec.as_dict()) + "\n")
        frames_out.flush()                  # the parent counts lines for its progress bar

    capture = CaptureReader(env["RTL_RUN_PCAP"], convert=env.get("RTL_RUN_CONVERT_LINK") == "1")

    def frames():                  # the capture's clock for bpf_ktime_get_ns, as the model engine
        for ts_ns, frame in capture.stamped_frames():
            runtime.now_ns = ts_ns
            yield frame

    check = env.get("RTL_RUN_CHECK", "1") == "1"
    wall, cpu = time.perf_counter(), time.process_time()
    res = await run_e2e(tb, program.insns, frames(), cfg,
                        latency=int(env.get("RTL_RUN_LATENCY", "0")), check_reference=check,
                        on_frame=on_frame if frames_out else None, runtime=runtime,
                        shadow=shadow if check else None, prandom_seed=rng_seed)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if frames_out:
        frames_out.close()
    tb.check()
    summary = res.report.as_dict()
    summary["cycles"] = res.cycles
    summary["cycles_per_frame"] = round(res.cycles / max(res.report.packets, 1), 2)
    summary["capture_notes"] = capture.notes + capture.warnings
    # simulation + host + checks, without the build and the simulator's start-up
    summary["sim_wall_s"] = round(wall, 3)
    summary["frames_per_wall_s"] = round(res.report.packets / wall, 1) if wall > 0 else 0.0
    summary["sim_cpu_s"] = round(cpu, 3)       # this process: simulator, cocotb and host together
    summary["trace_format"] = 2 if cfg.v2 else 1
    if res.maps is not None:
        summary["map_sync"] = res.maps.stats.as_dict()
        if env.get("RTL_RUN_MAPS_OUT"):
            contents.write_file(env["RTL_RUN_MAPS_OUT"], res.final_maps)
    with open(env["RTL_RUN_REPORT"], "w") as f:
        json.dump(summary, f)
    assert_agreement(res)


def rtl_config(p, seed: int) -> NicConfig:
    """The NIC configuration of the RTL built with parameters `p` (tb.common.nic.NicParams):
    trace format v2 with the RTL helper set."""
    return NicConfig(n_entries=p.n_entries, max_atoms=p.max_atoms, max_trace_len=p.max_trace_len,
                     hdr_bytes=p.hdr_bytes, pkt_bytes=p.pkt_bytes, policy=p.policy, seed=seed,
                     n_slots=p.n_slots, n_len_atoms=p.n_len_atoms, n_gen_atoms=p.n_gen_atoms,
                     v2=True, helper_set="rtl")
