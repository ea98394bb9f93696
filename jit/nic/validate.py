"""Commit validation, defined once: what the NIC accepts into its trace cache.

The same definition drives three things:
* the model (`jit.nic.model.NicModel.install` calls `validate_words`);
* the RTL's commit checks: the per-opcode rule table and the per-rule field check are generated
  into `rtl/jitnic_abi.vh` (`SLOT_RULE_TABLE`, `SLOT_FIELDS_OK(...)`, the costs and the budget,
  by `jit.nic.encoding.verilog_header`), and `rtl/jitnic_axil_regs.v` applies them in the order
  `validate_words` does;
* the axil bench (tb/axil/test_axil.py), which commits random invalid entries and expects the
  error code and index this module gives.

A slot is accepted exactly when the executor (`rtl/jitnic_exec.v`'s decode, `jit.nic.executor`)
would run it instead of faulting with BAD_OPCODE: known opcode, reserved fields zero, registers
r0..r10, r10 never written. So a committed trace never faults on decode (`add r10, 1` is refused
at commit, not at every hit).

Extractor slots: the NIC reads packet fields through `N_SLOTS` field extractors shared by all
entries (rtl/jitnic_match.v); an atom compares the output of one of them. The commit engine assigns
slots once the victim is known (`allocate_slots`, after every check above): a field already held by
a slot that some other valid entry uses is shared, a new field takes the lowest free slot, and a
commit whose fields do not fit is refused with SLOTS_FULL (the first atom that found no slot), so the
slots an evicted entry alone used are free for the entry that replaces it. A slot's users are the
valid entries whose atoms read it (each entry keeps the set of slots its atoms use), so a slot is
released when its last user is evicted or INVALIDATE_ALL clears every entry.

Compare cells: in the same pass the commit engine places each atom in one of its entry's compare
cells (`place_atoms`): the cell of its slot (one per slot, no multiplexer), a length cell, or one of
the few general atoms that can read any slot; CELLS_FULL when none is left. Cells belong to one
entry, so whether a condition fits depends on that condition alone (`condition_placement`).

Execution budget: each slot costs executor cycles (`EXEC_COST_*` in jit.nic.encoding: one per
instruction, a divide or modulo waits for the radix-2 divider, 64 or 32 iterations plus issue);
a trace whose total exceeds `EXEC_BUDGET` is refused (EXEC_BUDGET error at the slot where the sum
goes over), so no trace can hold the executor (and the commits queued behind it) for thousands of
cycles.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from jit.ebpf import isa, memmap
from jit.nic import encoding as enc
from jit.nic.encoding import AtomKind, AtomOp, ErrorCode
from jit.nic import nic_helpers
from jit.nic.nic_helpers import MAP_WRITE_HELPERS, NIC_HELPERS, TAIL_CALL


class SlotRule(IntEnum):
    """What the fields of a slot must hold, chosen by its opcode (0: opcode not executable)."""
    INVALID = 0
    ALU_K = 1       # add sub mul or and lsh rsh xor arsh, immediate
    ALU_X = 2       # the same, register
    DIV_K = 3       # div mod (off 1: signed), immediate
    DIV_X = 4
    MOV_K = 5
    MOV32_X = 6     # mov / movsx (off 8, 16)
    MOV64_X = 7     # mov / movsx (off 8, 16, 32)
    NEG = 8
    END = 9         # le/be (ALU), bswap (ALU64)
    LDDW = 10       # LD_IMM64, plain form (two slots; the second slot holds imm's high half)
    LDX = 11        # MEM and MEMSX loads
    ST = 12
    STX = 13
    EXIT = 14
    JA = 15         # goto +off (forward; JMP class only)
    JCOND_K = 16    # conditional jump against an immediate (JMP and JMP32)
    JCOND_X = 17    # conditional jump against a register
    CALL = 18       # helper call (src 0); the id must be in the NIC helper set (BAD_CALL)
    ATOMIC = 19     # lock add/or/and/xor (fetch), xchg, cmpxchg on 32/64 bits


@dataclass(frozen=True)
class Fields:
    """Allowed field values: dst/src "w" r0..r9 (written), "r" r0..r10, "0" zero; off/imm a tuple
    of allowed values, or None for any."""
    dst: str
    src: str
    off: tuple[int, ...] | None
    imm: tuple[int, ...] | None


RULE_FIELDS = {
    SlotRule.ALU_K: Fields("w", "0", (0,), None),
    SlotRule.ALU_X: Fields("w", "r", (0,), (0,)),
    SlotRule.DIV_K: Fields("w", "0", (0, 1), None),
    SlotRule.DIV_X: Fields("w", "r", (0, 1), (0,)),
    SlotRule.MOV_K: Fields("w", "0", (0,), None),
    SlotRule.MOV32_X: Fields("w", "r", (0, 8, 16), (0,)),
    SlotRule.MOV64_X: Fields("w", "r", (0, 8, 16, 32), (0,)),
    SlotRule.NEG: Fields("w", "0", (0,), (0,)),
    SlotRule.END: Fields("w", "0", (0,), (16, 32, 64)),
    SlotRule.LDDW: Fields("w", "0", (0,), None),
    SlotRule.LDX: Fields("w", "r", None, (0,)),
    SlotRule.ST: Fields("r", "0", None, None),
    SlotRule.STX: Fields("r", "r", None, (0,)),
    SlotRule.EXIT: Fields("0", "0", (0,), (0,)),
    SlotRule.JA: Fields("0", "0", None, (0,)),
    SlotRule.JCOND_K: Fields("r", "0", None, None),
    SlotRule.JCOND_X: Fields("r", "r", None, (0,)),
    SlotRule.CALL: Fields("0", "0", (0,), None),
    SlotRule.ATOMIC: Fields("r", "w", None, tuple(sorted(isa.ATOMIC_OPS))),
}
_REG_MAX = {"w": 9, "r": 10, "0": 0}
_DIV_OPS = (0x30, 0x90)
_ALU_OPS = (0x00, 0x10, 0x20, 0x40, 0x50, 0x60, 0x70, 0xA0, 0xC0)
_JCOND_OPS = (0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xA0, 0xB0, 0xC0, 0xD0)


V2_RULES = frozenset({SlotRule.JA, SlotRule.JCOND_K, SlotRule.JCOND_X, SlotRule.CALL,
                      SlotRule.ATOMIC})


def rule_of(opcode: int, v2: bool = False) -> SlotRule:
    """The field rule of an opcode (INVALID for what the executor does not implement: legacy
    packet access, callx, backward-capable JMP32 gotol; LD_IMM64 is plain-form only via its src
    rule). `v2=False` is the trace format the RTL executor implements today (no jumps, calls or
    atomics: those are INVALID); `v2=True` adds them (docs/abi.md "trace format v2")."""
    rule = _rule_v2(opcode)
    return SlotRule.INVALID if rule in V2_RULES and not v2 else rule


def _rule_v2(opcode: int) -> SlotRule:
    cls, op, x = opcode & 0x07, opcode & 0xF0, bool(opcode & 0x08)
    if opcode == 0x95:
        return SlotRule.EXIT
    if opcode == 0x05:
        return SlotRule.JA
    if opcode == 0x85:
        return SlotRule.CALL
    if cls in (isa.BPF_JMP, isa.BPF_JMP32):
        if op in _JCOND_OPS:
            return SlotRule.JCOND_X if x else SlotRule.JCOND_K
        return SlotRule.INVALID
    if opcode == 0x18:
        return SlotRule.LDDW
    if cls in (isa.BPF_ALU, isa.BPF_ALU64):
        if op in _ALU_OPS:
            return SlotRule.ALU_X if x else SlotRule.ALU_K
        if op in _DIV_OPS:
            return SlotRule.DIV_X if x else SlotRule.DIV_K
        if op == 0xB0:
            if not x:
                return SlotRule.MOV_K
            return SlotRule.MOV64_X if cls == isa.BPF_ALU64 else SlotRule.MOV32_X
        if op == 0x80:
            return SlotRule.INVALID if x else SlotRule.NEG
        if op == 0xD0:
            return SlotRule.INVALID if cls == isa.BPF_ALU64 and x else SlotRule.END
        return SlotRule.INVALID
    mode, size = opcode & 0xE0, opcode & 0x18
    if cls == isa.BPF_LDX and (mode == isa.BPF_MEM or (mode == isa.BPF_MEMSX and size != 0x18)):
        return SlotRule.LDX
    if cls == isa.BPF_ST and mode == isa.BPF_MEM:
        return SlotRule.ST
    if cls == isa.BPF_STX and mode == isa.BPF_MEM:
        return SlotRule.STX
    if cls == isa.BPF_STX and mode == isa.BPF_ATOMIC and size in (isa.BPF_W, isa.BPF_DW):
        return SlotRule.ATOMIC
    return SlotRule.INVALID


RULE_TABLE = tuple(rule_of(op) for op in range(256))               # v1: the RTL today
RULE_TABLE_V2 = tuple(rule_of(op, v2=True) for op in range(256))


def slot_fields(lo: int, hi: int) -> tuple[int, int, int, int, int]:
    """(opcode, dst, src, off, imm) of a trace slot's two words (off and imm unsigned)."""
    return lo & 0xFF, (lo >> 8) & 0xF, (lo >> 12) & 0xF, (lo >> 16) & 0xFFFF, hi & 0xFFFF_FFFF


def slot_ok(lo: int, hi: int, v2: bool = False) -> bool:
    """Whether the executor runs this slot (the first slot of an LD_IMM64 for two-slot ones)."""
    opcode, dst, src, off, imm = slot_fields(lo, hi)
    rule = (RULE_TABLE_V2 if v2 else RULE_TABLE)[opcode]
    if rule == SlotRule.INVALID:
        return False
    f = RULE_FIELDS[rule]
    return (dst <= _REG_MAX[f.dst] and src <= _REG_MAX[f.src]
            and (f.off is None or off in f.off) and (f.imm is None or imm in f.imm))


def slot_cost(lo: int, hi: int = 0) -> int:
    """Executor cycles this slot is budgeted for (a helper call: the helper's cost)."""
    opcode = lo & 0xFF
    rule = RULE_TABLE_V2[opcode]
    if rule in (SlotRule.DIV_K, SlotRule.DIV_X):
        return enc.EXEC_COST_DIV64 if opcode & 0x07 == isa.BPF_ALU64 else enc.EXEC_COST_DIV32
    if rule == SlotRule.CALL:
        helper = NIC_HELPERS.get(hi & 0xFFFF_FFFF)
        return helper.cost if helper is not None else enc.EXEC_COST_SLOT
    if rule == SlotRule.ATOMIC:
        return enc.EXEC_COST_ATOMIC
    return enc.EXEC_COST_SLOT


def atom_error(ctrl: int, hdr_bytes: int) -> ErrorCode:
    """BAD_ATOM (unknown op or width code) before ATOM_WINDOW (a packet atom past the window)."""
    op, width_code = ctrl & 0xF, (ctrl >> enc.ATOM_WIDTH[0]) & 3
    if op > AtomOp.SGE or width_code not in enc.WIDTH_FROM_CODE:
        return ErrorCode.BAD_ATOM
    kind = (ctrl >> enc.ATOM_KIND[0]) & 1
    offset = (ctrl >> enc.ATOM_OFFSET[0]) & ((1 << enc.ATOM_OFFSET[1]) - 1)
    if kind == AtomKind.PKT and offset + enc.WIDTH_FROM_CODE[width_code] > hdr_bytes:
        return ErrorCode.ATOM_WINDOW
    return ErrorCode.NONE


def validate_words(atom_words: list[tuple[int, int, int]], natoms: int,
                   trace_words: list[tuple[int, int]], trace_len: int, *, max_atoms: int,
                   max_trace_len: int, hdr_bytes: int, exec_budget: int = enc.EXEC_BUDGET,
                   v2: bool = False) -> tuple[ErrorCode, int]:
    """(error, atom or slot index) of a commit of the staged words with STAGE_NATOMS = natoms and
    STAGE_TRACE_LEN = trace_len, in the RTL's order: atom count, atoms (lowest failing first),
    trace length, then per slot in order: executable, helper in the NIC set, budget, jump
    (forward, at most to the guard exit, not into an LD_IMM64), write-buffer count, LD_IMM64
    completeness, exit last. `v2=False`: the v1 format (the RTL today), which has no jumps, calls
    or atomics, so only the v1 checks can fail."""
    if natoms > max_atoms:
        return ErrorCode.TOO_MANY_ATOMS, natoms & 0xFFFF
    for i, (ctrl, _mask, _const) in enumerate(atom_words[:natoms]):
        err = atom_error(ctrl, hdr_bytes)
        if err != ErrorCode.NONE:
            return err, i
    if not 1 <= trace_len <= max_trace_len:
        return ErrorCode.BAD_TRACE_LEN, trace_len & 0xFFFF
    slot, cost = 0, 0
    kinds = _Provenance(trace_len)
    writes = 0
    while True:
        lo, hi = trace_words[slot]
        if not slot_ok(lo, hi, v2):
            return ErrorCode.BAD_OPCODE, slot
        opcode = lo & 0xFF
        rule = RULE_TABLE_V2[opcode]
        if rule == SlotRule.CALL and hi & 0xFFFF_FFFF not in NIC_HELPERS:
            return ErrorCode.BAD_CALL, slot
        cost += slot_cost(lo, hi)
        if cost > exec_budget:
            return ErrorCode.EXEC_BUDGET, slot
        if kinds.jumped_into(slot):
            return ErrorCode.BAD_JUMP, slot - 1        # a jump landed on an LD_IMM64's second slot
        if rule in (SlotRule.JA, SlotRule.JCOND_K, SlotRule.JCOND_X):
            target = slot + 1 + isa.sign_extend((lo >> 16) & 0xFFFF, 16)
            if not slot < target <= trace_len:
                return ErrorCode.BAD_JUMP, slot
        hi2 = trace_words[slot + 1][1] if slot + 1 < trace_len else 0
        writes += kinds.step(slot, lo, hi, hi2)
        if writes > enc.WB_ENTRIES:
            return ErrorCode.WB_OVERFLOW, slot
        if opcode == 0x18:
            if slot + 1 >= trace_len:
                return ErrorCode.BAD_OPCODE, slot          # LD_IMM64 without its second slot
            if slot + 2 >= trace_len:
                return ErrorCode.NO_EXIT, trace_len - 1    # it fills the last two slots
            slot += 2
            if kinds.jumped_into(slot - 1):
                return ErrorCode.BAD_JUMP, slot - 2
        elif slot + 1 == trace_len:
            return (ErrorCode.NONE, 0) if opcode == 0x95 else (ErrorCode.NO_EXIT, slot)
        else:
            slot += 1


# ---- extractor slots ------------------------------------------------------------------------------
# The bits of an atom control word that name its packet field: offset, width and byte order.
FIELD_MASK = (((1 << enc.ATOM_OFFSET[1]) - 1) << enc.ATOM_OFFSET[0]
              | ((1 << enc.ATOM_WIDTH[1]) - 1) << enc.ATOM_WIDTH[0] | 1 << enc.ATOM_BE[0])


def field_word(ctrl: int) -> int | None:
    """The field a packet atom reads, as a word in the atom control layout (offset, width, byte
    order; a one-byte field reads the same in either order and is recorded big-endian), or None for
    a length atom, which reads no slot."""
    if (ctrl >> enc.ATOM_KIND[0]) & 1 == AtomKind.LEN:
        return None
    word = ctrl & FIELD_MASK
    if (word >> enc.ATOM_WIDTH[0]) & 3 == enc.WIDTH_CODE[1]:
        word |= 1 << enc.ATOM_BE[0]
    return word


@dataclass(frozen=True)
class SlotPlan:
    """What a commit does to the extractor slots: the slot each staged atom reads (None for length
    atoms), the slots the new entry uses (bit k: slot k) and the fields configured into free slots."""
    error: ErrorCode
    index: int                               # the atom that found no slot (SLOTS_FULL)
    atom_slots: tuple[int | None, ...] = ()  # (SLOTS_FULL: of the atoms before index)
    uses: int = 0
    configure: tuple[tuple[int, int], ...] = ()   # (slot, field word), in atom order


def allocate_slots(atom_ctrls: list[int], fields: list[int], in_use: int) -> SlotPlan:
    """Assign the staged atoms' fields to extractor slots, in atom order: a slot in use (bit k of
    `in_use`: some valid entry other than the victim reads it, or an earlier atom of this entry
    took it) whose field (`fields[k]`) is the atom's is shared, the lowest one; otherwise the lowest
    slot not in use is configured with the atom's field; if none is left the commit fails with
    SLOTS_FULL at this atom. The same algorithm as the commit engine of rtl/jitnic_axil_regs.v."""
    fields = list(fields)
    used, uses, slots, configure = in_use, 0, [], []
    for i, ctrl in enumerate(atom_ctrls):
        key = field_word(ctrl)
        if key is None:
            slots.append(None)
            continue
        share = [k for k in range(len(fields)) if used >> k & 1 and fields[k] == key]
        if share:
            k = share[0]
        else:
            free = [k for k in range(len(fields)) if not used >> k & 1]
            if not free:
                return SlotPlan(ErrorCode.SLOTS_FULL, i, tuple(slots))   # the atoms before it
            k = free[0]
            fields[k] = key
            used |= 1 << k
            configure.append((k, key))
        uses |= 1 << k
        slots.append(k)
    return SlotPlan(ErrorCode.NONE, 0, tuple(slots), uses, tuple(configure))


# ---- compare cells --------------------------------------------------------------------------------
@dataclass(frozen=True)
class CellPlan:
    """Where each staged atom of one entry is compared (rtl/jitnic_match.v): cell k < n_slots is
    slot k's cell, n_slots + j the j-th length cell, n_slots + n_len + g the g-th general atom."""
    error: ErrorCode
    index: int                               # the atom that found no cell (CELLS_FULL)
    atom_cells: tuple[int, ...] = ()


def place_atoms(atom_slots: tuple[int | None, ...], n_slots: int, n_len: int = enc.N_LEN_ATOMS,
                n_gen: int = enc.N_GEN_ATOMS) -> CellPlan:
    """Place one entry's atoms in its compare cells, in atom order, given the extractor slot of
    each (`allocate_slots`' atom_slots; None: a length atom): a packet atom goes to its slot's cell
    if no earlier atom of the entry took it, a length atom to the next length cell; otherwise the
    next general atom; if none is left the commit fails with CELLS_FULL at this atom. Cells are per
    entry, so the outcome depends on this entry's atoms only. The same algorithm as the commit
    engine of rtl/jitnic_axil_regs.v (one atom per cycle, in the pass that assigns slots)."""
    taken, lens, gens, cells = set(), 0, 0, []
    for i, slot in enumerate(atom_slots):
        if slot is not None and slot not in taken:
            taken.add(slot)
            cells.append(slot)
        elif slot is None and lens < n_len:
            cells.append(n_slots + lens)
            lens += 1
        elif gens < n_gen:
            cells.append(n_slots + n_len + gens)
            gens += 1
        else:
            return CellPlan(ErrorCode.CELLS_FULL, i)
    return CellPlan(ErrorCode.NONE, 0, tuple(cells))


@dataclass(frozen=True)
class EntryPlan:
    """A commit's slot assignment and cell placement, and its first error (atom order)."""
    error: ErrorCode
    index: int
    slots: SlotPlan
    cells: CellPlan


def plan_entry(atom_ctrls: list[int], fields: list[int], in_use: int,
               n_len: int = enc.N_LEN_ATOMS, n_gen: int = enc.N_GEN_ATOMS) -> EntryPlan:
    """Slots and cells for one commit in the commit engine's single pass, one atom at a time:
    SLOTS_FULL or CELLS_FULL at the first atom that finds no slot, or no cell (an atom that finds
    no slot is SLOTS_FULL)."""
    slots = allocate_slots(atom_ctrls, fields, in_use)
    cells = place_atoms(slots.atom_slots, len(fields), n_len, n_gen)
    if cells.error != ErrorCode.NONE:
        return EntryPlan(cells.error, cells.index, slots, cells)
    return EntryPlan(slots.error, slots.index, slots, cells)


def condition_placement(atom_ctrls: list[int], n_slots: int = enc.N_SLOTS,
                        n_len: int = enc.N_LEN_ATOMS, n_gen: int = enc.N_GEN_ATOMS) -> EntryPlan:
    """Whether a condition fits one entry on its own, in an empty NIC: CELLS_FULL does not depend
    on the other entries (distinct fields always read distinct slots, and cells are per entry);
    SLOTS_FULL here means more fields than n_slots."""
    return plan_entry(atom_ctrls, [0] * n_slots, 0, n_len, n_gen)


def distinct_fields(atom_ctrls: list[int]) -> int:
    """Extractor slots a condition needs on its own (its distinct packet fields)."""
    return len({f for f in map(field_word, atom_ctrls) if f is not None})


# ---- write-buffer capacity: what a register may point to -------------------------------------
class Kind(IntEnum):
    """What a register holds, as far as a forward scan can tell (docs/abi.md "write buffer")."""
    NUM = 0       # a number not derived from a pointer (immediates, loaded data, pointer differences)
    CTX = 1
    PKT = 2
    STACK = 3
    MAP = 4       # a map handle, map value pointer or global-data address
    UNKNOWN = 5   # anything else (spilled pointers, mixed paths, arithmetic between kinds)


_NOT_MAP = (Kind.CTX, Kind.PKT, Kind.STACK)   # bases whose stores never reach map memory
_PKT_CTX_FIELDS = (0, 4, 8)                   # xdp_md.data, data_end, data_meta
XDP_LOAD_BYTES = 189


def _meet(a: list[Kind], b: list[Kind]) -> list[Kind]:
    return [x if x == y else Kind.UNKNOWN for x, y in zip(a, b)]


class _Provenance:
    """The static write count of WB_OVERFLOW: one scan in slot order, tracking each register's
    Kind. A store, atomic, map update/delete or xdp_load_bytes counts one write-buffer entry
    unless its target is a context, packet or stack pointer. Jumps are forward only, so each slot runs at most once per
    frame and the count bounds every path's writes. At a jump target the kinds of every edge into
    it meet (differing kinds become UNKNOWN); slots after an exit or `ja` are reached only by
    jumps. The RTL keeps the pending kinds in a per-slot table written at jumps, read at targets."""

    def __init__(self, trace_len: int):
        self.regs: list[Kind] | None = [Kind.NUM] * isa.N_REGS
        self.regs[1], self.regs[isa.FP] = Kind.CTX, Kind.STACK
        self.pending: dict[int, list[Kind]] = {}
        self.lddw_second: set[int] = set()

    def jumped_into(self, slot: int) -> bool:
        return slot in self.lddw_second and slot in self.pending

    def _enter(self, slot: int) -> list[Kind]:
        regs, incoming = self.regs, self.pending.pop(slot, None)
        if incoming is not None:
            regs = incoming if regs is None else _meet(regs, incoming)
        if regs is None:                      # unreachable slot: nothing runs it
            regs = [Kind.UNKNOWN] * isa.N_REGS
        return regs

    def _jump_to(self, target: int, regs: list[Kind]) -> None:
        old = self.pending.get(target)
        self.pending[target] = list(regs) if old is None else _meet(old, regs)

    def step(self, slot: int, lo: int, hi: int, hi2: int = 0) -> int:
        """Advance over one slot (`hi2`: the next slot's imm, an LD_IMM64's high half); returns
        the write-buffer entries it may take (0 or 1)."""
        regs = self._enter(slot)
        opcode, dst, src, off, imm = slot_fields(lo, hi)
        rule = RULE_TABLE_V2[opcode]
        writes = 0
        fallthrough = True
        if rule == SlotRule.LDDW:
            self.lddw_second.add(slot + 1)
            # any constant at or above MAP_BASE may be map memory (map handles, global data)
            regs[dst] = Kind.MAP if (hi2 << 32 | imm) >= memmap.MAP_BASE else Kind.NUM
        elif rule in (SlotRule.MOV_K, SlotRule.NEG):
            regs[dst] = Kind.NUM
        elif rule in (SlotRule.MOV64_X, SlotRule.MOV32_X):
            regs[dst] = regs[src] if rule == SlotRule.MOV64_X and off == 0 else _num(regs[src])
        elif rule in (SlotRule.ALU_K, SlotRule.ALU_X, SlotRule.DIV_K, SlotRule.DIV_X, SlotRule.END):
            is64 = opcode & 0x07 == isa.BPF_ALU64
            op = opcode & 0xF0
            s_kind = regs[src] if rule in (SlotRule.ALU_X, SlotRule.DIV_X) else Kind.NUM
            d_kind = regs[dst]
            if is64 and op == isa.BPF_ADD and Kind.NUM in (d_kind, s_kind):
                regs[dst] = s_kind if d_kind == Kind.NUM else d_kind
            elif is64 and op == isa.BPF_SUB and s_kind == Kind.NUM:
                regs[dst] = d_kind
            elif is64 and op == isa.BPF_SUB and d_kind == s_kind and d_kind in _NOT_MAP:
                regs[dst] = Kind.NUM                       # data_end - data: a length
            elif d_kind == Kind.NUM and s_kind == Kind.NUM:
                regs[dst] = Kind.NUM
            else:
                regs[dst] = Kind.UNKNOWN
        elif rule == SlotRule.LDX:
            base = regs[src]
            if base == Kind.CTX and off in _PKT_CTX_FIELDS:
                regs[dst] = Kind.PKT
            elif base in (Kind.CTX, Kind.PKT, Kind.MAP):
                regs[dst] = Kind.NUM
            else:
                regs[dst] = Kind.UNKNOWN                   # stack: a spilled pointer, perhaps
        elif rule in (SlotRule.ST, SlotRule.STX, SlotRule.ATOMIC):
            writes = 0 if regs[dst] in _NOT_MAP else 1
            if rule == SlotRule.ATOMIC and imm & isa.BPF_FETCH:
                regs[0 if imm == isa.BPF_CMPXCHG else src] = Kind.NUM
        elif rule == SlotRule.CALL:
            writes = 1 if imm in MAP_WRITE_HELPERS else 0
            if imm == XDP_LOAD_BYTES and regs[3] not in _NOT_MAP:
                writes = 1                                 # it copies packet bytes to *r3
            regs[0] = Kind.MAP if imm == 1 else Kind.NUM
            keep_ctx = imm == TAIL_CALL and regs[1] == Kind.CTX   # the callee starts with r1 = ctx
            for r in range(1, 6):
                regs[r] = Kind.UNKNOWN
            if keep_ctx:
                regs[1] = Kind.CTX
        elif rule in (SlotRule.JA, SlotRule.JCOND_K, SlotRule.JCOND_X):
            self._jump_to(slot + 1 + isa.sign_extend(off, 16), regs)
            fallthrough = rule != SlotRule.JA
        elif rule == SlotRule.EXIT:
            fallthrough = False
        self.regs = regs if fallthrough else None
        return writes


def _num(kind: Kind) -> Kind:
    return Kind.NUM if kind == Kind.NUM else Kind.UNKNOWN


def wb_writes(code_words: list[tuple[int, int]]) -> int:
    """The static write-buffer count of a trace (what WB_OVERFLOW compares with WB_ENTRIES)."""
    kinds = _Provenance(len(code_words))
    slot, total = 0, 0
    while slot < len(code_words):
        lo, hi = code_words[slot]
        hi2 = code_words[slot + 1][1] if slot + 1 < len(code_words) else 0
        total += kinds.step(slot, lo, hi, hi2)
        slot += 2 if lo & 0xFF == 0x18 else 1
    return total


# ---- Verilog (rtl/jitnic_abi.vh, through jit.nic.encoding.verilog_header) -----------------------
def _reg_check(name: str, kind: str) -> str:
    return f"({name}) == 4'd0" if kind == "0" else f"({name}) <= 4'd{_REG_MAX[kind]}"


def _set_check(name: str, bits: int, values: tuple[int, ...] | None) -> str | None:
    if values is None:
        return None
    return "(" + " || ".join(f"({name}) == {bits}'d{v}" for v in values) + ")"


def verilog_defines() -> list[str]:
    """`define lines: rule codes, the 256-entry rule tables (v1 for the RTL executor of today,
    v2 with jumps, calls and atomics), the field check macros, costs, budget, the helper set."""
    lines = [f"`define SLOT_RULE_{r.name} {4 if r < 16 else 5}'d{int(r)}" for r in SlotRule]
    table = 0
    for op, rule in enumerate(RULE_TABLE):
        table |= int(rule) << (4 * op)
    lines.append(f"`define SLOT_RULE_TABLE 1024'h{table:0256x}")
    table = 0
    for op, rule in enumerate(RULE_TABLE_V2):
        table |= int(rule) << (5 * op)
    lines.append(f"`define SLOT_RULE_TABLE_V2 1280'h{table:0320x}")
    for name, width, rules in (("SLOT_FIELDS_OK", 4, [r for r in RULE_FIELDS if r not in V2_RULES]),
                               ("SLOT_FIELDS_OK_V2", 5, list(RULE_FIELDS))):
        terms = []
        for rule in rules:
            f = RULE_FIELDS[rule]
            checks = [f"(rule) == {width}'d{int(rule)}", _reg_check("dst", f.dst),
                      _reg_check("src", f.src), _set_check("off", 16, f.off),
                      _set_check("imm", 32, f.imm)]
            terms.append("(" + " && ".join(c for c in checks if c) + ")")
        lines.append(f"`define {name}(rule, dst, src, off, imm) (" + " || ".join(terms) + ")")
    lines.append(f"`define ATOM_FIELD_MASK 32'h{FIELD_MASK:08x}")
    lines += [f"`define EXEC_COST_SLOT {enc.EXEC_COST_SLOT}",
              f"`define EXEC_COST_DIV64 {enc.EXEC_COST_DIV64}",
              f"`define EXEC_COST_DIV32 {enc.EXEC_COST_DIV32}",
              f"`define EXEC_COST_ATOMIC {enc.EXEC_COST_ATOMIC}",
              f"`define JITNIC_EXEC_BUDGET {enc.EXEC_BUDGET}"]
    lines += [f"`define KIND_{k.name} 3'd{int(k)}" for k in Kind]
    # slot_cost of a call by helper id (the commit engine's budget; any other id: one slot)
    cost = f"32'd{enc.EXEC_COST_SLOT}"
    for h in sorted(NIC_HELPERS.values(), key=lambda h: -h.id):
        cost = f"(id) == 32'd{h.id} ? 32'd{h.cost} : {cost}"
    lines.append(f"`define SLOT_CALL_COST(id) ({cost})")
    lines += nic_helpers.verilog_defines()
    return lines
