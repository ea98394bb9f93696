"""jitnic_top with v2 traces that touch maps (issue 10): the executor's map port through the
top's grant and multiplexer onto jitnic_maps, checked against the v2 NIC model running the same
traces on a host runtime's maps, and the NIC's map read back over the control bus.

  map_commits_in_arrival_order  a trace that increments counts[1] and writes the new count into
      the frame: frames back to back on every lane must come out numbered 1, 2, 3, ... (each
      trace reads the value the previous frame committed: memory model rule 1), and the map read
      over AXI4-Lite at the end holds the frame count (the model's value)
  redirect_host_meta  bpf_redirect(ifindex) in a trace: the REDIRECT frame's host_meta word is
      encoding.redirect_meta of the model's outcome
  program_maps  the tracer's v2 traces of proto_stats, deny_list, tail_dispatch and config_filter
      installed with the programs' maps (placed and filled over the bus as the host left them),
      the same frames sent again as hits on every lane, every output checked against the model,
      then every NIC-resident map read back over AXI4-Lite and compared with the model's
"""
from __future__ import annotations

import dataclasses
import random

import cocotb
import pytest

from jit.ebpf import elf, isa, memmap
from jit.ebpf.runtime import XdpRuntime
from jit.nic import encoding as enc
from jit.nic.encoding import Atom, AtomKind, AtomOp, Channel, Counter
from jit.nic.mapmem import place
from jit.nic.model import NicModel
from jit.nic.nic_state import NicState
from jit.nic.mapmem import MapMem
from tb.common.mapbus import MapBus
from tb.common.nic import NicTb
from tb.common.runner import run_cocotb
from tb.exec import mapsync
from tb.top.test_top_v2 import linked_runtime, sample_frames, traced

XDP_TX, XDP_REDIRECT = 3, 4
ARRAY = 2
DEFS = {"counts": elf.MapDef("counts", ARRAY, 4, 8, 4)}     # fd 0 = NIC map id 0


class MapsTb(NicTb):
    """NicTb with the v2 model on a runtime's maps, and the same maps installed in the NIC."""

    def __init__(self, dut, **kw):
        super().__init__(dut, **kw)
        self.runtime = XdpRuntime([isa.mov64_imm(0, 2), isa.exit_insn()], maps=DEFS)
        self.model = NicModel(dataclasses.replace(self.params.model_config(), v2=True),
                              state=NicState.for_runtime(self.runtime))
        self.bus = MapBus(self.axil.write, self.axil.read)
        self.placement = place(list(DEFS.values()))

    async def install_maps(self) -> None:
        for map_id, desc in enumerate(self.placement.nic.values()):
            assert await self.bus.install(map_id, desc) == 0

    async def install_both(self, atoms, code: bytes) -> None:
        want = self.model.install(atoms, code)
        got = await self.install(atoms, code)
        assert got.ok and (got.entry, got.evicted) == want[:2], f"RTL {got} != model {want}"

    def expect_frame(self, frame: bytes) -> None:
        self.expect_outcome(self.model.process(frame), self.model.state)
        self.send(frame)

    async def check_counters(self) -> None:
        got = await self.counters()
        for c in Counter:
            if c != Counter.EXEC_CYCLES:
                assert got[c] == self.model.counters[c], \
                    f"{c.name}: RTL {got[c]} != model {self.model.counters[c]}"


def counter_trace() -> bytes:
    """counts[1] += 1 (load, add, store through the lookup's pointer); the new count goes into
    frame bytes 20..23; XDP_TX. A failed lookup fails the guard (jump to the trace length)."""
    body = [isa.mov64_reg(6, 1), isa.st_imm(4, 10, -4, 1), isa.ld_imm64(1, memmap.map_handle(0)),
            isa.mov64_reg(2, 10), isa.alu64_imm(isa.BPF_ADD, 2, -4), isa.call_helper(1)]
    tail = [isa.ldx(8, 1, 0, 0), isa.alu64_imm(isa.BPF_ADD, 1, 1), isa.stx(8, 0, 1, 0),
            isa.ldx(4, 2, 6, 0), isa.stx(4, 2, 1, 20), isa.mov64_imm(0, XDP_TX), isa.exit_insn()]
    slots = sum(i.slots for i in body) + 1 + sum(i.slots for i in tail)
    guard = isa.jmp_imm(isa.BPF_JEQ, 0, 0, slots - sum(i.slots for i in body) - 1)
    return isa.encode(body + [guard] + tail)


@cocotb.test()
async def map_commits_in_arrival_order(dut):
    tb = MapsTb(dut)
    await tb.reset()
    await tb.install_maps()
    await tb.install_both([Atom(AtomKind.LEN, AtomOp.GE, const=24)], counter_trace())
    n = 4 * tb.params.n_lanes + 3
    for i in range(n):
        tb.expect_frame(bytes([i]) * 64)
    await tb.wait_outputs()
    tb.check()
    seq = [int.from_bytes(f[20:24], "little") for _, f in tb.tx.frames]
    assert seq == list(range(1, n + 1)), f"counts seen by the frames: {seq}"
    desc = tb.placement.nic["counts"]
    got = await tb.bus.lookup(0, desc, (1).to_bytes(4, "little"))
    want = tb.runtime.maps.maps["counts"].read_slot(1, 0)
    assert got.errno == 0 and got.value[:8] == want, f"NIC counts[1] {got}, model {want.hex()}"
    assert int.from_bytes(want, "little") == n
    await tb.check_counters()
    assert tb.model.counters[Counter.MAP_OPS] > 0


@cocotb.test()
async def redirect_host_meta(dut):
    tb = MapsTb(dut)
    await tb.reset()
    trace = isa.encode([isa.mov64_imm(1, 7), isa.mov64_imm(2, 0), isa.call_helper(23),
                        isa.exit_insn()])
    await tb.install_both([], trace)
    for i in range(5):
        tb.expect_frame(bytes([i]) * 60)
    await tb.wait_outputs()
    tb.check()
    assert [c for c, _ in tb.host.frames] == [int(Channel.REDIRECT)] * 5
    want = enc.redirect_meta(enc.RedirectKind.IFINDEX, 7)
    assert tb.host.metas == [want] * 5, [hex(m) for m in tb.host.metas]
    await tb.check_counters()


class BusMaps:
    """mapsync.differences' view of a MapMem (lookup, count), read from the NIC over the bus."""

    def __init__(self):
        self.values: dict[tuple[int, bytes], object] = {}
        self.counts: dict[int, int] = {}

    async def read(self, bus: MapBus, rt, descs) -> None:
        maps = mapsync.nic_maps(rt)
        for fd, d in descs.items():
            for e in maps[fd].dump():
                self.values[fd, e.key] = await bus.lookup(fd, d, e.key)
            if d.is_hash:
                n, r = 0, await bus.next_key(fd, d, None)
                while r.errno == 0 and n <= d.max_entries:
                    n += 1
                    r = await bus.next_key(fd, d, r.key[:d.key_size])
                self.counts[fd] = n

    def lookup(self, fd: int, key: bytes):
        return self.values[fd, key]

    def count(self, fd: int) -> int:
        return self.counts[fd]


@cocotb.test()
async def program_maps(dut):
    tb = NicTb(dut)
    await tb.reset()
    bus = MapBus(tb.axil.write, tb.axil.read)
    rng = random.Random(13)
    frames = sample_frames(rng, 10)
    ops = {}
    for name in ("proto_stats", "deny_list", "tail_dispatch", "config_filter"):
        _lk, rt = linked_runtime(name)
        compiled = traced(name, frames, tb.params, rt)      # the host's runs: maps as it left them
        state = NicState.for_runtime(rt)
        # the NIC's maps: descriptors and contents as the host has them, written over the bus
        descs = mapsync.install(MapMem(), rt, state.program_id)
        for fd, d in descs.items():
            assert await bus.install(fd, d) == 0
            for e in mapsync.nic_maps(rt)[fd].dump():
                assert await bus.update(fd, e.key, mapsync._value_of(d, e, state.program_id)) == 0
        model = NicModel(dataclasses.replace(tb.params.model_config(), v2=True), state=state)
        await tb.nic.invalidate_all()
        await tb.nic.clear_counters()
        for c in compiled:
            want = model.install(list(c.atoms), c.code)
            got = await tb.install(list(c.atoms), c.code)
            assert got.ok and (got.entry, got.evicted) == want[:2], f"{name}: {got} != {want}"
        for frame in frames + frames:
            tb.expect_outcome(model.process(frame), model.state)
            tb.send(frame)
        await tb.wait_outputs()
        tb.check()
        got = await tb.counters()
        for k in Counter:
            if k != Counter.EXEC_CYCLES:
                assert got[k] == model.counters[k], f"{name} {k.name}: RTL {got[k]} != model {model.counters[k]}"
        nic = BusMaps()
        await nic.read(bus, rt, descs)
        diff = mapsync.differences(nic, rt, descs, state.program_id)
        assert not diff, f"{name}: NIC maps differ from the model's: {diff[:5]}"
        ops[name] = (model.counters[Counter.HITS], model.counters[Counter.MAP_OPS])
    dut._log.info("hits, map ops per program: %s", ops)
    assert all(h and m for h, m in ops.values()), ops


@pytest.mark.rtl
def test_top_v2_maps():
    run_cocotb("jitnic_top", "tb.top.test_top_v2_maps")
