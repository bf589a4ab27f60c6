"""Fixtures of the multi-process lab tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from test_fabric_nodes import Nodes


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[Nodes]:
    """``iosemu node`` processes of the default lab, stopped at the end of the test."""
    n = Nodes(tmp_path / "state")
    try:
        yield n
    finally:
        n.stop()
