"""pytest collects transcripts: every ``*.md`` under a folder named ``transcripts`` is one test.

Registered as a ``pytest11`` entry point, so it is active wherever iosemu is installed;
it therefore claims nothing but Markdown files inside a ``transcripts`` folder (README.md
and docs elsewhere are left alone) and imports the lab only when a transcript runs.
``--update-transcripts`` rewrites failing blocks with the lab's output, as
``iosemu replay --update`` does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

TRANSCRIPT_DIR = "transcripts"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("iosemu")
    group.addoption(
        "--update-transcripts",
        action="store_true",
        default=False,
        help="write the lab's actual output into failing transcript blocks",
    )


def is_transcript(path: Path, root: Path | None = None) -> bool:
    """A ``.md`` file with a ``transcripts`` folder above it (below ``root``, if given)."""
    if path.suffix != ".md":
        return False
    if root is not None and path.is_relative_to(root):
        path = path.relative_to(root)
    return TRANSCRIPT_DIR in path.parent.parts


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if not is_transcript(file_path, parent.config.rootpath):
        return None
    return TranscriptFile.from_parent(parent, path=file_path)


class TranscriptFailed(Exception):
    """A transcript did not replay as written; the message is the report (diffs, errors)."""


class TranscriptFile(pytest.File):
    def collect(self) -> list[pytest.Item]:
        from iosemu.replay.transcript import TranscriptError, load

        try:
            transcript = load(self.path)
        except TranscriptError:
            pass  # reported by the item, where it fails like any other mistake
        else:
            if not transcript.blocks:
                return []
        return [TranscriptItem.from_parent(self, name=self.path.stem)]


class TranscriptItem(pytest.Item):
    def runtest(self) -> None:
        from iosemu.replay.runner import report, run_file, update_file

        result = run_file(self.path)
        if result.passed:
            return
        if self.config.getoption("update_transcripts"):
            update_file(result)
        raise TranscriptFailed(report(result))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, TranscriptFailed):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo, style))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"transcript {self.path.name}"
