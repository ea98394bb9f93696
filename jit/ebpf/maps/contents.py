"""Map contents as JSON: the `--maps-in` / `--maps-out` format, read and written only here.

    {"maps": {NAME: {"type": "percpu_array", "key_size": 4, "value_size": 8, "max_entries": 256,
                     "entries": [{"key": HEX, "value": HEX}, ...]}}}

* Keys and values are raw bytes in hex, as they lie in memory (little-endian integers, structs with
  their padding); whitespace inside a hex string is ignored.
* Per-CPU maps (percpu_array, percpu_hash, lru_percpu_hash): output has `"values": [HEX, ...]`,
  one per CPU; input takes either `"values"` (one per CPU) or `"value"` (copied to every CPU).
* prog_array: `{"key": HEX, "program": NAME}`, NAME any name `elf.select_program` accepts
  (function or section). array_of_maps / hash_of_maps: `{"key": HEX, "map": NAME}`, NAME another
  map of the same object. These two replace the kernel's fds, which mean nothing in a file.
* Output leaves out array entries whose value (every CPU's) is all zeros; entries come in key
  order (array index order; other maps sorted by key bytes). Event maps (perf_event_array,
  ringbuf) have no entries.
* Input: every map named must exist in the program's object; `type`, `key_size`, `value_size`,
  `max_entries` are optional and, when given, must equal the object's definition — except
  `max_entries` of a map the object leaves at 0 for its loader to set, where it is required and
  sets the size (`sized(defs, contents)` gives the definitions to create the maps from). Maps not named
  keep their initial contents (zeros; global data its initial bytes). Errors are one line
  (`MapsFileError`) naming the file and the JSON path of the bad item.

The exchange type is `MapContents` (one map's entries as `Entry` records): `read_file`/`parse`
turn JSON into it, checked against the object's `MapDef`s; `to_json`/`write_file` turn it back.
Live maps give and take entries through `dump()` -> list[Entry] and `load(entry)` (the
interpreter's maps, jit/ebpf/maps/; the kernel oracle converts its own). `sum_cpus` is the
comparison rule for per-CPU values against the kernel, which runs a test on one CPU.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping

from jit import JitnicError

PERCPU_TYPES = ("percpu_array", "percpu_hash", "lru_percpu_hash")
PROG_TYPES = ("prog_array",)
MAP_IN_MAP_TYPES = ("array_of_maps", "hash_of_maps")
EVENT_TYPES = ("perf_event_array", "ringbuf")
ARRAY_TYPES = ("array", "percpu_array")


class MapsFileError(JitnicError):
    """A map-contents file that cannot be used: one line naming the file and the item."""


@dataclass(frozen=True)
class Entry:
    """One map entry. Exactly one of value / values / program / map is set."""
    key: bytes
    value: bytes | None = None                 # the value (input: every CPU of a per-CPU map)
    values: tuple[bytes, ...] | None = None    # per-CPU values, one per CPU
    program: str | None = None                 # prog_array: the program in this slot
    map: str | None = None                     # map-in-map: the inner map in this slot


@dataclass
class MapContents:
    name: str
    type: str
    key_size: int
    value_size: int
    max_entries: int
    entries: list[Entry] = field(default_factory=list)


def _hex(text, where: str, size: int | None, what: str) -> bytes:
    if not isinstance(text, str):
        raise MapsFileError(f"{where}: {what} must be a hex string, not {type(text).__name__}")
    clean = "".join(text.split())
    try:
        data = bytes.fromhex(clean)
    except ValueError:
        raise MapsFileError(f"{where}: {what} {text!r} is not hex bytes") from None
    if size is not None and len(data) != size:
        raise MapsFileError(f"{where}: {what} has {len(data)} bytes, the map's {what}_size is "
                            f"{size}")
    return data


def parse(doc, defs: Mapping[str, object], source: str = "maps file") -> dict[str, MapContents]:
    """Check a decoded JSON document against the object's map definitions (`elf.MapDef` by name)
    and return its contents by map name."""
    if not isinstance(doc, dict) or not isinstance(doc.get("maps"), dict):
        raise MapsFileError(f"{source}: expected an object {{\"maps\": {{NAME: ...}}}}")
    out: dict[str, MapContents] = {}
    for name, spec in doc["maps"].items():
        where = f"{source}: maps.{name}"
        d = defs.get(name)
        if d is None:
            raise MapsFileError(f"{where}: the program has no map {name!r} (maps: "
                                f"{', '.join(defs) or 'none'})")
        if not isinstance(spec, dict):
            raise MapsFileError(f"{where}: expected an object with \"entries\"")
        if d.max_entries == 0 and not isinstance(spec.get("max_entries"), int):
            raise MapsFileError(f"{where}: the object leaves max_entries to its loader (0): give "
                                "\"max_entries\"")
        for attr, want in (("type", d.type_name), ("key_size", d.key_size),
                           ("value_size", d.value_size), ("max_entries", d.max_entries)):
            if attr == "max_entries" and d.max_entries == 0:
                continue                     # set here, as libbpf's bpf_map__set_max_entries
            if attr in spec and spec[attr] != want:
                raise MapsFileError(f"{where}.{attr}: {spec[attr]!r}, but the program's map has "
                                    f"{want!r}")
        unknown = set(spec) - {"type", "key_size", "value_size", "max_entries", "entries"}
        if unknown:
            raise MapsFileError(f"{where}: unknown field {sorted(unknown)[0]!r}")
        entries = spec.get("entries", [])
        if not isinstance(entries, list):
            raise MapsFileError(f"{where}.entries: expected a list")
        mc = MapContents(name, d.type_name, d.key_size, d.value_size,
                         d.max_entries or spec["max_entries"])
        for i, e in enumerate(entries):
            mc.entries.append(_entry(e, f"{where}.entries[{i}]", d))
        out[name] = mc
    return out


def _entry(e, where: str, d) -> Entry:
    if not isinstance(e, dict) or "key" not in e:
        raise MapsFileError(f"{where}: expected an object with \"key\"")
    key = _hex(e["key"], where, d.key_size, "key")
    kinds = [k for k in ("value", "values", "program", "map") if k in e]
    unknown = set(e) - {"key", "value", "values", "program", "map"}
    if unknown:
        raise MapsFileError(f"{where}: unknown field {sorted(unknown)[0]!r}")
    if len(kinds) != 1:
        raise MapsFileError(f"{where}: needs exactly one of \"value\", \"values\", \"program\", "
                            f"\"map\" (has {', '.join(kinds) or 'none'})")
    kind = kinds[0]
    tname = d.type_name
    if tname in EVENT_TYPES:
        raise MapsFileError(f"{where}: a {tname} map has no entries to fill")
    if tname in PROG_TYPES and kind != "program":
        raise MapsFileError(f"{where}: a prog_array entry names a \"program\"")
    if tname in MAP_IN_MAP_TYPES and kind != "map":
        raise MapsFileError(f"{where}: a {tname} entry names an inner \"map\"")
    if kind in ("program", "map"):
        if tname not in (PROG_TYPES if kind == "program" else MAP_IN_MAP_TYPES):
            raise MapsFileError(f"{where}: \"{kind}\" only fits a "
                                f"{'prog_array' if kind == 'program' else 'map-in-map'}")
        if not isinstance(e[kind], str):
            raise MapsFileError(f"{where}.{kind}: expected a name")
        return Entry(key, program=e[kind]) if kind == "program" else Entry(key, map=e[kind])
    if kind == "values":
        if tname not in PERCPU_TYPES:
            raise MapsFileError(f"{where}: \"values\" (one per CPU) only fits a per-CPU map")
        vals = e["values"]
        if not isinstance(vals, list) or not vals:
            raise MapsFileError(f"{where}.values: expected a non-empty list of hex strings")
        return Entry(key, values=tuple(_hex(v, f"{where}.values[{i}]", d.value_size, "value")
                                       for i, v in enumerate(vals)))
    return Entry(key, value=_hex(e["value"], where, d.value_size, "value"))


def sized(defs: Mapping[str, object], contents: Mapping[str, MapContents] | None) -> dict:
    """The definitions with the max_entries a contents file sets for maps the object leaves at 0
    (what a loader does with bpf_map__set_max_entries before creating them)."""
    out = dict(defs)
    for name, d in defs.items():
        if d.max_entries == 0 and contents and name in contents:
            out[name] = replace(d, max_entries=contents[name].max_entries)
    return out


def read_file(path: str | Path, defs: Mapping[str, object]) -> dict[str, MapContents]:
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise MapsFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MapsFileError(f"{path}: not JSON: {exc.msg} at line {exc.lineno} column "
                            f"{exc.colno}") from None
    return parse(doc, defs, str(path))


def to_json(contents: Mapping[str, MapContents]) -> dict:
    """The JSON document for `contents` (entries as given: `dump()` already leaves out zeros)."""
    maps = {}
    for name, mc in contents.items():
        entries = []
        for e in mc.entries:
            item: dict = {"key": e.key.hex()}
            if e.values is not None:
                item["values"] = [v.hex() for v in e.values]
            elif e.program is not None:
                item["program"] = e.program
            elif e.map is not None:
                item["map"] = e.map
            else:
                item["value"] = (e.value or b"").hex()
            entries.append(item)
        maps[name] = {"type": mc.type, "key_size": mc.key_size, "value_size": mc.value_size,
                      "max_entries": mc.max_entries, "entries": entries}
    return {"maps": maps}


def write_file(path: str | Path, contents: Mapping[str, MapContents]) -> None:
    try:
        Path(path).write_text(json.dumps(to_json(contents), indent=1) + "\n")
    except OSError as exc:
        raise MapsFileError(f"{path}: cannot write: {exc.strerror or exc}") from None


def snapshot(maps: Mapping[str, object], defs: Mapping[str, object]) -> dict[str, MapContents]:
    """Contents of live maps (objects with `dump() -> list[Entry]`), in `defs` order."""
    out = {}
    for name, d in defs.items():
        out[name] = MapContents(name, d.type_name, d.key_size, d.value_size, d.max_entries,
                                list(maps[name].dump()))
    return out


def fill(maps: Mapping[str, object], contents: Mapping[str, MapContents]) -> None:
    """Load `contents` into live maps (objects with `load(entry)`)."""
    for name, mc in contents.items():
        for e in mc.entries:
            maps[name].load(e)


def lane_width(value_size: int) -> int:
    """Integer lane width used to add per-CPU values: 8 bytes if the value is a whole number of
    u64s, else 4, else 1."""
    return 8 if value_size % 8 == 0 else 4 if value_size % 4 == 0 else 1


def sum_cpus(values, value_size: int) -> bytes:
    """Per-CPU values added lane by lane (little-endian, wrapping): the form in which per-CPU maps
    are compared with the kernel, whose test runs put everything on one CPU. Counters (u64/u32
    fields) add up exactly; other per-CPU data has no meaningful sum and should not be compared."""
    w = lane_width(value_size)
    mask = (1 << (8 * w)) - 1
    out = bytearray(value_size)
    for lane in range(0, value_size, w):
        total = sum(int.from_bytes(v[lane:lane + w], "little") for v in values) & mask
        out[lane:lane + w] = total.to_bytes(w, "little")
    return bytes(out)


def summed(contents: Mapping[str, MapContents]) -> dict[str, MapContents]:
    """`contents` with every per-CPU entry's values replaced by their `sum_cpus` (as `value`);
    all-zero array entries dropped afterwards, so both sides compare equal."""
    out = {}
    for name, mc in contents.items():
        entries = []
        for e in mc.entries:
            if e.values is not None:
                e = Entry(e.key, value=sum_cpus(e.values, mc.value_size))
            if mc.type in ARRAY_TYPES and e.value is not None and not any(e.value):
                continue
            entries.append(e)
        out[name] = MapContents(mc.name, mc.type, mc.key_size, mc.value_size, mc.max_entries,
                                entries)
    return out
