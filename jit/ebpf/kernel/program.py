"""One program in the kernel: load an XDP program with bpf(BPF_PROG_LOAD) and run packets through it
with bpf(BPF_PROG_TEST_RUN) (one syscall per packet; far faster than spawning bpftool).

Outcomes of `KernelProgram.run`:
  * `(action, out_bytes)` — the program ran; `action` is its return value, `out_bytes` the packet as
    the program left it (meaningless for XDP_DROP / XDP_ABORTED);
  * `PacketRefused` — the kernel refused to run the program on a packet shorter than an Ethernet
    header (ETH_HLEN = 14 bytes; `bpf_prog_test_run_xdp` returns EINVAL);
  * `KernelError` — any other syscall failure.
Programs that use maps are loaded by `jit.ebpf.kernel.objects`, which relocates them first.
"""
from __future__ import annotations

import ctypes
import errno
import os

from jit.ebpf import isa
from jit.ebpf.kernel.syscall import OwnedFd
from jit.ebpf.kernel.syscall import (BPF_PROG_LOAD, BPF_PROG_TEST_RUN, KernelError,
                                     _ProgLoadAttr, _TestRunAttr, bpf, obj_name)

# enum bpf_prog_type
BPF_PROG_TYPE_XDP = 6
XDP = BPF_PROG_TYPE_XDP

ETH_HLEN = 14
INSN_SIZE = 8
LOG_SIZE = 16 << 20      # verifier log buffer used when a load fails
LOG_TAIL_LINES = 12      # how much of the verifier log an error message carries
OUT_SLACK = 4096         # data_out room beyond the input length (a program may grow the packet)
XDP_MD_WORDS = 6         # struct xdp_md: data, data_end, data_meta, ingress_ifindex, rx_queue_index,
XDP_MD_DATA, XDP_MD_DATA_END = 0, 1     # egress_ifindex (u32 each)


# enum bpf_attach_type: plain XDP; BPF_PROG_LOAD's flag for multi-buffer programs
BPF_XDP = 37
BPF_F_XDP_HAS_FRAGS = 1 << 5


def xdp_load_options(section: str) -> tuple[int, int]:
    """(expected_attach_type, prog_flags) under which the oracle loads an XDP program of `section`:
    BPF_XDP, plus BPF_F_XDP_HAS_FRAGS for `xdp.frags*` (multi-buffer) like libbpf. Programs for
    `xdp/devmap` and `xdp/cpumap` are loaded as plain XDP too, unlike libbpf (BPF_XDP_DEVMAP /
    BPF_XDP_CPUMAP): BPF_PROG_TEST_RUN refuses those attach types (EINVAL), and the only difference
    a program can see is that reading `egress_ifindex` is then refused by the verifier."""
    return BPF_XDP, BPF_F_XDP_HAS_FRAGS if section.startswith("xdp.frags") else 0


class VerifierError(KernelError):
    """BPF_PROG_LOAD failed; `.log` holds the whole verifier log."""

    def __init__(self, message: str, log: str):
        super().__init__(message)
        self.log = log


class PacketRefused(KernelError):
    """BPF_PROG_TEST_RUN refused the packet: XDP test runs need at least ETH_HLEN (14) bytes."""


def encode_insns(insns) -> bytes:
    """Instruction bytes for the kernel: `bytes` pass through; a list of `jit.ebpf.isa.Insn` is encoded
    with `jit.ebpf.isa.encode` (LD_IMM64 takes two slots)."""
    if isinstance(insns, (bytes, bytearray, memoryview)):
        code = bytes(insns)
    else:
        code = isa.encode(insns)
    if len(code) % INSN_SIZE:
        raise KernelError(f"program is {len(code)} bytes, not a multiple of {INSN_SIZE}")
    return code


def _log_tail(log: str, lines: int = LOG_TAIL_LINES) -> str:
    kept = [line for line in log.splitlines() if line.strip()][-lines:]
    return " | ".join(kept)


class KernelProgram(OwnedFd):
    """One program loaded into the kernel. Use as a context manager or call `close()`."""

    def __init__(self, insns, prog_type: int = XDP, name: str = "jitnic", license: str = "GPL",
                 expected_attach_type: int = 0, prog_flags: int = 0):
        self.code = encode_insns(insns)
        self.prog_type = prog_type
        self.expected_attach_type, self.prog_flags = expected_attach_type, prog_flags
        self.fd = -1
        if not self.code:
            raise KernelError("cannot load an empty program")
        self._code_buf = ctypes.create_string_buffer(self.code, len(self.code))
        self._license = ctypes.create_string_buffer(license.encode())
        self._name = obj_name(name)
        try:
            self.fd = self._load(log_level=0, log=None)
        except OSError as exc:
            self._raise_load_error(exc)
        # Output buffer, reused for every run (grown on demand).
        self._out = ctypes.create_string_buffer(2048)

    def _load(self, log_level: int, log) -> int:
        attr = _ProgLoadAttr()
        attr.prog_type = self.prog_type
        attr.insn_cnt = len(self.code) // INSN_SIZE
        attr.insns = ctypes.addressof(self._code_buf)
        attr.license = ctypes.addressof(self._license)
        attr.prog_name = self._name
        attr.expected_attach_type, attr.prog_flags = self.expected_attach_type, self.prog_flags
        if log is not None:
            attr.log_level = log_level
            attr.log_size = len(log)
            attr.log_buf = ctypes.addressof(log)
        return bpf(BPF_PROG_LOAD, attr)

    def _raise_load_error(self, first: OSError):
        """Reload with the verifier log on, so the error says why."""
        if first.errno in (errno.EPERM, errno.EACCES) and os.geteuid() != 0:
            raise KernelError(f"BPF_PROG_LOAD: {first.strerror} (loading XDP programs needs root "
                              f"or CAP_BPF + CAP_NET_ADMIN)") from None
        log = ctypes.create_string_buffer(LOG_SIZE)
        try:
            fd = self._load(log_level=1, log=log)
        except OSError as exc:
            text = log.value.decode(errors="replace")
            tail = _log_tail(text)
            raise VerifierError(f"BPF_PROG_LOAD rejected the program ({exc.strerror})"
                                + (f": {tail}" if tail else ""), text) from None
        os.close(fd)  # loaded with the log on: report the first failure as it was
        raise KernelError(f"BPF_PROG_LOAD: {first.strerror}") from None

    def run(self, packet: bytes) -> tuple[int, bytes]:
        """Run the program once on `packet`; returns (action, packet bytes after the program):
        the bytes from `data` to `data_end`, without metadata a program added with
        bpf_xdp_adjust_meta (the kernel returns metadata + packet; the `xdp_md` it hands back
        says where the packet starts)."""
        if self.fd < 0:
            raise KernelError("program is closed")
        packet = bytes(packet)
        need = len(packet) + OUT_SLACK
        if ctypes.sizeof(self._out) < need:
            self._out = ctypes.create_string_buffer(need)
        data_in = ctypes.create_string_buffer(packet, max(len(packet), 1))
        attr = _TestRunAttr()
        attr.prog_fd = self.fd
        attr.data_size_in = len(packet)
        attr.data_size_out = ctypes.sizeof(self._out)
        attr.data_in = ctypes.addressof(data_in)
        attr.data_out = ctypes.addressof(self._out)
        attr.repeat = 1
        # xdp_md in and out (u32 offsets): in, no metadata and data_end = the frame's length (the
        # only form the kernel accepts); out, where data and data_end ended up in data_out.
        ctx = (ctypes.c_uint32 * XDP_MD_WORDS)()
        ctx[XDP_MD_DATA_END] = len(packet)
        attr.ctx_in = attr.ctx_out = ctypes.addressof(ctx)
        attr.ctx_size_in = attr.ctx_size_out = ctypes.sizeof(ctx)
        try:
            bpf(BPF_PROG_TEST_RUN, attr)
        except OSError as exc:
            if exc.errno == errno.EINVAL and len(packet) < ETH_HLEN:
                raise PacketRefused(f"kernel refuses XDP test runs on packets shorter than "
                                    f"{ETH_HLEN} bytes (got {len(packet)})") from None
            raise KernelError(f"BPF_PROG_TEST_RUN: {exc.strerror} "
                              f"({len(packet)}-byte packet)") from None
        out = self._out.raw[:attr.data_size_out]
        if attr.ctx_size_out >= ctypes.sizeof(ctx):
            out = out[ctx[XDP_MD_DATA]:ctx[XDP_MD_DATA_END]]
        return attr.retval, out

