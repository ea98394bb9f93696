"""tools/survey on small programs of our own: each outcome the survey reports (agrees, differs,
host only, blocked, no build) comes out for a program that has it, with the reason. The kernel
sources themselves are not needed here (the survey's build of them is `python -m tools.survey`)."""
from __future__ import annotations

import shutil

import pytest

from jit.ebpf import elf
from jit.ebpf.kernel import kernel_available
from tools.survey import run
from tools.survey.build import Built, build_one, first_error
from tools.survey.report import blocker, markdown

COUNTER = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __type(key, __u32); __type(value, __u64);
         __uint(max_entries, 2); } hits SEC(".maps");
SEC("xdp") int counter(struct xdp_md *ctx)
{
	__u32 k = (ctx->data_end - ctx->data) > 100;
	__u64 *v = bpf_map_lookup_elem(&hits, &k);
	if (v)
		*v += 1;
	return k ? XDP_DROP : XDP_PASS;
}
"""
STACKID = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("xdp") int stackid(struct xdp_md *ctx) { return bpf_get_stackid(ctx, 0, 0) & 3; }
char _license[] SEC("license") = "GPL";
"""
# Reads a context field the verifier refuses for plain XDP: the interpreter runs it, the kernel not.
EGRESS = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("xdp") int egress(struct xdp_md *ctx) { return ctx->egress_ifindex ? XDP_DROP : XDP_PASS; }
"""
# The time differs between the two sides, so the map values are not compared (the keys are).
CLOCK = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __type(key, __u32); __type(value, __u64);
         __uint(max_entries, 1); } last SEC(".maps");
SEC("xdp") int clock(struct xdp_md *ctx)
{
	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem(&last, &k);
	if (v)
		*v = bpf_ktime_get_ns();
	return XDP_PASS;
}
char _license[] SEC("license") = "GPL";
"""


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    if shutil.which("clang") is None:
        pytest.skip("clang not installed")
    root = tmp_path_factory.mktemp("survey")
    cmds = {"uapi": ["clang", "-O2", "-g", "-target", "bpf", "-Werror=implicit-function-declaration",
                     f"-I/usr/include/{_arch()}-linux-gnu"]}
    out = {}
    for name, text in {"counter": COUNTER, "stackid": STACKID, "egress": EGRESS, "clock": CLOCK,
                       "broken": "int broken(void) { return undeclared(); }"}.items():
        src = root / f"{name}.c"
        src.write_text(text)
        out[name] = build_one(src, root, cmds, root)
    return out


def _arch() -> str:
    import platform
    return platform.machine()


def _survey(built: Built, kernel: bool):
    obj = elf.load_object(built.obj)
    prog = next(iter(obj.programs.values()))
    return run.survey_program(built, obj, prog, run.packet_mix(60, 3), kernel)


def test_build_reports_clang_error(compiled):
    broken = compiled["broken"]
    assert broken.obj is None and "undeclared" in broken.error
    assert first_error("x.c:1:2: error: boom\nmore") == "boom"


def test_outcomes(compiled):
    ok, reason = kernel_available()
    if not ok:
        pytest.skip(f"kernel oracle unavailable: {reason}")
    row = _survey(compiled["counter"], True)
    assert (row.status, row.maps) == ("agrees", ["percpu_array"]) and row.packets > 40
    row = _survey(compiled["stackid"], True)
    assert row.status == "blocked" and "bpf_get_stackid (27)" in row.reason
    assert blocker(row.reason) == "helper bpf_get_stackid (27) not modelled"
    row = _survey(compiled["egress"], True)
    assert row.status == "host only" and "verifier" in row.reason
    row = _survey(compiled["clock"], True)
    assert row.status == "agrees" and "bpf_ktime_get_ns (5)" in row.reason


def test_differences_are_reported(compiled, monkeypatch):
    """A wrong interpreter result is a `differs` row naming the packet."""
    ok, reason = kernel_available()
    if not ok:
        pytest.skip(f"kernel oracle unavailable: {reason}")
    real_run = run.host.Session.run

    def off_by_one(self, packet):
        action, out = real_run(self, packet)
        return (action ^ 1 if len(packet) == 60 else action), out
    monkeypatch.setattr(run.host.Session, "run", off_by_one)
    mix = [p for p in run.packet_mix(60, 3) if len(p) != 60] + [bytes(60)]
    built = compiled["counter"]
    obj = elf.load_object(built.obj)
    row = run.survey_program(built, obj, obj.programs["counter"], mix, True)
    assert row.status == "differs" and f"packet #{len(mix) - 1}" in row.reason


def test_markdown_tallies(compiled):
    rows = [run.Row("a.c", "xdp/a", "agrees"), run.Row("b.c", "xdp/b", "blocked",
                                                       "loader: CO-RE relocation in b"),
            run.Row("c.c", "xdp/c", "blocked", "loader: CO-RE relocation in c")]
    text = markdown(rows, 200, 1)
    assert "1 agrees, 0 differs, 0 host only, 2 blocked, 0 no build (3 programs)" in text
    assert "- 2 × CO-RE relocation (loader)" in text
