"""Bit-exact functional model of the NIC (docs/abi.md): trace-cache entries with first-match
priority, the replacement policies of `jit/policies.py`, commit validation with the RTL's error
codes, the executor's semantics (`jit/nicexec.py`), counters and stream routing.

The RTL (`rtl/jitnic_top.v`) and this model must agree frame for frame; the model is what large
runs and sweeps use. Conditions and traces are compiled once per install to Python functions.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from jit import encoding as enc
from jit import isa, memmap
from jit.encoding import Atom, AtomKind, AtomOp, Channel, Counter, ErrorCode, ExecError
from jit.nicexec import compile_trace
from jit.policies import choose_victim, make_policy


@dataclass(frozen=True)
class NicConfig:
    n_entries: int = enc.N_ENTRIES
    max_atoms: int = enc.MAX_ATOMS
    max_trace_len: int = enc.MAX_TRACE_LEN
    hdr_bytes: int = enc.HDR_BYTES
    pkt_bytes: int = enc.PKT_BYTES
    policy: str = "lru"
    seed: int = 0


@dataclass(frozen=True)
class Outcome:
    """What the NIC did with one frame."""
    where: str                 # "nic" (hit), "host" (miss or exec error) or "dropped" (oversize)
    entry: int | None          # entry that matched, if any
    stream: str | None         # "tx", "host" or None (dropped)
    channel: Channel | None    # host stream channel
    action: int | None         # trace's action on a hit without fault
    packet: bytes              # frame as it leaves (original on miss/fault)
    err: ExecError = ExecError.NONE
    insns: int = 0             # trace instructions executed on a hit


_OPS = {AtomOp.EQ: "==", AtomOp.NE: "!=", AtomOp.LT: "<", AtomOp.LE: "<=", AtomOp.GT: ">",
        AtomOp.GE: ">="}


def _atom_expr(atom: Atom) -> str:
    """A Python expression over `w` (zero-padded window) and `n` (frame length)."""
    if atom.kind == AtomKind.LEN:
        value = f"(n & {atom.mask:#x})"
        bits = 32
    else:
        order = "big" if atom.big_endian else "little"
        if atom.width == 1:
            value = f"w[{atom.offset}]"
        else:
            value = f"int.from_bytes(w[{atom.offset}:{atom.offset + atom.width}], '{order}')"
        full = (1 << (8 * atom.width)) - 1
        if atom.mask & full != full:
            value = f"({value} & {atom.mask & full:#x})"
        bits = 8 * atom.width
    const = atom.const & 0xFFFF_FFFF
    op = atom.op
    if op >= AtomOp.SLT:
        value = f"_sx({value}, {bits})"
        const = enc.sign_extend32(const, 32)
        op = AtomOp(op - AtomOp.SLT + AtomOp.LT)
    return f"{value} {_OPS[op]} {const}"


def compile_condition(atoms: list[Atom]):
    """`match(w, n) -> bool` for a window `w` zero-padded past the frame and length `n`."""
    expr = " and ".join(f"({_atom_expr(a)})" for a in atoms) or "True"
    namespace = {"_sx": enc.sign_extend32}
    exec(compile(f"def _match(w, n):\n    return {expr}\n", "<condition>", "exec"), namespace)
    return namespace["_match"]


# Opcodes the executor implements (commit validation rejects everything else, docs/abi.md).
def supported_opcode(opcode: int, src: int = 0) -> bool:
    cls = opcode & 0x07
    if opcode == 0x95:
        return True
    if opcode == 0x18:
        return src == 0
    if cls in (isa.BPF_ALU, isa.BPF_ALU64):
        op = opcode & 0xF0
        if op == 0xD0:
            return opcode in (0xD4, 0xDC, 0xD7)
        return op <= 0xC0 and not (op == 0x80 and opcode & 0x08)   # neg has no reg form
    if cls == isa.BPF_LDX:
        return opcode & 0xE0 in (isa.BPF_MEM, isa.BPF_MEMSX) and not (
            opcode & 0xE0 == isa.BPF_MEMSX and opcode & 0x18 == 0x18)
    if cls in (isa.BPF_ST, isa.BPF_STX):
        return opcode & 0xE0 == isa.BPF_MEM
    return False


def validate_entry(atoms: list[Atom], trace_words: list[tuple[int, int]], cfg: NicConfig
                   ) -> tuple[ErrorCode, int]:
    """The RTL's commit checks, in the RTL's order: (error code, atom or slot index)."""
    if len(atoms) > cfg.max_atoms:
        return ErrorCode.TOO_MANY_ATOMS, len(atoms)
    for i, atom in enumerate(atoms):
        if atom.kind == AtomKind.PKT and atom.offset + atom.width > cfg.hdr_bytes:
            return ErrorCode.ATOM_WINDOW, i
    if not 1 <= len(trace_words) <= cfg.max_trace_len:
        return ErrorCode.BAD_TRACE_LEN, len(trace_words)
    slot = 0
    while slot < len(trace_words):
        lo, _ = trace_words[slot]
        opcode, src = lo & 0xFF, (lo >> 12) & 0xF
        if not supported_opcode(opcode, src):
            return ErrorCode.BAD_OPCODE, slot
        if opcode == 0x18:
            if slot + 1 >= len(trace_words):
                return ErrorCode.BAD_OPCODE, slot
            slot += 2
            continue
        if slot == len(trace_words) - 1 and opcode != 0x95:
            return ErrorCode.NO_EXIT, slot
        slot += 1
    return ErrorCode.NONE, 0


@dataclass
class Entry:
    atoms: tuple[Atom, ...]
    code: bytes
    match: object = field(repr=False)
    run: object = field(repr=False)
    key: tuple = ()


class NicModel:
    """The NIC, one frame at a time: `process(frame) -> Outcome`, `install(atoms, code)`."""

    def __init__(self, cfg: NicConfig = NicConfig()):
        self.cfg = cfg
        self.policy = make_policy(cfg.policy, cfg.n_entries, cfg.seed)
        self.entries: list[Entry | None] = [None] * cfg.n_entries
        self.counters = [0] * len(Counter)
        self.entry_hits = [0] * cfg.n_entries
        self._pad = bytes(cfg.hdr_bytes + 8)

    # -- control path -------------------------------------------------------------------------
    def install(self, atoms: list[Atom], code: bytes) -> tuple[int | None, bool, ErrorCode]:
        """Commit one staged entry: (entry index, evicted a valid entry, error code)."""
        words = enc.trace_words(code)
        err, _ = validate_entry(atoms, words, self.cfg)
        if err != ErrorCode.NONE:
            self.counters[Counter.INSTALL_ERRORS] += 1
            return None, False, err
        index, evicting = choose_victim(self.policy, [e is not None for e in self.entries])
        insns = isa.decode(code)
        self.entries[index] = Entry(tuple(atoms), code, compile_condition(list(atoms)),
                                    compile_trace(insns, self.cfg.hdr_bytes, self.cfg.max_trace_len),
                                    key=(tuple(atoms), code))
        self.policy.fill(index, evicting)
        self.counters[Counter.INSTALLS] += 1
        if evicting:
            self.counters[Counter.EVICTIONS] += 1
        return index, evicting, ErrorCode.NONE

    def invalidate_all(self) -> None:
        self.entries = [None] * self.cfg.n_entries
        self.policy.invalidate_all()

    def reseed(self, seed: int) -> None:
        self.policy.reseed(seed)

    def installed_keys(self) -> set:
        return {e.key for e in self.entries if e is not None}

    # -- data path ------------------------------------------------------------------------------
    def lookup(self, frame: bytes) -> int | None:
        """Index of the first entry whose condition holds, or None."""
        w = frame[:self.cfg.hdr_bytes] + self._pad
        n = len(frame)
        for i, entry in enumerate(self.entries):
            if entry is not None and entry.match(w, n):
                return i
        return None

    def process(self, frame: bytes) -> Outcome:
        c = self.counters
        c[Counter.RX_PACKETS] += 1
        if len(frame) < enc.ETH_HLEN:
            c[Counter.RUNTS] += 1
        if len(frame) > self.cfg.pkt_bytes:
            c[Counter.OVERSIZE] += 1
            return Outcome("dropped", None, None, None, None, frame)
        index = self.lookup(frame)
        if index is None:
            c[Counter.MISSES] += 1
            return Outcome("host", None, "host", Channel.MISS, None, frame)
        c[Counter.HITS] += 1
        self.entry_hits[index] += 1
        self.policy.touch(index)
        result = self.entries[index].run(frame)
        # EXEC_CYCLES is an RTL measurement; the model leaves it at 0.
        if result.err != ExecError.NONE:
            c[Counter.EXEC_ERRORS] += 1
            return Outcome("host", index, "host", Channel.EXEC_ERROR, None, frame, result.err,
                           result.insns)
        action = result.action
        if action == memmap.XDP_TX:
            c[Counter.TX] += 1
            stream, channel = "tx", None
        elif action == memmap.XDP_PASS:
            c[Counter.PASSES] += 1
            stream, channel = "host", Channel.PASS
        elif action == memmap.XDP_REDIRECT:
            c[Counter.REDIRECTS] += 1
            stream, channel = "host", Channel.REDIRECT
        else:
            c[Counter.DROPS if action == memmap.XDP_DROP else Counter.ABORTS] += 1
            stream, channel = None, None
        return Outcome("nic", index, stream, channel, action, result.packet, insns=result.insns)

    def host_tx(self, frame: bytes) -> None:
        """The host sent a frame to the wire through the NIC."""
        self.counters[Counter.HOST_TX] += 1

    def counter(self, name: str) -> int:
        return self.counters[Counter[name.upper()]]
