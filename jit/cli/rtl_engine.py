"""`jitnic run --engine rtl`: the same run as the model engine, but the NIC is `rtl/jitnic_top.v`
simulated by Icarus or Verilator (`--sim`) through cocotb (tb/e2e/rtl_run.py), with the Python host in the loop.

The simulation runs in a child process (cocotb owns the simulator); the report comes back as JSON.
Per-frame records (`--jsonl`) are streamed through a temporary file.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from jit import JitnicError
from jit.nic.model import NicConfig
from jit.paths import PROJECT_ROOT

RTL_LOG = PROJECT_ROOT / "sim_build" / "rtl_run.log"   # compiler + simulator output of the last run


def run_rtl(program_path: str, pcap_path: str, cfg: NicConfig, *, section: str | None = None,
            latency: int = 0, check: bool = True, want_frames: bool = False,
            waves: bool = False, simulator: str = "icarus") -> tuple[dict, list[dict]]:
    """Run the capture through the RTL; returns (summary dict, per-frame dicts)."""
    try:
        from tb.common.runner import run_cocotb
    except ImportError as exc:
        raise JitnicError(f"the RTL engine needs cocotb and the tb/ package: {exc}") from None
    with tempfile.TemporaryDirectory(prefix="jitnic-rtl-") as tmp:
        report = Path(tmp) / "report.json"
        frames = Path(tmp) / "frames.jsonl"
        log = RTL_LOG
        env = {"RTL_RUN_PROGRAM": str(Path(program_path).resolve()),
               "RTL_RUN_PCAP": str(Path(pcap_path).resolve()),
               "RTL_RUN_SECTION": section or "", "RTL_RUN_LATENCY": str(latency),
               "RTL_RUN_SEED": str(cfg.seed), "RTL_RUN_CHECK": "1" if check else "0",
               "RTL_RUN_REPORT": str(report), "RTL_RUN_FRAMES": str(frames) if want_frames else "",
               "COCOTB_LOG_LEVEL": os.environ.get("COCOTB_LOG_LEVEL", "WARNING")}
        params = {"N_ENTRIES": cfg.n_entries, "MAX_ATOMS": cfg.max_atoms,
                  "MAX_TRACE_LEN": cfg.max_trace_len, "HDR_BYTES": cfg.hdr_bytes,
                  "PKT_BYTES": cfg.pkt_bytes, "POLICY": cfg.policy}
        try:
            run_cocotb("jitnic_top", "tb.e2e.rtl_run", params, extra_env=env, waves=waves,
                       log_file=log, simulator=simulator)
        except (AssertionError, SystemExit, RuntimeError) as exc:     # RuntimeError: build failed
            detail = report.read_text() if report.exists() else "no report written"
            raise JitnicError(f"RTL run failed ({exc}); simulator log {log}; report: {detail}") from None
        summary = json.loads(report.read_text())
        records = [json.loads(line) for line in frames.read_text().splitlines()] if want_frames else []
    return summary, records
