"""Shared pytest fixtures: the shared material (../shared or $JITNIC_SHARED) and built programs."""
from __future__ import annotations

import pytest

from jit.paths import PROGRAM_NAMES, program_object, shared_dir


@pytest.fixture(scope="session")
def shared():
    d = shared_dir()
    if not d.is_dir():
        pytest.skip(f"shared material not found at {d} (set JITNIC_SHARED)")
    return d


@pytest.fixture(scope="session")
def pcaps_dir(shared):
    d = shared / "pcaps"
    if not d.is_dir():
        pytest.skip(f"no pcaps at {d}")
    return d


def built_program(name: str):
    path = program_object(name)
    if not path.exists():
        pytest.fail(f"{path} missing: run `make programs` first")
    return path


@pytest.fixture(params=PROGRAM_NAMES)
def program_path(request):
    """Each shipped program's object file, built by `make programs`."""
    return built_program(request.param)


# Counts that `make test` must show even under pytest-xdist (workers' prints are swallowed): the
# controller sees every report, so the summary is computed here from the reports themselves.
SUMMARY_GROUPS = {
    "eBPF conformance suite (jit/ebpf/interp)": "tests/test_conformance.py::test_conformance",
    "kernel differential (programs x 1000 packets)": "tests/test_kernel_diff.py::test_kernel_agrees",
    "kernel differential with maps (programs x 1000 packets, final maps)":
        "tests/test_kernel_diff.py::test_map_program_agrees",
    "RTL end-to-end (program x policy)": "tb/e2e/test_e2e.py::test_e2e",
}


def pytest_terminal_summary(terminalreporter):
    stats = terminalreporter.stats
    for label, prefix in SUMMARY_GROUPS.items():
        counts = {k: sum(1 for r in stats.get(k, []) if getattr(r, "nodeid", "").startswith(prefix)
                         and getattr(r, "when", "call") in ("call", "setup"))
                  for k in ("passed", "failed", "skipped")}
        total = sum(counts.values())
        if total:
            terminalreporter.write_line(f"{label}: {counts['passed']}/{total} passed, "
                                        f"{counts['failed']} failed, {counts['skipped']} skipped")
