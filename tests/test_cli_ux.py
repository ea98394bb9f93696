"""What a user brings their own program and capture to: progress on a terminal only, processed
frames as a capture (`run --pcap-out`), the path listing (`jitnic paths`), the NIC trace
(`trace --nic`), complete JSON reports, and plots where every policy stays visible."""
import json
import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios

import pytest

from jit.cli import main as jitnic
from jit.cli.sweep import curve_labels, figure
from jit.ebpf import elf, isa
from jit.host.miss_handler import compile_path
from jit.host.runner import run_model
from jit.host.sweep import SweepRow
from jit.nic import encoding as enc
from jit.nic.model import NicConfig
from jit.traffic import pcap, workloads
from jit.paths import PROJECT_ROOT
from tests.conftest import built_program


@pytest.fixture(scope="module")
def capture(tmp_path_factory):
    """A mixed capture with distinct timestamps, one empty record and one oversize frame."""
    path = tmp_path_factory.mktemp("ux") / "mix.pcap"
    frames = list(workloads.generate("zipf", 300, seed=5, flows=30))
    frames += list(workloads.generate("malformed", 60, seed=5))
    frames.insert(17, b"")
    frames.insert(40, bytes(12) + b"\x08\x00" + bytes(enc.PKT_BYTES + 100))
    with pcap.PcapWriter(path, nanosecond=True) as w:
        for i, f in enumerate(frames):
            w.write(f, ts_ns=1_000_000_000 + 7919 * i)
    return path, frames


def run_cli(capsys, *argv) -> tuple[int, str]:
    code = jitnic([str(a) for a in argv])
    return code, capsys.readouterr().out


# ---- progress bars: on a terminal, never into a pipe or a file ----------------------------------
def _gen(tmp_path, stderr_tty: bool) -> bytes:
    cmd = [sys.executable, "-m", "jit", "gen", "zipf", "-o", str(tmp_path / "g.pcap"), "--count", "20000"]
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    env.pop("JITNIC_PROGRESS", None)
    if not stderr_tty:
        return subprocess.run(cmd, capture_output=True, env=env, check=True).stderr
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a real terminal's size
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=follower, env=env)
    os.close(follower)
    out = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:                       # EIO: the child closed its end
            break
        if not chunk:
            break
        out += chunk
    os.close(leader)
    assert proc.wait() == 0
    return out


def test_progress_only_on_a_terminal(tmp_path):
    on_tty = _gen(tmp_path, stderr_tty=True)
    assert b"\r" in on_tty and b"gen zipf" in on_tty
    piped = _gen(tmp_path, stderr_tty=False)
    assert b"\r" not in piped and piped == b""


# ---- run --pcap-out and the JSON report ----------------------------------------------------------
def test_pcap_out_holds_exactly_the_frames_that_leave(capture, tmp_path, capsys):
    path, frames = capture
    out = tmp_path / "out.pcap"
    code, text = run_cli(capsys, "run", built_program("ttl_router"), "--pcap", path, "--entries", 4,
                         "--jsonl", "--pcap-out", out)
    assert code == 0
    lines = [json.loads(line) for line in text.splitlines()]
    rows, summary = lines[:-1], lines[-1]
    leaving = [r for r in rows if r["action_name"] in ("XDP_TX", "XDP_PASS", "XDP_REDIRECT")]
    assert all((r["output"] is not None) == (r in leaving) for r in rows)
    written = list(pcap.read_records(out))
    assert len(written) == len(leaving) == summary["pcap_out_frames"] > 0
    stamps = [rec.ts_ns for rec in pcap.read_records(path)]
    by_index = {r["index"]: r for r in rows}
    for rec, row in zip(written, leaving):
        assert rec.data.hex() == row["out_hex"]
    # timestamps come from the input record of the same frame, in capture order
    assert [rec.ts_ns for rec in written] == sorted(rec.ts_ns for rec in written)
    assert {rec.ts_ns for rec in written} <= set(stamps)
    assert any(by_index[i]["output"] is None for i in by_index), "capture has no dropped frame"


def test_run_json_records_the_configuration(capture, capsys):
    path, _ = capture
    code, text = run_cli(capsys, "run", built_program("acl_firewall"), "--pcap", path,
                         "--entries", 8, "--policy", "fifo", "--json")
    s = json.loads(text)
    assert code == 0
    assert (s["program"], s["section"], s["entries"], s["policy"], s["engine"], s["data_width"]) == \
        ("acl_firewall", "xdp", 8, "fifo", "model", enc.DATA_WIDTH)
    assert s["hits"] + s["misses"] + s["oversize"] == s["packets"]


def test_interp_jsonl_names_actions(capture, capsys):
    path, _ = capture
    _code, text = run_cli(capsys, "interp", built_program("acl_firewall"), "--pcap", path, "--jsonl")
    rows = [json.loads(line) for line in text.splitlines()]
    named = [r for r in rows if r["action"] is not None]
    assert named and all(r["action_name"] == ("XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX",
                                                "XDP_REDIRECT")[r["action"]] for r in named)


# ---- jitnic paths --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["acl_firewall", "l4_lb"])
def test_paths_count_every_record_once(name, capture, capsys):
    path, frames = capture
    code, text = run_cli(capsys, "paths", built_program(name), "--pcap", path, "--json")
    listing = json.loads(text)
    assert code == 0
    assert listing["frames"] == len(frames) == sum(p["frames"] for p in listing["paths"])
    assert any(p["reason"] == "empty capture record (0 bytes)" and p["frames"] == frames.count(b"")
               for p in listing["paths"])
    # each cacheable path is one entry the host would install: the host compiles the same set
    prog = elf.load_program(built_program(name))
    rep = run_model(prog.insns, [f for f in frames if f], NicConfig(n_entries=64))
    assert sum(p["cacheable"] for p in listing["paths"]) == rep.distinct_traces
    for p in listing["paths"]:
        assert sum(p["actions"].values()) == p["frames"]
        assert p["cacheable"] == (p["reason"] is None)
        if p["cacheable"]:
            assert p["insns_after"] == len(p["nic_trace"]) and p["insns_after"] <= p["insns_before"]


def test_paths_text_lists_the_largest_path_first(capture, capsys):
    path, frames = capture
    code, text = run_cli(capsys, "paths", built_program("acl_firewall"), "--pcap", path)
    counts = [int(line.split(":")[1].split()[0]) for line in text.splitlines() if line.startswith("#")]
    assert code == 0 and counts == sorted(counts, reverse=True) and sum(counts) == len(frames)


# ---- trace --nic ---------------------------------------------------------------------------------
def test_trace_nic_prints_what_the_host_installs(capture, capsys):
    path, frames = capture
    prog = built_program("l4_lb")
    index = next(i for i, f in enumerate(frames) if len(f) > 60 and f[12:14] == b"\x08\x00")
    code, text = run_cli(capsys, "trace", prog, "--pcap", path, "--index", index, "--nic")
    _tr, compiled, reason = compile_path(elf.load_program(prog).insns, frames[index],
                                         max_atoms=enc.MAX_ATOMS, max_trace_len=enc.MAX_TRACE_LEN,
                                         hdr_bytes=enc.HDR_BYTES)
    assert code == 0 and reason is None
    listed = [line.split(":\t", 1)[1] for line in text.splitlines() if ":\t" in line]
    assert listed == [isa.disasm_insn(i) for i in isa.decode(compiled.code)]
    code, text = run_cli(capsys, "trace", prog, "--pcap", path, "--index", index, "--json")
    report = json.loads(text)
    assert report["nic_trace"] == listed and report["nic_slots"] == len(compiled.code) // 8
    assert report["nic_atoms"] == [str(a) for a in compiled.atoms]


# ---- sweeps: oversize column and plots -----------------------------------------------------------
def test_sweep_reports_oversize_frames(capture, capsys):
    path, _ = capture
    code, text = run_cli(capsys, "sweep", built_program("ipv6_filter"), "--pcap", path,
                         "--entries", "2,4", "--policy", "lru", "--json")
    rows = json.loads(text)
    oversize = sum(len(f) > enc.PKT_BYTES for f in capture[1])
    assert code == 0 and oversize >= 1 and [r["oversize"] for r in rows] == [oversize, oversize]
    assert all(r["hits"] + r["misses"] + r["oversize"] == r["packets"] for r in rows)


def test_plot_keeps_tied_policies_visible_and_starts_at_zero():
    rows = [SweepRow(n, p, 100, hits, 100 - hits, 0, 0, 0)
            for n, hits in ((1, 40), (2, 60)) for p in ("lru", "plru")]
    rows += [SweepRow(1, "opt", 100, 50, 50, 0, 0, 0), SweepRow(2, "opt", 100, 70, 30, 0, 0, 0)]
    fig = figure(rows, "t")
    ax = fig.axes[0]
    assert ax.get_ylim() == (0.0, 100.0)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["lru (= plru)", "plru (= lru)", "opt"]
    styles = {(line.get_marker(), line.get_linestyle()) for line in ax.get_lines()}
    assert len(styles) == 3
    assert curve_labels({"a": ((1, 5.0),), "b": ((1, 6.0),)}) == {"a": "a", "b": "b"}


def test_version_and_description(capsys):
    with pytest.raises(SystemExit) as exc:
        jitnic(["--version"])
    assert exc.value.code == 0 and capsys.readouterr().out.startswith("jitnic ")
    with pytest.raises(SystemExit):
        jitnic(["--help"])
    assert "smartNIC" in capsys.readouterr().out


# ---- help ----------------------------------------------------------------------------------------
def _subparsers():
    import argparse
    from jit.cli import build_parser
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices


def test_every_option_has_help_and_shows_its_default():
    missing = [f"{name} {a.option_strings[-1] if a.option_strings else a.dest}"
               for name, sub in _subparsers().items() for a in sub._actions if not a.help]
    assert not missing, missing
    run_help = _subparsers()["run"].format_help()
    assert f"(default: {enc.N_ENTRIES})" in " ".join(run_help.split())
    assert "(default: lru)" in run_help and "(default: 0)" in run_help   # --latency 0 is shown
    assert "--no-check" in run_help and "(default: False)" not in run_help
