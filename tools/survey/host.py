"""The interpreter side of the survey: one program with its maps, packet after packet."""
from __future__ import annotations

from jit.ebpf import interp
from jit.ebpf.maps.mapset import MapSet


class Session:
    def __init__(self, linked):
        self.linked = linked
        self.mapset = MapSet(linked.maps)
        self.compiled = interp.compile_program(linked.insns)

    def run(self, packet: bytes) -> tuple[int, bytes]:
        r = interp.run_xdp(self.compiled, packet)
        return r.action, r.packet

    def maps(self):
        return self.mapset.contents()
