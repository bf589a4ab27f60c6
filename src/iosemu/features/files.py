"""File system commands: ``dir``, ``more``, ``delete`` on ``nvram:`` and ``flash:``."""

from __future__ import annotations

from datetime import datetime

from iosemu.device.clock import MONTHS
from iosemu.device.filesystem import FileSystem, FileSystemError
from iosemu.device.router import Router
from iosemu.parser.grammar import EXEC, command
from iosemu.session import CommandError, Ctx


def file_system(router: Router, prefix: str) -> FileSystem | None:
    return {"nvram": router.nvram, "flash": router.flash}.get(prefix.lower())


def parse_url(router: Router, url: str, default: str = "flash") -> tuple[FileSystem, str]:
    """``nvram:startup-config``, ``flash:/x`` or a bare name on the default file system."""
    prefix, colon, name = url.partition(":")
    if not colon:
        prefix, name = default, url
    fs = file_system(router, prefix)
    if fs is None:
        raise CommandError(f"%Error opening {url} (Invalid argument)")
    return fs, name.lstrip("/")


def _date(when: datetime | None) -> str:
    if when is None:
        return "<no date>"
    return f"{MONTHS[when.month - 1]} {when.day} {when.year} {when:%H:%M:%S} +00:00"


@command(
    EXEC,
    "dir [nvram:|flash:]$fs",
    help="List files on a filesystem|Directory or file name|Directory or file name",
    priv=15,
)
def dir_cmd(ctx: Ctx, fs: str = "flash:") -> None:
    target = file_system(ctx.router, fs.rstrip(":"))
    assert target is not None
    ctx.print(f"Directory of {target.prefix}:/", "")
    entries = target.listing()
    for index, entry in enumerate(entries, start=1):
        perm = "-rw-"
        date = "<no date>" if target.prefix == "nvram" else _date(entry.modified)
        ctx.print(f"{index:>5}  {perm}  {entry.size:>10}  {date:>26}  {entry.name}")
    if not entries:
        ctx.print("No files in directory")
    ctx.print("", f"{target.size} bytes total ({target.free()} bytes free)")


@command(EXEC, "more WORD$url", help="Display the contents of a file|File to display")
def more(ctx: Ctx, url: str) -> None:
    fs, name = parse_url(ctx.router, url)
    try:
        data = fs.read(name)
    except FileSystemError as e:
        raise CommandError(str(e)) from None
    text = data.decode(errors="replace")
    ctx.write(text if text.endswith("\n") or not text else text + "\n")


@command(EXEC, "delete WORD$url", help="Delete a file|File to delete")
async def delete(ctx: Ctx, url: str) -> None:
    fs, name = parse_url(ctx.router, url)
    answer = (await ctx.ask(f"Delete filename [{name}]? ")).strip()
    if answer:
        name = answer.lstrip("/")
    if not fs.exists(name):
        raise CommandError(f"%Error deleting {fs.prefix}:/{name} (No such file or directory)")
    if not await ctx.confirm(f"Delete {fs.prefix}:/{name}? [confirm]"):
        return
    try:
        fs.delete(name)
    except FileSystemError as e:
        raise CommandError(str(e)) from None
