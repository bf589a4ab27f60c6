"""Parser and console fuzzing in every mode: only IOS's ``%`` messages, no tracebacks.

tests/unit/test_fuzz.py holds the machinery (every mode reached by typing, lines from
random walks over each mode's graph, mutations, random tokens, control characters,
Unicode, 10k-character lines, and the rule that a rejected line leaves the running
configuration unchanged). Here it is driven two more ways:

* mixed sequences: every kind of line one after another in one session, across modes;
* bytes at the console: what a telnet client may send (control characters, escape
  sequences, invalid UTF-8, very long lines) through the byte-exact line discipline,
  after which the console still answers.

Short run: a few dozen examples. Long run (``IOSEMU_LONG=1``): thousands; the numbers
are in docs/robustness.md.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator

import pytest
import test_fuzz
from helpers import ROUTER, fresh_lab
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from robust import record, size
from test_fuzz import no_logged_errors  # noqa: F401 (autouse: no handler or timer raised)

from iosemu.api import Lab
from iosemu.console.ios import IosConsole

COUNTS: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def _record() -> Iterator[None]:
    yield
    record("parser", **COUNTS)


def fuzz_settings(short: int, long: int) -> settings:
    return settings(
        max_examples=size(short, long),
        deadline=None,
        derandomize=True,  # the short run is the same every time
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


@st.composite
def any_line(draw: st.DrawFn, place: test_fuzz.Place) -> str:
    return draw(
        st.one_of(
            test_fuzz.real_lines(place),
            test_fuzz.token_lines(place),
            test_fuzz.garbage_lines,
            st.sampled_from(test_fuzz.LONG_LINES),
        )
    )


@fuzz_settings(12, 3000)
@given(data=st.data())
def test_mixed_lines_in_one_session(data: st.DataObject) -> None:
    place = data.draw(test_fuzz.place_strategy, label="place")
    lines = data.draw(st.lists(any_line(place), min_size=1, max_size=12), label="lines")
    with fresh_lab() as lab:
        outcomes = test_fuzz.run_lines(lab, place, lines, one_session=True)
    COUNTS["lines"] += len(outcomes)
    COUNTS["rejected"] += sum(o.rejected for o in outcomes)


# --------------------------------------------------------------------------- bytes

ESCAPES = [b"\x1b[A", b"\x1b[B", b"\x1b[C", b"\x1b[D", b"\x1b[3~", b"\x1bb", b"\x1bf", b"\x1b"]
console_bytes = st.one_of(
    st.binary(max_size=120),
    st.text(max_size=60).map(str.encode),
    st.lists(st.sampled_from([*ESCAPES, b"\x03", b"\x1a", b"\t", b"?", b"\r", b"\x15"])).map(
        b"".join
    ),
    st.sampled_from([b"x" * 10_000, b"\xff" * 5_000, "é".encode() * 4_000, b"\x00" * 3_000]),
)


def console_answers(lab: Lab, console: IosConsole, seen: bytearray) -> bool:
    """After whatever came before, Ctrl-C, Ctrl-Z and Return get back to a prompt that
    answers ``show privilege``."""
    for _ in range(3):  # out of a dialog, a sub-mode, a --More--, Press RETURN
        console.feed(b"\x03\r\x1a\r")
        lab.run(asyncio.sleep(120))
    mark = len(seen)
    console.feed(b"show privilege\r")
    lab.run(asyncio.sleep(120))
    return b"Current privilege level is" in bytes(seen[mark:])


@fuzz_settings(10, 1500)
@given(chunks=st.lists(console_bytes, min_size=1, max_size=6))
def test_bytes_at_the_console(chunks: list[bytes]) -> None:
    with fresh_lab() as lab:
        console = lab.consoles[ROUTER]
        terminal = console.terminal
        assert isinstance(terminal, IosConsole)
        seen = bytearray()
        terminal.attach(seen.extend)
        terminal.feed(b"\r")
        for chunk in chunks:
            # Lines that reload or erase would end the session the test is watching.
            if any(word in chunk.lower() for word in (b"reload", b"erase", b"delete")):
                continue
            terminal.feed(chunk + b"\r")
            lab.run(asyncio.sleep(120))
            COUNTS["console chunks"] += 1
            COUNTS["console bytes"] += len(chunk)
        text = bytes(seen).decode(errors="replace")
        assert "Traceback" not in text and "Internal error" not in text, text[-2000:]
        assert console_answers(lab, terminal, seen), bytes(seen[-2000:])
