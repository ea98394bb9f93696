"""What the RTL in rtl/ can run, read from its sources: whether the v2 executor (issue 10: map
port, guards with retry, the RTL helper set) is built in. The Python side of the RTL engine
(`jitnic run --engine rtl`, tb/e2e/test_e2e_maps.py) configures the NIC by it: with the v2 executor
it installs trace format v2 with the RTL helper set; without it, format v1 (every path through a
map or helper stays on the host, the maps still live on the NIC and are kept in step over the bus).

The check: jitnic_exec declares the contract's new ports (`trace_len`, `retry`, `m_req_valid`),
jitnic_top drives `m_grant`, and the commit engine checks calls with `RTL_HELPER_OK`.
"""
from __future__ import annotations

import re

from jit.paths import PROJECT_ROOT

RTL = PROJECT_ROOT / "rtl"
NEEDS_V2 = "needs the v2 executor (issue 10)"
_MARKS = (("jitnic_exec.v", r"\btrace_len\b"), ("jitnic_exec.v", r"\bretry\b"),
          ("jitnic_exec.v", r"\bm_req_valid\b"), ("jitnic_top.v", r"\bm_grant\b"),
          ("jitnic_axil_regs.v", r"`RTL_HELPER_OK\b"))


def v2_missing(rtl_dir=RTL) -> str | None:
    """None if the RTL has the v2 executor, else what is missing (one line)."""
    for name, pattern in _MARKS:
        path = rtl_dir / name
        text = path.read_text() if path.exists() else ""
        if not re.search(pattern, re.sub(r"//[^\n]*", "", text)):
            return f"{NEEDS_V2}: rtl/{name} has no {pattern.strip(chr(92) + 'b`')}"
    return None


def has_v2_executor() -> bool:
    return v2_missing() is None
