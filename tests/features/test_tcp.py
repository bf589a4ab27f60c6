"""TCP streams between routers on the virtual clock: handshake, data, close, refusal, loss."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from ipaddress import IPv4Address

import pytest

from iosemu.api import Lab
from iosemu.boot import load_config
from iosemu.features.tcp import TcpStack, TcpWriter

ADDRESSES = {"CA-server-1": "10.1.32.83", "CA-server-2": "10.1.32.84"}


@pytest.fixture
def lab() -> Iterator[Lab]:
    lab = Lab.open("pki-ha", clock="virtual")

    async def up() -> None:
        await lab.start()
        for name, address in ADDRESSES.items():
            config = f"interface Gi0/0\n ip address {address} 255.255.255.0\n no shutdown\n"
            await load_config(lab.router(name), config, lambda text: None)
        await asyncio.sleep(5)  # links and line protocols come up

    lab.run(up())
    yield lab
    lab.close()


_servers: set[asyncio.Task[None]] = set()


def _upper_echo(reader: asyncio.StreamReader, writer: TcpWriter) -> None:
    async def serve() -> None:
        while data := await reader.read(65536):
            writer.write(data.upper())
        writer.close()

    task = asyncio.ensure_future(serve())
    _servers.add(task)
    task.add_done_callback(_servers.discard)


def test_echo_of_a_large_stream_arrives_whole_and_in_order(lab: Lab) -> None:
    server = lab.router("CA-server-2").feature(TcpStack)
    client = lab.router("CA-server-1").feature(TcpStack)
    server.listen(7, _upper_echo)
    payload = bytes(range(97, 123)) * 20000  # 520 kB, more than the in-flight window

    async def talk() -> tuple[bytes, bytes]:
        reader, writer = await client.connect(IPv4Address("10.1.32.84"), 7)
        writer.write(payload)
        await writer.drain()
        got = b""
        while len(got) < len(payload):
            chunk = await reader.read(65536)
            assert chunk, "stream ended early"
            got += chunk
        writer.close()
        return got, await reader.read()

    got, tail = lab.run(talk())
    assert got == payload.upper()
    assert tail == b""
    lab.run(asyncio.sleep(1))
    assert client.connections == {} and server.connections == {}


def test_first_connection_waits_for_arp_like_a_syn_retransmission(lab: Lab) -> None:
    lab.router("CA-server-2").feature(TcpStack).listen(7, _upper_echo)
    client = lab.router("CA-server-1").feature(TcpStack)

    async def connect() -> float:
        start = lab.loop.time()
        _, writer = await client.connect(IPv4Address("10.1.32.84"), 7)
        writer.close()
        return lab.loop.time() - start

    # The SYN that triggered ARP is dropped, as IOS drops it; the retransmission gets through.
    assert lab.run(connect()) == pytest.approx(1.0, abs=0.01)
    assert lab.run(connect()) < 0.01


def test_a_closed_port_refuses_at_once(lab: Lab) -> None:
    client = lab.router("CA-server-1").feature(TcpStack)
    lab.run(asyncio.sleep(0))

    async def connect() -> None:
        await client.connect(IPv4Address("10.1.32.84"), 80)

    with pytest.raises(ConnectionRefusedError):
        lab.run(connect())


def test_a_silent_peer_times_out_and_a_pulled_cable_resets_nothing_early(lab: Lab) -> None:
    lab.router("CA-server-2").feature(TcpStack).listen(7, _upper_echo)
    client = lab.router("CA-server-1").feature(TcpStack)

    async def scenario() -> str:
        reader, writer = await client.connect(IPv4Address("10.1.32.84"), 7)
        lab.set_cable("CA-server-2", "GigabitEthernet0/0", False)
        writer.write(b"lost in the wire")
        start = lab.loop.time()
        try:
            await reader.read(100)
        except TimeoutError:
            return f"timed out after {lab.loop.time() - start:.0f}s"
        return "no error"

    # Six retransmissions, backing off 1, 2, 4, 8, 8, 8 s, then 8 s more before giving up.
    assert lab.run(scenario()) == "timed out after 39s"
