"""The RTL section of `make results` (tools/results.py): the issue-11 goals table picks each
program's smallest non-IMIX frame at DATA_WIDTH 512 and compares it with the goal; the per-program
table shows cycles per hit and the smallest frame's cycles per frame at both widths."""
from __future__ import annotations

from tools import results


def row(program, size, width, b2b, exec_cycles=3.0):
    return {"program": program, "bytes": size, "data_width": width, "b2b_cycles_per_frame": b2b,
            "exec_cycles": exec_cycles}


def table_rows(md: str) -> list[list[str]]:
    return [[c.strip() for c in line.strip("|").split("|")] for line in md.splitlines()
            if line.startswith("| ") and not line.startswith("| program")]


def test_goals_use_the_smallest_frame_at_512_bits():
    rows = [row("parser_classifier", 128, 512, 2.0), row("parser_classifier", 64, 512, 1.5),
            row("parser_classifier", 64, 64, 8.0), row("parser_classifier", "imix", 512, 9.0),
            row("l4_lb", 64, 512, 20.35, 93.0)]
    body = table_rows(results.goals_table(rows))
    assert body == [["parser_classifier", "64", "2", "1.5", "3.0", "yes"],
                    ["l4_lb", "64", "8", "20.35", "93.0", "no"]]


def test_per_program_table_has_both_widths():
    rows = [row("mac_swap_tx", 64, 64, 16.0, 16.0), row("mac_swap_tx", 64, 512, 3.6, 16.0),
            row("mac_swap_tx", 1518, 512, 24.0, 16.0), row("ipv6_filter", 74, 64, 10.0)]
    body = table_rows(results.per_program_table(rows))
    assert body == [["mac_swap_tx", "16.0", "16.0", "3.6"], ["ipv6_filter", "3.0", "10.0", ""]]
