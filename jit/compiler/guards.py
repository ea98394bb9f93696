"""Guards: the part of a path's condition that stays inside the trace (trace format v2, docs/abi.md).

A guard is a forward conditional jump to the trace's GUARD EXIT, the slot just past its last slot
(`len(trace)` in slots): taking it means "this frame does not follow the recorded path", and the
NIC discards the attempt (window copy and map write buffer) and tries the next matching entry or
misses. The tracer orients every guard so that the recorded path falls through:

    recorded taken  `jeq a, b`   ->  `jne a, b, <guard exit>`
    recorded not taken           ->  the jump itself, to <guard exit>
    recorded taken  `jset a, b`  ->  `jset a, b, +1; ja <guard exit>`   (no inverse of jset)

A tail call is a guard too: `mov32 r4, <expected prog_array slot content>; call 12` (the executor
fails it when the slot holds something else).

While tracing, guard jumps are placeholders (offset 0); `place_guards` fixes their offsets once the
trace's length is known. Each guard records why it exists, for `jitnic trace` and the docs.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

from jit.ebpf import isa
from jit.ebpf.isa import Insn

# inverse of each conditional jump op (JSET has none)
_INVERSE = {isa.BPF_JEQ: isa.BPF_JNE, isa.BPF_JNE: isa.BPF_JEQ,
            isa.BPF_JGT: isa.BPF_JLE, isa.BPF_JLE: isa.BPF_JGT,
            isa.BPF_JGE: isa.BPF_JLT, isa.BPF_JLT: isa.BPF_JGE,
            isa.BPF_JSGT: isa.BPF_JSLE, isa.BPF_JSLE: isa.BPF_JSGT,
            isa.BPF_JSGE: isa.BPF_JSLT, isa.BPF_JSLT: isa.BPF_JSGE}

# why a guard exists (the categories `jitnic trace` prints)
LOOKUP_RESULT = "lookup result"
MAP_VALUE = "map value"
HELPER_RESULT = "helper result"
TAIL_CALL_SLOT = "tail-call slot"
RELATION = "relation between"          # followed by the fields: "relation between pkt[a:b] and len"
ARITHMETIC = "arithmetic on fields"

TAIL_CALL_ID = 12


@dataclass(frozen=True)
class Guard:
    """One guard of a trace: `index` is the position of its jump (or of the tail call's `call`) in
    the trace's instruction list, `slot` its slot; `why` the category and detail; `text` the
    condition the recorded path needs (what must hold for the frame to stay on it)."""
    index: int
    slot: int
    why: str
    text: str


def guard_jumps(insn: Insn, taken: bool) -> list[Insn]:
    """The guard instructions for the conditional jump `insn` whose recorded outcome was `taken`:
    jumps to the guard exit (offset placeholder 0) when the frame leaves the recorded path."""
    op = insn.opcode & 0xF0
    if op == isa.BPF_JSET and taken:
        return [replace(insn, off=1), Insn(isa.BPF_JMP | isa.BPF_JA)]
    if taken:
        op = _INVERSE[op]
    return [replace(insn, opcode=(insn.opcode & 0x0F) | op, off=0)]


def tail_call_guard(expected: int) -> list[Insn]:
    """`mov32 r4, expected; call bpf_tail_call`: the slot must hold `expected` (a program id or
    TAIL_CALL_EMPTY) for the frame to stay on the recorded path."""
    return [isa.mov32_imm(4, expected & 0xFFFF_FFFF), Insn(isa.BPF_JMP | isa.BPF_CALL, imm=TAIL_CALL_ID)]


def exits_to_guard_exit(insn: Insn, pc: int, trace_slots: int) -> bool:
    """Whether the jump `insn` at slot `pc` is a guard (targets the guard exit)."""
    return isa.jump_target(insn, pc) == trace_slots


def place_guards(trace: list[Insn], jumps: Sequence[int]) -> list[Insn]:
    """`trace` with the guard jumps at indexes `jumps` aimed at the guard exit. A JSET-taken pair
    (`jset +1; ja`) keeps its `+1` and aims its `ja`."""
    pcs = isa.slot_pcs(trace)
    end = pcs[-1] + trace[-1].slots if trace else 0
    out = list(trace)
    for i in jumps:
        insn = out[i]
        out[i] = replace(insn, off=end - pcs[i] - 1)
    return out


# While the optimizer rewrites a trace, guard-exit jumps carry this offset instead of a distance
# (a jump to itself, which no trace contains): passes may delete or replace instructions around
# them, and `aim_tagged` aims them at the new guard exit afterwards.
TAGGED = -1


def tag_guard_exits(trace: Sequence[Insn]) -> list[Insn]:
    """`trace` with every jump to the guard exit tagged (offset TAGGED)."""
    pcs = isa.slot_pcs(trace)
    end = pcs[-1] + trace[-1].slots if trace else 0
    return [replace(insn, off=TAGGED) if isa.spec_of(insn) is not None
            and isa.spec_of(insn).kind in (isa.JA, isa.JCOND) and isa.jump_target(insn, pc) == end
            else insn for pc, insn in zip(pcs, trace)]


def aim_tagged(trace: Sequence[Insn]) -> list[Insn]:
    """The tagged jumps of `trace` aimed at its guard exit."""
    trace = list(trace)
    return place_guards(trace, [i for i, insn in enumerate(trace) if is_jump(insn)
                                and insn.off == TAGGED])


def is_jump(insn: Insn) -> bool:
    spec = isa.spec_of(insn)
    return spec is not None and spec.kind in (isa.JA, isa.JCOND)


def is_guard_trace(trace: Sequence[Insn]) -> bool:
    """Whether a trace contains jumps or calls (format v2) rather than straight-line code only."""
    for insn in trace:
        spec = isa.spec_of(insn)
        if spec is not None and spec.kind in (isa.JA, isa.JCOND, isa.CALL):
            return True
    return False
