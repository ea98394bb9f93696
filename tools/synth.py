"""`make synth`: yosys synthesis of `jitnic_top` onto Xilinx UltraScale+ (`synth_xilinx -family
xcup`) for several configurations; reports LUTs, flip-flops, block RAMs, LUT RAM, DSPs and a timing
estimate per configuration (logs in build/synth/).

Timing: yosys `sta` on the mapped netlist, with the cell delays of yosys' Xilinx simulation models
(`read_verilog -lib -specify +/xilinx/cells_sim.v`, 7-series figures: yosys has no UltraScale+
timing): the longest register-to-register path counting cell delays only (no routing, no clock
skew; cells without timing arcs, such as block RAM and DSP, cut paths). Real paths on silicon are
longer; UltraScale+ cells are faster than 7-series ones. Treat it as a ranking of designs and a
pointer to the critical path, not a sign-off fmax. (`synth_xilinx -abc9`, which yosys 0.23 offers
for timing-driven mapping, aborts on this design with an internal range-check error.)

    python -m tools.synth [--configs small,small512,default,blocks] [--no-timing] [--timeout S]
                          [--hier] [--json] [--record [FILE]]

`--hier` maps the design with its module hierarchy kept (`synth_xilinx` without `-flatten`, so
each distinct module is synthesized once: the N_LANES identical executors once, not four times),
then flattens the mapped netlist for the counts and `sta`. No optimization crosses a module
boundary, so the counts are an upper bound of the flattened flow's; rows are named NAME-hier.
It exists because the flattened run at the defaults spends hours in `synth_xilinx`'s SAT
resource sharing on the whole design.

`--record` (what `make synth` does) merges the rows into docs/synth.json, the committed record
that docs/results.md's area table is rendered from: each row carries the git commit, the digest of
rtl/ and the UTC date it was measured on, so a row measured on older RTL says so.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from jit.nic import encoding as enc
from jit.paths import PROJECT_ROOT


@dataclass(frozen=True)
class Config:
    name: str
    n_entries: int
    max_atoms: int
    max_trace_len: int
    hdr_bytes: int
    data_width: int
    n_bufs: int = enc.N_BUFS
    n_lanes: int = enc.N_LANES
    n_slots: int = enc.N_SLOTS
    top: str = "jitnic_top"     # another block synthesizes alone, with `params`
    params: tuple = ()          # (name, value) pairs set on a block other than jitnic_top

    def chparam(self) -> str:
        if self.top != "jitnic_top":
            sets = " ".join(f"-set {k} {v}" for k, v in self.params)
            return f"chparam {sets} {self.top}" if sets else ""
        return (f"chparam -set N_ENTRIES {self.n_entries} -set MAX_ATOMS {self.max_atoms} "
                f"-set MAX_TRACE_LEN {self.max_trace_len} -set HDR_BYTES {self.hdr_bytes} "
                f"-set DATA_WIDTH {self.data_width} -set N_BUFS {self.n_bufs} "
                f"-set N_LANES {self.n_lanes} "
                f"-set N_SLOTS {self.n_slots} jitnic_top")


CONFIGS = {c.name: c for c in (
    Config("small4", 4, 4, 16, 64, 64, 4),
    Config("small", 4, 4, 16, 64, 64),
    Config("small1", 4, 4, 16, 64, 64, n_lanes=1),
    Config("small512", 4, 4, 16, 64, 512),
    Config("mid512", 8, 8, 32, 128, 512),
    Config("default", enc.N_ENTRIES, enc.MAX_ATOMS, enc.MAX_TRACE_LEN, enc.HDR_BYTES, enc.DATA_WIDTH),
    Config("default512", enc.N_ENTRIES, enc.MAX_ATOMS, enc.MAX_TRACE_LEN, enc.HDR_BYTES, 512),
    # jitnic_maps alone at the default map parameters (MAP_MEM_BYTES etc. in jit/nic/encoding.py)
    Config("maps", 0, 0, 0, 0, 0, 0, top="jitnic_maps"),
)}


def _block(name: str, top: str, **params) -> Config:
    """A block of `jitnic_top` alone, with the parameters jitnic_top passes it at the defaults."""
    return Config(name, enc.N_ENTRIES, enc.MAX_ATOMS, enc.MAX_TRACE_LEN, enc.HDR_BYTES,
                  enc.DATA_WIDTH, top=top, params=tuple(params.items()))


_BUF_W = (enc.N_BUFS - 1).bit_length()
# Each block alone at the default configuration (`--configs blocks`): where the LUTs of
# "default" go. jitnic_top holds N_LANES executors; the rest once each.
BLOCKS = (
    _block("match", "jitnic_match", N_ENTRIES=enc.N_ENTRIES, HDR_BYTES=enc.HDR_BYTES,
           N_SLOTS=enc.N_SLOTS, N_LEN_ATOMS=enc.N_LEN_ATOMS, N_GEN_ATOMS=enc.N_GEN_ATOMS,
           TAG_W=_BUF_W),
    _block("pktbuf", "jitnic_pktbuf", DATA_WIDTH=enc.DATA_WIDTH, HDR_BYTES=enc.HDR_BYTES,
           PKT_BYTES=enc.PKT_BYTES, N_BUFS=enc.N_BUFS, N_EXEC=enc.N_LANES),
    _block("exec", "jitnic_exec", MAX_TRACE_LEN=enc.MAX_TRACE_LEN, HDR_BYTES=enc.HDR_BYTES,
           PKT_BYTES=enc.PKT_BYTES, PREFETCH=1),
    _block("axil_regs", "jitnic_axil_regs", N_ENTRIES=enc.N_ENTRIES, MAX_ATOMS=enc.MAX_ATOMS,
           MAX_TRACE_LEN=enc.MAX_TRACE_LEN, HDR_BYTES=enc.HDR_BYTES, PKT_BYTES=enc.PKT_BYTES,
           N_SLOTS=enc.N_SLOTS, N_LEN_ATOMS=enc.N_LEN_ATOMS, N_GEN_ATOMS=enc.N_GEN_ATOMS),
    _block("rx", "jitnic_rx", DATA_WIDTH=enc.DATA_WIDTH, PKT_BYTES=enc.PKT_BYTES, N_BUFS=enc.N_BUFS),
    _block("tx", "jitnic_tx", DATA_WIDTH=enc.DATA_WIDTH, N_BUFS=enc.N_BUFS,
           WORD_W=(enc.PKT_BYTES // (enc.DATA_WIDTH // 8) - 1).bit_length()),
    _block("policy", "jitnic_policy", N_ENTRIES=enc.N_ENTRIES),
)
CONFIGS.update({c.name: c for c in BLOCKS})
GROUPS = {"blocks": ",".join(["match", "pktbuf", "exec", "maps", "axil_regs", "rx", "tx", "policy"])}
# Measured on the shared 2-core VM: "small" took 5 CPU-minutes and 2.2 GB (17-25 minutes of wall
# time there) with the per-atom byte multiplexers. Those are gone (N_SLOTS field extractors shared
# by all entries); "default" had not finished after 91 minutes on the VM under a load average of
# 20-27 (docs/rtl.md), so it is not in the default list until it is measured on a quiet machine.
DEFAULT_CONFIGS = "small4,small"

# cell name -> report column
CELL_CLASSES = [
    (re.compile(r"^LUT[1-6]$"), "luts"),
    (re.compile(r"^FD[CPRS]E?$"), "flip_flops"),
    (re.compile(r"^RAMB36E[12]$"), "bram36"),
    (re.compile(r"^RAMB18E[12]$"), "bram18"),
    (re.compile(r"^RAM(32|64|128|256)[XM].*$"), "lutram_cells"),
    (re.compile(r"^SRL.*$"), "srl"),
    (re.compile(r"^DSP48E[12]$"), "dsp"),
    (re.compile(r"^CARRY[48]$"), "carry"),
    (re.compile(r"^MUXF[78]$"), "muxf"),
]


def cell_counts(stat: str) -> dict[str, int]:
    """Counts per report column from the last `stat` of a yosys log."""
    out = {col: 0 for _, col in CELL_CLASSES}
    for name, count in re.findall(r"^\s+(\w+)\s+(\d+)\s*$", stat, re.M):
        for pattern, col in CELL_CLASSES:
            if pattern.match(name):
                out[col] += int(count)
    return out


def run_yosys(script: str, log, timeout: int) -> str:
    proc = subprocess.run(["yosys", "-q", "-l", str(log), "-p", script], capture_output=True,
                          text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"yosys failed ({log}): "
                           f"{(proc.stderr or proc.stdout).strip().splitlines()[-1:]}")
    return log.read_text()


def read_sources() -> str:
    rtl = PROJECT_ROOT / "rtl"
    sources = " ".join(str(p) for p in sorted(rtl.glob("*.v")))
    return f"read_verilog -I{rtl} {sources}"


def synth_script(cfg: Config, timing: bool, hier: bool = False) -> str:
    """The yosys script of one run: flattened before synthesis, or (hier) mapped module by module
    and flattened afterwards, so `stat` and `sta` see the whole netlist either way."""
    sta = "; read_verilog -lib -specify +/xilinx/cells_sim.v; sta" if timing else ""
    mapping = (f"synth_xilinx -family xcup -top {cfg.top}; flatten" if hier
               else f"synth_xilinx -family xcup -flatten -top {cfg.top}")
    return f"{read_sources()}; {cfg.chparam()}; {mapping}; stat{sta}"


def synth_run(cfg: Config, timeout: int, timing: bool, hier: bool = False) -> dict:
    """Map onto UltraScale+, count cells, then (timing) run `sta` on the same netlist."""
    out = PROJECT_ROOT / "build" / "synth"
    out.mkdir(parents=True, exist_ok=True)
    log = out / f"{cfg.name}{'-hier' if hier else ''}_xcup.log"
    text = run_yosys(synth_script(cfg, timing, hier), log, timeout)
    row = cell_counts(text[text.rfind("Printing statistics"):])
    if timing:
        row.update(critical_path(text))
    return row


def critical_path(text: str) -> dict:
    """The longest path of a yosys `sta` report: arrival (ns) and its end and start cells."""
    m = re.search(r"Latest arrival time in '\S+' is (\d+):\n((?:.+\n)+)", text)
    if not m:
        return {"path_ns": None, "path_end": None, "path_start": None}
    lines = [line.strip() for line in m.group(2).splitlines() if re.match(r"\s+\d+ ", line)]
    cell = lambda line: line.split(None, 1)[1] if line else ""   # noqa: E731
    starts = [line for line in lines if "->Q)" in line or "(<primary input>)" in line]
    return {"path_ns": round(int(m.group(1)) / 1000, 2), "path_end": cell(lines[0]) if lines else "",
            "path_start": cell(starts[0]) if starts else ""}


RECORD = PROJECT_ROOT / "docs" / "synth.json"


def rtl_digest() -> str:
    """sha1 (12 hex digits) over rtl/*.v and rtl/*.vh: which RTL a row was measured on."""
    h = hashlib.sha1()
    for path in sorted((PROJECT_ROOT / "rtl").glob("*.v*")):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:12]


def git_commit() -> str:
    """HEAD's short hash, with "+dirty" when rtl/ differs from it (uncommitted RTL edits)."""
    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", *args], capture_output=True, text=True, cwd=PROJECT_ROOT)
    head = git("rev-parse", "--short=10", "HEAD")
    if head.returncode != 0:
        return "unknown"
    dirty = git("status", "--porcelain", "--", "rtl").stdout.strip()
    return head.stdout.strip() + ("+dirty" if dirty else "")


def provenance() -> dict:
    """What a run measures: the RTL as read when it starts."""
    version = subprocess.run(["yosys", "-V"], capture_output=True, text=True).stdout.split()
    return {"commit": git_commit(), "rtl_digest": rtl_digest(),
            "date": time.strftime("%Y-%m-%d %H:%M", time.gmtime()) + " UTC",
            "yosys": version[1] if len(version) > 1 else "unknown"}


def record(rows: list[dict], path: Path = RECORD) -> None:
    """Merge rows into the record by configuration name (a new run of a name replaces its row);
    a failed run (no LUT count) does not replace a measured row."""
    old = json.loads(path.read_text())["rows"] if path.exists() else []
    by_name = {r["name"]: r for r in old}
    for row in rows:
        if "luts" in row or row["name"] not in by_name:
            by_name[row["name"]] = row
    order = [c for c in CONFIGS if c in by_name] + sorted(set(by_name) - set(CONFIGS))
    path.write_text(json.dumps({"rows": [by_name[n] for n in order]}, indent=1) + "\n")


def synth_one(cfg: Config, timeout: int, timing: bool, hier: bool = False) -> dict:
    row = asdict(cfg)
    row["params"] = dict(cfg.params)
    if hier:
        row["name"] = f"{cfg.name}-hier"
        row["flow"] = "hierarchical (synth_xilinx without -flatten, flattened after mapping)"
    row.update(provenance())
    t0 = time.time()
    try:
        row.update(synth_run(cfg, timeout, timing, hier))
    except subprocess.TimeoutExpired:
        row["error"] = f"yosys took longer than {timeout} s"
    row["seconds"] = round(time.time() - t0, 1)
    if row.get("path_ns"):
        row["fmax_mhz_cells_only"] = round(1000 / row["path_ns"], 1)
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", default=DEFAULT_CONFIGS,
                    help=f"comma-separated, from: {', '.join([*CONFIGS, *GROUPS])} "
                         f"(default {DEFAULT_CONFIGS}; 'blocks': each block alone at the defaults)")
    ap.add_argument("--no-timing", action="store_true", help="area only (skip yosys sta)")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per yosys run")
    ap.add_argument("--hier", action="store_true",
                    help="keep the module hierarchy while mapping (each distinct module once; "
                         "rows named NAME-hier)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--record", nargs="?", const=str(RECORD), metavar="FILE",
                    help=f"merge the rows into FILE (default {RECORD.relative_to(PROJECT_ROOT)}: the "
                         "record docs/results.md is rendered from)")
    args = ap.parse_args(argv)
    names = ",".join(GROUPS.get(c, c) for c in args.configs.split(",")).split(",")
    unknown = [c for c in names if c not in CONFIGS]
    if unknown:
        print(f"synth: unknown configuration(s) {', '.join(unknown)}; choose from {', '.join(CONFIGS)}",
              file=sys.stderr)
        return 2
    if shutil.which("yosys") is None:
        print("synth: yosys not found; install it with: apt-get install -y yosys", file=sys.stderr)
        return 2
    rows = []
    for name in names:
        rows.append(synth_one(CONFIGS[name], args.timeout, not args.no_timing, args.hier))
        if args.record:
            record(rows[-1:], Path(args.record))
        if not args.json:
            print(json.dumps(rows[-1]), flush=True)
    if args.json:
        print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
