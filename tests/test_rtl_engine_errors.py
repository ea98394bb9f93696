"""`jitnic run --engine rtl` says why (issue 12, item 3): bad input is refused before the slow
build with its own message, and a failure inside the simulation names its cause from the log."""
from __future__ import annotations

import time

import pytest

from jit import cli
from jit.cli.rtl_engine import log_cause
from jit.paths import program_object


def test_bad_capture_fails_before_building(tmp_path, capsys):
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(b"not a capture at all")
    t0 = time.monotonic()
    assert cli.main(["run", str(program_object("acl_firewall")), "--pcap", str(bad),
                     "--engine", "rtl"]) == 2
    err = capsys.readouterr().err
    assert "not a pcap or pcapng file" in err and "RTL run failed" not in err
    assert time.monotonic() - t0 < 20          # no simulator build happened


def test_bad_parameter_fails_at_parse_time(capsys):
    with pytest.raises(SystemExit):
        cli.main(["run", str(program_object("acl_firewall")), "--pcap", "x.pcap",
                  "--engine", "rtl", "--entries", "65536"])
    assert "--entries" in capsys.readouterr().err


@pytest.mark.parametrize("log,cause", [
    ("build ok\n  File \"x.py\", line 3\nAssertionError: counters differ (rtl, model): {'HITS': (3, 4)}\n",
     "AssertionError: counters differ"),
    ("rtl/jitnic_top.v:12: syntax error\nI give up.\n", "syntax error"),
    ("0.00ns INFO x\nError: unknown POLICY \"bogus\" (instance jitnic_top)\n", "unknown POLICY"),
    ("Traceback (most recent call last):\n  ...\njit.traffic.pcap.PcapError: f.pcap: truncated\n",
     "PcapError: f.pcap: truncated"),
])
def test_log_cause_finds_the_telling_line(tmp_path, log, cause):
    path = tmp_path / "sim.log"
    path.write_text(log)
    assert cause in log_cause(path)
