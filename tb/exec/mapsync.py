"""The executor bench's map memory: a jit.nic.mapmem.MapMem holding the same contents as a host
runtime's NIC-resident maps, and the comparison of the two after runs (the RTL executor wrote
one, the model the other). Placement, loading and read-back are the RTL engine's own
(jit/nic/map_sync.py: map id = fd), carried out on the MapMem's register port.
"""
from __future__ import annotations

from jit.nic import map_sync
from jit.nic.mapmem import MapMem
from jit.nic.map_sync import Plan, RegisterPort, run_on


def nic_maps(rt) -> dict[int, object]:
    """fd -> host map, for the runtime's NIC-resident maps."""
    return {fd: rt.maps.by_fd[fd] for fd in map_sync.plan(rt.maps).descs}


class _ProgramIds(dict):
    """Program name -> NIC program id, asked of `pid` (NicState.program_id) on first use."""

    def __init__(self, pid):
        super().__init__()
        self.pid = pid

    def __missing__(self, name: str) -> int:
        self[name] = self.pid(name)
        return self[name]


def install(mm: MapMem, rt, pid) -> Plan:
    """Install and fill every NIC-resident map of `rt` into `mm`; returns the placement.
    `pid(name)`: the id a prog_array slot holds for a program (NicState.program_id)."""
    p = map_sync.plan(rt.maps, mem_bytes=len(mm.words) * 8)
    port = RegisterPort(mm)
    run_on(port, map_sync.install(p))
    run_on(port, map_sync.load(p, rt.maps, _ProgramIds(pid)))
    return p


def differences(mm: MapMem, rt, p: Plan, pid) -> list[str]:
    """Where `mm` and the host maps disagree (entries, values of every slot)."""
    ids = _ProgramIds(pid)
    host = map_sync.snapshot(p, rt.maps)
    for entries in host.values():               # the ids the NIC's prog_array slots may hold
        for e in entries.values():
            if e.program is not None:
                ids[e.program]
    nic = run_on(RegisterPort(mm), map_sync.read_back(p, {v: k for k, v in ids.items()}))
    out = []
    for map_id, want in host.items():
        name = p.names[map_id]
        got = nic[name]
        for key in sorted(got.keys() | want.keys()):
            if got.get(key) != want.get(key):
                out.append(f"{name}[{key.hex()}]: NIC {got.get(key)}, host {want.get(key)}")
    return out
