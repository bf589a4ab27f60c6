"""Fixtures: a lab subprocess for the automation clients (shared helpers live in console/)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "console"))

from labproc import LabProcess, pool_lab_file


@pytest.fixture(scope="session")
def client_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabProcess]:
    """A few routers with hostname ``R`` whose consoles the clients connect to."""
    where = tmp_path_factory.mktemp("client-lab")
    lab_file = where / "clients.yml"
    lab = LabProcess(lab_file, where / "state", pool_lab_file(lab_file, 4))
    lab.start()
    lab.wait_booted()
    yield lab
    lab.stop()
