"""Where the project finds its inputs: the shared material and the built XDP programs."""
from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PROGRAM_NAMES = ("ipv6_filter", "acl_firewall", "parser_classifier", "mac_swap_tx",
                 "icmp_echo", "ttl_router", "l4_lb")


def shared_dir() -> Path:
    """`../shared/` relative to the project root, or $JITNIC_SHARED."""
    return Path(os.environ.get("JITNIC_SHARED", PROJECT_ROOT.parent / "shared")).resolve()


def program_object(name: str) -> Path:
    """Path of a built program object (`make programs` builds them)."""
    return Path(os.environ.get("JITNIC_BUILD", PROJECT_ROOT / "build")) / "programs" / f"{name}.o"
