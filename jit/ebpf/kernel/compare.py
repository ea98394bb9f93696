"""How the interpreter's results are compared with the kernel's — one rule set for the differential
tests and the survey.

Per packet: the action always; the output bytes unless the action is XDP_DROP or XDP_ABORTED (the
kernel hands back whatever the buffer holds). Redirect targets are not compared: BPF_PROG_TEST_RUN
without live frames returns XDP_REDIRECT but never performs the redirect, so the kernel shows no
target (the interpreter's targets are checked by its own tests).

Final maps: every map of the object, per-CPU values summed over CPUs
(`contents.summed`: the interpreter has a host and a NIC slot, the kernel's test runs all happen on
one CPU), entries compared as sets of (key, value) — the kernel iterates hashes in its own order.

Helpers whose kernel result depends on the machine (`MACHINE_DEPENDENT`): the time, random numbers,
jiffies, the NUMA node. The interpreter makes them deterministic (capture timestamps, a seeded
generator); the kernel cannot be made to agree, so for a program that calls one the map *values*
are not compared, only which keys exist (the values may hold a time or a random number; arrays,
whose keys are all there, are then not compared at all), and the reason says which helper. Per-packet action and bytes are still compared: a program whose
verdict depends on the clock then shows up as different, which is the truth. bpf_get_smp_processor_id
is not in the list: the oracle runs every test on CPU 0 and the interpreter's host CPU is 0.
bpf_fib_lookup is not in the list either: the oracle runs in a private network namespace
(`netns.PrivateNetns`) whose FIB holds only what it is given, so the kernel answers from the same
FIB the interpreter is given (an empty one unless routes are passed).
"""
from __future__ import annotations

from typing import Mapping

from jit.ebpf import isa
from jit.ebpf.helper_ids import helper_name
from jit.ebpf.maps import contents as mc

MACHINE_DEPENDENT = {5: "ktime_get_ns", 7: "get_prandom_u32", 42: "get_numa_node_id",
                     118: "jiffies64", 125: "ktime_get_boot_ns", 160: "ktime_get_coarse_ns",
                     208: "ktime_get_tai_ns"}
OP_CALL = isa.BPF_JMP | isa.BPF_CALL


def machine_dependent_calls(insns) -> list[str]:
    """Names of the machine-dependent helpers a program calls (`bpf_ktime_get_ns (5)`, ...)."""
    ids = sorted({i.imm for i in insns if i.opcode == OP_CALL and i.src == 0
                  and i.imm in MACHINE_DEPENDENT})
    return [helper_name(h) for h in ids]


def _rows(content: mc.MapContents, with_values: bool) -> list[tuple]:
    return sorted((e.key, e.value if with_values else None, e.program, e.map)
                  for e in content.entries)


def map_differences(ours: Mapping[str, mc.MapContents], kernel: Mapping[str, mc.MapContents],
                    values: bool = True, limit: int = 3) -> list[str]:
    """Readable differences between two map snapshots (interpreter, kernel); [] if they agree.
    `values=False` compares the keys only (see the module docstring)."""
    a, b = mc.summed(ours), mc.summed(kernel)
    out = []
    for name in sorted(set(a) | set(b)):
        if name not in a or name not in b:
            out.append(f"map {name}: only in the {'kernel' if name in b else 'interpreter'}")
            continue
        if not values and a[name].type in mc.ARRAY_TYPES:
            continue                 # an array's keys are all there: nothing left to compare
        ra, rb = _rows(a[name], values), _rows(b[name], values)
        if ra == rb:
            continue
        only_a = [r for r in ra if r not in rb]
        only_b = [r for r in rb if r not in ra]
        out.append(f"map {name}: interpreter has {_fmt(only_a)}; kernel has {_fmt(only_b)}")
        if len(out) >= limit:
            break
    return out


def _fmt(rows: list[tuple], shown: int = 2) -> str:
    if not rows:
        return "nothing else"
    parts = []
    for key, value, program, inner in rows[:shown]:
        target = value.hex() if value is not None else program or inner or "(key)"
        parts.append(f"{key.hex()} -> {target}")
    more = f" (+{len(rows) - shown} more)" if len(rows) > shown else ""
    return ", ".join(parts) + more
