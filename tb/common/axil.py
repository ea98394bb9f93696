"""AXI4-Lite access to the NIC's control bus: a timeout-guarded master and `NicDriver`, which speaks
the register map of docs/abi.md (staging, commit, counters) using only `jit.nic.encoding` for numbers.

    axil = AxilMaster(dut, dut.clk)                 # ports s_axil_*
    nic = NicDriver(axil)
    result = await nic.install(atoms, code)         # CommitResult(ok, entry, evicted, error, index)
    counters = await nic.read_counters()            # {Counter.RX_PACKETS: n, ...}
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from cocotb.triggers import ClockCycles, SimTimeoutError, with_timeout
from cocotb_bus.drivers.amba import AXI4LiteMaster

from jit.nic import encoding as enc
from jit.nic.encoding import Atom, Counter, ErrorCode

AtomLike = Atom | tuple[int, int, int]      # an Atom, or raw (ctrl, mask, const) words


class AxilMaster:
    """cocotb-bus AXI4LiteMaster with a timeout on every access (a silent hang becomes an error)."""

    def __init__(self, dut, clock, prefix: str = "s_axil", timeout_cycles: int = 20_000):
        self.master = AXI4LiteMaster(dut, prefix, clock)
        self.clock = clock
        self.timeout_cycles = timeout_cycles
        self.period_ns = 10

    async def _guard(self, coro, what: str):
        try:
            return await with_timeout(coro, self.timeout_cycles * self.period_ns, "ns")
        except SimTimeoutError as exc:
            raise AssertionError(f"AXI4-Lite {what} timed out after {self.timeout_cycles} cycles") from exc

    async def write(self, addr: int, value: int) -> None:
        await self._guard(self.master.write(addr, value & 0xFFFF_FFFF), f"write {addr:#06x}")

    async def read(self, addr: int) -> int:
        return int(await self._guard(self.master.read(addr), f"read {addr:#06x}"))


@dataclass(frozen=True)
class Status:
    busy: bool
    commit_ok: bool
    commit_err: bool
    last_entry: int
    last_evicted: bool

    @classmethod
    def from_word(cls, word: int) -> "Status":
        lsb = enc.STATUS_LAST_ENTRY[0]
        return cls(bool(word & enc.STATUS_BUSY), bool(word & enc.STATUS_COMMIT_OK),
                   bool(word & enc.STATUS_COMMIT_ERR), (word >> lsb) & 0xFF,
                   bool(word & enc.STATUS_LAST_EVICTED))


@dataclass(frozen=True)
class CommitResult:
    ok: bool
    entry: int | None          # entry written (ok only)
    evicted: bool              # a valid entry was replaced (ok only)
    error: ErrorCode           # NONE when ok
    index: int                 # offending atom or slot index (REG_ERROR[31:16])


def atom_words(atom: AtomLike) -> tuple[int, int, int]:
    return atom.words() if isinstance(atom, Atom) else tuple(w & 0xFFFF_FFFF for w in atom)


def as_trace_words(trace) -> list[tuple[int, int]]:
    """Encoded trace bytes or (lo, hi) word pairs -> word pairs."""
    if isinstance(trace, (bytes, bytearray)):
        return enc.trace_words(bytes(trace))
    return [(lo & 0xFFFF_FFFF, hi & 0xFFFF_FFFF) for lo, hi in trace]


def stage_writes(atoms: Sequence[AtomLike], trace, natoms: int | None = None,
                 trace_len: int | None = None) -> list[tuple[int, int]]:
    """The (address, value) register writes that stage one entry (NicDriver.stage)."""
    words = as_trace_words(trace)
    out = []
    for i, atom in enumerate(atoms):
        for w, value in enumerate(atom_words(atom)):
            out.append((enc.REG_STAGE_ATOMS + enc.ATOM_STRIDE * i + 4 * w, value))
    for s, (lo, hi) in enumerate(words):
        out.append((enc.REG_STAGE_TRACE + enc.TRACE_STRIDE * s, lo))
        out.append((enc.REG_STAGE_TRACE + enc.TRACE_STRIDE * s + 4, hi))
    out.append((enc.REG_STAGE_NATOMS, len(atoms) if natoms is None else natoms))
    out.append((enc.REG_STAGE_TRACE_LEN, len(words) if trace_len is None else trace_len))
    return out


class NicDriver:
    """The host's view of the control bus (docs/abi.md register map)."""

    def __init__(self, axil: AxilMaster, commit_timeout_cycles: int = 50_000):
        self.axil = axil
        self.commit_timeout_cycles = commit_timeout_cycles

    # -- plain registers ----------------------------------------------------------------------
    async def config(self) -> dict[str, int]:
        r = self.axil.read
        return {"id": await r(enc.REG_ID), "version": await r(enc.REG_VERSION),
                "n_entries": await r(enc.REG_CFG_N_ENTRIES), "max_atoms": await r(enc.REG_CFG_MAX_ATOMS),
                "max_trace_len": await r(enc.REG_CFG_MAX_TRACE_LEN),
                "hdr_bytes": await r(enc.REG_CFG_HDR_BYTES), "policy": await r(enc.REG_CFG_POLICY),
                "pkt_bytes": await r(enc.REG_CFG_PKT_BYTES), "n_slots": await r(enc.REG_CFG_N_SLOTS),
                **self._cells(await r(enc.REG_CFG_CELLS))}

    @staticmethod
    def _cells(word: int) -> dict[str, int]:
        """REG_CFG_CELLS: the compare cells of an entry beside its slot cells."""
        return {"n_len_atoms": word & 0xFF, "n_gen_atoms": (word >> enc.CFG_CELLS_GEN_LSB) & 0xFF}

    async def status(self) -> Status:
        return Status.from_word(await self.axil.read(enc.REG_STATUS))

    async def error(self) -> tuple[ErrorCode, int]:
        word = await self.axil.read(enc.REG_ERROR)
        return ErrorCode(word & 0xFFFF), word >> 16

    async def ctrl(self, bits: int) -> None:
        await self.axil.write(enc.REG_CTRL, bits)

    async def wait_idle(self) -> Status:
        """Poll STATUS until BUSY clears."""
        for _ in range(self.commit_timeout_cycles // 8):
            status = await self.status()
            if not status.busy:
                return status
            await ClockCycles(self.axil.clock, 4)
        raise AssertionError("STATUS.BUSY stuck")

    async def invalidate_all(self) -> None:
        await self.ctrl(enc.CTRL_INVALIDATE_ALL)
        await self.wait_idle()

    async def clear_counters(self) -> None:
        await self.ctrl(enc.CTRL_CLEAR_COUNTERS)

    async def reseed(self, seed: int) -> None:
        await self.axil.write(enc.REG_POLICY_SEED, seed)
        await self.ctrl(enc.CTRL_RESEED)

    # -- staging and commit ---------------------------------------------------------------------
    async def stage(self, atoms: Sequence[AtomLike], trace, natoms: int | None = None,
                    trace_len: int | None = None) -> None:
        """Write atoms and trace words into the staging area. `natoms`/`trace_len` override the
        counts written to STAGE_NATOMS/STAGE_TRACE_LEN (to stage inconsistent entries on purpose)."""
        for addr, value in stage_writes(atoms, trace, natoms, trace_len):
            await self.axil.write(addr, value)

    async def commit(self) -> CommitResult:
        await self.ctrl(enc.CTRL_COMMIT)
        status = await self.wait_idle()
        code, index = await self.error()
        if status.commit_ok:
            return CommitResult(True, status.last_entry, status.last_evicted, code, index)
        assert status.commit_err, f"commit ended with neither COMMIT_OK nor COMMIT_ERR: {status}"
        return CommitResult(False, None, False, code, index)

    async def install(self, atoms: Sequence[AtomLike], trace, **overrides) -> CommitResult:
        """Stage one entry and commit it (waits for the commit to finish)."""
        await self.stage(atoms, trace, **overrides)
        return await self.commit()

    # -- counters and entry state ---------------------------------------------------------------
    async def read_counters(self, which: Iterable[Counter] = tuple(Counter)) -> dict[Counter, int]:
        return {c: await self.axil.read(enc.REG_COUNTERS + 4 * int(c)) for c in which}

    async def entry_hits(self, n_entries: int) -> list[int]:
        return [await self.axil.read(enc.REG_ENTRY_HITS + 4 * i) for i in range(n_entries)]

    async def slots(self, n_slots: int) -> list[int]:
        """REG_SLOTS: each extractor slot's field word, with SLOT_IN_USE while a valid entry reads it."""
        return [await self.axil.read(enc.REG_SLOTS + 4 * k) for k in range(n_slots)]

    async def entry_valid(self, n_entries: int) -> list[bool]:
        bits = 0
        for j in range((n_entries + 31) // 32):
            bits |= await self.axil.read(enc.REG_ENTRY_VALID + 4 * j) << (32 * j)
        return [bool(bits >> i & 1) for i in range(n_entries)]
