"""The command line's input and output edges (issue 12, items 5-6): a full disk or a closed pipe
is a one-line error, `sweep --plot` to an unwritable path fails before the sweep, other link types
convert to Ethernet only when asked (with a note), and a capture cut short keeps its summary."""
from __future__ import annotations

import json
import struct
import subprocess
import sys

import pytest

from jit import cli
from jit.traffic import pcap, workloads
from jit.traffic.capture import CaptureReader, LinkTypeError, to_ethernet
from jit.paths import program_object

JITNIC = [sys.executable, "-m", "jit"]


@pytest.fixture(scope="module")
def zipf_pcap(tmp_path_factory):
    path = tmp_path_factory.mktemp("io") / "zipf.pcap"
    pcap.write_packets(str(path), workloads.generate("zipf", 300, seed=1, flows=20))
    return str(path)


def one_line_error(stderr: str) -> bool:
    lines = stderr.strip().splitlines()
    return len(lines) == 1 and "error" in lines[0] and "Traceback" not in stderr


@pytest.mark.parametrize("argv", [
    ["disasm", "{prog}"], ["interp", "{prog}", "--pcap", "{cap}"],
    ["trace", "{prog}", "--pcap", "{cap}"], ["run", "{prog}", "--pcap", "{cap}", "--json"],
    ["gen", "zipf", "--count", "5", "-o", "/dev/full"],
])
def test_full_disk_is_one_line_error(argv, zipf_pcap):
    prog = str(program_object("acl_firewall"))
    argv = [a.format(prog=prog, cap=zipf_pcap) for a in argv]
    with open("/dev/full", "w") as full:
        r = subprocess.run(JITNIC + argv, stdout=full, stderr=subprocess.PIPE, text=True,
                           timeout=120)
    assert r.returncode == 2 and one_line_error(r.stderr), r.stderr


def test_closed_pipe_is_one_line_error():
    p = subprocess.Popen(JITNIC + ["gen", "zipf", "--count", "20000", "-o", "-"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.read(100)
    p.stdout.close()            # like `| head -c 100`
    err = p.stderr.read().decode()
    assert p.wait(timeout=120) == 2 and one_line_error(err), err


def test_sweep_plot_to_unwritable_path_fails_before_sweeping(zipf_pcap, tmp_path):
    prog = str(program_object("acl_firewall"))
    r = subprocess.run(JITNIC + ["sweep", prog, "--pcap", zipf_pcap, "--entries", "1,2",
                                 "--plot", str(tmp_path / "missing" / "x.png")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and one_line_error(r.stderr) and "--plot" in r.stderr
    assert "hit rate" not in r.stderr + r.stdout     # no sweep progress, no table


# ---- link types ----------------------------------------------------------------------------------
IPV4 = bytes.fromhex("450000280001000040060000c0a80001c0a80002") + bytes(20)
IPV6 = bytes.fromhex("6000000000083a40") + bytes(32) + bytes(8)
MAC = bytes.fromhex("aabbccddeeff")


def sll(payload: bytes, proto: int) -> bytes:
    return struct.pack(">HHH", 0, 1, 6) + MAC + b"\0\0" + struct.pack(">H", proto) + payload


def sll2(payload: bytes, proto: int) -> bytes:
    return struct.pack(">HHIHBB", proto, 0, 3, 1, 0, 6) + MAC + b"\0\0" + payload


@pytest.mark.parametrize("linktype,record,want_src,ethertype,payload", [
    (113, sll(IPV4, 0x0800), MAC, 0x0800, IPV4),
    (276, sll2(IPV6, 0x86DD), MAC, 0x86DD, IPV6),
    (101, IPV4, None, 0x0800, IPV4),
    (101, IPV6, None, 0x86DD, IPV6),
    (228, IPV4, None, 0x0800, IPV4),
])
def test_link_types_convert_to_ethernet(linktype, record, want_src, ethertype, payload):
    eth = to_ethernet(linktype, record)
    assert eth[14:] == payload
    assert struct.unpack(">H", eth[12:14])[0] == ethertype
    if want_src is not None:
        assert eth[6:12] == want_src


def test_sll_capture_needs_the_option_and_says_so(tmp_path, capsys):
    path = tmp_path / "cooked.pcap"
    with pcap.PcapWriter(str(path), linktype=113) as w:
        for _ in range(4):
            w.write(sll(IPV4, 0x0800))
    with pytest.raises(LinkTypeError, match="--convert-link"):
        list(CaptureReader(str(path)).frames())
    prog = str(program_object("acl_firewall"))
    assert cli.main(["interp", prog, "--pcap", str(path)]) == 2
    assert "--convert-link" in capsys.readouterr().err
    assert cli.main(["run", prog, "--pcap", str(path), "--json", "--convert-link"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["packets"] == 4
    assert "LINUX_SLL" in err and "converted to Ethernet" in err


def test_truncated_last_record_keeps_the_summary(zipf_pcap, tmp_path, capsys):
    data = open(zipf_pcap, "rb").read()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(data[:-5])
    n = sum(1 for _ in pcap.read_packets(zipf_pcap))
    prog = str(program_object("acl_firewall"))
    assert cli.main(["run", prog, "--pcap", str(cut), "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["packets"] == n - 1
    assert "warning" in err and "truncated" in err
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(data[:24] + b"\xff" * 16 + data[24:])    # garbage mid-file: still an error
    assert cli.main(["run", prog, "--pcap", str(bad), "--json"]) == 2


@pytest.mark.parametrize("value", ["inf", "-inf", "nan"])
def test_gen_refuses_non_finite_parameters(value, tmp_path, capsys):
    out = tmp_path / "x.pcap"
    assert cli.main(["gen", "zipf", "-o", str(out), "--count", "3", "-p", f"s={value}"]) == 2
    assert "finite" in capsys.readouterr().err and not out.exists()
