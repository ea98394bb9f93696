"""`make results` (tools/results.py) moves its progress bar once per frame it simulates, and its
log lines go through the bar (on a terminal the bar names the step; elsewhere the lines alone)."""
from __future__ import annotations

from jit.traffic import pcap
from tools import results


class Recorder:
    def __init__(self):
        self.frames, self.lines, self.desc = 0, [], None

    def update(self, n: int = 1) -> None:
        self.frames += n

    def write(self, line: str) -> None:
        self.lines.append(line)

    def set_description(self, desc: str) -> None:
        self.desc = desc


def test_each_pass_over_a_capture_moves_the_bar_per_frame(monkeypatch):
    bar = Recorder()
    monkeypatch.setattr(results, "PROGRESS", bar)
    frames = results.frames_of("malformed")
    total = sum(1 for _ in pcap.read_packets(results.capture("malformed")))
    assert sum(1 for _ in frames()) == total == bar.frames
    list(frames())
    assert bar.frames == 2 * total
    results.log("sweep l4_lb")
    assert bar.lines[-1].endswith("] sweep l4_lb") and bar.desc == "results: sweep l4_lb"


def test_log_off_a_terminal_is_one_plain_line(capsys):
    results.log("thrash rare")
    err = capsys.readouterr().err
    assert err.endswith("] thrash rare\n") and "\r" not in err
