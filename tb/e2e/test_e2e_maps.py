"""End-to-end bench of the map programs on the RTL (issue 10): the program's maps installed and
loaded into the NIC over AXI4-Lite (--maps-in), traffic through `jitnic_top` with the Python host
in the loop, the NIC's maps kept in step with the host's at every missed frame, and at the end read
back over the bus and compared three ways: the NIC's maps, the host's view (the model twin's) and
the shadow interpreter run's; every frame checked against the interpreter at its turn
(tb/common/e2e.py, tb/common/e2e_maps.py).

Two trace formats:
* v1 (`test_e2e_maps_v1`): every path through a map or helper stays on the host, so each miss's map writes are written through and the NIC's maps must follow the host's
  exactly; paths without state still hit.
* v2 with the RTL helper set (`test_e2e_maps_v2`, the RTL engine's configuration): the NIC runs
  map traces itself.
"""
from __future__ import annotations

import json
import os
import time

import cocotb
import pytest

from jit.ebpf import elf
from jit.ebpf.maps import contents
from jit.ebpf.runtime import XdpRuntime
from jit.paths import PROJECT_ROOT, program_maps_file, program_object
from jit.traffic import workloads
from tb.common.e2e import assert_agreement, run_e2e
from tb.common.fast import BENCH_TOP, FastNicTb
from tb.common.runner import run_cocotb
from tb.e2e.rtl_run import rtl_config

REPORTS = PROJECT_ROOT / "sim_build" / "reports"
SECTION = {"tail_dispatch": "tail_dispatch"}
# the map programs whose NIC paths the RTL helper set covers (the contract's list); land_filter has
# no maps but its relations are guards, which only the v2 executor runs
# (dscp_marker has no maps: its paths copy headers with xdp_load_bytes / xdp_store_bytes)
V2_PROGRAMS = ("proto_stats", "deny_list", "config_filter", "tail_dispatch",
               "port_filter_subprog", "lpm_router", "land_filter", "flow_table", "dscp_marker")
# v1 (every map path on the host): programs whose host paths write maps (counters, a hash), read-only lookups
# (a deny list), a tail call and an LPM trie (read-only: routes)
V1_PROGRAMS = ("proto_stats", "deny_list", "tail_dispatch", "lpm_router")
# programs whose NIC hits perform map operations on this traffic (the model with the RTL config:
# tests/test_rtl_helper_set.py); every program of V2_PROGRAMS hits
V2_MAP_OPS = ("proto_stats", "deny_list", "config_filter", "tail_dispatch", "flow_table",
              "lpm_router")


def program_runtime(name: str) -> XdpRuntime:
    """The program with its shipped --maps-in (programs/<name>.maps.json, if any)."""
    linked = elf.load_linked(program_object(name), SECTION.get(name, name))
    path = program_maps_file(name)
    return XdpRuntime(linked, maps_in=contents.read_file(path, linked.maps) if path.exists() else None)


def traffic(name: str, n: int, seed: int) -> list[bytes]:
    from tests.packets import flow_table_traffic, varied_packets
    if name == "flow_table":            # flows that repeat, new flows, closes (update/delete)
        return flow_table_traffic(2 * n, seed)
    return varied_packets(name, n, seed) + list(workloads.generate("zipf", n, seed=seed, flows=6))


@cocotb.test()
async def e2e_maps(dut):
    env = os.environ
    name, fmt = env["E2E_PROGRAM"], int(env["E2E_FORMAT"])
    seed = int(env.get("E2E_SEED", "1"))
    tb = FastNicTb(dut, idle=0.1, backpressure=0.2, seed=seed)
    await tb.reset()
    runtime, shadow = program_runtime(name), program_runtime(name)
    cfg = rtl_config(tb.params, seed=0x99 + seed)
    assert cfg.v2 == (fmt == 2) or fmt == 1, "v2 asked of an RTL without the v2 executor"
    if fmt == 1:
        from dataclasses import replace
        cfg = replace(cfg, v2=False)
    frames = traffic(name, int(env.get("E2E_FRAMES", "20")), seed)
    wall = time.perf_counter()
    res = await run_e2e(tb, runtime.insns, frames, cfg, runtime=runtime, shadow=shadow,
                        prandom_seed=7)
    wall = time.perf_counter() - wall
    tb.check()
    assert_agreement(res)                    # frames, counters, final maps three ways
    rep = res.report
    assert rep.misses > 0 and rep.mismatches == 0 == rep.map_mismatches
    st = res.maps.stats if res.maps is not None else None
    if runtime.stateful and runtime.maps.by_fd:
        assert st.nic_maps and st.final_commands > 0
        if name == "lpm_router":                # the trie is NIC-resident (the LPM lookup unit)
            assert "routes" not in st.host_maps, st.host_maps
    if fmt == 1 and name in ("proto_stats", "tail_dispatch"):
        assert st.write_throughs > 0, "no host map write reached the NIC"
    if fmt == 2:
        assert rep.hits > 0 and (rep.map_ops > 0) == (name in V2_MAP_OPS), rep.as_dict()
    if fmt == 2 and name == "flow_table":
        # its per-CPU event counters' NIC slot (read back and checked three ways above) counts
        # what NIC traces did: inserts that succeeded, full-table refusals, deletes
        ev = runtime.maps.maps["events"]
        nic = [int.from_bytes(ev.read_slot(i, 1), "little") for i in range(4)]
        dut._log.info("flow_table on the NIC: new %d, closed %d, close unknown %d, full %d", *nic)
        assert nic[0] > 0 and nic[1] > 0 and nic[3] > 0, nic
    REPORTS.mkdir(parents=True, exist_ok=True)
    summary = res.summary(f"e2e maps v{fmt} {name} {cfg.policy} x{cfg.n_entries}")
    summary["frames_per_wall_s"] = round(len(frames) / wall, 1)   # simulator + host + map sync
    if st is not None:
        summary["map_sync"] = st.as_dict()
    (REPORTS / f"e2e_maps_v{fmt}_{name}_{cfg.policy}.json").write_text(json.dumps(summary))
    dut._log.info("summary %s", summary)


@cocotb.test()
async def map_sync_round_trip(dut):
    """jit/nic/map_sync.py's procedures over AXI4-Lite on jitnic_top's map memory (no traffic):
    every shipped map program's NIC-resident maps with random contents installed, loaded and read
    back, equal to the host's maps and to the same procedures run on mapmem's register model;
    one program access by access (the driver's non-batched path), the others one batch per
    command."""
    import random
    from jit.nic import map_sync as ms
    from jit.paths import MAP_PROGRAM_NAMES
    from tb.common.mapbus import MapBus
    from tests.test_map_sync import randomize
    tb = FastNicTb(dut)
    await tb.reset()
    # (icmp_frag_needed and dscp_marker have no maps: helpers only)
    for k, name in enumerate(n for n in MAP_PROGRAM_NAMES if program_runtime(n).maps.by_fd):
        rt = program_runtime(name)
        linked = rt.linked
        plan = ms.plan(rt.maps)
        randomize(rt.maps, plan, random.Random(k))
        ids, names = ms.program_ids(linked.object)
        bus = MapBus(tb.axil.write, tb.axil.read, None if k == 0 else tb.axil.run)
        port = ms.RegisterPort()
        for proc in (lambda: ms.install(plan), lambda: ms.load(plan, rt.maps, ids)):
            await bus.sync(proc())
            ms.run_on(port, proc())
        got = await bus.sync(ms.read_back(plan, names))
        assert got == ms.run_on(port, ms.read_back(plan, names)), name
        assert got == {plan.names[i]: v for i, v in ms.snapshot(plan, rt.maps).items()}, name
        dut._log.info("%s: %d commands, %d register accesses", name, bus.commands, bus.accesses)


def _run(program: str, fmt: int, policy: str, frames: int = 20) -> None:
    entries = int(os.environ.get("JITNIC_N_ENTRIES", "4"))
    run_cocotb(BENCH_TOP, "tb.e2e.test_e2e_maps", {"N_ENTRIES": entries, "POLICY": policy},
               testcase="e2e_maps", extra_env={"E2E_PROGRAM": program, "E2E_FORMAT": str(fmt),
                          "E2E_SEED": str(V2_PROGRAMS.index(program) + 1),
                          "E2E_FRAMES": str(frames)})


@pytest.mark.rtl
@pytest.mark.parametrize("program", V1_PROGRAMS)
def test_e2e_maps_v1(program):
    _run(program, 1, os.environ.get("JITNIC_POLICY", "lru"))


@pytest.mark.rtl
@pytest.mark.parametrize("policy", ["lru", "random"])
@pytest.mark.parametrize("program", V2_PROGRAMS)
def test_e2e_maps_v2(program, policy):
    if os.environ.get("JITNIC_POLICY", policy) != policy:
        pytest.skip(f"JITNIC_POLICY={os.environ['JITNIC_POLICY']}")
    _run(program, 2, policy)


@pytest.mark.rtl
def test_map_sync_over_axil():
    run_cocotb(BENCH_TOP, "tb.e2e.test_e2e_maps", {"N_ENTRIES": 4, "POLICY": "lru"},
               testcase="map_sync_round_trip")
