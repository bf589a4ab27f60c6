"""The robustness suite: a short version in every run, a long one by hand.

``IOSEMU_LONG=1 .venv/bin/pytest tests/robustness`` runs the long version: the tests
marked ``long`` (deselected otherwise) and bigger sizes for the others
(``robust.size``). ``IOSEMU_ROBUSTNESS_LOG=FILE`` collects what each test did (lines
fuzzed, requests sent, kills survived) as JSON lines. See docs/robustness.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
# The suite reuses the harnesses of other test directories (never copies them).
for where in ("unit", "features", "lab", "console"):
    path = str(HERE.parent / where)
    if path not in sys.path:
        sys.path.append(path)

from robust import LONG  # noqa: E402


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "long: part of the long robustness run only (IOSEMU_LONG=1)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if LONG:
        return
    skip = pytest.mark.skip(reason="long robustness run only: set IOSEMU_LONG=1")
    for item in items:
        if item.get_closest_marker("long") is not None:
            item.add_marker(skip)
