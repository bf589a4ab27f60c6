"""Fixtures: lab subprocesses shared by the whole session, a fresh router per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from labproc import Console, RouterPool


@pytest.fixture(scope="session")
def pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RouterPool]:
    routers = RouterPool(tmp_path_factory.mktemp("console-labs"))
    yield routers
    routers.close()


@pytest.fixture
def fresh(pool: RouterPool) -> Iterator[Console]:
    """A console on an untouched router, still at ``Press RETURN to get started``."""
    lab, node = pool.take()
    console = Console(lab.port(node))
    yield console
    console.close()


@pytest.fixture
def con(fresh: Console) -> Console:
    """A console at the user EXEC prompt ``R>``."""
    assert fresh.cmd("", b"R>") == b"\r\nR>"
    return fresh


@pytest.fixture
def en(con: Console) -> Console:
    """A console at the privileged EXEC prompt ``R#``."""
    assert con.cmd("enable", b"R#") == b"enable\r\nR#"
    return con


@pytest.fixture
def cfg(en: Console) -> Console:
    """A console in global configuration mode."""
    en.cmd("configure terminal", b"R(config)#")
    return en
