"""Tests for the streaming pcap/pcapng reader and the pcap writer (jit/traffic/pcap.py)."""
from __future__ import annotations

import io
import re
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jit import JitnicError
from jit.traffic.pcap import (MAX_CAPLEN, PcapError, PcapRecord, PcapWriter, read_packets, read_records,
                      write_packets)


# ---------------------------------------------------------------- the shared captures

def readme_table(pcaps_dir) -> dict[str, tuple[int, int]]:
    """file -> (packets, linktype), parsed from the shared pcaps README table."""
    rows = {}
    for line in (pcaps_dir / "README.md").read_text().splitlines():
        m = re.match(r"\|\s*([\w.\-]+\.pcap(?:ng)?)\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|",
                     line)
        if m:
            rows[m.group(1)] = (int(m.group(3)), int(m.group(4)))
    return rows


@pytest.fixture(scope="module")
def table(pcaps_dir):
    rows = readme_table(pcaps_dir)
    if not rows:
        pytest.skip(f"no capture table in {pcaps_dir / 'README.md'}")
    return rows


def test_readme_lists_every_capture(pcaps_dir, table):
    on_disk = {p.name for p in pcaps_dir.iterdir() if p.suffix in (".pcap", ".pcapng")}
    assert on_disk == set(table)


def test_packet_counts_match_readme(pcaps_dir, table):
    for name, (count, linktype) in table.items():
        path = pcaps_dir / name
        if linktype == 1:
            recs = list(read_records(path))
            assert len(recs) == count, name
            assert [r.index for r in recs] == list(range(count))
            assert all(r.linktype == 1 for r in recs)
        else:
            with pytest.raises(PcapError, match=rf"linktype {linktype}\b"):
                list(read_records(path))
            recs = list(read_records(path, allow_linktypes={linktype}))
            assert len(recs) == count, name
            assert all(r.linktype == linktype for r in recs)


def test_raw_ipv4_rejected_with_one_line_message(pcaps_dir):
    path = pcaps_dir / "LINKTYPE_RAW_ipv4.pcap"
    if not path.exists():
        pytest.skip(f"{path} absent")
    with pytest.raises(PcapError) as info:
        next(read_packets(path))
    msg = str(info.value)
    assert "\n" not in msg
    assert "LINKTYPE_RAW_ipv4.pcap" in msg and "101" in msg and "RAW" in msg
    assert isinstance(info.value, JitnicError)
    # None accepts any linktype; the raw capture starts with an IPv4 header
    (data,) = read_packets(path, allow_linktypes=None)
    assert data[0] >> 4 == 4


def scapy_raw_records(path):
    """(data, orig_len) of every record as scapy's raw readers see them."""
    from scapy.utils import RawPcapNgReader, RawPcapReader
    out = []
    if path.suffix == ".pcapng":
        with RawPcapNgReader(str(path)) as rd:
            for data, meta in rd:
                out.append((data, meta.wirelen))
    else:
        with RawPcapReader(str(path)) as rd:
            for data, meta in rd:
                out.append((data, meta.wirelen))
    return out


def test_bytes_agree_with_scapy(pcaps_dir, table):
    compared = 0
    for name, (_count, linktype) in table.items():
        path = pcaps_dir / name
        ours = [(r.data, r.orig_len) for r in read_records(path, allow_linktypes=None)]
        assert ours == scapy_raw_records(path), name
        compared += len(ours)
    assert compared > 200


def test_scapy_rdpcap_agrees(pcaps_dir, table):
    # scapy's raw reader: re-serializing dissected packets (bytes(rdpcap(...)[i])) depends on
    # which scapy layers other tests in the same worker happened to load, so it is flaky.
    from scapy.utils import RawPcapNgReader, RawPcapReader
    for name, (_count, linktype) in table.items():
        if linktype != 1:
            continue
        path = pcaps_dir / name
        reader = RawPcapNgReader if name.endswith(".pcapng") else RawPcapReader
        with reader(str(path)) as r:
            theirs = [data for data, _meta in r]
        assert theirs == list(read_packets(path)), name


def test_truncated_and_zero_caplen_records(pcaps_dir):
    recs = list(read_records(pcaps_dir / "olsr-oobr-2.pcap"))
    assert [len(r.data) for r in recs] == [0, 0, 80]
    assert [r.data for r in recs[:2]] == [b"", b""]
    assert all(r.orig_len == 262144 for r in recs)
    (rec,) = read_records(pcaps_dir / "arp-too-long-tha.pcap")
    assert len(rec.data) == 64 and rec.orig_len == 262144


def test_caplen_above_snaplen_tolerated(pcaps_dir):
    # snaplen 37, records of 64 bytes: Wireshark and scapy read them whole, so do we
    recs = list(read_records(pcaps_dir / "icmp-icmp_print-oobr-1.pcap"))
    assert [len(r.data) for r in recs] == [64, 64, 64]


def test_pcapng_timestamps(pcaps_dir):
    # if_tsresol 9 (nanoseconds) in this file; scapy gives the raw 64-bit count
    from scapy.utils import RawPcapNgReader
    path = pcaps_dir / "icmp-length-zero.pcapng"
    with RawPcapNgReader(str(path)) as rd:
        (_, meta), = list(rd)
    (rec,) = read_records(path)
    assert rec.ts_ns == ((meta.tshigh << 32) | meta.tslow) * 10 ** 9 // meta.tsresol


def test_round_trip_every_capture(pcaps_dir, table):
    for name in table:
        path = pcaps_dir / name
        recs = list(read_records(path, allow_linktypes=None))
        linktype = recs[0].linktype if recs else 1
        buf = io.BytesIO()
        with PcapWriter(buf, linktype=linktype, snaplen=MAX_CAPLEN, nanosecond=True) as w:
            for r in recs:
                w.write(r.data, ts_ns=r.ts_ns, orig_len=r.orig_len)
        assert w.count == len(recs)
        buf.seek(0)
        again = list(read_records(buf, allow_linktypes=None))
        assert again == recs, name


# ---------------------------------------------------------------- writer

def test_writer_header_and_defaults(tmp_path):
    path = tmp_path / "w.pcap"
    with PcapWriter(path, snaplen=100) as w:
        w.write(b"\x01" * 60)
        w.write(b"\x02" * 150)                 # longer than snaplen: truncated
        w.write(b"\x03" * 70, ts_ns=5_123_456_789)
    raw = path.read_bytes()
    assert raw[:4] == struct.pack("<I", 0xA1B2C3D4)
    assert struct.unpack_from("<HHiIII", raw, 4) == (2, 4, 0, 0, 100, 1)
    recs = list(read_records(path))
    assert [len(r.data) for r in recs] == [60, 100, 70]
    assert [r.orig_len for r in recs] == [60, 150, 70]
    assert [r.ts_ns for r in recs] == [0, 1000, 5_123_456_000]   # microsecond format
    assert len(raw) == 24 + 3 * 16 + 60 + 100 + 70


def test_writer_nanoseconds_and_scapy_reads_it(tmp_path):
    from scapy.utils import RawPcapReader
    path = tmp_path / "ns.pcap"
    frames = [bytes([i]) * (14 + i) for i in range(20)]
    with PcapWriter(path, nanosecond=True) as w:
        for i, f in enumerate(frames):
            w.write(f, ts_ns=1_700_000_000_000_000_007 + i)
    assert [r.ts_ns for r in read_records(path)] == [1_700_000_000_000_000_007 + i
                                                    for i in range(20)]
    with RawPcapReader(str(path)) as rd:
        assert [d for d, _ in rd] == frames


def test_writer_rejects_bad_arguments(tmp_path):
    with pytest.raises(PcapError):
        PcapWriter(tmp_path / "a.pcap", snaplen=0)
    with pytest.raises(PcapError):
        PcapWriter(tmp_path / "b.pcap", linktype=1 << 16)
    with pytest.raises(PcapError):
        PcapWriter(tmp_path / "missing-dir" / "c.pcap")
    with PcapWriter(io.BytesIO()) as w:
        with pytest.raises(PcapError):
            w.write(b"x", ts_ns=-1)


def test_write_packets_helper(tmp_path):
    path = tmp_path / "h.pcap"
    assert write_packets(path, (bytes([i]) * 20 for i in range(5))) == 5
    assert list(read_packets(path)) == [bytes([i]) * 20 for i in range(5)]


# ---------------------------------------------------------------- synthetic formats

def classic(records, endian="<", magic=0xA1B2C3D4, snaplen=65535, linktype=1, extra=b""):
    """A classic pcap image; records are (sec, frac, data, orig_len)."""
    out = struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)
    for sec, frac, data, orig in records:
        out += struct.pack(endian + "IIII", sec, frac, len(data), orig) + extra + data
    return out


def block(btype, body, endian="<"):
    body += b"\0" * (-len(body) % 4)
    n = len(body) + 12
    return struct.pack(endian + "II", btype, n) + body + struct.pack(endian + "I", n)


def shb(endian="<"):
    return block(0x0A0D0D0A, struct.pack(endian + "IHHq", 0x1A2B3C4D, 1, 0, -1), endian)


def idb(linktype=1, snaplen=0, tsresol=None, tsoffset=None, endian="<"):
    opts = b""
    if tsresol is not None:
        opts += struct.pack(endian + "HH", 9, 1) + bytes([tsresol]) + b"\0\0\0"
    if tsoffset is not None:
        opts += struct.pack(endian + "HHq", 14, 8, tsoffset)
    if opts:
        opts += struct.pack(endian + "HH", 0, 0)
    return block(1, struct.pack(endian + "HHI", linktype, 0, snaplen) + opts, endian)


def epb(iface, ts, data, orig=None, endian="<"):
    orig = len(data) if orig is None else orig
    return block(6, struct.pack(endian + "IIIII", iface, ts >> 32, ts & 0xFFFFFFFF, len(data),
                                orig) + data, endian)


@pytest.mark.parametrize("endian", ["<", ">"])
@pytest.mark.parametrize("magic,scale", [(0xA1B2C3D4, 1000), (0xA1B23C4D, 1)])
def test_classic_byte_orders_and_resolutions(endian, magic, scale):
    recs = [(10, 999, b"A" * 60, 60), (11, 5, b"B" * 20, 1500), (12, 0, b"", 64)]
    got = list(read_records(io.BytesIO(classic(recs, endian, magic))))
    assert got == [PcapRecord(i, d, o, s * 10 ** 9 + f * scale, 1)
                   for i, (s, f, d, o) in enumerate(recs)]


def test_classic_modified_format_and_fcs_bits():
    recs = [(1, 2, b"C" * 42, 42)]
    image = classic(recs, magic=0xA1B2CD34, linktype=0x30000001, extra=b"\0" * 8)
    assert list(read_packets(io.BytesIO(image))) == [b"C" * 42]


@pytest.mark.parametrize("endian", ["<", ">"])
def test_pcapng_blocks(endian):
    nrb = block(4, struct.pack(endian + "HH", 0, 0), endian)
    isb = block(5, struct.pack(endian + "III", 0, 0, 0), endian)
    dsb = block(10, struct.pack(endian + "II", 0x544C534B, 4) + b"keys", endian)
    spb = block(3, struct.pack(endian + "I", 30) + b"S" * 30, endian)
    pb = block(2, struct.pack(endian + "HHIIII", 1, 0, 0, 77, 10, 10) + b"P" * 10, endian)
    image = (shb(endian) + idb(1, 25, endian=endian)
             + idb(1, 0, tsresol=0x80 | 10, tsoffset=3, endian=endian)
             + nrb + epb(0, 1_000_000, b"E" * 14, 100, endian) + spb + isb + dsb + pb
             + epb(1, 2048, b"F" * 16, endian=endian))
    got = list(read_records(io.BytesIO(image)))
    assert [(r.data, r.orig_len) for r in got] == [
        (b"E" * 14, 100), (b"S" * 25, 30), (b"P" * 10, 10), (b"F" * 16, 16)]
    assert [r.ts_ns for r in got] == [
        1_000_000_000, 0, 77 * 10 ** 9 // 1024 + 3 * 10 ** 9, 2 * 10 ** 9 + 3 * 10 ** 9]
    assert [r.index for r in got] == [0, 1, 2, 3]


def test_pcapng_second_section_other_byte_order_resets_interfaces():
    image = (shb("<") + idb(1, endian="<") + epb(0, 5, b"a" * 20, endian="<")
             + shb(">") + idb(101, endian=">") + idb(1, tsresol=9, endian=">")
             + epb(1, 7, b"b" * 20, endian=">"))
    got = list(read_records(io.BytesIO(image)))
    assert [(r.data, r.ts_ns) for r in got] == [(b"a" * 20, 5000), (b"b" * 20, 7)]
    # the raw-IPv4 interface is harmless until a packet uses it
    bad = image + epb(0, 9, b"c" * 20, endian=">")
    with pytest.raises(PcapError, match="interface 0 has linktype 101"):
        list(read_records(io.BytesIO(bad)))
    assert len(list(read_records(io.BytesIO(bad), allow_linktypes={1, 101}))) == 3


@pytest.mark.parametrize("endian", ["<", ">"])
def test_pcapng_many_packets_match_classic(endian):
    """Many EPBs on one interface (the reader's fast path), across its 1 MiB buffer refills."""
    frames = [bytes([i % 256]) * (1 + (i * 37) % 1500) for i in range(3000)]
    image = shb(endian) + idb(1, 0, tsresol=9, endian=endian) + b"".join(
        epb(0, 10 ** 9 + i, f, len(f) + i % 3, endian) for i, f in enumerate(frames))
    got = list(read_records(io.BytesIO(image)))
    assert [r.data for r in got] == frames
    assert [r.orig_len for r in got] == [len(f) + i % 3 for i, f in enumerate(frames)]
    assert [r.ts_ns for r in got] == [10 ** 9 + i for i in range(3000)]
    # a bad trailing length deep in the file is still caught
    bad = bytearray(image)
    bad[-1 if endian == ">" else -4] ^= 0x40
    with pytest.raises(PcapError, match="trailing length"):
        list(read_records(io.BytesIO(bytes(bad))))


def test_empty_captures():
    assert list(read_records(io.BytesIO(classic([])))) == []
    assert list(read_records(io.BytesIO(shb() + idb()))) == []
    assert list(read_records(io.BytesIO(shb()))) == []


# ---------------------------------------------------------------- malformed input

GOOD = classic([(1, 0, bytes(range(60)), 60), (2, 0, b"\xaa" * 100, 100)])


@pytest.mark.parametrize("image,pattern", [
    (b"", "empty file"),
    (b"\xd4\xc3", "not a pcap or pcapng"),
    (b"hello world, this is text" * 3, "not a pcap or pcapng file"),
    (b"\x1f\x8b\x08\x00" + b"\0" * 40, "gzip"),
    (GOOD[:20], "truncated pcap file header at byte 0"),
    (GOOD[:24 + 10], "truncated record header at byte 24"),
    (GOOD[:24 + 16 + 30], "truncated packet data at byte 40"),
    (GOOD[:24 + 16 + 60 + 3], "truncated record header at byte 100"),
    (classic([(0, 0, b"x", 1)])[:24] + struct.pack("<IIII", 0, 0, 300000, 300000),
     "caplen 300000 larger than maximum 262144"),
    (struct.pack("<IHHiIII", 0xA1B2C3D4, 3, 0, 0, 0, 65535, 1), "unsupported pcap version 3"),
    (shb()[:-4] + b"\0\0\0\0", "trailing length"),
    (shb() + struct.pack("<II", 6, 7), "bad block length 7"),
    (shb() + struct.pack("<II", 6, 1 << 30), "bad block length"),
    (shb() + idb() + epb(0, 0, b"x" * 20)[:30], "truncated block"),
    (shb() + epb(0, 0, b"x" * 20), "undefined interface 0"),
    (shb() + idb() + block(6, struct.pack("<IIIII", 0, 0, 0, 99, 99) + b"x" * 8),
     "caplen 99 exceeds its block"),
    (block(0x0A0D0D0A, struct.pack("<IHHq", 0x11223344, 1, 0, -1)), "byte-order magic"),
    (block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 2, 0, -1)), "pcapng version 2"),
    (shb() + block(1, b"\x01\0\0\0\0\0\0\0" + struct.pack("<HH", 9, 40)), "runs past"),
])
def test_malformed_images(image, pattern):
    with pytest.raises(PcapError, match=pattern) as info:
        list(read_records(io.BytesIO(image)))
    assert "\n" not in str(info.value)


def test_missing_file_is_pcap_error(tmp_path):
    with pytest.raises(PcapError, match="cannot open"):
        list(read_packets(tmp_path / "nope.pcap"))
    with pytest.raises(PcapError, match="nope.pcap"):
        list(read_packets(str(tmp_path / "nope.pcap")))


def test_records_before_an_error_are_yielded():
    it = read_packets(io.BytesIO(GOOD[:-5]))
    assert next(it) == bytes(range(60))
    with pytest.raises(PcapError):
        next(it)


class CountingReader(io.RawIOBase):
    """A never-ending stream of identical records that counts the bytes handed out."""

    def __init__(self, header: bytes, record: bytes):
        self.header, self.record, self.given = header, record, 0

    def readable(self):
        return True

    def readinto(self, b):
        n, p = len(b), self.given
        if p < len(self.header):
            out = self.header[p:]
        else:
            out = self.record[(p - len(self.header)) % len(self.record):]
        out += self.record * (n // len(self.record) + 1)
        b[:n] = out[:n]
        self.given += n
        return n


def test_reader_streams_from_an_endless_source():
    rec = struct.pack("<IIII", 0, 0, 64, 64) + b"\x5a" * 64
    src = CountingReader(classic([]), rec)
    it = read_packets(src)
    for _ in range(50_000):               # 4 MB of records, read through a 1 MiB window
        assert len(next(it)) == 64
    assert src.given < 8 << 20


# ---------------------------------------------------------------- hypothesis: nothing but PcapError

def _mixed_image() -> bytes:
    return (shb() + idb(1, 64, tsresol=6) + epb(0, 1, bytes(range(50)))
            + block(3, struct.pack("<I", 40) + b"q" * 40) + block(4, b"\0\0\0\0")
            + epb(0, 2, b"z" * 33, 90))


SEEDS = [GOOD, classic([(1, 2, b"\x11" * 14, 14)], endian=">", magic=0xA1B23C4D), _mixed_image(),
         shb(">") + idb(1, 0, endian=">") + b"".join(epb(0, i, bytes([i]) * (20 + i), endian=">")
                                                     for i in range(6))]


def _read_all_or_pcap_error(image: bytes, allow=(1,)) -> None:
    try:
        for rec in read_records(io.BytesIO(image), allow_linktypes=allow):
            assert isinstance(rec.data, bytes)
            assert len(rec.data) <= max(MAX_CAPLEN, len(image))
    except PcapError as exc:
        assert "\n" not in str(exc)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(which=st.integers(0, len(SEEDS) - 1), cut=st.integers(0, 400))
def test_any_truncation_gives_records_or_pcap_error(which, cut):
    image = SEEDS[which]
    _read_all_or_pcap_error(image[:cut % (len(image) + 1)])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(which=st.integers(0, len(SEEDS) - 1),
       flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(1, 255)), min_size=1,
                      max_size=6))
def test_byte_flips_give_records_or_pcap_error(which, flips):
    image = bytearray(SEEDS[which])
    for pos, mask in flips:
        image[pos % len(image)] ^= mask
    _read_all_or_pcap_error(bytes(image), allow=None)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_give_records_or_pcap_error(data):
    _read_all_or_pcap_error(data)
    _read_all_or_pcap_error(shb() + data)
    _read_all_or_pcap_error(GOOD[:24] + data)


def test_real_captures_truncated_and_flipped(pcaps_dir, table):
    """Every shared capture, cut at many points and with bytes flipped: never a traceback."""
    import random
    rng = random.Random(1234)
    for name in table:
        image = (pcaps_dir / name).read_bytes()
        for cut in range(0, len(image), max(1, len(image) // 40)):
            _read_all_or_pcap_error(image[:cut], allow=None)
        for _ in range(20):
            flipped = bytearray(image)
            for _ in range(3):
                flipped[rng.randrange(len(image))] ^= rng.randrange(1, 256)
            _read_all_or_pcap_error(bytes(flipped), allow=None)
