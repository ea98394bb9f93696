"""`jitnic trace PROG.o (--packet HEX | --pcap FILE --index N)`: trace one packet's path through an
XDP program and print the straight-line trace, the exact path condition, the installed atoms, the
strengthening notes, the action, instruction counts and, for an uncacheable path, the reason.
Exit status 0 when the path is cacheable, 1 when it is not."""
from __future__ import annotations

import itertools

from jit.ebpf import isa
from jit.traffic import pcap
from jit.cli import state
from jit.cli.output import emit_json
from jit.nic.encoding import HDR_BYTES, MAX_ATOMS, MAX_TRACE_LEN
from jit import JitnicError
from jit.ebpf.memmap import action_name
from jit.compiler.tracer import trace_packet


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
    p.add_argument("--max-atoms", type=int, default=MAX_ATOMS)
    p.add_argument("--max-trace-len", type=int, default=MAX_TRACE_LEN)
    p.add_argument("--hdr-bytes", type=int, default=HDR_BYTES)
    p.add_argument("--json", action="store_true", help="one JSON object instead of text")
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
    for i, rec in enumerate(itertools.islice(pcap.read_records(args.pcap), args.index + 1)):
        runtime.now_ns = rec.ts_ns
        if i == args.index:
            return rec.data
        if runtime.stateful:
            try:
                runtime.run(rec.data)
            except JitnicError:
                pass                # a frame the program faults on leaves the maps as they are
    raise JitnicError(f"{args.pcap}: no packet with index {args.index}")


def run(args) -> int:
    program, runtime = state.load(args)
    frame = _packet(args, runtime)
    r = trace_packet(program.insns, frame, max_atoms=args.max_atoms,
                     max_trace_len=args.max_trace_len, hdr_bytes=args.hdr_bytes, runtime=runtime)
    state.finish(args, runtime)
    if args.json:
        emit_json({"program": program.name, "section": program.section, "length": len(frame),
                   "action": r.action, "action_name": action_name(r.action),
                   "out_hex": r.packet.hex(), "insns_full": r.insns, "insns_trace": len(r.trace),
                   "trace_slots": r.slots, "trace": [isa.disasm_insn(i) for i in r.trace],
                   "exact": [str(p) for p in r.exact], "atoms": [str(a) for a in r.atoms],
                   "atom_words": [list(a.words()) for a in r.atoms], "notes": list(r.notes),
                   "reason": r.reason, "events": list(r.events), "redirect": r.redirect})
        return 0 if r.reason is None else 1
    print(f"{args.program}: {program.section}/{program.name}, {len(program.insns)} instructions; "
          f"packet of {len(frame)} bytes")
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
    if r.notes:
        print("strengthening:")
        for n in r.notes:
            print(f"  {n}")
    for e in r.events:
        print(f"event: {e}")
    if r.redirect is not None:
        print(f"redirect: {r.redirect}")
    print("cacheable: yes" if r.reason is None else f"not cacheable: {r.reason}")
    return 0 if r.reason is None else 1
