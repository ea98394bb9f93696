"""Bit-exact functional model of the NIC (docs/abi.md): trace-cache entries with first-match
priority, the replacement policies of `jit/nic/policies.py`, commit validation with the RTL's error
codes, the executor's semantics (`jit/nic/executor.py`), counters and stream routing.

The RTL (`rtl/jitnic_top.v`) and this model must agree frame for frame; the model is what large
runs and sweeps use. Conditions and traces are compiled once per install to Python functions
(traces by `jit.nic.executor.compile_trace`'s specialized translation), and a stable set of entries
gets one compiled lookup function (`compile_lookup`).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field, fields

from jit.nic import encoding as enc
from jit.ebpf import isa, memmap
from jit.nic.encoding import Atom, AtomKind, AtomOp, Channel, Counter, ErrorCode, ExecError
from jit.nic.executor import compile_trace
from jit.nic.nic_state import NicState
from jit.nic.params import check_config, check_helper_set
from jit.nic.validate import SlotRule, plan_entry, rule_of, validate_words
from jit.nic.policies import choose_victim, make_policy


@dataclass(frozen=True)
class NicConfig:
    n_entries: int = enc.N_ENTRIES
    max_atoms: int = enc.MAX_ATOMS
    max_trace_len: int = enc.MAX_TRACE_LEN
    hdr_bytes: int = enc.HDR_BYTES
    pkt_bytes: int = enc.PKT_BYTES
    policy: str = "lru"
    seed: int = 0
    exec_budget: int = enc.EXEC_BUDGET
    n_slots: int = enc.N_SLOTS
    n_len_atoms: int = enc.N_LEN_ATOMS    # per entry: length cells
    n_gen_atoms: int = enc.N_GEN_ATOMS    # per entry: general atoms (jit/nic/validate.py place_atoms)
    v2: bool = False       # trace format v2 (guards, helpers, maps: the model's NIC with state);
                           # False: format v1, what the RTL executor runs today
    helper_set: str = "full"   # the helpers (and atomics) v2 traces may use: "full" (the model's
                               # executor) or "rtl" (rtl/jitnic_exec.v's; nic_helpers.HELPER_SETS)

    def __post_init__(self):
        # the one set of rules (jit/nic/params.py): a model the hardware could not be built as
        # is refused here, not after a run
        check_config(self.n_entries, self.max_atoms, self.max_trace_len, self.hdr_bytes,
                     self.pkt_bytes, self.policy, self.seed, self.exec_budget, self.n_slots,
                     self.n_len_atoms, self.n_gen_atoms)
        check_helper_set(self.helper_set)


@dataclass(frozen=True)
class Outcome:
    """What the NIC did with one frame."""
    where: str                 # "nic" (hit), "host" (miss or exec error) or "dropped" (rx error,
                               # oversize, or no free buffer)
    entry: int | None          # entry that matched, if any
    stream: str | None         # "tx", "host" or None (dropped)
    channel: Channel | None    # host stream channel
    action: int | None         # trace's action on a hit without fault
    packet: bytes              # frame as it leaves (original on miss/fault)
    err: ExecError = ExecError.NONE
    insns: int = 0             # trace instructions executed on a hit
    redirect: dict | None = None   # a REDIRECT hit's target, as the interpreter records it


_OPS = {AtomOp.EQ: "==", AtomOp.NE: "!=", AtomOp.LT: "<", AtomOp.LE: "<=", AtomOp.GT: ">",
        AtomOp.GE: ">="}


def _atom_expr(atom: Atom, field: str | None = None) -> str:
    """A Python expression over `w` (zero-padded window) and `n` (frame length); `field` names a
    local already holding the atom's packet field (zero-extended), instead of reading `w`."""
    if atom.kind == AtomKind.LEN:
        value = f"(n & {atom.mask:#x})"
        bits = 32
    else:
        order = "big" if atom.big_endian else "little"
        if field is not None:
            value = field
        elif atom.width == 1:
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


_STRUCT_CODE = {1: "B", 2: "H", 4: "I"}


def _field_key(atom: Atom) -> tuple[int, int, bool]:
    """(offset, width, big-endian) of a packet atom's field; one byte reads the same either way."""
    return atom.offset, atom.width, atom.big_endian or atom.width == 1


def compile_lookup(conditions: list[list[Atom] | None]):
    """`lookup(w, n) -> index | None`: the first index whose atoms all hold (None entries never
    match), for a window `w` of at least `max(offset + width)` bytes, zero-padded past the frame,
    and the frame length `n`. The same predicates as `compile_condition` per entry, in one
    function: every distinct packet field is read once per call, by a few `struct` unpacks of
    non-overlapping fields, each done just before the first entry that needs it."""
    keys = sorted({_field_key(a) for atoms in conditions if atoms for a in atoms
                   if a.kind == AtomKind.PKT})
    layers: list[list[tuple[int, int, bool]]] = []     # non-overlapping fields, one byte order
    for key in keys:
        for layer in layers:
            last = layer[-1]
            if last[2] == key[2] and last[0] + last[1] <= key[0]:
                layer.append(key)
                break
        else:
            layers.append([key])
    name = {key: f"f{key[0]}_{key[1]}{'b' if key[2] else 'l'}" for key in keys}
    layer_of = {key: i for i, layer in enumerate(layers) for key in layer}
    namespace: dict = {"_sx": enc.sign_extend32}
    lines = ["def _lookup(w, n):"]
    done: set[int] = set()
    for index, atoms in enumerate(conditions):
        if atoms is None:
            continue
        for key in sorted({_field_key(a) for a in atoms if a.kind == AtomKind.PKT}):
            k = layer_of[key]
            if k in done:
                continue
            done.add(k)
            fmt, pos = ">" if layers[k][0][2] else "<", 0
            for off, width, _ in layers[k]:
                fmt += "x" * (off - pos) + _STRUCT_CODE[width]
                pos = off + width
            namespace[f"_S{k}"] = struct.Struct(fmt).unpack_from
            lines.append(f"    {', '.join(name[key] for key in layers[k])}, = _S{k}(w)")
        expr = " and ".join(f"({_atom_expr(a, name.get(_field_key(a)))})" for a in atoms)
        lines.append(f"    if {expr or 'True'}: return {index}")
    lines.append("    return None")
    exec(compile("\n".join(lines), "<lookup>", "exec"), namespace)
    return namespace["_lookup"]


def supported_opcode(opcode: int, src: int = 0, v2: bool = False) -> bool:
    """Whether the executor implements this opcode at all (fields aside: see jit/nic/validate.py,
    the one definition of what a commit accepts). `v2`: trace format v2 (jumps, calls, atomics);
    the default is the v1 set the RTL executor runs today."""
    return rule_of(opcode, v2) != SlotRule.INVALID and (opcode != 0x18 or src == 0)


def validate_entry(atoms: list[Atom], trace_words: list[tuple[int, int]], cfg: NicConfig
                   ) -> tuple[ErrorCode, int]:
    """The RTL's commit checks, in the RTL's order: (error code, atom or slot index)."""
    return validate_words([a.words() for a in atoms], len(atoms), trace_words, len(trace_words),
                          max_atoms=cfg.max_atoms, max_trace_len=cfg.max_trace_len,
                          hdr_bytes=cfg.hdr_bytes, exec_budget=cfg.exec_budget, v2=cfg.v2)


@dataclass
class Entry:
    atoms: tuple[Atom, ...]
    code: bytes
    match: object = field(repr=False)
    run: object = field(repr=False)
    key: tuple = ()


def _fast_constructor(cls):
    """`make(*values)` building an instance of the frozen dataclass `cls` from all its fields in
    order, without the generated `__init__`'s one `object.__setattr__` per field (the hit path
    builds one Outcome per frame). The result is an ordinary instance: equal to, hashing and
    printing like the one `cls(*values)` builds, and just as immutable."""
    names = [f.name for f in fields(cls)]
    assert not hasattr(cls, "__post_init__") and "__slots__" not in cls.__dict__
    body = ", ".join(f"{n!r}: {n}" for n in names)
    namespace = {"_new": object.__new__, "_set": object.__setattr__, "_cls": cls}
    exec(f"def make({', '.join(names)}):\n"
         f"    o = _new(_cls)\n"
         f"    _set(o, '__dict__', {{{body}}})\n"
         f"    return o\n", namespace)
    return namespace["make"]


_outcome = _fast_constructor(Outcome)
_RX, _RUNTS, _OVERSIZE, _MISSES, _HITS, _EXEC_ERRORS, _ABORTS, _RX_DROPS, _RX_ERRORS = (
    int(Counter.RX_PACKETS), int(Counter.RUNTS), int(Counter.OVERSIZE), int(Counter.MISSES),
    int(Counter.HITS), int(Counter.EXEC_ERRORS), int(Counter.ABORTS), int(Counter.RX_DROPS),
    int(Counter.RX_ERRORS))
_GUARD_MISSES, _MAP_OPS = int(Counter.GUARD_MISSES), int(Counter.MAP_OPS)
_GUARD = ExecError.GUARD
# action -> (counter, stream, channel) of a hit without fault; any other action is ABORTS, dropped
_ROUTES = {memmap.XDP_TX: (int(Counter.TX), "tx", None),
           memmap.XDP_PASS: (int(Counter.PASSES), "host", Channel.PASS),
           memmap.XDP_REDIRECT: (int(Counter.REDIRECTS), "host", Channel.REDIRECT),
           memmap.XDP_DROP: (int(Counter.DROPS), None, None)}
_ABORT_ROUTE = (_ABORTS, None, None)


class NicModel:
    """The NIC, one frame at a time: `process(frame) -> Outcome`, `install(atoms, code)`.

    `entries` changes only through `install` and `invalidate_all`, which also reset the lookup and
    the list of compiled traces the hit path runs. Lookups scan the entries' own conditions until
    `lookup_compile_after` lookups have passed without a change; then one function over all entries
    is compiled (`compile_lookup`, about a millisecond for 16 entries), so that a thrashing cache
    does not pay a compile per install while a stable one gets the fast lookup. Both find the same
    entry.
    """

    lookup_compile_after = 256

    def __init__(self, cfg: NicConfig = NicConfig(), state: NicState | None = None):
        self.cfg = cfg
        self.state = state or NicState()    # map memory, clock, NIC random generator
        self.policy = make_policy(cfg.policy, cfg.n_entries, cfg.seed)
        self.entries: list[Entry | None] = [None] * cfg.n_entries
        self.counters = [0] * len(Counter)
        self.entry_hits = [0] * cfg.n_entries
        # extractor slots (jit/nic/validate.py allocate_slots): each slot's field word, and per
        # entry the slots its atoms read (bit k: slot k); a slot is in use while a valid entry reads it
        self.slot_fields = [0] * cfg.n_slots
        self.entry_slots = [0] * cfg.n_entries
        self._pad = bytes(cfg.hdr_bytes + 8)
        self._entries_changed()

    def _entries_changed(self) -> None:
        self._match = None                   # compiled lazily, once the entries are stable
        self._stable = 0                     # lookups since the last change
        self._raw = [e.run.raw if e is not None else None for e in self.entries]
        self._v2 = [e is not None and e.run.v2 for e in self.entries]

    def attach_state(self, state: NicState) -> None:
        """Give the NIC its map memory (one memory with the host: `NicState.for_runtime`).
        Installed traces are recompiled against it."""
        self.state = state
        self.entries = [None if e is None else Entry(e.atoms, e.code, e.match, self._compile(e.code),
                                                     e.key) for e in self.entries]
        self._entries_changed()

    def _compile(self, code: bytes):
        return compile_trace(isa.decode(code), self.cfg.hdr_bytes, self.cfg.max_trace_len,
                             state=self.state, v2=self.cfg.v2)

    def _scan(self, w, n: int) -> int | None:
        for i, entry in enumerate(self.entries):
            if entry is not None and entry.match(w, n):
                return i
        return None

    def _matcher(self):
        """The lookup function for the current entries: `(window, length) -> index | None`."""
        if self._match is not None:
            return self._match
        self._stable += 1
        if self._stable <= self.lookup_compile_after:
            return self._scan
        self._match = compile_lookup([list(e.atoms) if e is not None else None
                                      for e in self.entries])
        return self._match

    # -- control path -------------------------------------------------------------------------
    def install(self, atoms: list[Atom], code: bytes) -> tuple[int | None, bool, ErrorCode]:
        """Commit one staged entry: (entry index, evicted a valid entry, error code)."""
        words = enc.trace_words(code)
        err, _ = validate_entry(atoms, words, self.cfg)
        if err != ErrorCode.NONE:
            self.counters[Counter.INSTALL_ERRORS] += 1
            if err == ErrorCode.WB_OVERFLOW:
                self.counters[Counter.WB_OVERFLOWS] += 1
            return None, False, err
        index, evicting = choose_victim(self.policy, [e is not None for e in self.entries])
        # extractor slots and compare cells (jit/nic/validate.py plan_entry): SLOTS_FULL or
        # CELLS_FULL, and then nothing changes
        entry_plan = plan_entry([a.words()[0] for a in atoms], self.slot_fields,
                                self.slots_in_use(exclude=index), self.cfg.n_len_atoms,
                                self.cfg.n_gen_atoms)
        if entry_plan.error != ErrorCode.NONE:
            self.counters[Counter.INSTALL_ERRORS] += 1
            return None, False, entry_plan.error
        plan = entry_plan.slots
        for slot, word in plan.configure:
            self.slot_fields[slot] = word
        self.entry_slots[index] = plan.uses
        self.entries[index] = Entry(tuple(atoms), code, compile_condition(list(atoms)),
                                    self._compile(code), key=(tuple(atoms), code))
        self._entries_changed()
        self.policy.fill(index, evicting)
        self.counters[Counter.INSTALLS] += 1
        if evicting:
            self.counters[Counter.EVICTIONS] += 1
        return index, evicting, ErrorCode.NONE

    def slots_in_use(self, exclude: int | None = None) -> int:
        """Bit k: some valid entry (other than `exclude`) reads extractor slot k."""
        used = 0
        for i, entry in enumerate(self.entries):
            if entry is not None and i != exclude:
                used |= self.entry_slots[i]
        return used

    def slot_words(self) -> list[int]:
        """REG_SLOTS as the RTL reads it: each slot's field word, SLOT_IN_USE while in use."""
        used = self.slots_in_use()
        return [w | (enc.SLOT_IN_USE if used >> k & 1 else 0)
                for k, w in enumerate(self.slot_fields)]

    def invalidate_all(self) -> None:
        self.entries = [None] * self.cfg.n_entries
        self._entries_changed()
        self.policy.invalidate_all()

    def reseed(self, seed: int) -> None:
        self.policy.reseed(seed)

    def installed_keys(self) -> set:
        return {e.key for e in self.entries if e is not None}

    # -- data path ------------------------------------------------------------------------------
    def lookup(self, frame: bytes) -> int | None:
        """Index of the first entry whose condition holds, or None."""
        n = len(frame)
        # atoms read below hdr_bytes only: a frame at least that long is its own window
        return self._matcher()(frame if n >= self.cfg.hdr_bytes else frame + self._pad, n)

    def process(self, frame: bytes, bad: bool = False, full: bool = False) -> Outcome:
        """One frame from rx. `bad`: the MAC flagged it (rx_error): dropped, RX_ERRORS. `full`: no
        packet buffer was free when it started -- a matter of RTL timing the model cannot know, so
        the caller says so (the RTL shows it as rx_pause high at the frame's first beat): dropped,
        RX_DROPS. Priority as in the RTL: bad, then oversize, then full."""
        c = self.counters
        c[_RX] += 1
        n = len(frame)
        if n < enc.ETH_HLEN:
            c[_RUNTS] += 1
        if bad:
            c[_RX_ERRORS] += 1
            return _outcome("dropped", None, None, None, None, frame, ExecError.NONE, 0, None)
        if n > self.cfg.pkt_bytes:
            c[_OVERSIZE] += 1
            return _outcome("dropped", None, None, None, None, frame, ExecError.NONE, 0, None)
        if full:
            c[_RX_DROPS] += 1
            return _outcome("dropped", None, None, None, None, frame, ExecError.NONE, 0, None)
        match = self._match or self._matcher()
        index = match(frame if n >= self.cfg.hdr_bytes else frame + self._pad, n)
        if index is None:
            c[_MISSES] += 1
            return _outcome("host", None, "host", Channel.MISS, None, frame, ExecError.NONE, 0, None)
        action, packet, err, insns = self._raw[index](frame)
        redirect = None
        if err == _GUARD:
            index, result = self._fall_through(frame, index)
            if index is None:
                c[_MISSES] += 1
                c[_GUARD_MISSES] += 1
                return _outcome("host", None, "host", Channel.MISS, None, frame, ExecError.NONE,
                                0, None)
            action, packet, err, insns = result
        c[_HITS] += 1
        self.entry_hits[index] += 1
        self.policy.touch(index)
        # EXEC_CYCLES is an RTL measurement; the model leaves it at 0.
        if err:
            c[_EXEC_ERRORS] += 1
            return _outcome("host", index, "host", Channel.EXEC_ERROR, None, frame, err, insns,
                            None)
        if self._v2[index]:
            c[_MAP_OPS] += self.state.last_map_ops
            redirect = self.state.last_redirect
        counter, stream, channel = _ROUTES.get(action, _ABORT_ROUTE)
        c[counter] += 1
        return _outcome("nic", index, stream, channel, action, packet, ExecError.NONE, insns,
                        redirect)

    def _fall_through(self, frame: bytes, failed: int):
        """After entry `failed`'s guard failed: the next matching entries in priority order, up to
        MAX_GUARD_TRIES attempts in all. (index or None, its result)."""
        n = len(frame)
        w = frame if n >= self.cfg.hdr_bytes else frame + self._pad
        tries, result = 1, None
        for index in range(failed + 1, len(self.entries)):
            if tries >= enc.MAX_GUARD_TRIES:
                break
            entry = self.entries[index]
            if entry is None or not entry.match(w, n):
                continue
            tries += 1
            result = self._raw[index](frame)
            if result[2] != _GUARD:
                return index, result
        return None, result

    def malformed(self) -> None:
        """rx saw a malformed beat sequence (a frame cut short by a start of packet, or beats
        outside any frame up to their end of packet): dropped, one RX_MALFORMED per fragment."""
        self.counters[Counter.RX_MALFORMED] += 1

    def host_tx(self, frame: bytes) -> None:
        """The host sent a frame to the wire through the NIC."""
        self.counters[Counter.HOST_TX] += 1

    def counter(self, name: str) -> int:
        return self.counters[Counter[name.upper()]]
