"""Build and run one cocotb testbench under Icarus or Verilator from pytest (cocotb_tools.runner).

One place knows the RTL source list and how a parameter set becomes a build directory, so every
parameter set builds in its own folder (pytest -n safe, no stale builds) and waves work the same
for every block and simulator: set WAVES=1 in the environment to get `<build_dir>/<toplevel>.fst` (and, for jitnic_top, the
GTKWave layout for its parameters beside it, tb/common/waves.py).
The simulator is $JITNIC_SIM (`make SIM=verilator`) unless the caller names one
(tb/common/simulators.py). Builds of one directory are serialized by a lock file, so parallel
tests that share a parameter set compile it once.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from cocotb_tools.runner import get_runner

from jit.paths import PROJECT_ROOT
from tb.common import waves as waves_layout
from tb.common import simulators as _simulators
from tb.common.simulators import simulator as choose_simulator, write_public_control

RTL_DIR = PROJECT_ROOT / "rtl"
SIMULATORS_PY = Path(_simulators.__file__)
SIM_BUILD = PROJECT_ROOT / "sim_build"


BENCH_HDL_DIR = PROJECT_ROOT / "tb" / "common" / "hdl"
BENCH_TOPS = {"jitnic_tb_top": "jitnic_top"}    # bench-side top -> the NIC top it wraps (u_nic)


def rtl_sources() -> list[Path]:
    """Every RTL file; the simulator elaborates only what the top level instantiates."""
    return sorted(RTL_DIR.glob("*.v"))


def sources_for(toplevel: str) -> list[Path]:
    """The RTL, plus the bench-side Verilog (tb/common/hdl) for a bench top."""
    extra = sorted(BENCH_HDL_DIR.glob("*.v")) if toplevel in BENCH_TOPS else []
    return rtl_sources() + extra


def bench_modules() -> list[str]:
    """The modules of the bench-side Verilog (tb/common/hdl): the bench top and its shells."""
    names = []
    for path in sorted(BENCH_HDL_DIR.glob("*.v")):
        names += re.findall(r"^\s*module\s+(\w+)", path.read_text(), re.MULTILINE)
    return names


def public_modules(toplevel: str, simulator: str) -> list[str] | None:
    """The modules whose signals a Verilator build of `toplevel` makes visible to Python, or None
    for all of them (cocotb's default). A bench top's Python touches only the bench-side modules
    (its ports, rings and bus master: tb/common/fast.py), never the NIC inside it, so only those
    are public and Verilator optimizes the NIC freely: about twice as fast per cycle
    (docs/bench.md). The per-block benches probe internal signals and keep everything visible."""
    if simulator == "verilator" and toplevel in BENCH_TOPS:
        return bench_modules()
    return None


def build_dir_for(toplevel: str, parameters: dict, waves: bool, simulator: str = "icarus",
                  make_overrides: str = "", public: list[str] | None = None) -> Path:
    # the generated ABI header carries the parameter defaults: the simulators' rebuild check looks
    # at the sources' times only, so a header change (`make header`) must name a new build
    header = hashlib.sha1((RTL_DIR / "jitnic_abi.vh").read_bytes()).hexdigest()[:10]
    key = (",".join(f"{k}={v}" for k, v in sorted(parameters.items())) + f",waves={int(waves)}"
           + f",abi={header}")
    if make_overrides:          # a differently compiled model gets its own directory
        key += f",make={make_overrides}"
    if public is not None:
        key += ",public=" + "+".join(public)
    tag = hashlib.sha1(key.encode()).hexdigest()[:10]
    return SIM_BUILD / toplevel / f"{simulator}_{tag}"


def run_cocotb(toplevel: str, test_module: str, parameters: dict | None = None,
               extra_env: dict | None = None, testcase: str | None = None,
               simulator: str | None = None, waves: bool | None = None,
               log_file: Path | None = None) -> Path:
    """Build `toplevel` with `parameters` and run `test_module` (dotted, e.g. `tb.match.test_match`).

    Parameters also reach the Python testbench as environment variables `PARAM_<NAME>` (strings
    unquoted). Raises AssertionError naming the failed cocotb tests. Returns the results XML path.
    `log_file` sends the compiler's and simulator's output there instead of stdout.
    """
    if waves is None:
        waves = os.environ.get("WAVES", "0") == "1"
    # cocotb's runner lets $WAVES override its `waves` argument: a bench asking for waves under
    # `make SIM=...` (WAVES=0) would build without the dump module into a waves build directory
    saved = os.environ.get("WAVES")
    os.environ["WAVES"] = "1" if waves else "0"
    try:
        return _run_cocotb(toplevel, test_module, parameters, extra_env, testcase, simulator,
                           waves, log_file)
    finally:
        if saved is None:
            os.environ.pop("WAVES", None)
        else:
            os.environ["WAVES"] = saved


def _run_cocotb(toplevel: str, test_module: str, parameters: dict | None, extra_env: dict | None,
                testcase: str | None, simulator: str | None, waves: bool,
                log_file: Path | None) -> Path:
    parameters = dict(parameters or {})
    sim = choose_simulator(simulator)
    sim.prepare()
    # the bench tops run the long end-to-end loops: their Verilator model is compiled with -O2
    overrides = sim.make_overrides(optimize=toplevel in BENCH_TOPS)
    public = public_modules(toplevel, sim.name)
    build_dir = build_dir_for(toplevel, parameters, waves, sim.name, overrides, public)
    runner = get_runner(sim.name)
    hdl_params = {k: (f'"{v}"' if isinstance(v, str) else v) for k, v in parameters.items()}
    build_dir.parent.mkdir(parents=True, exist_ok=True)
    stamp = build_dir / ".complete"
    with open(build_dir.with_name(build_dir.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        # a build interrupted halfway (Ctrl-C, a killed job) can leave make's state inconsistent
        # (Verilator's precompiled headers): start such a directory afresh
        makeflags = os.environ.get("MAKEFLAGS")
        # beside the build directory, which a clean build removes
        control = (None if public is None else
                   write_public_control(build_dir.with_name(build_dir.name + ".vlt"), public))
        if overrides:
            os.environ["MAKEFLAGS"] = f"{makeflags or ''} {overrides}".strip()
        inputs = (sources_for(toplevel) + sorted(RTL_DIR.glob("*.vh")) + ([control] if control else [])
                  + [SIMULATORS_PY])          # where the compiler flags come from
        try:
            # cocotb's Verilator build() verilates again and make then recompiles every C++ file
            # (from ccache at best: 10-30 s per run on a loaded machine): skip a complete build
            # whose inputs are older (parameters, flags and waves are in the directory's name)
            if not (sim.name == "verilator" and up_to_date(stamp, inputs)):
                runner.build(sources=sources_for(toplevel), includes=[RTL_DIR],
                             hdl_toplevel=toplevel, parameters=hdl_params, build_dir=build_dir,
                             timescale=("1ns", "1ps"), waves=waves,
                             build_args=sim.build_args(waves, control), log_file=log_file,
                             clean=build_dir.exists() and not stamp.exists())
        finally:
            if makeflags is None:
                os.environ.pop("MAKEFLAGS", None)
            else:
                os.environ["MAKEFLAGS"] = makeflags
        stamp.touch()
    env = {f"PARAM_{k}": str(v) for k, v in parameters.items()}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))
    env.update(extra_env or {})
    results = runner.test(hdl_toplevel=toplevel, test_module=test_module, testcase=testcase,
                          build_dir=build_dir, test_dir=build_dir, extra_env=env, waves=waves,
                          test_args=sim.test_args(build_dir, toplevel, waves),
                          timescale=("1ns", "1ps"), log_file=log_file, hdl_toplevel_lang="verilog")
    if waves and toplevel in ("jitnic_top", *BENCH_TOPS):   # before the check: a failed run is the one to look at
        waves_layout.write_layout(build_dir, parameters, toplevel)
    if waves:
        name_waves(build_dir, toplevel, waves_name(test_module, testcase, parameters), sim.name)
    check_results(results, f"{toplevel} (log above, build {build_dir})")
    return Path(results)


def up_to_date(stamp: Path, inputs: list[Path]) -> bool:
    """A completed build (its stamp) is newer than every file it was built from."""
    if not stamp.exists():
        return False
    built = stamp.stat().st_mtime
    return all(path.stat().st_mtime <= built for path in inputs)


def waves_name(test_module: str, testcase: str | None, parameters: dict) -> str:
    """A readable name for one bench run's waveform: bench, test case and parameters
    (`test_top-n_entries4-policylru`), instead of the build directory's hash."""
    parts = [test_module.rsplit(".", 1)[-1]] + ([testcase] if testcase else [])
    parts += [f"{k.lower()}{v}" for k, v in sorted(parameters.items())]
    return "-".join(str(p).replace("/", "_").replace(" ", "_") for p in parts)


def name_waves(build_dir: Path, toplevel: str, name: str, simulator: str) -> None:
    """Link `<build_dir>/<toplevel>.fst` (and its .gtkw layout, if any) as
    `sim_build/waves/<simulator>/<name>.fst` / `.gtkw`, the names `make WAVES=1` lists."""
    folder = SIM_BUILD / "waves" / simulator
    folder.mkdir(parents=True, exist_ok=True)
    for suffix in (".fst", ".gtkw"):
        target = build_dir / f"{toplevel}{suffix}"
        link = folder / f"{name}{suffix}"
        if target.exists():
            link.unlink(missing_ok=True)
            link.symlink_to(os.path.relpath(target, folder))


def check_results(results_xml, where: str) -> None:
    """Raise AssertionError unless the run executed at least one testcase and none failed: a
    simulation that ran no test (a filter matching nothing, a module that failed to import, a
    simulator that died at elaboration) is not a success."""
    try:
        root = ET.parse(results_xml).getroot()
    except (OSError, ET.ParseError) as exc:
        raise AssertionError(f"no cocotb results in {where}: {exc}") from None
    cases = list(root.iter("testcase"))
    assert cases, f"no cocotb testcase ran in {where}"
    failed = failed_tests(results_xml)
    assert not failed, f"cocotb tests failed in {where}: {', '.join(failed)}"
    skipped = [c.get("name", "?") for c in cases if c.find("skipped") is not None]
    assert len(skipped) < len(cases), f"every cocotb testcase was skipped in {where}: {skipped}"


def failed_tests(results_xml) -> list[str]:
    root = ET.parse(results_xml).getroot()
    return [case.get("name", "?") for case in root.iter("testcase")
            if case.find("failure") is not None or case.find("error") is not None]


def param(name: str, default=None, cast=int):
    """A Verilog parameter as the Python side of a testbench sees it (from PARAM_<NAME>)."""
    value = os.environ.get(f"PARAM_{name}")
    if value is None:
        return default
    return cast(value)
