"""One set of rules for the NIC's parameters (issue 12, item 4): `jit/nic/params.py` is used by the
CLI at parse time, by `NicConfig` (model and RTL engine) and by `make SIM=icarus`, and it agrees
with the RTL's own elaboration checks."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest

from jit import cli
from jit.nic import params
from jit.nic.model import NicConfig
from jit.nic.policies import POLICIES
from jit.paths import PROJECT_ROOT, program_object


@pytest.mark.parametrize("kw", [dict(n_entries=128), dict(n_entries=65536), dict(n_entries=3),
                                dict(n_entries=0), dict(hdr_bytes=0), dict(hdr_bytes=-1),
                                dict(hdr_bytes=100000), dict(hdr_bytes=20), dict(max_atoms=0),
                                dict(max_trace_len=1), dict(policy=""), dict(policy="bogus"),
                                dict(seed=-1), dict(hdr_bytes=256, pkt_bytes=128)])
def test_config_refuses_what_the_hardware_cannot_be(kw):
    with pytest.raises(params.ParamError):
        NicConfig(**kw)


@pytest.mark.parametrize("kw", [dict(n_entries=1), dict(n_entries=64), dict(max_atoms=256),
                                dict(max_trace_len=2), dict(hdr_bytes=16), dict(policy="plru")])
def test_config_accepts_the_edges(kw):
    NicConfig(**kw)


def test_policy_names_are_the_model_policies():
    assert set(params.POLICY_NAMES) == set(POLICIES)


def test_ranges_match_the_rtl_elaboration_checks():
    """The RTL's `initial` checks state the same bounds as the Python rules."""
    text = (PROJECT_ROOT / "rtl" / "jitnic_axil_regs.v").read_text()
    for name in ("N_ENTRIES", "MAX_ATOMS", "MAX_TRACE_LEN"):
        m = re.search(rf"{name} must be .*?in (\d+)\.\.(\d+)", text)
        assert m, f"no elaboration check for {name}"
        rule = params.RANGES[name]
        assert (int(m.group(1)), int(m.group(2))) == (rule.lo, rule.hi), name


@pytest.mark.parametrize("argv,flag", [
    (["run", "--entries", "128"], "--entries"), (["run", "--entries", ""], "--entries"),
    (["run", "--policy", ""], "--policy"), (["run", "--hdr-bytes", "0"], "--hdr-bytes"),
    (["run", "--hdr-bytes", "100000"], "--hdr-bytes"), (["run", "--latency", "-1"], "--latency"),
    (["run", "--max-atoms", "0"], "--max-atoms"), (["sweep", "--entries", ""], "--entries"),
    (["sweep", "--policy", ""], "--policy"), (["sweep", "--entries", "1,3"], "--entries"),
    (["sweep", "--policy", "lru,,fifo"], "--policy"), (["trace", "--hdr-bytes", "-1"], "--hdr-bytes"),
])
def test_cli_refuses_bad_parameters_at_parse_time(argv, flag, capsys):
    # the capture does not exist: parse-time validation must fail before anything is opened
    prog = str(program_object("acl_firewall"))
    with pytest.raises(SystemExit) as exc:
        cli.main([argv[0], prog, "--pcap", "/nonexistent.pcap", *argv[1:]])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and flag in err, err


@pytest.mark.parametrize("args,named", [(["--policy", "bogus"], "bogus"),
                                        (["--entries", "3"], "'3'")])
def test_regression_refuses_bad_make_parameters_at_once(args, named):
    r = subprocess.run([sys.executable, "-m", "tb.regress", *args], cwd=PROJECT_ROOT,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and named in r.stderr and "passed" not in r.stdout
