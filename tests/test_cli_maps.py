"""The command line with stateful programs: --maps-in/--maps-out on interp, trace and run (the
model engine keeps map state across frames and agrees with interp on the final contents), the
RTL engine's refusal, `jitnic maps` (list and --dump), one-line errors for bad map files."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from jit.traffic import workloads

FW_C = r"""
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __type(key, __u32); __type(value, __u64);
         __uint(max_entries, 2); } stats SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __type(key, __u32); __type(value, __u8);
         __uint(max_entries, 16); } deny SEC(".maps");
__u64 seen;
SEC("xdp") int fw(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u32 k = 0;
	if ((void *)(eth + 1) > end)
		return XDP_ABORTED;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;                      /* no map on this path: cacheable */
	__sync_fetch_and_add(&seen, 1);
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > end)
		return XDP_DROP;
	__u32 src = ip->saddr;
	if (bpf_map_lookup_elem(&deny, &src))
		k = 1;
	__u64 *c = bpf_map_lookup_elem(&stats, &k);
	if (c)
		*c += 1;
	return k ? XDP_DROP : XDP_PASS;
}
char _license[] SEC("license") = "GPL";
"""


@pytest.fixture(scope="module")
def fw(tmp_path_factory) -> tuple[Path, Path, Path]:
    if shutil.which("clang") is None:
        pytest.skip("clang not installed")
    d = tmp_path_factory.mktemp("climaps")
    src, obj = d / "fw.c", d / "fw.o"
    src.write_text(FW_C)
    arch = subprocess.run(["uname", "-m"], capture_output=True, text=True).stdout.strip()
    subprocess.run(["clang", "-O2", "-g", "-target", "bpf", f"-I/usr/include/{arch}-linux-gnu",
                    "-c", str(src), "-o", str(obj)], check=True, capture_output=True)
    cap = d / "t.pcap"
    workloads.write_pcap(cap, "zipf", 150, seed=4, flows=12)
    # deny the source address of the capture's first IPv4 frame
    frames = list(workloads.generate("zipf", 150, seed=4, flows=12))
    v4 = next(f for f in frames if f[12:14] == b"\x08\x00")
    maps_in = d / "in.json"
    maps_in.write_text(json.dumps({"maps": {"deny": {"entries": [
        {"key": v4[26:30].hex(), "value": "01"}]}}}))
    return obj, cap, maps_in


def percpu_summed(doc: dict) -> dict:
    """A --maps-out document with each per-CPU entry's values summed (u64 lanes) into one."""
    out = json.loads(json.dumps(doc))
    for m in out["maps"].values():
        for e in m.get("entries", []):
            if "values" in e:
                total = sum(int.from_bytes(bytes.fromhex(v), "little") for v in e.pop("values"))
                e["sum"] = total
    return out


def jitnic(*args):
    return subprocess.run([sys.executable, "-m", "jit", *map(str, args)], capture_output=True,
                          text=True)


def test_interp_and_run_agree_on_final_maps(fw, tmp_path):
    obj, cap, maps_in = fw
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    p = jitnic("interp", obj, "--pcap", cap, "--maps-in", maps_in, "--maps-out", a, "--json")
    assert p.returncode == 0, p.stderr
    summary = json.loads(p.stdout)
    p = jitnic("run", obj, "--pcap", cap, "--maps-in", maps_in, "--maps-out", b, "--json")
    assert p.returncode == 0, p.stderr
    report = json.loads(p.stdout)
    assert report["mismatches"] == 0 and report["packets"] == summary["packets"] == 150
    # every path is cached (trace format v2): map lookups, the atomic on global data, guards on
    # the lookup results; the three misses are the first frame of each path
    assert report["uncacheable_reasons"] == {} and report["hits"] == 147
    out_a, out_b = json.loads(a.read_text()), json.loads(b.read_text())
    # per-CPU maps: the NIC counts its hits in slot 1 (docs/memory_model.md); slots summed, the
    # run's maps are the interpreter's
    assert percpu_summed(out_a) == percpu_summed(out_b)
    stats = out_a["maps"]["stats"]["entries"]
    dropped = summary["actions"].get("XDP_DROP", 0)
    counted = {e["key"]: int.from_bytes(bytes.fromhex(e["values"][0]), "little") for e in stats}
    assert counted.get("01000000", 0) == dropped > 0     # every denied frame counted once
    seen = int.from_bytes(bytes.fromhex(out_a["maps"]["fw.bss"]["entries"][0]["value"]), "little")
    assert seen == sum(counted.values()) + 0             # IPv4 frames: all of them long enough
    assert out_a["maps"]["deny"]["entries"] == [json.loads(maps_in.read_text())["maps"]["deny"]
                                               ["entries"][0]]


def test_trace_replays_earlier_frames_and_agrees_with_interp(fw, tmp_path):
    obj, cap, maps_in = fw
    frames = list(workloads.generate("zipf", 150, seed=4, flows=12))
    index = next(i for i, f in enumerate(frames) if i >= 5 and f[12:14] == b"\x08\x00")
    out = tmp_path / "t.json"
    p = jitnic("trace", obj, "--pcap", cap, "--index", index, "--maps-in", maps_in,
               "--maps-out", out, "--json")
    r = json.loads(p.stdout)
    assert r["reason"] is None
    assert [(g["why"], g["holds"]) for g in r["guards"]] == [
        ("lookup result", "lookup result (deny) == 0"), ("lookup result", "lookup result (stats) != 0")]
    assert sorted(m["name"] for m in r["maps"] if m["nic"]) == ["deny", "fw.bss", "stats"]
    lines = [json.loads(x) for x in jitnic("interp", obj, "--pcap", cap, "--maps-in", maps_in,
                                           "--jsonl").stdout.splitlines()]
    assert (r["action"], r["out_hex"]) == (lines[index]["action"], lines[index]["out_hex"])
    # frames 0..index ran once each: `seen` counts the IPv4 frames among them
    seen = json.loads(out.read_text())["maps"]["fw.bss"]["entries"][0]["value"]
    expect = sum(1 for f in frames[:index + 1] if f[12:14] == b"\x08\x00")
    assert int.from_bytes(bytes.fromhex(seen), "little") == expect


@pytest.mark.parametrize("doc, message", [
    ('{"maps": {"nosuch": {}}}', "no map 'nosuch'"),
    ('{"maps": {"deny": {"entries": [{"key": "01", "value": "01"}]}}}', "key has 1 bytes"),
    ("[", "not JSON"),
])
def test_bad_maps_in_is_one_line(fw, tmp_path, doc, message):
    obj, cap, _ = fw
    bad = tmp_path / "bad.json"
    bad.write_text(doc)
    for cmd in ("interp", "run"):
        p = jitnic(cmd, obj, "--pcap", cap, "--maps-in", bad)
        assert p.returncode == 2 and message in p.stderr, p.stderr
        assert len(p.stderr.strip().splitlines()) == 1


def test_maps_list_and_dump(fw, tmp_path):
    obj, cap, maps_in = fw
    p = jitnic("maps", obj)
    assert p.returncode == 0
    lines = p.stdout.splitlines()
    listing = json.loads(jitnic("maps", obj, "--json").stdout)
    assert sorted(m["name"] for m in listing) == ["deny", "fw.bss", "stats"]
    assert listing[-1]["name"] == "fw.bss"               # global data after the .maps maps
    fd = next(m["fd"] for m in listing if m["name"] == "stats")
    at = lines.index(f"{fd}: percpu_array  name stats  flags 0x0")
    assert lines[at + 1] == "\tkey 4B  value 8B  max_entries 2"
    assert "2: array  name fw.bss  flags 0x400" in lines and "\tsection .bss" in lines
    out = tmp_path / "o.json"
    jitnic("interp", obj, "--pcap", cap, "--maps-in", maps_in, "--maps-out", out)
    dump = json.loads(jitnic("maps", obj, "--dump", out, "--json").stdout)
    raw = json.loads(out.read_text())["maps"]
    # typed by BTF: u32 keys and u64 values as numbers, .bss as {variable: value}
    assert dump["fw.bss"] == [{"key": 0, "value": {"seen": int.from_bytes(
        bytes.fromhex(raw["fw.bss"]["entries"][0]["value"]), "little")}}]
    assert dump["deny"][0]["key"] == int.from_bytes(bytes.fromhex(
        raw["deny"]["entries"][0]["key"]), "little")
    assert dump["stats"][0]["values"][0] == {"cpu": 0, "value": int.from_bytes(
        bytes.fromhex(raw["stats"]["entries"][0]["values"][0]), "little")}
