"""One router on the TCP fabric, in this process; the test plays its peers over real sockets.

The lab: R1, R2, R3 on one segment (a switch), R2 and R3 also on a second one, R4 alone.
This process runs R2. The test dials R2 as R1 (the earlier node dials) and accepts R2's
call as R3. It checks the handshake, that frames cross both ways and reach every peer on
the segment, and that whatever a broken or hostile peer sends is dropped and logged while
R2 goes on answering.

The clock is scaled (10x) so the router boots fast; timeouts here are in lab seconds.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Awaitable, Callable, Iterator
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from test_fabric_nodes import free_base

from iosemu.api import Lab
from iosemu.features.interfaces import Interfaces
from iosemu.lab.packets import (
    BROADCAST_MAC,
    ETH_ARP,
    ETH_IPV4,
    PROTO_ICMP,
    Arp,
    Ethernet,
    Icmp,
    IPv4,
    PacketError,
)
from iosemu.lab.tcp import (
    CLOSE,
    FRAME,
    HELLO,
    Hello,
    TcpFabric,
    decode_frame,
    encode_frame,
    lab_digest,
    message,
    read_message,
)
from iosemu.lab.topology import LabSpec, parse_lab

SPEED = 10.0
WAIT = 60 * SPEED  # lab seconds: a minute of real time, generous on a loaded machine

LAB = {
    "name": "fabric-test",
    "topology": {
        "nodes": {
            "R1": {},
            "R2": {
                "startup-config": "hostname R2\n"
                "interface GigabitEthernet0/0\n"
                " ip address 10.1.32.84 255.255.255.0\n"
                " no shutdown\n"
            },
            "R3": {},
            "R4": {},
        },
        "links": [
            {"endpoints": ["R1:Gi0/0", "R2:Gi0/0", "R3:Gi0/0"]},
            {"endpoints": ["R2:Gi0/1", "R3:Gi0/1"]},
        ],
    },
}
R1_PORT = "R1:GigabitEthernet0/0"
R1_MAC = bytes.fromhex("0000c0ffee01")
R1_IP = IPv4Address("10.1.32.83")
R2_IP = IPv4Address("10.1.32.84")


async def until(condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05 * SPEED)


class Peer:
    """The test's end of one fabric connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def dial(cls, port: int) -> Peer:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    def send(self, data: bytes) -> None:
        self.writer.write(data)

    async def read(self) -> tuple[int, bytes]:
        return await asyncio.wait_for(read_message(self.reader), WAIT)

    async def hello(self) -> Hello:
        kind, body = await self.read()
        assert kind == HELLO
        return Hello.decode(body)

    async def refusal(self) -> str:
        """The CLOSE reason a node sends before hanging up; then the end of the stream."""
        kind, body = await self.read()
        assert kind == CLOSE, (kind, body)
        await self.eof()
        return body.decode()

    async def eof(self) -> None:
        rest = await asyncio.wait_for(self.reader.read(), WAIT)
        assert rest == b""

    async def frame(self, want: Callable[[Ethernet], bool]) -> tuple[int, str, Ethernet]:
        """The next FRAME whose Ethernet frame passes ``want`` (others are skipped)."""
        while True:
            kind, body = await self.read()
            if kind != FRAME:
                continue
            segment, port, raw = decode_frame(body)
            eth = Ethernet.decode(raw)
            if want(eth):
                return segment, port, eth

    def close(self) -> None:
        self.writer.close()


def arp_request(target: IPv4Address = R2_IP) -> bytes:
    arp = Arp(Arp.REQUEST, R1_MAC, R1_IP, b"\0" * 6, target)
    return Ethernet(BROADCAST_MAC, R1_MAC, ETH_ARP, arp.encode()).encode()


def is_arp_reply(eth: Ethernet) -> bool:
    if eth.ethertype != ETH_ARP:
        return False
    arp = Arp.decode(eth.payload)
    return arp.op == Arp.REPLY and arp.sender_ip == R2_IP and arp.target_ip == R1_IP


def echo_request(dst_mac: bytes, seq: int) -> bytes:
    icmp = Icmp(Icmp.ECHO_REQUEST, 0, 7, seq, b"abcdefgh" * 9)
    packet = IPv4(R1_IP, R2_IP, PROTO_ICMP, icmp.encode(), ident=seq)
    return Ethernet(dst_mac, R1_MAC, ETH_IPV4, packet.encode()).encode()


def echo_reply(seq: int) -> Callable[[Ethernet], bool]:
    def want(eth: Ethernet) -> bool:
        if eth.ethertype != ETH_IPV4:
            return False
        try:
            packet = IPv4.decode(eth.payload)
            icmp = Icmp.decode(packet.payload)
        except PacketError:
            return False
        return packet.dst == R1_IP and icmp.type == Icmp.ECHO_REPLY and icmp.seq == seq

    return want


class Node:
    """R2 of the test lab on a scaled clock, with its TCP fabric."""

    def __init__(self, state: Path) -> None:
        self.spec: LabSpec = parse_lab(LAB)
        self.spec.fabric_base = free_base(4)
        self.lab = Lab(
            self.spec,
            clock="scaled",
            speed=SPEED,
            state_dir=state,
            local_nodes=["R2"],
            boot_delay=0.5,
        )
        self.fabric = TcpFabric(self.spec, self.lab.fabric, "R2")
        self.digest = lab_digest(self.spec)

    def port(self, node: str) -> int:
        return self.spec.fabric_port(node)

    def hello(self, node: str, **kw: object) -> bytes:
        fields: dict[str, object] = {"lab": "fabric-test", "node": node, "digest": self.digest}
        fields.update(kw)
        return Hello(**fields).encode()  # type: ignore[arg-type]

    async def up(self) -> None:
        """Fabric listening, R2 booted and its Gi0/0 up."""
        await self.fabric.start()
        self.lab.router("R2").power_on()
        router = self.lab.router("R2")

        def gi00_up() -> bool:
            if router.state != "running":
                return False
            return router.feature(Interfaces).interfaces["GigabitEthernet0/0"].protocol_up

        await until(gi00_up, "R2's GigabitEthernet0/0 to come up")

    async def as_r1(self) -> Peer:
        """Dial R2 as R1 and complete the handshake."""
        peer = await Peer.dial(self.port("R2"))
        peer.send(self.hello("R1"))
        hello = await peer.hello()
        assert (hello.lab, hello.node) == ("fabric-test", "R2")
        await until(lambda: "R1" in self.fabric.links, "R2 to accept R1")
        return peer

    async def answers(self, peer: Peer, seq: int) -> None:
        """R2 answers ARP and ping from R1 through ``peer``."""
        peer.send(encode_frame(0, R1_PORT, arp_request()))
        _, port, reply = await peer.frame(is_arp_reply)
        assert port == "R2:GigabitEthernet0/0"
        peer.send(encode_frame(0, R1_PORT, echo_request(reply.src, seq)))
        await peer.frame(echo_reply(seq))

    def run(self, scenario: Callable[[], Awaitable[None]]) -> None:
        async def main() -> None:
            try:
                await scenario()
            finally:
                await self.fabric.close()

        self.lab.run(main())


@pytest.fixture
def node(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> Iterator[Node]:
    caplog.set_level(logging.INFO, logger="iosemu.fabric.tcp")
    n = Node(tmp_path)
    try:
        yield n
    finally:
        n.lab.close()


def logged(caplog: pytest.LogCaptureFixture, text: str) -> int:
    return sum(text in r.getMessage() for r in caplog.records)


def test_frames_reach_every_peer_on_the_segment(node: Node) -> None:
    async def scenario() -> None:
        accepted: asyncio.Queue[Peer] = asyncio.Queue()

        async def on_r3(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await accepted.put(Peer(reader, writer))

        # Play R3: R2 dials it (R2 comes first in the file).
        r3_server = await asyncio.start_server(on_r3, "127.0.0.1", node.port("R3"))
        await node.up()
        r3 = await asyncio.wait_for(accepted.get(), WAIT)
        assert (await r3.hello()).node == "R2"
        r3.send(node.hello("R3"))
        await until(lambda: "R3" in node.fabric.links, "R2 to connect to R3")
        r1 = await node.as_r1()

        # R1 asks R2; the answer goes to every port on the segment: R1's and R3's.
        r1.send(encode_frame(0, R1_PORT, arp_request()))
        _, _, reply = await r1.frame(is_arp_reply)
        segment, port, seen_by_r3 = await r3.frame(is_arp_reply)
        assert (segment, port, seen_by_r3) == (0, "R2:GigabitEthernet0/0", reply)

        # Cut R3 off the segment: R2's replies reach R1 only, until it heals.
        node.lab.partition([[R1_PORT, "R2:GigabitEthernet0/0"], ["R3:GigabitEthernet0/0"]])
        r1.send(encode_frame(0, R1_PORT, echo_request(reply.src, 1)))
        await r1.frame(echo_reply(1))
        node.lab.heal()
        r1.send(encode_frame(0, R1_PORT, echo_request(reply.src, 2)))
        await r1.frame(echo_reply(2))
        # R3 hears reply 2 and, on the same ordered connection, never heard reply 1.
        seen: list[Ethernet] = []

        def collect(eth: Ethernet) -> bool:
            seen.append(eth)
            return echo_reply(2)(eth)

        await r3.frame(collect)
        assert not any(echo_reply(1)(eth) for eth in seen)
        # R2 never relays R1's own frames to R3: R1 sends to each peer itself.
        assert not any(eth.src == R1_MAC for eth in seen)

        # R3's process dies: its link goes, and R1 still gets its answers.
        r3.close()
        await until(lambda: "R3" not in node.fabric.links, "R2 to notice R3 is gone")
        await node.answers(r1, 3)
        r1.close()
        r3_server.close()

    node.run(scenario)


def test_malformed_messages_are_dropped_and_logged(
    node: Node, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        await node.up()
        r1 = await node.as_r1()
        await node.answers(r1, 1)
        name = R1_PORT.encode()
        bad = [
            (message(99, b"from the future"), "unknown message type 99"),
            (message(HELLO, b"again"), "HELLO after the handshake"),
            (message(FRAME, b"\x00"), "short FRAME"),
            (message(FRAME, b"\x00\x00\x40" + name), "past the end"),
            (message(FRAME, struct.pack("!HB", 0, len(name)) + name + b"runt"), "4 bytes"),
            (encode_frame(5, R1_PORT, arp_request()), "segment 5"),
            # R1 has no port on segment 1 (R2-R3), nor is R2's port R1's to send from.
            (encode_frame(1, R1_PORT, arp_request()), "not a port of R1 on segment2"),
            (encode_frame(0, "R2:GigabitEthernet0/0", arp_request()), "not a port of R1"),
            (encode_frame(0, "R3:GigabitEthernet0/0", arp_request()), "not a port of R1"),
        ]
        for i, (data, reason) in enumerate(bad):
            caplog.clear()
            r1.send(data)
            # Each is dropped, the connection stays and R2 still answers.
            await node.answers(r1, 10 + i)
            if i < 5:
                assert logged(caplog, reason) == 1, reason
        assert node.fabric.links["R1"].dropped_in == len(bad)
        # After five, drops are counted and no longer logged: a flood cannot fill the log.
        assert logged(caplog, "from R1") == 0
        # A length that cannot be a message ends the connection (there is no resyncing).
        r1.send(struct.pack("!I", 0))
        await r1.eof()
        await until(lambda: "R1" not in node.fabric.links, "R2 to drop R1")
        assert logged(caplog, "R1 sent garbage (message length 0 out of bounds")
        assert logged(caplog, "R2 lost R1 (protocol error: message length 0 out of bounds")
        # R1 comes back and all is well.
        r1 = await node.as_r1()
        await node.answers(r1, 99)
        r1.close()

    node.run(scenario)


def test_garbage_before_hello_is_refused(node: Node, caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        await node.up()
        garbage = [
            b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
            bytes(range(256)) * 16,
            message(FRAME, b"\x00\x00"),  # a frame before HELLO
            message(HELLO, b"IOSF\x00"),  # a HELLO cut short
        ]
        for data in garbage:
            peer = await Peer.dial(node.port("R2"))
            peer.send(data)
            assert (await peer.hello()).node == "R2"  # R2 speaks first, then hangs up
            await peer.eof()
        # A stream that ends mid-message.
        peer = await Peer.dial(node.port("R2"))
        peer.send(struct.pack("!I", 100) + b"\x01abc")
        peer.writer.write_eof()
        await peer.hello()
        await peer.eof()
        await until(lambda: logged(caplog, "connection from") >= 5, "R2 to log the garbage")
        assert logged(caplog, "protocol error") == 4
        assert logged(caplog, "closed during the handshake") == 1
        assert node.fabric.links == {}
        r1 = await node.as_r1()
        await node.answers(r1, 1)
        r1.close()

    node.run(scenario)


def test_handshake_refusals_say_why(node: Node) -> None:
    cases = [
        (node.hello("R1", lab="other-lab"), "node of lab 'other-lab', this is lab 'fabric-test'"),
        (node.hello("R1", version=2), "fabric protocol version 2, R2 speaks 1"),
        (node.hello("R1", digest=b"\0" * 8), "lab file of R1 differs (nodes or links) from R2's"),
        (node.hello("R9"), "no node R9 in lab fabric-test"),
        (node.hello("R2"), "R2 is this node (is it running twice?)"),
        (node.hello("R4"), "R4 shares no segment with R2"),
        (node.hello("R3"), "R2 dials R3, not the other way round"),
    ]

    async def scenario() -> None:
        await node.up()
        for hello, reason in cases:
            peer = await Peer.dial(node.port("R2"))
            peer.send(hello)
            await peer.hello()
            assert await peer.refusal() == reason
        assert node.fabric.links == {}
        r1 = await node.as_r1()
        await node.answers(r1, 1)
        r1.close()

    node.run(scenario)


def test_dialer_redials_and_checks_who_answers(
    node: Node, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        accepted: asyncio.Queue[Peer] = asyncio.Queue()

        async def on_r3(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await accepted.put(Peer(reader, writer))

        # R2 starts before R3 is there: it waits, and connects once R3 listens.
        await node.fabric.start()
        await until(lambda: logged(caplog, "R2 waiting for R3") == 1, "R2 to wait for R3")
        server = await asyncio.start_server(on_r3, "127.0.0.1", node.port("R3"))
        first = await asyncio.wait_for(accepted.get(), WAIT)
        await first.hello()
        first.send(node.hello("R3"))
        await until(lambda: "R3" in node.fabric.links, "the link to R3")
        # R3 restarts: R2 calls again at once.
        first.close()
        second = await asyncio.wait_for(accepted.get(), WAIT)
        await second.hello()
        # Something else answers on R3's port: R2 says so and hangs up; later it tries again.
        second.send(node.hello("R4"))
        assert await second.refusal() == f"expected R3 on port {node.port('R3')}, found R4"
        third = await asyncio.wait_for(accepted.get(), WAIT)
        await third.hello()
        third.send(node.hello("R3"))
        await until(lambda: "R3" in node.fabric.links, "the link to R3 again")
        assert logged(caplog, "R2 connected to R3") == 2
        assert logged(caplog, "R2 lost R3 (connection closed)") == 1
        third.close()
        server.close()

    node.run(scenario)
