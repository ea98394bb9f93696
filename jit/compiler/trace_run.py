"""Run a v2 trace (guards, helper calls, tail-call guards) with the reference interpreter's
semantics, on the host: what the tests check traces with, and how the host's trace library tells
whether a known trace's guards hold for a frame.

The trace runs as an eBPF program with one extra instruction at its guard exit, a call to a
sentinel helper that reports the guard failure; `call bpf_tail_call` is the tail-call guard
(`r4` holds the expected slot content, jit/compiler/guards.py). Map helpers, atomics and value
accesses act on the maps of the `state` given (a jit.ebpf.runtime.XdpRuntime, or the tracer's
shadow): the caller passes a copy when the run must not change the real maps. A guard failure
leaves those maps as the trace left them up to the failure; the NIC's write buffer would discard
them, so callers that care run on a copy.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from jit.ebpf import interp, isa
from jit.ebpf.helpers import HELPERS, MAX_TAIL_CALLS
from jit.ebpf.isa import Insn
from jit.ebpf.maps.base import ENOENT
from jit.ebpf.maps.progarray import ProgArrayMap
from jit.ebpf.runtime import RunEnv
from jit.nic.encoding import TAIL_CALL_EMPTY
from jit.nic.residency import program_id
from jit.compiler.guards import TAIL_CALL_ID

_SENTINEL = -1          # helper id of the call placed at the guard exit
M64 = (1 << 64) - 1


class GuardFailed(Exception):
    """A guard of the trace did not hold."""


@dataclass(frozen=True)
class TraceRun:
    guard_failed: bool
    action: int | None          # r0[31:0] when the trace reached exit
    packet: bytes
    redirect: dict | None = None


def _guard_exit(mem, pc, r1, r2, r3, r4, r5):
    raise GuardFailed(pc)


def _tail_call_guard(obj):
    def check(mem, pc, r1, r2, r3, r4, r5):
        env = mem.env
        m = env.maps.at_handle(r2) if env is not None else None
        if not isinstance(m, ProgArrayMap):
            raise interp.InterpError(pc, "tail-call guard: r2 is not a prog_array")
        prog = m.program(r3 & 0xFFFF_FFFF)
        if env.tail_calls >= MAX_TAIL_CALLS:
            prog = None
        content = TAIL_CALL_EMPTY if prog is None else program_id(obj, prog)
        if content != r4 & 0xFFFF_FFFF:
            raise GuardFailed(pc)
        if prog is None:
            return (-ENOENT) & M64
        env.tail_calls += 1
        return 0
    return check


def run_trace(trace: Sequence[Insn], packet: bytes, state=None, *,
              timestamp_ns: int | None = None) -> TraceRun:
    """Run `trace` on `packet` (against `state`'s maps, CPU, clock and generator when given).
    Raises interp.InterpError when the trace faults."""
    code = list(trace) + [Insn(isa.BPF_JMP | isa.BPF_CALL, imm=_SENTINEL)]
    prog = interp.compile_program(code)
    mem = interp.xdp_memory(packet)
    helpers = dict(HELPERS)
    helpers[_SENTINEL] = _guard_exit
    if state is not None:
        mem._pages.update(state._pages)
        now = state.now_ns if timestamp_ns is None and hasattr(state, "now_ns") else (timestamp_ns or 0)
        mem.env = RunEnv(state.maps, state.cpu, now, state.rng, state.fib)
        if state.linked is not None:
            helpers[TAIL_CALL_ID] = _tail_call_guard(state.linked.object)
    regs = [0] * isa.N_REGS
    regs[1], regs[10] = interp.CTX_BASE, interp.STACK_BASE + interp.STACK_SIZE
    try:
        r0, _count = prog.execute(mem, regs, helpers=helpers)
    except GuardFailed:
        return TraceRun(True, None, bytes(packet))
    return TraceRun(False, r0 & 0xFFFF_FFFF, interp.packet_bytes(mem),
                    mem.env.redirect if mem.env is not None else None)
