"""The control bus's map protocol (docs/abi.md "Map access"), defined once as register accesses:
what to write to stage a descriptor, a key or a value and to start a command, and how to read
the result back. Drivers (tb/common/mapbus.py for cocotb, later the RTL engine's --maps-in/out)
carry these accesses out on their bus; this module knows no bus.

A command: write the staging (descriptor, key, value) -> write REG_MAP_CMD -> poll REG_MAP_STATUS
until DONE (BUSY clears) -> read REG_MAP_ERRNO, and on success the value or key staging.
Writes while BUSY are ignored (STATUS.OVERRUN), so a driver never writes before DONE.
"""
from __future__ import annotations

from jit.nic import encoding as enc
from jit.nic import mapmem
from jit.nic.mapmem import MapCmd, MapDesc, WORD_BYTES

Access = tuple[int, int]      # (byte address, 32-bit value)


def command_word(op: MapCmd, map_id: int, flags: int = 0, slot: int = 0,
                 all_slots: bool = False) -> int:
    return (mapmem._put(int(op), mapmem.CMD_OP) | mapmem._put(flags, mapmem.CMD_FLAGS)
            | mapmem._put(slot, mapmem.CMD_SLOT) | mapmem._put(int(all_slots), mapmem.CMD_ALL)
            | mapmem._put(map_id, mapmem.CMD_MAP))


def _words32(data: bytes) -> list[int]:
    data = data.ljust(-(-len(data) // WORD_BYTES) * WORD_BYTES, b"\0")
    return [int.from_bytes(data[i:i + 4], "little") for i in range(0, len(data), 4)]


def desc_writes(d: MapDesc) -> list[Access]:
    return [(enc.REG_MAP_DESC + 4 * i, w) for i, w in enumerate(d.words())]


def key_writes(key: bytes) -> list[Access]:
    """The key, zero-padded to whole 64-bit words (the NIC hashes and compares whole words)."""
    if len(key) > enc.MAP_MAX_KEY_BYTES:
        raise mapmem.MapMemError(f"key of {len(key)} bytes > {enc.MAP_MAX_KEY_BYTES}")
    return [(enc.REG_MAP_KEY + 4 * i, w) for i, w in enumerate(_words32(key))]


def value_writes(value: bytes) -> list[Access]:
    """Value staging from byte 0: one slot (helper mode) or every slot at `slot * ew * 8`."""
    if len(value) > 2 * enc.MAP_MAX_VALUE_BYTES:
        raise mapmem.MapMemError(f"value of {len(value)} bytes > {2 * enc.MAP_MAX_VALUE_BYTES}")
    return [(enc.REG_MAP_VALUE + 4 * i, w) for i, w in enumerate(_words32(value))]


def slots_bytes(d: MapDesc, values: list[bytes]) -> bytes:
    """User-mode value staging: slot s's value at `s * ew * 8`, each zero-padded to ew words."""
    n = d.ew * WORD_BYTES
    return b"".join(v.ljust(n, b"\0") for v in values)


def value_reads(d: MapDesc) -> list[int]:
    """Addresses holding a lookup's result: every slot's words."""
    return [enc.REG_MAP_VALUE + 4 * i for i in range(2 * d.slots * d.ew)]


def key_reads(d: MapDesc) -> list[int]:
    """Addresses holding a next/first key's result (arrays: the index in word 0)."""
    n = d.kw if d.is_hash else 1
    return [enc.REG_MAP_KEY + 4 * i for i in range(2 * n)]


def join32(words: list[int]) -> bytes:
    return b"".join((w & 0xFFFF_FFFF).to_bytes(4, "little") for w in words)
