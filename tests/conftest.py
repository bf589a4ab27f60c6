"""Shared fixtures: a booted lab on the virtual clock and a privileged console session."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import Cli, open_lab

from iosemu.api import Lab


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "slow: property tests sized by IOSEMU_FUZZ_EXAMPLES (200 examples by default); "
        "-m 'not slow' leaves them out",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The multi-process lab tests first: they wait on the real clock for most of a minute,
    and started last they would leave one worker running alone at the end."""
    items.sort(key=lambda item: not item.path.name.endswith("_nodes.py"))


@pytest.fixture
def lab() -> Iterator[Lab]:
    """A fresh two-router lab, booted; closing it removes its state directory."""
    lab = open_lab()
    try:
        yield lab
    finally:
        lab.close()


@pytest.fixture
def cli(lab: Lab) -> Cli:
    """A privileged EXEC session on the console of the lab's first router."""
    return Cli(lab)


@pytest.fixture
def config(cli: Cli) -> Cli:
    """The same session, in global configuration mode."""
    return cli.configure()


@pytest.fixture(scope="session")
def vty_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """An ``iosemu lab`` process whose routers (hostname ``R``) take SSH and vty telnet
    logins (console/labproc.py: ``VtyLab``, ``VTY_CONFIG``), shared by the SSH and
    conformance tests of this worker; ``take()`` hands out one with an RSA key,
    ``take(keyed=False)`` one without."""
    sys.path.insert(0, str(Path(__file__).parent / "console"))
    from labproc import start_vty_lab

    # Sized for every test that takes one (16 keyed, 4 plain): one worker may run them all.
    lab = start_vty_lab(tmp_path_factory.mktemp("vty-lab"), keyed=18, plain=5)
    yield lab
    lab.stop()
