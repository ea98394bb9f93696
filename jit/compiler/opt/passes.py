"""The optimizer's passes. Each is a pure function `(path, env) -> (path, changes)`: it returns a new
`Path` and how many rewrites it made (0: unchanged), and never touches its input.

The shared invariant, which each pass's docstring refines: for every packet satisfying the path's
atoms, the new trace faults exactly when the old one does, and otherwise ends with the same r0[31:0]
and the same packet bytes. Stack contents and other registers at exit are not observable. No pass
adds a memory access or grows the trace (in slots).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from jit.ebpf import isa, memmap
from jit.nic.encoding import Atom
from jit.ebpf.isa import Insn, MASK32, MASK64, sign_extend
from jit.compiler.opt import atoms as atom_passes
from jit.compiler.opt.bytesrc import ORIG, analyze_bytes, as_original_load
from jit.compiler.opt.analysis import (CALL_CLOBBERS, CTX, MOVING_HELPERS, PKT, STACK, Env,
                                       access, analyze, base_for, copy_span, defined, is_barrier,
                                       is_materialization,
                                       materialize, never_faults, used)


@dataclass(frozen=True)
class Path:
    """A trace and the condition under which it runs."""
    trace: tuple[Insn, ...]
    atoms: tuple[Atom, ...]


def _with_trace(path: Path, trace: list[Insn]) -> Path:
    return replace(path, trace=tuple(trace))


# ---- context and address folding ------------------------------------------------------------------
def fold_context(path: Path, env: Env) -> tuple[Path, int]:
    """Context loads with a known value become constants: `data` and `data_meta` are always
    PKT_DATA, ingress_ifindex 1, rx_queue_index and egress_ifindex 0 (docs/abi.md), and `data_end`
    is PKT_DATA + n when an atom pins the length to n. Invariant: the load was an aligned u32 read of
    a context field (it never faults) and the constant is its value."""
    states = analyze(list(path.trace), env)
    out, changes = [], 0
    for i, insn in enumerate(path.trace):
        acc = access(insn)
        if acc is not None and not acc.store:
            loc = states[i].loc(acc)
            value = states[i + 1].regs[insn.dst]
            if (loc is not None and loc.region == CTX and value is not None
                    and never_faults(acc, loc, env, states[i].moved)):
                new = materialize(insn.dst, value)
                if new.slots == 1:
                    out.append(new)
                    changes += 1
                    continue
        out.append(insn)
    return _with_trace(path, out), changes


def fold_addresses(path: Path, env: Env) -> tuple[Path, int]:
    """Memory accesses whose address is known use the best register that holds a nearby known value
    as their base, folding pointer arithmetic into `off`: `r3 = r2; r3 += 14; ldxh r4, [r3+0]`
    becomes `ldxh r4, [r2+14]` (and DCE then drops the arithmetic). Best: a register holding a
    region anchor (PKT_DATA, the stack top, the context base), then the current base, then the
    lowest number. Invariant: the new base register holds, at that point, a value with
    `value + new_off == old address`; the access is otherwise unchanged."""
    states = analyze(list(path.trace), env)
    out, changes = [], 0
    for i, insn in enumerate(path.trace):
        acc = access(insn)
        st = states[i]
        if acc is None or st.regs[acc.base] is None:
            out.append(insn)
            continue
        addr = (st.regs[acc.base] + acc.off) & MASK64
        best, off = base_for(st, addr, acc.base)
        if best == acc.base:
            out.append(insn)
            continue
        if acc.store:
            out.append(Insn(insn.opcode, best, insn.src, off, insn.imm))
        else:
            out.append(Insn(insn.opcode, insn.dst, best, off, insn.imm))
        changes += 1
    return _with_trace(path, out), changes


# ---- constant propagation and folding -------------------------------------------------------------
_SHIFTS = (isa.BPF_LSH, isa.BPF_RSH, isa.BPF_ARSH)


def _as_imm(op: int, is64: bool, value: int) -> int | None:
    """The 32-bit immediate that makes a K-form ALU op behave like the X form with a source register
    holding `value`, or None."""
    if op in _SHIFTS:
        return value & (63 if is64 else 31)          # the interpreter masks the count anyway
    if op in (isa.BPF_DIV, isa.BPF_MOD) and value & (MASK64 if is64 else MASK32) == 0:
        return None                                  # keep division by zero visible as a register
    if is64:
        imm = sign_extend(value, 64)
        return imm if -(1 << 31) <= imm < (1 << 31) else None
    return sign_extend(value & MASK32, 32)           # 32-bit ops read only the low half


def _copies_register(insn: Insn) -> bool:
    """`rd = rs` (64-bit, no sign extension)."""
    return insn.opcode == isa.BPF_ALU64 | isa.BPF_X | isa.BPF_MOV and insn.off == 0


def fold_constants(path: Path, env: Env) -> tuple[Path, int]:
    """Constant propagation through registers, packet and stack bytes, using the atoms' equalities
    (the analysis in `jit.compiler.opt.analysis`):
    - an ALU op, byte swap or lddw whose result is known becomes the smallest materialization of it
      (never more slots than before; an existing `mov`/`mov32`/`lddw` of a constant is replaced
      only by a smaller one);
    - a packet or stack load whose value is known and which cannot fault becomes a 1-slot `mov`;
    - an ALU op with a register source whose value is known takes it as an immediate;
    - a register store of a known value becomes a store of an immediate.
    A copy of the context pointer (`r6 = r1`) stays a copy: the NIC's write-buffer count
    (docs/abi.md) knows a register loaded through a context pointer holds a packet pointer, whose
    stores cost no write-buffer entry, but not one loaded through a constant.
    Invariant: every replacement computes the same value (same interpreter semantics, checked by
    the analysis) and removes no access that could fault."""
    states = analyze(list(path.trace), env)
    out, changes = [], 0
    for i, insn in enumerate(path.trace):
        spec = isa.spec_of(insn)
        before, after = states[i], states[i + 1]
        new = None
        if spec.kind in (isa.ALU, isa.END, isa.LDDW):
            value = after.regs[insn.dst]
            if value == memmap.CTX_BASE and _copies_register(insn):
                pass        # `r6 = r1` keeps the context pointer's kind for the NIC's commit check
            elif value is not None:
                m = materialize(insn.dst, value)
                if is_materialization(insn):
                    new = m if m.slots < insn.slots else None
                elif m.slots <= insn.slots:
                    new = m
            elif (spec.kind == isa.ALU and insn.opcode & isa.BPF_X and spec.op != isa.BPF_MOV
                  and before.regs[insn.src] is not None):
                imm = _as_imm(spec.op, spec.width == 64, before.regs[insn.src])
                if imm is not None:
                    off = insn.off if spec.op in (isa.BPF_DIV, isa.BPF_MOD) else 0
                    new = Insn(insn.opcode & ~isa.BPF_X, insn.dst, 0, off, imm)
        elif spec.kind in (isa.LDX, isa.LDXSX):
            acc = access(insn)
            loc = before.loc(acc)
            value = after.regs[insn.dst]
            if (value is not None and loc is not None and loc.region in (PKT, STACK)
                    and never_faults(acc, loc, env, before.moved)):
                m = materialize(insn.dst, value)
                new = m if m.slots == 1 else None
        elif spec.kind == isa.STX and before.regs[insn.src] is not None:
            value = before.regs[insn.src]
            imm = sign_extend(value & MASK32, 32)
            if spec.size < 8 or isa.imm64(imm) == value:
                new = isa.st_imm(spec.size, insn.dst, insn.off, imm)
        if new is not None and new != insn:
            out.append(new)
            changes += 1
        else:
            out.append(insn)
    return _with_trace(path, out), changes


def _is_identity(insn: Insn, spec, bits: int) -> bool:
    """Whether `insn` leaves its dst unchanged when dst has at most `bits` significant bits."""
    low = (1 << bits) - 1
    if spec.kind == isa.END:
        return spec.op == isa.BPF_TO_LE and bits <= spec.width
    if spec.kind != isa.ALU:
        return False
    if spec.width == 32 and bits > 32:
        return False                     # a 32-bit op clears the upper half
    op = spec.op
    if insn.opcode & isa.BPF_X:
        if op != isa.BPF_MOV or insn.src != insn.dst:
            return False
        return insn.off == 0 or bits < insn.off      # mov / movsx of a value with a clear sign bit
    imm = isa.imm64(insn.imm) if spec.width == 64 else insn.imm & MASK32
    if op in (isa.BPF_ADD, isa.BPF_SUB, isa.BPF_OR, isa.BPF_XOR, *_SHIFTS):
        return imm == 0 if op not in _SHIFTS else imm & (spec.width - 1) == 0
    if op in (isa.BPF_MUL, isa.BPF_DIV):
        return imm == 1 and insn.off == 0
    if op == isa.BPF_AND:
        return low & ~imm == 0
    return False


def drop_identities(path: Path, env: Env) -> tuple[Path, int]:
    """Delete instructions that cannot change their register: `r += 0`, `r *= 1`, `r = r`, `r &= m`
    when r has no bits outside m, `le16 r` when r fits in 16 bits, 32-bit ops only when r fits in
    32 bits (they zero the upper half). Invariant: the analysis's bit-length bound of dst proves the
    instruction is the identity on every value dst can hold there."""
    states = analyze(list(path.trace), env)
    out, changes = [], 0
    for i, insn in enumerate(path.trace):
        spec = isa.spec_of(insn)
        if spec.kind in (isa.ALU, isa.END) and _is_identity(insn, spec, states[i].bits[insn.dst]):
            changes += 1
            continue
        out.append(insn)
    return _with_trace(path, out), changes


# ---- redundant loads and store-to-load forwarding -------------------------------------------------
def forward_loads(path: Path, env: Env) -> tuple[Path, int]:
    """A load of bytes whose value a register still holds becomes a register move (or disappears
    when it is its own destination): the same bytes loaded before (same address, size and
    extension), or stored before from a register (8 bytes: `mov`; 4 bytes: `mov32`, which keeps the
    low half like the load does; 1 or 2 bytes: `mov` when the register is known to fit). Aliasing
    is exact because addresses are absolute: a store to known bytes kills the entries it overlaps,
    a store to an unknown address kills every packet and stack entry.
    The same value numbers delete a register move whose destination already holds the source's
    value (`r2 = r3; r3 = r2`).
    Invariant: the register holds exactly the loaded value, and the earlier access of the same
    bytes did not fault, so the load could not have either."""
    states = analyze(list(path.trace), env)
    vid = list(range(isa.N_REGS))      # value number each register holds
    fresh = isa.N_REGS
    avail: dict[tuple, tuple[int, bool]] = {}   # (region, offset, size, sx) -> (value, low32 only)
    out, changes = [], 0

    def holder(v: int, prefer: int) -> int | None:
        if vid[prefer] == v:
            return prefer
        return next((r for r in range(isa.N_REGS) if vid[r] == v), None)

    for i, insn in enumerate(path.trace):
        spec = isa.spec_of(insn)
        acc = access(insn)
        loc = states[i].loc(acc) if acc is not None else None
        if acc is not None and not acc.store:
            key = (loc.region, loc.offset, acc.size, acc.sx) if loc is not None else None
            entry = avail.get(key) if key is not None else None
            r = holder(entry[0], insn.dst) if entry is not None else None
            if r is not None and not entry[1]:
                changes += 1
                if r != insn.dst:
                    out.append(isa.mov64_reg(insn.dst, r))
                    vid[insn.dst] = entry[0]
                continue
            if r is not None:                  # low 32 bits of a register stored with stxw
                out.append(isa.mov32_reg(insn.dst, r))
                changes += 1
            else:
                out.append(insn)
            vid[insn.dst] = fresh
            if key is not None and key[0] in (PKT, STACK, CTX):
                avail[key] = (fresh, False)
            fresh += 1
            continue
        out.append(insn)
        if spec.kind == isa.CALL:              # r0-r5 hold new values; load/store_bytes write
            span = copy_span(insn, states[i])  # packet or stack bytes (`copy_span`)
            if span is None:
                avail = {k: v for k, v in avail.items() if k[0] == CTX}
            elif span:
                avail = {k: v for k, v in avail.items()
                         if k[0] != span[0] or k[1] + k[2] <= span[1] or span[2] <= k[1]}
            for r in CALL_CLOBBERS:
                vid[r] = fresh
                fresh += 1
            if insn.imm in MOVING_HELPERS:     # new frame bounds and context fields; a packet
                avail = {k: v for k, v in avail.items() if k[0] == STACK}  # load may now fault
            continue
        if spec.kind == isa.ATOMIC:            # its bytes change (wherever they are)
            avail = {k: v for k, v in avail.items() if k[0] == CTX}
            for r in used(insn) - {insn.dst}:
                vid[r] = fresh
                fresh += 1
            continue
        if acc is not None:                    # a store
            if loc is None:
                avail = {k: v for k, v in avail.items() if k[0] == CTX}
                continue
            lo, hi = loc.offset, loc.offset + acc.size
            avail = {k: v for k, v in avail.items()
                     if k[0] != loc.region or k[1] + k[2] <= lo or hi <= k[1]}
            if acc.src is not None and loc.region in (PKT, STACK):
                size, src = acc.size, acc.src
                if size == 8 or states[i].bits[src] <= 8 * size:
                    avail[(loc.region, lo, size, False)] = (vid[src], False)
                elif size == 4:
                    avail[(loc.region, lo, size, False)] = (vid[src], True)
            continue
        d = defined(insn)
        if d is not None:
            if (spec.kind == isa.ALU and spec.op == isa.BPF_MOV and spec.width == 64
                    and insn.opcode & isa.BPF_X and insn.off == 0):
                if vid[d] == vid[insn.src]:    # already holds that value: `r2 = r3; r3 = r2`
                    out.pop()
                    changes += 1
                vid[d] = vid[insn.src]
            else:
                vid[d] = fresh
                fresh += 1
    return _with_trace(path, out), changes


# ---- byte-level combining ------------------------------------------------------------------------
def combine_loads(path: Path, env: Env) -> tuple[Path, int]:
    """An ALU op or byte swap whose result is exactly a little-endian load of original packet bytes
    that are still unmodified becomes that load: `r2 = *(u8 *)(r1 + 5); r2 <<= 8; r3 = *(u8 *)(r1
    + 4); r2 |= r3` ends in `r2 = *(u16 *)(r1 + 4)` (DCE then drops the byte loads). Found with
    the byte-provenance analysis (`jit.compiler.opt.bytesrc`).
    Invariant: the new load reads bytes that hold their original values at that point, giving the
    same value; each of them was loaded earlier on the same straight-line path, so the new load
    is in bounds whenever execution reaches it (it adds no fault)."""
    trace = list(path.trace)
    states, bstates = analyze_bytes(trace, env)
    out, changes = [], 0
    for i, insn in enumerate(trace):
        spec = isa.spec_of(insn)
        if spec.kind == isa.END or (spec.kind == isa.ALU and spec.op != isa.BPF_MOV):
            found = as_original_load(bstates[i + 1].regs[insn.dst])
            if found is not None:
                k, size = found
                unmodified = all(bstates[i].pkt_src(k + j) == ORIG + k + j for j in range(size))
                base = base_for(states[i], memmap.PKT_DATA + k)
                if unmodified and base is not None:
                    out.append(isa.ldx(size, insn.dst, base[0], base[1]))
                    changes += 1
                    continue
        out.append(insn)
    return _with_trace(path, out), changes


def _chunks(final: dict[int, int]) -> list[tuple[int, int, str, int]]:
    """Cover the bytes of `final` ({offset: source}, each a constant or an original byte) with
    stores, widest first: (offset, width, 'const', value) or (offset, width, 'orig', first byte)
    where the chunk's bytes are consecutive original bytes in order."""
    out = []
    todo = sorted(final)
    i = 0
    while i < len(todo):
        b = todo[i]
        for w in (8, 4, 2, 1):
            span = [final.get(b + j) for j in range(w)]
            if any(x is None for x in span):
                continue
            if all(x < ORIG for x in span):
                value = sum(x << (8 * j) for j, x in enumerate(span))
                if w == 8 and isa.imm64(sign_extend(value & MASK32, 32)) != value:
                    continue
                out.append((b, w, "const", value))
                break
            if all(x == span[0] + j for j, x in enumerate(span)) and span[0] >= ORIG:
                out.append((b, w, "orig", span[0] - ORIG))
                break
        else:                                   # a single byte is always one or the other
            raise AssertionError("unreachable")
        i += w
        while i < len(todo) and todo[i] < b + w:
            i += 1
    return out


def coalesce_packet_writes(path: Path, env: Env) -> tuple[Path, int]:
    """Rewrite packet stores whose final bytes are constants or original packet bytes (header
    rewrites, MAC and IP address swaps) as wide stores fed by wide loads of the original bytes:
    the byte shuffle that swaps two MAC addresses becomes two loads and two stores per address.
    A store qualifies when every byte it writes ends the trace holding a constant or an original
    byte (byte provenance, `jit.compiler.opt.bytesrc`) and no later load reads any of its bytes. The new
    code goes at the end of the trace when the bytes it copies are still original there (loads
    and stores grouped so that no store overwrites a byte another group still has to load);
    otherwise the loads go near the start and hold their values in free registers until the
    stores at the end. Kept only if the trace, after DCE, gets shorter; gives up when registers
    run out or any access has an unknown address.
    Invariant: the final packet bytes are the same (the new stores write each moved byte's final
    value, after everything else; kept stores are untouched and no load observes the difference);
    faults are the same: the new stores write exactly the moved bytes, so the furthest one ends
    where the furthest moved store did, and every byte loaded was loaded by the input trace on the
    same path (so it is inside the frame whenever execution gets there)."""
    trace = list(path.trace)
    if any(is_barrier(insn) for insn in trace):
        return path, 0          # moving stores past a guard or a call is not worth the risk
    states, bstates = analyze_bytes(trace, env)
    exit_at = next(i for i, insn in enumerate(trace) if isa.spec_of(insn).kind == isa.EXIT)
    final = bstates[exit_at]
    stores, loads = [], []
    for i, insn in enumerate(trace[:exit_at]):
        acc = access(insn)
        if acc is None:
            continue
        loc = states[i].loc(acc)
        if loc is None:
            return path, 0
        if loc.region == PKT:
            (stores if acc.store else loads).append((i, loc.offset, acc.size))
    moved: dict[int, int] = {}
    removed = set()
    for i, off, size in stores:
        srcs = [final.pkt_src(off + j) for j in range(size)]
        if any(x is None for x in srcs):
            continue
        if any(j > i and lo < off + size and off < lo + n for j, lo, n in loads):
            continue
        removed.add(i)
        moved.update({off + j: x for j, x in enumerate(srcs)})
    if not removed:
        return path, 0
    chunks = _chunks(moved)
    # the trace without the moved stores, cleaned, is where the new code goes
    bare, _ = eliminate_dead_code(_with_trace(path, [x for i, x in enumerate(trace)
                                                      if i not in removed]), env)
    body = list(bare.trace)
    new = _copies_at_end(body, chunks, env)
    if new is None:
        new = _copies_from_start(body, chunks, env)
    if new is None:
        return path, 0
    before, _ = eliminate_dead_code(path, env)
    if sum(x.slots for x in new) >= sum(x.slots for x in before.trace):
        return path, 0
    return _with_trace(path, new), len(removed)


def _copy_groups(chunks: list) -> list[list]:
    """The 'orig' chunks in groups: a chunk whose destination overlaps another's source is in its
    group, so emitting each group as loads-then-stores never reads an overwritten byte."""
    origs = [c for c in chunks if c[2] == "orig"]
    group = list(range(len(origs)))

    def find(x: int) -> int:
        while group[x] != x:
            group[x] = group[group[x]]
            x = group[x]
        return x

    for a, (ja, wa, _, _) in enumerate(origs):
        for b, (_, wb, _, kb) in enumerate(origs):
            if ja < kb + wb and kb < ja + wa:
                group[find(a)] = find(b)
    out: dict[int, list] = {}
    for i, c in enumerate(origs):
        out.setdefault(find(i), []).append(c)
    return list(out.values())


def _pkt_base(state) -> tuple[int, int] | None:
    """(register, value) of a register pointing into the packet near `data` at a point with this
    state (see `base_for`), or None."""
    found = base_for(state, memmap.PKT_DATA)
    return None if found is None else (found[0], state.regs[found[0]])


def _at(base: tuple[int, int], offset: int) -> int | None:
    """The `off` that makes `base` reach packet byte `offset`, or None if it does not fit."""
    off = memmap.PKT_DATA + offset - base[1]
    return off if -0x8000 <= off <= 0x7FFF else None


def _stores_for(chunks, base: tuple[int, int], regs) -> list[Insn]:
    out = []
    for off, w, kind, value in chunks:
        boff = _at(base, off)
        if kind == "const":
            out.append(isa.st_imm(w, base[0], boff, sign_extend(value & MASK32, 32)))
        else:
            out.append(isa.stx(w, base[0], regs[(w, value)], boff))
    return out


def _reachable(base, chunks) -> bool:
    return all(_at(base, off) is not None and (kind == "const" or _at(base, k) is not None)
               for off, _, kind, k in chunks)


def _copies_at_end(body: list[Insn], chunks: list, env: Env) -> list[Insn] | None:
    """`body` with the chunks written just before its exit (loads of each group, then its stores;
    constant chunks last), or None if a copied byte is no longer original there or registers run
    out. Only r0 is live at exit, so every register but r0, r10 and the base is free."""
    end = len(body) - 1
    states, bstates = analyze_bytes(body, env)
    if any(bstates[end].pkt_src(k + j) != ORIG + k + j
           for _, w, kind, k in chunks if kind == "orig" for j in range(w)):
        return None
    tail: list[Insn] = []
    base = _pkt_base(states[end])
    if base is not None and not _reachable(base, chunks):
        base = None
    free = [r for r in range(1, isa.FP) if base is None or r != base[0]]
    if base is None:
        base = (free.pop(0), memmap.PKT_DATA)
        tail.append(materialize(*base))
    for group in _copy_groups(chunks):
        srcs = list(dict.fromkeys((w, k) for _, w, _, k in group))
        if len(srcs) > len(free):
            return None
        regs = dict(zip(srcs, free))
        tail += [isa.ldx(w, regs[(w, k)], base[0], _at(base, k)) for w, k in srcs]
        tail += _stores_for(group, base, regs)
    tail += _stores_for([c for c in chunks if c[2] == "const"], base, {})
    return body[:end] + tail + body[end:]


def _copies_from_start(body: list[Insn], chunks: list, env: Env) -> list[Insn] | None:
    """`body` with the original bytes loaded at the first point where a register points into the
    packet (or at the start, with one made), kept in registers the rest of the body never touches,
    and the chunks written before the exit; None when that is impossible."""
    origs = list(dict.fromkeys((c[1], c[3]) for c in chunks if c[2] == "orig"))  # (width, first)
    bst = analyze(body, env)
    end = len(body) - 1
    loads = [c for c in chunks if c[2] == "orig"]
    q = next((i for i, st in enumerate(bst[:end + 1])
              if _pkt_base(st) is not None and _reachable(_pkt_base(st), loads)), 0)
    _, bb = analyze_bytes(body, env)
    if any(bb[q].pkt_src(k + j) != ORIG + k + j for w, k in origs for j in range(w)):
        return None
    busy = {0, isa.FP}
    for insn in body[q:]:
        busy |= used(insn)
        d = defined(insn)
        if d is not None:
            busy.add(d)
    base = _pkt_base(bst[q])
    if base is not None and not _reachable(base, loads):
        base = None
    free = [r for r in range(isa.N_REGS) if r not in busy and (base is None or r != base[0])]
    pro: list[Insn] = []
    if base is None:
        if not free:
            return None
        base = (free.pop(0), memmap.PKT_DATA)
        pro = [materialize(*base)]
    if len(origs) > len(free):
        return None
    regs = dict(zip(origs, free))
    free = free[len(origs):]
    pro += [isa.ldx(w, regs[(w, k)], base[0], _at(base, k)) for w, k in origs]
    mid = body[:q] + pro + body[q:end]
    tail_base = _pkt_base(analyze(mid, env)[-1])
    extra: list[Insn] = []
    if tail_base is None or not _reachable(tail_base, chunks):
        if not free:
            return None
        tail_base = (free[0], memmap.PKT_DATA)
        extra = [materialize(*tail_base)]
    return mid + extra + _stores_for(chunks, tail_base, regs) + body[end:]


# ---- dead code ---------------------------------------------------------------------------------------
def eliminate_dead_code(path: Path, env: Env) -> tuple[Path, int]:
    """Backward liveness over registers (only r0 is live at exit), stack bytes and packet bytes:
    - everything after the first `exit` goes;
    - an ALU op, byte swap or lddw whose result is dead goes;
    - a load whose result is dead goes only if it cannot fault (`never_faults`: known address,
      inside the frame for every packet satisfying the atoms, or on the stack, or an aligned
      context field) -- a load that might fault stays, so the set of faulting packets is unchanged;
    - a store to known stack bytes that no later load reads goes (a load from an unknown address
      keeps every earlier stack store);
    - a store to known packet bytes that later stores overwrite completely before any load can read
      them goes: the output bytes are the later stores', and the store that covers its last byte
      ends at least as far, so it faults on every packet where the removed one did.
    Invariant: removed instructions have no observable effect on non-faulting runs and remove no
    fault."""
    trace = list(path.trace)
    cut = next(i for i, insn in enumerate(trace) if isa.spec_of(insn).kind == isa.EXIT) + 1
    changes = len(trace) - cut
    trace = trace[:cut]
    states = analyze(trace, env)
    live: set[int] = {0}
    stack_live: set[int] = set()
    stack_all = False                   # a later load may read any stack byte
    pkt_over: set[int] = set()          # packet bytes that later stores overwrite before any read
    keep = [True] * len(trace)
    for i in range(len(trace) - 1, -1, -1):
        insn = trace[i]
        spec = isa.spec_of(insn)
        if spec.kind == isa.EXIT:
            live = {0}
            continue
        if is_barrier(insn):            # guards, calls, atomics stay; a call or an atomic may
            if spec.kind == isa.CALL:   # read any stack or packet byte (a key, a csum_diff span)
                live -= set(CALL_CLOBBERS)
            if spec.kind in (isa.CALL, isa.ATOMIC):
                stack_all = True
                pkt_over = set()
            live |= used(insn)
            continue
        acc = access(insn)
        loc = states[i].loc(acc) if acc is not None else None
        if acc is None:
            d = defined(insn)
            if d is not None and d not in live:
                keep[i] = False
                continue
            live.discard(d)
            live |= used(insn)
            continue
        if not acc.store:
            if insn.dst not in live and never_faults(acc, loc, env, states[i].moved):
                keep[i] = False
                continue
            live.discard(insn.dst)
            live |= used(insn)
            span = set(range(loc.offset, loc.offset + acc.size)) if loc is not None else set()
            if loc is None:
                stack_all = True
                pkt_over = set()
            elif loc.region == STACK:
                stack_live |= span
            elif loc.region == PKT:
                pkt_over -= span
            continue
        span = set(range(loc.offset, loc.offset + acc.size)) if loc is not None else set()
        if loc is not None and loc.region == STACK:
            if not stack_all and not span & stack_live:
                keep[i] = False
                continue
            stack_live -= span
        elif loc is not None and loc.region == PKT:
            if span <= pkt_over:
                keep[i] = False
                continue
            pkt_over |= span
        live |= used(insn)
    changes += keep.count(False)
    return _with_trace(path, [insn for insn, k in zip(trace, keep) if k]), changes


# ---- the condition ---------------------------------------------------------------------------------
def drop_implied_atoms(path: Path, env: Env) -> tuple[Path, int]:
    """Drop atoms implied by the others (`jit.compiler.opt.atoms.drop_implied`). Invariant: the condition
    matches the same packets."""
    atoms, n = atom_passes.drop_implied(path.atoms, env.hdr_bytes)
    return (replace(path, atoms=tuple(atoms)), n) if n else (path, 0)


def merge_atom_equalities(path: Path, env: Env) -> tuple[Path, int]:
    """Re-cover packet equality atoms with fewer, wider ones (`jit.compiler.opt.atoms.merge_equalities`).
    Invariant: the condition matches the same packets."""
    atoms, n = atom_passes.merge_equalities(path.atoms, env.hdr_bytes)
    return (replace(path, atoms=tuple(atoms)), n) if n else (path, 0)
