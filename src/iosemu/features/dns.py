"""Name resolution: ``ip domain lookup``, ``ip domain name``, ``ip host``, ``ip name-server``.

A single word that is no command in EXEC is, to IOS, the name of a host to telnet to. With
``ip domain lookup`` on (the default) it asks the name servers, broadcast when none is
configured, and that takes a while; with it off the answer is immediate.
"""

from __future__ import annotations

import asyncio
from ipaddress import IPv4Address

from iosemu.device.router import Feature, Router
from iosemu.parser.grammar import CONFIG, EXEC, command
from iosemu.session import CommandError, Ctx, fallback

DNS_TIMEOUT = 3.0  # seconds of lab time before the lookup gives up


class Dns(Feature):
    def __init__(self, router: Router) -> None:
        super().__init__(router)
        self.lookup = True
        self.domain = ""
        self.hosts: dict[str, list[IPv4Address]] = {}
        self.name_servers: list[IPv4Address] = []

    def resolve(self, name: str) -> IPv4Address | None:
        """An address for ``name`` from the host table (or the name itself if it is one)."""
        try:
            return IPv4Address(name)
        except ValueError:
            pass
        for host, addresses in self.hosts.items():
            if host.lower() == name.lower():
                return addresses[0]
        return None

    def config(self, slot: str) -> list[str]:
        if slot != "ip-global":
            return []
        out = []
        if not self.lookup:
            out.append("no ip domain lookup")
        if self.domain:
            out.append(f"ip domain name {self.domain}")
        for host, addresses in self.hosts.items():
            out.append(f"ip host {host} {' '.join(str(a) for a in addresses)}")
        if self.name_servers:
            out.append(f"ip name-server {' '.join(str(a) for a in self.name_servers)}")
        return out


@command(
    CONFIG,
    "[no] ip domain lookup",
    help="|IP DNS Resolver|Enable IP Domain Name System hostname translation",
)
def ip_domain_lookup(ctx: Ctx) -> None:
    ctx.feature(Dns).lookup = not ctx.negate or ctx.default


@command(
    CONFIG,
    "[no] ip domain-lookup",
    help="|Enable IP Domain Name System hostname translation",
    hidden=True,
)
def ip_domain_lookup_old(ctx: Ctx) -> None:
    """The 12.x spelling, still accepted by 15.1."""
    ip_domain_lookup(ctx)


@command(
    CONFIG,
    "[no] ip domain name WORD$name",
    help="|IP DNS Resolver|Define the default domain name|Default domain name",
)
def ip_domain_name(ctx: Ctx, name: str = "") -> None:
    ctx.feature(Dns).domain = "" if ctx.negate else name


@command(
    CONFIG,
    "[no] ip domain-name WORD$name",
    help="|Define the default domain name|Default domain name",
    hidden=True,
)
def ip_domain_name_old(ctx: Ctx, name: str = "") -> None:
    """The 12.x spelling, still accepted by 15.1."""
    ip_domain_name(ctx, name)


@command(
    CONFIG,
    "[no] ip host WORD$name A.B.C.D$address",
    help="|Add an entry to the ip hostname table|Name of host|Host IP address",
    no_syntax="ip host WORD$name [A.B.C.D$address]",
)
def ip_host(ctx: Ctx, name: str, address: IPv4Address | None = None) -> None:
    dns = ctx.feature(Dns)
    if ctx.negate:
        dns.hosts.pop(name, None)
        return
    if name[0].isdigit():
        raise CommandError("% Invalid host name")  # invented
    assert address is not None
    dns.hosts[name] = [address]


# Up to six servers on one line, as the running configuration shows them.
_SERVERS = "A.B.C.D$address1 " + "".join(f"[A.B.C.D$address{n} " for n in range(2, 7)) + "]" * 5
_SERVER_HELP = "Domain server IP address (maximum of 6)"


@command(
    CONFIG,
    f"[no] ip name-server {_SERVERS}",
    help=f"|Specify address of name server to use|{'|'.join([_SERVER_HELP] * 6)}",
    no_syntax=f"ip name-server [{_SERVERS}]",
)
def ip_name_server(ctx: Ctx, **addresses: IPv4Address) -> None:
    servers = ctx.feature(Dns).name_servers
    given = [addresses[name] for name in sorted(addresses)]
    if ctx.negate:
        if not given:
            servers.clear()
        for address in given:
            if address in servers:
                servers.remove(address)
        return
    for address in given:
        if address not in servers and len(servers) < 6:
            servers.append(address)


@fallback(EXEC)
async def unknown_word(ctx: Ctx, word: str) -> None:
    """A word that is no command: IOS takes it for a host name to telnet to."""
    dns = ctx.feature(Dns)
    address = dns.resolve(word)
    if address is not None:
        ctx.write(
            f"Trying {word} ({address})... " if word != str(address) else f"Trying {address} ... "
        )
        await asyncio.sleep(DNS_TIMEOUT)
        ctx.print("", "% Connection timed out; remote host not responding", "")
        return
    if not dns.lookup:
        ctx.print(
            f'Translating "{word}"',
            "% Unknown command or computer name, or unable to find computer address",
        )
        return
    servers = " ".join(f"({s})" for s in dns.name_servers) or "(255.255.255.255)"
    ctx.write(f'Translating "{word}"...domain server {servers}')
    await asyncio.sleep(DNS_TIMEOUT * max(len(dns.name_servers), 1))
    ctx.print("", "% Unknown command or computer name, or unable to find computer address")
