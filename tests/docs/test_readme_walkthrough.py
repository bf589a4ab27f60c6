"""The README's walkthrough, typed as written into the consoles of a real ``iosemu lab``.

The blocks under ``<!-- walkthrough: ROUTER -->`` markers are the lines a newcomer pastes;
this test sends exactly those lines, in README order, to the router's telnet console (the
line ``iosemu console`` attaches to), and answers the dialogs the prose describes (the
reload confirmations, the passphrase). What the prose promises is checked on the output.
The lab runs on the scaled clock at 10x so the guide's one-minute HSRP reload delay takes
six seconds (faster, and a busy machine's slowness would reach the consoles' ten-minute
exec-timeout); everything waits for output, never for time.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "console"))
from labproc import Console, LabProcess

ROOT = Path(__file__).parents[2]
LAB_FILE = ROOT / "src" / "iosemu" / "labs" / "pki-ha.yml"
ROUTERS = ["CA-server-1", "CA-server-2"]
WAIT = 60.0  # seconds: the slowest step (reload, a minute of lab time) on a busy machine
MARKER = re.compile(r"<!-- walkthrough: (\S+) -->\n```\w*\n(.*?)```", re.S)


def walkthrough() -> list[tuple[str, list[str]]]:
    """(where, lines) for every marked block of the README, in order."""
    text = (ROOT / "README.md").read_text()
    return [(where, body.splitlines()) for where, body in MARKER.findall(text)]


class Router:
    """A console with the prompt tracking a typed walkthrough needs."""

    def __init__(self, lab: LabProcess, name: str) -> None:
        self.name = name
        self.console = Console(lab.port(name), timeout=WAIT)
        # At a line's start; not at the end of what was read, since a log message may
        # follow the prompt in the same read.
        self.prompt = re.compile(rb"\n" + re.escape(name).encode() + rb"(\([a-z-]+\))?[>#]")

    def type(self, line: str) -> str:
        """Type one line as pasted; the output up to the next prompt."""
        self.console.send(line + "\r")
        try:
            return self.console.until_re(self.prompt.pattern).decode(errors="replace")
        except pexpect.TIMEOUT:
            seen = self.console.child.before
            raise AssertionError(f"{self.name}: no prompt after {line!r}: {seen!r}") from None

    def until(self, text: str) -> str:
        return self.console.until(text.encode()).decode(errors="replace")

    def reload(self) -> None:
        self.console.send("reload\r")
        self.until("Proceed with reload? [confirm]")
        self.console.send("\r")
        self.until("Press RETURN to get started!")
        self.console.send("\r")
        self.console.until_re(self.prompt.pattern)


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[LabProcess]:
    process = LabProcess(
        LAB_FILE, tmp_path / "state", ROUTERS, ["--clock", "scaled", "--speed", "10"]
    )
    process.start()
    process.wait_booted()
    try:
        yield process
    finally:
        process.stop()


def test_the_readme_walkthrough_works_as_written(lab: LabProcess) -> None:
    blocks = walkthrough()
    assert [where for where, _ in blocks] == [
        "shell",
        "CA-server-1",
        "CA-server-2",
        "CA-server-1",
        "CA-server-2",
        "CA-server-2",
        "CA-server-1",
        "CA-server-1",
    ], "the README's walkthrough changed: follow it here too"
    (_, shell), steps = blocks[0], iter(blocks[1:])
    assert shell == [".venv/bin/iosemu console CA-server-2"]
    routers = {name: Router(lab, name) for name in ROUTERS}
    for router in routers.values():
        router.console.send("\r")
        router.console.until_re(router.prompt.pattern)

    def paste(name: str) -> str:
        where, lines = next(steps)
        assert where == name
        return "".join(routers[name].type(line) for line in lines)

    # Steps 1 to 4 on both, saved; then both reload.
    for name in ROUTERS:
        out = paste(name)
        assert "%" not in out.replace("%SYS-5-CONFIG_I", ""), out
        assert "[OK]" in out
    for router in routers.values():
        router.reload()
    one, two = routers["CA-server-1"], routers["CA-server-2"]
    two.until("Grp 0 state Standby -> Active")
    one.until("Grp 0 state Speak -> Standby")
    # The standby walks up to STANDBY HOT: its state shows once it is there.
    out = paste("CA-server-1")
    for _ in range(500):
        if "my state = 8  -STANDBY HOT" in out:
            break
        out = one.type("show redundancy states")
    assert "my state = 8  -STANDBY HOT" in out, out
    assert "peer state = 13 -ACTIVE" in out and "Mode = Duplex" in out

    # Steps 5 and 6: the CA on the active, its passphrase typed twice.
    where, lines = next(steps)
    assert where == "CA-server-2" and lines[-1] == " no shutdown"
    for line in lines[:-1]:
        two.type(line)
    two.console.send(lines[-1] + "\r")
    two.until("Password: ")
    two.console.send("cisco123\r")
    two.until("Re-enter password: ")
    two.console.send("cisco123\r")
    two.until("[OK]")
    two.console.until_re(two.prompt.pattern)
    out = paste("CA-server-2")
    fingerprint = re.search(r"CA cert fingerprint: ([0-9A-F ]+)\r", out)
    assert fingerprint, out
    assert "Redundancy configured. This is active." in out
    assert "Key is not exportable. Redundancy enabled." in out
    out = paste("CA-server-1")
    for _ in range(50):  # the sync may still be on its way when a fast typist looks
        if f"CA cert fingerprint: {fingerprint.group(1)}" in out:
            break
        out = one.type("show crypto pki server") + one.type("show crypto pki certificates")
    assert f"CA cert fingerprint: {fingerprint.group(1)}" in out, out
    assert "Redundancy configured. This is standby." in out
    assert "Associated Trustpoints: PKI-HA" in out

    # The failover: the active reloads, the standby takes over as the CA.
    two.console.send("reload\r")
    two.until("System configuration has been modified. Save? [yes/no]: ")
    two.console.send("yes\r")
    two.until("Proceed with reload? [confirm]")
    two.console.send("\r")
    one.until("Grp 0 state Standby -> Active")
    out = paste("CA-server-1")
    for _ in range(50):  # ACTIVE-FAST, ACTIVE-DRAIN... go by in moments of lab time
        if "my state = 13 -ACTIVE" in out:
            break
        out = one.type("show redundancy states") + one.type("show crypto pki server")
    assert "my state = 13 -ACTIVE" in out, out
    assert f"CA cert fingerprint: {fingerprint.group(1)}" in out
    assert "Redundancy configured. This is active." in out
