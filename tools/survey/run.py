"""Run every surveyed program under the reference interpreter and in the kernel oracle on the same
seeded packets, starting from empty maps (global data at its initial bytes), and say per program:

  agrees     every packet's action (and bytes, unless dropped/aborted) and the final contents of every
             map (per-CPU values summed) are the kernel's
  differs    the interpreter runs it but some packet or map differs (the first difference is given)
  host only  the interpreter runs it; the kernel refuses it (verifier log tail), so no comparison
  blocked    the loader or the interpreter cannot run it: the first reason (unsupported helper, map
             type, instruction, CO-RE relocation, ...)
  no build   clang could not compile the source here (its first error)
"""
from __future__ import annotations

import contextlib
import logging
from collections import Counter
from dataclasses import dataclass, field

from jit import JitnicError
from jit.ebpf import elf
from jit.ebpf.fib import Fib
from jit.ebpf.maps import contents as mc
from jit.ebpf.kernel import KernelError, VerifierError, kernel_available
from jit.ebpf.kernel.compare import machine_dependent_calls, map_differences
from jit.ebpf.kernel.objects import KernelObject
from jit.ebpf.memmap import XDP_ABORTED, XDP_DROP, action_name
from jit.traffic import workloads
from tools.survey.build import Built
from tools.survey import host

LOG = logging.getLogger(__name__)
ETH_HLEN = 14


@dataclass
class Row:
    source: str
    program: str = ""              # section/function
    status: str = ""               # agrees / differs / host only / blocked / no build
    reason: str = ""
    insns: int = 0
    packets: int = 0               # packets both ran
    maps: list[str] = field(default_factory=list)   # map types
    actions: Counter = field(default_factory=Counter)   # action name -> packets (interpreter)


# Corner cases of the malformed workload, less `oversize` (jumbo frames: larger than a test run's
# page and than the interpreter's packet buffer, so neither side would run them).
CORNER_KINDS = ("runt,bad_ip_version,ipv4_bad_ihl,ipv4_options,fragment,truncated_l4,bad_ip_length,"
                "wrong_ethertype,vlan_truncated,vlan_odd")


# The forwarding table both sides get, for programs that call bpf_fib_lookup (jit/ebpf/fib.py format):
# default routes for both families through a gateway on ifindex 2 whose MAC is known, and a local
# /8 on ifindex 3 without neighbours; ingress (ifindex 1, loopback in the kernel: MAC all zeros,
# MTU 65536) forwards.
SURVEY_FIB = {
    "interfaces": [{"ifindex": 1, "mac": "00:00:00:00:00:00", "mtu": 65536},
                   {"ifindex": 2, "mac": "02:00:00:00:00:02"},
                   {"ifindex": 3, "mac": "02:00:00:00:00:03", "mtu": 1400}],
    "routes": [{"prefix": "0.0.0.0/0", "ifindex": 2, "gateway": "192.0.2.1", "metric": 10},
               {"prefix": "10.0.0.0/8", "ifindex": 3, "metric": 1},
               {"prefix": "::/0", "ifindex": 2, "gateway": "2001:db8::1", "metric": 10}],
    "neighbors": [{"ip": "192.0.2.1", "mac": "02:00:00:00:01:01"},
                  {"ip": "2001:db8::1", "mac": "02:00:00:00:01:02"}],
}


# max_entries for maps an object leaves at 0 for its loader (the samples' user code sets them, e.g.
# to the number of CPUs); both sides get the same, through the map-contents file's "max_entries".
LOADER_SIZED_ENTRIES = 64
EVENT_MAPS = ("perf_event_array", "ringbuf")


def loader_sizes(linked) -> dict:
    """Map contents that only size the maps the object leaves at max_entries 0."""
    doc = {"maps": {name: {"max_entries": LOADER_SIZED_ENTRIES, "entries": []}
                    for name, d in linked.maps.items()
                    if d.max_entries == 0 and d.type_name not in EVENT_MAPS}}
    return mc.parse(doc, linked.maps, "survey sizes") if doc["maps"] else {}


def packet_mix(count: int, seed: int) -> list[bytes]:
    """Half distinct header shapes (every path class of the workload generator), half malformed
    and corner-case frames. Frames shorter than an Ethernet header are left out: the kernel refuses
    to test-run them, and both sides must see the same frames for their maps to agree."""
    half = count // 2
    frames = (list(workloads.generate("adversarial_rr", half, seed, k=64))
              + list(workloads.generate("malformed", count - half, seed, kinds=CORNER_KINDS)))
    return [f for f in frames if len(f) >= ETH_HLEN]


def survey_program(built: Built, obj, prog, packets: list[bytes], use_kernel: bool) -> Row:
    row = Row(built.source, f"{prog.section}/{prog.name}")
    try:
        linked = elf.link_program(obj, f"{prog.section}/{prog.name}")
    except JitnicError as exc:
        row.status, row.reason = "blocked", f"loader: {_short(exc)}"
        return row
    row.insns = len(linked.insns)
    row.maps = sorted({d.type_name for d in linked.maps.values()})
    fib = Fib.from_json(SURVEY_FIB)
    try:
        sizes = loader_sizes(linked)
        session = host.Session(linked, fib, sizes)
    except JitnicError as exc:
        row.status, row.reason = "blocked", f"interpreter: {_short(exc)}"
        return row
    kobj = None
    kernel_reason = ""
    if use_kernel:
        try:
            kobj = KernelObject(linked, sizes, fib=fib)
        except VerifierError as exc:
            lines = [ln for ln in exc.log.splitlines() if ln.strip()]
            kernel_reason = f"verifier: {_short(lines[-2] if len(lines) > 1 else exc)}"
        except KernelError as exc:
            kernel_reason = _short(exc)
    try:
        with kobj.batch() if kobj is not None else contextlib.nullcontext():
            return _compare(row, session, kobj, kernel_reason, packets)
    finally:
        if kobj is not None:
            kobj.close()


def _compare(row: Row, session, kobj, kernel_reason: str, packets: list[bytes]) -> Row:
    for i, pkt in enumerate(packets):
        try:
            action, out = session.run(pkt)
        except JitnicError as exc:
            row.status, row.reason = "blocked", f"interpreter, packet #{i}: {_short(exc)}"
            return row
        row.actions[action_name(action).removeprefix("XDP_")] += 1
        if kobj is None:
            continue
        try:
            k_action, k_out = kobj.run(pkt)
        except KernelError as exc:
            row.status, row.reason = "host only", f"kernel test run: {_short(exc)}"
            return row
        row.packets += 1
        if k_action != action:
            row.status = "differs"
            row.reason = (f"packet #{i}: interpreter {action_name(action)}, kernel "
                          f"{action_name(k_action)}")
            return row
        if action not in (XDP_DROP, XDP_ABORTED) and k_out != out:
            row.status, row.reason = "differs", f"packet #{i}: output bytes differ"
            return row
    if kobj is None:
        row.status = "host only"
        row.reason = f"kernel: {kernel_reason}" if kernel_reason else "kernel oracle unavailable"
        return row
    nondet = machine_dependent_calls(session.runtime.insns)
    diff = map_differences(session.maps(), kobj.dump(), values=not nondet, limit=1)
    if diff:
        row.status, row.reason = "differs", diff[0]
    else:
        row.status = "agrees"
        if nondet:
            row.reason = f"map values not compared: calls {', '.join(nondet)}"
    return row


def _short(exc: Exception, limit: int = 160) -> str:
    text = " ".join(str(exc).split())
    if text.startswith("/"):             # "<object path>: reason": the table names the source
        text = text.split(": ", 1)[-1]
    return text if len(text) <= limit else text[:limit - 3] + "..."


def survey(built: list[Built], count: int = 200, seed: int = 1) -> list[Row]:
    packets = packet_mix(count, seed)
    use_kernel = kernel_available()[0]
    rows: list[Row] = []
    for b in built:
        if b.obj is None:
            rows.append(Row(b.source, status="no build", reason=f"clang: {b.error}"))
            continue
        try:
            obj = elf.load_object(b.obj)
        except JitnicError as exc:
            rows.append(Row(b.source, status="blocked", reason=f"loader: {_short(exc)}"))
            continue
        progs = [p for p in obj.programs.values() if elf.is_xdp_section(p.section)]
        for prog in progs:
            LOG.info("%s %s/%s", b.source, prog.section, prog.name)
            rows.append(survey_program(b, obj, prog, packets, use_kernel))
    return rows
