"""The shared eBPF conformance suite (../shared/bpf_conformance/tests/*.data) through the reference
interpreter's `run_raw`: one test per file; r0 must equal the file's `-- result`."""
from __future__ import annotations

import pytest

from jit.ebpf import isa
from jit.ebpf.asm import parse_data_file
from jit.ebpf.interp import run_raw
from jit.paths import shared_dir
from tests.conftest import CONFORMANCE_SUITE_SIZE

SUITE = shared_dir() / "bpf_conformance" / "tests"
FILES = sorted(SUITE.glob("*.data")) if SUITE.is_dir() else []
SUITE_SIZE = CONFORMANCE_SUITE_SIZE
MISSING = f"conformance suite not found at {SUITE} (set JITNIC_SHARED)"

# Files that need something deliberately left out of the interpreter: file -> reason. Empty: all
# 313 files pass. (Kept as the one place to record an exclusion should one become necessary.)
EXCLUDED: dict[str, str] = {}


class _Unwind(Exception):
    """Raised by the plugin helper below to stop the program, as uBPF's unwind does."""


def _ubpf_unwind(mem, pc, r1, r2, r3, r4, r5):
    """Helper 5 as the suite's reference plugin (uBPF's test runner) registers it: `unwind`
    returns its argument, and if that is 0 the program stops at once with r0 = 0. It is a
    plugin-specific helper, not a Linux one, so it lives here and not in jit.ebpf.interp.HELPERS;
    call_unwind_fail.data (`call 5`) and callx.data (`call %r2` with r2 = 5) use it."""
    if r1 == 0:
        raise _Unwind()
    return r1


PLUGIN_HELPERS = {5: _ubpf_unwind}
_outcome = {"passed": 0, "excluded": 0, "total": len(FILES)}


def _run(insns, mem: bytes) -> int:
    try:
        return run_raw(insns, mem, helpers=PLUGIN_HELPERS)
    except _Unwind:
        return 0


class _SummaryPlugin:
    """Prints the pass count in pytest's final summary (registered by the fixture below; with
    pytest-xdist the line stays on the workers and is not shown)."""

    def pytest_terminal_summary(self, terminalreporter):
        if _outcome["total"]:
            terminalreporter.write_line(f"conformance: {_outcome['passed']}/{_outcome['total']} "
                                        f"passed, {_outcome['excluded']} excluded")


@pytest.fixture(scope="module", autouse=True)
def _summary(request):
    manager = request.config.pluginmanager
    if not manager.has_plugin("jitnic-conformance-summary"):
        manager.register(_SummaryPlugin(), "jitnic-conformance-summary")


@pytest.mark.skipif(not FILES, reason=MISSING)
def test_suite_is_complete():
    assert len(FILES) == SUITE_SIZE, f"expected the {SUITE_SIZE}-file snapshot, found {len(FILES)}"
    assert set(EXCLUDED) <= {f.name for f in FILES}


# Without the suite there is one item, skipped with the reason, so that `make test` says why 0 ran.
@pytest.mark.parametrize("path", FILES or [None], ids=[f.name for f in FILES] or ["suite-missing"])
def test_conformance(path):
    if path is None:
        pytest.skip(MISSING)
    if path.name in EXCLUDED:
        _outcome["excluded"] += 1
        pytest.skip(f"excluded: {EXCLUDED[path.name]}")
    case = parse_data_file(path)
    if case.skip:
        pytest.fail(f"the suite's runner would skip this file: {case.skip}")
    assert case.result is not None, "no -- result section"
    got = _run(case.insns, case.mem)
    assert got == case.result, f"r0 = {got:#x}, expected {case.result:#x}"
    _outcome["passed"] += 1


def test_unwind_helper_models_the_plugin():
    """The plugin helper really stops the program when its argument is 0 (so the two files that
    use it pass because the helper is modelled, not because it is a no-op)."""
    prog = [isa.mov64_imm(1, 0), isa.call_helper(5), isa.mov64_imm(0, 2), isa.exit_insn()]
    assert _run(prog, b"") == 0
    prog[0] = isa.mov64_imm(1, 7)
    assert _run(prog, b"") == 2

