"""Measure jit's pcap/pcapng reader against scapy's and dpkt's on speed, memory and bad input.

Run from the project root:

    .venv/bin/python -m tools.pcap_bench [--frames N] [--repeat R] [--json]

What it measures (all inputs are generated into a temporary directory, deterministically):

1. Speed and peak memory. A classic pcap and a pcapng (one interface, `if_tsresol` = ns) with N
   Ethernet frames of 64..1518 bytes (default N = 1,000,000) are read by each reader: jit's
   `read_records` (both formats), scapy's `RawPcapReader` (pcap) and `RawPcapNgReader` (pcapng),
   dpkt's `pcap.Reader` and `pcapng.Reader`. The loop counts frames and sums their lengths; every
   reader must agree with the generator on both, or the bench fails. Each reader runs alone in a
   fresh interpreter that first imports its library and notes `ru_maxrss` (the baseline), then
   reads the file R times (default 3; the fastest read counts); "peak MiB" is the growth of
   `ru_maxrss` over that baseline.
2. Bad and unusual input. Every capture in the shared pcaps directory (`$JITNIC_SHARED/pcaps`,
   else `../shared/pcaps`) and a set of generated edge cases (truncations, bad lengths, gzip,
   the Kuznetzov "modified" pcap, pcapng with several interfaces / sections / SPBs / if_tsoffset)
   are read by each reader of the file's format. Recorded: frames read before stopping, and the
   exception type and first line of its message, or "ok"; warnings the library logged instead of
   raising (scapy does this) are recorded too. For edge cases the frames are also compared with
   what was written (data, timestamp in ns, linktype).

The jit reader is called with `allow_linktypes=None` (accept any linktype) so that it does what the
libraries do; the project's default additionally refuses non-Ethernet captures.

`--json` prints one JSON object per line instead of the tables. A reader whose library cannot be
imported is skipped with a note.
"""
from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import importlib
import importlib.metadata
import json
import logging
import os
import platform
import random
import resource
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FRAMES = 1_000_000
SIZE_RANGE = (64, 1518)
TS_BASE_NS = 1_700_000_000 * 10**9 + 123_456_789   # first frame's time: a realistic epoch
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101


# ---------------------------------------------------------------------------------------------
# Capture builders: raw bytes, so that generating a million frames takes seconds.

def pcap_header(endian: str = "<", magic: int = 0xA1B2C3D4, linktype: int = LINKTYPE_ETHERNET,
                snaplen: int = 65535) -> bytes:
    """Classic pcap file header (24 bytes)."""
    return struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)


def pcap_record(data: bytes, ts_ns: int, endian: str = "<", nanosecond: bool = False,
                modified: bool = False, caplen: int | None = None) -> bytes:
    """One classic record; `modified` adds the Kuznetzov format's 8 extra header bytes."""
    sec, ns = divmod(ts_ns, 10**9)
    frac = ns if nanosecond else ns // 1000
    length = len(data) if caplen is None else caplen
    head = struct.pack(endian + "IIII", sec, frac, length, len(data))
    if modified:
        head += struct.pack(endian + "IHBx", 0, 0x0800, 0)   # ifindex, protocol, pkt_type, pad
    return head + data


def pcapng_block(btype: int, body: bytes, endian: str = "<") -> bytes:
    """A pcapng block: type, total length, body padded to 4 bytes, trailing length."""
    body += b"\0" * (-len(body) % 4)
    total = 12 + len(body)
    return struct.pack(endian + "II", btype, total) + body + struct.pack(endian + "I", total)


def pcapng_options(options: list[tuple[int, bytes]], endian: str = "<") -> bytes:
    if not options:
        return b""
    out = b""
    for code, value in options:
        out += struct.pack(endian + "HH", code, len(value)) + value + b"\0" * (-len(value) % 4)
    return out + struct.pack(endian + "HH", 0, 0)


def pcapng_shb(endian: str = "<") -> bytes:
    return pcapng_block(0x0A0D0D0A, struct.pack(endian + "IHHq", 0x1A2B3C4D, 1, 0, -1), endian)


def pcapng_idb(linktype: int = LINKTYPE_ETHERNET, snaplen: int = 65535, tsresol: int | None = None,
               tsoffset_s: int | None = None, endian: str = "<") -> bytes:
    options = []
    if tsresol is not None:
        options.append((9, bytes([tsresol])))
    if tsoffset_s is not None:
        options.append((14, struct.pack(endian + "q", tsoffset_s)))
    body = struct.pack(endian + "HHI", linktype, 0, snaplen) + pcapng_options(options, endian)
    return pcapng_block(1, body, endian)


def pcapng_epb(data: bytes, ts_units: int, iface: int = 0, endian: str = "<") -> bytes:
    body = struct.pack(endian + "IIIII", iface, ts_units >> 32, ts_units & 0xFFFFFFFF,
                       len(data), len(data)) + data
    return pcapng_block(6, body, endian)


def pcapng_spb(data: bytes, endian: str = "<") -> bytes:
    return pcapng_block(3, struct.pack(endian + "I", len(data)) + data, endian)


def ethernet_frame(size: int, seed: int) -> bytes:
    """A deterministic Ethernet/IPv4-looking frame of `size` bytes."""
    head = bytes.fromhex("02000000000102000000000208004500")
    body = bytes((seed + i) & 0xFF for i in range(max(0, size - len(head))))
    return (head + body)[:size]


# ---------------------------------------------------------------------------------------------
# The large captures for the speed and memory runs.

def frame_sizes(n: int, seed: int = 1) -> list[int]:
    lo, hi = SIZE_RANGE
    return random.Random(seed).choices(range(lo, hi + 1), k=n)


def _write_in_chunks(path: Path, head: bytes, records: Iterator[bytes], chunk: int = 1 << 16):
    with open(path, "wb") as f:
        f.write(head)
        batch = []
        for rec in records:
            batch.append(rec)
            if len(batch) == chunk:
                f.write(b"".join(batch))
                batch.clear()
        f.write(b"".join(batch))


def write_big_pcap(path: Path, sizes: list[int]) -> None:
    """Little-endian microsecond pcap; frame i is stamped TS_BASE + i µs."""
    template = ethernet_frame(SIZE_RANGE[1], 0)
    rec = struct.Struct("<IIII")
    base_s, base_us = divmod(TS_BASE_NS // 1000, 10**6)

    def records():
        for i, size in enumerate(sizes):
            sec, usec = divmod(base_us + i, 10**6)
            yield rec.pack(base_s + sec, usec, size, size) + template[:size]
    _write_in_chunks(path, pcap_header(), records())


def write_big_pcapng(path: Path, sizes: list[int]) -> None:
    """Little-endian pcapng, one Ethernet interface with ns timestamps, one EPB per frame."""
    template = ethernet_frame(SIZE_RANGE[1] + 3, 0)
    head = struct.Struct("<IIIIIII")
    tail = struct.Struct("<I")

    def records():
        for i, size in enumerate(sizes):
            padded = size + (-size % 4)
            total = 32 + padded
            ts = TS_BASE_NS + i * 1000
            yield (head.pack(6, total, 0, ts >> 32, ts & 0xFFFFFFFF, size, size)
                   + template[:size] + b"\0" * (padded - size) + tail.pack(total))
    _write_in_chunks(path, pcapng_shb() + pcapng_idb(tsresol=9), records())


# ---------------------------------------------------------------------------------------------
# Readers. Each has a tight counting loop (for speed) and a Frame iterator (for correctness).

class Frame(NamedTuple):
    data: bytes
    ts_ns: int | None           # None: the reader (or the format) gives no timestamp
    linktype: int


@dataclass(frozen=True)
class Reader:
    name: str
    fmt: str                    # "pcap" or "pcapng": the files it is given
    module: str                 # what must import for it to run
    count: Callable[[Path], tuple[int, int]]
    frames: Callable[[Path], Iterator[Frame]]


def _jit_count(path: Path) -> tuple[int, int]:
    from jit.traffic.pcap import read_records
    n = total = 0
    for rec in read_records(path, allow_linktypes=None):
        n += 1
        total += len(rec.data)
    return n, total


def _jit_frames(path: Path) -> Iterator[Frame]:
    from jit.traffic.pcap import read_records
    for rec in read_records(path, allow_linktypes=None):
        yield Frame(rec.data, rec.ts_ns, rec.linktype)


def _scapy_open(cls_name: str, path: Path):
    from scapy import utils
    return getattr(utils, cls_name)(str(path))


def _scapy_count(cls_name: str, path: Path) -> tuple[int, int]:
    n = total = 0
    with _scapy_open(cls_name, path) as reader:
        for data, _meta in reader:
            n += 1
            total += len(data)
    return n, total


def _scapy_ts_ns(reader, meta) -> int | None:
    if hasattr(meta, "tsresol"):                # pcapng metadata: raw units + resolution
        if meta.tshigh is None:                 # SPB: no timestamp
            return None
        return ((meta.tshigh << 32) | meta.tslow) * 10**9 // meta.tsresol
    return meta.sec * 10**9 + meta.usec * (1 if reader.nano else 1000)


def _scapy_frames(cls_name: str, path: Path) -> Iterator[Frame]:
    with _scapy_open(cls_name, path) as reader:
        for data, meta in reader:
            linktype = meta.linktype if hasattr(meta, "linktype") else reader.linktype
            yield Frame(data, _scapy_ts_ns(reader, meta), linktype)


def _dpkt_open(fmt: str, f):
    import dpkt
    return dpkt.pcap.Reader(f) if fmt == "pcap" else dpkt.pcapng.Reader(f)


def _dpkt_count(fmt: str, path: Path) -> tuple[int, int]:
    n = total = 0
    with open(path, "rb") as f:
        for _ts, data in _dpkt_open(fmt, f):
            n += 1
            total += len(data)
    return n, total


def _dpkt_frames(fmt: str, path: Path) -> Iterator[Frame]:
    with open(path, "rb") as f:
        reader = _dpkt_open(fmt, f)
        linktype = reader.datalink()            # one per file, even in pcapng
        for ts, data in reader:                 # ts: float seconds (Decimal for ns pcap)
            yield Frame(bytes(data), round(Decimal(ts) * 10**9), linktype)


def _bind(fn, arg):
    return lambda path: fn(arg, path)


READERS = [
    Reader("jit", "pcap", "jit.traffic.pcap", _jit_count, _jit_frames),
    Reader("jit", "pcapng", "jit.traffic.pcap", _jit_count, _jit_frames),
    Reader("scapy RawPcapReader", "pcap", "scapy.utils",
           _bind(_scapy_count, "RawPcapReader"), _bind(_scapy_frames, "RawPcapReader")),
    Reader("scapy RawPcapNgReader", "pcapng", "scapy.utils",
           _bind(_scapy_count, "RawPcapNgReader"), _bind(_scapy_frames, "RawPcapNgReader")),
    Reader("dpkt pcap.Reader", "pcap", "dpkt", _bind(_dpkt_count, "pcap"),
           _bind(_dpkt_frames, "pcap")),
    Reader("dpkt pcapng.Reader", "pcapng", "dpkt", _bind(_dpkt_count, "pcapng"),
           _bind(_dpkt_frames, "pcapng")),
]
FAMILIES = ["jit", "scapy", "dpkt"]             # table columns: first word of a reader's name


def find_reader(name: str, fmt: str) -> Reader:
    return next(r for r in READERS if r.name == name and r.fmt == fmt)


def import_problem(module: str) -> str | None:
    """None if `module` imports, else a one-line reason."""
    try:
        importlib.import_module(module)
    except Exception as exc:                    # ImportError, or an error inside the module
        return f"cannot import {module}: {type(exc).__name__}: {first_line(exc)}"
    return None


def first_line(exc: BaseException | str) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "(empty message)"


def describe_exception(exc: BaseException) -> str:
    cls = type(exc)
    name = cls.__qualname__
    if cls.__module__ != "builtins":
        name = f"{cls.__module__}.{name}"
    return f"{name}: {first_line(exc)}"


# ---------------------------------------------------------------------------------------------
# Speed and memory: one fresh interpreter per reader.

def child_run(reader: Reader, path: Path, repeat: int) -> dict:
    """Runs in the measured process: baseline after import, then `repeat` full reads."""
    importlib.import_module(reader.module)
    base_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        frames, nbytes = reader.count(path)
        runs.append(time.perf_counter() - start)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"frames": frames, "bytes": nbytes, "seconds": min(runs), "runs": runs,
            "base_mib": base_kib / 1024, "peak_mib": (peak_kib - base_kib) / 1024}


def child_main(reader: Reader, path: Path, repeat: int) -> dict:
    """`--child`: run `child_run` in a forked process and return its result.

    Linux carries `ru_maxrss` across exec: a freshly spawned interpreter starts with the RSS of
    the process that spawned it (here the bench, 80+ MiB after importing scapy). A forked process
    starts its own count from the small interpreter it copies, so the measurement runs there.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:                                # the measured process
        os.close(read_end)
        try:
            result = child_run(reader, path, repeat)
        except BaseException as exc:
            result = {"error": describe_exception(exc)}
        with os.fdopen(write_end, "w") as out:
            out.write(json.dumps(result))
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        text = pipe.read()
    os.waitpid(pid, 0)
    return json.loads(text) if text else {"error": "measured process died without a result"}


def measure(reader: Reader, path: Path, repeat: int) -> dict:
    """Speed and memory of `reader` on `path`, from a child interpreter."""
    row = {"kind": "speed", "reader": reader.name, "format": reader.fmt,
           "file_mib": path.stat().st_size / 2**20}
    problem = import_problem(reader.module)
    if problem:
        return row | {"skipped": problem}
    cmd = [sys.executable, "-m", "tools.pcap_bench", "--repeat", str(repeat),
           "--child", reader.name, reader.fmt, str(path)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        return row | {"skipped": f"child failed: {tail}"}
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    if "error" in result:
        return row | {"skipped": f"reader failed: {result['error']}"}
    return row | result | {"frames_per_s": result["frames"] / result["seconds"]}


def check_agreement(rows: list[dict], expected: dict[str, tuple[int, int]]) -> None:
    """Every reader that ran must report the generator's frame count and byte sum."""
    for row in rows:
        if "skipped" in row:
            continue
        want = expected[row["format"]]
        got = (row["frames"], row["bytes"])
        if got != want:
            raise AssertionError(f"{row['reader']} on {row['format']}: read {got[0]} frames / "
                                 f"{got[1]} bytes, the file holds {want[0]} / {want[1]}")


# ---------------------------------------------------------------------------------------------
# Bad and unusual input.

@dataclass
class EdgeCase:
    """A generated capture: its bytes, the frames a correct reader yields, and how it ends."""
    name: str
    what: str
    content: bytes
    frames: list[Frame]
    expect_error: bool = False


def _frames(count: int, linktype: int = LINKTYPE_ETHERNET, step_ns: int = 1_000_001,
            first: int = 0) -> list[Frame]:
    """Test frames with distinct sizes and contents, timestamps with ns digits."""
    return [Frame(ethernet_frame(60 + 7 * i, i), TS_BASE_NS + i * step_ns, linktype)
            for i in range(first, first + count)]


def _classic(frames: list[Frame], endian: str = "<", nanosecond: bool = False,
             modified: bool = False) -> bytes:
    magic = 0xA1B2CD34 if modified else (0xA1B23C4D if nanosecond else 0xA1B2C3D4)
    return pcap_header(endian, magic, frames[0].linktype) + b"".join(
        pcap_record(f.data, f.ts_ns, endian, nanosecond, modified) for f in frames)


def _us(frames: list[Frame]) -> list[Frame]:
    """The frames as a microsecond-resolution file stores them."""
    return [f._replace(ts_ns=f.ts_ns // 1000 * 1000) for f in frames]


def classic_edge_cases() -> list[EdgeCase]:
    good = _us(_frames(3))
    body = _classic(good)
    fourth = pcap_record(ethernet_frame(200, 9), TS_BASE_NS)
    huge = pcap_record(ethernet_frame(100, 9), TS_BASE_NS, caplen=0x7FFF0000)
    return [
        EdgeCase("be-nanosecond.pcap", "big-endian, nanosecond magic",
                 _classic(_frames(3), ">", nanosecond=True), _frames(3)),
        EdgeCase("modified.pcap", "Kuznetzov modified pcap (0xa1b2cd34, 24-byte record header)",
                 _classic(good, modified=True), good),
        EdgeCase("trunc-data.pcap", "4th record cut inside its data",
                 body + fourth[:16 + 50], good, expect_error=True),
        EdgeCase("trunc-rechdr.pcap", "4th record cut inside its 16-byte header",
                 body + fourth[:10], good, expect_error=True),
        EdgeCase("trunc-filehdr.pcap", "file cut inside the 24-byte file header",
                 body[:12], [], expect_error=True),
        EdgeCase("huge-caplen.pcap", "4th record claims caplen 0x7fff0000",
                 body + huge, good, expect_error=True),
        EdgeCase("gzip.pcap", "a valid pcap, gzip-compressed", gzip.compress(body, mtime=0), good),
        EdgeCase("not-a-capture.pcap", "a text file", b"hello, this is not a capture\n" * 4, [],
                 expect_error=True),
    ]


def _ng_packets(frames: list[Frame], iface: int = 0, exp: int = 9, endian: str = "<") -> bytes:
    """EPBs for `frames`, timestamps in units of 10^-exp s."""
    return b"".join(pcapng_epb(f.data, f.ts_ns // 10**(9 - exp), iface, endian) for f in frames)


def pcapng_edge_cases() -> list[EdgeCase]:
    ns, us = _frames(4), _us(_frames(4))
    two_if = [us[0], ns[1], us[2], ns[3]]
    two_if_file = (pcapng_shb() + pcapng_idb() + pcapng_idb(tsresol=9)
                   + b"".join(_ng_packets([f], i % 2, 6 if i % 2 == 0 else 9)
                              for i, f in enumerate(two_if)))
    raw = _frames(2, LINKTYPE_RAW, first=2)
    sections_file = (pcapng_shb() + pcapng_idb() + _ng_packets(us[:2], exp=6)
                     + pcapng_shb(">") + pcapng_idb(LINKTYPE_RAW, tsresol=9, endian=">")
                     + _ng_packets(raw, endian=">"))
    offset_s = 86_400
    shifted = [f._replace(ts_ns=f.ts_ns + offset_s * 10**9) for f in us[:2]]
    spb = [f._replace(ts_ns=None) for f in us[:3]]
    good = pcapng_shb() + pcapng_idb(tsresol=9) + _ng_packets(ns[:3])
    fourth = pcapng_epb(ethernet_frame(200, 9), 0)
    bad_trailer = fourth[:-4] + struct.pack("<I", len(fourth) + 4)
    return [
        EdgeCase("two-interfaces.pcapng", "iface 0 in µs (default), iface 1 if_tsresol=9 (ns)",
                 two_if_file, two_if),
        EdgeCase("two-sections.pcapng", "section 1 LE Ethernet µs; section 2 big-endian, "
                 "its own IDB 0 = RAW (101), ns", sections_file, us[:2] + raw),
        EdgeCase("tsoffset.pcapng", "IDB with if_tsoffset = 86400 s",
                 pcapng_shb() + pcapng_idb(tsoffset_s=offset_s) + _ng_packets(us[:2], exp=6),
                 shifted),
        EdgeCase("spb-snaplen0.pcapng", "Simple Packet Blocks, IDB snaplen 0 (= unlimited)",
                 pcapng_shb() + pcapng_idb(snaplen=0) + b"".join(pcapng_spb(f.data) for f in spb),
                 spb),
        EdgeCase("trunc-epb.pcapng", "4th EPB cut in the middle",
                 good + fourth[:40], ns[:3], expect_error=True),
        EdgeCase("bad-trailer.pcapng", "4th EPB's trailing length differs from its header",
                 good + bad_trailer, ns[:3], expect_error=True),
        EdgeCase("bad-blocklen.pcapng", "4th block declares total length 6 (< 12)",
                 good + struct.pack("<II", 6, 6) + b"\0" * 16, ns[:3], expect_error=True),
        EdgeCase("undefined-iface.pcapng", "4th EPB names interface 3; only 0 exists",
                 good + pcapng_epb(ethernet_frame(80, 9), 0, iface=3), ns[:3], expect_error=True),
    ]


@dataclass
class Outcome:
    reader: str
    frames: list[Frame]
    error: str | None                           # "Type: first line", None if the read ended
    warnings: list[str] = field(default_factory=list)


class _ListHandler(logging.Handler):
    def __init__(self, sink: list[str]):
        super().__init__(logging.DEBUG)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(first_line(record.getMessage()))


@contextlib.contextmanager
def captured_logs(names=("scapy", "dpkt")):
    """Collect (and silence) what the libraries log while a file is read."""
    sink: list[str] = []
    handler = _ListHandler(sink)
    saved = []
    for name in names:
        log = logging.getLogger(name)
        saved.append((log, log.handlers[:], log.propagate))
        log.handlers, log.propagate = [handler], False
    try:
        yield sink
    finally:
        for log, handlers, propagate in saved:
            log.handlers, log.propagate = handlers, propagate


def read_outcome(reader: Reader, path: Path) -> Outcome:
    frames: list[Frame] = []
    error = None
    with captured_logs() as logged:
        try:
            for frame in reader.frames(path):
                frames.append(frame)
        except Exception as exc:
            error = describe_exception(exc)
    return Outcome(reader.name, frames, error, logged)


def file_format(path: Path) -> str:
    return "pcapng" if path.suffix == ".pcapng" else "pcap"


def outcome_json(path: Path, outcome: Outcome, section: str, case: EdgeCase | None) -> dict:
    row = {"kind": section, "file": path.name, "reader": outcome.reader,
           "frames": len(outcome.frames), "result": outcome.error or "ok",
           "warnings": outcome.warnings, "data_sha256": data_digest(outcome.frames)}
    if case is not None:
        diff = compare(outcome, case)
        row |= {"expected_frames": len(case.frames), "expect_error": case.expect_error,
                "deviations": diff.describe(), "faithful": faithful(outcome, case, diff)}
    return row


def data_digest(frames: list[Frame]) -> str:
    """One hash over every frame's bytes (length-prefixed), to compare readers without a truth."""
    digest = hashlib.sha256()
    for frame in frames:
        digest.update(len(frame.data).to_bytes(4, "little") + frame.data)
    return digest.hexdigest()


class Comparison(NamedTuple):
    """How the frames a reader returned differ from the frames written."""
    extra: int                  # frames beyond those written (e.g. a truncated record)
    wrong_data: int
    ts_error_ns: int            # largest timestamp error
    wrong_linktype: int

    def describe(self) -> list[str]:
        out = []
        if self.extra:
            out.append(f"{self.extra} extra frame(s)")
        if self.wrong_data:
            out.append(f"{self.wrong_data} with wrong data")
        if self.ts_error_ns:
            out.append(f"ts off by up to {format_ns(self.ts_error_ns)}")
        if self.wrong_linktype:
            out.append(f"{self.wrong_linktype} with wrong linktype")
        return out


def compare(outcome: Outcome, case: EdgeCase) -> Comparison:
    pairs = list(zip(outcome.frames, case.frames))
    ts_errors = [abs(got.ts_ns - want.ts_ns) for got, want in pairs
                 if got.ts_ns is not None and want.ts_ns is not None]
    return Comparison(extra=max(0, len(outcome.frames) - len(case.frames)),
                      wrong_data=sum(got.data != want.data for got, want in pairs),
                      ts_error_ns=max(ts_errors, default=0),
                      wrong_linktype=sum(got.linktype != want.linktype for got, want in pairs))


def faithful(outcome: Outcome, case: EdgeCase, diff: Comparison) -> bool:
    """All written frames read back (ts within 1 µs), and an error exactly when one is due."""
    return (len(outcome.frames) == len(case.frames) and not diff.wrong_data
            and diff.ts_error_ns < 1000 and not diff.wrong_linktype
            and (outcome.error is not None) == case.expect_error)


def format_ns(ns: int) -> str:
    if ns < 1000:
        return f"{ns} ns"
    if ns < 10**9:
        return f"{ns / 1000:.0f} µs"
    return f"{ns / 10**9:.0f} s"


def run_files(paths: list[Path], section: str, cases: dict[str, EdgeCase]) -> list[dict]:
    rows = []
    for path in paths:
        for reader in READERS:
            if reader.fmt != file_format(path) or import_problem(reader.module):
                continue
            outcome = read_outcome(reader, path)
            rows.append(outcome_json(path, outcome, section, cases.get(path.name)))
    return rows


def shared_pcaps_dir() -> Path:
    base = os.environ.get("JITNIC_SHARED")
    return Path(base) / "pcaps" if base else ROOT.parent / "shared" / "pcaps"


def shared_pcaps() -> tuple[list[Path], str | None]:
    """The shared captures, or a note saying why there are none."""
    directory = shared_pcaps_dir()
    if not directory.is_dir():
        return [], f"no shared captures: {directory} does not exist (set JITNIC_SHARED)"
    return sorted(p for p in directory.iterdir() if p.suffix in (".pcap", ".pcapng")), None


# ---------------------------------------------------------------------------------------------
# Report.

def md_table(header: list[str], rows: list[list]) -> str:
    def cell(value) -> str:
        return str(value).replace("|", "\\|")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def speed_table(rows: list[dict]) -> str:
    body = []
    for r in rows:
        if "skipped" in r:
            body.append([r["format"], r["reader"], f"skipped: {r['skipped']}", "", "", "", ""])
            continue
        body.append([r["format"], r["reader"], f"{r['frames']:,}", f"{r['seconds']:.2f}",
                     f"{r['frames_per_s'] / 1000:,.0f} k", f"{r['file_mib'] / r['seconds']:,.0f}",
                     f"{r['peak_mib']:.1f} (base {r['base_mib']:.0f})"])
    return md_table(["format", "reader", "frames", "best s", "frames/s", "MiB/s",
                     "peak MiB over baseline"], body)


def outcome_cell(row: dict, tmp_prefix: str) -> str:
    """`N fr[, deviations]; ok | Error: message [; warned: ...]` with temp dirs shortened."""
    frames = f"{row['frames']}" + (f"/{row['expected_frames']}" if "expected_frames" in row else "")
    text = f"{frames} fr"
    if row.get("deviations"):
        text += ", " + ", ".join(row["deviations"])
    text += "; " + row["result"]
    if row["warnings"]:
        text += f"; warned: {row['warnings'][0]}"
        if len(row["warnings"]) > 1:
            text += f" (+{len(row['warnings']) - 1})"
    if "faithful" in row:
        text = ("✓ " if row["faithful"] else "✗ ") + text
    return text.replace(tmp_prefix, "…/")


def files_table(rows: list[dict], tmp_prefix: str, notes: dict[str, str]) -> str:
    names = list(dict.fromkeys(r["file"] for r in rows))
    body = []
    for name in names:
        mine = [r for r in rows if r["file"] == name]
        reference = next((r["data_sha256"] for r in mine if r["reader"] == "jit"), None)
        cells = {}
        for r in mine:
            differs = not notes and reference is not None and r["data_sha256"] != reference
            note = " (frame bytes differ from jit's)" if differs else ""
            cells[r["reader"].split()[0]] = outcome_cell(r, tmp_prefix) + note
        line = [name] + ([notes[name]] if notes else [])
        body.append(line + [cells.get(family, "skipped") for family in FAMILIES])
    return md_table(["file"] + (["case"] if notes else []) + FAMILIES, body)


# ---------------------------------------------------------------------------------------------

def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.pcap_bench",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=DEFAULT_FRAMES,
                        help="frames in each generated capture (default 1,000,000)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="reads per reader; the fastest counts (default 3)")
    parser.add_argument("--json", action="store_true", help="JSON lines instead of tables")
    parser.add_argument("--child", nargs=3, metavar=("READER", "FORMAT", "FILE"),
                        help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def environment() -> dict:
    """Interpreter, cores and library versions, for the report."""
    versions = {}
    for dist in ("scapy", "dpkt"):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    return {"kind": "env", "python": platform.python_version(), "cores": os.cpu_count(),
            "machine": platform.machine()} | versions


def speed_section(tmp: Path, n: int, repeat: int, say) -> list[dict]:
    sizes = frame_sizes(n)
    files = {"pcap": tmp / "big.pcap", "pcapng": tmp / "big.pcapng"}
    start = time.perf_counter()
    write_big_pcap(files["pcap"], sizes)
    write_big_pcapng(files["pcapng"], sizes)
    say(f"generated {n:,} frames ({sum(sizes):,} bytes) per format in "
        f"{time.perf_counter() - start:.1f} s "
        f"({files['pcap'].stat().st_size / 2**20:,.0f} MiB pcap, "
        f"{files['pcapng'].stat().st_size / 2**20:,.0f} MiB pcapng)")
    rows = []
    for reader in READERS:
        rows.append(measure(reader, files[reader.fmt], repeat))
        runs = rows[-1].get("runs")
        say(f"  {reader.fmt:6} {reader.name}: " + (rows[-1].get("skipped")
                                                  or " ".join(f"{t:.2f}" for t in runs) + " s"))
    check_agreement(rows, {fmt: (n, sum(sizes)) for fmt in files})
    return rows


def edge_section(edge_dir: Path, cases: list[EdgeCase]) -> list[dict]:
    edge_dir.mkdir()
    for case in cases:
        (edge_dir / case.name).write_bytes(case.content)
    return run_files([edge_dir / c.name for c in cases], "edge", {c.name: c for c in cases})


def print_report(args, speed: list[dict], shared: list[dict], shared_note: str | None,
                 edge: list[dict], cases: list[EdgeCase], edge_dir: Path) -> None:
    print(f"\n## Speed and peak memory ({args.frames:,} frames of {SIZE_RANGE[0]}.."
          f"{SIZE_RANGE[1]} bytes, best of {args.repeat} reads)\n\n{speed_table(speed)}")
    print(f"\n## Shared captures ({shared_pcaps_dir()})\n")
    print(shared_note or files_table(shared, f"{shared_pcaps_dir()}/", {}))
    print("\n## Generated edge cases (✓: every written frame read back, ts within 1 µs, and "
          "an error exactly where the file is broken)\n")
    print(files_table(edge, f"{edge_dir}/", {c.name: c.what for c in cases}))


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.child:
        name, fmt, path = args.child
        print(json.dumps(child_main(find_reader(name, fmt), Path(path), args.repeat)))
        return 0

    def say(text: str) -> None:
        print(text, file=sys.stderr if args.json else sys.stdout, flush=True)

    env = environment()
    say(", ".join(f"{k} {v}" for k, v in env.items() if k != "kind"))
    for module in dict.fromkeys(r.module for r in READERS):
        problem = import_problem(module)
        if problem:
            say(f"note: readers using {module} are skipped ({problem})")
    with tempfile.TemporaryDirectory(prefix="pcap_bench_") as tmpdir:
        tmp = Path(tmpdir)
        speed = speed_section(tmp, args.frames, args.repeat, say)
        shared_paths, shared_note = shared_pcaps()
        shared = run_files(shared_paths, "shared", {})
        if shared_note:
            say(f"note: {shared_note}")
        cases = classic_edge_cases() + pcapng_edge_cases()
        edge = edge_section(tmp / "edge", cases)
        say(f"read {len(shared_paths)} shared and {len(cases)} generated captures")
        if args.json:
            for row in [env] + speed + shared + edge:
                print(json.dumps(row))
        else:
            print_report(args, speed, shared, shared_note, edge, cases, tmp / "edge")
    return 0


if __name__ == "__main__":
    sys.exit(main())
