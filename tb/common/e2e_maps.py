"""The map side of the end-to-end loop (tb/common/e2e.py) for a program with maps: the NIC's maps
installed and loaded over AXI4-Lite before traffic, kept in step with the host's at every frame's
turn, and read back at the end (jit/nic/map_sync.py's procedures, tb/common/mapbus.py's driver).

The scheme (docs/memory_model.md "As built in the RTL engine"): the host runtime's maps are the
host's view of NIC memory. The model twin runs the NIC's traces on them (one memory, as in the
model engine), so after every frame they hold what the NIC's maps must hold. Before the host runs
a missed frame, if NIC traces have touched maps since the last look, the NIC's writable maps are
read back over the bus and must equal the host's view (else the frame counts in `sync_mismatches`:
the host would have read stale or wrong state); after the host's run, every element it changed is
written through to the NIC (user-mode update or delete) before the next frame enters the NIC. The
NIC is idle during both (every earlier frame decided), so the host's bus operations land exactly
between the two frames' turns, which is what the check's shadow run assumes.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from jit.ebpf.maps.contents import MapContents
from jit.nic import map_sync as ms
from jit.nic.encoding import Counter
from jit.nic.mapmem import MapType
from tb.common.mapbus import MapBus


@dataclass
class SyncStats:
    nic_maps: list = field(default_factory=list)        # NIC-resident map names (id = fd)
    host_maps: dict = field(default_factory=dict)       # host-resident map -> reason
    load_commands: int = 0
    load_accesses: int = 0
    misses: int = 0                  # missed frames the host ran
    checks: int = 0                  # of them, preceded by a read-back of the NIC's maps
    check_commands: int = 0
    check_accesses: int = 0
    write_throughs: int = 0          # missed frames whose run changed NIC-resident maps
    write_commands: int = 0
    write_accesses: int = 0
    final_commands: int = 0          # the end's read-back
    final_accesses: int = 0
    sync_mismatches: list = field(default_factory=list)   # (frame, map) the NIC disagreed before a host run
    nic_map_mismatches: list = field(default_factory=list)  # maps whose final NIC contents differ

    def as_dict(self) -> dict:
        d = dict(vars(self))
        per = max(self.misses, 1)
        d["commands_per_miss"] = round((self.check_commands + self.write_commands) / per, 2)
        d["accesses_per_miss"] = round((self.check_accesses + self.write_accesses) / per, 2)
        d["sync_mismatches"] = [list(x) for x in self.sync_mismatches]
        return d


class NicMapSync:
    def __init__(self, tb, runtime, model):
        self.tb, self.runtime, self.model = tb, runtime, model
        self.plan = ms.plan(runtime.maps)
        obj = runtime.linked.object if runtime.linked is not None else None
        self.ids, self.programs = ms.program_ids(obj)
        axil = tb.axil
        self.bus = MapBus(axil.write, axil.read, getattr(axil, "run", None))
        self.stats = SyncStats(list(self.plan.names.values()), dict(self.plan.host))
        # maps NIC traces can write: not read-only data, not devmap/prog_array
        self.writable = {i: d for i, d in self.plan.descs.items()
                         if not d.rdonly and d.type not in (MapType.DEVMAP, MapType.PROG_ARRAY)}
        self._map_ops_seen = 0

    async def _counted(self, procedure, kind: str):
        c, a = self.bus.commands, self.bus.accesses
        out = await self.bus.sync(procedure)
        st = self.stats
        setattr(st, f"{kind}_commands", getattr(st, f"{kind}_commands") + self.bus.commands - c)
        setattr(st, f"{kind}_accesses", getattr(st, f"{kind}_accesses") + self.bus.accesses - a)
        return out

    async def start(self) -> None:
        """Install every NIC-resident map and load the host's initial contents (--maps-in)."""
        await self._counted(ms.install(self.plan), "load")
        await self._counted(ms.load(self.plan, self.runtime.maps, self.ids), "load")

    async def before_host(self, index: int, quiesce) -> dict:
        """Before the host runs missed frame `index`: check the NIC's writable maps against the
        host's view if NIC traces touched maps since the last look; the host's snapshot."""
        self.stats.misses += 1
        view = ms.snapshot(self.plan, self.runtime.maps)
        ops = self.model.counters[Counter.MAP_OPS] if len(self.model.counters) > Counter.MAP_OPS \
            else 0
        if ops != self._map_ops_seen and self.writable:
            self._map_ops_seen = ops
            await quiesce()
            self.stats.checks += 1
            for map_id, d in self.writable.items():
                nic = await self._counted(ms.read_map(map_id, d, self.programs), "check")
                if nic != view[map_id]:
                    self.stats.sync_mismatches.append((index, self.plan.names[map_id]))
        return view

    async def after_host(self, before: dict, quiesce) -> None:
        """Write the host's changes through before the next frame enters the NIC."""
        after = ms.snapshot(self.plan, self.runtime.maps)
        if after == before:
            return
        await quiesce()
        self.stats.write_throughs += 1
        await self._counted(ms.write_through(self.plan, before, after, self.ids), "write")

    async def finish(self) -> dict[str, MapContents]:
        """Read every NIC-resident map back; compare with the host's view. The final contents:
        NIC-resident maps as the NIC holds them, the others as the host does (--maps-out)."""
        nic = await self._counted(ms.read_back(self.plan, self.programs), "final")
        view = ms.snapshot(self.plan, self.runtime.maps)
        self.stats.nic_map_mismatches = sorted(
            self.plan.names[i] for i in self.plan.descs if nic[self.plan.names[i]] != view[i])
        out = self.runtime.contents()
        for map_id, d in self.plan.descs.items():
            name = self.plan.names[map_id]
            mc, entries = out[name], nic[name]
            order = sorted(entries, key=None if d.is_hash else (lambda k: int.from_bytes(k, "little")))
            out[name] = MapContents(mc.name, mc.type, mc.key_size, mc.value_size, mc.max_entries,
                                    [entries[k] for k in order])
        return out
