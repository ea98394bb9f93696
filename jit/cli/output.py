"""Small helpers shared by the `jit/cli/*.py` subcommand modules."""
from __future__ import annotations

import json
import sys


def emit_json(obj) -> None:
    """One JSON object on one line of stdout."""
    sys.stdout.write(json.dumps(obj, sort_keys=False) + "\n")
