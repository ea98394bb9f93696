"""`python -m tools.survey [--count N] [--seed S] [--write]`: build the kernel's XDP samples and
selftests, run each under the interpreter and the kernel oracle, print the table (and write
docs/survey.md with --write)."""
from __future__ import annotations

import argparse
import logging
import sys

from jit import JitnicError
from tools.survey.build import build_all
from tools.survey.report import DOC, markdown
from tools.survey.run import survey


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.survey", description=__doc__)
    ap.add_argument("--count", type=int, default=200, help="packets per program (default 200)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--write", action="store_true", help=f"write {DOC}")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(message)s")
    try:
        rows = survey(build_all(), args.count, args.seed)
    except JitnicError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    text = markdown(rows, args.count, args.seed)
    print(text)
    if args.write:
        DOC.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
