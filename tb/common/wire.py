"""The rx side of the NIC as a MAC drives it: one beat per cycle, never waiting for `rx_ready` (the
NIC never back-pressures the wire), frames optionally flagged bad on `rx_error`, and raw beat
sequences for malformed traffic.

    src = WireSource(dut, "rx", dut.clk, idle=0.2, seed=1)           # honours rx_pause
    src.send(frame)                      # queued; queued frames follow each other back to back
    src.send(frame, bad=True)            # rx_error on its last beat: the NIC drops it (RX_ERRORS)
    src.send_beats([Beat(b"...", sop=False, eop=True)])              # a fragment without SOP
    src.starts                           # per started frame: was rx_pause high at its first beat?

Beats are driven on the falling edge, so `rx_pause` is read in the very cycle a frame's first beat
is presented: a source that honours it (`honor_pause=True`, like a MAC sending 802.3x PAUSE
frames) never loses a frame to a full NIC; one that does not (`honor_pause=False`) loses exactly
the frames that start while `rx_pause` is high (RX_DROPS). `on_start(tag, paused)` is called at
each start of packet with the tag given to `send` / `send_beats`.
"""
from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import cocotb
from cocotb.triggers import Event, FallingEdge, with_timeout


@dataclass(frozen=True)
class Beat:
    data: bytes            # up to DATA_WIDTH/8 bytes, first byte of the beat first
    sop: bool = False
    eop: bool = False
    error: bool = False


def frame_beats(frame: bytes, width_bytes: int, bad: bool = False) -> list[Beat]:
    """The beats of a well-formed frame; `bad` raises rx_error on its last beat."""
    chunks = [frame[i:i + width_bytes] for i in range(0, max(len(frame), 1), width_bytes)]
    return [Beat(c, sop=i == 0, eop=i == len(chunks) - 1, error=bad and i == len(chunks) - 1)
            for i, c in enumerate(chunks)]


class WireSource:
    def __init__(self, dut, name: str, clock, idle: float = 0.0, seed: int = 0,
                 honor_pause: bool = True,
                 on_start: Callable[[object, bool], None] | None = None):
        self.clock = clock
        self.idle = idle
        self.honor_pause = honor_pause
        self.on_start = on_start
        self.rng = random.Random(f"wire-{name}-{seed}")
        self.valid = getattr(dut, f"{name}_valid")
        self.data = getattr(dut, f"{name}_data")
        self.sop = getattr(dut, f"{name}_startofpacket")
        self.eop = getattr(dut, f"{name}_endofpacket")
        self.empty = getattr(dut, f"{name}_empty")
        self.error = getattr(dut, f"{name}_error")
        self.ready = getattr(dut, f"{name}_ready")
        self.pause = getattr(dut, f"{name}_pause")
        # the frame's timestamp (bpf_ktime_get_ns), driven with its beats, where the NIC has one
        self.timestamp = getattr(dut, f"{name}_timestamp", None)
        if self.timestamp is not None:
            self.timestamp.value = 0
        self.width_bytes = len(self.data) // 8
        self.queue: deque[tuple[list[Beat], object, int]] = deque()
        self.starts: list[bool] = []
        self.sent = 0
        self.done = 0
        self.not_ready_cycles = 0          # cycles with a beat offered and rx_ready low
        self._wake = Event()
        self._done_event = Event()
        self._drive_idle()
        cocotb.start_soon(self._run())

    def set_idle(self, p: float) -> None:
        self.idle = p

    def send(self, frame: bytes, bad: bool = False, tag: object = None, ts_ns: int = 0) -> None:
        self.send_beats(frame_beats(bytes(frame), self.width_bytes, bad), tag, ts_ns)

    def send_beats(self, beats: list[Beat], tag: object = None, ts_ns: int = 0) -> None:
        """Queue a raw beat sequence (checked for width only: malformed sequences are the point);
        `ts_ns` goes out on `<name>_timestamp` with its beats."""
        assert beats and all(0 < len(b.data) <= self.width_bytes for b in beats)
        self.queue.append((beats, tag, ts_ns))
        self.sent += 1
        self._wake.set()

    async def drain(self, timeout_cycles: int = 200_000) -> None:
        """Wait until every queued sequence has been driven."""
        async def until():
            while self.done < self.sent:
                self._done_event.clear()
                await self._done_event.wait()
        await with_timeout(until(), timeout_cycles * 10, "ns")

    def _drive_idle(self) -> None:
        self.valid.value = 0
        self.sop.value = 0
        self.eop.value = 0
        self.error.value = 0

    def _drive(self, beat: Beat) -> None:
        w = self.width_bytes
        self.data.value = int.from_bytes(beat.data.ljust(w, b"\0"), "big")
        self.empty.value = w - len(beat.data) if beat.eop else 0
        self.sop.value = int(beat.sop)
        self.eop.value = int(beat.eop)
        self.error.value = int(beat.error)
        self.valid.value = 1

    async def _run(self) -> None:
        edge = FallingEdge(self.clock)
        current: deque[Beat] | None = None
        gap = 0
        while True:
            await edge
            if current is None and not self.queue:
                # the last beat was taken at the rising edge before this falling one
                self._drive_idle()
                self._wake.clear()
                await self._wake.wait()
                continue
            if gap or (self.idle > 0 and self.rng.random() < self.idle / 4):
                gap = gap - 1 if gap else self.rng.randint(0, 2)
                self._drive_idle()
                continue
            if current is None:
                if not self.queue:
                    self._drive_idle()
                    continue
                paused = bool(int(self.pause.value))
                if paused and self.honor_pause:
                    self._drive_idle()
                    continue
                beats, tag, ts_ns = self.queue.popleft()
                current = deque(beats)
                if self.timestamp is not None:
                    self.timestamp.value = ts_ns & (1 << 64) - 1
                self.starts.append(paused)
                if self.on_start is not None:
                    self.on_start(tag, paused)
            beat = current.popleft()
            self._drive(beat)
            if not int(self.ready.value):
                self.not_ready_cycles += 1
            if not current:
                current = None
                self.done += 1
                self._done_event.set()
