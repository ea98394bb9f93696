"""`jitnic run --engine rtl`: the same run as the model engine, but the NIC is `rtl/jitnic_top.v`
simulated by Icarus or Verilator (`--sim`) through cocotb (tb/e2e/rtl_run.py), with the Python host in the loop.

The simulation runs in a child process (cocotb owns the simulator); the report comes back as JSON.
Per-frame records (`--jsonl`) are streamed through a temporary file. A program with maps takes
`--maps-in` into the NIC's maps over the bus before traffic and writes `--maps-out` from what the
NIC's maps hold at the end (read back over the bus; host-resident maps from the host).
"""
from __future__ import annotations

import json
import os
import re
import tempfile
import threading
from pathlib import Path

from jit import JitnicError
from jit.cli import progress
from jit.nic.model import NicConfig
from jit.paths import PROJECT_ROOT
from jit.traffic.capture import CaptureReader

RTL_LOG = PROJECT_ROOT / "sim_build" / "rtl_run.log"   # compiler + simulator output of the last run


def run_rtl(program_path: str, pcap_path: str, cfg: NicConfig, *, section: str | None = None,
            latency: int = 0, check: bool = True, want_frames: bool = False,
            waves: bool = False, convert_link: bool = False,
            simulator: str = "icarus", data_width: int | None = None, maps_in: str | None = None,
            maps_out: str | None = None, prandom_seed: int = 0) -> tuple[dict, list[dict]]:
    """Run the capture through the RTL; returns (summary dict, per-frame dicts). Everything that
    can be checked before the (slow) build is checked first, so bad input fails at once with its
    own message; a failure inside the simulation names its cause from the log."""
    try:
        from tb.common.fast import BENCH_TOP
        from tb.common.runner import run_cocotb
    except ImportError as exc:
        raise JitnicError(f"the RTL engine needs cocotb and the tb/ package: {exc}") from None
    for _ in CaptureReader(pcap_path, convert=convert_link).frames():
        pass                      # the whole capture reads (a PcapError is raised here, not later)
    with tempfile.TemporaryDirectory(prefix="jitnic-rtl-") as tmp:
        report = Path(tmp) / "report.json"
        frames = Path(tmp) / "frames.jsonl"
        log = RTL_LOG
        env = {"RTL_RUN_PROGRAM": str(Path(program_path).resolve()),
               "RTL_RUN_PCAP": str(Path(pcap_path).resolve()),
               "RTL_RUN_SECTION": section or "", "RTL_RUN_LATENCY": str(latency),
               "RTL_RUN_SEED": str(cfg.seed), "RTL_RUN_CHECK": "1" if check else "0",
               "RTL_RUN_CONVERT_LINK": "1" if convert_link else "0",
               "RTL_RUN_REPORT": str(report), "RTL_RUN_FRAMES": str(frames) if want_frames else "",
               "RTL_RUN_MAPS_IN": str(Path(maps_in).resolve()) if maps_in else "",
               "RTL_RUN_MAPS_OUT": str(Path(maps_out).resolve()) if maps_out else "",
               "RTL_RUN_PRANDOM_SEED": str(prandom_seed),
               "COCOTB_LOG_LEVEL": os.environ.get("COCOTB_LOG_LEVEL", "WARNING")}
        params = {"N_ENTRIES": cfg.n_entries, "MAX_ATOMS": cfg.max_atoms,
                  "MAX_TRACE_LEN": cfg.max_trace_len, "HDR_BYTES": cfg.hdr_bytes,
                  "PKT_BYTES": cfg.pkt_bytes, "POLICY": cfg.policy}
        if data_width is not None:          # the stream width (`jitnic bench sim`); default 64
            params["DATA_WIDTH"] = data_width
        if not want_frames and progress.enabled():
            env["RTL_RUN_FRAMES"] = str(frames)     # the bar counts the simulation's frame records
        try:
            with progress.Bar(f"rtl run ({simulator})") as bar, _LineCounter(frames, bar):
                results = run_cocotb(BENCH_TOP, "tb.e2e.rtl_run", params, extra_env=env,
                                     waves=waves, log_file=log, simulator=simulator)
        except (AssertionError, SystemExit, RuntimeError) as exc:     # RuntimeError: build failed
            cause = log_cause(log) or " ".join(str(exc).split())
            raise JitnicError(f"RTL run failed: {cause} (full log: {log})") from None
        summary = json.loads(report.read_text())
        if waves:       # the runner writes both beside the results (tb/common/runner.py, waves.py)
            summary["waves"] = {"fst": str(results.parent / f"{BENCH_TOP}.fst"),
                                "gtkw": str(results.parent / f"{BENCH_TOP}.gtkw")}
        records = [json.loads(line) for line in frames.read_text().splitlines()] if want_frames else []
    return summary, records


class _LineCounter:
    """While the simulation runs (in a child process), move `bar` by the lines the child has
    appended to `path`, polled twice a second."""

    def __init__(self, path: Path, bar: "progress.Bar"):
        self.path, self.bar = path, bar
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        offset = 0
        while not self.stop.wait(0.5):
            try:
                with open(self.path, "rb") as f:
                    f.seek(offset)
                    chunk = f.read()
            except OSError:                   # not created yet
                continue
            offset += len(chunk)
            self.bar.update(chunk.count(b"\n"))

    def __enter__(self) -> "_LineCounter":
        if progress.enabled():
            self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join()


_CAUSE_MARKER = re.compile(r"\berror\b|\bFAIL\b", re.IGNORECASE)


def log_cause(log: Path, limit: int = 300) -> str | None:
    """The most telling line of a failed build or simulation log: the last exception message
    (cocotb prints the test's traceback), else the first compiler or elaboration error."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return None
    for line in reversed(lines):            # a Python exception's last line: `Type: message`
        text = line.strip()
        head = text.split(":", 1)[0]
        if head.endswith(("Error", "Exception")) and " " not in head and ":" in text:
            return text[:limit]
    for line in lines:                      # iverilog / $display("Error: ...") / vvp errors
        if _CAUSE_MARKER.search(line):
            return " ".join(line.split())[:limit]
    return None
