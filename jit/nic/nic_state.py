"""What a NIC trace can touch beyond the frame and the stack: map memory, the clock, the NIC's
random generator, the prog_array's program ids -- and the transaction that makes a trace's effects
all-or-nothing (docs/memory_model.md).

One memory: `NicState.for_runtime(runtime)` wraps the host runtime's own maps (the same `MapSet`
objects and value buffers the host's interpreter uses), so the NIC model and the host read and
write one state, the host "over the bus". Only NIC-resident maps (jit/nic/residency.py) are
mapped into the executor's address space; the others fault (MAP_ACCESS).

Transactions: the model keeps an undo log rather than a write buffer. A store or atomic through a
value pointer logs the bytes it overwrites; a map update or delete first saves the whole map; a
guard failure or a fault restores them and the random generator, a commit drops the log. Reads see the trace's own writes, as the RTL's write buffer with read-through does,
and nothing else can run during a trace, so the observable behaviour is the write buffer's.
"""
from __future__ import annotations

import copy
from typing import Callable

from jit.ebpf import interp
from jit.ebpf.maps.base import Map
from jit.ebpf.maps.mapset import MapSet
from jit.nic import encoding as enc
from jit.nic.nic_helpers import NicPrandom
from jit.nic.residency import map_residency, program_id


class NicState:
    """Map memory and per-NIC registers seen by traces. `maps`: the runtime's MapSet (None: a
    stateless NIC); `clock()`: bpf_ktime_get_ns (the frame's capture time); `obj`: the program's
    object (tail-call program ids)."""

    def __init__(self, maps: MapSet | None = None, *, clock: Callable[[], int] | None = None,
                 prandom_seed: int = 0, obj=None):
        self.maps = maps
        self.clock = clock or (lambda: 0)
        self.prandom = NicPrandom(prandom_seed)
        self.obj = obj
        self.cpu = enc.NIC_CPU
        self.reasons: dict[str, str] = {}       # map name -> why it is host-resident
        self.pages: dict[int, interp.Region] = {}     # the executor's map regions, by page
        self.resident: set[int] = set()          # id() of NIC-resident maps
        self._by_page: dict[int, Map] = {}
        for m in maps.by_fd if maps is not None else ():
            why = map_residency(m)
            if why is not None:
                self.reasons[m.name] = why
                continue
            self.resident.add(id(m))
            page = m.base >> interp.PAGE_SHIFT
            self._by_page[page] = m
            if m.buf:               # the map's own buffer: one memory with the host
                self.pages[page] = interp.Region(f"map {m.name}", m.base, m.buf, 0, len(m.buf),
                                                 writable=not (m.frozen or m.readonly_values))
        self.last_redirect: dict | None = None   # the last committed trace's redirect target
        self.last_map_ops = 0                    # map operations of the last committed trace
        self._ids: dict[str, int] = {}

    @classmethod
    def for_runtime(cls, runtime, prandom_seed: int = 0) -> "NicState":
        """The NIC side of a host runtime (jit.ebpf.runtime.XdpRuntime): its maps, its clock."""
        obj = runtime.linked.object if runtime.linked is not None else None
        return cls(runtime.maps, clock=lambda: runtime.now_ns, prandom_seed=prandom_seed, obj=obj)

    def map_at_page(self, page: int) -> Map | None:
        return self._by_page.get(page)

    def is_resident(self, m: Map) -> bool:
        return id(m) in self.resident

    def redirect_word(self, redirect: dict | None) -> int:
        """The host-stream metadata word of a REDIRECT (encoding.redirect_meta) for the target
        the interpreter's helper recorded."""
        if redirect is None:
            return enc.redirect_meta(enc.RedirectKind.NONE)
        if "map" not in redirect:
            return enc.redirect_meta(enc.RedirectKind.IFINDEX, redirect["ifindex"])
        fd = self.maps.fd_of(self.maps.maps[redirect["map"]])
        return enc.redirect_meta(enc.RedirectKind.MAP, redirect["key"], fd,
                                 redirect.get("flags", 0))

    def program_id(self, name: str) -> int:
        """What the NIC's prog_array slot holds for program `name`."""
        pid = self._ids.get(name)
        if pid is None:
            if self.obj is None:
                raise ValueError("tail call without an object file")
            pid = self._ids[name] = program_id(self.obj, name)
        return pid


def _snapshot(m: Map) -> dict:
    """Everything mutable a map keeps (value bytes, key index, free list...), copied."""
    return {k: (bytes(v) if isinstance(v, bytearray) else copy.copy(v))
            for k, v in vars(m).items() if isinstance(v, (bytearray, dict, list, set))}


def _restore(m: Map, saved: dict) -> None:
    for k, v in saved.items():
        if isinstance(v, bytes):
            getattr(m, k)[:] = v          # in place: the executor's regions alias the buffer
        else:
            setattr(m, k, v)


class Transaction:
    """One trace attempt's undo log (see the module docstring). A store, atomic or helper write
    into a map's values logs the bytes it overwrites (`before_store`: cheap whatever the map's
    size); a map update or delete saves the whole map (`before_write`: key index, free list and
    values). Undo restores the saved maps, then the logged bytes newest first: a byte logged before
    its map was saved is older than the saved copy."""
    __slots__ = ("state", "saved", "ranges", "prandom", "map_ops")

    def __init__(self, state: NicState):
        self.state = state
        self.saved: dict[int, tuple[Map, dict]] = {}
        self.ranges: list[tuple[bytearray, int, bytes]] = []
        self.prandom = state.prandom.state
        self.map_ops = 0

    def before_write(self, m: Map) -> None:
        if id(m) not in self.saved:
            self.saved[id(m)] = (m, _snapshot(m))

    def before_store(self, m: Map, off: int, size: int) -> None:
        if id(m) not in self.saved:
            self.ranges.append((m.buf, off, bytes(m.buf[off:off + size])))

    def discard(self) -> None:
        for m, saved in self.saved.values():
            _restore(m, saved)
        for buf, off, old in reversed(self.ranges):
            buf[off:off + len(old)] = old
        self.saved.clear()
        self.ranges.clear()
        self.state.prandom.restore(self.prandom)

    def commit(self, redirect: dict | None) -> None:
        self.saved.clear()
        self.ranges.clear()
        self.state.last_map_ops = self.map_ops
        self.state.last_redirect = redirect
