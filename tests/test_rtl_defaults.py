"""Every RTL module elaborates at its own default parameters.

A block's parameter checks (`initial` blocks that print "Error: ..." and `$finish`) run at
elaboration, so a module whose defaults contradict each other cannot be simulated or synthesized
alone, and `yosys read_verilog` (the first step of `make synth`, which elaborates every module
at its defaults) stops there: jitnic_memunit's WORD_W default once predated the 64-byte head
margin and stopped `make synth` this way.
"""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tb.common.runner import RTL_DIR, rtl_sources

MODULES = sorted({m for p in rtl_sources()
                  for m in re.findall(r"^module\s+(\w+)", p.read_text(), re.M)})


@pytest.mark.skipif(shutil.which("iverilog") is None, reason="iverilog is not installed")
@pytest.mark.parametrize("module", MODULES)
def test_module_runs_its_parameter_checks_clean_at_its_defaults(module, tmp_path):
    vvp = tmp_path / f"{module}.vvp"
    subprocess.run(["iverilog", "-g2012", "-I", str(RTL_DIR), "-s", module, "-o", str(vvp),
                    *map(str, rtl_sources())], check=True, capture_output=True, text=True)
    run = subprocess.run(["vvp", "-n", str(vvp)], capture_output=True, text=True, timeout=60)
    assert "Error" not in run.stdout + run.stderr, run.stdout + run.stderr


@pytest.mark.skipif(shutil.which("yosys") is None, reason="yosys is not installed (make synth)")
def test_yosys_reads_every_module_at_its_defaults():
    sources = " ".join(map(str, rtl_sources()))
    run = subprocess.run(["yosys", "-q", "-p", f"read_verilog -I{RTL_DIR} {sources}"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "ERROR" not in run.stdout + run.stderr
