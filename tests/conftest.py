"""Shared fixtures: a booted lab on the virtual clock and a privileged console session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from helpers import Cli, open_lab

from iosemu.api import Lab


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "slow: property tests sized by IOSEMU_FUZZ_EXAMPLES (200 examples by default); "
        "-m 'not slow' leaves them out",
    )


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
