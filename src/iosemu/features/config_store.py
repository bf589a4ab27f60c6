"""Saving and showing configurations: running-config, startup-config in NVRAM, reload.

``write memory`` and ``copy running-config startup-config`` store the rendered running
configuration in ``nvram:startup-config``; a reload feeds it back through the parser.
"""

from __future__ import annotations

import asyncio

from iosemu.device.filesystem import FileSystemError
from iosemu.device.router import Router
from iosemu.features.running_config import config_body, config_text, running_config
from iosemu.parser.grammar import EXEC, command
from iosemu.session import CommandError, Ctx, SessionEnded

# Lab seconds between the reload confirmation and the router going down.
RELOAD_GRACE = 0.5


def save_startup(router: Router) -> None:
    """Write the running configuration to NVRAM (raises FileSystemError when it cannot)."""
    previous = router.config_saved_at
    router.config_saved_at = router.clock.utc()
    router.saving = True
    try:
        text = config_text(config_body(router))
    finally:
        router.saving = False
    try:
        router.nvram.write("startup-config", text.encode())
    except FileSystemError:
        router.config_saved_at = previous
        raise
    router.config_modified = False
    for feature in router.features.values():
        feature.saved()


def _save(ctx: Ctx) -> None:
    ctx.print("Building configuration...")
    try:
        save_startup(ctx.router)
    except FileSystemError as e:
        raise CommandError(str(e)) from None
    ctx.print("[OK]")


@command(
    EXEC,
    "show running-config [interface INTERFACE$name]",
    help="|Current operating configuration|Show interface configuration",
)
def show_running_config(ctx: Ctx, name: str | None = None) -> None:
    if name is None:
        ctx.write(running_config(ctx.router) + "\n")
        return
    from iosemu.features.interfaces import Interfaces

    interfaces = ctx.feature(Interfaces)
    if name not in interfaces.interfaces:
        raise CommandError(" " * 0 + "% Invalid input detected at '^' marker.")
    lines = ["!", f"interface {name}", *interfaces.block(interfaces.interfaces[name]), "end"]
    body = config_text(lines)
    ctx.write(
        f"Building configuration...\n\nCurrent configuration : {len(body) - 2} bytes\n{body}\n"
    )


@command(EXEC, "show startup-config", help="|Contents of startup configuration")
def show_startup_config(ctx: Ctx) -> None:
    nvram = ctx.router.nvram
    if not nvram.exists("startup-config"):
        ctx.print("startup-config is not present")
        return
    data = nvram.read("startup-config")
    ctx.write(f"Using {len(data)} out of {nvram.size} bytes\n{data.decode(errors='replace')}\n")


@command(
    EXEC,
    "write [memory]",
    help="Write running configuration to memory, network, or terminal|Write to NV memory",
)
def write_memory(ctx: Ctx) -> None:
    _save(ctx)


@command(EXEC, "write terminal", help="|Write to terminal")
def write_terminal(ctx: Ctx) -> None:
    ctx.write(running_config(ctx.router) + "\n")


@command(EXEC, "write erase", help="|Erase NV memory")
async def write_erase(ctx: Ctx) -> None:
    await _erase(ctx)


@command(
    EXEC,
    "erase {startup-config|nvram:}$what",
    help="Erase a filesystem|Erase contents of configuration memory|Erase nvram: filesystem",
)
async def erase(ctx: Ctx, what: str) -> None:
    await _erase(ctx)


async def _erase(ctx: Ctx) -> None:
    if not await ctx.confirm(
        "Erasing the nvram filesystem will remove all configuration files! Continue? [confirm]"
    ):
        return
    router = ctx.router
    router.nvram.wipe()
    router.config_modified = True
    ctx.print("[OK]", "Erase of nvram: complete")
    router.log.log("SYS", 7, "NV_BLOCK_INIT", "Initialized the geometry of nvram")


@command(
    EXEC,
    "copy running-config startup-config",
    help="Copy from one file to another|Copy from current system configuration|"
    "Copy to startup configuration",
)
async def copy_run_start(ctx: Ctx) -> None:
    answer = await ctx.ask("Destination filename [startup-config]? ")
    if answer.strip() not in ("", "startup-config"):
        raise CommandError(f"%Error opening nvram:{answer.strip()} (Permission denied)")
    _save(ctx)


@command(
    EXEC,
    "copy startup-config running-config",
    help="|Copy from startup configuration|Update (merge with) current system configuration",
)
async def copy_start_run(ctx: Ctx) -> None:
    from iosemu.boot import load_config

    answer = await ctx.ask("Destination filename [running-config]? ")
    if answer.strip() not in ("", "running-config"):
        raise CommandError("%Error: invalid destination")  # invented
    router = ctx.router
    if not router.nvram.exists("startup-config"):
        raise CommandError("%Error opening nvram:/startup-config (No such file or directory)")
    data = router.nvram.read("startup-config")
    await load_config(router, data.decode(errors="replace"), ctx.session.terminal.output)
    router.mark_config_changed(ctx.session.source)
    ctx.print(f"{len(data)} bytes copied in 0.100 secs ({len(data) * 10} bytes/sec)")
    router.log.log("SYS", 5, "CONFIG_I", f"Configured from memory by {ctx.session.source}")


@command(EXEC, "reload", help="Halt and perform a cold restart")
async def reload(ctx: Ctx) -> None:
    router = ctx.router
    if router.config_modified:
        save = await ctx.yes_no("System configuration has been modified. Save? [yes/no]: ")
        while save is None:
            ctx.print("% Please answer 'yes' or 'no'.")
            save = await ctx.yes_no("System configuration has been modified. Save? [yes/no]: ")
        if save:
            _save(ctx)
    if not await ctx.confirm("Proceed with reload? [confirm]"):
        return
    ctx.print("")
    router.log.log(
        "SYS",
        5,
        "RELOAD",
        f"Reload requested by {ctx.session.source}. Reload Reason: Reload Command.",
    )
    await asyncio.sleep(RELOAD_GRACE)
    router.reload("reload")
    raise SessionEnded("reload")
