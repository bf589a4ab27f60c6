"""The layout of ``show running-config``: IOS 15.1's order, with each feature's lines in its slot.

A slot name in ``LAYOUT`` is filled by every feature's ``config(slot)``; plain strings are
printed as they are. The layout follows real 15.1 captures (see the reference, section 2).
"""

from __future__ import annotations

from iosemu.device.router import Router

# (slot or literal line). A slot that renders nothing leaves no trace.
LAYOUT: list[str] = [
    "@comments",
    "version 15.1",
    "@service",
    "@service-late",
    "!",
    "@hostname",
    "!",
    "boot-start-marker",
    "@boot",
    "boot-end-marker",
    "!",
    "@logging-global",
    "@enable",
    "!",
    "@aaa",
    "@clock",
    "!",
    "@ip-early",
    "!",
    "!",
    "@ip-global",
    "@ip-global-late",
    "!",
    "@multilink",
    "!",
    "!",
    "@crypto-servers",
    "@crypto-token",
    "!",
    "@crypto-trustpoints",
    "!",
    "@crypto-chains",
    "@users",
    "@redundancy-interdevice",
    "@redundancy",
    "@ipc",
    "@ip-ssh",
    "!",
    "@interfaces",
    "@ip-services",
    "!",
    "@logging-hosts",
    "!",
    "@control-plane",
    "!",
    "!",
    "@lines",
    "!",
    "@scheduler",
    "end",
]


def slot_lines(router: Router, slot: str) -> list[str]:
    lines: list[str] = []
    for feature in router.features.values():
        lines += feature.config(slot)
    return lines


def comment_lines(router: Router) -> list[str]:
    clock = router.clock
    if router.config_changed_at is None:
        out = ["! No configuration change since last restart"]
    else:
        out = [f"! Last configuration change at {clock.config_stamp(router.config_changed_at)}"]
    if router.config_saved_at is not None:
        out.append(f"! NVRAM config last updated at {clock.config_stamp(router.config_saved_at)}")
    return out


def config_body(router: Router) -> list[str]:
    """The configuration from its first ``!`` to ``end``."""
    out = ["!"]
    for item in LAYOUT:
        if item == "@comments":
            out += comment_lines(router)
        elif item.startswith("@"):
            out += slot_lines(router, item[1:])
        else:
            out.append(item)
    return out


def config_text(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)


def running_config(router: Router) -> str:
    """``show running-config`` in full, header included."""
    body = config_text(config_body(router))
    size = len(body.encode())
    return f"Building configuration...\n\nCurrent configuration : {size} bytes\n{body}"
