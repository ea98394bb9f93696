"""`jitnic interp PROG.o --pcap FILE`: run every packet of a capture through the reference
interpreter and count the actions (by name). Packets are numbered by their record position in the
capture (from 0, empty records included, as `run` and `trace --index` number them). An interpreter
error on one packet (a fault, an unsupported instruction or helper, the instruction budget) is
counted with its reason and the run goes on; the exit status is 1 if any packet raised one, else 0."""
from __future__ import annotations

from collections import Counter

from jit.ebpf import interp
from jit.cli import state
from jit.cli.capture import add_capture_arguments, open_capture, print_notes
from jit.cli.output import emit_json
from jit import JitnicError
from jit.ebpf.memmap import action_name


def register(sub) -> None:
    p = sub.add_parser("interp", help="run a capture through the reference interpreter",
                       description=__doc__)
    p.add_argument("program", help="XDP object file (clang -target bpf)")
    p.add_argument("--pcap", required=True, help="capture (pcap or pcapng, Ethernet)")
    p.add_argument("--section", help="program: section or function name (default: the XDP one)")
    state.add_arguments(p)
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="one JSON summary object")
    out.add_argument("--jsonl", action="store_true",
                     help="one JSON object per packet: index, length, action, action_name, out_hex, "
                          "insns (error; events and redirect for programs with helpers)")
    add_capture_arguments(p)
    p.set_defaults(func=run)


def run(args) -> int:
    program, runtime = state.load(args)
    actions: Counter[str] = Counter()
    reasons: Counter[str] = Counter()          # error kind -> packets
    packets = errors = total_insns = empty = 0
    capture = open_capture(args)
    for index, (ts_ns, frame) in enumerate(capture.stamped_frames()):
        packets += 1
        empty += not frame
        try:
            if runtime.stateful:       # maps persist from frame to frame; ktime = capture time
                result = runtime.run(frame, timestamp_ns=ts_ns)
            else:
                result = interp.run_xdp(program.insns, frame)
        except Exception as exc:  # noqa: BLE001 - one bad packet must not end the run; counted
            errors += 1
            why = _describe(exc)
            reasons[why.split(":")[0]] += 1
            if args.jsonl:
                emit_json({"index": index, "length": len(frame), "action": None, "out_hex": None,
                           "insns": None, "error": why})
            continue
        actions[action_name(result.action)] += 1
        total_insns += result.insns
        if args.jsonl:
            line = {"index": index, "length": len(frame), "action": result.action,
                    "action_name": action_name(result.action),
                    "out_hex": bytes(result.packet).hex(), "insns": result.insns}
            if getattr(result, "events", ()):
                line["events"] = list(result.events)
            if getattr(result, "redirect", None) is not None:
                line["redirect"] = result.redirect
            emit_json(line)
    state.finish(args, runtime)
    if args.json:
        emit_json({"program": program.name, "section": program.section, "packets": packets,
                   "empty_records": empty, "actions": dict(sorted(actions.items())),
                   "errors": errors, "error_reasons": dict(sorted(reasons.items())),
                   "insns": total_insns})
    elif not args.jsonl:
        print(f"{args.program}: {program.section}/{program.name}, {packets} packets "
              f"({empty} empty records), {total_insns} instructions executed")
        width = max([len(name) for name in actions] + [len("errors")])
        for name, count in sorted(actions.items()):
            print(f"  {name:<{width}}  {count}")
        print(f"  {'errors':<{width}}  {errors}")
        for why, count in sorted(reasons.items()):
            print(f"    {why}: {count}")
    print_notes(capture)
    return 1 if errors else 0


def _describe(exc: Exception) -> str:
    """`KIND: MESSAGE` on one line (the kind counts errors in the summary)."""
    if isinstance(exc, interp.InterpError):
        return interp.describe_error(exc)
    text = " ".join(str(exc).split())
    return f"error: {text}" if isinstance(exc, JitnicError) else f"{type(exc).__name__}: {text}"
