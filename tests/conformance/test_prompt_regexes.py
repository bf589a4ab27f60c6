"""Our prompts, as the automation clients' own prompt patterns see them (no network needed).

Clients find the end of a command's output by matching the prompt, and tell the mode from
it: a prompt their pattern misses is a hung session. The patterns are copied from the
clients' sources (see the reference, anchors section 1.4):

* Ansible ``cisco.ios`` ``plugins/terminal/ios.py``: ``terminal_stdout_re`` and
  ``terminal_config_prompt``;
* scrapli ``driver/core/cisco_iosxe/base_driver.py``: ``PRIVS`` patterns, searched with
  ``re.M | re.I`` by ``_determine_current_priv``;
* netmiko ``cisco_ios.py`` / ``base_connection.py``: the base prompt is the prompt without
  its last character, config mode is ``)#`` in the prompt.

Every mode the grammar knows is checked, with several hostnames.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

import iosemu.features  # noqa: F401 - registers every command and so every mode
from iosemu.api import Lab
from iosemu.device.router import Router
from iosemu.parser.grammar import CONFIG, EXEC, REGISTRY, Mode
from iosemu.session import RAW_HANDLERS, Frame, Session

ANSIBLE_STDOUT = re.compile(rb"[\r\n]?[\w\+\-\.:\/\[\]]+(?:\([^\)]+\)){0,3}(?:[>#]) ?$")
ANSIBLE_CONFIG = re.compile(r"^.+\(config(-.*)?\)#$")
SCRAPLI = {
    "exec": r"^((?!tcl)[a-z0-9.\-_@()/:]){1,63}>$",
    "privilege_exec": r"^((?!tcl)[a-z0-9.\-_@/:]){1,63}#$",
    "configuration": r"^[a-z0-9.\-_@/:]{1,63}\((?!tcl)[a-z0-9.\-@/:\+]{0,32}\)#$",
}
HOSTNAMES = ["R", "Router", "CA-server-1", "Edge-7", "r1", "A" * 63]


def _modes() -> list[Mode]:
    seen: dict[str, Mode] = {}
    for cmd in REGISTRY:
        seen.setdefault(cmd.mode.name, cmd.mode)
    for mode in RAW_HANDLERS:
        seen.setdefault(mode.name, mode)
    return [m for m in seen.values() if m.is_config]


CONFIG_MODES = _modes()


class _NoTerminal:
    def output(self, text: str) -> None:
        raise AssertionError("nothing is printed here")


@pytest.fixture(scope="module")
def router() -> Iterator[Router]:
    lab = Lab.open("pki-ha", clock="virtual")
    try:
        yield next(iter(lab.routers.values()))
    finally:
        lab.close()


def _prompt(router: Router, hostname: str, mode: Mode, privilege: int = 15) -> str:
    router.hostname = hostname
    session = Session(router, _NoTerminal(), privilege=privilege)  # type: ignore[arg-type]
    if mode is not EXEC:
        session.frames.append(Frame(CONFIG))
        if mode is not CONFIG:
            session.frames.append(Frame(mode))
    return session.prompt()


def _scrapli_levels(prompt: str) -> list[str]:
    return [name for name, p in SCRAPLI.items() if re.search(p, prompt, flags=re.M | re.I)]


def _ansible_prompt(prompt: str) -> bytes | None:
    """What Ansible takes as the prompt at the end of a response ending in ``prompt``."""
    m = ANSIBLE_STDOUT.search(b"output line\r\n" + prompt.encode())
    return m.group().lstrip(b"\r\n") if m else None


def test_every_config_mode_is_checked() -> None:
    names = {m.name for m in CONFIG_MODES}
    assert {"configure", "interface", "line"} <= names


@pytest.mark.parametrize("hostname", HOSTNAMES)
def test_exec_prompts(router: Router, hostname: str) -> None:
    user = _prompt(router, hostname, EXEC, privilege=1)
    enabled = _prompt(router, hostname, EXEC)
    assert (user, enabled) == (f"{hostname}>", f"{hostname}#")
    assert _ansible_prompt(user) == user.encode()
    assert _ansible_prompt(enabled) == enabled.encode()
    assert not ANSIBLE_CONFIG.match(enabled)
    assert _scrapli_levels(user) == ["exec"]
    assert _scrapli_levels(enabled) == ["privilege_exec"]
    # netmiko: set_base_prompt drops the terminator; check_config_mode looks for ")#".
    assert enabled[:-1] == user[:-1] == hostname
    assert ")#" not in enabled


@pytest.mark.parametrize("hostname", HOSTNAMES)
@pytest.mark.parametrize("mode", CONFIG_MODES, ids=lambda m: m.name)
def test_config_prompts(router: Router, hostname: str, mode: Mode) -> None:
    prompt = _prompt(router, hostname, mode)
    assert prompt == f"{hostname}{mode.prompt}#"
    assert _ansible_prompt(prompt) == prompt.encode()
    assert _scrapli_levels(prompt) == ["configuration"]
    assert ")#" in prompt and prompt.startswith(hostname[:16])  # netmiko
    if mode.prompt.startswith("(config"):
        assert ANSIBLE_CONFIG.match(prompt)
