"""Avalon-ST packet streams for the NIC benches: cocotb-bus AvalonSTPkts drivers and monitors with
random idle cycles (sources) and random back-pressure (sinks).

    src = StreamSource(dut, "rx", dut.clk, idle=0.2, seed=1)    # valid low ~20% of the time
    src.send(frame)                                              # queued, sent back to back
    sink = StreamSink(dut, "host", dut.clk, backpressure=0.3, channel=True)
    await sink.wait_for(10)                                      # frames received: sink.frames

Knobs can change during a test (`src.set_idle(p)`, `sink.set_backpressure(p)`); 0 means none.
"""
from __future__ import annotations

import random
from collections.abc import Callable, Iterator

import cocotb
from cocotb.triggers import ClockCycles, Event, FallingEdge, with_timeout
from cocotb_bus.drivers.avalon import AvalonSTPkts as AvalonSTPktsDriver
from cocotb_bus.monitors.avalon import AvalonSTPkts as AvalonSTPktsMonitor


def idle_generator(rng: random.Random, knob: Callable[[], float]) -> Iterator[tuple[int, int]]:
    """(valid cycles, idle cycles) pairs for a ValidatedBusDriver: bursts of 1..8 valid beats,
    each followed by 1..3 idle cycles with probability knob()."""
    while True:
        p = knob()
        on = rng.randint(1, 8)
        off = rng.randint(1, 3) if p > 0 and rng.random() < p else 0
        yield on, off


class StreamSource:
    """Frames into a sink port of the DUT (rx, host_tx)."""

    def __init__(self, dut, name: str, clock, idle: float = 0.0, seed: int = 0):
        self.idle = idle
        self.rng = random.Random(f"{name}-{seed}")
        self.driver = AvalonSTPktsDriver(dut, name, clock,
                                         valid_generator=idle_generator(self.rng, lambda: self.idle))
        self.sent = 0
        self.done = 0
        self._done_event = Event()

    def set_idle(self, p: float) -> None:
        self.idle = p

    def _sent(self, _frame) -> None:
        self.done += 1
        self._done_event.set()

    def send(self, frame: bytes) -> None:
        """Queue a frame; queued frames follow each other with no idle cycle unless idle > 0."""
        self.driver.append(bytes(frame), callback=self._sent)
        self.sent += 1

    async def drain(self, timeout_cycles: int = 200_000) -> None:
        """Wait until every queued frame has been accepted by the DUT."""
        async def until():
            while self.done < self.sent:
                self._done_event.clear()
                await self._done_event.wait()
        await with_timeout(until(), timeout_cycles * 10, "ns")


class StreamSink:
    """Frames out of a source port of the DUT (tx, host), with random back-pressure on `ready`.
    `frames` collects (channel, bytes) in arrival order (channel None without a channel signal)."""

    def __init__(self, dut, name: str, clock, backpressure: float = 0.0, channel: bool = False,
                 seed: int = 0, callback: Callable[[int | None, bytes], None] | None = None):
        self.name = name
        self.clock = clock
        self.backpressure = backpressure
        self.rng = random.Random(f"{name}-{seed}")
        self.ready = getattr(dut, f"{name}_ready")
        self.ready.value = 0
        self.channel = channel
        self.monitor = AvalonSTPktsMonitor(dut, name, clock, report_channel=channel)
        self.frames: list[tuple[int | None, bytes]] = []
        self.callback = callback
        self._arrived = Event()
        self.monitor.add_callback(self._receive)
        cocotb.start_soon(self._drive_ready())

    def set_backpressure(self, p: float) -> None:
        self.backpressure = p

    def _receive(self, transaction) -> None:
        if self.channel:
            item = (int(transaction["channel"]), bytes(transaction["data"]))
        else:
            item = (None, bytes(transaction))
        self.frames.append(item)
        if self.callback is not None:
            self.callback(*item)
        self._arrived.set()

    async def _drive_ready(self) -> None:
        # ready changes on the falling edge and holds for 1..4 cycles at a time
        while True:
            await FallingEdge(self.clock)
            p = self.backpressure
            stall = p > 0 and self.rng.random() < p
            self.ready.value = 0 if stall else 1
            if p > 0:
                await ClockCycles(self.clock, self.rng.randint(1, 4), rising=False)
            else:
                await ClockCycles(self.clock, 64, rising=False)

    async def wait_for(self, count: int, timeout_cycles: int = 200_000) -> None:
        """Wait until `count` frames have arrived in total."""
        async def until():
            while len(self.frames) < count:
                self._arrived.clear()
                await self._arrived.wait()
        await with_timeout(until(), timeout_cycles * 10, "ns")
