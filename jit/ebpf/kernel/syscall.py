"""bpf(2) through ctypes: the syscall, the command numbers and the attribute layouts the oracle uses,
and the errors every kernel module raises.

The layouts mirror the anonymous structs of `union bpf_attr` in the UAPI header
`/usr/include/linux/bpf.h`. The kernel accepts an attr shorter than its own union as long as
everything it knows past our end is zero, so each command passes exactly the struct it fills in.
"""
from __future__ import annotations

import ctypes
import os
import platform

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
BPF_MAP_CREATE = 0
BPF_MAP_LOOKUP_ELEM = 1
BPF_MAP_UPDATE_ELEM = 2
BPF_MAP_DELETE_ELEM = 3
BPF_MAP_GET_NEXT_KEY = 4
BPF_PROG_LOAD = 5
BPF_PROG_TEST_RUN = 10
BPF_OBJ_GET_INFO_BY_FD = 15
BPF_MAP_FREEZE = 22

BPF_OBJ_NAME_LEN = 16


class KernelError(JitnicError):
    """The kernel refused a bpf(2) request."""


class OwnedFd:
    """A kernel object held through one file descriptor (`self.fd`, -1 once closed): closed by
    `close()`, at the end of a `with` block, or when the object is collected."""
    fd: int = -1

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown: nothing useful to do
            pass


class _MapCreateAttr(ctypes.Structure):
    """BPF_MAP_CREATE (up to map_extra)."""
    _fields_ = [
        ("map_type", ctypes.c_uint32),
        ("key_size", ctypes.c_uint32),
        ("value_size", ctypes.c_uint32),
        ("max_entries", ctypes.c_uint32),
        ("map_flags", ctypes.c_uint32),
        ("inner_map_fd", ctypes.c_uint32),
        ("numa_node", ctypes.c_uint32),
        ("map_name", ctypes.c_char * BPF_OBJ_NAME_LEN),
        ("map_ifindex", ctypes.c_uint32),
        ("btf_fd", ctypes.c_uint32),
        ("btf_key_type_id", ctypes.c_uint32),
        ("btf_value_type_id", ctypes.c_uint32),
        ("btf_vmlinux_value_type_id", ctypes.c_uint32),
        ("map_extra", ctypes.c_uint64),
    ]


class _MapElemAttr(ctypes.Structure):
    """BPF_MAP_{LOOKUP,UPDATE,DELETE}_ELEM and BPF_MAP_GET_NEXT_KEY (`value` is `next_key` there)."""
    _fields_ = [
        ("map_fd", ctypes.c_uint32),
        ("key", ctypes.c_uint64),
        ("value", ctypes.c_uint64),
        ("flags", ctypes.c_uint64),
    ]


class _MapFdAttr(ctypes.Structure):
    """BPF_MAP_FREEZE: just the map fd."""
    _fields_ = [("map_fd", ctypes.c_uint32)]


class _InfoByFdAttr(ctypes.Structure):
    """BPF_OBJ_GET_INFO_BY_FD."""
    _fields_ = [
        ("bpf_fd", ctypes.c_uint32),
        ("info_len", ctypes.c_uint32),
        ("info", ctypes.c_uint64),
    ]


class _ProgLoadAttr(ctypes.Structure):
    """Prefix of BPF_PROG_LOAD."""
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
    """BPF_PROG_TEST_RUN (`test`)."""
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
assert ctypes.sizeof(_MapElemAttr) == 32, "map element attr layout drifted"
assert ctypes.sizeof(_MapCreateAttr) == 72, "BPF_MAP_CREATE attr layout drifted"

_libc = None


def libc():
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
        _libc.syscall.restype = ctypes.c_long
    return _libc


def syscall_number() -> int:
    machine = platform.machine()
    if machine not in SYS_BPF_BY_ARCH:
        raise KernelError(f"no bpf(2) syscall number known for architecture {machine!r}")
    return SYS_BPF_BY_ARCH[machine]


def bpf(cmd: int, attr: ctypes.Structure) -> int:
    """bpf(cmd, &attr, sizeof attr); returns the result or raises OSError with errno."""
    ret = libc().syscall(ctypes.c_long(syscall_number()), ctypes.c_long(cmd),
                         ctypes.byref(attr), ctypes.c_uint(ctypes.sizeof(attr)))
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return ret


def obj_name(name: str) -> bytes:
    """A name the kernel accepts for a map or program: [A-Za-z0-9_.], at most 15 bytes."""
    return "".join(c if c.isalnum() or c in "_." else "_" for c in name)[:BPF_OBJ_NAME_LEN - 1] \
        .encode("ascii", "replace")
