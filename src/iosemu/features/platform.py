"""Global settings that every 15.1 configuration shows, and the platform's fixed lines.

``ip cef``, ``no ipv6 cef``, ``ip source-route``, ``dot11 syslog``, ``no aaa new-model``,
``multilink bundle-name authenticated``, ``ip forward-protocol nd`` ... are printed by
real routers whether or not anyone touched them, and a saved configuration contains them,
so they must parse back. Each is a switch with its default, its slot in the running
configuration, and its ``no`` form.
"""

from __future__ import annotations

from dataclasses import dataclass

from iosemu.device.router import Feature, Router
from iosemu.parser.grammar import CONFIG, command
from iosemu.session import Ctx, config_mode


@dataclass(frozen=True)
class Switch:
    words: str
    help: str
    default: bool
    slot: str


SWITCHES = [
    Switch("service password-encryption", "|Encrypt system passwords", False, "service-late"),
    Switch(
        "dot11 syslog", "IEEE 802.11 config commands|Turn on syslog for 802.11", True, "ip-early"
    ),
    Switch(
        "ip source-route", "|Process packets with source routing header options", True, "ip-early"
    ),
    Switch("ip cef", "|Cisco Express Forwarding", True, "ip-global"),
    Switch(
        "ipv6 cef",
        "IPv6 configuration commands|Cisco Express Forwarding for IPv6",
        False,
        "ip-global",
    ),
    Switch(
        "aaa new-model",
        "Authentication, Authorization and Accounting.|"
        "Enable NEW access control commands and functions.(Disables OLD commands.)",
        False,
        "aaa",
    ),
    Switch(
        "multilink bundle-name authenticated",
        "PPP multilink global configuration|Select method for naming multilink bundles|"
        "Use peer's authenticated name",
        True,
        "multilink",
    ),
    Switch(
        "ip forward-protocol nd",
        "|Controls forwarding of physical and directed IP broadcasts|Sun's Network Disk protocol",
        True,
        "ip-services",
    ),
]

# Where within its slot a switch goes: ip-global lines come around the DNS lines.
_AFTER_DNS = {"ipv6 cef"}


class Platform(Feature):
    def __init__(self, router: Router) -> None:
        super().__init__(router)
        self.switches = {s.words: s.default for s in SWITCHES}
        self.scheduler_allocate = (20000, 1000)
        self.token_removal_timeout = 0

    def on(self, words: str) -> bool:
        return self.switches[words]

    def _render(self, switch: Switch) -> str:
        return switch.words if self.switches[switch.words] else f"no {switch.words}"

    def config(self, slot: str) -> list[str]:
        if slot == "ip-global-late":
            return [self._render(s) for s in SWITCHES if s.words in _AFTER_DNS]
        out = [self._render(s) for s in SWITCHES if s.slot == slot and s.words not in _AFTER_DNS]
        if slot == "control-plane":
            out.append("control-plane")
        elif slot == "scheduler":
            out.append("scheduler allocate {} {}".format(*self.scheduler_allocate))
        elif slot == "crypto-token":
            out.append(f"crypto pki token default removal timeout {self.token_removal_timeout}")
        return out


def _register_switch(switch: Switch) -> None:
    @command(CONFIG, f"[no] {switch.words}", help=switch.help)
    def set_switch(ctx: Ctx) -> None:
        ctx.feature(Platform).switches[switch.words] = not ctx.negate or (
            ctx.default and switch.default
        )


for _switch in SWITCHES:
    _register_switch(_switch)


@command(CONFIG, "version WORD$number", help="Version|Version number", hidden=True)
def version_line(ctx: Ctx, number: str) -> None:
    """Saved configurations start with the version they were written by; accepted as is."""


@command(CONFIG, "boot-start-marker", help="Boot configuration start marker", hidden=True)
def boot_start_marker(ctx: Ctx) -> None:
    """Brackets the (empty) boot statements of a saved configuration."""


@command(CONFIG, "boot-end-marker", help="Boot configuration end marker", hidden=True)
def boot_end_marker(ctx: Ctx) -> None:
    """Brackets the (empty) boot statements of a saved configuration."""


CONTROL_PLANE = config_mode("control-plane", "(config-cp)")


@command(CONFIG, "control-plane", help="Configure control plane services")
def control_plane(ctx: Ctx) -> None:
    ctx.enter(CONTROL_PLANE)


@command(
    CONFIG,
    "scheduler allocate <3000-60000>$interrupt <1000-4000>$process",
    help="Scheduler parameters|Guarantee CPU time for processes|"
    "Microseconds handling network interrupts|Microseconds running processes",
)
def scheduler_allocate(ctx: Ctx, interrupt: int, process: int) -> None:
    ctx.feature(Platform).scheduler_allocate = (interrupt, process)


@command(
    CONFIG,
    "crypto pki token default removal timeout <0-480>$seconds",
    help="||Configure a token|Default token configuration|Token removal|"
    "Timeout to wait before removing session|Timeout value in seconds",
)
def token_removal(ctx: Ctx, seconds: int) -> None:
    ctx.feature(Platform).token_removal_timeout = seconds
