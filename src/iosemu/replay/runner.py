"""Replaying transcripts: type each ``ios`` block into a fresh lab and compare the picture.

Each file gets its own lab on the virtual clock, booted and attached (every router at its
``Hostname>`` prompt). Lines are classified while the block runs: a line that starts with a
router's live prompt (or a waiting dialog's question) is typed, everything else is
expected output. The block's rendering is then aligned with the expected lines, wildcards
and all; a mismatch is a unified diff whose line numbers are the file's, and ``--update``
writes the rendering back while keeping input, directives and matched wildcards as written.
"""

from __future__ import annotations

import difflib
import re
import sys
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from iosemu.replay.console import Driver, LabError, ReplayTimeout, transcript_lab
from iosemu.replay.transcript import (
    Block,
    Pattern,
    Transcript,
    TranscriptError,
    align,
    load,
    strip_secrets,
)

# Wall-clock seconds one file may take before it is failed (the lab itself runs on virtual
# time; this only catches a lab that spins).
WALL_LIMIT = 60.0


@dataclass
class Expected:
    """An expected line of a block: how to match it, and the line as the writer wrote it."""

    pattern: Pattern
    source: str
    is_input: bool = False
    drawn_at: int | None = None  # for typed lines: the screen line that shows them


@dataclass
class BlockResult:
    block: Block
    source: list[str]  # the block's body as written (right-stripped)
    rendering: list[str]  # the body as the lab printed it (wildcard lines kept): for diffs
    update: list[str]  # what --update writes: the rendering, with typed lines as written
    passed: bool
    error: str | None = None  # the block could not finish (timeout, lab error, bad line)


@dataclass
class FileResult:
    path: Path
    transcript: Transcript | None = None
    blocks: list[BlockResult] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.error is None and all(b.passed for b in self.blocks)


# --------------------------------------------------------------------------- running


def _next_text_line(block: Block, index: int) -> str | None:
    for line in block.lines[index + 1 :]:
        if line.directive is None:
            return line.text.rstrip()
    return None


async def _run_block(driver: Driver, block: Block, path: Path) -> BlockResult:
    screen = driver.screen
    screen.clear()
    used: list[str] = []
    expected: list[Expected] = []
    # Lines that draw nothing, by the screen line they came before: directives (shown in
    # diffs too) and typed keys the router ignored (kept by --update only).
    anchors: list[tuple[int, str, bool]] = []
    error: str | None = None
    step = 0  # screen line where the current step (input or directive) began
    current: int | None = None
    try:
        for index, line in enumerate(block.lines):
            current = line.lineno
            text = line.text.rstrip()
            directive = line.directive
            if directive is not None:
                anchors.append((len(screen.lines), text, True))
                if directive.kind == "later":
                    await driver.advance(directive.seconds)
                elif directive.kind == "until":
                    await driver.until(directive.text, used or None, since=step)
                else:
                    assert directive.fault is not None
                    await driver.inject(directive.fault)
                step = len(screen.lines)
                continue
            hit = driver.match_input(text)
            if hit is None:
                off = driver.typed_while_off(text)
                if off is not None:
                    raise ValueError(
                        f"{off} is powered off: nothing can be typed into it until "
                        f"[... {off} is powered on ...]"
                    )
                expected.append(Expected(_pattern(text, path, line.lineno), text))
                continue
            router, rest = hit
            terminal = driver.terminal(router)
            kind = terminal.state.kind if terminal.state is not None else "command"
            if kind == "return":
                # The greeting is on screen already; this line also means "press Return",
                # so it is a fixed point like a typed line (``...`` stops there, --update
                # keeps it) when this block drew it.
                greeting = Expected(Pattern(text, literal=True), text, True)
                greeting.drawn_at = terminal.greeting_line()
                expected.append(greeting)
                if router not in used:
                    used.append(router)
                await driver.type(router, "")
                continue
            if rest == "":
                following = _next_text_line(block, index)
                idle_mark = following is None or driver.match_input(following) is None
                if kind != "command":
                    idle_mark = (
                        bool(terminal.pending)
                        and following is not None
                        and driver.match_input(following) is None
                    )
                if idle_mark:  # the bare prompt that pending messages are drawn after
                    expected.append(Expected(Pattern(text, literal=True), text))
                    continue
            typed = Expected(Pattern(strip_secrets(text), literal=True), text, True)
            expected.append(typed)
            step = len(screen.lines)
            if router not in used:
                used.append(router)
            await driver.type(router, rest, source=text)
            typed.drawn_at = next((k for k in sorted(screen.sources) if k >= step), None)
            if typed.drawn_at is None:
                anchors.append((len(screen.lines), text, False))
    except (ReplayTimeout, LabError, ValueError) as e:
        error = f"{path}:{current}: {e}"
    driver.flush(used)
    screen.finish_lines()
    source = [line.text.rstrip() for line in block.lines]
    # Blank lines at the very end of a block are invisible in Markdown: ignore them.
    actual = [line.rstrip() for line in screen.lines]
    while actual and not actual[-1]:
        actual.pop()
    while expected and expected[-1].pattern.kind == "literal" and not expected[-1].pattern.text:
        expected.pop()
    cost, rendering, update = compare(expected, actual, anchors)
    return BlockResult(block, source, rendering, update, error is None and cost == 0, error)


def _pattern(text: str, path: Path, lineno: int) -> Pattern:
    try:
        return Pattern(text)
    except ValueError as e:
        raise TranscriptError(str(e), path, lineno) from None


def compare(
    expected: Sequence[Expected],
    actual: Sequence[str],
    anchors: Sequence[tuple[int, str, bool]],
) -> tuple[int, list[str], list[str]]:
    """Line up a block's expected lines with the lab's; returns (cost, rendering, update).

    Typed lines are fixed points: each was drawn exactly once, at a known screen line, so
    the output between two of them is aligned on its own (``...`` never reaches past a typed
    line). Anchors (directives, keys that draw nothing) go back where they happened.
    """
    cost = 0
    rendering: list[str] = []
    update: list[str] = []
    todo = sorted(anchors, key=lambda a: a[0])
    next_anchor = 0

    def emit(shown: str, written: str | None = None) -> None:
        rendering.append(shown)
        update.append(shown if written is None else written)

    def anchors_before(j: int) -> None:
        nonlocal next_anchor
        while next_anchor < len(todo) and todo[next_anchor][0] <= j:
            _, text, shown = todo[next_anchor]
            update.append(text)
            if shown:
                rendering.append(text)
            next_anchor += 1

    def segment(e_lo: int, e_hi: int, a_lo: int, a_hi: int) -> int:
        part = expected[e_lo:e_hi]
        alignment = align([e.pattern for e in part], actual[a_lo:a_hi])
        dots_done: set[int] = set()
        for op, i, j in alignment.ops:
            if j >= 0:
                anchors_before(a_lo + j)
            if op == "match":
                keep = part[i].pattern.is_wildcard or part[i].is_input
                emit(part[i].source if keep else actual[a_lo + j])
            elif op == "ins":
                emit(actual[a_lo + j])
            elif op in ("absorb", "skip") and i not in dots_done:
                dots_done.add(i)
                emit(part[i].source)
        return alignment.cost

    e_lo = a_lo = 0
    for k, line in enumerate(expected):
        if not line.is_input or line.drawn_at is None or line.drawn_at < a_lo:
            continue
        cost += segment(e_lo, k, a_lo, line.drawn_at)
        anchors_before(line.drawn_at)
        drawn = actual[line.drawn_at]
        if not line.pattern.matches(drawn):
            cost += 1
        emit(drawn, line.source)
        e_lo, a_lo = k + 1, line.drawn_at + 1
    cost += segment(e_lo, len(expected), a_lo, len(actual))
    anchors_before(sys.maxsize)
    return cost, rendering, update


async def _run_transcript(driver: Driver, transcript: Transcript, result: FileResult) -> None:
    await driver.start()
    for block in transcript.blocks:
        outcome = await _run_block(driver, block, transcript.path)
        result.blocks.append(outcome)
        if outcome.error is not None:
            break


def run_file(path: Path | str, *, wall_limit: float = WALL_LIMIT) -> FileResult:
    """Replay one transcript on a fresh lab."""
    path = Path(path)
    started = time.monotonic()
    result = FileResult(path)
    try:
        transcript = load(path)
    except (OSError, UnicodeDecodeError, TranscriptError) as e:
        result.error = str(e)
        return result
    result.transcript = transcript
    if not transcript.blocks:
        return result
    driver: Driver | None = None
    try:
        driver = Driver(transcript_lab(transcript.lab_ref()), deadline=started + wall_limit)
        driver.lab.run(_run_transcript(driver, transcript, result))
        if driver.errors:
            result.error = "errors in the lab:\n" + "\n\n".join(driver.errors)
    except (ReplayTimeout, LabError) as e:
        result.error = f"{path}: {e}"
    except TranscriptError as e:
        result.error = str(e)
    except Exception:
        result.error = f"{path}: the replay failed:\n{traceback.format_exc().rstrip()}"
    finally:
        if driver is not None:
            driver.close()
        result.seconds = time.monotonic() - started
    return result


# --------------------------------------------------------------------------- reporting

_HUNK = re.compile(r"^@@ -(\d+)(,\d+)? \+(\d+)(,\d+)? @@")


def block_diff(path: Path, outcome: BlockResult) -> str:
    """A unified diff of the block (expected vs actual) numbered as lines of the file."""
    offset = outcome.block.body_start - 1
    lines = []
    for line in difflib.unified_diff(
        outcome.source,
        outcome.rendering,
        fromfile=f"{path}:{outcome.block.start} (expected)",
        tofile=f"{path}:{outcome.block.start} (actual)",
        lineterm="",
    ):
        m = _HUNK.match(line)
        if m:
            a, b, c, d = m.groups()
            line = f"@@ -{int(a) + offset}{b or ''} +{int(c) + offset}{d or ''} @@"
        lines.append(line)
    return "\n".join(lines)


def report(result: FileResult) -> str:
    """What a failing file prints: each failing block's diff, then any error."""
    parts: list[str] = []
    for outcome in result.blocks:
        if outcome.passed:
            continue
        diff = block_diff(result.path, outcome)
        if diff:
            parts.append(diff)
        if outcome.error:
            parts.append(outcome.error)
    if result.error:
        parts.append(result.error)
    if result.transcript is not None and len(result.blocks) < len(result.transcript.blocks):
        skipped = len(result.transcript.blocks) - len(result.blocks)
        parts.append(f"{result.path}: {skipped} later block(s) not run")
    return "\n".join(parts)


def update_file(result: FileResult) -> list[int]:
    """Write the actual output into the failing blocks; returns their opening lines."""
    transcript = result.transcript
    if transcript is None:
        return []
    bodies: dict[int, list[str]] = {}
    for index, outcome in enumerate(result.blocks):
        if not outcome.passed and outcome.error is None:
            bodies[index] = outcome.update
    if bodies:
        result.path.write_text(transcript.with_blocks_replaced(bodies), encoding="utf-8")
    return [result.blocks[i].block.start for i in sorted(bodies)]


def main(files: Sequence[str], update: bool = False) -> int:
    """``iosemu replay FILE...``: 0 when every transcript passes (or was updated cleanly)."""
    status = 0
    for name in files:
        result = run_file(name)
        blocks = len(result.blocks)
        timing = f"({blocks} block{'s' if blocks != 1 else ''}, {result.seconds:.2f} s)"
        if result.passed:
            print(f"PASS {name} {timing}")
            continue
        if update:
            changed = update_file(result)
            if changed:
                where = ", ".join(str(n) for n in changed)
                print(f"UPDATED {name} {timing}: blocks at line {where}")
            if result.error is None and all(b.error is None for b in result.blocks):
                continue
        print(f"FAIL {name} {timing}")
        text = report(result)
        if text:
            print(text)
        status = 1
    sys.stdout.flush()
    return status
