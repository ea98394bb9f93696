"""Event maps: BPF_MAP_TYPE_PERF_EVENT_ARRAY and BPF_MAP_TYPE_RINGBUF. They hold no entries a
program or the maps JSON can see; `bpf_perf_event_output` and `bpf_ringbuf_output` record what
they are given as per-packet events of the run (jit/ebpf/helpers.py) instead of a perf buffer or
ring."""
from __future__ import annotations

from jit.ebpf.maps.base import Map


class EventMap(Map):
    def memory_size(self) -> int:
        return 0
