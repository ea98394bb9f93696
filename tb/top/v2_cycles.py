"""cocotb module behind `python -m tools.v2_cycles`: what guards cost at the top (trace format v2).

On an idle NIC, no idle cycles on rx and no back-pressure (tb.e2e.cycles' method: latency of one
frame, then steady back-to-back cycles per frame of a burst), for 64-byte frames:
  guard_pass       entry 0 guards on a frame byte and passes
  fall_through     entry 0's guard fails, entry 1's passes (one retry in the lane)
  guard_miss       entries 0 and 1 both fail: the frame goes to the host as a MISS
  adjust_head      bpf_xdp_adjust_head(ctx, -6), XDP_TX: the frame leaves 70 bytes long from
                   byte 58 of its buffer (not a bus-word boundary: through the realign stage)
  land_filter      land_filter's relational guard (from the tracer) passes
  proto_stats, deny_list   the tracer's trace of a UDP frame, with the program's maps installed
                   over the bus: map lookups and a counter update per frame, committed in arrival
                   order (only the oldest frame's lane touches the maps)
EXEC_CYCLES per frame (every attempt) comes from the counters. Every output is checked against the
v2 NIC model. Results go to $V2_CYCLES_REPORT (JSON rows).
"""
from __future__ import annotations

import json
import os

import cocotb
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

import dataclasses

from jit.ebpf import isa
from jit.nic.encoding import Atom, AtomKind, AtomOp, Counter
from jit.nic.mapmem import MapMem
from jit.nic.model import NicModel
from jit.nic.nic_state import NicState
from tb.common.mapbus import MapBus
from tb.e2e.cycles import measure
from tb.exec import mapsync
from tb.top.test_top_v2 import XDP_TX, V2Tb, guarded, linked_runtime, traced

FRAME_BYTES = 64


def with_byte14(value: int) -> bytes:
    frame = bytearray(bytes(Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1, dport=2)))
    frame += bytes(FRAME_BYTES - len(frame))
    frame[14] = value
    return bytes(frame)


async def row(tb: V2Tb, name: str, frame: bytes) -> dict:
    c0 = await tb.counters()
    latency, per_frame = await measure(tb, [frame], tb.expect_frame_only)
    c1 = await tb.counters()
    frames = c1[Counter.RX_PACKETS] - c0[Counter.RX_PACKETS]
    out = {"case": name, "data_width": tb.params.data_width, "n_lanes": tb.params.n_lanes,
           "bytes": len(frame), "latency": latency, "b2b_cycles_per_frame": round(per_frame, 2),
           "exec_cycles_per_frame": round((c1[Counter.EXEC_CYCLES] - c0[Counter.EXEC_CYCLES]) / frames, 1),
           "hits": c1[Counter.HITS] - c0[Counter.HITS],
           "guard_misses": c1[Counter.GUARD_MISSES] - c0[Counter.GUARD_MISSES], "frames": frames}
    tb.dut._log.info("%s", out)
    return out


class CyclesTb(V2Tb):
    def expect_frame_only(self, frame: bytes) -> None:
        """measure() sends the frame itself: only the expectation here."""
        self.expect_outcome(self.model.process(frame), self.model.state)


@cocotb.test()
async def v2_cycles(dut):
    tb = CyclesTb(dut)
    await tb.reset()
    every = [Atom(AtomKind.LEN, AtomOp.GE, const=20)]
    for value in (1, 2):
        await tb.install_both(every, guarded(value, XDP_TX))
    rows = [await row(tb, "guard_pass", with_byte14(1)),
            await row(tb, "fall_through", with_byte14(2)),
            await row(tb, "guard_miss", with_byte14(9))]
    await tb.nic.invalidate_all()
    tb.model.invalidate_all()
    await tb.install_both(every, isa.encode([isa.mov64_imm(2, -6), isa.call_helper(44),
                                             isa.mov64_imm(0, XDP_TX), isa.exit_insn()]))
    rows.append(await row(tb, "adjust_head", with_byte14(1)))
    await tb.nic.invalidate_all()
    tb.model.invalidate_all()
    frame = bytes(Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1000, dport=53))
    frame += bytes(FRAME_BYTES - len(frame))
    for compiled in traced("land_filter", [frame], tb.params):
        await tb.install_both(list(compiled.atoms), compiled.code)
    rows.append(await row(tb, "land_filter", frame))
    bus = MapBus(tb.axil.write, tb.axil.read)
    for name in ("proto_stats", "deny_list"):
        _lk, rt = linked_runtime(name)
        state = NicState.for_runtime(rt)
        compiled = traced(name, [frame], tb.params, rt)
        for fd, d in mapsync.install(MapMem(), rt, state.program_id).items():
            assert await bus.install(fd, d) == 0
            for e in mapsync.nic_maps(rt)[fd].dump():
                assert await bus.update(fd, e.key, mapsync._value_of(d, e, state.program_id)) == 0
        await tb.nic.invalidate_all()
        tb.model = NicModel(dataclasses.replace(tb.params.model_config(), v2=True), state=state)
        for c in compiled:
            await tb.install_both(list(c.atoms), c.code)
        rows.append(await row(tb, name, frame))
    await tb.wait_outputs()
    tb.check()
    assert [r["hits"] > 0 for r in rows] == [True, True, False, True, True, True, True], rows
    with open(os.environ["V2_CYCLES_REPORT"], "w") as f:
        json.dump(rows, f)
