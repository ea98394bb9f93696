"""A network namespace of the oracle's own, so that what the kernel's helpers see of the machine is
what the map contents and the user's FIB describe, not this host's interfaces and routes.

Why: a devmap or devmap_hash update looks its ifindex up in the *calling thread's* namespace
(ENODEV if there is no such device), and bpf_fib_lookup during BPF_PROG_TEST_RUN consults that
namespace's FIB. `PrivateNetns(ifindexes)` creates a fresh namespace (unshare(CLONE_NEWNET) on the
calling thread, which then returns to its own namespace with setns) holding loopback (ifindex 1,
up) and a veth device with each requested ifindex (veth because it is built into every kernel that
has network namespaces; the dummy driver often is a module), each optionally with a MAC, an MTU
and IP forwarding on, plus routes and neighbour entries (`fibnet.py` derives them from the user's
FIB). `inside()` enters it for a block. Only the calling thread changes namespace, and only inside
the block.

Needs CAP_SYS_ADMIN (root); `available()` says whether this process can.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from jit.ebpf.kernel.syscall import KernelError, OwnedFd, libc

CLONE_NEWNET = 0x40000000
NS_PATH = "/proc/thread-self/ns/net"
PEER_INDEX_BASE = 1000        # ifindexes of the veth peers nobody asked for
IP_TIMEOUT = 30


class NetnsError(KernelError):
    """The private network namespace could not be made or entered."""


@dataclass(frozen=True)
class Device:
    """A device the namespace must have: ifindex 1 is loopback (always there; its MAC cannot be
    set), any other a veth end."""
    ifindex: int
    mac: bytes | None = None
    mtu: int | None = None
    forwarding: bool = False      # IPv4 and IPv6 forwarding on this device (bpf_fib_lookup checks)


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


def _sysctl(key: str, value: str) -> None:
    """Write /proc/sys/<key> as the calling thread (per-namespace keys resolve to its namespace)."""
    try:
        Path("/proc/sys", key).write_text(value)
    except OSError as exc:
        raise NetnsError(f"sysctl {key}={value}: {exc.strerror or exc}") from None


class PrivateNetns(OwnedFd):
    """A fresh network namespace with loopback and one veth device per requested ifindex."""

    def __init__(self, devices=(), routes=(), neighbors=()):
        """`devices`: ifindexes or `Device`s. `routes` / `neighbors`: argument lists of `ip route
        add` / `ip neigh add` run inside the namespace after the devices are up (e.g.
        ["10.0.0.0/8", "via", "10.1.0.1", "dev", "jn2", "onlink"]), led by "-6" for IPv6."""
        specs: dict[int, Device] = {}
        for d in devices:
            d = d if isinstance(d, Device) else Device(int(d))
            specs[d.ifindex] = d
        self.devices = specs
        self.ifindexes = sorted(i for i in specs if i > 1)
        self.fd = -1
        home = os.open(NS_PATH, os.O_RDONLY)
        try:
            if libc().unshare(CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                raise NetnsError(f"unshare(CLONE_NEWNET): {os.strerror(err)} (needs root)")
            try:
                self.fd = os.open(NS_PATH, os.O_RDONLY)
                self._populate(routes, neighbors)
            finally:
                _setns(home)
        finally:
            os.close(home)

    @staticmethod
    def device_name(ifindex: int) -> str:
        return f"jn{ifindex}"

    def _populate(self, routes, neighbors) -> None:
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
        for d in self.devices.values():
            name = "lo" if d.ifindex == 1 else self.device_name(d.ifindex)
            if d.mac is not None and d.ifindex != 1:
                _ip("link", "set", name, "address", d.mac.hex(":"))
            if d.mtu is not None:
                _ip("link", "set", name, "mtu", str(d.mtu))
            if d.forwarding:
                for family in ("ipv4", "ipv6"):
                    _sysctl(f"net/{family}/conf/{name}/forwarding", "1")
        for what, specs in (("route", routes), ("neigh", neighbors)):
            for spec in specs:
                family = [spec[0]] if spec and spec[0] in ("-4", "-6") else []
                _ip(*family, what, "add", *spec[len(family):])

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
