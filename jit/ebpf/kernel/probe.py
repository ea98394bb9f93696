"""May this process load and test-run XDP programs? One probe, cached."""
from __future__ import annotations

import os
import platform
import struct

from jit.ebpf.kernel.program import KernelProgram
from jit.ebpf.kernel.syscall import SYS_BPF_BY_ARCH, KernelError

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

