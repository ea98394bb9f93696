"""A control plane that changes and reads a program's NIC-resident maps over the bus while traffic
flows (issue 10's concurrent-update bench, tb/e2e/test_concurrent.py).

Each command is one user-mode map operation (update, delete or lookup: what `bpftool map` or a
libbpf control loop does), issued as one batch of register accesses (jit/nic/map_sync.py's
procedure for it) followed by a read of MAP_TURN: how many frames the NIC had retired when the
command started. Memory model rules 1 and 2 (docs/memory_model.md) put the command between frame
MAP_TURN - 1 and frame MAP_TURN; the bench replays the interpreter in that order (`apply`) and
checks what every lookup returned against the replayed maps (`check`).

What the host changes, per program (`plan_for`): the maps whose contents decide the program's
results or count what it does -- deny_list's deny list (addresses of the traffic added and
removed, drop counters read) and verdict counters; config_filter's configuration (.rodata: port,
ICMP switch, length limit) and counters (.bss, read and reset); proto_stats's per-protocol counters
(read while they increment, now and then reset).
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from jit.ebpf.maps.contents import Entry
from jit.nic import encoding as enc
from jit.nic import map_sync as ms
from jit.nic.mapmem import ENOENT, MapCmd, MapDesc, Result

UPDATE, DELETE, LOOKUP = "update", "delete", "lookup"


@dataclass
class Command:
    op: str                    # UPDATE, DELETE or LOOKUP (user mode: every per-CPU slot)
    map_id: int                # = the map's fd (jit/nic/map_sync.plan)
    key: bytes
    value: bytes | None = None  # UPDATE: the value every slot gets
    # filled in by the NIC
    turn: int | None = None    # frames retired when the command started (MAP_TURN)
    result: Result | None = None

    def describe(self, names: dict[int, str]) -> str:
        v = f" = {self.value.hex()}" if self.value is not None else ""
        return f"{self.op} {names[self.map_id]}[{self.key.hex()}]{v} at turn {self.turn}"


def bus_command(cmd: Command, d: MapDesc) -> ms.BusCommand:
    if cmd.op == UPDATE:
        return ms.update_cmd(cmd.map_id, d, cmd.key, [cmd.value] * d.slots)
    if cmd.op == DELETE:
        return ms.delete_cmd(cmd.map_id, d, cmd.key)
    return ms.lookup_cmd(cmd.map_id, d, cmd.key)


async def issue(bus, cmd: Command, d: MapDesc, also_read=()) -> list[int]:
    """Run `cmd` on the NIC (tb.common.mapbus.MapBus `bus`) with the MAP_TURN read in the same
    batch; fills in its turn and result. `also_read`: register addresses read after it, in the
    same batch (their values are returned)."""
    bc = bus_command(cmd, d)
    n = len(bc.ops)
    reads = await bus.run(list(bc.ops) + [(ms.BUS_READ, a, 0)
                                          for a in (enc.REG_MAP_TURN, *also_read)])
    bus.commands += 1
    cmd.result, cmd.turn = bc.result(reads[:n]), reads[n]
    return reads[n + 1:]


def apply(cmd: Command, maps) -> Result:
    """The command on a host MapSet (the replay), with the kernel's user-space semantics; what the
    NIC must have answered."""
    m = maps.by_fd[cmd.map_id]
    if cmd.op == UPDATE:
        m.load(Entry(cmd.key, value=cmd.value))
        return Result(0)
    if cmd.op == DELETE:
        return Result(-m.delete(cmd.key))
    return Result(0, value=_entry_bytes(m, cmd.key))


def _entry_bytes(m, key: bytes) -> bytes | None:
    for e in m.dump():
        if e.key == key:
            return b"".join(e.values) if e.values is not None else e.value
    return None if m.d.type_name.endswith("hash") else b""


def check(cmd: Command, want: Result, d: MapDesc, programs: dict[int, str]) -> str | None:
    """None if the NIC's answer is the replay's, else what differs."""
    got = cmd.result
    if cmd.op != LOOKUP:
        return None if got.errno == want.errno else f"errno {got.errno}, replay {want.errno}"
    if want.value is None:
        return None if got.errno == ENOENT else f"errno {got.errno}, replay ENOENT"
    if got.errno:
        return f"errno {got.errno}, replay found it"
    have = ms.slots_entry(d, cmd.key, got.value, programs)
    values = have.values if have.values is not None else (have.value,)
    n = len(values)
    if not want.value:                     # an array element the host's dump leaves out: zero
        return None if not any(any(v) for v in values) else f"{_hex(values)}, replay zero"
    size = len(want.value) // n
    expect = tuple(want.value[i * size:(i + 1) * size] for i in range(n))
    return None if tuple(values) == expect else f"{_hex(values)}, replay {_hex(expect)}"


def _hex(values) -> str:
    return "/".join(bytes(v).hex() for v in values)


# ---- what the host does, per program ------------------------------------------------------------
def _u32(i: int) -> bytes:
    return i.to_bytes(4, "little")


def _saddrs(frames: list[bytes]) -> list[bytes]:
    """IPv4 source addresses of the traffic (network order), most frequent first."""
    seen: dict[bytes, int] = {}
    for f in frames:
        if len(f) >= 34 and f[12:14] == b"\x08\x00":
            seen[f[26:30]] = seen.get(f[26:30], 0) + 1
    return sorted(seen, key=lambda k: -seen[k])


def _dports(frames: list[bytes]) -> list[int]:
    out = []
    for f in frames:
        if len(f) >= 38 and f[12:14] == b"\x08\x00" and f[23] in (6, 17):
            ihl = (f[14] & 15) * 4
            if len(f) >= 14 + ihl + 4:
                out.append(int.from_bytes(f[14 + ihl + 2:14 + ihl + 4], "big"))
    return sorted(set(out))


def plan_for(name: str, ids: dict[str, int], frames: list[bytes], rng: random.Random):
    """A function giving the host's next command for program `name`; `ids`: NIC-resident map name
    -> map id."""
    if name == "deny_list":
        deny, verdicts = ids["deny_v4"], ids["verdicts"]
        pool = _saddrs(frames)[:8] or [bytes(4)]

        def nxt() -> Command:
            r = rng.random()
            if r < 0.35:                                  # deny an address of the traffic
                return Command(UPDATE, deny, rng.choice(pool), rng.randrange(4).to_bytes(8, "little"))
            if r < 0.65:                                  # lift the ban
                return Command(DELETE, deny, rng.choice(pool))
            if r < 0.85:                                  # read a drop counter
                return Command(LOOKUP, deny, rng.choice(pool))
            return Command(LOOKUP, verdicts, _u32(rng.randrange(2)))
        return nxt
    if name == "config_filter":
        ro = next(i for n, i in ids.items() if n.endswith(".rodata"))
        bss = next(i for n, i in ids.items() if n.endswith(".bss"))
        ports = (_dports(frames) or [23])[:6] + [0, 23]

        def nxt() -> Command:
            r = rng.random()
            if r < 0.4:                                   # reconfigure: limit, port, ICMP switch
                cfg = (rng.choice([1514, 1514, 200, 64]).to_bytes(4, "little")
                       + rng.choice(ports).to_bytes(2, "little") + bytes([rng.randrange(2)]))
                return Command(UPDATE, ro, _u32(0), cfg)
            if r < 0.55:                                  # reset the counters
                return Command(UPDATE, bss, _u32(0), bytes(32))
            return Command(LOOKUP, bss if r < 0.85 else ro, _u32(0))
        return nxt
    if name == "proto_stats":
        m = ids["proto_stats_map"]
        keys = sorted({6, 17, 1, 58, 255} | {f[23] for f in frames
                                             if len(f) >= 34 and f[12:14] == b"\x08\x00"})

        def nxt() -> Command:
            k = _u32(rng.choice(keys))
            if rng.random() < 0.2:                        # reset one protocol's counters
                return Command(UPDATE, m, k, bytes(16))
            return Command(LOOKUP, m, k)                  # read it while it increments
        return nxt
    raise ValueError(f"no control plane for {name!r}")
