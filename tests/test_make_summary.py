"""`make test`'s closing counts (issue 12, item 12): every group prints a line, also when the
shared material is missing and nothing ran (0/313 and the reason, not silence)."""
from __future__ import annotations

from types import SimpleNamespace

from tests.conftest import CONFORMANCE_SUITE_SIZE, summary_lines

CONF = "tests/test_conformance.py::test_conformance"


def skipped(nodeid: str, reason: str):
    return SimpleNamespace(nodeid=nodeid, when="setup", longrepr=("f.py", 1, f"Skipped: {reason}"))


def test_missing_suite_prints_zero_of_313_with_the_reason():
    lines = summary_lines({"skipped": [skipped(f"{CONF}[suite-missing]", "suite not found at X")]})
    conf = next(line for line in lines if line.startswith("eBPF conformance"))
    assert f"0/{CONFORMANCE_SUITE_SIZE} passed" in conf and "suite not found at X" in conf
    assert len(lines) == 5                      # the kernel lines and the RTL line too, though nothing ran
    assert all(line.strip() for line in lines)


def test_counts_when_everything_ran():
    passed = [SimpleNamespace(nodeid=f"{CONF}[{i}.data]", when="call")
              for i in range(CONFORMANCE_SUITE_SIZE)]
    conf = summary_lines({"passed": passed})[0]
    assert conf.endswith(f"{CONFORMANCE_SUITE_SIZE}/{CONFORMANCE_SUITE_SIZE} passed, 0 failed, "
                         "0 skipped")
