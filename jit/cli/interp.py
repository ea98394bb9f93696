"""`jitnic interp PROG.o --pcap FILE`: run every packet of a capture through the reference
interpreter and count the actions (by name). An interpreter error on one packet is counted and the
run goes on; the exit status is 1 if any packet raised one, else 0."""
from __future__ import annotations

from collections import Counter

from jit.ebpf import interp
from jit.traffic import pcap
from jit.cli import state
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
                     help="one JSON object per packet: index, action, out_hex, insns (error; "
                          "events and redirect for programs with helpers)")
    p.set_defaults(func=run)


def run(args) -> int:
    program, runtime = state.load(args)
    actions: Counter[str] = Counter()
    packets = errors = total_insns = 0
    for index, rec in enumerate(pcap.read_records(args.pcap)):
        packets += 1
        frame = rec.data
        try:
            if runtime.stateful:       # maps persist from frame to frame; ktime = capture time
                result = runtime.run(frame, timestamp_ns=rec.ts_ns)
            else:
                result = interp.run_xdp(program.insns, frame)
        except Exception as exc:  # noqa: BLE001 - one bad packet must not end the run; counted
            errors += 1
            if args.jsonl:
                emit_json({"index": index, "action": None, "out_hex": None, "insns": None,
                           "error": _describe(exc)})
            continue
        actions[action_name(result.action)] += 1
        total_insns += result.insns
        if args.jsonl:
            line = {"index": index, "action": result.action,
                    "out_hex": bytes(result.packet).hex(), "insns": result.insns}
            if getattr(result, "events", ()):
                line["events"] = list(result.events)
            if getattr(result, "redirect", None) is not None:
                line["redirect"] = result.redirect
            emit_json(line)
    state.finish(args, runtime)
    if args.json:
        emit_json({"program": program.name, "section": program.section, "packets": packets,
                   "actions": dict(sorted(actions.items())), "errors": errors,
                   "insns": total_insns})
    elif not args.jsonl:
        print(f"{args.program}: {program.section}/{program.name}, {packets} packets, "
              f"{total_insns} instructions executed")
        width = max([len(name) for name in actions] + [len("errors")])
        for name, count in sorted(actions.items()):
            print(f"  {name:<{width}}  {count}")
        print(f"  {'errors':<{width}}  {errors}")
    return 1 if errors else 0


def _describe(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text if isinstance(exc, JitnicError) else f"{type(exc).__name__}: {text}"
