"""The GTKWave layout of jitnic_top, written for the parameters a bench was built with.

GTKWave finds a vector only by its full name with its range (`dbg_match_vector[15:0]`), so a layout
written for one configuration loses every parameter-sized signal at another. The runner writes
`<build_dir>/jitnic_top.gtkw` beside the FST after a waves run of jitnic_top; `rtl/jitnic.gtkw` is
the same layout at the default parameters (`make waves` writes it and the action filter,
tests/test_waves.py keeps both fresh). Widths follow rtl/jitnic_top.v's derivations.
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

from jit.ebpf import memmap
from jit.nic import encoding as enc
from jit.paths import PROJECT_ROOT

GTKW_NAME = "jitnic_top.gtkw"
ACTIONS_FILTER = "rtl/jitnic_actions.gtkwf"         # translate filter: action numbers -> XDP_* names
INSN_FILTER = "tb/common/insn_filter.py"            # process filter: instruction word -> mnemonic

# display flags of a GTKWave trace (gtkwave's TR_* bits)
BIN, HEX, DEC = "@28", "@22", "@24"
ACTION, INSN = "@2024", "@4022"                     # decimal via a file filter, hex via a process one
GROUP_OPEN, GROUP_CLOSE = "@800200", "@1000200"


def defaults() -> dict:
    """jitnic_top's parameter defaults (the ABI header's values, jit.nic.encoding)."""
    return {"N_ENTRIES": enc.N_ENTRIES, "MAX_ATOMS": enc.MAX_ATOMS,
            "MAX_TRACE_LEN": enc.MAX_TRACE_LEN, "HDR_BYTES": enc.HDR_BYTES,
            "DATA_WIDTH": enc.DATA_WIDTH, "PKT_BYTES": enc.PKT_BYTES, "N_BUFS": enc.N_BUFS,
            "N_LANES": enc.N_LANES, "N_SLOTS": enc.N_SLOTS}


def clog2(n: int) -> int:
    """Verilog's $clog2."""
    return max(0, math.ceil(math.log2(n))) if n > 1 else 0


def widths(parameters: dict) -> dict:
    """The parameter-derived widths, named as in rtl/jitnic_top.v (plus 1-bit and fixed ones)."""
    p = {**defaults(), **{k: v for k, v in parameters.items() if k in defaults()}}
    n = p["N_ENTRIES"]
    return {"N": n, "IDX_W": clog2(n) if n > 1 else 1, "SLOT_W": clog2(p["MAX_TRACE_LEN"]),
            "BUF_W": clog2(p["N_BUFS"]), "N_BUFS": p["N_BUFS"], "DW": p["DATA_WIDTH"],
            "EMPTY_W": clog2(p["DATA_WIDTH"] // 8), "LANES": p["N_LANES"],
            "LANE_W": clog2(p["N_LANES"]) if p["N_LANES"] > 1 else 1, "NS": p["N_SLOTS"],
            "SLOT_FIELDS": 32 * p["N_SLOTS"]}


# the executor lanes' group: expanded per lane by groups()
LANES_GROUP = ("executor lanes", [])

# (group title, [(format, signal below jitnic_top, width: a number or a widths() key)])
GROUPS = [
    ("rx (wire in): never back-pressured; rx_pause = no free buffer", [
        (BIN, "clk", 1), (BIN, "rst", 1), (BIN, "rx_valid", 1), (BIN, "rx_ready", 1),
        (BIN, "rx_startofpacket", 1), (BIN, "rx_endofpacket", 1), (BIN, "rx_error", 1),
        (BIN, "rx_pause", 1), (HEX, "rx_empty", "EMPTY_W"), (HEX, "rx_data", "DW"),
        (BIN, "u_rx.in_frame_reg", 1), (BIN, "u_rx.has_buf_reg", 1), (BIN, "u_rx.orphan_reg", 1),
        (DEC, "u_rx.buf_reg", "BUF_W"), (BIN, "ev_rx_drop", 1), (BIN, "ev_rx_error", 1),
        (BIN, "ev_malformed", 1), (BIN, "ev_oversize", 1), (HEX, "dbg_bufs_busy", "N_BUFS"),
        (BIN, "rxd_valid", 1), (DEC, "rxd_buf", "BUF_W"), (DEC, "rxd_len", 16)]),
    ("match: extract, compare, priority (one lookup per cycle, tag = buffer)", [
        (BIN, "match_start_c", 1), (DEC, "lookup_buf", "BUF_W"), (DEC, "lookup_len", 16),
        (BIN, "u_match.v1_reg", 1), (BIN, "u_match.v2_reg", 1), (BIN, "u_match.lookup_done", 1),
        (DEC, "lookup_done_buf", "BUF_W"),
        (BIN, "u_match.lookup_hit", 1), (DEC, "u_match.lookup_index", "IDX_W"),
        (HEX, "dbg_match_vector", "N"), (HEX, "entry_valid", "N"),
        (HEX, "slot_fields", "SLOT_FIELDS"), (HEX, "u_regs.in_use_all", "NS")]),
    ("engine: lookup queue, dispatch to lanes, retire in arrival order", [
        (BIN, "lkq_valid", 1), (DEC, "lkq_buf", "BUF_W"), (BIN, "dq_valid", 1),
        (DEC, "dq_buf", "BUF_W"), (BIN, "dq_hit", 1), (DEC, "dq_entry", "IDX_W"),
        (HEX, "lane_start_c", "LANES"), (HEX, "lane_busy_reg", "LANES"),
        (HEX, "lane_done", "LANES"), (HEX, "lane_ready_reg", "LANES"), (BIN, "rob_valid", 1),
        (DEC, "rob_buf", "BUF_W"), (BIN, "rob_miss", 1), (DEC, "rob_lane", "LANE_W"),
        (BIN, "retire_c", 1), (ACTION, "retire_action", 32), (DEC, "retire_err", 4),
        (DEC, "exec_cycles", 32), (BIN, "txq_push_c", 1), (BIN, "hostq_push_c", 1),
        (DEC, "hostq_chan_c", 2), (BIN, "eng_free_c", 1), (BIN, "win_wr_c", 1),
        (BIN, "engine_idle", 1)]),
    LANES_GROUP,
    ("guards and maps (trace format v2): fall-through, grant to the oldest frame, map port", [
        (HEX, "lane_fall_c", "LANES"), (HEX, "lane_retry_reg", "LANES"),
        (HEX, "lane_gmiss_c", "LANES"), (HEX, "lane_grant_c", "LANES"),
        (HEX, "lane_txn_open", "LANES"), (BIN, "map_ex_valid_c", 1), (BIN, "map_ex_ready", 1),
        (DEC, "map_ex_op_c", 3), (DEC, "map_ex_map_c", 8), (HEX, "map_ex_addr_c", 32),
        (HEX, "map_ex_data_c", 64), (HEX, "map_ex_be_c", 8), (BIN, "map_ex_resp_valid", 1),
        (BIN, "map_ex_resp_ok", 1), (HEX, "map_ex_resp_data", 64), (BIN, "map_busy", 1),
        (HEX, "prandom_reg", 32), (HEX, "hostq_meta_c", 64)]),
    ("tx (wire out)", [
        (BIN, "tx_valid", 1), (BIN, "tx_ready", 1), (BIN, "tx_startofpacket", 1),
        (BIN, "tx_endofpacket", 1), (HEX, "tx_empty", "EMPTY_W"), (HEX, "tx_data", "DW"),
        (DEC, "u_tx.own_reg", 2), (BIN, "u_tx.u_txq.head_valid", 1),
        (DEC, "u_tx.u_txq.head_buf", "BUF_W"), (DEC, "u_tx.u_txq.head_off", 16),
        (DEC, "u_tx.u_txq.head_len", 16), (DEC, "u_tx.u_txq.word_reg", 17),
        (BIN, "u_tx.u_txq.u_realign.hold_valid_reg", 1), (DEC, "u_tx.u_txq.u_realign.shift_reg", "EMPTY_W"),
        (DEC, "u_tx.u_txq.occ_reg", 3), (BIN, "txq_free", 1)]),
    ("host (to host)", [
        (BIN, "host_valid", 1), (BIN, "host_ready", 1), (BIN, "host_startofpacket", 1),
        (BIN, "host_endofpacket", 1), (HEX, "host_empty", "EMPTY_W"), (DEC, "host_channel", 2),
        (HEX, "host_meta", 64), (HEX, "host_data", "DW"), (BIN, "u_tx.u_hostq.head_valid", 1),
        (DEC, "u_tx.u_hostq.head_buf", "BUF_W"), (DEC, "u_tx.u_hostq.head_off", 16),
        (DEC, "u_tx.u_hostq.head_len", 16), (DEC, "u_tx.u_hostq.word_reg", 17),
        (BIN, "u_tx.u_hostq.u_realign.hold_valid_reg", 1), (DEC, "u_tx.u_hostq.u_realign.shift_reg", "EMPTY_W"),
        (DEC, "u_tx.u_hostq.occ_reg", 3), (BIN, "hostq_free", 1)]),
    ("host_tx (host to wire)", [
        (BIN, "host_tx_valid", 1), (BIN, "host_tx_ready", 1), (BIN, "host_tx_startofpacket", 1),
        (BIN, "host_tx_endofpacket", 1), (HEX, "host_tx_empty", "EMPTY_W"),
        (HEX, "host_tx_data", "DW")]),
    ("control bus / commit", [
        (BIN, "s_axil_awvalid", 1), (BIN, "s_axil_awready", 1), (HEX, "s_axil_awaddr", 16),
        (HEX, "s_axil_wdata", 32), (BIN, "s_axil_bvalid", 1), (BIN, "s_axil_arvalid", 1),
        (BIN, "s_axil_arready", 1), (HEX, "s_axil_araddr", 16), (BIN, "s_axil_rvalid", 1),
        (HEX, "s_axil_rdata", 32), (DEC, "dbg_commit_state", 4), (BIN, "engine_hold", 1),
        (BIN, "engine_idle", 1), (DEC, "u_regs.victim_reg", "IDX_W"),
        (DEC, "u_regs.err_code_reg", 16), (DEC, "pol_victim", "IDX_W")]),
    ("counters", [(DEC, f"u_regs.dbg_{name}", 32) for name in (
        "rx_packets", "hits", "misses", "installs", "evictions", "tx", "drops", "passes",
        "redirects", "aborts", "exec_errors", "runts", "oversize", "host_tx", "install_errors",
        "exec_cycles", "guard_misses", "map_ops")]),
]


def lane_rows(lane: int) -> list:
    """One executor lane: its state, entry, pc and instruction (hex and as an eBPF mnemonic)."""
    at = f"g_lane[{lane}]."
    return [(DEC, at + "u_exec.state_reg", 4), (DEC, at + "entry", "IDX_W"),
            (DEC, at + "dbg_pc", "SLOT_W"), (HEX, at + "dbg_insn", 64), (INSN, at + "dbg_insn", 64),
            (DEC, at + "u_exec.data_pos_reg", 16), (DEC, at + "u_exec.end_pos_reg", 16)]


def groups(parameters: dict) -> list:
    """GROUPS with the lane group expanded to the configuration's N_LANES lanes."""
    lanes = widths(parameters)["LANES"]
    return [("executor lanes", [row for g in range(lanes) for row in lane_rows(g)])
            if group is LANES_GROUP else group for group in GROUPS]


def scope(toplevel: str = "jitnic_top") -> str:
    """The hierarchical prefix of jitnic_top's signals when `toplevel` is the simulation's top
    (jitnic_top itself, or the bench top of tb/common/hdl, which holds it as u_nic)."""
    return "jitnic_top." if toplevel == "jitnic_top" else f"{toplevel}.u_nic."


def signals(parameters: dict, toplevel: str = "jitnic_top") -> list[tuple[str, int]]:
    """Every (hierarchical name without range, width) the layout shows, in order, once each."""
    w = widths(parameters)
    prefix = scope(toplevel)
    seen: dict[str, int] = {}
    for _, rows in groups(parameters):
        for _, name, width in rows:
            seen.setdefault(f"{prefix}{name}", w[width] if isinstance(width, str) else width)
    return list(seen.items())


def _trace_line(name: str, width: int, prefix: str = "jitnic_top.") -> str:
    return f"{prefix}{name}" + (f"[{width - 1}:0]" if width > 1 else "")


def _filter_line(fmt: str, filters: Path) -> list[str]:
    """The filter reference GTKWave expects after a translated trace's flags."""
    if fmt == ACTION:
        return [f"^1 {filters / ACTIONS_FILTER}"]
    if fmt == INSN:
        return [f"^>1 {filters / INSN_FILTER}"]
    return []


def layout(parameters: dict, filters: Path = PROJECT_ROOT, toplevel: str = "jitnic_top") -> str:
    """The save file for jitnic_top built with `parameters` (missing ones at their defaults);
    filter files are named under `filters` (a relative path is taken from GTKWave's directory)."""
    w = widths(parameters)
    prefix = scope(toplevel)
    shown = {**defaults(), **{k: v for k, v in parameters.items() if k in defaults()}}
    out = ["[*]", "[*] GTKWave save file for jitnic_top, generated by tb/common/waves.py for "
           + ", ".join(f"{k} {v}" for k, v in sorted(shown.items())) + ".",
           f"[*] Open from the project root: gtkwave <build_dir>/{toplevel}.fst <this file>", "[*]",
           "[timestart] 0", "[size] 1800 1000", "[pos] -1 -1",
           "*-14.000000 0" + " -1" * 19, f"[treeopen] {prefix}", "[sst_width] 260",
           "[signals_width] 330", "[sst_expanded] 1", "[sst_vpaned_height] 320"]
    for title, rows in groups(parameters):
        out += [GROUP_OPEN, f"-{title}"]
        fmt_now = None
        for fmt, name, width in rows:
            if fmt != fmt_now or fmt in (ACTION, INSN):
                out.append(fmt)
                fmt_now = fmt
            out += _filter_line(fmt, filters)
            out.append(_trace_line(name, w[width] if isinstance(width, str) else width, prefix))
        out += [GROUP_CLOSE, f"-{title}"]
    out += ["[pattern_trace] 1", "[pattern_trace] 0"]
    return "\n".join(out) + "\n"


def actions_filter() -> str:
    """The translate filter file: `value name` per XDP action (jit.ebpf.memmap's names)."""
    return "".join(f"{value} {name}\n" for value, name in sorted(memmap.ACTION_NAMES.items()))


def write_layout(build_dir: Path, parameters: dict, toplevel: str = "jitnic_top") -> Path:
    """Write `<build_dir>/<toplevel>.gtkw` for `parameters`, filters by absolute path."""
    path = Path(build_dir) / (GTKW_NAME if toplevel == "jitnic_top" else f"{toplevel}.gtkw")
    path.write_text(layout(parameters, PROJECT_ROOT, toplevel))
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="write the committed layout (default parameters) and "
                                 "the action filter (`make waves`)")
    ap.add_argument("--root", type=Path, default=PROJECT_ROOT)
    args = ap.parse_args(argv)
    (args.root / "rtl" / "jitnic.gtkw").write_text(layout({}, Path(".")))
    (args.root / ACTIONS_FILTER).write_text(actions_filter())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
