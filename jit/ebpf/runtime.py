"""A loaded XDP program with its maps: the interpreter plus the state that persists across packets.

`XdpRuntime(linked)` creates the program's maps (jit/ebpf/maps/, global data with its initial
bytes), optionally fills them (`maps_in`, from jit/ebpf/maps/contents.py), and `run(packet)` runs
one frame with the helper table (jit/ebpf/helpers.py): map writes stay for the next frame,
`contents()` reads every map back. A program without maps or helper calls runs exactly as
`interp.run_xdp` would (`stateful` is False), so callers can keep the fast path for it.

Determinism: `bpf_ktime_get_ns` returns the `timestamp_ns` passed to `run` (the capture time),
`bpf_get_prandom_u32` draws from `random.Random(seed)`, the program runs on CPU `cpu` (0, the
host) of `n_cpus` (2: host and NIC, DESIGN.md §8).

A frame on which the program faults (an InterpError: something the kernel's verifier would have
refused) keeps the map updates it made before the fault; the kernel never gets there.

Tail calls: `bpf_tail_call` ends the running program and starts the one its prog_array slot names,
linked from the same object, on the same context, packet and maps, with a fresh stack; at most 33
in a run. `insns` then counts the instructions of the last program only (the helper leaves the
others' counts behind) and `tail_calls` lists the programs entered.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Mapping, Sequence

from jit.ebpf import elf, interp, isa
from jit.ebpf.helpers import HELPERS, TailCall, packet_bytes
from jit.ebpf.maps import contents as contents_mod
from jit.ebpf.maps.contents import Entry, MapContents
from jit.ebpf.maps.mapset import N_CPUS, MapSet
from jit.ebpf.memmap import CTX_BASE, STACK_BASE, STACK_SIZE

HOST_CPU = 0


@dataclass(frozen=True)
class RunResult:
    action: int                      # r0 truncated to 32 bits
    packet: bytes                    # bytes between data and data_end after the run
    insns: int                       # instructions executed (the last program's, after tail calls)
    events: tuple = ()               # trace_printk / perf_event_output / ringbuf_output records
    redirect: dict | None = None     # bpf_redirect / bpf_redirect_map target, if one was set
    tail_calls: tuple[str, ...] = ()  # programs entered by bpf_tail_call, in order


class RunEnv:
    """What helpers see of one run (`mem.env`)."""
    __slots__ = ("maps", "cpu", "now_ns", "rng", "events", "redirect", "tail_calls", "fib",
                 "reserved")

    def __init__(self, maps: MapSet, cpu: int, now_ns: int, rng: random.Random, fib=None):
        self.maps, self.cpu, self.now_ns, self.rng, self.fib = maps, cpu, now_ns, rng, fib
        self.reserved: dict[int, tuple] = {}    # ringbuf record address -> (map, size)
        self.events: list[dict] = []
        self.redirect: dict | None = None
        self.tail_calls = 0


def is_stateful(insns: Sequence[isa.Insn]) -> bool:
    """Whether a program needs the runtime: it loads a map or calls a helper."""
    for insn in insns:
        if insn.opcode == isa.LD_IMM64 and insn.src != 0:
            return True
        if insn.opcode == 0x85 and insn.src == 0:
            return True
        if insn.opcode == (isa.BPF_JMP | isa.BPF_X | isa.BPF_CALL):
            return True
    return False


class XdpRuntime:
    def __init__(self, program: elf.LinkedProgram | Sequence[isa.Insn], *,
                 maps_in: Mapping[str, MapContents] | None = None, seed: int = 0,
                 n_cpus: int = N_CPUS, cpu: int = HOST_CPU,
                 budget: int = interp.DEFAULT_BUDGET,
                 maps: Mapping[str, elf.MapDef] | None = None, fib=None):
        """`program`: a linked program (its maps come with it) or bare instructions, whose map
        fds then index `maps` (definitions in fd order). `fib`: the forwarding table of
        bpf_fib_lookup (jit.ebpf.fib.Fib), if the program needs one."""
        self.fib = fib
        if isinstance(program, elf.LinkedProgram):
            self.linked: elf.LinkedProgram | None = program
            self.insns = list(program.insns)
            defs = program.maps
        else:
            self.linked, self.insns, defs = None, list(program), dict(maps or {})
        self.maps = MapSet(contents_mod.sized(defs, maps_in), n_cpus)
        for d in defs.values():             # static `.values = {...}` first, --maps-in may override
            for index, kind, name in d.initial_entries:
                self.maps.maps[d.name].load(Entry(index.to_bytes(4, "little"), **{kind: name}))
        if maps_in:
            self.maps.fill(maps_in)
        self.cpu, self.budget = cpu, budget
        self.now_ns = 0
        self.rng = random.Random(seed)
        self.stateful = is_stateful(self.insns)
        self._pages = {}
        for m in self.maps.by_fd:
            if m.buf:
                region = interp.Region(f"map {m.name}", m.base, m.buf, 0, len(m.buf),
                                       writable=not (m.frozen or m.readonly_values))
                self._pages[m.base >> interp.PAGE_SHIFT] = region
        self._compiled = {None: interp.compile_program(self.insns)}

    def _program(self, name: str) -> interp.CompiledProgram:
        prog = self._compiled.get(name)
        if prog is None:
            if self.linked is None:
                raise interp.InterpError(None, f"tail call to {name!r} without an object file")
            other = elf.link_program(self.linked.object, name)
            if list(other.maps) != list(self.maps.maps):
                raise interp.InterpError(None, f"tail call to {name!r}: different map set")
            prog = self._compiled[name] = interp.compile_program(other.insns)
        return prog

    def run(self, packet: bytes, *, timestamp_ns: int | None = None, ingress_ifindex: int = 1,
            rx_queue_index: int = 0) -> RunResult:
        """Run one frame; `timestamp_ns` (default: `self.now_ns`, which a capture reader may set
        frame by frame) is what bpf_ktime_get_ns returns."""
        mem = interp.xdp_memory(packet, ingress_ifindex=ingress_ifindex,
                                rx_queue_index=rx_queue_index)
        mem._pages.update(self._pages)
        now = self.now_ns if timestamp_ns is None else timestamp_ns
        env = mem.env = RunEnv(self.maps, self.cpu, now, self.rng, self.fib)
        prog = self._compiled[None]
        entered: list[str] = []
        while True:
            regs = [0] * isa.N_REGS
            regs[1], regs[10] = CTX_BASE, STACK_BASE + STACK_SIZE
            try:
                r0, count = prog.execute(mem, regs, budget=self.budget, helpers=HELPERS)
                break
            except TailCall as tc:
                entered.append(tc.program)
                prog = self._program(tc.program)
                while mem.depth > 1:
                    mem.leave_frame()
        return RunResult(r0 & isa.MASK32, packet_bytes(mem), count, tuple(env.events),
                         env.redirect, tuple(entered))

    def contents(self) -> dict[str, MapContents]:
        return self.maps.contents()

    def timed(self, records):
        """Frames of capture records (`pcap.read_records`), setting `now_ns` to each one's
        timestamp as it is handed out: the clock of bpf_ktime_get_ns in streamed runs."""
        for rec in records:
            self.now_ns = rec.ts_ns
            yield rec.data


def load_runtime(path, name: str | None = None, **kwargs) -> XdpRuntime:
    """Load, link and set up one program of an object file (`elf.load_linked`)."""
    return XdpRuntime(elf.load_linked(path, name), **kwargs)
