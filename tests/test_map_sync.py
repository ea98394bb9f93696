"""Map sync over the control bus (jit/nic/map_sync.py) without a simulator: every shipped map
program's NIC-resident maps, filled with random contents, installed and loaded through the map
block's registers (RegisterPort over mapmem.MapMem), read back by iteration and lookup into the
host's representation, equal to the host's maps; the host's changes written through; placement
keeps maps the NIC cannot hold on the host with a reason."""
from __future__ import annotations

import random

import pytest

from jit.ebpf import elf
from jit.ebpf.elf import MAP_TYPE_IDS, MapDef
from jit.ebpf.maps import contents as mc
from jit.ebpf.maps.contents import Entry
from jit.ebpf.maps.mapset import MapSet
from jit.ebpf.runtime import XdpRuntime
from jit.nic import encoding as enc
from jit.nic import map_sync as ms
from jit.nic import mapmem
from jit.paths import MAP_PROGRAM_NAMES, program_maps_file
from tests.conftest import built_program

SECTION = {"tail_dispatch": "tail_dispatch"}


def program_runtime(name: str) -> XdpRuntime:
    linked = elf.load_linked(built_program(name), SECTION.get(name, name))
    path = program_maps_file(name)
    return XdpRuntime(linked, maps_in=mc.read_file(path, linked.maps) if path.exists() else None)


def randomize(maps, p: ms.Plan, rng: random.Random) -> None:
    """Random entries in every NIC-resident map the host lets user space write values into."""
    for map_id, d in p.descs.items():
        m = maps.by_fd[map_id]
        if d.type == mapmem.MapType.PROG_ARRAY:
            continue                                  # its values are the object's programs
        # (a hash map may hold shipped entries already: stay within max_entries)
        n = min(d.max_entries - (len(m.index) if d.is_hash else 0), 40)
        for _ in range(n):
            key = mapmem.random_key(d, rng)
            if d.slots > 1:
                e = Entry(key, values=tuple(rng.randbytes(d.value_size) for _ in range(2)))
            else:
                e = Entry(key, value=rng.randbytes(d.value_size))
            m.load(e)


def sync_to_nic(rt: XdpRuntime):
    p = ms.plan(rt.maps)
    ids, names = ms.program_ids(rt.linked.object)
    port = ms.RegisterPort()
    ms.run_on(port, ms.install(p))
    ms.run_on(port, ms.load(p, rt.maps, ids))
    return p, port, ids, names


@pytest.mark.parametrize("name", MAP_PROGRAM_NAMES)
def test_program_maps_round_trip_through_the_map_registers(name):
    rt = program_runtime(name)
    p0 = ms.plan(rt.maps)
    randomize(rt.maps, p0, random.Random(name))
    p, port, ids, names = sync_to_nic(rt)
    if not rt.maps.by_fd:                         # icmp_frag_needed: helpers only
        assert p == ms.Plan({}, {}, {})
        return
    got = ms.run_on(port, ms.read_back(p, names))
    want = ms.snapshot(p, rt.maps)
    for map_id, d in p.descs.items():
        assert got[p.names[map_id]] == want[map_id], p.names[map_id]
        assert port.mem.descs[map_id] == d                     # map id = fd
    assert any(want.values()), "random contents reached no map"
    # host-resident maps (none among the shipped programs now: LPM tries are NIC maps) say why
    for m in rt.maps.by_fd:
        assert (m.name in p.host) == (rt.maps.fd_of(m) not in p.descs)
        if m.name in p.host:
            assert "stays on the host" in p.host[m.name]


@pytest.mark.parametrize("name", ["deny_list", "proto_stats"])
def test_host_changes_are_written_through(name):
    rt = program_runtime(name)
    p, port, ids, names = sync_to_nic(rt)
    rng = random.Random(7)
    before = ms.snapshot(p, rt.maps)
    for map_id, d in p.descs.items():
        m = rt.maps.by_fd[map_id]
        if d.is_hash:
            for e in m.dump()[:2]:
                assert m.delete(e.key) == 0
        for _ in range(5):
            key = mapmem.random_key(d, rng)
            m.update(key, rng.randbytes(d.value_size), 0, rng.randrange(2))
        if not d.is_hash:                         # an element that becomes zero again
            e = (m.dump() or [None])[0]
            if e is not None:
                m.load(Entry(e.key, values=(bytes(d.value_size),) * 2) if d.slots > 1
                       else Entry(e.key, value=bytes(d.value_size)))
    after = ms.snapshot(p, rt.maps)
    assert after != before
    n = ms.run_on(port, ms.write_through(p, before, after, ids))
    assert n > 0
    got = ms.run_on(port, ms.read_back(p, names))
    assert {p.names[i]: v for i, v in after.items()} == got


def test_a_command_is_one_batch_of_register_accesses():
    d = mapmem.make_desc("percpu_hash", 13, 12, 8)
    cmd = ms.lookup_cmd(3, d, b"k" * 13)
    kinds = [k for k, _, _ in cmd.ops]
    assert kinds[:4] == [ms.BUS_WRITE] * 4                   # 13 key bytes: 4 staging words
    assert cmd.ops[4] == (ms.BUS_WRITE, enc.REG_MAP_CMD,
                          3 << mapmem.CMD_MAP[0] | int(mapmem.MapCmd.LOOKUP))
    assert cmd.ops[5] == (ms.BUS_POLL, enc.REG_MAP_STATUS, mapmem.STATUS_BUSY)
    assert len(cmd.ops) == 4 + 4 + 2 * d.slots * d.ew        # then every slot's words
    # a status without DONE (or with OVERRUN) is an error, not a result
    reads = [0] * len(cmd.ops)
    with pytest.raises(ms.MapSyncError, match="status"):
        cmd.result(reads)
    reads[6] = mapmem.STATUS_DONE
    reads[7] = mapmem.ENOENT
    assert cmd.result(reads).errno == mapmem.ENOENT


def test_placement_keeps_fds_past_the_descriptors_and_oversize_maps_on_the_host():
    d = lambda name, t, k, v, n: MapDef(name, MAP_TYPE_IDS[t], k, v, n)  # noqa: E731
    defs = [d(f"a{i}", "array", 4, 8, 4) for i in range(enc.MAP_MAX_MAPS + 1)]
    defs[3] = d("big", "array", 4, 8, 1 << 20)          # 8 MiB: larger than map memory
    defs[5] = d("lru", "lru_hash", 4, 8, 16)
    p = ms.plan(MapSet({x.name: x for x in defs}))
    last = f"a{enc.MAP_MAX_MAPS}"
    assert set(p.host) == {"big", "lru", last}
    assert "fd 16 is not a NIC map id" in p.host[last]
    assert "map memory" in p.host["big"] and "LRU" in p.host["lru"]
    assert sorted(p.descs) == [i for i in range(enc.MAP_MAX_MAPS) if i not in (3, 5)]


def test_a_refused_command_is_a_clear_error():
    port = ms.RegisterPort()                      # nothing installed: commands give EBADF
    for kind, what in (("hash", "iterating map 0"), ("array", "looking up map 0 index 0")):
        p = ms.Plan({0: mapmem.make_desc(kind, 4, 8, 4)}, {0: "a"}, {})
        with pytest.raises(ms.MapSyncError, match=f"{what}: errno 9"):
            ms.run_on(port, ms.read_back(p, {}))


# ---- the e2e loop's map side (tb/common/e2e_maps.py) on the register model, without a simulator
class _FakeAxil:
    """The bench top's batch AXI4-Lite master, as tb/common/fast.py's AxilBatch, on a RegisterPort."""

    def __init__(self, port):
        self.port = port

    async def run(self, ops):
        return self.port.run(ops)

    async def write(self, addr, value):
        self.port.write(addr, value)

    async def read(self, addr):
        return self.port.read(addr)


class _FakeModel:
    def __init__(self):
        from jit.nic.encoding import Counter
        self.counters = [0] * len(Counter)


def test_the_e2e_map_side_writes_through_checks_and_reads_back():
    """NicMapSync: load, a host run's changes written through, the read-back check after NIC map
    operations (a NIC that disagrees with the host's view is named, frame and map), the final
    read-back and its comparison."""
    import asyncio
    from types import SimpleNamespace
    from jit.nic.encoding import Counter
    from tb.common.e2e_maps import NicMapSync
    rt = program_runtime("proto_stats")
    port, model = ms.RegisterPort(), _FakeModel()
    sync = NicMapSync(SimpleNamespace(axil=_FakeAxil(port)), rt, model)
    quiesced = []

    async def quiesce():
        quiesced.append(1)

    async def scenario():
        await sync.start()
        m = rt.maps.by_fd[0]
        before = await sync.before_host(0, quiesce)            # no NIC map ops: no read-back
        assert sync.stats.checks == 0 and not quiesced
        vs = m.value_size
        m.update((6).to_bytes(4, "little"), b"\x05" * vs, 0, 0)   # a host run on CPU 0
        await sync.after_host(before, quiesce)
        assert sync.stats.write_throughs == 1 and sync.stats.write_commands == 1
        # the NIC's trace adds to its slot, the twin does the same on the host's view: they agree
        model.counters[Counter.MAP_OPS] += 2
        key = (6).to_bytes(4, "little")
        port.mem.update(0, key, b"\x01" * vs, slot=1)          # helper mode: the NIC's slot
        m.write_slot(6, b"\x01" * vs, cpu=1)
        await sync.before_host(1, quiesce)
        assert sync.stats.checks == 1 and sync.stats.sync_mismatches == []
        # a NIC write the twin does not know is caught before the host reads
        model.counters[Counter.MAP_OPS] += 1
        port.mem.update(0, key, bytes(32))
        await sync.before_host(2, quiesce)
        assert sync.stats.sync_mismatches == [(2, "proto_stats_map")]
        final = await sync.finish()
        assert sync.stats.nic_map_mismatches == ["proto_stats_map"]
        return final

    final = asyncio.run(scenario())
    assert final["proto_stats_map"].entries == []            # the NIC's contents, as read back
    assert sync.stats.as_dict()["commands_per_miss"] > 0
