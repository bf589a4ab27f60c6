"""Executable transcripts: the format (pure), the matcher, and replays on a virtual-clock lab."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from iosemu.lab.faults import Fault
from iosemu.parser.grammar import REGISTRY
from iosemu.replay import runner
from iosemu.replay.console import Driver
from iosemu.replay.pytest_plugin import is_transcript
from iosemu.replay.runner import block_diff, run_file, update_file
from iosemu.replay.transcript import (
    Directive,
    Pattern,
    TranscriptError,
    align,
    parse,
    parse_directive,
    reveal_secrets,
    strip_secrets,
)

pytest_plugins = ["pytester"]

R1 = "CA-server-1"

# --------------------------------------------------------------------------- parsing


def test_only_ios_fences_are_blocks() -> None:
    text = "\n".join(
        [
            "# Title",
            "```python",
            "R1#not a block",
            "```",
            "~~~ios",
            "R1#show clock",
            "~~~",
            "```ios title",
            "R1#show version",
            "````",
            "",
        ]
    )
    transcript = parse(text, "x.md")
    assert [b.start for b in transcript.blocks] == [5, 8]
    assert [line.text for line in transcript.blocks[0].lines] == ["R1#show clock"]
    assert transcript.blocks[1].lines[0].lineno == 9
    assert transcript.lab == "pki-ha"


def test_the_first_html_comment_names_the_lab() -> None:
    transcript = parse("<!-- iosemu: lab=labs/two.yml -->\n\n```ios\n```\n", "/t/x.md")
    assert transcript.lab == "labs/two.yml"
    assert transcript.lab_ref() == "/t/labs/two.yml"
    assert parse("<!-- iosemu: lab=pki-ha -->\n", "x.md").lab_ref() == "pki-ha"
    assert parse("<!-- just a comment -->\n", "x.md").lab == "pki-ha"
    with pytest.raises(TranscriptError, match="unknown setting"):
        parse("<!-- iosemu: speed=3 -->\n", "x.md")


@pytest.mark.parametrize(
    ("line", "directive"),
    [
        ("[... 30 seconds later ...]", Directive("later", seconds=30)),
        ("[... 2 minutes later ...]", Directive("later", seconds=120)),
        ("[... 1 hour later ...]", Directive("later", seconds=3600)),
        ("[... 500 ms later ...]", Directive("later", seconds=0.5)),
        ('[... until "LINEPROTO" ...]', Directive("until", text="LINEPROTO")),
        ('  [... until "a "quoted" text" ...]', Directive("until", text='a "quoted" text')),
        ("R1#show clock", None),
        ("[..] matches anything", None),
        (
            "[... CA-server-2 loses power ...]",
            Directive("fault", fault=Fault("power-off", "CA-server-2")),
        ),
        ("[... R2 is powered on ...]", Directive("fault", fault=Fault("power-on", "R2"))),
        (
            "[... the cable of R1 Gi0/0 is pulled ...]",
            Directive("fault", fault=Fault("unplug", "R1", "Gi0/0")),
        ),
        (
            "[... the cable of R1 GigabitEthernet0/0 is plugged back in ...]",
            Directive("fault", fault=Fault("plug", "R1", "GigabitEthernet0/0")),
        ),
        (
            "[... the cable of R1 Gi0/0 is plugged back ...]",
            Directive("fault", fault=Fault("plug", "R1", "Gi0/0")),
        ),
        (
            "[... the segment splits: R1 | R2  Host ...]",
            Directive("fault", fault=Fault("partition", groups=(("R1",), ("R2", "Host")))),
        ),
        ("[... the segment heals ...]", Directive("fault", fault=Fault("heal"))),
    ],
)
def test_directives(line: str, directive: Directive | None) -> None:
    assert parse_directive(line) == directive


def test_a_malformed_directive_names_its_line() -> None:
    with pytest.raises(TranscriptError) as e:
        parse("text\n```ios\nR1#show clock\n[... soon ...]\n```\n", "t.md")
    assert e.value.lineno == 4
    assert str(e.value).startswith("t.md:4: unknown directive")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "[... CA-server-2 looses power ...]",
            "t.md:3: unknown directive '[... CA-server-2 looses power ...]'; a directive is "
            '[... WHAT ...] with WHAT one of: N seconds later; until "TEXT"; ROUTER loses power;',
        ),
        (
            "[... the segment splits: R1 R2 ...]",
            "t.md:3: bad directive '[... the segment splits: R1 R2 ...]': a partition needs at "
            "least two groups",
        ),
    ],
)
def test_a_malformed_fault_directive_names_its_line(line: str, message: str) -> None:
    with pytest.raises(TranscriptError) as e:
        parse(f"text\n```ios\n{line}\n```\n", "t.md")
    assert str(e.value).startswith(message)


def test_secrets() -> None:
    assert strip_secrets("Password: {{cisco123}}") == "Password: "
    assert reveal_secrets("Password: {{cisco123}}") == "Password: cisco123"


def test_replacing_block_bodies_keeps_the_rest() -> None:
    text = "a\n```ios\nold 1\nold 2\n```\nb\n```ios\nkeep\n```\n"
    transcript = parse(text, "x.md")
    assert transcript.with_blocks_replaced({0: ["new"]}) == (
        "a\n```ios\nnew\n```\nb\n```ios\nkeep\n```\n"
    )
    assert transcript.with_blocks_replaced({}) == text


# --------------------------------------------------------------------------- matching


def test_patterns() -> None:
    assert Pattern("R1#show clock").matches("R1#show clock   ")
    assert not Pattern("R1#show clock").matches("R1#show clocks")
    glob = Pattern("*[..] UTC Thu Jun 3 2010")
    assert glob.is_wildcard and glob.matches("*01:38:02.000 UTC Thu Jun 3 2010")
    assert not glob.matches("01:38:02.000 UTC Thu Jun 3 2010")
    regex = Pattern(r"Current configuration : \d+ bytes (re)")
    assert regex.matches("Current configuration : 723 bytes")
    assert not regex.matches("Current configuration : many bytes")
    assert Pattern("...").kind == "dots"
    assert Pattern("...", literal=True).kind == "literal"
    assert Pattern("[..]", literal=True).matches("[..]")
    with pytest.raises(ValueError, match="regular expression"):
        Pattern("([ (re)")


def patterns(*lines: str) -> list[Pattern]:
    return [Pattern(line) for line in lines]


def test_dots_match_any_number_of_lines() -> None:
    expected = patterns("Building configuration...", "...", "end")
    assert align(expected, ["Building configuration...", "a", "b", "end"]).cost == 0
    assert align(expected, ["Building configuration...", "end"]).cost == 0
    assert align(patterns("...", "x", "..."), ["x"]).cost == 0
    assert align(patterns("a", "...", "z"), ["a", "b", "y"]).cost == 1  # only z is missing


def test_alignment_counts_missing_and_extra_lines() -> None:
    result = align(patterns("a", "b", "c"), ["a", "x", "c", "d"])
    assert result.cost == 3  # b missing, x and d extra
    kinds = [op for op, _, _ in result.ops]
    assert kinds.count("match") == 2


# --------------------------------------------------------------------------- replays


def write(tmp_path: Path, body: str, name: str = "t.md") -> Path:
    folder = tmp_path / "transcripts"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(body, encoding="utf-8")
    return path


def block(*lines: str, prose: str = "Some prose.") -> str:
    return prose + "\n\n```ios\n" + "\n".join(lines) + "\n```\n"


def test_a_passing_transcript(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        block(
            "CA-server-1>enable",
            "CA-server-1#show clock",
            "*01:38:02.000 UTC Thu Jun 3 2010",
            "[... 30 seconds later ...]",
            "CA-server-1#show clock",
            "*[..] UTC Thu Jun 3 2010",
            "CA-server-1#",
            "CA-server-1#show ver | i ^Cisco IOS",
            r"Cisco IOS Software, .*Version 15\.1\(3\)T.* (re)",
        ),
    )
    started = time.monotonic()
    result = run_file(path)
    assert result.passed, runner.report(result)
    assert time.monotonic() - started < 10


def test_a_mismatch_is_a_diff_numbered_as_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, block("CA-server-1>show clock", "*01:38:02.000 UTC Fri Jun 4 2010"))
    result = run_file(path)
    assert not result.passed
    diff = block_diff(path, result.blocks[0])
    assert f"--- {path}:3 (expected)" in diff
    assert "@@ -4,2 +4,2 @@" in diff
    assert "-*01:38:02.000 UTC Fri Jun 4 2010" in diff
    assert "+*01:38:02.000 UTC Thu Jun 3 2010" in diff
    assert runner.main([str(path)]) == 1


def test_update_writes_output_and_keeps_what_the_writer_wrote(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        block(
            "CA-server-1>enable",
            "CA-server-1#show running-config",
            "Building configuration...",
            "...",
            "hostname [..]",
            "...",
            "[... 2 minutes later ...]",
            "CA-server-1#configure terminal",
            "CA-server-1(config)#end",
            "stale output",
            "CA-server-1#show clock",
        ),
    )
    result = run_file(path)
    assert not result.passed
    assert update_file(result) == [3]
    text = path.read_text()
    assert "stale output" not in text
    assert "Enter configuration commands, one per line.  End with CNTL/Z." in text
    for kept in ("...", "hostname [..]", "[... 2 minutes later ...]"):
        assert f"\n{kept}\n" in text
    assert "\nCA-server-1#\n*Jun  3 01:40:02.000: %SYS-5-CONFIG_I: Configured" in text
    assert run_file(path).passed
    before = path.read_text()
    assert runner.main([str(path)], update=True) == 0
    assert path.read_text() == before  # a passing file is left alone


def test_help_redisplays_the_line_and_the_next_line_goes_on(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        block(
            "CA-server-1>enable",
            "CA-server-1#show cl?",
            "clock",
            "",
            "CA-server-1#show clock ?",
            "...",
            "",
            "CA-server-1#show clock",
            "*01:38:02.000 UTC Thu Jun 3 2010",
        ),
    )
    result = run_file(path)
    assert result.passed, runner.report(result)


def test_help_then_a_line_that_does_not_go_on_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, block("CA-server-1>show ?", "...", "CA-server-1>enable"))
    result = run_file(path)
    assert not result.passed
    assert "must go on from there" in runner.report(result)


def test_a_key_the_router_ignores_shows_in_the_diff_and_stays_on_update(tmp_path: Path) -> None:
    path = write(tmp_path, block("CA-server-1>^Z", "CA-server-1>show clock", "..."))
    result = run_file(path)
    assert not result.passed
    assert "\n-CA-server-1>^Z\n" in block_diff(path, result.blocks[0])
    update_file(result)
    assert "CA-server-1>^Z\nCA-server-1>show clock\n" in path.read_text()


def test_pending_messages_come_under_a_bare_prompt(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        block(
            "CA-server-1>enable",
            "CA-server-1#configure terminal",
            "Enter configuration commands, one per line.  End with CNTL/Z.",
            "CA-server-1(config)#^Z",
            "CA-server-1#",
            "*Jun  3 01:38:02.000: %SYS-5-CONFIG_I: Configured from console by console",
            "CA-server-1#",
            "CA-server-1#disable",
        ),
    )
    result = run_file(path)
    assert result.passed, runner.report(result)


def test_messages_left_pending_are_shown_at_the_end_of_the_block(tmp_path: Path) -> None:
    lines = [
        "CA-server-1>enable",
        "CA-server-1#configure terminal",
        "...",
        "CA-server-1(config)#end",
    ]
    result = run_file(write(tmp_path, block(*lines)))
    rendering = result.blocks[0].rendering
    assert rendering[-2:] == [
        "CA-server-1#",
        "*Jun  3 01:38:02.000: %SYS-5-CONFIG_I: Configured from console by console",
    ]


def test_dialogs_secrets_and_confirm(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        block(
            "CA-server-2>enable",
            "CA-server-2#configure terminal",
            "...",
            "CA-server-2(config)#enable secret s3cret",
            "CA-server-2(config)#end",
            "CA-server-2#",
            "...",
            "CA-server-2#disable",
            "CA-server-2>enable",
            "Password: {{wrong}}",
            "Password: {{s3cret}}",
            "CA-server-2#copy running-config startup-config",
            "Destination filename [startup-config]?",
            "Building configuration...",
            "[OK]",
            "CA-server-2#reload",
            "Proceed with reload? [confirm]{{n}}",
            "CA-server-2#show clock",
            "*01:38:02.000 UTC Thu Jun 3 2010",
        ),
    )
    result = run_file(path)
    assert result.passed, runner.report(result)


def test_reload_runs_until_the_console_waits_for_return(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        block(
            "CA-server-1>enable",
            "CA-server-1#reload",
            "Proceed with reload? [confirm]",
            "...",
            "Press RETURN to get started!",
            "...",
            "CA-server-1>show clock",
            "*01:38:0[..] UTC Thu Jun 3 2010",
        ),
    )
    result = run_file(path)
    assert result.passed, runner.report(result)


def test_until_waits_in_lab_time_across_routers(tmp_path: Path) -> None:
    lines = []
    for router in ("CA-server-1", "CA-server-2"):
        lines += [
            f"{router}>enable",
            f"{router}#configure terminal",
            "...",
            f"{router}(config)#interface GigabitEthernet0/0",
            f"{router}(config-if)#no shutdown",
            f"{router}(config-if)#end",
        ]
    lines += ['[... until "LINEPROTO-5-UPDOWN" ...]', "CA-server-1#show clock", "..."]
    result = run_file(write(tmp_path, block(*lines)))
    assert not result.passed  # CA-server-1's messages are not written: see where they go
    rendering = result.blocks[0].rendering
    until = rendering.index('[... until "LINEPROTO-5-UPDOWN" ...]')
    show = rendering.index("CA-server-1#show clock")
    assert rendering[until + 1] == "CA-server-1#"
    assert any("%LINEPROTO-5-UPDOWN" in line for line in rendering[until:show])
    assert "%LINK-3-UPDOWN" in rendering[show - 2]


def test_until_gives_up_after_ten_lab_minutes(tmp_path: Path) -> None:
    path = write(tmp_path, block("CA-server-1>show clock", "...", '[... until "NEVER" ...]'))
    started = time.monotonic()
    result = run_file(path)
    assert not result.passed
    assert '"NEVER" was not printed within 10 minutes of lab time' in runner.report(result)
    assert time.monotonic() - started < 30


def test_the_wall_clock_cap(tmp_path: Path) -> None:
    result = run_file(write(tmp_path, block("CA-server-1>show clock")), wall_limit=0)
    assert not result.passed
    assert "wall-clock" in runner.report(result)


@pytest.fixture
def broken_show_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    command = next(c for c in REGISTRY if c.syntax.startswith("show clock"))

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the clock fell off the wall")

    monkeypatch.setattr(command, "handler", boom)
    yield


@pytest.mark.usefixtures("broken_show_clock")
def test_an_internal_error_fails_with_its_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, block("CA-server-1>show clock", "...", "CA-server-1>show clock"))
    result = run_file(path)
    assert not result.passed
    report = runner.report(result)
    assert "RuntimeError: the clock fell off the wall" in report
    assert "Traceback" in report


def test_a_bad_lab_reference_fails_cleanly(tmp_path: Path) -> None:
    path = write(tmp_path, "<!-- iosemu: lab=nowhere.yml -->\n" + block("R1>show clock"))
    result = run_file(path)
    assert not result.passed and result.error


def test_a_file_without_blocks_passes(tmp_path: Path) -> None:
    assert run_file(write(tmp_path, "# Just prose\n")).passed


# --------------------------------------------------------------------------- faults


def test_power_off_then_on_boots_to_press_return(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        block(
            "CA-server-2>enable",
            "[... CA-server-2 loses power ...]",
            "[... 1 minute later ...]",
            "[... CA-server-2 is powered on ...]",
            "",
            "System Bootstrap, Version 12.3(11r)T2, RELEASE SOFTWARE (fc1)",
            "...",
            "Press RETURN to get started!",
            "...",
            "CA-server-2>show version | include returned",
            "System returned to ROM by power-on",
            "CA-server-2>show clock",
            "*01:39:0[..] UTC Thu Jun 3 2010",
        ),
    )
    result = run_file(path)
    assert result.passed, runner.report(result)


def test_typing_at_a_router_that_is_off_fails_with_the_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        block("CA-server-2>enable", "[... CA-server-2 loses power ...]", "CA-server-2#show clock"),
    )
    result = run_file(path)
    assert not result.passed
    assert result.blocks[0].error == (
        f"{path}:6: CA-server-2 is powered off: nothing can be typed into it until "
        "[... CA-server-2 is powered on ...]"
    )


def test_a_fault_the_lab_cannot_take_fails_with_the_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        block(
            "CA-server-1>enable",
            "[... the cable of CA-server-1 Gi0/1 is pulled ...]",
            "[... R9 loses power ...]",
        ),
    )
    result = run_file(path)
    assert result.blocks[0].error == (
        f"{path}:5: CA-server-1 GigabitEthernet0/1 has no cable in this lab "
        "(cabled: GigabitEthernet0/0)"
    )


def test_faults_on_the_wire_in_a_transcript(tmp_path: Path) -> None:
    # The cable is pulled, then the segment split and healed: the faults need no output.
    lines = []
    for router in ("CA-server-1", "CA-server-2"):
        lines += [
            f"{router}>enable",
            f"{router}#configure terminal",
            "...",
            f"{router}(config)#interface GigabitEthernet0/0",
            f"{router}(config-if)#no shutdown",
            f"{router}(config-if)#end",
        ]
    lines += [
        '[... until "LINEPROTO-5-UPDOWN" ...]',
        "[... the cable of CA-server-2 Gi0/0 is pulled ...]",
        "[... 5 seconds later ...]",
        "CA-server-2#",
        "...",
        "*Jun  3 01:38:07.000: %LINK-3-UPDOWN: Interface GigabitEthernet0/0, changed state to down",
        "*Jun  3 01:38:08.000: %LINEPROTO-5-UPDOWN: Line protocol on Interface GigabitEthernet0/0, "
        "changed state to down",
        "CA-server-2#show ip interface brief",
        "Interface [..]",
        "GigabitEthernet0/0         unassigned      YES unset  down                  down",
        "...",
        "[... the cable of CA-server-2 Gi0/0 is plugged back in ...]",
        "[... the segment splits: CA-server-1 | CA-server-2 ...]",
        "[... the segment heals ...]",
        "CA-server-1#show clock",
        "*01:38:10.000 UTC Thu Jun 3 2010",
        "...",
    ]
    result = run_file(write(tmp_path, block(*lines)))
    assert result.passed, runner.report(result)


def test_update_keeps_the_press_return_line_between_dots(tmp_path: Path) -> None:
    # The greeting is where Return is pressed: "..." may not swallow it.
    path = write(
        tmp_path,
        block(
            "[... CA-server-2 loses power ...]",
            "[... CA-server-2 is powered on ...]",
            "...",
            "Press RETURN to get started!",
            "...",
            "CA-server-2>show clock",
            "wrong",
        ),
    )
    result = run_file(path)
    assert not result.passed
    update_file(result)
    text = path.read_text(encoding="utf-8")
    assert "...\nPress RETURN to get started!\n...\nCA-server-2>show clock\n*01:38:" in text
    assert run_file(path).passed


# --------------------------------------------------------------------------- driver API


def test_the_driver_types_lines_and_returns_their_rendering() -> None:
    with Driver.open("pki-ha") as driver:

        async def session() -> list[str]:
            await driver.start()
            return [
                await driver.run(R1, "enable"),
                await driver.run(R1, "show clock"),
                await driver.run(R1, "configure terminal"),
                await driver.run(R1, "end"),
                await driver.run(R1, "disable"),
            ]

        out = driver.lab.run(session())
    assert out[0] == "CA-server-1>enable"
    assert out[1] == "CA-server-1#show clock\n*01:38:02.000 UTC Thu Jun 3 2010"
    assert out[2].endswith("End with CNTL/Z.")
    assert out[3] == "CA-server-1(config)#end"
    assert out[4] == (
        "CA-server-1#\n"
        "*Jun  3 01:38:02.000: %SYS-5-CONFIG_I: Configured from console by console\n"
        "CA-server-1#disable"
    )


# --------------------------------------------------------------------------- pytest plugin


def test_only_markdown_in_a_transcripts_folder_is_collected() -> None:
    assert is_transcript(Path("transcripts/foundation.md"))
    assert is_transcript(Path("/x/transcripts/pki/guide.md"))
    assert not is_transcript(Path("README.md"))
    assert not is_transcript(Path("docs/transcripts.md"))
    assert not is_transcript(Path("transcripts/notes.txt"))
    assert not is_transcript(Path("/home/transcripts/project/README.md"), Path("/home/transcripts"))


def test_pytest_collects_one_item_per_transcript_and_fails_with_the_diff(
    pytester: pytest.Pytester,
) -> None:
    pytester.makefile(".md", README="# not a transcript\n\n```ios\nR1#nothing\n```\n")
    folder = pytester.mkdir("transcripts")
    (folder / "good.md").write_text(block("CA-server-1>show clock", "*01:38:02.000 [..]"))
    (folder / "bad.md").write_text(block("CA-server-1>show clock", "*12:00:00.000 [..]"))
    (folder / "prose.md").write_text("# No blocks here\n")
    result = pytester.runpytest_inprocess("-q", "-p", "no:hypothesispytest")
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    assert "transcripts/bad.md:3 (expected)" in out
    assert "\n-*12:00:00.000 [..]\n+*01:38:02.000 UTC Thu Jun 3 2010\n" in out
