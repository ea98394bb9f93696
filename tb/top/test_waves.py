"""The generated GTKWave layout against a real FST: every signal the layout names exists in the
waveform with the layout's width, at the default parameters and at a configuration where every
parameter-sized width differs (N_ENTRIES, DATA_WIDTH, N_BUFS, MAX_TRACE_LEN, N_LANES)."""
from __future__ import annotations

import re
import shutil
import subprocess

import cocotb
import pytest

from tb.common import waves
from tb.common.nic import NicTb
from tb.common.runner import run_cocotb

CONFIGS = {
    "default": {},
    "n4-dw512": {"N_ENTRIES": 4, "DATA_WIDTH": 512, "N_BUFS": 2, "MAX_TRACE_LEN": 32, "N_LANES": 2},
}


@cocotb.test()
async def reset_only(dut):
    """Reset and a few cycles: enough for every signal to appear in the FST."""
    tb = NicTb(dut)
    await tb.reset()
    await tb.cycles(5)


def fst_vars(fst) -> dict[str, int]:
    """Hierarchical name (no range) -> width of every $var in the FST, through fst2vcd."""
    text = subprocess.run(["fst2vcd", "-f", str(fst)], capture_output=True, text=True,
                          check=True).stdout
    header = text.split("$enddefinitions", 1)[0]
    scopes: list[str] = []
    found: dict[str, int] = {}
    for line in header.splitlines():
        tok = line.split()
        if tok[:1] == ["$scope"]:
            scopes.append(tok[2])
        elif tok[:1] == ["$upscope"]:
            scopes.pop()
        elif tok[:1] == ["$var"]:
            name = re.sub(r"\[.*", "", tok[4])
            found[".".join(scopes + [name])] = int(tok[2])
    return found


@pytest.mark.rtl
@pytest.mark.parametrize("name", list(CONFIGS))
def test_layout_signals_exist_in_fst(name):
    if shutil.which("fst2vcd") is None:
        pytest.skip("fst2vcd not installed (Debian package gtkwave): cannot read the FST's names")
    results = run_cocotb("jitnic_top", "tb.top.test_waves", parameters=CONFIGS[name],
                         simulator="icarus", waves=True)
    build_dir = results.parent
    gtkw = build_dir / waves.GTKW_NAME
    assert gtkw.read_text() == waves.layout(CONFIGS[name])
    found = fst_vars(build_dir / "jitnic_top.fst")
    wanted = waves.signals(CONFIGS[name])
    missing = [s for s, _ in wanted if s not in found]
    assert not missing, f"in the layout, not in the FST: {missing}"
    wrong = [(s, w, found[s]) for s, w in wanted if found[s] != w]
    assert not wrong, f"(signal, layout width, FST width): {wrong}"
    # the layout's trace lines carry the same widths (what GTKWave actually matches on)
    for s, w in wanted:
        assert (f"{s}[{w - 1}:0]" if w > 1 else s) in gtkw.read_text().splitlines()
