"""The Linux kernel as an oracle: load an XDP program with bpf(BPF_PROG_LOAD) and run packets through
it with bpf(BPF_PROG_TEST_RUN), through ctypes (one syscall per packet; far faster than spawning
bpftool).

The attribute layouts below mirror `union bpf_attr` in the kernel UAPI header
`/usr/include/linux/bpf.h` (the anonymous structs used by BPF_PROG_LOAD and BPF_PROG_TEST_RUN).
The kernel accepts a shorter attr than its own union as long as everything it knows past our end is
zero, so we pass exactly the prefix we fill in.

Outcomes of `KernelProgram.run`:
  * `(action, out_bytes)` — the program ran; `action` is its return value, `out_bytes` the packet as
    the program left it (meaningless for XDP_DROP / XDP_ABORTED);
  * `PacketRefused` — the kernel refused to run the program on a packet shorter than an Ethernet
    header (ETH_HLEN = 14 bytes; `bpf_prog_test_run_xdp` returns EINVAL);
  * `KernelError` — any other syscall failure.
"""
from __future__ import annotations

import ctypes
import errno
import os
import platform
import re
import struct

from jit.ebpf import isa
from jit import JitnicError

# __NR_bpf per architecture (arch/*/entry/syscalls, include/uapi/asm-generic/unistd.h).
SYS_BPF_BY_ARCH = {
    "x86_64": 321,
    "aarch64": 280,      # asm-generic
    "riscv64": 280,      # asm-generic
    "loongarch64": 280,  # asm-generic
    "i686": 357,
    "i386": 357,
    "armv7l": 386,
    "ppc64le": 361,
    "ppc64": 361,
    "s390x": 351,
}

# enum bpf_cmd
BPF_PROG_LOAD = 5
BPF_PROG_TEST_RUN = 10
# enum bpf_prog_type
BPF_PROG_TYPE_XDP = 6
XDP = BPF_PROG_TYPE_XDP

BPF_OBJ_NAME_LEN = 16
ETH_HLEN = 14
INSN_SIZE = 8
LOG_SIZE = 16 << 20      # verifier log buffer used when a load fails
LOG_TAIL_LINES = 12      # how much of the verifier log an error message carries
OUT_SLACK = 4096         # data_out room beyond the input length (a program may grow the packet)


class KernelError(JitnicError):
    """The kernel refused a bpf(2) request."""


class VerifierError(KernelError):
    """BPF_PROG_LOAD failed; `.log` holds the whole verifier log."""

    def __init__(self, message: str, log: str):
        super().__init__(message)
        self.log = log


class PacketRefused(KernelError):
    """BPF_PROG_TEST_RUN refused the packet: XDP test runs need at least ETH_HLEN (14) bytes."""


class _ProgLoadAttr(ctypes.Structure):
    """Prefix of the BPF_PROG_LOAD struct of union bpf_attr."""
    _fields_ = [
        ("prog_type", ctypes.c_uint32),
        ("insn_cnt", ctypes.c_uint32),
        ("insns", ctypes.c_uint64),
        ("license", ctypes.c_uint64),
        ("log_level", ctypes.c_uint32),
        ("log_size", ctypes.c_uint32),
        ("log_buf", ctypes.c_uint64),
        ("kern_version", ctypes.c_uint32),
        ("prog_flags", ctypes.c_uint32),
        ("prog_name", ctypes.c_char * BPF_OBJ_NAME_LEN),
        ("prog_ifindex", ctypes.c_uint32),
        ("expected_attach_type", ctypes.c_uint32),
    ]


class _TestRunAttr(ctypes.Structure):
    """The BPF_PROG_TEST_RUN struct (`test`) of union bpf_attr."""
    _fields_ = [
        ("prog_fd", ctypes.c_uint32),
        ("retval", ctypes.c_uint32),
        ("data_size_in", ctypes.c_uint32),
        ("data_size_out", ctypes.c_uint32),
        ("data_in", ctypes.c_uint64),
        ("data_out", ctypes.c_uint64),
        ("repeat", ctypes.c_uint32),
        ("duration", ctypes.c_uint32),
        ("ctx_size_in", ctypes.c_uint32),
        ("ctx_size_out", ctypes.c_uint32),
        ("ctx_in", ctypes.c_uint64),
        ("ctx_out", ctypes.c_uint64),
        ("flags", ctypes.c_uint32),
        ("cpu", ctypes.c_uint32),
        ("batch_size", ctypes.c_uint32),
    ]


assert ctypes.sizeof(_TestRunAttr) == 80, "BPF_PROG_TEST_RUN attr layout drifted"

_libc = None


def _syscall_number() -> int:
    machine = platform.machine()
    if machine not in SYS_BPF_BY_ARCH:
        raise KernelError(f"no bpf(2) syscall number known for architecture {machine!r}")
    return SYS_BPF_BY_ARCH[machine]


def _bpf(cmd: int, attr: ctypes.Structure) -> int:
    """bpf(cmd, &attr, sizeof attr); returns the result or raises OSError with errno."""
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
        _libc.syscall.restype = ctypes.c_long
    ret = _libc.syscall(ctypes.c_long(_syscall_number()), ctypes.c_long(cmd),
                        ctypes.byref(attr), ctypes.c_uint(ctypes.sizeof(attr)))
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return ret


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


def _sanitize_name(name: str) -> bytes:
    return re.sub(r"[^A-Za-z0-9_.]", "_", name)[:BPF_OBJ_NAME_LEN - 1].encode()


def _log_tail(log: str, lines: int = LOG_TAIL_LINES) -> str:
    kept = [line for line in log.splitlines() if line.strip()][-lines:]
    return " | ".join(kept)


class KernelProgram:
    """One program loaded into the kernel. Use as a context manager or call `close()`."""

    def __init__(self, insns, prog_type: int = XDP, name: str = "jitnic", license: str = "GPL"):
        self.code = encode_insns(insns)
        self.prog_type = prog_type
        self.fd = -1
        if not self.code:
            raise KernelError("cannot load an empty program")
        self._code_buf = ctypes.create_string_buffer(self.code, len(self.code))
        self._license = ctypes.create_string_buffer(license.encode())
        self._name = _sanitize_name(name)
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
        if log is not None:
            attr.log_level = log_level
            attr.log_size = len(log)
            attr.log_buf = ctypes.addressof(log)
        return _bpf(BPF_PROG_LOAD, attr)

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
        """Run the program once on `packet`; returns (action, packet bytes after the program)."""
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
        try:
            _bpf(BPF_PROG_TEST_RUN, attr)
        except OSError as exc:
            if exc.errno == errno.EINVAL and len(packet) < ETH_HLEN:
                raise PacketRefused(f"kernel refuses XDP test runs on packets shorter than "
                                    f"{ETH_HLEN} bytes (got {len(packet)})") from None
            raise KernelError(f"BPF_PROG_TEST_RUN: {exc.strerror} "
                              f"({len(packet)}-byte packet)") from None
        return attr.retval, self._out.raw[:attr.data_size_out]

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> "KernelProgram":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: nothing useful to do
            pass


# r0 = XDP_PASS; exit
_TRIVIAL = struct.pack("<BBhi", 0xB7, 0, 0, 2) + struct.pack("<BBhi", 0x95, 0, 0, 0)
_available: tuple[bool, str] | None = None


def kernel_available() -> tuple[bool, str]:
    """(True, "") when this process may load and test-run XDP programs, else (False, reason).
    Probes once by loading and running a two-instruction program; the answer is cached."""
    global _available
    if _available is not None:
        return _available
    _available = _probe()
    return _available


def _probe() -> tuple[bool, str]:
    if platform.system() != "Linux":
        return False, f"the bpf syscall needs Linux, this is {platform.system()}"
    if platform.machine() not in SYS_BPF_BY_ARCH:
        return False, f"no bpf(2) syscall number known for architecture {platform.machine()!r}"
    root = "" if os.geteuid() == 0 else " (not running as root)"
    try:
        with KernelProgram(_TRIVIAL, name="jitnic_probe") as prog:
            action, _ = prog.run(bytes(64))
    except KernelError as exc:
        return False, f"cannot load XDP programs{root}: {exc}"
    except OSError as exc:  # e.g. seccomp denies the syscall outright
        return False, f"bpf syscall failed{root}: {exc}"
    if action != 2:
        return False, f"probe program returned {action}, expected 2 (XDP_PASS)"
    return True, ""

