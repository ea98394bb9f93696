"""Where the project finds its inputs: the shared material and the built XDP programs."""
from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PROGRAM_NAMES = ("ipv6_filter", "acl_firewall", "parser_classifier", "mac_swap_tx",
                 "icmp_echo", "ttl_router", "l4_lb")
# Programs with maps, global data, helpers, subprograms or tail calls. A separate list because
# everything that iterates PROGRAM_NAMES traces them for the NIC (tracer, optimizer, model, RTL
# end-to-end benches), and map paths are not cacheable until the NIC has maps; the kernel
# differential and the soundness suite cover these. Each is the function named after its file;
# programs/<name>.maps.json, where present, is the --maps-in the tests use.
MAP_PROGRAM_NAMES = ("proto_stats", "deny_list", "lpm_router", "ipip_encap", "icmp_frag_needed",
                     "config_filter", "port_filter_subprog", "tail_dispatch", "flow_table",
                     "dscp_marker")


def shared_dir() -> Path:
    """`../shared/` relative to the project root, or $JITNIC_SHARED."""
    return Path(os.environ.get("JITNIC_SHARED", PROJECT_ROOT.parent / "shared")).resolve()


def program_object(name: str) -> Path:
    """Path of a built program object (`make programs` builds them)."""
    return Path(os.environ.get("JITNIC_BUILD", PROJECT_ROOT / "build")) / "programs" / f"{name}.o"


def program_maps_file(name: str) -> Path:
    """The example map contents shipped with a program (`--maps-in`); may not exist."""
    return PROJECT_ROOT / "programs" / f"{name}.maps.json"
