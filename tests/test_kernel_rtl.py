"""`jitnic run --engine rtl` against the Linux kernel (issue 10, "Done when"): every shipped map
program, from its shipped map contents, on a small seeded capture, through the RTL engine (the
NIC's maps loaded, kept in step and read back over the bus; trace format v2 with the RTL helper
set) and through BPF_PROG_TEST_RUN (jit/ebpf/kernel, docs/kernel.md) on the same frames: the same
action on every frame, the same bytes unless the action is DROP or ABORTED, and the same final
maps (per-CPU values summed: the kernel ran everything on one CPU, JITNIC on two).

Lean by design (each program is one Icarus simulation): a few dozen frames per program; the
interpreter-vs-kernel test (tests/test_kernel_diff.py) runs 1,000 frames per program."""
from __future__ import annotations

import json
import subprocess
import sys
import zlib

import pytest

from jit.ebpf.elf import load_linked
from jit.ebpf.kernel import ETH_HLEN, kernel_available
from jit.ebpf.kernel.compare import map_differences
from jit.ebpf.kernel.netns import available as netns_available
from jit.ebpf.kernel.objects import KernelObject, devmap_ifindexes
from jit.ebpf.maps import contents as mc
from jit.ebpf.memmap import XDP_ABORTED, XDP_DROP, action_name
from jit.paths import MAP_PROGRAM_NAMES, program_maps_file, program_object
from jit.traffic.pcap import write_packets
from packets import varied_packets
from test_kernel_diff import MAP_WRITERS

pytestmark = [pytest.mark.kernel, pytest.mark.rtl]

FRAMES = 40


@pytest.fixture(scope="module")
def kernel():
    ok, reason = kernel_available()
    if not ok:
        pytest.skip(f"kernel oracle unavailable: {reason}")


@pytest.mark.parametrize("name", MAP_PROGRAM_NAMES)
def test_rtl_engine_agrees_with_kernel(kernel, tmp_path, name):
    obj = program_object(name)
    if not obj.exists():
        pytest.fail(f"{obj} missing: run `make programs` first")
    linked = load_linked(obj, name)
    maps_file = program_maps_file(name)
    contents = mc.read_file(maps_file, linked.maps) if maps_file.exists() else {}
    if devmap_ifindexes(linked, contents) and not netns_available()[0]:
        pytest.skip(f"{name}: its devmap names ifindexes that only the oracle's private network "
                    f"namespace has, and none can be made here: {netns_available()[1]}")
    # the kernel refuses to test-run frames shorter than an Ethernet header: not in the capture
    frames = [f for f in varied_packets(name, FRAMES, 0x5EED ^ zlib.crc32(name.encode()))
              if len(f) >= ETH_HLEN]
    capture, maps_out = tmp_path / "frames.pcap", tmp_path / "maps.json"
    write_packets(str(capture), frames)
    cmd = [sys.executable, "-m", "jit", "run", str(obj), "--section", name, "--pcap", str(capture),
           "--engine", "rtl", "--entries", "4", "--jsonl", "--maps-out", str(maps_out)]
    if maps_file.exists():
        cmd += ["--maps-in", str(maps_file)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    records, summary = [json.loads(x) for x in lines[:-1]], json.loads(lines[-1])
    assert [r["index"] for r in records] == list(range(len(frames)))

    with KernelObject(linked, contents) as kobj, kobj.batch():
        initial = kobj.dump()
        kernel_out = [kobj.run(f) for f in frames]
        final = kobj.dump()

    differ = []
    for r, frame, (action, out) in zip(records, frames, kernel_out):
        if r["action"] != action:
            differ.append(f"#{r['index']} ({r['where']}) action rtl {r['action_name']} kernel "
                          f"{action_name(action)}")
        elif action not in (XDP_DROP, XDP_ABORTED) and bytes.fromhex(r["out_hex"]) != out:
            differ.append(f"#{r['index']} ({r['where']}) {action_name(action)} bytes differ: rtl "
                          f"{r['out_hex']} kernel {out.hex()}")
    assert not differ, f"{name}: {len(differ)}/{len(frames)} frames differ: " + " || ".join(differ[:3])
    diff = map_differences(mc.read_file(maps_out, linked.maps), final)
    assert not diff, f"{name}: the RTL engine's final maps differ from the kernel's: " + " || ".join(diff)
    if name in MAP_WRITERS:        # the comparison saw real updates
        assert map_differences(initial, final), f"{name}: no map changed over the run"
    # the NIC did part of the work (else this compares the host's interpreter again)
    assert summary["hits"] > 0 and sum(r["where"] == "nic" for r in records) == summary["hits"], summary
