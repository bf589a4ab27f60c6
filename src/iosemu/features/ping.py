"""``ping``: ICMP echoes with IOS's running commentary (``!`` reply, ``.`` timeout)."""

from __future__ import annotations

from ipaddress import IPv4Address

from iosemu.features.dns import Dns
from iosemu.features.interfaces import Interfaces
from iosemu.features.ip import Ip
from iosemu.parser.grammar import EXEC, command
from iosemu.session import CommandError, Ctx

UNRECOGNIZED = "% Unrecognized host or address, or protocol not running."


async def run_ping(
    ctx: Ctx,
    target: str,
    repeat: int = 5,
    size: int = 100,
    timeout: int = 2,
    source: IPv4Address | None = None,
) -> None:
    ip = ctx.feature(Ip)
    address = ctx.feature(Dns).resolve(target)
    if address is None:
        raise CommandError(UNRECOGNIZED)
    ctx.print(
        "Type escape sequence to abort.",
        f"Sending {repeat}, {size}-byte ICMP Echos to {address}, timeout is {timeout} seconds:",
    )
    if source is not None:
        ctx.print(f"Packet sent with a source address of {source} ")
    ident = ip.next_ping_ident()
    rtts: list[float] = []
    column = 0
    for seq in range(repeat):
        result = await ip.echo(address, size, timeout, ident, seq)
        if column == 70:
            ctx.write("\n")
            column = 0
        ctx.write(result.kind)
        column += 1
        if result.kind == "!":
            rtts.append(result.rtt)
    ctx.write("\n")
    percent = len(rtts) * 100 // repeat if repeat else 0
    text = f"Success rate is {percent} percent ({len(rtts)}/{repeat})"
    if rtts:
        ms = [max(round(r * 1000), 1) for r in rtts]
        text += f", round-trip min/avg/max = {min(ms)}/{sum(ms) // len(ms)}/{max(ms)} ms"
    ctx.print(text)


@command(
    EXEC,
    "ping [ip] WORD$target [repeat <1-2147483647>$repeat|size <36-18024>$size|"
    "timeout <0-3600>$timeout|source {A.B.C.D$source_ip|INTERFACE$source_if}]*",
    help="Send echo messages|IP echo|Ping destination address or hostname|"
    "specify repeat count|repeat count|specify datagram size|datagram size|"
    "specify timeout interval|timeout in seconds|specify source address or name|"
    "source address|",
    priv=1,
)
async def ping(
    ctx: Ctx,
    target: str,
    repeat: int = 5,
    size: int = 100,
    timeout: int = 2,
    source_ip: IPv4Address | None = None,
    source_if: str | None = None,
) -> None:
    source = source_ip
    if source_if is not None:
        iface = ctx.feature(Interfaces).interfaces.get(source_if)
        if iface is None or iface.address is None:
            raise CommandError(f"% Invalid source interface - {source_if} has no IP address")
        source = iface.address.ip
    await run_ping(ctx, target, repeat, size, timeout, source)
