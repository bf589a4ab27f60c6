"""Booting a router: ROM monitor text, image load, the startup-config through the parser.

This is the procedure every router runs at power-on and at ``reload``. Its text is that of
a 3825 booting 15.1(3)T, shortened where a real boot prints pages of the same.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from iosemu.device.router import Router
from iosemu.features.system import EXPORT_NOTICE, VERSION_BANNER, System
from iosemu.parser.grammar import CONFIG
from iosemu.session import Session

# Lab seconds from power-on to the image running; real ISRs take minutes.
BOOT_DELAY = 2.0

ROM_TEXT = """
System Bootstrap, Version 12.3(11r)T2, RELEASE SOFTWARE (fc1)
Technical Support: http://www.cisco.com/techsupport
Copyright (c) 2005 by cisco Systems, Inc.

Initializing memory for ECC
..
c3825 platform with 524288 Kbytes of main memory
Main memory is configured to 64 bit mode with ECC enabled

Upgrade ROMMON initialized
program load complete, entry point: 0x8000f000, size: 0xcb80
program load complete, entry point: 0x8000f000, size: 0xcb80

program load complete, entry point: 0x8000f000, size: 0x2e2c4c4
Self decompressing the image : ################################################## [OK]
"""

LEGEND = """
              Restricted Rights Legend

Use, duplication, or disclosure by the Government is
subject to restrictions as set forth in subparagraph
(c) of the Commercial Computer Software - Restricted
Rights clause at FAR sec. 52.227-19 and subparagraph
(c) (1) (ii) of the Rights in Technical Data and Computer
Software clause at DFARS sec. 252.227-7013.

           cisco Systems, Inc.
           170 West Tasman Drive
           San Jose, California 95134-1706

"""


def hardware_lines(router: Router) -> list[str]:
    return [
        "Installed image archive",
        "Cisco 3825 (revision 1.1) with 479232K/45056K bytes of memory.",
        f"Processor board ID {router.feature(System).board_id}",
        "2 Gigabit Ethernet interfaces",
        "1 Virtual Private Network (VPN) Module",
        "DRAM configuration is 64 bits wide with parity enabled.",
        "479K bytes of NVRAM.",
        "62720K bytes of ATA System CompactFlash (Read/Write)",
    ]


class _BootTerminal:
    """What the startup-config session prints goes to the console; it asks nothing."""

    def __init__(self, console_write: Callable[[str], None]) -> None:
        self.write = console_write

    def output(self, text: str) -> None:
        self.write(text)

    async def drain(self) -> None:
        return None

    async def ask(self, prompt: str, echo: bool = True) -> str:
        return ""

    async def ask_key(self, prompt: str) -> str:
        return "n"

    def show_log(self, text: str) -> None:
        return None


def apply_config(router: Router, text: str, write: Callable[[str], None]) -> Session:
    """Feed configuration lines through the parser, as at boot; returns the session used."""
    session = Session(router, _BootTerminal(write), line="con 0", privilege=15, booting=True)
    session.enter(CONFIG)
    return session


async def load_config(router: Router, text: str, write: Callable[[str], None]) -> None:
    session = apply_config(router, text, write)
    for line in text.splitlines():
        if session.mode.name == "exec":
            session.enter(CONFIG)
        await session.execute(line)


# Things the lab does to a freshly built router before its config loads (cables...).
BuildHook = Callable[[Router], None]


async def boot(
    router: Router, build_hooks: list[BuildHook], boot_delay: float = BOOT_DELAY
) -> None:
    """The whole boot: used as the router's booter."""
    console = router.console

    def write(text: str) -> None:
        if console is not None:
            console.write(text)

    if console is not None:
        console.stop()
    write(ROM_TEXT)
    await asyncio.sleep(boot_delay)
    router.build_features()
    for hook in build_hooks:
        hook(router)
    write(
        LEGEND
        + "\n".join([*VERSION_BANNER, "", *EXPORT_NOTICE, "", *hardware_lines(router)])
        + "\n"
    )
    if router.nvram.exists("startup-config"):
        text = router.nvram.read("startup-config").decode(errors="replace")
        await load_config(router, text, write)
    router.config_changed_at = None
    router.config_modified = False
    if console is not None:
        console.start()
    router.log.log("SYS", 5, "RESTART", "System restarted --\n" + "\n".join(VERSION_BANNER))
    for feature in router.features.values():
        feature.started()
