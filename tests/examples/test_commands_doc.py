"""docs/commands.md is what ``iosemu commands --markdown`` prints now, and the table is sane."""

from __future__ import annotations

from pathlib import Path

import pytest

from iosemu.cli import main
from iosemu.command_table import markdown, modes, rows
from iosemu.parser.grammar import EXEC

DOC = Path(__file__).resolve().parents[2] / "docs" / "commands.md"


def test_docs_commands_md_is_current() -> None:
    # Regenerate with: iosemu commands --markdown > docs/commands.md
    assert DOC.read_text() == markdown(modes()), "docs/commands.md is stale: regenerate it"


def test_rows_carry_the_parsers_help() -> None:
    exec_rows = {r.syntax: r for r in rows(EXEC)}
    assert exec_rows["show version"].help == "System hardware and software status"
    assert exec_rows["show version"].level == 1
    assert exec_rows["reload"].level == 15
    interface = next(m for m in modes() if m.name == "interface")
    standby = {r.syntax: r.help for r in rows(interface)}
    assert standby["[no] standby [<0-255>] ip [A.B.C.D [secondary]]"] == (
        "Enable HSRP and set the virtual IP address"
    )


def test_cli_one_mode_and_unknown_mode(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["commands", "--mode", "red-interdevice"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("red-interdevice (Router(config-red-interdevice)#)")
    assert "scheme standby WORD" in out
    assert main(["commands", "--mode", "nonesuch"]) == 2
    assert "modes: exec, configure" in capsys.readouterr().err
