"""Where a certificate server keeps its database: ``database url`` and ``database level``.

A URL is ``nvram:``, ``flash:`` (optionally with a directory), or ``tftp://HOST/PATH`` /
``ftp://[user[:pass]@]HOST/PATH``. Network URLs are a store of the lab: a directory per
host under ``<lab state>/servers/``, which every router of the lab reaches, so two CA
servers can share it as the guide recommends for ``database level complete``. Files are
written atomically. The serial file is ours (IOS's own format is not published): a text
header with the last serial, then one JSON line per pending or granted request, then a
journal of changes appended since (a request's new record, or a new last serial) that the
next compaction folds into a fresh atomic rewrite. An append is one write of whole lines,
so a kill leaves at most a torn last line, which reading ignores.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from iosemu.device.filesystem import FileSystem, FileSystemError, valid_name
from iosemu.device.router import Router

FILE_KINDS = ("cnm", "crl", "crt", "p12", "pem", "ser")

_NETWORK = re.compile(
    r"^(?P<scheme>tftp|ftp)://(?:[^@/]*@)?(?P<host>[A-Za-z0-9.-]+)(?P<path>/[^\s]*)?$"
)


class StoreError(Exception):
    """The database location cannot be used; the text is the IOS-style message."""


def check_url(url: str) -> None:
    """Raise StoreError for a URL the server cannot use."""
    if url.rstrip("/") in ("nvram:", "flash:") or url.startswith("flash:/"):
        return
    if _network_parts(url) is None:
        raise StoreError(f"% Invalid database url {url}")  # invented text


def _network_parts(url: str) -> tuple[str, list[str]] | None:
    """A network URL's host and path parts, None if it is none or would climb out of the
    lab's ``servers/`` directory (a host or a part that is ``.`` or ``..``)."""
    m = _NETWORK.match(url)
    if not m:
        return None
    host, parts = m.group("host"), [p for p in (m.group("path") or "").split("/") if p]
    if any(part in (".", "..") for part in (host, *parts)):
        return None
    return host, parts


@dataclass
class Location:
    """One database URL, resolved for reading and writing."""

    router: Router
    url: str

    def _local(self) -> tuple[FileSystem, str] | None:
        if self.url.startswith("nvram:"):
            return self.router.nvram, ""
        if self.url.startswith("flash:"):
            return self.router.flash, ""
        return None

    def _network_dir(self) -> Path:
        found = _network_parts(self.url)
        if found is None:
            raise StoreError(f"% Invalid database url {self.url}")
        host, parts = found
        return self.router.state_dir.parent.joinpath("servers", host, *parts)

    def write(self, name: str, data: bytes) -> None:
        if not valid_name(name):
            raise StoreError(f"% Invalid file name {name}")
        local = self._local()
        if local is not None:
            try:
                local[0].write(name, data)
            except FileSystemError as e:
                raise StoreError(str(e)) from None
            return
        directory = self._network_dir()
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, directory / name)

    def append(self, name: str, data: bytes) -> bool:
        """Append ``data`` (whole lines) to an existing file; False, writing nothing, when
        the file is missing or its last line is torn (appending would glue the new line
        to it): the caller rewrites the file instead."""
        if not valid_name(name):
            raise StoreError(f"% Invalid file name {name}")
        local = self._local()
        if local is not None:
            fs = local[0]
            try:
                if not fs.exists(name) or fs.tail(name, 1) != b"\n":
                    return False
                fs.append(name, data)
            except (FileSystemError, OSError) as e:
                raise StoreError(str(e)) from None
            return True
        path = self._network_dir() / name
        try:
            if not path.is_file():
                return False
            with open(path, "rb+") as f:
                if f.seek(0, os.SEEK_END) == 0:
                    return False
                f.seek(-1, os.SEEK_END)
                if f.read(1) != b"\n":
                    return False
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        except OSError as e:
            raise StoreError(str(e)) from None
        return True

    def read(self, name: str) -> bytes | None:
        if not valid_name(name):
            return None
        local = self._local()
        if local is not None:
            fs = local[0]
            try:
                return fs.read(name) if fs.exists(name) else None
            except FileSystemError:
                return None
        path = self._network_dir() / name
        return path.read_bytes() if path.is_file() else None

    def names(self) -> list[str]:
        local = self._local()
        if local is not None:
            return [e.name for e in local[0].listing() if not e.builtin]
        directory = self._network_dir()
        if not directory.is_dir():
            return []
        return sorted(
            p.name for p in directory.iterdir() if p.is_file() and not p.name.startswith(".")
        )


class Database:
    """The server's files by kind: each kind goes to its ``database url`` or the primary one."""

    def __init__(self, router: Router, primary: str, per_kind: dict[str, str]) -> None:
        self.router = router
        self.primary = Location(router, primary)
        self.per_kind = {kind: Location(router, url) for kind, url in per_kind.items()}

    def location(self, kind: str) -> Location:
        return self.per_kind.get(kind, self.primary)

    def write(self, kind: str, name: str, data: bytes) -> None:
        self.location(kind).write(name, data)

    def read(self, kind: str, name: str) -> bytes | None:
        return self.location(kind).read(name)

    def append(self, kind: str, name: str, data: bytes) -> bool:
        return self.location(kind).append(name, data)


# --------------------------------------------------------------------------- serial file


def serial_file(serial: int, requests: list[dict[str, object]]) -> bytes:
    """The compacted serial file: the header, then the request records."""
    lines = ["DB version 1", f"last issued serial number 0x{serial:X}"]
    lines += [json.dumps(r, sort_keys=True) for r in requests]
    return ("\n".join(lines) + "\n").encode()


def journal_request(record: dict[str, object]) -> bytes:
    """A journal line: a request's whole new record (state ``removed`` drops it)."""
    return (json.dumps(record, sort_keys=True) + "\n").encode()


def journal_serial(serial: int) -> bytes:
    """A journal line: the new last issued serial."""
    return (json.dumps({"last_serial": serial}) + "\n").encode()


def parse_serial_file(data: bytes) -> tuple[int, list[dict[str, object]]]:
    """(last serial, request records) with the journal applied; raises ValueError on a
    damaged file. A last line without its newline is an append a kill cut short: ignored."""
    lines = data.decode(errors="replace").split("\n")
    lines.pop()  # "" after the last newline, or the torn line
    if len(lines) < 2 or lines[0] != "DB version 1":
        raise ValueError("not a serial file")
    m = re.fullmatch(r"last issued serial number 0x([0-9A-Fa-f]+)", lines[1])
    if not m:
        raise ValueError("no serial number in the serial file")
    serial = int(m.group(1), 16)
    records: dict[int, dict[str, object]] = {}
    for line in lines[2:]:
        if not line.strip():
            continue
        entry = json.loads(line)
        if not isinstance(entry, dict):
            raise ValueError("not a record of the serial file")
        if "last_serial" in entry:
            serial = int(entry["last_serial"])
        elif entry.get("state") == "removed":
            records.pop(int(entry["id"]), None)
        else:
            records[int(entry["id"])] = entry
    return serial, list(records.values())
