"""The router's identity: ``hostname`` and ``show version``."""

from __future__ import annotations

import hashlib
import re

from iosemu.device.clock import uptime_text
from iosemu.device.router import IMAGE_NAME, Feature, Router
from iosemu.parser.grammar import CONFIG, EXEC, command
from iosemu.session import CommandError, Ctx

VERSION_BANNER = [
    "Cisco IOS Software, 3800 Software (C3825-ADVENTERPRISEK9-M), Version 15.1(3)T, "
    "RELEASE SOFTWARE (fc1)",
    "Technical Support: http://www.cisco.com/techsupport",
    "Copyright (c) 1986-2010 by Cisco Systems, Inc.",
    "Compiled Thu 18-Nov-10 04:07 by prod_rel_team",
]

EXPORT_NOTICE = [
    "This product contains cryptographic features and is subject to United",
    "States and local country laws governing import, export, transfer and",
    "use. Delivery of Cisco cryptographic products does not imply",
    "third-party authority to import, export, distribute or use encryption.",
    "Importers, exporters, distributors and users are responsible for",
    "compliance with U.S. and local country laws. By using this product you",
    "agree to comply with applicable laws and regulations. If you are unable",
    "to comply with U.S. and local laws, return this product immediately.",
    "",
    "A summary of U.S. laws governing Cisco cryptographic products may be found at:",
    "http://www.cisco.com/wwl/export/crypto/tool/stqrg.html",
    "",
    "If you require further assistance please contact us by sending email to",
    "export@cisco.com.",
]

RELOAD_REASONS = {
    "power-on": "power-on",
    "reload": "Reload Command",
    "force-switchover": "redundancy force-switchover",
}

_HOSTNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,62}$")


class System(Feature):
    def __init__(self, router: Router) -> None:
        super().__init__(router)
        digest = hashlib.sha256(router.name.encode()).hexdigest().upper()
        self.board_id = "FTX" + digest[:4] + "A" + digest[4:7]
        self.original_hostname = router.name

    def config(self, slot: str) -> list[str]:
        if slot == "hostname":
            return [f"hostname {self.router.hostname}"]
        return []


@command(
    CONFIG, "[no] hostname WORD$name", help="Set system's network name|This system's network name"
)
def hostname(ctx: Ctx, name: str = "") -> None:
    if ctx.negate:
        ctx.router.hostname = "Router"
        return
    if not _HOSTNAME.match(name):
        raise CommandError("% Hostname contains one or more illegal characters.")
    if name[0].isdigit():
        raise CommandError("% Hostname should start with a letter")  # IOS warns and refuses
    ctx.router.hostname = name


def version_lines(router: Router) -> list[str]:
    clock = router.clock
    if router.returned_to_rom_at is None:
        rom = "System returned to ROM by power-on"
    else:
        rom = f"System returned to ROM by reload at {clock.config_stamp(router.returned_to_rom_at)}"
    reason = RELOAD_REASONS.get(router.reload_reason, router.reload_reason)
    return [
        *VERSION_BANNER,
        "",
        "ROM: System Bootstrap, Version 12.3(11r)T2, RELEASE SOFTWARE (fc1)",
        "",
        f"{router.hostname} uptime is {uptime_text(router.uptime())}",
        rom,
        f'System image file is "flash:{IMAGE_NAME}"',
        "Last reload type: Normal Reload",
        f"Last reload reason: {reason}",
        "",
        "",
        "",
        *EXPORT_NOTICE,
        "",
        "Cisco 3825 (revision 1.1) with 479232K/45056K bytes of memory.",
        f"Processor board ID {router.feature(System).board_id}",
        "2 Gigabit Ethernet interfaces",
        "1 Virtual Private Network (VPN) Module",
        "DRAM configuration is 64 bits wide with parity enabled.",
        "479K bytes of NVRAM.",
        "62720K bytes of ATA System CompactFlash (Read/Write)",
        "",
        "Configuration register is 0x2102",
        "",
    ]


@command(
    EXEC,
    "show version",
    help="|System hardware and software status",
    priv=1,
)
def show_version(ctx: Ctx) -> None:
    ctx.print(*version_lines(ctx.router))
