"""Sizes of the short (CI) and long (``IOSEMU_LONG=1``) robustness runs, and their record."""

from __future__ import annotations

import json
import os
from pathlib import Path

LONG = os.environ.get("IOSEMU_LONG", "") not in ("", "0")
SEED = 20100603


def size(short: int, long: int) -> int:
    """``short`` in the default run, ``long`` in the long one."""
    return long if LONG else short


def record(test: str, **numbers: int) -> None:
    """Note what a test did (``IOSEMU_ROBUSTNESS_LOG``): the long run's numbers come from it."""
    where = os.environ.get("IOSEMU_ROBUSTNESS_LOG")
    if not where:
        return
    line = json.dumps({"test": test, "long": LONG, **numbers})
    with Path(where).open("a") as f:
        f.write(line + "\n")
