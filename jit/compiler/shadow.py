"""A shadow of a stateful program's runtime for the tracer: a copy of its maps, random generator
and clock that the concolic run changes, so that the frame's real run (the runtime's own, through
the reference interpreter) is the only one that touches the real maps. Comparing the shadow with
the runtime afterwards checks that the tracer computed every map effect as the interpreter did.

The copy costs time proportional to the maps' size; it is what lets the tracer stop anywhere (an
unsupported helper, a limit) without having applied half of a frame's effects.
"""
from __future__ import annotations

import copy
import random
from collections import deque

from jit.ebpf import interp
from jit.ebpf.maps.mapinmap import MapInMap
from jit.ebpf.runtime import RunEnv

_SKIP = ("d", "resolve")         # definitions are shared; map-in-map resolvers are bound methods
_CONTAINERS = (dict, list, set, deque)


def _copy_map(m):
    """A map with its own copy of every piece of state: the value memory and the flat containers
    (index, free list, prefixes, programs, queue) of immutable items every family keeps
    (jit/ebpf/maps/). Much cheaper than deepcopy, which dominated tracing time."""
    c = copy.copy(m)
    for k, v in vars(m).items():
        if isinstance(v, bytearray):
            setattr(c, k, bytearray(v))
        elif isinstance(v, _CONTAINERS):
            setattr(c, k, v.copy())
    return c


def copy_maps(maps):
    """A MapSet whose maps are copies (map-in-map slots point at the copies)."""
    out = copy.copy(maps)
    out.by_fd = [_copy_map(m) for m in maps.by_fd]
    out.maps = {m.name: m for m in out.by_fd}
    for m in out.by_fd:
        if isinstance(m, MapInMap):
            m.resolve = out.maps.get
            m.inner = {k: out.maps.get(v.name, v) for k, v in m.inner.items()}
    return out


class Shadow:
    def __init__(self, runtime):
        self.source = runtime
        self.linked = runtime.linked
        self.maps = copy_maps(runtime.maps)
        self.rng = random.Random()
        self.rng.setstate(runtime.rng.getstate())
        self._pages = {}
        for m in self.maps.by_fd:
            if m.buf:
                region = interp.Region(f"map {m.name}", m.base, m.buf, 0, len(m.buf),
                                       writable=not (m.frozen or m.readonly_values))
                self._pages[m.base >> interp.PAGE_SHIFT] = region

    def env_for(self, mem: interp.Memory) -> RunEnv:
        """What the helpers see, as the runtime's next run will give it (CPU, clock, FIB)."""
        rt = self.source
        return RunEnv(self.maps, rt.cpu, rt.now_ns, self.rng, rt.fib)

    def program_insns(self, name: str):
        """The instructions of a program a tail call enters (linked like the runtime links it)."""
        return self.source._program(name).insns

    def differs(self) -> str | None:
        """None if the shadow's state equals the runtime's (after the runtime ran the frame),
        else the first difference."""
        for mine, real in zip(self.maps.by_fd, self.source.maps.by_fd):
            a = {k: v for k, v in vars(mine).items() if k not in _SKIP}
            b = {k: v for k, v in vars(real).items() if k not in _SKIP}
            if isinstance(real, MapInMap):          # inner maps compare by name
                a["inner"] = {k: v.name for k, v in a["inner"].items()}
                b["inner"] = {k: v.name for k, v in b["inner"].items()}
            if a != b:
                return f"map {real.name}"
        if self.rng.getstate() != self.source.rng.getstate():
            return "the random generator"
        return None
