"""`jitnic run --engine rtl` reports the same hits, misses, installs and evictions as the model
engine on the same capture and settings (and no mismatches against the reference), and writes the
same processed frames with `--pcap-out`."""
import json
import subprocess
import sys

import pytest

from jit.traffic import workloads
from jit.paths import program_object
from jit.traffic.pcap import read_records


@pytest.mark.rtl
@pytest.mark.parametrize("program, policy, latency", [("parser_classifier", "random", 0),
                                                      ("acl_firewall", "plru", 2)])
def test_rtl_engine_matches_model_engine(tmp_path, program, policy, latency):
    capture = tmp_path / "mix.pcap"
    frames = list(workloads.generate("zipf", 120, seed=4, flows=25))
    frames += list(workloads.generate("malformed", 30, seed=4))
    with open(capture, "wb") as f:
        from jit.traffic.pcap import PcapWriter
        with PcapWriter(f) as w:
            for frame in frames:
                w.write(frame)
    base = [sys.executable, "-m", "jit", "run", str(program_object(program)), "--pcap", str(capture),
            "--entries", "4", "--policy", policy, "--latency", str(latency), "--json", "--seed", "7"]
    out = {engine: tmp_path / f"{engine}.pcap" for engine in ("model", "rtl")}
    model = json.loads(subprocess.run(base + ["--pcap-out", str(out["model"])], capture_output=True,
                                      text=True, check=True).stdout)
    proc = subprocess.run(base + ["--engine", "rtl", "--pcap-out", str(out["rtl"])],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rtl = json.loads(proc.stdout.splitlines()[-1])
    for key in ("packets", "hits", "misses", "installs", "evictions", "uncacheable", "mismatches"):
        assert rtl[key] == model[key], (key, rtl[key], model[key])
    assert rtl["mismatches"] == 0 and rtl["hits"] > 0 and rtl["evictions"] > 0
    written = {engine: [(r.data, r.ts_ns) for r in read_records(path)] for engine, path in out.items()}
    assert written["rtl"] == written["model"] and len(written["rtl"]) == rtl["pcap_out_frames"] > 0
    assert "cycles_per_frame" in rtl and rtl["engine"] == "rtl"


@pytest.mark.rtl
def test_rtl_engine_runs_a_map_program_and_reads_its_maps_back(tmp_path):
    """proto_stats (a per-CPU counter array) on both engines: the RTL engine loads --maps-in into
    the NIC's maps, keeps them in step and writes --maps-out from what it reads back over the bus;
    the counts agree with the model engine's once per-CPU slots are summed (the engines split
    frames differently between NIC and host: docs/memory_model.md)."""
    from jit.ebpf import elf
    from jit.ebpf.maps import contents
    from jit.traffic.pcap import PcapWriter
    from tests.packets import varied_packets
    capture = tmp_path / "stats.pcap"
    with open(capture, "wb") as f, PcapWriter(f) as w:
        for frame in varied_packets("proto_stats", 25, 3):
            w.write(frame)
    obj = program_object("proto_stats")
    base = [sys.executable, "-m", "jit", "run", str(obj), "--pcap", str(capture), "--entries", "4",
            "--json"]
    outs = {}
    for engine in ("model", "rtl"):
        outs[engine] = tmp_path / f"{engine}.maps.json"
        proc = subprocess.run(base + ["--engine", engine, "--maps-out", str(outs[engine])],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr[-2000:]
        summary = json.loads(proc.stdout.splitlines()[-1])
        assert summary["mismatches"] == 0 == summary["map_mismatches"], summary
    assert summary["map_sync"]["nic_maps"] == ["proto_stats_map"]
    assert summary["map_sync"]["write_throughs"] > 0 and not summary["map_sync"]["nic_map_mismatches"]
    defs = elf.load_linked(obj, "proto_stats").maps
    model, rtl = (contents.summed(contents.read_file(outs[e], defs)) for e in ("model", "rtl"))
    assert rtl == model and any(m.entries for m in rtl.values())
