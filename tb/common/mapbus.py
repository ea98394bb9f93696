"""cocotb driver of the map protocol (jit/nic/mapbus.py) over any register bus: give it the bus's
`write(addr, value)` and `read(addr) -> int` coroutines (the map block's register port in
tb/maps, AXI4-Lite at the top level). Each operation returns what jit.nic.mapmem.MapMem returns
for it, so a bench compares the two directly.

`sync` carries out jit/nic/map_sync.py's procedures (install, load, read back, write through): each
command's register accesses as one batch when the bus runs batches (`batch`: tb/common/fast.py's
AxilBatch.run, one simulator wake-up per command), else access by access."""
from __future__ import annotations

from jit.nic import encoding as enc
from jit.nic import map_sync
from jit.nic import mapbus
from jit.nic import mapmem
from jit.nic.mapmem import MapCmd, MapDesc, Result

POLL_LIMIT = 100_000     # STATUS reads before a command counts as hung


class MapBusError(AssertionError):
    """The NIC did not finish a map command (a hang), or refused a write (overrun)."""


class MapBus:
    def __init__(self, write, read, batch=None):
        self.write, self.read = write, read
        self.batch = batch            # async run([(kind, addr, data)]) -> reads, or None
        self.last_cycles = 0
        self.commands = 0             # map_sync commands carried out, and their register accesses
        self.accesses = 0

    async def run(self, ops) -> list[int]:
        """Register accesses of jit.nic.map_sync (BUS_WRITE / BUS_READ / BUS_POLL) in order."""
        self.accesses += len(ops)
        if self.batch is not None:
            return await self.batch(list(ops))
        out = []
        for kind, addr, data in ops:
            if kind == map_sync.BUS_WRITE:
                await self.write(addr, data)
                out.append(0)
                continue
            value = await self.read(addr)
            for _ in range(POLL_LIMIT if kind == map_sync.BUS_POLL else 0):
                if not value & data:
                    break
                value = await self.read(addr)
            else:
                if kind == map_sync.BUS_POLL:
                    raise MapBusError(f"register {addr:#06x} still {value:#x} after {POLL_LIMIT} reads")
            out.append(value)
        return out

    async def sync(self, procedure):
        """Carry out a jit.nic.map_sync procedure; its return value."""
        try:
            cmd = next(procedure)
            while True:
                self.commands += 1
                cmd = procedure.send(cmd.result(await self.run(cmd.ops)))
        except StopIteration as stop:
            return stop.value

    async def _writes(self, accesses) -> None:
        for addr, value in accesses:
            await self.write(addr, value)

    async def command(self, op: MapCmd, map_id: int, flags: int = 0, slot: int = 0,
                      all_slots: bool = False) -> int:
        """Start a command and wait for DONE; the errno."""
        await self.write(enc.REG_MAP_CMD, mapbus.command_word(op, map_id, flags, slot, all_slots))
        for _ in range(POLL_LIMIT):
            status = await self.read(enc.REG_MAP_STATUS)
            if status & mapmem.STATUS_OVERRUN:
                raise MapBusError("map command write ignored (STATUS.OVERRUN)")
            if status & mapmem.STATUS_DONE and not status & mapmem.STATUS_BUSY:
                self.last_cycles = await self.read(enc.REG_MAP_CYCLES)
                return await self.read(enc.REG_MAP_ERRNO)
        raise MapBusError(f"map command {op.name} not done after {POLL_LIMIT} status reads")

    async def install(self, map_id: int, d: MapDesc) -> int:
        await self._writes(mapbus.desc_writes(d))
        return await self.command(MapCmd.INSTALL, map_id)

    async def lookup(self, map_id: int, d: MapDesc, key: bytes) -> Result:
        await self._writes(mapbus.key_writes(key))
        errno = await self.command(MapCmd.LOOKUP, map_id)
        if errno:
            return Result(errno)
        words = [await self.read(a) for a in mapbus.value_reads(d)]
        return Result(0, value=mapbus.join32(words))

    async def update(self, map_id: int, key: bytes, value: bytes, flags: int = 0,
                     slot: int | None = None) -> int:
        """`slot` None: user mode, `value` is every slot's staging; else helper mode."""
        await self._writes(mapbus.key_writes(key))
        await self._writes(mapbus.value_writes(value))
        return await self.command(MapCmd.UPDATE, map_id, flags, slot or 0, slot is None)

    async def delete(self, map_id: int, key: bytes, helper: bool = False) -> int:
        await self._writes(mapbus.key_writes(key))
        return await self.command(MapCmd.DELETE, map_id, all_slots=not helper)

    async def next_key(self, map_id: int, d: MapDesc, key: bytes | None) -> Result:
        if key is None:
            errno = await self.command(MapCmd.FIRST_KEY, map_id)
        else:
            await self._writes(mapbus.key_writes(key))
            errno = await self.command(MapCmd.NEXT_KEY, map_id)
        if errno:
            return Result(errno)
        words = [await self.read(a) for a in mapbus.key_reads(d)]
        return Result(0, key=mapbus.join32(words))
