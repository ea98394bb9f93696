"""The executor bench's map memory: a jit.nic.mapmem.MapMem holding the same contents as a host
runtime's NIC-resident maps (NIC map id = the map's fd, as the loader installs them), and the
comparison of the two after runs (the RTL executor wrote one, the model the other).

Layout: descriptors placed one after the other from word 0 (mapmem.make_desc sizes the hash
tables), contents written in user mode (every slot: slot 0 the host CPU's, slot 1 the NIC's).
"""
from __future__ import annotations

from jit.nic import mapbus, mapmem
from jit.nic.mapmem import MapDesc, MapMem
from jit.nic.residency import map_residency


def nic_maps(rt) -> dict[int, object]:
    """fd -> host map, for the runtime's NIC-resident maps."""
    return {fd: m for fd, m in enumerate(rt.maps.by_fd)
            if m is not None and map_residency(m) is None}


def _type_name(m) -> str:
    return m.d.type_name if m.d.type_name in mapmem.TYPE_BY_NAME else "array"


def install(mm: MapMem, rt, pid) -> dict[int, MapDesc]:
    """Install and fill every NIC-resident map of `rt` into `mm`; returns the descriptors.
    `pid(name)`: the id a prog_array slot holds for a program (NicState.program_id)."""
    top = 0
    descs = {}
    for fd, m in nic_maps(rt).items():
        d = mapmem.make_desc(_type_name(m), m.key_size, m.value_size, m.max_entries, top,
                             bool(m.frozen))
        assert mm.install(fd, d) == 0, f"map {m.name}: {mapmem.check_desc(d, len(mm.words))}"
        descs[fd] = d
        top += d.size_words()
    sync_to(mm, rt, descs, pid)
    return descs


def _slots(d: MapDesc, e) -> list[bytes]:
    if e.values is not None:
        return [e.values[0], e.values[1] if len(e.values) > 1 else bytes(d.value_size)]
    return [e.value] * d.slots


def _value_of(d: MapDesc, e, pid) -> bytes:
    if e.program is not None:
        return pid(e.program).to_bytes(4, "little")
    return mapbus.slots_bytes(d, _slots(d, e))


def sync_to(mm: MapMem, rt, descs: dict[int, MapDesc], pid) -> None:
    """Write the host maps' entries into `mm` (arrays: every index the host lists)."""
    maps = nic_maps(rt)
    for fd, d in descs.items():
        for e in maps[fd].dump():
            err = mm.update(fd, e.key, _value_of(d, e, pid))
            assert err == 0, f"map {maps[fd].name}: update of {e.key.hex()} errno {err}"


def differences(mm: MapMem, rt, descs: dict[int, MapDesc], pid) -> list[str]:
    """Where `mm` and the host maps disagree (entries, values of both slots)."""
    out = []
    maps = nic_maps(rt)
    for fd, d in descs.items():
        m = maps[fd]
        entries = m.dump()
        if d.is_hash and mm.count(fd) != len(entries):
            out.append(f"{m.name}: {mm.count(fd)} entries on the NIC, {len(entries)} on the host")
        for e in entries:
            r = mm.lookup(fd, e.key)
            if r.errno:
                out.append(f"{m.name}[{e.key.hex()}]: missing on the NIC (errno {r.errno})")
                continue
            want = _value_of(d, e, pid)
            n = d.ew * mapmem.WORD_BYTES
            for s in range(d.slots):
                got = r.value[s * n:s * n + d.value_size]
                exp = want[s * n:s * n + d.value_size] if e.program is None else want
                if got != exp[:d.value_size]:
                    out.append(f"{m.name}[{e.key.hex()}] slot {s}: NIC {got.hex()}, host "
                               f"{exp.hex()}")
    return out
