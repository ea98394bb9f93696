"""Streaming pcap / pcapng reader and a classic pcap writer.

Reading never holds more than one chunk (1 MiB, or one record if larger) of the file in memory, so
captures of millions of packets stream in constant memory. Supported inputs:

* classic pcap, both byte orders, microsecond (0xa1b2c3d4) and nanosecond (0xa1b23c4d) magic, and
  the "modified" (Kuznetzov, 0xa1b2cd34) variant with its 24-byte record header;
* pcapng: any number of sections (SHB, either byte order), interfaces (IDB, each with its own
  linktype, snaplen, `if_tsresol` and `if_tsoffset`), packets in EPB, SPB and the obsolete PB;
  every other block (NRB, ISB, DSB, custom, ...) is skipped.

Every problem with the file is a `PcapError` (a `JitnicError`) with a one-line message that names
the file and the byte offset; nothing else escapes the reader.

Decisions worth knowing:

* `caplen < orig_len` (truncated capture): the captured bytes are yielded, `orig_len` says how
  long the frame was on the wire. Records with caplen 0 yield `b""` (downstream: a runt).
* `caplen > snaplen` is tolerated, as Wireshark and scapy do (tcpdump's own test files contain such
  records); only a caplen above `max(snaplen, MAX_CAPLEN)` is refused as absurd.
* Only Ethernet (linktype 1) is accepted unless the caller passes `allow_linktypes`. Classic pcap
  checks this at the file header (one linktype per file); pcapng checks it at the first packet
  that uses a non-allowed interface (an unused interface is harmless).
* The upper bits of the classic header's linktype word (FCS length flags) are ignored.
* SPB packets carry no timestamp: their `ts_ns` is 0.
"""
from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Iterator
from typing import BinaryIO, NamedTuple

from jit import JitnicError

LINKTYPE_ETHERNET = 1
LINKTYPE_NAMES = {
    0: "NULL", 1: "ETHERNET", 12: "RAW", 14: "RAW", 101: "RAW", 105: "IEEE802_11",
    113: "LINUX_SLL", 127: "IEEE802_11_RADIOTAP", 228: "IPV4", 229: "IPV6", 276: "LINUX_SLL2",
}
MAX_CAPLEN = 262144          # Wireshark's and libpcap's largest per-packet capture length
MAX_BLOCK = 16 << 20         # largest pcapng block we accept (a packet block is far smaller)
_CHUNK = 1 << 20

_MAGIC_US = 0xA1B2C3D4
_MAGIC_NS = 0xA1B23C4D
_MAGIC_MODIFIED = 0xA1B2CD34
_PCAPNG_SHB = 0x0A0D0D0A
_PCAPNG_BOM = 0x1A2B3C4D
_BLOCK_IDB, _BLOCK_PB, _BLOCK_SPB, _BLOCK_EPB = 1, 2, 3, 6


class PcapError(JitnicError):
    """A capture file that cannot be read (malformed, truncated, unsupported linktype...)."""


class TruncatedTail(PcapError):
    """The file ends inside its last record (a capture cut short): every record before it was
    read. Callers that can use a partial capture catch this one and carry on with a warning."""


class PcapRecord(NamedTuple):
    """One captured packet: `data` holds the captured bytes (possibly fewer than `orig_len`)."""
    index: int
    data: bytes
    orig_len: int
    ts_ns: int
    linktype: int


def linktype_name(linktype: int) -> str:
    return LINKTYPE_NAMES.get(linktype, "unknown")


def read_packets(source, allow_linktypes: Iterable[int] | None = (LINKTYPE_ETHERNET,)
                 ) -> Iterator[bytes]:
    """Captured bytes of each frame in `source` (a path or a binary file object), streamed."""
    for rec in read_records(source, allow_linktypes):
        yield rec.data


def read_records(source, allow_linktypes: Iterable[int] | None = (LINKTYPE_ETHERNET,)
                 ) -> Iterator[PcapRecord]:
    """Every packet record of a pcap or pcapng file (path or binary file object), streamed.

    `allow_linktypes`: the linktypes accepted (default: Ethernet only); None accepts any.
    """
    allowed = None if allow_linktypes is None else frozenset(allow_linktypes)
    if isinstance(source, (str, os.PathLike)):
        name = os.fspath(source)
        try:
            f = open(name, "rb")
        except OSError as exc:
            raise PcapError(f"{name}: cannot open: {exc.strerror or exc}") from None
        with f:
            yield from _read_stream(f, name, allowed)
    else:
        yield from _read_stream(source, getattr(source, "name", "<stream>"), allowed)


class _Input:
    """A chunked reader that tracks the file offset of its buffer, for error messages."""

    def __init__(self, f: BinaryIO, name: str):
        self.f = f
        self.name = name
        self.buf = b""
        self.pos = 0            # read position within buf
        self.base = 0           # file offset of buf[0]

    def offset(self) -> int:
        return self.base + self.pos

    def available(self) -> int:
        return len(self.buf) - self.pos

    def fill(self, n: int) -> bool:
        """Make at least n unread bytes available; False at end of file before that."""
        if len(self.buf) - self.pos >= n:
            return True
        parts = [self.buf[self.pos:]]
        have = len(parts[0])
        want = max(n, _CHUNK)
        while have < n:
            try:
                more = self.f.read(want - have)
            except OSError as exc:
                raise PcapError(f"{self.name}: read error: {exc.strerror or exc}") from None
            if not more:
                break
            parts.append(more)
            have += len(more)
        self.base += self.pos
        self.pos = 0
        self.buf = b"".join(parts)
        return have >= n

    def error(self, what: str, at: int | None = None, detail: str = "",
              cls: type[PcapError] = PcapError) -> PcapError:
        """`FILE: WHAT at byte N (DETAIL)`, one line."""
        where = self.offset() if at is None else at
        tail = f" ({detail})" if detail else ""
        return cls(f"{self.name}: {what} at byte {where}{tail}")


def _read_stream(f: BinaryIO, name: str, allowed) -> Iterator[PcapRecord]:
    inp = _Input(f, name)
    if not inp.fill(4):
        if inp.available() == 0:
            raise PcapError(f"{name}: empty file (not a pcap or pcapng file)")
        raise PcapError(f"{name}: not a pcap or pcapng file (only {inp.available()} bytes)")
    head = inp.buf[:4]
    magic_le = struct.unpack("<I", head)[0]
    magic_be = struct.unpack(">I", head)[0]
    if magic_le == _PCAPNG_SHB:
        yield from _read_pcapng(inp, allowed)
        return
    for endian in ("<", ">"):
        magic = magic_le if endian == "<" else magic_be
        if magic in (_MAGIC_US, _MAGIC_NS, _MAGIC_MODIFIED):
            yield from _read_classic(inp, endian, magic, allowed)
            return
    if head[:2] == b"\x1f\x8b":
        raise PcapError(f"{name}: gzip-compressed; decompress it first")
    raise PcapError(f"{name}: not a pcap or pcapng file (magic 0x{magic_be:08x})")


def _check_linktype(inp: _Input, linktype: int, allowed, where: str) -> None:
    if allowed is not None and linktype not in allowed:
        wanted = ", ".join(str(x) for x in sorted(allowed)) or "none"
        raise PcapError(f"{inp.name}: {where} has linktype {linktype} ({linktype_name(linktype)}),"
                        f" not an accepted linktype ({wanted})")


def _read_classic(inp: _Input, endian: str, magic: int, allowed) -> Iterator[PcapRecord]:
    name = inp.name
    if not inp.fill(24):
        raise inp.error("truncated pcap file header", 0)
    major, minor, _zone, _sigfigs, snaplen, network = struct.unpack_from(endian + "HHiIII",
                                                                         inp.buf, 4)
    if major != 2:
        raise PcapError(f"{name}: unsupported pcap version {major}.{minor}")
    linktype = network & 0xFFFF
    _check_linktype(inp, linktype, allowed, "capture")
    inp.pos = 24
    limit = max(snaplen, MAX_CAPLEN)
    ts_mult = 1 if magic == _MAGIC_NS else 1000
    hdr_len = 24 if magic == _MAGIC_MODIFIED else 16
    hdr = struct.Struct(endian + "IIII")
    unpack_from = hdr.unpack_from
    index = 0
    # The loop keeps the buffer in locals: this is the hot path for multi-million-packet files.
    buf, pos = inp.buf, inp.pos
    while True:
        end = pos + hdr_len
        if end > len(buf):
            inp.buf, inp.pos = buf, pos
            if not inp.fill(hdr_len):
                if inp.available() == 0:
                    return
                raise inp.error("truncated record header", None,
                                f"record {index}, {inp.available()} of {hdr_len} bytes",
                                TruncatedTail)
            buf, pos = inp.buf, inp.pos
            end = pos + hdr_len
        sec, frac, caplen, orig_len = unpack_from(buf, pos)
        if caplen > limit:
            raise PcapError(f"{name}: record {index} at byte {inp.base + pos}: caplen {caplen} "
                            f"larger than maximum {limit} (snaplen {snaplen})")
        stop = end + caplen
        if stop > len(buf):
            inp.buf, inp.pos = buf, pos
            if not inp.fill(hdr_len + caplen):
                raise inp.error("truncated packet data", inp.offset() + hdr_len,
                                f"record {index}, caplen {caplen}, "
                                f"{inp.available() - hdr_len} bytes left", TruncatedTail)
            buf, pos = inp.buf, inp.pos
            end = pos + hdr_len
            stop = end + caplen
        yield PcapRecord(index, buf[end:stop], orig_len, sec * 1_000_000_000 + frac * ts_mult,
                         linktype)
        index += 1
        pos = stop


class _Interface(NamedTuple):
    linktype: int
    snaplen: int
    ts_num: int       # ts_ns = ts * ts_num // ts_den + offset_ns
    ts_den: int
    offset_ns: int


def _read_pcapng(inp: _Input, allowed) -> Iterator[PcapRecord]:
    name = inp.name
    endian = "<"
    interfaces: list[_Interface] = []
    checked: set[int] = set()
    index = 0
    seen_shb = False
    epb_head = struct.Struct("<IIIIIII")
    trailer = struct.Struct("<I")
    while True:
        # Fast path: an EPB wholly in the buffer, from an interface already checked. Anything
        # unusual falls through to the general code below, which also reports errors.
        buf, pos = inp.buf, inp.pos
        if len(buf) - pos >= 32:
            btype, total, iface_id, ts_hi, ts_lo, caplen, orig_len = epb_head.unpack_from(buf, pos)
            if (btype == _BLOCK_EPB and iface_id in checked and 32 <= total <= MAX_BLOCK
                    and not total & 3 and pos + total <= len(buf) and caplen <= total - 32
                    and caplen <= MAX_CAPLEN
                    and trailer.unpack_from(buf, pos + total - 4)[0] == total):
                iface = interfaces[iface_id]
                yield PcapRecord(index, buf[pos + 28:pos + 28 + caplen], orig_len,
                                 ((ts_hi << 32) | ts_lo) * iface.ts_num // iface.ts_den
                                 + iface.offset_ns, iface.linktype)
                index += 1
                inp.pos = pos + total
                continue
        start = inp.offset()
        if not inp.fill(8):
            if inp.available() == 0:
                return
            raise inp.error("truncated block header", None, f"{inp.available()} of 8 bytes",
                            TruncatedTail)
        btype = struct.unpack_from(endian + "I", inp.buf, inp.pos)[0]
        if btype == _PCAPNG_SHB:
            if not inp.fill(12):
                raise inp.error("truncated section header block")
            bom_bytes = inp.buf[inp.pos + 8:inp.pos + 12]
            if struct.unpack("<I", bom_bytes)[0] == _PCAPNG_BOM:
                endian = "<"
            elif struct.unpack(">I", bom_bytes)[0] == _PCAPNG_BOM:
                endian = ">"
            else:
                raise inp.error(f"bad section header byte-order magic 0x{bom_bytes.hex()}")
            seen_shb = True
            interfaces = []
            checked = set()
            epb_head = struct.Struct(endian + "IIIIIII")
            trailer = struct.Struct(endian + "I")
        elif not seen_shb:
            raise inp.error("pcapng block before the first section header")
        total = struct.unpack_from(endian + "I", inp.buf, inp.pos + 4)[0]
        if total < 12 or total % 4 or total > MAX_BLOCK:
            raise inp.error(f"bad block length {total}", None, f"block type 0x{btype:08x}")
        if not inp.fill(total):
            raise inp.error("truncated block", None, f"type 0x{btype:08x}, length {total}, "
                                                     f"{inp.available()} bytes left", TruncatedTail)
        block = inp.buf[inp.pos:inp.pos + total]
        inp.pos += total
        if struct.unpack_from(endian + "I", block, total - 4)[0] != total:
            raise inp.error(f"block trailing length does not match {total}", start,
                            f"type 0x{btype:08x}")
        body = memoryview(block)[8:total - 4]
        if btype == _PCAPNG_SHB:
            if len(body) < 16:
                raise inp.error("section header block too short", start)
            major, minor = struct.unpack_from(endian + "HH", body, 4)
            if major != 1:
                raise PcapError(f"{name}: unsupported pcapng version {major}.{minor} "
                                f"at byte {start}")
        elif btype == _BLOCK_IDB:
            interfaces.append(_parse_idb(inp, body, endian, start))
        elif btype in (_BLOCK_EPB, _BLOCK_PB, _BLOCK_SPB):
            if btype == _BLOCK_SPB:
                if len(body) < 4:
                    raise inp.error("simple packet block too short", start)
                iface_id = 0
                orig_len = struct.unpack_from(endian + "I", body, 0)[0]
                ts = None
                data_off = 4
                caplen = min(orig_len, len(body) - 4)
            else:
                if len(body) < 20:
                    raise inp.error("packet block too short", start)
                if btype == _BLOCK_EPB:
                    iface_id, ts_hi, ts_lo, caplen, orig_len = struct.unpack_from(
                        endian + "IIIII", body, 0)
                else:
                    iface_id, _drops, ts_hi, ts_lo, caplen, orig_len = struct.unpack_from(
                        endian + "HHIIII", body, 0)
                ts = (ts_hi << 32) | ts_lo
                data_off = 20
                if caplen > len(body) - 20:
                    raise inp.error(f"packet block caplen {caplen} exceeds its block "
                                    f"({len(body) - 20} bytes of data)", start)
            if iface_id >= len(interfaces):
                raise inp.error(f"packet block references undefined interface {iface_id}", start)
            iface = interfaces[iface_id]
            if btype == _BLOCK_SPB and iface.snaplen:
                caplen = min(caplen, iface.snaplen)
            if caplen > max(iface.snaplen, MAX_CAPLEN):
                raise inp.error(f"caplen {caplen} larger than maximum "
                                f"{max(iface.snaplen, MAX_CAPLEN)}", start)
            if iface_id not in checked:
                _check_linktype(inp, iface.linktype, allowed, f"interface {iface_id}")
                checked.add(iface_id)
            ts_ns = 0 if ts is None else ts * iface.ts_num // iface.ts_den + iface.offset_ns
            yield PcapRecord(index, bytes(body[data_off:data_off + caplen]), orig_len, ts_ns,
                             iface.linktype)
            index += 1
        # every other block type (NRB, ISB, DSB, custom, ...) is skipped


def _parse_idb(inp: _Input, body: memoryview, endian: str, start: int) -> _Interface:
    if len(body) < 8:
        raise inp.error("interface description block too short", start)
    linktype, _reserved, snaplen = struct.unpack_from(endian + "HHI", body, 0)
    ts_num, ts_den, offset_ns = 1000, 1, 0          # default resolution: microseconds
    off = 8
    while off + 4 <= len(body):
        code, length = struct.unpack_from(endian + "HH", body, off)
        off += 4
        if code == 0:                               # opt_endofopt
            break
        if off + length > len(body):
            raise inp.error(f"interface option {code} runs past its block", start)
        value = body[off:off + length]
        if code == 9 and length >= 1:               # if_tsresol
            res = value[0]
            if res & 0x80:
                ts_num, ts_den = 10 ** 9, 1 << (res & 0x7F)
            elif (res & 0x7F) > 30:
                raise inp.error(f"absurd timestamp resolution 10^-{res}", start)
            else:
                exp = res & 0x7F
                ts_num, ts_den = (10 ** (9 - exp), 1) if exp <= 9 else (1, 10 ** (exp - 9))
        elif code == 14 and length >= 8:            # if_tsoffset, seconds
            offset_ns = struct.unpack_from(endian + "q", value, 0)[0] * 1_000_000_000
        off += (length + 3) & ~3
    return _Interface(linktype, snaplen, ts_num, ts_den, offset_ns)


class PcapWriter:
    """Write a classic pcap file (little-endian; microsecond magic unless `nanosecond`).

    `dest` is a path or a binary file object (not closed by `close()` when passed in). Frames
    longer than `snaplen` are truncated and recorded with their original length. Without a
    `ts_ns`, each packet is stamped 1 µs after the previous one (the first at 0), so output is
    reproducible.
    """

    def __init__(self, dest, linktype: int = LINKTYPE_ETHERNET, snaplen: int = 65535,
                 nanosecond: bool = False):
        if not 0 <= linktype <= 0xFFFF:
            raise PcapError(f"linktype {linktype} out of range")
        if not 1 <= snaplen <= MAX_CAPLEN:
            raise PcapError(f"snaplen {snaplen} out of range 1..{MAX_CAPLEN}")
        self.snaplen = snaplen
        self.nanosecond = nanosecond
        self.count = 0
        self._last_ts = -1000
        self._rec = struct.Struct("<IIII")
        if isinstance(dest, (str, os.PathLike)):
            try:
                self._f = open(dest, "wb")
            except OSError as exc:
                raise PcapError(f"{os.fspath(dest)}: cannot create: {exc.strerror or exc}") \
                    from None
            self._owned = True
        else:
            self._f = dest
            self._owned = False
        magic = _MAGIC_NS if nanosecond else _MAGIC_US
        self._f.write(struct.pack("<IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype))

    def write(self, data: bytes, ts_ns: int | None = None, orig_len: int | None = None) -> None:
        """Append one frame. `orig_len` defaults to `len(data)` (before snaplen truncation)."""
        if ts_ns is None:
            ts_ns = self._last_ts + 1000
        elif ts_ns < 0:
            raise PcapError(f"negative timestamp {ts_ns}")
        self._last_ts = ts_ns
        length = len(data) if orig_len is None else orig_len
        if len(data) > self.snaplen:
            data = data[:self.snaplen]
        sec, ns = divmod(ts_ns, 1_000_000_000)
        if sec > 0xFFFFFFFF:
            raise PcapError(f"timestamp {ts_ns} ns does not fit a pcap record")
        frac = ns if self.nanosecond else ns // 1000
        self._f.write(self._rec.pack(sec, frac, len(data), length))
        self._f.write(data)
        self.count += 1

    def close(self) -> None:
        if self._owned:
            self._f.close()
        else:
            self._f.flush()

    def __enter__(self) -> PcapWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def write_packets(dest, packets: Iterable[bytes], **kwargs) -> int:
    """Write every frame of `packets` to a new pcap file; returns the number written."""
    with PcapWriter(dest, **kwargs) as w:
        for data in packets:
            w.write(data)
        return w.count


__all__ = ["PcapError", "PcapRecord", "PcapWriter", "read_packets", "read_records",
           "write_packets", "linktype_name", "LINKTYPE_ETHERNET", "MAX_CAPLEN"]
