"""jit.ebpf.maps.contents: the --maps-in/--maps-out JSON format, checked against map definitions."""
from __future__ import annotations

import json

import pytest

from jit.ebpf.elf import MapDef
from jit.ebpf.maps import contents
from jit.ebpf.maps.contents import Entry, MapContents, MapsFileError

DEFS = {
    "stats": MapDef("stats", 6, 4, 8, 4),          # percpu_array
    "deny": MapDef("deny", 1, 4, 1, 16),           # hash
    "jmp": MapDef("jmp", 3, 4, 4, 2),              # prog_array
    "outer": MapDef("outer", 12, 4, 4, 2),         # array_of_maps
    "events": MapDef("events", 27, 0, 0, 4096),    # ringbuf
}


def test_parse_every_entry_kind():
    doc = {"maps": {
        "stats": {"type": "percpu_array", "entries": [
            {"key": "00000000", "value": "01 00 00 00 00 00 00 00"},
            {"key": "01000000", "values": ["0100000000000000", "0200000000000000"]}]},
        "deny": {"key_size": 4, "entries": [{"key": "0a000001", "value": "01"}]},
        "jmp": {"entries": [{"key": "00000000", "program": "xdp/next"}]},
        "outer": {"entries": [{"key": "01000000", "map": "inner_a"}]}}}
    got = contents.parse(doc, DEFS)
    assert got["stats"].entries == [Entry(bytes(4), value=(1).to_bytes(8, "little")),
                                    Entry((1).to_bytes(4, "little"),
                                          values=((1).to_bytes(8, "little"),
                                                  (2).to_bytes(8, "little")))]
    assert got["deny"].entries == [Entry(bytes.fromhex("0a000001"), value=b"\x01")]
    assert got["jmp"].entries == [Entry(bytes(4), program="xdp/next")]
    assert got["outer"].entries == [Entry((1).to_bytes(4, "little"), map="inner_a")]
    # written and read back: the same contents
    again = contents.parse(json.loads(json.dumps(contents.to_json(got))), DEFS)
    assert again == got


@pytest.mark.parametrize("doc, message", [
    ([], "expected an object"),
    ({"maps": {"nosuch": {}}}, r"maps.nosuch: the program has no map 'nosuch' \(maps: stats, deny"),
    ({"maps": {"deny": {"type": "array"}}}, r"maps.deny.type: 'array', but the program's map has 'hash'"),
    ({"maps": {"deny": {"max_entries": 3}}}, r"max_entries: 3.*16"),
    ({"maps": {"deny": {"entries": [{"key": "0a00", "value": "01"}]}}},
     r"entries\[0\]: key has 2 bytes, the map's key_size is 4"),
    ({"maps": {"deny": {"entries": [{"key": "zz000000", "value": "01"}]}}}, "not hex"),
    ({"maps": {"deny": {"entries": [{"key": "00000000"}]}}}, "exactly one of"),
    ({"maps": {"deny": {"entries": [{"key": "00000000", "values": ["01"]}]}}}, "per-CPU map"),
    ({"maps": {"jmp": {"entries": [{"key": "00000000", "value": "01000000"}]}}}, "names a \"program\""),
    ({"maps": {"events": {"entries": [{"key": "", "value": ""}]}}}, "ringbuf map has no entries"),
    ({"maps": {"deny": {"entrys": []}}}, "unknown field 'entrys'"),
])
def test_bad_documents_are_one_line_errors(doc, message):
    with pytest.raises(MapsFileError, match=message) as exc:
        contents.parse(doc, DEFS)
    assert "\n" not in str(exc.value)


def test_read_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "m.json"
    bad.write_text("{not json")
    with pytest.raises(MapsFileError, match=r"m.json: not JSON.*line 1"):
        contents.read_file(bad, DEFS)
    with pytest.raises(MapsFileError, match="cannot read"):
        contents.read_file(tmp_path / "missing.json", DEFS)


def test_sum_cpus_adds_lanes_and_summed_drops_zero_array_entries():
    v = [(0xFFFF_FFFF_FFFF_FFFF).to_bytes(8, "little") + (3).to_bytes(8, "little"),
         (2).to_bytes(8, "little") + (4).to_bytes(8, "little")]
    assert contents.sum_cpus(v, 16) == (1).to_bytes(8, "little") + (7).to_bytes(8, "little")
    assert contents.lane_width(12) == 4 and contents.lane_width(3) == 1
    mc = {"stats": MapContents("stats", "percpu_array", 4, 8, 4, [
        Entry(bytes(4), values=(bytes(8), bytes(8))),
        Entry(b"\1\0\0\0", values=((5).to_bytes(8, "little"), (6).to_bytes(8, "little")))])}
    assert contents.summed(mc)["stats"].entries == [Entry(b"\1\0\0\0",
                                                          value=(11).to_bytes(8, "little"))]
