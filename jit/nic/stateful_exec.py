"""The executor for traces in format v2 (docs/abi.md): forward jumps and the guard exit, calls to
the NIC helper set, map value memory, atomics, tail-call guards -- run as a transaction on the
NIC's state (jit/nic/nic_state.py).

Why the interpreter's translator: a v2 trace is an ordinary eBPF program whose jumps go forward,
so `jit.ebpf.interp.compile_program` runs it with the reference semantics for every instruction.
This module supplies only what differs on the NIC: the memory rules (stores to the packet only in
the header window or the head margin, map memory only for NIC-resident maps, each map write
logged for undo), the helper table (the host's helpers of jit/ebpf/helpers.py, wrapped with the
NIC's limits and the transaction's bookkeeping; never a second implementation), and the guard
exit: a sentinel call placed at slot `len(trace)` that ends the attempt as GUARD.

Map-free traces without jumps or calls keep the specialized translation of jit/nic/executor.py
(the hit path's speed); `jit.nic.executor.compile_trace` chooses.
"""
from __future__ import annotations

from jit.ebpf import interp, isa, memmap
from jit.ebpf import helpers as host_helpers
from jit.ebpf.helpers import HELPERS, TailCall
from jit.ebpf.maps.progarray import ProgArrayMap
from jit.ebpf.runtime import RunEnv
from jit.nic import encoding as enc
from jit.nic.encoding import ExecError
from jit.nic.nic_helpers import MAP_HELPERS, NIC_HELPERS, TAIL_CALL
from jit.nic.nic_state import NicState, Transaction
from jit.nic.validate import slot_ok

M64 = (1 << 64) - 1
GUARD_SENTINEL = 0x7FFF_FFFF      # helper id of the call appended at the guard exit
_PAGE = interp.PAGE_SHIFT
_CTX_PAGE, _PKT_PAGE, _STACK_PAGE = (memmap.CTX_BASE >> _PAGE, memmap.PKT_BASE >> _PAGE,
                                     memmap.STACK_BASE >> _PAGE)


class Fault(Exception):
    """The attempt ends: GUARD (not a fault, the next entry is tried) or an ExecError fault."""

    def __init__(self, code: ExecError, pc: int | None):
        super().__init__(code.name)
        self.code, self.pc = code, pc


def needs_v2(trace: list[isa.Insn]) -> bool:
    """Whether a trace uses anything beyond format v1: jumps, calls, atomics, map addresses."""
    for insn in trace:
        cls = insn.opcode & 0x07
        if insn.opcode == 0x95:
            continue
        if cls in (isa.BPF_JMP, isa.BPF_JMP32) or (cls == isa.BPF_STX
                                                    and insn.opcode & 0xE0 == isa.BPF_ATOMIC):
            return True
        if insn.opcode == isa.LD_IMM64 and insn.src == 0 and insn.imm & M64 >= memmap.MAP_BASE:
            return True
    return False


class NicMemory(interp.Memory):
    """The interpreter's XDP memory with the NIC's rules on top (see the module docstring)."""

    def __init__(self, packet: bytes, hdr_bytes: int, state: NicState, tx: Transaction):
        super().__init__()
        self._pages = interp.xdp_memory(packet)._pages
        self._pages.update(state.pages)
        self.state, self.tx = state, tx
        # packet-buffer offsets a store may write: the head margin and the header window
        self.win_lo = memmap.HEADROOM - enc.NIC_HEADROOM
        self.win_hi = memmap.HEADROOM + hdr_bytes

    def _map(self, addr: int):
        return self.state.map_at_page(addr >> _PAGE)

    def _check_window(self, addr: int, size: int, pc) -> None:
        off = addr - memmap.PKT_BASE
        r = self._pages[_PKT_PAGE]
        if r.lo <= off and off + size <= r.hi and not (self.win_lo <= off
                                                      and off + size <= self.win_hi):
            raise Fault(ExecError.STORE_WINDOW, pc)

    def _before_write(self, addr: int, size: int, pc) -> None:
        page = addr >> _PAGE
        if page == _PKT_PAGE:
            self._check_window(addr, size, pc)
            return
        m = self._map(addr)
        if m is not None:
            self.tx.before_store(m, addr - m.base, size)
            self.tx.map_ops += 1

    def load(self, addr, size, pc=None):
        if addr >> _PAGE in self.state.pages:
            self.tx.map_ops += 1
        return super().load(addr, size, pc)

    def store(self, addr, size, value, pc=None):
        self._before_write(addr, size, pc)
        super().store(addr, size, value, pc)

    def atomic(self, addr, size, op, src, r0=0, pc=None):
        self._before_write(addr, size, pc)
        return super().atomic(addr, size, op, src, r0, pc)

    def write(self, addr, data, pc=None):
        self._before_write(addr, len(data), pc)
        super().write(addr, data, pc)


# ---- the NIC helper table: the host's helpers with the NIC's limits ----------------------------
def _nic_map(mem: NicMemory, pc, handle: int):
    m = mem.state.maps.at_handle(handle) if mem.state.maps is not None else None
    if m is None or not mem.state.is_resident(m):
        raise Fault(ExecError.MAP_ACCESS, pc)
    return m


def _map_helper(helper_id: int):
    host = HELPERS[helper_id]

    def call(mem, pc, r1, r2, r3, r4, r5):
        m = _nic_map(mem, pc, r1)
        if helper_id in (2, 3):
            mem.tx.before_write(m)
        mem.tx.map_ops += 1
        return host(mem, pc, r1, r2, r3, r4, r5)
    return call


def _tail_call(mem, pc, r1, r2, r3, r4, r5):
    """The guard on a prog_array slot: r4 holds what the tracer saw there (a program id or
    TAIL_CALL_EMPTY). Equal: continue with the next slot (the callee's trace, r1 = ctx); the host
    helper decides success or fall-through, as on the host."""
    m = _nic_map(mem, pc, r2)
    if not isinstance(m, ProgArrayMap) or r1 != memmap.CTX_BASE:
        raise Fault(ExecError.MAP_ACCESS, pc)
    try:
        r0 = HELPERS[TAIL_CALL](mem, pc, r1, r2, r3, r4, r5)
        seen = enc.TAIL_CALL_EMPTY
    except TailCall as tc:
        r0, seen = 0, mem.state.program_id(tc.program)
    if seen != r4 & 0xFFFF_FFFF:
        raise Fault(ExecError.GUARD, pc)
    return r0


def _adjust_head(mem, pc, r1, r2, r3, r4, r5):
    r0 = HELPERS[44](mem, pc, r1, r2, r3, r4, r5)
    if r0 == 0 and host_helpers._Xdp(mem).data < mem.win_lo:
        raise Fault(ExecError.ADJUST_RANGE, pc)      # more head than the NIC's margin
    return r0


def _adjust_tail(mem, pc, r1, r2, r3, r4, r5):
    old_end = host_helpers._Xdp(mem).data_end
    r0 = HELPERS[65](mem, pc, r1, r2, r3, r4, r5)
    x = host_helpers._Xdp(mem)
    if r0 == 0 and x.data_end - x.data > enc.PKT_BYTES:
        raise Fault(ExecError.ADJUST_RANGE, pc)      # longer than the NIC's packet buffer
    if r0 == 0 and x.data_end > old_end and x.data_end > mem.win_hi:
        # a grown tail must end inside the header window: the kernel clears grown bytes, and
        # past the window the NIC's buffer holds the rx frame's bytes (or stale ones), which it
        # cannot clear (the tracer does not follow a growing tail at all)
        raise Fault(ExecError.ADJUST_RANGE, pc)
    return r0


def _store_bytes(mem, pc, r1, r2, r3, r4, r5):
    x = host_helpers._Xdp(mem)
    n = r4 & 0xFFFF_FFFF
    at = host_helpers._xdp_span(x, r2 & 0xFFFF_FFFF, n)
    if at >= 0 and n:
        mem._check_window(memmap.PKT_BASE + at, n, pc)
    return HELPERS[190](mem, pc, r1, r2, r3, r4, r5)


def _redirect_map(mem, pc, r1, r2, r3, r4, r5):
    _nic_map(mem, pc, r1)
    mem.tx.map_ops += 1
    return HELPERS[51](mem, pc, r1, r2, r3, r4, r5)


def _guard_exit(mem, pc, r1, r2, r3, r4, r5):
    raise Fault(ExecError.GUARD, pc)


NIC_HELPER_FNS = {hid: HELPERS[hid] for hid in NIC_HELPERS}
NIC_HELPER_FNS.update({hid: _map_helper(hid) for hid in (1, 2, 3)})
NIC_HELPER_FNS.update({TAIL_CALL: _tail_call, 44: _adjust_head, 65: _adjust_tail,
                       190: _store_bytes, 51: _redirect_map, GUARD_SENTINEL: _guard_exit})
assert set(NIC_HELPER_FNS) == set(NIC_HELPERS) | {GUARD_SENTINEL}


def _fault_code(exc: interp.InterpError, state: NicState) -> ExecError:
    if isinstance(exc, interp.MemoryFault):
        page = exc.address >> _PAGE
        if page == _CTX_PAGE:
            return ExecError.CTX_ACCESS
        if page == _PKT_PAGE:
            return ExecError.PKT_BOUNDS
        if page == _STACK_PAGE:
            return ExecError.STACK_BOUNDS
        return ExecError.MAP_ACCESS if page in state.pages else ExecError.BAD_ADDRESS
    if isinstance(exc, (interp.InvalidJump, interp.BudgetExceeded)):
        return ExecError.FELL_OFF          # (a loop: only in a trace the commit checks refuse)
    if isinstance(exc, interp.UnsupportedInsn):
        return ExecError.BAD_OPCODE
    return ExecError.MAP_ACCESS            # a helper refused its arguments (not a map, ...)


BAD_SLOT = 0x7FFF_FFFE          # helper id no table has: the interpreter refuses it (BAD_OPCODE)


def _executable_prefix(trace: list[isa.Insn]) -> list[isa.Insn]:
    """The trace up to its first slot the commit checks refuse as not executable, which becomes a
    BAD_OPCODE fault (as in v1): an opcode outside the v2 rule table or a call outside the NIC
    helper set. Only uncommitted traces have one."""
    out = []
    for insn in trace:
        lo = insn.opcode | insn.dst << 8 | insn.src << 12 | (insn.off & 0xFFFF) << 16
        if not slot_ok(lo, insn.imm & 0xFFFF_FFFF, v2=True) or (
                insn.opcode == 0x85 and insn.imm not in NIC_HELPERS):
            return out + [isa.Insn(0x85, 0, 0, 0, BAD_SLOT)]
        out.append(insn)
    return out


def compile_v2(trace: list[isa.Insn], hdr_bytes: int, state: NicState | None, insns_at):
    """`raw(packet) -> (action, packet, err, insns)` of a v2 trace on `state` (None: a NIC
    without maps). On err NONE the transaction committed (`state.last_map_ops`,
    `state.last_redirect` describe it); otherwise everything was undone."""
    state = state or NicState()
    body = _executable_prefix(trace)
    if body and body[-1].opcode in (0x95, 0x05):       # nothing falls through to the guard exit
        body.append(isa.Insn(0x85, 0, 0, 0, GUARD_SENTINEL))
    prog = interp.compile_program(body)
    none = ExecError.NONE

    def raw(packet: bytes):
        tx = Transaction(state)
        mem = NicMemory(packet, hdr_bytes, state, tx)
        env = mem.env = RunEnv(state.maps, state.cpu, state.clock(), state.prandom)
        regs = [0] * isa.N_REGS
        regs[1], regs[10] = memmap.CTX_BASE, memmap.STACK_TOP
        try:
            r0, count = prog.execute(mem, regs, budget=len(body) + 1, helpers=NIC_HELPER_FNS)
        except Fault as f:
            tx.discard()
            return 0, packet, f.code, insns_at(f.pc) if f.pc is not None else 0
        except interp.InterpError as exc:
            tx.discard()
            return 0, packet, _fault_code(exc, state), insns_at(exc.pc) if exc.pc is not None else 0
        tx.commit(env.redirect)
        return r0 & 0xFFFF_FFFF, host_helpers.packet_bytes(mem), none, count

    return raw
