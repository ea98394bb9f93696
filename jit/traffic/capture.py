"""Frames of a capture as the commands see them: Ethernet frames in record order, with two explicit
tolerances a user asks for or is told about.

* Link types. XDP programs parse Ethernet. Captures taken on `any` (Linux cooked SLL / SLL2) or on
  a tunnel (raw IPv4/IPv6) are refused unless the caller asks for conversion (`convert=True`, the
  CLI's `--convert-link`); converted frames get a synthetic Ethernet header: destination
  02:00:00:00:00:00, source the SLL link-layer address when it is 6 bytes long (else
  02:00:00:00:00:01), EtherType the SLL protocol field or, for raw IP, 0x0800 / 0x86DD from the IP
  version nibble. The conversion is noted once per link type.
* A capture cut short. A file that ends inside its last record (a capture killed mid-write) yields
  every complete record, then stops with a warning instead of an error.

Notes and warnings are collected in `CaptureReader.notes` / `.warnings` for the caller to print
(the CLI prints them on stderr after its report, so the report itself stays machine-readable).
"""
from __future__ import annotations

import struct
from collections.abc import Iterator

from jit.traffic import pcap

ETH_P_IP, ETH_P_IPV6 = 0x0800, 0x86DD
LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2 = 113, 276
RAW_IP_LINKTYPES = (12, 14, 101)          # DLT_RAW's numbers across platforms, and LINKTYPE_RAW
LINKTYPE_IPV4, LINKTYPE_IPV6 = 228, 229
CONVERTIBLE = (LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2, LINKTYPE_IPV4, LINKTYPE_IPV6,
               *RAW_IP_LINKTYPES)
SYNTH_DST = bytes.fromhex("020000000000")
SYNTH_SRC = bytes.fromhex("020000000001")


class LinkTypeError(pcap.PcapError):
    """A capture whose link layer is not Ethernet (and not converted)."""


def _raw_ip(data: bytes) -> bytes:
    version = data[0] >> 4 if data else 0
    ethertype = ETH_P_IPV6 if version == 6 else ETH_P_IP
    return SYNTH_DST + SYNTH_SRC + struct.pack(">H", ethertype) + data


def _sll(data: bytes) -> bytes:
    # packet type(2) ARPHRD(2) address length(2) address(8) protocol(2), then the payload
    if len(data) < 16:
        return SYNTH_DST + SYNTH_SRC + b"\x00\x00" + data[16:]
    alen = struct.unpack_from(">H", data, 4)[0]
    src = data[6:12] if alen == 6 else SYNTH_SRC
    return SYNTH_DST + src + data[14:16] + data[16:]


def _sll2(data: bytes) -> bytes:
    # protocol(2) reserved(2) ifindex(4) ARPHRD(2) packet type(1) address length(1) address(8)
    if len(data) < 20:
        return SYNTH_DST + SYNTH_SRC + b"\x00\x00" + data[20:]
    alen = data[11]
    src = data[12:18] if alen == 6 else SYNTH_SRC
    return SYNTH_DST + src + data[0:2] + data[20:]


def to_ethernet(linktype: int, data: bytes) -> bytes:
    """`data` of a record with link type `linktype` (one of CONVERTIBLE) as an Ethernet frame."""
    if linktype == LINKTYPE_LINUX_SLL:
        return _sll(data)
    if linktype == LINKTYPE_LINUX_SLL2:
        return _sll2(data)
    if linktype in (LINKTYPE_IPV4, LINKTYPE_IPV6, *RAW_IP_LINKTYPES):
        return _raw_ip(data)
    raise ValueError(f"linktype {linktype} is not convertible")


class CaptureReader:
    """Iterate `frames()` (any number of times: each call re-reads the file)."""

    def __init__(self, path: str, convert: bool = False):
        self.path = path
        self.convert = convert
        self.notes: list[str] = []
        self.warnings: list[str] = []

    def frames(self) -> Iterator[bytes]:
        for _ts_ns, frame in self.stamped_frames():
            yield frame

    def stamped_frames(self) -> Iterator[tuple[int, bytes]]:
        """(capture timestamp in ns, Ethernet frame) per record, in record order."""
        converted: set[int] = set()
        try:
            for rec in pcap.read_records(self.path, allow_linktypes=None):
                lt = rec.linktype
                if lt == pcap.LINKTYPE_ETHERNET:
                    yield rec.ts_ns, rec.data
                    continue
                name = f"{lt} ({pcap.linktype_name(lt)})"
                if lt not in CONVERTIBLE:
                    raise LinkTypeError(f"{self.path}: record {rec.index} has linktype {name}; "
                                        f"only Ethernet captures are supported")
                if not self.convert:
                    raise LinkTypeError(f"{self.path}: record {rec.index} has linktype {name}, "
                                        f"not Ethernet; --convert-link turns Linux cooked "
                                        f"(SLL, SLL2) and raw IP records into Ethernet frames")
                if lt not in converted:
                    converted.add(lt)
                    self._note(f"note: {self.path}: linktype {name} converted to Ethernet frames "
                               f"(synthetic MAC addresses, EtherType from the capture)")
                yield rec.ts_ns, to_ethernet(lt, rec.data)
        except pcap.TruncatedTail as exc:
            self._warn(f"warning: {exc}; the run stopped at the last complete record")

    def _note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def _warn(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)
