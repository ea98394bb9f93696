"""The host's maps and the NIC's map memory kept in step over the control bus: which of a program's
maps the NIC holds and where (descriptors), the bus accesses that install them and load their
contents (initial state, --maps-in), write the host's changes through, and read them back (next-key
iteration + lookup in user mode: both per-CPU slots) into the host's representation
(jit/ebpf/maps/contents.Entry) for --maps-out and comparisons.

Defined once, knowing no bus: every map operation is a `BusCommand`, a list of register accesses
(write, read, poll-until-clear; docs/abi.md "Map access", jit/nic/mapbus.py) with a decoder of what
the reads returned. The sync procedures (`install`, `load`, `read_back`, `write_through`) are
generators that yield commands and receive each one's `mapmem.Result`; a driver carries them out:
`run_on(port, procedure)` here on `RegisterPort` (the map block's registers over a
`mapmem.MapMem`, no simulator), tb/common/mapbus.py's `MapBus.sync` in cocotb over AXI4-Lite.

Map ids: NIC map id = the loader's map fd (the address map's map id, jit/ebpf/memmap.py), so a
trace's map pointers need no translation. A map whose fd is >= MAP_MAX_MAPS, which
jit/nic/residency.py keeps on the host, or which does not fit in map memory (`mapmem.place`, first
fit in fd order), stays on the host with the reason (`Plan.host`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Generator

from jit import JitnicError
from jit.ebpf.maps.contents import Entry
from jit.nic import encoding as enc
from jit.nic import mapbus, mapmem
from jit.nic.mapmem import MapCmd, MapDesc, MapType, Result, WORD_BYTES
from jit.nic.residency import map_residency, program_id

# register access kinds (the numbering of tb/common/hdl/jitnic_tb_axil.v's batch master)
BUS_WRITE, BUS_READ, BUS_POLL = 1, 2, 3      # POLL: read until (value & data) == 0, give the value
Op = tuple[int, int, int]                    # (kind, byte address, data or poll mask)


class MapSyncError(JitnicError):
    """The NIC's maps and the host's could not be kept in step (a refused command, in words)."""


# ---- placement ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Plan:
    """Where a program's maps live: NIC map id (= fd) -> descriptor and map name; host-resident
    maps by name with the reason."""
    descs: dict[int, MapDesc]
    names: dict[int, str]
    host: dict[str, str]


def plan(maps, mem_bytes: int = enc.MAP_MEM_BYTES, max_maps: int = enc.MAP_MAX_MAPS) -> Plan:
    """The NIC placement of a MapSet's maps (`maps.by_fd`)."""
    host: dict[str, str] = {}
    defs = []
    for fd, m in enumerate(maps.by_fd):
        why = map_residency(m)
        if why is None and fd >= max_maps:
            why = (f"map {m.name!r} stays on the host: its fd {fd} is not a NIC map id "
                   f"(0..{max_maps - 1})")
        if why is not None:
            host[m.name] = why
        else:
            defs.append(m.d)
    placed = mapmem.place(defs, mem_bytes=mem_bytes, max_maps=max_maps)
    for name, why in placed.host.items():
        host[name] = f"map {name!r} stays on the host: {why}"
    fds = {m.name: fd for fd, m in enumerate(maps.by_fd)}
    descs = {fds[n]: d for n, d in placed.nic.items()}
    return Plan(descs, {fd: maps.by_fd[fd].name for fd in descs}, host)


# ---- one command as register accesses -----------------------------------------------------------
@dataclass(frozen=True)
class BusCommand:
    op: MapCmd
    map_id: int
    desc: MapDesc | None
    ops: tuple[Op, ...]

    def result(self, reads: list[int]) -> Result:
        """The command's Result from what each access returned (one value per access)."""
        n_stage = len(self.ops) - self._tail
        status, errno = reads[n_stage + 2], reads[n_stage + 3]
        if status & mapmem.STATUS_OVERRUN or not status & mapmem.STATUS_DONE:
            raise MapSyncError(f"map command {self.op.name} on map {self.map_id}: status "
                               f"{status:#x} (not DONE, or a write was ignored)")
        if errno:
            return Result(errno)
        data = mapbus.join32(reads[n_stage + 4:])
        if self.op == MapCmd.LOOKUP:
            return Result(0, value=data)
        if self.op in (MapCmd.NEXT_KEY, MapCmd.FIRST_KEY):
            return Result(0, key=data)
        return Result(0)

    @property
    def _tail(self) -> int:
        """Accesses from the MAP_CMD write on: cmd, poll, status, errno, result reads."""
        return 4 + len(self._result_reads(self.op, self.desc))

    @staticmethod
    def _result_reads(op: MapCmd, d: MapDesc | None) -> list[int]:
        if op == MapCmd.LOOKUP:
            return mapbus.value_reads(d)
        if op in (MapCmd.NEXT_KEY, MapCmd.FIRST_KEY):
            return mapbus.key_reads(d)
        return []


def command(op: MapCmd, map_id: int, d: MapDesc | None, staging: list[tuple[int, int]] = (),
            flags: int = 0, slot: int = 0, all_slots: bool = False) -> BusCommand:
    """Staging writes, MAP_CMD, poll STATUS until BUSY clears, read STATUS and ERRNO, then the
    result staging (read whatever the errno: one batch, no decision on the bus side)."""
    ops = [(BUS_WRITE, a, v) for a, v in staging]
    ops += [(BUS_WRITE, enc.REG_MAP_CMD, mapbus.command_word(op, map_id, flags, slot, all_slots)),
            (BUS_POLL, enc.REG_MAP_STATUS, mapmem.STATUS_BUSY),
            (BUS_READ, enc.REG_MAP_STATUS, 0), (BUS_READ, enc.REG_MAP_ERRNO, 0)]
    ops += [(BUS_READ, a, 0) for a in BusCommand._result_reads(op, d)]
    return BusCommand(op, map_id, d, tuple(ops))


def install_cmd(map_id: int, d: MapDesc) -> BusCommand:
    return command(MapCmd.INSTALL, map_id, d, mapbus.desc_writes(d))


def lookup_cmd(map_id: int, d: MapDesc, key: bytes) -> BusCommand:
    return command(MapCmd.LOOKUP, map_id, d, mapbus.key_writes(_key_bytes(d, key)))


def update_cmd(map_id: int, d: MapDesc, key: bytes, slots: list[bytes],
               flags: int = mapmem.BPF_ANY) -> BusCommand:
    """User-mode update: every slot's value (slot 0 the host's, slot 1 the NIC's)."""
    staging = mapbus.key_writes(_key_bytes(d, key)) + mapbus.value_writes(
        mapbus.slots_bytes(d, slots))
    return command(MapCmd.UPDATE, map_id, d, staging, flags=flags, all_slots=True)


def delete_cmd(map_id: int, d: MapDesc, key: bytes) -> BusCommand:
    return command(MapCmd.DELETE, map_id, d, mapbus.key_writes(_key_bytes(d, key)),
                   all_slots=True)


def next_key_cmd(map_id: int, d: MapDesc, key: bytes | None) -> BusCommand:
    if key is None:
        return command(MapCmd.FIRST_KEY, map_id, d)
    return command(MapCmd.NEXT_KEY, map_id, d, mapbus.key_writes(_key_bytes(d, key)))


def _key_bytes(d: MapDesc, key: bytes) -> bytes:
    return key[:d.key_size] if d.is_hash else key[:4]


# ---- host representation <-> NIC slots ----------------------------------------------------------
def entry_slots(d: MapDesc, e: Entry, program_ids: dict[str, int]) -> list[bytes]:
    """An entry's value per NIC slot (user-mode staging)."""
    if e.program is not None:
        return [program_ids[e.program].to_bytes(d.value_size, "little")]
    if e.values is not None:
        return [bytes(v) for v in e.values[:d.slots]]
    return [bytes(e.value)] * d.slots


def slots_entry(d: MapDesc, key: bytes, value: bytes, programs: dict[int, str]) -> Entry:
    """The host's Entry for a NIC lookup result (`value`: every slot, whole words)."""
    n = d.ew * WORD_BYTES
    slots = [value[s * n:s * n + d.value_size] for s in range(d.slots)]
    if d.type == MapType.PROG_ARRAY:
        pid = int.from_bytes(slots[0], "little")
        return Entry(key, program=programs.get(pid, f"<program id {pid}>"))
    if d.slots > 1:
        return Entry(key, values=tuple(slots))
    return Entry(key, value=slots[0])


def canonical(d: MapDesc, entries) -> dict[bytes, Entry]:
    """Entries by key as the host's maps dump them (arrays: all-zero elements left out)."""
    out = {}
    for e in entries:
        if d.type in (MapType.ARRAY, MapType.PERCPU_ARRAY) and not any(
                any(v) for v in (e.values if e.values is not None else (e.value,))):
            continue
        out[bytes(e.key)] = e
    return out


# ---- procedures (generators: yield BusCommand, receive its Result) -----------------------------
Procedure = Generator[BusCommand, Result, object]


def _must(r: Result, what: str) -> Result:
    if r.errno:
        raise MapSyncError(f"{what}: errno {r.errno}")
    return r


def install(p: Plan) -> Procedure:
    """INSTALL every NIC-resident map's descriptor (its memory is zeroed)."""
    for map_id, d in p.descs.items():
        _must((yield install_cmd(map_id, d)), f"installing map {p.names[map_id]!r}")


def load(p: Plan, maps, program_ids: dict[str, int]) -> Procedure:
    """Write the host maps' contents into the freshly installed NIC maps (zero array elements
    are already zero)."""
    for map_id, d in p.descs.items():
        m = maps.by_fd[map_id]
        for e in canonical(d, m.dump()).values():
            _must((yield update_cmd(map_id, d, e.key, entry_slots(d, e, program_ids))),
                  f"loading map {m.name!r} key {e.key.hex()}")


def read_map(map_id: int, d: MapDesc, programs: dict[int, str]) -> Procedure:
    """Every element of one NIC map as the host's entries by key: hash maps by iteration in the
    NIC's order (FIRST_KEY, NEXT_KEY until ENOENT) and a lookup per key; array kinds by a lookup
    per index (their iteration is every index in order: the NEXT_KEY commands would add nothing)."""
    out: list[Entry] = []
    if not d.is_hash:
        for i in range(d.max_entries):
            key = i.to_bytes(4, "little")
            got = yield lookup_cmd(map_id, d, key)
            if got.errno == 0:
                out.append(slots_entry(d, key, got.value, programs))
            elif got.errno != mapmem.ENOENT:         # devmap/prog_array: absent elements
                _must(got, f"looking up map {map_id} index {i}")
        return canonical(d, out)
    r = yield next_key_cmd(map_id, d, None)
    for _ in range(d.max_entries + 1):           # a broken iteration cannot loop forever
        if r.errno == mapmem.ENOENT:
            return canonical(d, out)
        key = _must(r, f"iterating map {map_id}").key[:d.key_size]
        got = yield lookup_cmd(map_id, d, key)
        out.append(slots_entry(d, key, _must(got, f"looking up map {map_id} key {key.hex()}").value,
                               programs))
        r = yield next_key_cmd(map_id, d, key)
    raise MapSyncError(f"map {map_id}: iteration did not end after {d.max_entries} keys")


def read_back(p: Plan, programs: dict[int, str]) -> Procedure:
    """Every NIC-resident map's contents by map name."""
    out = {}
    for map_id, d in p.descs.items():
        out[p.names[map_id]] = yield from read_map(map_id, d, programs)
    return out


def snapshot(p: Plan, maps) -> dict[int, dict[bytes, Entry]]:
    """The host's NIC-resident maps as `write_through` compares them."""
    return {map_id: canonical(d, maps.by_fd[map_id].dump()) for map_id, d in p.descs.items()}


def write_through(p: Plan, before: dict[int, dict[bytes, Entry]],
                  after: dict[int, dict[bytes, Entry]], program_ids: dict[str, int]) -> Procedure:
    """The host's changes between two snapshots as user-mode updates and deletes: a changed or
    new element is written whole (every slot: the host's copy of the NIC's slot is current, see
    docs/memory_model.md "As built in the RTL engine"), a removed hash element deleted, an array
    element that became zero written as zeros. Returns the number of commands."""
    n = 0
    for map_id, d in p.descs.items():
        old, new = before[map_id], after[map_id]
        # removals first: an LPM entry the host rekeyed (same prefix, other bits past it) is an
        # old key gone and a new one come, and both name one NIC entry
        for key in sorted(old.keys() - new.keys()):
            if d.is_hash:
                cmd = delete_cmd(map_id, d, key)
            else:
                cmd = update_cmd(map_id, d, key, [bytes(d.value_size)] * d.slots)
            _must((yield cmd), f"removing map {p.names[map_id]!r} key {key.hex()}")
            n += 1
        for key, e in new.items():
            if old.get(key) != e:
                _must((yield update_cmd(map_id, d, key, entry_slots(d, e, program_ids))),
                      f"writing map {p.names[map_id]!r} key {key.hex()} through")
                n += 1
    return n


def program_ids(obj) -> tuple[dict[str, int], dict[int, str]]:
    """Program name -> NIC program id (prog_array values) and back, for an object (None: none)."""
    if obj is None:
        return {}, {}
    ids = {name: program_id(obj, name) for name in obj.programs}
    return ids, {v: k for k, v in ids.items()}


# ---- a driver without a simulator ---------------------------------------------------------------
class RegisterPort:
    """The map block's register interface (docs/abi.md "Map access") over a `mapmem.MapMem`:
    staging registers, MAP_CMD running the command at once, STATUS, ERRNO. What
    rtl/jitnic_maps.v does on its register port, so the procedures run without a simulator."""

    def __init__(self, mem: mapmem.MapMem | None = None):
        self.mem = mem if mem is not None else mapmem.MapMem()
        self.regs: dict[int, int] = {}
        self.status = 0
        self.errno = 0
        self.accesses = 0

    def write(self, addr: int, value: int) -> None:
        self.accesses += 1
        if addr == enc.REG_MAP_CMD:
            self._command(value)
        else:
            self.regs[addr] = value & 0xFFFF_FFFF

    def read(self, addr: int) -> int:
        self.accesses += 1
        if addr == enc.REG_MAP_STATUS:
            return self.status
        if addr == enc.REG_MAP_ERRNO:
            return self.errno
        return self.regs.get(addr, 0)

    def run(self, ops) -> list[int]:
        out = []
        for kind, addr, data in ops:
            if kind == BUS_WRITE:
                self.write(addr, data)
                out.append(0)
            else:                       # commands finish at once: a poll reads once
                out.append(self.read(addr))
        return out

    def _staged(self, base: int, nbytes: int) -> bytes:
        return mapbus.join32([self.regs.get(base + 4 * i, 0) for i in range(-(-nbytes // 4))])

    def _stage(self, base: int, data: bytes) -> None:
        for a, w in ((base + 4 * i, int.from_bytes(data[i * 4:i * 4 + 4], "little"))
                     for i in range(-(-len(data) // 4))):
            self.regs[a] = w

    def _command(self, word: int) -> None:
        op = MapCmd(mapmem._get(word, mapmem.CMD_OP))
        map_id = mapmem._get(word, mapmem.CMD_MAP)
        flags = mapmem._get(word, mapmem.CMD_FLAGS)
        slot = mapmem._get(word, mapmem.CMD_SLOT)
        user = bool(mapmem._get(word, mapmem.CMD_ALL))
        mem = self.mem
        key = self._staged(enc.REG_MAP_KEY, enc.MAP_MAX_KEY_BYTES)
        d = mem.descs.get(map_id)
        r = Result()
        if op == MapCmd.INSTALL:
            words = [self.regs.get(enc.REG_MAP_DESC + 4 * i, 0) for i in range(4)]
            r = Result(mem.install(map_id, MapDesc.from_words(*words)))
        elif op == MapCmd.LOOKUP:
            r = mem.lookup(map_id, key)
        elif op == MapCmd.UPDATE:
            n = (d.slots * d.ew if d else 1) * WORD_BYTES
            value = self._staged(enc.REG_MAP_VALUE, n)
            r = Result(mem.update(map_id, key, value, flags, None if user else slot))
        elif op == MapCmd.DELETE:
            r = Result(mem.delete(map_id, key, helper=not user))
        elif op in (MapCmd.NEXT_KEY, MapCmd.FIRST_KEY):
            r = mem.next_key(map_id, key if op == MapCmd.NEXT_KEY else None)
        if r.errno == 0 and r.value:
            self._stage(enc.REG_MAP_VALUE, r.value)
        if r.errno == 0 and r.key:
            self._stage(enc.REG_MAP_KEY, r.key)
        self.errno = r.errno
        self.status = mapmem.STATUS_DONE


def run_on(port, procedure: Procedure):
    """Carry a procedure out on a synchronous port (`run(ops) -> reads`); its return value."""
    try:
        cmd = next(procedure)
        while True:
            cmd = procedure.send(cmd.result(port.run(cmd.ops)))
    except StopIteration as stop:
        return stop.value
