"""`jitnic trace PROG.o (--packet HEX | --pcap FILE --index N)`: trace one packet's path through an
XDP program and print the trace, the exact path condition, the installed atoms, the guards the
trace checks itself (and why each exists), the strengthening notes, where each of the program's
maps lives (NIC or host, with the reason), the action, instruction counts, the NIC entry the host would install (atoms and
trace after optimization), how its atoms sit in an entry's compare cells and, for an uncacheable
path, the reason (a condition the compare cells cannot hold is refused by every commit,
CELLS_FULL). `--nic` prints only the NIC
trace, in `jitnic disasm`'s listing style. `--index` is the record position in the capture (from 0,
empty records included), as in `interp` and `run`. A frame the host cannot run (the program faults
on it) is reported as a host error with its reason. Exit status 0 when the path is cacheable, 1 when
it is not (the verdict of the host's miss handler: NIC limits apply after optimization) or the host
cannot run it."""
from __future__ import annotations

import itertools

from jit.ebpf import isa
from jit.cli import state
from jit.cli.capture import add_capture_arguments, open_capture, print_notes
from jit.cli.output import emit_json
from jit.cli.run import param_type
from jit.nic.encoding import HDR_BYTES, MAX_ATOMS, MAX_TRACE_LEN, N_GEN_ATOMS, N_LEN_ATOMS, N_SLOTS
from jit import JitnicError
from jit.ebpf.memmap import action_name
from jit.host.miss_handler import compile_path
from jit.nic import map_sync
from jit.nic.nic_helpers import HELPER_SETS
from jit.nic.residency import map_residency
from jit.nic.validate import condition_placement


def register(sub) -> None:
    p = sub.add_parser("trace", help="trace one packet: trace, path condition, installed atoms",
                       description=__doc__)
    p.add_argument("program", help="XDP object file (clang -target bpf)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--packet", metavar="HEX", help="the frame as hex digits (spaces and ':' allowed)")
    src.add_argument("--pcap", metavar="FILE", help="capture (pcap or pcapng, Ethernet)")
    p.add_argument("--index", type=int, default=0, help="packet index in --pcap (from 0; default 0)")
    p.add_argument("--section", help="program: section or function name (default: the XDP one)")
    state.add_arguments(p)
    p.add_argument("--max-atoms", type=param_type("MAX_ATOMS", "--max-atoms"), default=MAX_ATOMS,
                   help="NIC limit: atoms per entry's condition")
    p.add_argument("--max-trace-len", type=param_type("MAX_TRACE_LEN", "--max-trace-len"),
                   default=MAX_TRACE_LEN,
                   help="NIC limit: 64-bit instruction slots per trace (after optimization)")
    p.add_argument("--hdr-bytes", type=param_type("HDR_BYTES", "--hdr-bytes"), default=HDR_BYTES,
                   help="NIC header window in bytes: atoms read and traces store only here")
    p.add_argument("--len-atoms", type=param_type("N_LEN_ATOMS", "--len-atoms"),
                   default=N_LEN_ATOMS, help="NIC limit: length cells per entry")
    p.add_argument("--gen-atoms", type=param_type("N_GEN_ATOMS", "--gen-atoms"),
                   default=N_GEN_ATOMS,
                   help="NIC limit: general atoms per entry (second and later atoms on one field, "
                        "length atoms beyond the length cells)")
    p.add_argument("--no-opt", action="store_true", help="the NIC entry without optimization")
    p.add_argument("--no-guards", action="store_true",
                   help="trace as for a NIC without guards (trace format v1: relations between "
                        "fields pinned, paths through maps and helpers on the host)")
    p.add_argument("--helpers", choices=sorted(HELPER_SETS), default="full",
                   help="the NIC's helper set: full (the model's executor, default) or rtl "
                        "(rtl/jitnic_exec.v's: paths calling other helpers stay on the host)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="one JSON object instead of text")
    out.add_argument("--nic", action="store_true",
                     help="print only the trace the NIC runs (after optimization), as a listing")
    add_capture_arguments(p)
    p.set_defaults(func=run)


def _packet(args, runtime) -> bytes:
    """The frame to trace. From a capture, a stateful program first runs the frames before it, so
    its maps hold what they would when frame `--index` arrives."""
    if args.packet is not None:
        text = "".join(args.packet.replace(":", "").split())
        try:
            return bytes.fromhex(text)
        except ValueError:
            raise JitnicError(f"--packet: not hex digits: {args.packet!r}") from None
    if args.index < 0:
        raise JitnicError(f"--index must be >= 0, not {args.index}")
    capture = open_capture(args)
    for i, (ts_ns, frame) in enumerate(itertools.islice(capture.stamped_frames(), args.index + 1)):
        runtime.now_ns = ts_ns
        if i == args.index:
            print_notes(capture)
            return frame
        if runtime.stateful:
            try:
                runtime.run(frame)
            except JitnicError:
                pass                # a frame the program faults on leaves the maps as they are
    cut = f" ({capture.warnings[0].removeprefix('warning: ')})" if capture.warnings else ""
    raise JitnicError(f"{args.pcap}: no packet with index {args.index}{cut}")


def run(args) -> int:
    program, runtime = state.load(args)
    frame = _packet(args, runtime)
    # One run of the path, as the host's miss handler does it: trace (the full program runs once,
    # through the runtime for a program with maps), optimize, and check the NIC's limits on the
    # result. `r` is the path as traced, `nic` the entry the host would install.
    r, nic, reason = compile_path(program.insns, frame, max_atoms=args.max_atoms,
                                  max_trace_len=args.max_trace_len, hdr_bytes=args.hdr_bytes,
                                  do_optimize=not args.no_opt, runtime=runtime,
                                  guards=not args.no_guards, helper_set=args.helpers,
                                  host_maps=(map_sync.plan(runtime.maps).host
                                             if args.helpers == "rtl" else None))
    state.finish(args, runtime)
    nic_trace = isa.decode(nic.code) if nic is not None else []
    cells = _placement(nic, args) if nic is not None else None
    if nic is not None and reason is None and cells.error.name != "NONE":
        reason = (f"the condition does not fit an entry's compare cells: {cells.error.name} at "
                  f"atom {cells.index} (N_SLOTS {N_SLOTS}, --len-atoms {args.len_atoms}, "
                  f"--gen-atoms {args.gen_atoms}); every commit refuses it")
    maps = [(m.name, m.d.type_name, map_residency(m)) for m in runtime.maps.by_fd]
    if args.nic:
        if nic is None:
            raise JitnicError(f"this path is not cacheable: {reason}")
        print(isa.disasm(nic_trace, symbol=f"{program.name}_nic_trace"), end="")
        return 0
    if args.json:
        emit_json({"program": program.name, "section": program.section, "length": len(frame),
                   "action": r.action,
                   "action_name": None if r.action is None else action_name(r.action),
                   "host_error": r.error,
                   "out_hex": r.packet.hex(), "insns_full": r.insns, "insns_trace": len(r.trace),
                   "trace_slots": r.slots, "trace": [isa.disasm_insn(i) for i in r.trace],
                   "exact": [str(p) for p in r.exact], "atoms": [str(a) for a in r.atoms],
                   "atom_words": [list(a.words()) for a in r.atoms], "notes": list(r.notes),
                   "guards": [{"slot": g.slot, "why": g.why, "holds": g.text} for g in r.guards],
                   "maps": [{"name": n, "type": t, "nic": why is None, "why_host": why}
                            for n, t, why in maps],
                   "nic_atoms": [str(a) for a in nic.atoms] if nic else None,
                   "nic_trace": [isa.disasm_insn(i) for i in nic_trace] if nic else None,
                   "nic_slots": len(nic.code) // 8 if nic else None,
                   "nic_cells": list(cells.cells.atom_cells) if cells and not reason else None,
                   "reason": reason, "events": list(r.events), "redirect": r.redirect})
        return 0 if reason is None else 1
    print(f"{args.program}: {program.section}/{program.name}, {len(program.insns)} instructions; "
          f"packet of {len(frame)} bytes")
    if r.error is not None:
        print(f"host error: the program cannot run on this frame: {r.error}")
    else:
        print(f"action: {action_name(r.action)}"
              + ("" if r.packet == frame else " (packet modified)"))
    print(f"instructions: {r.insns} executed by the full program, {len(r.trace)} in the trace "
          f"({r.slots} slots)")
    if r.trace:
        print("trace:")
        print(isa.disasm(r.trace), end="")
    print("exact condition:")
    for p in r.exact:
        print(f"  {p}")
    if not len(r.exact):
        print("  true")
    if r.reason is None:
        print(f"installed atoms ({len(r.atoms)}):")
        for a in r.atoms:
            print(f"  {a}")
        if not r.atoms:
            print("  (none: matches every frame)")
    if r.guards:
        print(f"guards ({len(r.guards)}), checked by the trace; the path needs:")
        for g in r.guards:
            print(f"  slot {g.slot}: {g.text}   [{g.why}]")
    if maps:
        print("maps:")
        for name, kind, why in maps:
            print(f"  {name} ({kind}): " + ("NIC" if why is None else f"host: {why}"))
    if r.notes:
        print("strengthening:")
        for n in r.notes:
            print(f"  {n}")
    for e in r.events:
        print(f"event: {e}")
    if r.redirect is not None:
        print(f"redirect: {r.redirect}")
    if nic is not None:
        how = "without optimization" if args.no_opt else "after optimization"
        print(f"NIC entry ({how}): {len(nic.atoms)} atoms, {len(nic_trace)} instructions "
              f"({len(nic.code) // 8} slots)")
        for a in nic.atoms:
            print(f"  {a}")
        print(isa.disasm(nic_trace), end="")
        if cells.error.name == "NONE":
            print(f"compare cells: {_cell_summary(cells.cells.atom_cells, args)}")
    print("cacheable: yes" if reason is None else f"not cacheable: {reason}")
    return 0 if reason is None else 1


def _placement(nic, args):
    """The NIC entry's atoms in one entry's compare cells (jit/nic/validate.py): whether they fit
    depends on the condition alone."""
    return condition_placement([a.words()[0] for a in nic.atoms], N_SLOTS, args.len_atoms,
                               args.gen_atoms)


def _cell_summary(cells: tuple[int, ...], args) -> str:
    slot = sum(c < N_SLOTS for c in cells)
    length = sum(N_SLOTS <= c < N_SLOTS + args.len_atoms for c in cells)
    general = len(cells) - slot - length
    return (f"{slot} slot cells, {length} of {args.len_atoms} length cells, {general} of "
            f"{args.gen_atoms} general atoms")
