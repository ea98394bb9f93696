"""A network namespace of the oracle's own, so that what the kernel's helpers see of the machine is
what the map contents and the user's FIB describe, not this host's interfaces and routes.

Why: a devmap or devmap_hash update looks its ifindex up in the *calling thread's* namespace
(ENODEV if there is no such device), and bpf_fib_lookup during BPF_PROG_TEST_RUN consults that
namespace's FIB. `PrivateNetns(ifindexes)` creates a fresh namespace (unshare(CLONE_NEWNET) on the
calling thread, which then returns to its own namespace with setns) holding loopback (ifindex 1,
up) and a veth device with each requested ifindex (veth because it is built into every kernel that
has network namespaces; the dummy driver often is a module). `inside()` enters it for a block.
Only the calling thread changes namespace, and only inside the block.

Needs CAP_SYS_ADMIN (root); `available()` says whether this process can.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import subprocess

from jit.ebpf.kernel.syscall import KernelError, libc

CLONE_NEWNET = 0x40000000
NS_PATH = "/proc/thread-self/ns/net"
PEER_INDEX_BASE = 1000        # ifindexes of the veth peers nobody asked for
IP_TIMEOUT = 30


class NetnsError(KernelError):
    """The private network namespace could not be made or entered."""


def _setns(fd: int) -> None:
    if libc().setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise NetnsError(f"setns: {os.strerror(err)}")


def _ip(*args: str) -> None:
    try:
        proc = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=IP_TIMEOUT)
    except (OSError, subprocess.SubprocessError) as exc:
        raise NetnsError(f"ip {' '.join(args)}: {exc}") from None
    if proc.returncode:
        raise NetnsError(f"ip {' '.join(args)}: {proc.stderr.strip() or 'failed'}")


class PrivateNetns:
    """A fresh network namespace with loopback and one veth device per requested ifindex."""

    def __init__(self, ifindexes=(), routes=()):
        """`routes`: `ip route` argument lists run inside the namespace after the devices are up
        (e.g. ["10.0.0.0/8", "via", "10.1.0.1", "dev", "jn2", "onlink"])."""
        self.ifindexes = sorted({int(i) for i in ifindexes if int(i) > 1})
        self.fd = -1
        home = os.open(NS_PATH, os.O_RDONLY)
        try:
            if libc().unshare(CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                raise NetnsError(f"unshare(CLONE_NEWNET): {os.strerror(err)} (needs root)")
            try:
                self.fd = os.open(NS_PATH, os.O_RDONLY)
                self._populate(routes)
            finally:
                _setns(home)
        finally:
            os.close(home)

    @staticmethod
    def device_name(ifindex: int) -> str:
        return f"jn{ifindex}"

    def _populate(self, routes) -> None:
        _ip("link", "set", "lo", "up")
        todo = list(self.ifindexes)
        spare = PEER_INDEX_BASE + (todo[-1] if todo else 0)
        while todo:
            first = todo.pop(0)
            if todo:
                second = todo.pop(0)
            else:
                second, spare = spare, spare + 1
            _ip("link", "add", self.device_name(first), "index", str(first), "type", "veth",
                "peer", "name", self.device_name(second), "index", str(second))
            for index in (first, second):
                _ip("link", "set", self.device_name(index), "up")
        for route in routes:
            _ip("route", "add", *route)

    @contextlib.contextmanager
    def inside(self):
        """Run the block in this namespace (the calling thread only)."""
        if self.fd < 0:
            raise NetnsError("network namespace is closed")
        home = os.open(NS_PATH, os.O_RDONLY)
        try:
            _setns(self.fd)
            try:
                yield self
            finally:
                _setns(home)
        finally:
            os.close(home)

    def close(self) -> None:
        """Drop our reference; the kernel frees the namespace and its devices."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> "PrivateNetns":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown
            pass


_available: tuple[bool, str] | None = None


def available() -> tuple[bool, str]:
    """(True, "") if this process can make a private network namespace, else (False, reason)."""
    global _available
    if _available is None:
        try:
            PrivateNetns([2]).close()
            _available = (True, "")
        except (NetnsError, OSError) as exc:
            _available = (False, str(exc))
    return _available
