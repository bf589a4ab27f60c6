"""``nvram:`` and ``flash:`` of a router: real directories in the lab's state directory.

Writes are atomic (temporary file, fsync, rename), so a router killed in the middle of
``write memory`` keeps either the old file or the new one. Names are flat and checked, so
nothing outside the router's own directory can be reached from the command line.

A file system that is not ``durable`` skips the fsyncs (the rename stays, so a killed
process still leaves the old file or the new one): a lab in a temporary directory, removed
when it closes, has nothing to keep through a host crash, and fsync costs milliseconds of
wall time per ``write memory`` in tests and transcript replays.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


class FileSystemError(Exception):
    """A file operation that IOS would refuse; the text is IOS's message."""


@dataclass(frozen=True)
class FileEntry:
    name: str
    size: int
    modified: datetime | None
    # A file the router shows but that is not stored here (the IOS image in flash).
    builtin: bool = False


def valid_name(name: str) -> bool:
    return (
        bool(name)
        and len(name) <= 255
        and name not in (".", "..")
        and "/" not in name
        and "\\" not in name
        and all(ch.isprintable() and ch not in "\x00" for ch in name)
    )


class FileSystem:
    def __init__(
        self,
        prefix: str,
        root: Path,
        size: int,
        builtin: list[FileEntry] | None = None,
        durable: bool = True,
    ) -> None:
        self.prefix = prefix  # "nvram"
        self.root = root
        self.size = size
        self.builtin = {e.name: e for e in builtin or []}
        self.durable = durable
        root.mkdir(parents=True, exist_ok=True)
        # A process killed in the middle of a write leaves its temporary file; only this
        # router's process writes here, so at power-on such files are garbage.
        for stale in root.glob(".tmp-*"):
            stale.unlink(missing_ok=True)

    def _path(self, name: str) -> Path:
        if not valid_name(name):
            raise FileSystemError(f"%Error opening {self.prefix}:{name} (Invalid argument)")
        return self.root / name

    def exists(self, name: str) -> bool:
        return name in self.builtin or (valid_name(name) and self._path(name).is_file())

    def read(self, name: str) -> bytes:
        if name in self.builtin:
            raise FileSystemError(f"%Error opening {self.prefix}:{name} (Permission denied)")
        path = self._path(name)
        if not path.is_file():
            raise FileSystemError(
                f"%Error opening {self.prefix}:{name} (No such file or directory)"
            )
        return path.read_bytes()

    def write(self, name: str, data: bytes) -> None:
        path = self._path(name)
        if name in self.builtin:
            raise FileSystemError(f"%Error opening {self.prefix}:{name} (Permission denied)")
        old = path.stat().st_size if path.is_file() else 0
        if self.used() - old + len(data) > self.size:
            raise FileSystemError(f"%Error writing {self.prefix}:{name} (No space left on device)")
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                if self.durable:
                    f.flush()
                    os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        if not self.durable:
            return
        dir_fd = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def append(self, name: str, data: bytes) -> None:
        """Add ``data`` at the end of an existing file, in place: a log that grows a line at
        a time need not be rewritten whole. Not atomic: a kill can leave part of ``data``,
        so callers append self-delimiting records and ignore a torn last one."""
        path = self._path(name)
        if name in self.builtin:
            raise FileSystemError(f"%Error opening {self.prefix}:{name} (Permission denied)")
        if not path.is_file():
            raise FileSystemError(
                f"%Error opening {self.prefix}:{name} (No such file or directory)"
            )
        if self.used() + len(data) > self.size:
            raise FileSystemError(f"%Error writing {self.prefix}:{name} (No space left on device)")
        with open(path, "ab") as f:
            f.write(data)
            if self.durable:
                # The file exists, so its own fsync covers the new size; no directory fsync.
                f.flush()
                os.fsync(f.fileno())

    def tail(self, name: str, size: int) -> bytes:
        """The last ``size`` bytes of a file (fewer if it is shorter)."""
        path = self._path(name)
        if name in self.builtin or not path.is_file():
            raise FileSystemError(
                f"%Error opening {self.prefix}:{name} (No such file or directory)"
            )
        with open(path, "rb") as f:
            end = f.seek(0, os.SEEK_END)
            f.seek(max(end - size, 0))
            return f.read()

    def delete(self, name: str) -> None:
        if name in self.builtin:
            raise FileSystemError(f"%Error deleting {self.prefix}:{name} (Permission denied)")
        path = self._path(name)
        if not path.is_file():
            raise FileSystemError(
                f"%Error deleting {self.prefix}:{name} (No such file or directory)"
            )
        path.unlink()

    def listing(self) -> list[FileEntry]:
        out = list(self.builtin.values())
        for path in sorted(self.root.iterdir()):
            if path.is_file() and not path.name.startswith(".tmp-") and valid_name(path.name):
                st = path.stat()
                out.append(
                    FileEntry(path.name, st.st_size, datetime.fromtimestamp(st.st_mtime, UTC))
                )
        return out

    def used(self) -> int:
        # listing()'s files, summed without its sort, dates and second stat per file: every
        # write asks, and a CA's database grows a file per certificate.
        total = sum(e.size for e in self.builtin.values())
        with os.scandir(self.root) as entries:
            for entry in entries:
                name = entry.name
                if entry.is_file() and not name.startswith(".tmp-") and valid_name(name):
                    total += entry.stat().st_size
        return total

    def free(self) -> int:
        return max(self.size - self.used(), 0)

    def wipe(self) -> None:
        for e in self.listing():
            if not e.builtin:
                (self.root / e.name).unlink()
