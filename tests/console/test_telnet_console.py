"""The telnet console, byte for byte: what automation clients and people see and type.

Every test takes a fresh router (hostname ``R``) of a lab running in a subprocess on the
real clock and drives its console with pexpect. Expectations are exact bytes wherever IOS's
bytes matter to a parser: CR LF line ends, the echo, the caret column (length of the prompt
plus the offset of the first character the parser could not take), empty lines after
errors, the ``--More--`` erase.
"""

from __future__ import annotations

import re

import pytest
from labproc import Console

BANNER = b"Enter configuration commands, one per line.  End with CNTL/Z.\r\n"
CONFIG_I = b"%SYS-5-CONFIG_I: Configured from console by console\r\n"
STAMP = rb"\*[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d\.\d{3}: "  # *Jun  3 01:41:02.791:
CLOCK = rb"\*\d\d:\d\d:\d\d\.\d{3} UTC [A-Z][a-z]{2} [A-Z][a-z]{2} \d{1,2} \d{4}\r\n"
MORE = b" --More-- "
MORE_ERASE = b"\x08" * 9 + b" " * 8 + b"\x08" * 9


def end_config(c: Console, how: str = "end\r", echo: bytes = b"end", prompt: bytes = b"R#") -> None:
    """Leave configuration mode and take the ``%SYS-5-CONFIG_I`` line that follows."""
    c.send(how)
    assert c.until(b"\r\n" + prompt) == echo + b"\r\n" + prompt
    assert re.fullmatch(b"\r\n" + STAMP + re.escape(CONFIG_I), c.until(CONFIG_I))


# --------------------------------------------------------------------------- connecting


def test_return_starts_the_exec_and_logout_shows_press_return(fresh: Console) -> None:
    assert fresh.cmd("", b"R>") == b"\r\nR>"
    assert fresh.cmd("exit", b"started.\r\n\r\n") == (
        b"exit\r\n\r\nR con0 is now available\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
        b"Press RETURN to get started.\r\n\r\n"
    )
    assert fresh.cmd("", b"R>") == b"\r\nR>"


def test_every_prompt(con: Console) -> None:
    assert con.cmd("enable", b"R#") == b"enable\r\nR#"
    assert con.cmd("configure terminal", b"R(config)#") == b"configure terminal\r\n" + (
        BANNER + b"R(config)#"
    )
    assert con.cmd("interface GigabitEthernet0/0", b"#") == (
        b"interface GigabitEthernet0/0\r\nR(config-if)#"
    )
    assert con.cmd("exit", b"#") == b"exit\r\nR(config)#"
    assert con.cmd("line con 0", b"#") == b"line con 0\r\nR(config-line)#"
    end_config(con)
    assert con.cmd("disable", b">") == b"disable\r\nR>"


def test_configure_banner_has_two_spaces_before_end(en: Console) -> None:
    out = en.cmd("conf t", b"R(config)#")
    assert out == b"conf t\r\nEnter configuration commands, one per line.  End with CNTL/Z.\r\n" + (
        b"R(config)#"
    )


def test_a_second_viewer_sees_the_same_line(en: Console) -> None:
    """A console port is a shared terminal: every telnet connection sees what it prints."""
    viewer = Console(en.port)
    try:
        en.send("show privilege\r")
        expected = b"show privilege\r\nCurrent privilege level is 15\r\nR#"
        assert en.until(b"R#") == expected
        assert viewer.until(b"R#") == expected
        viewer.send("disable\r")  # and it can type too
        assert en.until(b"R>") == b"disable\r\nR>"
    finally:
        viewer.close()


# --------------------------------------------------------------------------- abbreviations


@pytest.mark.parametrize(
    "typed,canonical",
    [
        ("int g0/0", "GigabitEthernet0/0"),
        ("int gi 0/1", "GigabitEthernet0/1"),
        ("int GigabitEthernet0/0", "GigabitEthernet0/0"),
        ("interface gigabitEthernet 0/1", "GigabitEthernet0/1"),
    ],
)
def test_interface_abbreviations(cfg: Console, typed: str, canonical: str) -> None:
    assert cfg.cmd(typed, b"#") == typed.encode() + b"\r\nR(config-if)#"
    cfg.cmd("description via abbreviation", b"R(config-if)#")
    out = cfg.cmd(f"do show running-config interface {canonical}", b"R(config-if)#")
    assert f"interface {canonical}\r\n description via abbreviation\r\n".encode() in out


def test_sh_ver_and_conf_t(en: Console) -> None:
    en.cmd("terminal length 0", b"R#")
    out = en.cmd("sh ver", b"\r\nR#")
    assert out.startswith(b"sh ver\r\nCisco IOS Software, 3800 Software (C3825-ADVENTERPRISEK9-M)")
    assert out.endswith(b"Configuration register is 0x2102\r\n\r\nR#")
    assert en.cmd("conf t", b"#") == b"conf t\r\n" + BANNER + b"R(config)#"


# --------------------------------------------------------------------------- errors


def test_caret_under_the_first_bad_character_of_a_keyword(cfg: Console) -> None:
    # "hostna" matches hostname; the caret goes under the second n: len("R(config)#") + 6.
    assert cfg.cmd("hostnane S1", b"R(config)#") == (
        b"hostnane S1\r\n" + b" " * 16 + b"^\r\n% Invalid input detected at '^' marker.\r\n"
        b"\r\nR(config)#"
    )


def test_caret_in_exec(en: Console) -> None:
    # len("R#") + len("show vers") = 11
    assert en.cmd("show versoin", b"R#") == (
        b"show versoin\r\n" + b" " * 11 + b"^\r\n% Invalid input detected at '^' marker.\r\n\r\nR#"
    )


def test_privileged_command_in_user_exec_is_invalid(con: Console) -> None:
    assert con.cmd("configure terminal", b"R>") == (
        b"configure terminal\r\n  ^\r\n% Invalid input detected at '^' marker.\r\n\r\nR>"
    )


def test_incomplete_command(cfg: Console) -> None:
    assert cfg.cmd("logging", b"R(config)#") == (
        b"logging\r\n% Incomplete command.\r\n\r\nR(config)#"
    )


def test_ambiguous_command(cfg: Console) -> None:
    assert cfg.cmd("i", b"R(config)#") == b'i\r\n% Ambiguous command:  "i"\r\nR(config)#'


# --------------------------------------------------------------------------- ? and Tab


def test_question_mark_after_a_space_lists_two_columns(en: Console) -> None:
    en.send("show ?")
    out = en.until(b"\r\n\r\nR#show ")
    lines = out.split(b"\r\n")
    assert lines[0] == b"show ?"
    entries = lines[1:-2]
    assert lines[-2:] == [b"", b"R#show "]
    assert len(entries) > 5 and all(line.startswith(b"  ") for line in entries)
    assert b"<cr>" not in out  # "show" alone is not a command
    words = [line.split()[0] for line in entries]
    assert words == sorted(words)
    assert b"version" in words and b"running-config" in words
    column = 2 + max(len(w) for w in words) + 2  # descriptions start here, aligned
    for line, word in zip(entries, words, strict=True):
        assert line[:column] == b"  " + word.ljust(column - 2)
        assert line[column : column + 1] not in (b" ", b"")
    # The redisplayed line is live: finishing it runs the command.
    en.send("clock\r")
    assert re.fullmatch(b"clock\r\n" + CLOCK + b"R#", en.until(b"R#"))


def test_question_mark_lists_cr_when_the_command_is_complete(en: Console) -> None:
    en.send("show version ?")
    assert en.until(b"R#show version ") == (
        b"show version ?\r\n  |  Output modifiers\r\n  <cr>\r\n\r\nR#show version "
    )


def test_question_mark_glued_to_a_word_lists_completions(en: Console) -> None:
    en.send("sh?")
    assert en.until(b"R#sh") == b"sh?\r\nshow\r\n\r\nR#sh"
    en.send("\x15co?")  # Ctrl-U, then a prefix with several words
    out = en.until(b"\r\n\r\nR#co")
    listing = out.split(b"\r\n")[1]
    words = listing.split(b"  ")
    assert len(words) >= 2 and all(w.startswith(b"co") for w in words)
    assert b"configure" in words and b"copy" in words


def test_question_mark_errors(en: Console) -> None:
    en.send("xyz?")
    assert en.until(b"R#xyz") == b"xyz?\r\n% Unrecognized command\r\nR#xyz"
    en.send("\x15show xyz ?")
    assert en.until(b"R#show xyz ") == (
        b"\x08\x08\x08   \x08\x08\x08show xyz ?\r\n" + b" " * 7 + b"^\r\n"
        b"% Invalid input detected at '^' marker.\r\n\r\nR#show xyz "
    )


def test_question_mark_in_the_middle_keeps_the_rest_of_the_line(en: Console) -> None:
    en.send("show ver\x02\x02\x02")  # Ctrl-B thrice: the cursor is after "show "
    assert en.until(b"show ver\x08\x08\x08") == b"show ver\x08\x08\x08"
    en.send("?")
    out = en.until(b"\r\n\r\nR#show ver\x08\x08\x08")
    assert out.startswith(b"ver?\r\n  ")  # the cursor went to the end of the line first
    en.send("\x05\r")  # Ctrl-E, Return: the whole line runs
    assert en.until(b"Cisco IOS Software").startswith(b"ver\r\n")


def test_tab_completes_a_unique_keyword(en: Console) -> None:
    en.send("conf\t")
    assert en.until(b"configure ") == b"conf" + b"igure "
    assert en.cmd("t", b"R(config)#") == b"t\r\n" + BANNER + b"R(config)#"
    en.send("int\t")
    assert en.until(b"interface ") == b"int" + b"erface "


def test_tab_on_an_ambiguous_word_redisplays_the_line(en: Console) -> None:
    en.send("c\t")
    assert en.until(b"\r\nR#c") == b"c\r\nR#c"


# --------------------------------------------------------------------------- modes


def test_ctrl_z_echoes_and_ends_configuration(cfg: Console) -> None:
    cfg.cmd("interface g0/0", b"R(config-if)#")
    end_config(cfg, "\x1a", b"^Z")


def test_ctrl_c_in_configuration_mode_ends_it(cfg: Console) -> None:
    cfg.cmd("line con 0", b"R(config-line)#")
    end_config(cfg, "exec\x03", b"exec^C")


def test_ctrl_c_in_exec_abandons_the_line(en: Console) -> None:
    en.send("show ver\x03")
    assert en.until(b"\r\nR#") == b"show ver^C\r\nR#"
    assert en.cmd("show privilege", b"R#") == (
        b"show privilege\r\nCurrent privilege level is 15\r\nR#"
    )


def test_do_runs_an_exec_command_and_stays(cfg: Console) -> None:
    cfg.cmd("int g0/0", b"R(config-if)#")
    assert cfg.cmd("do show privilege", b"#") == (
        b"do show privilege\r\nCurrent privilege level is 15\r\nR(config-if)#"
    )


def test_walk_up_leaves_the_sub_mode(cfg: Console) -> None:
    cfg.cmd("int g0/0", b"R(config-if)#")
    assert cfg.cmd("line con 0", b"#") == b"line con 0\r\nR(config-line)#"
    assert cfg.cmd("interface g0/1", b"#") == b"interface g0/1\r\nR(config-if)#"
    assert cfg.cmd("hostname S1", b"#") == b"hostname S1\r\nS1(config)#"


def test_hostname_changes_the_prompt(cfg: Console) -> None:
    assert cfg.cmd("hostname Edge-7", b"#") == b"hostname Edge-7\r\nEdge-7(config)#"
    assert cfg.cmd("int g0/0", b"#") == b"int g0/0\r\nEdge-7(config-if)#"
    end_config(cfg, prompt=b"Edge-7#")
    assert cfg.cmd("disable", b">") == b"disable\r\nEdge-7>"


def test_show_running_config_header_and_footer(en: Console) -> None:
    en.cmd("terminal length 0", b"R#")
    out = en.cmd("show running-config", b"\r\nR#")
    head = re.match(
        rb"show running-config\r\nBuilding configuration\.\.\.\r\n\r\n"
        rb"Current configuration : (\d+) bytes\r\n(!\r\n.*\r\nend\r\n)\r\nR#$",
        out,
        re.S,
    )
    assert head, out
    body = head.group(2).replace(b"\r\n", b"\n")
    assert int(head.group(1)) == len(body)
    assert body.startswith(b"!\n! No configuration change since last restart\nversion 15.1\n")
    assert b"\nhostname R\n" in body


def test_write_memory_then_reload_restores_the_saved_config(en: Console) -> None:
    en.cmd("configure terminal", b"R(config)#")
    en.cmd("interface g0/1", b"R(config-if)#")
    en.cmd("description kept across reload", b"R(config-if)#")
    end_config(en)
    saved = en.cmd("write memory", b"R#")
    assert saved == b"write memory\r\nBuilding configuration...\r\n[OK]\r\nR#"
    en.cmd("configure terminal", b"R(config)#")
    en.cmd("hostname Lost", b"Lost(config)#")
    en.send("end\r")
    en.until(CONFIG_I)
    assert en.cmd("reload", b"[yes/no]: ") == (
        b"reload\r\nSystem configuration has been modified. Save? [yes/no]: "
    )
    assert en.cmd("no", b"[confirm]") == b"no\r\nProceed with reload? [confirm]"
    en.send("\r")
    out = en.until(b"Press RETURN to get started!\r\n\r\n", timeout=60)
    assert re.match(
        rb"\r\n\r\n" + STAMP + rb"%SYS-5-RELOAD: Reload requested by console\. Reload Reason: "
        rb"Reload Command\.\r\n\r\nSystem Bootstrap, Version 12\.3\(11r\)T2",
        out,
    )
    assert b"con0 is now available" not in out  # a reload is not a logout
    assert b"Cisco IOS Software, 3800 Software" in out and b"Restricted Rights Legend" in out
    assert MORE not in out  # boot text is never paged
    en.until(b"%SYS-5-RESTART: System restarted --\r\n")
    en.send("\r")
    en.until(b"\r\nR>")  # the saved hostname, not "Lost"
    en.cmd("enable", b"R#")
    en.cmd("terminal length 0", b"R#")
    out = en.cmd("show running-config interface GigabitEthernet0/1", b"\r\nR#")
    assert b" description kept across reload\r\n" in out


# --------------------------------------------------------------------------- paging


def _running_config_lines(c: Console) -> list[bytes]:
    c.cmd("terminal length 0", b"R#")
    out = c.cmd("show running-config", b"end\r\n\r\nR#")
    lines = out.split(b"\r\n")[1:-2]  # no echo, no empty line and prompt
    assert lines[-1] == b"end" and len(lines) > 46
    return lines


def test_more_pages_with_space_and_return(en: Console) -> None:
    lines = _running_config_lines(en)
    en.cmd("terminal length 24", b"R#")
    en.send("show running-config\r")
    first = en.until(MORE)
    assert first == b"show running-config\r\n" + b"\r\n".join(lines[:23]) + b"\r\n" + MORE
    en.send("\r")  # one more line
    assert en.until(MORE) == MORE_ERASE + lines[23] + b"\r\n" + MORE
    en.send(" ")  # one more page
    assert en.until(MORE) == MORE_ERASE + b"\r\n".join(lines[24:47]) + b"\r\n" + MORE
    en.send(" ")
    rest = en.until(b"\r\nR#")
    assert rest.startswith(MORE_ERASE + lines[47] + b"\r\n")
    assert rest.endswith(b"end\r\n\r\nR#") and MORE not in rest


def test_more_quits_on_q(en: Console) -> None:
    en.cmd("terminal length 24", b"R#")
    en.send("show running-config\r")
    en.until(MORE)
    en.send("q")
    assert en.until(b"R#") == MORE_ERASE + b"R#"
    assert en.cmd("show privilege", b"R#") == (
        b"show privilege\r\nCurrent privilege level is 15\r\nR#"
    )


def test_terminal_length_0_never_pauses(en: Console) -> None:
    assert en.cmd("terminal length 0", b"R#") == b"terminal length 0\r\nR#"
    out = en.cmd("show running-config", b"end\r\n\r\nR#")
    assert MORE not in out and out.count(b"\r\n") > 46


def test_typeahead_answers_more_first(en: Console) -> None:
    """Keys typed ahead are read by whatever reads next, and ``--More--`` reads first."""
    en.cmd("terminal length 24", b"R#")
    en.send("show running-config\rshow clock\r")
    en.until(MORE)
    out = en.until(b"R#")  # "s" quit the pager; "how clock" is the next line
    assert out == MORE_ERASE + b"R#"
    out = en.until(b"\r\nR#")
    assert out.startswith(b"how clock\r\n") and b"% " in out


# --------------------------------------------------------------------------- log messages


def test_log_message_breaks_into_the_line(cfg: Console) -> None:
    # "end" and the start of the next command arrive together: the log message of "end"
    # comes out after "sh" was echoed, on its own line, and typing goes on below it.
    cfg.send("end\rsh")
    out = cfg.until(CONFIG_I)
    assert re.fullmatch(b"end\r\nR#sh\r\n" + STAMP + re.escape(CONFIG_I), out), out
    cfg.send("ow privilege\r")
    assert cfg.until(b"R#") == b"ow privilege\r\nCurrent privilege level is 15\r\nR#"


def test_logging_synchronous_reprints_prompt_and_typed_text(cfg: Console) -> None:
    cfg.cmd("line con 0", b"R(config-line)#")
    cfg.cmd("logging synchronous", b"R(config-line)#")
    cfg.send("end\rsh")
    out = cfg.until(CONFIG_I)
    assert re.fullmatch(b"end\r\nR#sh\r\n" + STAMP + re.escape(CONFIG_I), out), out
    assert cfg.until(b"R#sh") == b"R#sh"
    cfg.send("ow privilege\r")
    assert cfg.until(b"R#") == b"ow privilege\r\nCurrent privilege level is 15\r\nR#"


# --------------------------------------------------------------------------- line editing


def test_typeahead_while_a_command_runs(en: Console) -> None:
    en.cmd("terminal length 0", b"R#")
    en.send("show version\rshow privilege\r")
    out = en.until(b"Current privilege level is 15\r\nR#")
    # The second line is echoed only when the prompt has been printed for it.
    assert out.endswith(
        b"Configuration register is 0x2102\r\n\r\nR#show privilege\r\n"
        b"Current privilege level is 15\r\nR#"
    )


def test_backspace(en: Console) -> None:
    en.send("shox\x7fw privilege\r")  # DEL, as telnet clients send for Backspace
    assert en.until(b"R#") == b"shox\x08 \x08w privilege\r\nCurrent privilege level is 15\r\nR#"
    en.send("show privx\x08ilege\r")  # BS works the same
    assert en.until(b"R#") == (b"show privx\x08 \x08ilege\r\nCurrent privilege level is 15\r\nR#")


def test_ctrl_u_erases_the_line(en: Console) -> None:
    en.send("garbage\x15show privilege\r")
    assert en.until(b"R#") == (
        b"garbage"
        + b"\x08" * 7
        + b" " * 7
        + b"\x08" * 7
        + b"show privilege\r\nCurrent privilege level is 15\r\nR#"
    )


def test_history_with_ctrl_p_and_ctrl_n(en: Console) -> None:
    en.cmd("show privilege", b"R#")
    en.cmd("terminal length 0", b"R#")
    en.send("\x10")
    assert en.until(b"terminal length 0") == b"terminal length 0"
    en.send("\x10")
    erase = b"\x08" * 17 + b" " * 17 + b"\x08" * 17
    assert en.until(b"show privilege") == erase + b"show privilege"
    en.send("\r")
    assert en.until(b"R#") == b"\r\nCurrent privilege level is 15\r\nR#"


@pytest.mark.parametrize("enter", [b"\r", b"\n", b"\r\n", b"\r\x00"])
def test_each_line_end_is_one_enter(en: Console, enter: bytes) -> None:
    for _ in range(2):
        en.send(b"show privilege" + enter)
        # A second Enter would show up as an extra prompt before the next echo.
        assert en.until(b"R#") == b"show privilege\r\nCurrent privilege level is 15\r\nR#"


def test_telnet_commands_inside_typed_text_are_ignored(en: Console) -> None:
    """netmiko checks a connection with IAC NOP; option requests get a refusal."""
    en.send(b"show\xff\xf1 privilege\r")
    assert en.until(b"R#") == b"show privilege\r\nCurrent privilege level is 15\r\nR#"
    en.send(b"\xff\xfb\x1f")  # IAC WILL NAWS
    assert en.until(b"\xff\xfe\x1f") == b"\xff\xfe\x1f"  # IAC DONT NAWS


def test_arrow_keys_and_other_escape_sequences(en: Console) -> None:
    en.cmd("show privilege", b"R#")
    en.send("\x1b[A")  # Up: the last command
    assert en.until(b"show privilege") == b"show privilege"
    en.send("\x1b[D\x1b[D\x1b[3~\x1b[C\x1b[C\r")  # Left, Left, Delete (ignored), Right, Right
    assert en.until(b"R#") == b"\x08\x08ge\r\nCurrent privilege level is 15\r\nR#"


def test_ctrl_r_redisplays_the_line(en: Console) -> None:
    en.send("show priv\x02\x12")  # Ctrl-B, then Ctrl-R: the line again, the cursor kept
    assert en.until(b"\r\nR#show priv\x08") == b"show priv\x08\r\nR#show priv\x08"
    en.send("\x05ilege\r")
    assert en.until(b"R#") == b"vilege\r\nCurrent privilege level is 15\r\nR#"
