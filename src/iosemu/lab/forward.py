"""Host port forwards: programs on this machine reach a service inside the lab (decision 4).

A forward listens on 127.0.0.1:HOSTPORT. Every connection it accepts is relayed to
TARGET:PORT inside the lab (the SCEP server at the HSRP virtual IP, say) by a hidden lab
host: a ``Router`` built from the Interfaces, Ip and TcpStack features only, with no
console, no configuration and no place in ``lab.routers``, cabled to the target's segment
with an address of its own (``.250`` of the target's /24 unless the lab file says).

Reusing the routers' own stack, rather than injecting streams beside it, means the relay
is an ordinary neighbour on the wire: it ARPs, its SYNs can be lost and retransmitted, and
a connection to a virtual IP reaches whichever router answers for that address when the
connection opens. So new connections follow the address when HSRP moves it; an open one
breaks as any TCP connection to a VIP does on failover (the new Active resets it), and the
relay then resets the host side too.

Which segment: the one where a router of the lab has an interface whose subnet holds the
target (looked up at the first connection, when the configuration has loaded), or the lab's
only segment. Forwards need real sockets, so they run with the real or scaled clock; a
virtual clock would race ahead while a host program thinks. ``iosemu node`` (one process
per router) has no forwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from ipaddress import IPv4Address, IPv4Interface
from typing import TYPE_CHECKING

from iosemu.device.router import Router
from iosemu.features.interfaces import Interfaces
from iosemu.features.ip import Ip
from iosemu.features.tcp import TcpStack, TcpWriter
from iosemu.lab.fabric import Port, Segment
from iosemu.lab.topology import ForwardSpec

if TYPE_CHECKING:
    from iosemu.api import Lab

log = logging.getLogger("iosemu.forward")

INTERFACE = "GigabitEthernet0/0"
CONNECT_TIMEOUT = 20.0  # lab seconds for the connection inside the lab
CHUNK = 65536
MAC_BASE = 0x02005EFA0000  # locally administered: no real vendor's, no lab router's


class ForwardError(Exception):
    """A forward that cannot relay (no segment for its target, port in use)."""


class LabHost:
    """A hidden host on one segment: one interface, always up, and the routers' IP and TCP."""

    def __init__(self, lab: Lab, address: IPv4Interface, segment: Segment, index: int) -> None:
        self.address = address
        self.segment = segment
        name = f"forward-host-{address.ip}"
        self._state_dir = lab.state_dir / ".forward-hosts" / str(address.ip)
        self.router = Router(
            name,
            lab.loop,
            self._state_dir,
            [Interfaces, Ip, TcpStack],
            mac_base=MAC_BASE + 0x100 * index,
        )
        self.port = Port(name, INTERFACE)
        segment.attach(self.port)
        self.router.ports = {INTERFACE: self.port}
        iface = self.router.feature(Interfaces).get(INTERFACE)
        iface.address = address
        iface.address_method = "manual"
        iface.shutdown = False
        iface.cabled = iface.link_up = iface.protocol_up = True  # a host's NIC: no link delay
        self.router.feature(Ip).started()
        self.router.feature(TcpStack).started()
        self.router.state = "running"

    @property
    def tcp(self) -> TcpStack:
        return self.router.feature(TcpStack)

    def close(self) -> None:
        self.router.power_off()
        self.port.receiver = None
        with contextlib.suppress(ValueError):
            self.segment.ports.remove(self.port)
        shutil.rmtree(self._state_dir, ignore_errors=True)


class Forward:
    """One host port relayed to one address and port inside the lab."""

    def __init__(self, forwards: Forwards, spec: ForwardSpec) -> None:
        self.forwards = forwards
        self.spec = spec
        self.server: asyncio.Server | None = None
        self.connections = 0  # accepted so far
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def address(self) -> IPv4Interface:
        """The relay's address (the one chosen, once a connection has needed it)."""
        host = self.forwards.hosts.get(self.spec.address.ip)
        return host.address if host is not None else self.spec.address

    async def start(self, bind: str = "127.0.0.1") -> None:
        try:
            self.server = await asyncio.start_server(self._accept, bind, self.spec.host_port)
        except OSError as e:
            raise ForwardError(f"port {self.spec.host_port}: {e.strerror}") from None

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for task in list(self._tasks):
            task.cancel()

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.ensure_future(self._relay(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        spec = self.spec
        try:
            host = self.forwards.host_for(spec)
            inner_reader, inner_writer = await asyncio.wait_for(
                host.tcp.connect(spec.target, spec.port), CONNECT_TIMEOUT
            )
        except (ForwardError, OSError, TimeoutError) as e:
            log.info(
                "forward %s: cannot reach %s:%s: %s", spec.host_port, spec.target, spec.port, e
            )
            writer.transport.abort()  # the host program sees a reset, as from a dead server
            return
        up = asyncio.ensure_future(_pump_out(reader, inner_writer))
        down = asyncio.ensure_future(_pump_in(inner_reader, writer))
        try:
            done, _ = await asyncio.wait({up, down}, return_when=asyncio.FIRST_EXCEPTION)
            if any(t.exception() is not None for t in done):
                writer.transport.abort()
                inner_writer.abort()
        except asyncio.CancelledError:
            writer.transport.abort()
            inner_writer.abort()
            raise
        finally:
            for task in (up, down):
                task.cancel()
            await asyncio.gather(up, down, return_exceptions=True)
            if not inner_writer.is_closing():
                inner_writer.close()
            writer.close()


async def _pump_out(reader: asyncio.StreamReader, writer: TcpWriter) -> None:
    """Host program -> lab. Its end of input closes our half of the lab connection."""
    while data := await reader.read(CHUNK):
        writer.write(data)
        await writer.drain()
    writer.close()
    await writer.wait_closed()


async def _pump_in(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Lab -> host program, until the lab side closes; then the host socket closes."""
    while data := await reader.read(CHUNK):
        writer.write(data)
        await writer.drain()
    writer.close()


class Forwards:
    """A lab's forwards and the hidden hosts that relay them (one per relay address)."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.forwards = [Forward(self, spec) for spec in lab.spec.forwards]
        self.hosts: dict[IPv4Address, LabHost] = {}

    def add(self, spec: ForwardSpec) -> Forward:
        forward = Forward(self, spec)
        self.forwards.append(forward)
        return forward

    async def start(self) -> list[Forward]:
        if self.lab.loop.mode == "virtual":
            raise ForwardError("host port forwards need the real or scaled clock")
        for forward in self.forwards:
            if forward.server is None:
                await forward.start()
        return self.forwards

    def close(self) -> None:
        for forward in self.forwards:
            forward.close()
        for host in self.hosts.values():
            host.close()
        self.hosts.clear()

    # --- the hidden hosts ------------------------------------------------------------------

    def host_for(self, spec: ForwardSpec) -> LabHost:
        host = self.hosts.get(spec.address.ip)
        if host is not None:
            return host
        segment = self._segment_for(spec.target)
        address = self._free_address(spec.address)
        host = LabHost(self.lab, address, segment, len(self.hosts))
        # Under the address asked for, even if it had to take another one.
        self.hosts[spec.address.ip] = host
        log.info("forward host %s on %s for %s", address, segment.name, spec.text)
        return host

    def _segment_for(self, target: IPv4Address) -> Segment:
        fabric = self.lab.fabric
        for name, router in self.lab.routers.items():
            if router.state != "running":
                continue
            for iface in router.feature(Interfaces).interfaces.values():
                if iface.address is not None and target in iface.address.network:
                    segment = fabric.segment_of(name, iface.name)
                    if segment is not None:
                        return segment
        if len(fabric.segments) == 1:
            return fabric.segments[0]
        raise ForwardError(f"no segment of the lab holds {target}")

    def _in_use(self, address: IPv4Address) -> bool:
        for router in self.lab.routers.values():
            if router.state == "running" and router.feature(Ip).is_local(address):
                return True
        return any(h.address.ip == address for h in self.hosts.values())

    def _free_address(self, wanted: IPv4Interface) -> IPv4Interface:
        """``wanted``, or the next lower free address of its network if a router has it."""
        if not self._in_use(wanted.ip):
            return wanted
        network = wanted.network
        for candidate in range(int(wanted.ip) - 1, int(network.network_address), -1):
            address = IPv4Address(candidate)
            if not self._in_use(address):
                log.warning("forward host: %s is in use, taking %s", wanted.ip, address)
                return IPv4Interface(f"{address}/{network.prefixlen}")
        raise ForwardError(f"no free address in {network} for the forward host")
