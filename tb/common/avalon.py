"""Avalon-ST packet streams for the NIC benches: sources with random idle cycles and sinks with
random back-pressure, built to wake Python as rarely as the protocol allows.

    src = StreamSource(dut, "rx", dut.clk, idle=0.2, seed=1)    # valid low ~20% of the time
    src.send(frame)                                              # queued, sent back to back
    sink = StreamSink(dut, "host", dut.clk, backpressure=0.3, channel=True)
    await sink.wait_for(10)                                      # frames received: sink.frames

Knobs can change during a test (`src.set_idle(p)`, `sink.set_backpressure(p)`); 0 means none.

Timing: both ends act once per clock, on the falling edge. There the DUT's registered outputs of
the last rising edge are stable, and the bench's writes land before the next rising edge, where the
beat moves if valid and ready are both high. This needs the DUT's valid and ready outputs not to
depend combinationally on the bench's valid and ready inputs (true for every jitnic_top stream, and
what AXI-Stream requires). A sink sleeps on the rising edge of `valid`, and a source on an empty
queue or a low `ready`, so an idle stream costs no Python at all: one wake-up per beat moved (or
stalled), where cocotb-bus's driver and monitor take two per beat and its monitor two per cycle,
busy or not. First symbol in the high-order bits, `empty` counts unused bytes of the last beat.
"""
from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable, Iterator

import cocotb
from cocotb.triggers import ClockCycles, Event, FallingEdge, RisingEdge, with_timeout
from cocotb_bus.monitors import Monitor


def idle_generator(rng: random.Random, knob: Callable[[], float]) -> Iterator[tuple[int, int]]:
    """(valid cycles, idle cycles) pairs: bursts of 1..8 valid beats, each followed by 1..3 idle
    cycles with probability knob()."""
    while True:
        p = knob()
        on = rng.randint(1, 8)
        off = rng.randint(1, 3) if p > 0 and rng.random() < p else 0
        yield on, off


def _has(dut, name: str) -> bool:
    try:
        getattr(dut, name)
    except AttributeError:
        return False
    return True


class StreamSource:
    """Frames into a sink port of the DUT (rx, host_tx)."""

    def __init__(self, dut, name: str, clock, idle: float = 0.0, seed: int = 0):
        self.name = name
        self.clock = clock
        self.idle = idle
        self.rng = random.Random(f"{name}-{seed}")
        self.valid = getattr(dut, f"{name}_valid")
        self.ready = getattr(dut, f"{name}_ready")
        self.data = getattr(dut, f"{name}_data")
        self.sop = getattr(dut, f"{name}_startofpacket")
        self.eop = getattr(dut, f"{name}_endofpacket")
        self.empty = getattr(dut, f"{name}_empty") if _has(dut, f"{name}_empty") else None
        self.beat_bytes = len(self.data) // 8
        self.valid.value = 0
        self.sent = 0
        self.done = 0
        self._queue: deque[bytes] = deque()
        self._queued = Event()
        self._done_event = Event()
        self._gaps = idle_generator(self.rng, lambda: self.idle)
        cocotb.start_soon(self._run())

    def set_idle(self, p: float) -> None:
        self.idle = p

    def send(self, frame: bytes) -> None:
        """Queue a frame; queued frames follow each other with no idle cycle unless idle > 0."""
        self._queue.append(bytes(frame))
        self.sent += 1
        self._queued.set()

    async def drain(self, timeout_cycles: int = 200_000) -> None:
        """Wait until every queued frame has been accepted by the DUT."""
        async def until():
            while self.done < self.sent:
                self._done_event.clear()
                await self._done_event.wait()
        await with_timeout(until(), timeout_cycles * 10, "ns")

    def _beats(self, frame: bytes) -> list[tuple[int, int, int, int]]:
        """(data, sop, eop, empty) per beat."""
        n = self.beat_bytes
        out = []
        for start in range(0, max(len(frame), 1), n):
            chunk = frame[start:start + n]
            pad = n - len(chunk)
            out.append((int.from_bytes(chunk + bytes(pad), "big"), int(start == 0),
                        int(start + n >= len(frame)), pad))
        return out

    async def _run(self) -> None:
        falling = FallingEdge(self.clock)
        burst, gap = next(self._gaps)
        # the last value written to each control signal: a signal is written only when it changes
        # (each write costs about as much as a wake-up)
        valid = sop = eop = empty = None
        while True:
            if not self._queue:
                if valid != 0:
                    self.valid.value = valid = 0
                self._queued.clear()
                await self._queued.wait()
                await falling
                continue
            for data, b_sop, b_eop, b_empty in self._beats(self._queue.popleft()):
                if burst == 0:
                    if gap:
                        self.valid.value = valid = 0
                        await ClockCycles(self.clock, gap, rising=False)
                    burst, gap = next(self._gaps)
                self.data.value = data
                if b_sop != sop:
                    self.sop.value = sop = b_sop
                if b_eop != eop:
                    self.eop.value = eop = b_eop
                if self.empty is not None and b_empty != empty:
                    self.empty.value = empty = b_empty
                if valid != 1:
                    self.valid.value = valid = 1
                # ready does not depend on valid: its value now is what the next rising edge sees
                while self.ready.value != 1:
                    await RisingEdge(self.ready)
                    await falling
                await falling               # the beat moved on the rising edge in between
                burst -= 1
            self.done += 1
            self._done_event.set()


class StreamMonitor(Monitor):
    """Receives frames from a source port of the DUT (tx, host) and drives its `ready` with random
    back-pressure; a cocotb-bus Monitor, so a Scoreboard can check it. Transactions are bytes,
    or {"data": bytes, "channel": int, "meta": int} when the stream has a channel (meta: the
    `<name>_meta` sideband at the last beat, 0 where the DUT has none)."""

    def __init__(self, dut, name: str, clock, backpressure: float, channel: bool, rng: random.Random):
        self.name = name
        self.clock = clock
        self.backpressure = backpressure
        self.rng = rng
        self.valid = getattr(dut, f"{name}_valid")
        self.ready = getattr(dut, f"{name}_ready")
        self.data = getattr(dut, f"{name}_data")
        self.sop = getattr(dut, f"{name}_startofpacket")
        self.eop = getattr(dut, f"{name}_endofpacket")
        self.empty = getattr(dut, f"{name}_empty") if _has(dut, f"{name}_empty") else None
        self.channel = getattr(dut, f"{name}_channel") if channel else None
        self.meta = getattr(dut, f"{name}_meta") if channel and _has(dut, f"{name}_meta") else None
        self.beat_bytes = len(self.data) // 8
        self.ready.value = 0
        super().__init__()

    async def _monitor_recv(self) -> None:
        falling = FallingEdge(self.clock)
        ready = stretch = 0
        beats: list[bytes] = []
        while True:
            await falling
            if self.valid.value != 1:     # low or X (before reset)
                await RisingEdge(self.valid)        # valid rises after a clock edge
                continue
            # ready holds for stretches of 1..4 cycles under back-pressure
            p = self.backpressure
            if p <= 0:
                want = 1
            elif stretch > 0:
                want, stretch = ready, stretch - 1
            else:
                want, stretch = int(self.rng.random() >= p), self.rng.randint(0, 3)
            if want != ready:
                self.ready.value = ready = want
            if not ready:
                continue
            # start-of-packet is checked where a frame begins; a frame that lost its end would
            # merge with the next one, which the scoreboard reports
            if not beats:
                assert self.sop.value == 1, f"{self.name}: frame without start-of-packet"
            eop = self.eop.value == 1
            beat = int(self.data.value).to_bytes(self.beat_bytes, "big")
            if eop:
                used = self.beat_bytes - (int(self.empty.value) if self.empty is not None else 0)
                beats.append(beat[:used])
                frame = b"".join(beats)
                beats = []
                self._recv(frame if self.channel is None else
                           {"data": frame, "channel": int(self.channel.value),
                            "meta": int(self.meta.value) if self.meta is not None else 0})
            else:
                beats.append(beat)


class StreamSink:
    """Frames out of a source port of the DUT (tx, host), with random back-pressure on `ready`.
    `frames` collects (channel, bytes) in arrival order (channel None without a channel signal)."""

    def __init__(self, dut, name: str, clock, backpressure: float = 0.0, channel: bool = False,
                 seed: int = 0, callback: Callable[[int | None, bytes], None] | None = None):
        self.name = name
        self.clock = clock
        self.channel = channel
        self.monitor = StreamMonitor(dut, name, clock, backpressure, channel,
                                     random.Random(f"{name}-{seed}"))
        self.frames: list[tuple[int | None, bytes]] = []
        self.metas: list[int] = []      # the `meta` of each frame (with a channel)
        self.callback = callback
        self._arrived = Event()
        self.monitor.add_callback(self._receive)

    @property
    def backpressure(self) -> float:
        return self.monitor.backpressure

    def set_backpressure(self, p: float) -> None:
        self.monitor.backpressure = p

    def _receive(self, transaction) -> None:
        if self.channel:
            item = (transaction["channel"], transaction["data"])
            self.metas.append(transaction["meta"])
        else:
            item = (None, transaction)
        self.frames.append(item)
        if self.callback is not None:
            self.callback(*item)
        self._arrived.set()

    async def wait_for(self, count: int, timeout_cycles: int = 200_000) -> None:
        """Wait until `count` frames have arrived in total."""
        async def until():
            while len(self.frames) < count:
                self._arrived.clear()
                await self._arrived.wait()
        await with_timeout(until(), timeout_cycles * 10, "ns")
