"""The concurrent-update bench's control plane (tb/common/control_plane.py) without a simulator:
its commands run on the map block's register model (jit/nic/map_sync.RegisterPort over
jit.nic.mapmem, the golden model of rtl/jitnic_maps.v) and, as the replay, on the host's maps; the
two must agree on every errno and lookup, and a host copy that missed one update must be caught."""
from __future__ import annotations

import random

import pytest

from jit.nic import map_sync as ms
from tb.common import control_plane as cp
from tb.e2e.test_e2e_maps import program_runtime, traffic

PROGRAMS = ("deny_list", "config_filter", "proto_stats")


def nic_and_host(name: str):
    rt = program_runtime(name)
    plan = ms.plan(rt.maps)
    ids, programs = ms.program_ids(rt.linked.object)
    port = ms.RegisterPort()
    ms.run_on(port, ms.install(plan))
    ms.run_on(port, ms.load(plan, rt.maps, ids))
    return rt, plan, programs, port


def run(port, cmd: cp.Command, d) -> None:
    bc = cp.bus_command(cmd, d)
    cmd.result = bc.result(port.run(bc.ops))


@pytest.mark.parametrize("name", PROGRAMS)
def test_nic_answers_equal_the_replay(name):
    rt, plan, programs, port = nic_and_host(name)
    frames = traffic(name, 20, 1)
    nxt = cp.plan_for(name, {plan.names[i]: i for i in plan.descs}, frames, random.Random(5))
    ops = set()
    for _ in range(150):
        cmd = nxt()
        d = plan.descs[cmd.map_id]
        run(port, cmd, d)
        want = cp.apply(cmd, rt.maps)
        assert cp.check(cmd, want, d, programs) is None, cmd.describe(plan.names)
        ops.add((cmd.op, cmd.result.errno))
    # every kind of command, and (deny_list) deletes of present and of absent keys
    assert {op for op, _ in ops} >= {cp.UPDATE, cp.LOOKUP}
    if name == "deny_list":
        assert {(cp.DELETE, 0), (cp.DELETE, 2)} <= ops
    assert ms.snapshot(plan, rt.maps) == {i: v for i, v in zip(
        plan.descs, ms.run_on(port, ms.read_back(plan, programs)).values())}


@pytest.mark.parametrize("name", PROGRAMS)
def test_a_lost_update_is_caught(name):
    rt, plan, programs, port = nic_and_host(name)
    nxt = cp.plan_for(name, {plan.names[i]: i for i in plan.descs}, traffic(name, 20, 1),
                      random.Random(9))
    update = next(c for c in iter(nxt, None) if c.op == cp.UPDATE)
    update.value = bytes([0x5A]) * len(update.value)        # a value nothing else writes
    run(port, update, plan.descs[update.map_id])           # the NIC took it, the host copy did not
    look = cp.Command(cp.LOOKUP, update.map_id, update.key)
    run(port, look, plan.descs[look.map_id])
    why = cp.check(look, cp.apply(look, rt.maps), plan.descs[look.map_id], programs)
    assert why is not None and "replay" in why
