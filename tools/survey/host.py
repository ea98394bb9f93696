"""The interpreter side of the survey: one program with its maps (`jit.ebpf.runtime.XdpRuntime`),
packet after packet, from empty maps."""
from __future__ import annotations

from jit.ebpf.runtime import XdpRuntime


class Session:
    def __init__(self, linked, fib=None, maps_in=None):
        self.runtime = XdpRuntime(linked, fib=fib, maps_in=maps_in)

    def run(self, packet: bytes) -> tuple[int, bytes]:
        r = self.runtime.run(packet)
        return r.action, r.packet

    def maps(self):
        return self.runtime.contents()
