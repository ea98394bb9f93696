"""`jitnic maps PROG.o [--section NAME] [--dump FILE.json]`: list the program's maps like
`bpftool map show` (fd order: the index an LD_IMM64 refers to); with `--dump`, check a map-contents
file against them and print its entries typed by the object's BTF, like `bpftool map dump`."""
from __future__ import annotations

import json

from jit.ebpf import elf
from jit.ebpf.maps import contents
from jit.ebpf.maps.typed import typed
from jit.nic.residency import def_residency


def register(sub) -> None:
    p = sub.add_parser("maps", help="list a program's maps; pretty-print map contents",
                       description=__doc__)
    p.add_argument("program", help="XDP object file (clang -target bpf)")
    p.add_argument("--section", help="program: section or function name (default: the XDP one)")
    p.add_argument("--dump", metavar="FILE", help="map contents (JSON, as --maps-out writes)")
    p.add_argument("--json", action="store_true", help="JSON instead of text")
    p.set_defaults(func=run)


def show(fd: int, d: elf.MapDef) -> str:
    lines = [f"{fd}: {d.type_name}  name {d.name}  flags {d.flags:#x}",
             f"\tkey {d.key_size}B  value {d.value_size}B  max_entries {d.max_entries}"]
    if d.source == "data":
        lines.append(f"\tsection {d.section}{'  frozen' if d.frozen else ''}")
    if d.inner is not None:
        i = d.inner
        lines.append(f"\tinner {i.type_name}  key {i.key_size}B  value {i.value_size}B  "
                     f"max_entries {i.max_entries}")
    if d.initial_entries:
        lines.append("\tvalues " + "  ".join(f"[{i}] = {kind} {name}"
                                             for i, kind, name in d.initial_entries))
    if d.max_entries == 0:
        lines.append("\tmax_entries left to the loader: give it in --maps-in")
    why = def_residency(d)
    lines.append("\tNIC-resident" if why is None else f"\thost-resident: {why.split(': ', 1)[1]}")
    return "\n".join(lines)


def as_dict(fd: int, d: elf.MapDef) -> dict:
    out = {"fd": fd, "name": d.name, "type": d.type_name, "key_size": d.key_size,
           "value_size": d.value_size, "max_entries": d.max_entries, "flags": d.flags,
           "source": d.source}
    if d.section:
        out["section"] = d.section
    if d.frozen:
        out["frozen"] = True
    if d.inner is not None:
        out["inner"] = as_dict(-1, d.inner)
    if d.initial_entries:
        out["values"] = [{"index": i, kind: name} for i, kind, name in d.initial_entries]
    if fd >= 0:
        why = def_residency(d)
        out["nic"] = why is None
        if why is not None:
            out["host_reason"] = why
    return out


def dump(linked: elf.LinkedProgram, mc: contents.MapContents) -> list:
    d = linked.maps[mc.name]
    btf = linked.object.btf
    out = []
    for e in mc.entries:
        # an array's key is its u32 index even where BTF does not say so (global data)
        key = (int.from_bytes(e.key, "little") if d.btf_key_type == 0 and d.key_size == 4
               and d.type_name in ("array", "percpu_array", "prog_array", "array_of_maps",
                                   "devmap", "cpumap") else typed(btf, d.btf_key_type, e.key))
        item = {"key": key}
        if e.values is not None:
            item["values"] = [{"cpu": c, "value": typed(btf, d.btf_value_type, v)}
                              for c, v in enumerate(e.values)]
        elif e.program is not None:
            item["program"] = e.program
        elif e.map is not None:
            item["map"] = e.map
        else:
            item["value"] = typed(btf, d.btf_value_type, e.value)
        out.append(item)
    return out


def run(args) -> int:
    linked = elf.load_linked(args.program, args.section)
    if args.dump:
        data = contents.read_file(args.dump, linked.maps)
        result = {name: dump(linked, mc) for name, mc in data.items()}
        if args.json:
            print(json.dumps(result))
        else:
            for name, entries in result.items():
                print(f"{name}:")
                print(json.dumps(entries, indent=4))
        return 0
    if args.json:
        print(json.dumps([as_dict(fd, d) for fd, d in enumerate(linked.maps.values())]))
    else:
        for fd, d in enumerate(linked.maps.values()):
            print(show(fd, d))
        if not linked.maps:
            print(f"{args.program}: no maps")
    return 0
