"""Progress bars for long work, on a terminal only.

A bar goes to stderr when stderr is a terminal; into a file or a pipe nothing is written (no `\\r`
lines in logs or in captured output). `JITNIC_PROGRESS=0` turns bars off on a terminal too.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator


def enabled() -> bool:
    return os.environ.get("JITNIC_PROGRESS", "1") != "0" and sys.stderr.isatty()


class Bar:
    """A progress bar (tqdm) or, off a terminal, an object with the same methods that does nothing."""

    def __init__(self, desc: str, total: int | None = None, unit: str = "frame", show: bool = True):
        self._bar = None
        if show and enabled():
            from tqdm import tqdm
            self._bar = tqdm(desc=desc, total=total, unit=unit, unit_scale=True, leave=False,
                             file=sys.stderr, dynamic_ncols=True, mininterval=0.2)

    def update(self, n: int = 1) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def set_total(self, total: int) -> None:
        if self._bar is not None:
            self._bar.total = total
            self._bar.refresh()

    def set_description(self, desc: str) -> None:
        if self._bar is not None:
            self._bar.set_description(desc, refresh=False)

    def write(self, line: str) -> None:
        """`line` on stderr, above the bar on a terminal (a plain print would tear the bar)."""
        if self._bar is not None:
            self._bar.write(line, file=sys.stderr)
        else:
            print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> "Bar":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def counted(items: Iterable, bar: Bar) -> Iterator:
    """Yield `items`, moving `bar` by one per item."""
    for item in items:
        yield item
        bar.update()
