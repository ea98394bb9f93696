"""A shadow of a stateful program's runtime for the tracer: a copy of its maps, random generator
and clock that the concolic run changes, so that the frame's real run (the runtime's own, through
the reference interpreter) is the only one that touches the real maps. Comparing the shadow with
the runtime afterwards checks that the tracer computed every map effect as the interpreter did.

The copy costs time proportional to the maps' size; it is what lets the tracer stop anywhere (an
unsupported helper, a limit) without having applied half of a frame's effects.
"""
from __future__ import annotations

import copy

from jit.ebpf import interp
from jit.ebpf.runtime import RunEnv

_SKIP = ("d", "resolve")         # definitions are shared; map-in-map resolvers are bound methods


class Shadow:
    def __init__(self, runtime):
        self.source = runtime
        self.linked = runtime.linked
        memo = {id(d): d for d in runtime.maps.defs.values()}
        self.maps = copy.deepcopy(runtime.maps, memo)
        self.rng = copy.deepcopy(runtime.rng)
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
            if a != b:
                return f"map {real.name}"
        if self.rng.getstate() != self.source.rng.getstate():
            return "the random generator"
        return None
