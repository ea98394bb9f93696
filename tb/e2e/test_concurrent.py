"""The host changes map contents while traffic flows (issue 10, Deliver 5's last bench): map
programs on `jitnic_top` (bench top, whole-frame transfers), a control plane
(tb/common/control_plane.py) issuing user-mode updates, deletes and lookups over AXI4-Lite at
seeded random instants while frames stream through the NIC, and every frame checked against the
interpreter run at that frame's turn.

The order comes from the RTL: each bus command reads back MAP_TURN, the number of frames the packet
engine had retired when the command started. Memory model rules 1 and 2 (docs/memory_model.md)
make that a serialization: frames' map transactions in arrival order, each command between frame
MAP_TURN - 1 and frame MAP_TURN. The traffic goes in bursts; during a burst the host only runs its
control plane, and after it (the NIC drained) it handles the burst's misses and installs their
traces, as a host CPU that lags behind the NIC does.

The replay, per burst: the model twin (jit/nic/model.py on the host runtime's maps, one memory)
runs the burst's frames in order with each command applied between the frames MAP_TURN names, and
a shadow runtime runs each frame at the same turn (jit/host/runner.py's check: action, bytes,
redirect target). Checked: every frame the RTL sent out, per stream and in order, equals the
twin's; every lookup the host made returned the replayed maps' value and every update/delete its
errno; before the host handles the misses the NIC's maps (read back over the bus) equal the
replay's; at the end the counters, per-entry hits, the NIC's final maps, the host's view and the
shadow's final maps all agree. A bench that only ran commands between frames would prove nothing
about ordering: the test asserts that commands landed inside bursts, and on turns where a frame
that touches maps was in flight.
"""
from __future__ import annotations

import json
import os
import random

import cocotb
import pytest
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge, SimTimeoutError, Timer, with_timeout
from cocotb.utils import get_sim_time

from jit.nic import encoding as enc
from jit.nic.encoding import Counter
from jit.nic.model import NicModel
from jit.host.runner import RunLoop
from jit.paths import PROJECT_ROOT
from tb.common import control_plane as cp
from tb.common.e2e import E2eResult, assert_agreement
from tb.common.e2e_maps import NicMapSync
from tb.common.fast import (BENCH_TOP, RING_LOG2, SLOT_BYTES, AxilBatch, FastNicDriver,
                            RingSink, RingSource)
from tb.common.nic import NicParams, host_meta
from tb.common.runner import param, run_cocotb
from tb.e2e.rtl_run import rtl_config
from tb.e2e.test_e2e_maps import program_runtime, traffic

REPORTS = PROJECT_ROOT / "sim_build" / "reports"
PROGRAMS = ("deny_list", "config_filter", "proto_stats")


class RecordingTb:
    """The bench top's rings and batch bus master, without a scoreboard: the frames each output
    stream delivered are only recorded (tx.frames, host.frames, host.metas), because what to expect
    is known only after the RTL has told the order (the replay)."""

    def __init__(self, dut, *, idle: float, backpressure: float, seed: int):
        self.dut = dut
        self.params = NicParams.from_env()
        self.period_ns = 10
        Clock(dut.clk, self.period_ns, unit="ns", impl="gpi").start(start_high=False)
        dut.rst.value = 1
        slot, ring = param("SLOT_BYTES", SLOT_BYTES), param("RING_LOG2", RING_LOG2)
        self.rx = RingSource(dut.u_rx, slot, ring, idle=idle, seed=seed)
        self.host_tx = RingSource(dut.u_host_tx, slot, ring, idle=idle, seed=seed + 1)
        self.tx = RingSink(dut.u_tx, "tx", slot, ring, backpressure=backpressure, channel=False,
                           seed=seed)
        self.host = RingSink(dut.u_host, "host", slot, ring, backpressure=backpressure,
                             channel=True, seed=seed + 1)
        self.axil = AxilBatch(dut.u_axil, dut.clk, period_ns=self.period_ns)
        self.nic = FastNicDriver(self.axil)

    async def reset(self) -> None:
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 4)
        self.dut.rst.value = 0
        await RisingEdge(self.dut.clk)

    async def cycles(self, n: int) -> None:
        await Timer(n * self.period_ns, "ns")

    async def decided(self, frames: int, limit_cycles: int = 400_000) -> None:
        """Wait until the NIC has retired `frames` frames (HITS + MISSES)."""
        for _ in range(limit_cycles // 64):
            c = await self.nic.read_counters((Counter.HITS, Counter.MISSES))
            if sum(c.values()) >= frames:
                return
            await self.cycles(48)
        raise AssertionError(f"the NIC retired fewer than {frames} frames in {limit_cycles} cycles")

    async def outputs(self, n_tx: int, n_host: int, limit_cycles: int = 400_000) -> None:
        """Wait until the streams delivered n_tx and n_host frames in all, then a little longer
        (an extra frame would show in the comparison)."""
        async def until():
            while len(self.tx.frames) < n_tx or len(self.host.frames) < n_host:
                await self.cycles(32)
        try:
            await with_timeout(until(), limit_cycles * self.period_ns, "ns")
        except SimTimeoutError:
            raise AssertionError(f"expected {n_tx} tx and {n_host} host frames, got "
                                 f"{len(self.tx.frames)} and {len(self.host.frames)}") from None
        await self.cycles(64)


class _Twin:
    """What RunLoop sees as the NIC: the model twin; a host TX goes out through the RTL's host_tx."""

    def __init__(self, tb: RecordingTb, model: NicModel):
        self.tb, self.model = tb, model
        self.host_tx_frames: list[bytes] = []

    @property
    def counters(self):
        return self.model.counters

    def attach_state(self, state) -> None:
        self.model.attach_state(state)

    def install(self, atoms, code):
        raise AssertionError("the bench commits installs itself")

    def host_tx(self, packet: bytes) -> None:
        self.model.host_tx(packet)
        self.host_tx_frames.append(bytes(packet))
        self.tb.host_tx.send(packet)


def _expected(out, state) -> tuple[str, object] | None:
    if out.stream == "tx":
        return "tx", bytes(out.packet)
    if out.stream == "host":
        return "host", (int(out.channel), bytes(out.packet), host_meta(out, state))
    return None


def _short(items) -> str:
    """Output frames for a message: tx frames as bytes, host frames by channel, length, meta."""
    return "; ".join(x.hex() if isinstance(x, bytes) else
                     f"channel {x[0]} {len(x[1])} bytes meta {x[2]:#x}" for x in items)


@cocotb.test()
async def concurrent_updates(dut):
    env = os.environ
    name, seed = env["CONC_PROGRAM"], int(env.get("CONC_SEED", "1"))
    n_frames, burst = int(env.get("CONC_FRAMES", "48")), int(env.get("CONC_BURST", "12"))
    tb = RecordingTb(dut, idle=0.1, backpressure=0.2, seed=seed)
    await tb.reset()
    p = tb.params
    cfg = rtl_config(p, seed=0x99 + seed)
    runtime, shadow = program_runtime(name), program_runtime(name)
    # runts and oversize frames never reach the packet engine (nor MAP_TURN): left out here, the
    # e2e benches cover them
    frames = [f for f in traffic(name, n_frames // 2, seed) if 14 <= len(f) <= p.pkt_bytes]
    model = NicModel(cfg)
    twin = _Twin(tb, model)
    loop = RunLoop(runtime.insns, twin, cfg, runtime=runtime, shadow=shadow, prandom_seed=7)
    host = loop.host
    res = E2eResult(loop.rep)
    await tb.axil.write(enc.REG_PRANDOM_SEED, 7)
    await tb.nic.reseed(cfg.seed)
    sync = NicMapSync(tb, runtime, model)
    res.maps = sync
    await sync.start()
    plan = sync.plan
    ids = {plan.names[i]: i for i in plan.descs}
    rng = random.Random(seed * 7919 + 13)
    next_command = cp.plan_for(name, ids, frames, rng)
    commands: list[cp.Command] = []
    problems: list[str] = []
    stats = {"commands": 0, "inside_burst": 0, "beside_map_frames": 0, "bursts": 0}
    pos = 0                                  # frames retired before this burst (MAP_TURN's count)
    t_start = get_sim_time("ns")
    n_tx = n_host = 0

    retired = (enc.REG_COUNTERS + 4 * Counter.HITS, enc.REG_COUNTERS + 4 * Counter.MISSES)

    async def control(until: int) -> list[cp.Command]:
        """Commands at random instants until the NIC has retired `until` frames (and at least
        two); each command's batch also reads HITS and MISSES (one bus master, one user)."""
        mine, done = [], 0
        while done < until or len(mine) < 2:
            await tb.cycles(rng.choice([1, 2, 4, 8, 20, 40, 90]))
            cmd = next_command()
            done = sum(await cp.issue(sync.bus, cmd, plan.descs[cmd.map_id], retired))
            mine.append(cmd)
        return mine

    async def quiesce() -> None:
        await tb.decided(pos)

    for start in range(0, len(frames), burst):
        chunk = frames[start:start + burst]
        # installs the host compiled after the previous burst (the NIC idle, as run_e2e commits)
        for compiled in host.due_installs(start):
            got = await tb.nic.install(list(compiled.atoms), compiled.code)
            want = model.install(list(compiled.atoms), compiled.code)
            if (got.entry, got.evicted, got.error) != want:
                res.commit_mismatches.append((start, (got.entry, got.evicted, got.error), want))
            host.committed(compiled, got.entry if got.ok else None, got.error)
        task = cocotb.start_soon(control(pos + len(chunk)))
        for f in chunk:
            tb.rx.send(f)
        mine = await task
        stats["bursts"] += 1
        # the replay: the twin and the shadow run the frames with the commands at their turns
        for cmd in mine:
            if not pos <= cmd.turn <= pos + len(chunk):
                problems.append(f"{cmd.describe(plan.names)}: turn outside burst {pos}..{pos + len(chunk)}")
        at = {}
        for cmd in mine:
            at.setdefault(min(max(cmd.turn, pos), pos + len(chunk)) - pos, []).append(cmd)
        want_tx, want_host, missed = [], [], []
        tx_index, host_index = [], []          # (frame, where, entry) of each expected output
        ops_before = model.counters[Counter.MAP_OPS]
        map_frames = set()
        for k, frame in enumerate(chunk + [None]):
            for cmd in at.get(k, []):
                for rt in (runtime, shadow):
                    want = cp.apply(cmd, rt.maps)
                why = cp.check(cmd, want, plan.descs[cmd.map_id], sync.programs)
                if why:
                    problems.append(f"{cmd.describe(plan.names)}: {why}")
                commands.append(cmd)
            if frame is None:
                break
            index = start + k
            ops = model.counters[Counter.MAP_OPS]
            out = model.process(frame)
            if model.counters[Counter.MAP_OPS] != ops:
                map_frames.add(k)
            e = _expected(out, model.state)
            if e is not None:
                (want_tx if e[0] == "tx" else want_host).append(e[1])
                (tx_index if e[0] == "tx" else host_index).append((index, out.where, out.entry))
            if out.where == "host":
                missed.append((index, frame, out))
            else:
                loop.after_nic(index, frame, out)
        for k, cmds in at.items():
            inside = 0 < k < len(chunk)
            stats["inside_burst"] += inside * len(cmds)
            stats["beside_map_frames"] += ((k in map_frames or k - 1 in map_frames)
                                           and inside) * len(cmds)
        stats["commands"] += len(mine)
        pos += len(chunk)
        n_tx, n_host = n_tx + len(want_tx), n_host + len(want_host)
        await tb.outputs(n_tx, n_host)
        got_tx = tb.tx.frames[n_tx - len(want_tx):]
        got_host = [(c, f, m) for (c, f), m in zip(tb.host.frames[n_host - len(want_host):],
                                                  tb.host.metas[n_host - len(want_host):])]
        for stream, got, want, where in (("tx", [f for _, f in got_tx], want_tx, tx_index),
                                          ("host", got_host, want_host, host_index)):
            bad = [k for k, (g, w) in enumerate(zip(got, want)) if g != w]
            if bad or len(got) != len(want):
                k = bad[0] if bad else min(len(got), len(want))
                problems.append(f"burst at frame {start}: {stream} output {k} differs from the "
                                f"replay's (frame, where, entry) {where[k:k + 1]}: got "
                                f"{_short(got[k:k + 1])}, replay {_short(want[k:k + 1])}")
        assert len(tb.tx.frames) == n_tx and len(tb.host.frames) == n_host, "extra output frames"
        # the host, lagging behind: the burst's misses, each checked at its own turn
        tx_before = len(twin.host_tx_frames)
        for index, frame, out in missed:
            before = await sync.before_host(index, quiesce)
            loop.after_nic(index, frame, out)
            await sync.after_host(before, quiesce)
        sent = twin.host_tx_frames[tx_before:]
        if sent:
            n_tx += len(sent)
            await tb.outputs(n_tx, n_host)
            if [f for _, f in tb.tx.frames[n_tx - len(sent):]] != sent:
                problems.append(f"burst at frame {start}: host TX frames differ")
        assert not problems, "\n".join(problems[:8] + [
            f"burst commands: {[c.describe(plan.names) for c in mine]}",
            f"RTL counters {await tb.nic.read_counters()}, model {list(model.counters)}"])
        dut._log.info("burst %d: %d frames (%d map ops), %d commands at turns %s", start,
                      len(chunk), model.counters[Counter.MAP_OPS] - ops_before, len(mine),
                      [c.turn for c in mine])

    res.counters_rtl = dict(await tb.nic.read_counters())
    res.counters_model = {c: model.counters[c] for c in Counter}
    res.entry_hits_rtl = await tb.nic.entry_hits(cfg.n_entries)
    res.entry_hits_model = list(model.entry_hits)
    loop.finish()
    res.final_maps = await sync.finish()
    res.reference_mismatches = loop.mismatch_indexes
    res.rx_drops_seen = tb.rx.counter("paused_starts")
    assert_agreement(res)          # counters, entry hits, shadow frames and maps, NIC's maps
    rep = res.report
    assert rep.mismatches == 0 == rep.map_mismatches, rep.as_dict()
    assert rep.hits > 0 and rep.map_ops > 0, f"no NIC map traffic to interleave with: {rep.as_dict()}"
    # the commands really interleaved with the traffic, next to frames that touched maps
    assert stats["inside_burst"] >= 3 and stats["beside_map_frames"] >= 1, stats
    res.cycles = int((get_sim_time("ns") - t_start) // tb.period_ns)
    # tb/regress.py's summary row (E2eResult.summary), then what this bench adds
    summary = {**res.summary(f"concurrent {name} {p.policy} w{p.data_width}"),
               "map_ops": rep.map_ops, **stats,
               "lookups": sum(c.op == cp.LOOKUP for c in commands),
               "updates": sum(c.op == cp.UPDATE for c in commands),
               "deletes": sum(c.op == cp.DELETE for c in commands)}
    REPORTS.mkdir(parents=True, exist_ok=True)
    (REPORTS / f"concurrent_{name}_{p.policy}_{p.data_width}.json").write_text(json.dumps(summary))
    dut._log.info("summary %s", summary)


# (program, policy, data width): every program under LRU and random replacement, one at 512 bits
CASES = [(n, pol, 64) for n in PROGRAMS for pol in ("lru", "random")] + [("deny_list", "lru", 512)]


@pytest.mark.rtl
@pytest.mark.parametrize("program, policy, width", CASES,
                         ids=[f"{n}-{pol}-w{w}" for n, pol, w in CASES])
def test_concurrent_updates(program, policy, width):
    params = {"N_ENTRIES": 4, "POLICY": policy}
    if width != 64:
        params["DATA_WIDTH"] = width
    run_cocotb(BENCH_TOP, "tb.e2e.test_concurrent", params, testcase="concurrent_updates",
               extra_env={"CONC_PROGRAM": program, "CONC_SEED": str(PROGRAMS.index(program) + 3)})
