"""Shared pytest fixtures: the shared material (../shared or $JITNIC_SHARED) and built programs."""
from __future__ import annotations

import pytest

from jit.paths import MAP_PROGRAM_NAMES, PROGRAM_NAMES, program_object, shared_dir


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
# controller sees every report, so the summary is computed here from the reports themselves. Every
# group prints a line, also when nothing ran (0/313 and the reason, not silence).
CONFORMANCE_SUITE_SIZE = 313     # files in the shared snapshot of the eBPF conformance suite
SUMMARY_GROUPS = {
    "eBPF conformance suite (jit/ebpf/interp)":
        ("tests/test_conformance.py::test_conformance", CONFORMANCE_SUITE_SIZE),
    "kernel differential (programs x 1000 packets)":
        ("tests/test_kernel_diff.py::test_kernel_agrees", len(PROGRAM_NAMES)),
    "kernel differential with maps (programs x 1000 packets, final maps)":
        ("tests/test_kernel_diff.py::test_map_program_agrees", len(MAP_PROGRAM_NAMES)),
    "kernel differential, RTL engine (map programs x 40 frames, final maps)":
        ("tests/test_kernel_rtl.py::test_rtl_engine_agrees", len(MAP_PROGRAM_NAMES)),
    "RTL end-to-end (program x policy)": ("tb/e2e/test_e2e.py::test_e2e", None),
}


def _skip_reason(report) -> str:
    longrepr = getattr(report, "longrepr", None)
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr or "skipped")


def summary_lines(stats: dict) -> list[str]:
    """One line per group: passed/expected, failures, skips and the first skip reason."""
    lines = []
    for label, (prefix, expected) in SUMMARY_GROUPS.items():
        reports = {k: [r for r in stats.get(k, []) if getattr(r, "nodeid", "").startswith(prefix)
                       and getattr(r, "when", "call") in ("call", "setup")]
                   for k in ("passed", "failed", "skipped")}
        counts = {k: len(v) for k, v in reports.items()}
        total = sum(counts.values())
        if not total and expected is None:
            lines.append(f"{label}: not collected in this run")
            continue
        line = (f"{label}: {counts['passed']}/{max(total, expected or 0)} passed, "
                f"{counts['failed']} failed, {counts['skipped']} skipped")
        if counts["skipped"] and not counts["passed"]:
            line += f" ({_skip_reason(reports['skipped'][0])})"
        elif not total:
            line += " (not collected in this run)"
        lines.append(line)
    return lines


def pytest_terminal_summary(terminalreporter):
    for line in summary_lines(terminalreporter.stats):
        terminalreporter.write_line(line)
