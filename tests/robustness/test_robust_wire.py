"""SCEP, HTTP and fabric frames fuzzed: errors only, the service keeps serving, no state
changes.

* SCEP/HTTP: tests/features/test_scep_fuzz.py's ``Fuzz`` (a CA on CA-server-1 behind
  ``ip http server``, a client on CA-server-2, the CA's state compared before and after)
  driven by hypothesis: mutated pkiMessages (bit flips, cuts, splices, insertions) by POST
  and GET, and raw HTTP requests of random bytes.
* Fabric: the wire decoders (lab/packets.py) and the TCP fabric's framing (lab/tcp.py)
  take random bytes and raise only their own errors; random and half-valid frames
  (Ethernet, ARP, IPv4 with ICMP/UDP/TCP inside) delivered to a router change nothing and
  it still serves SCEP.

Short run: a few dozen cases each. Long run (``IOSEMU_LONG=1``): thousands.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import struct
from collections import Counter
from collections.abc import Iterator
from ipaddress import IPv4Address

import pytest
from helpers import stable_body
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from robust import record, size
from test_fuzz import no_logged_errors  # noqa: F401 (autouse: no handler or timer raised)
from test_scep_fuzz import CA_ADDRESS, ONE, TWO, Fuzz

from iosemu.features.pki.scep import SCEP_PATH
from iosemu.features.running_config import config_body
from iosemu.features.tcp import TcpStack
from iosemu.lab.packets import (
    ETH_ARP,
    ETH_IPV4,
    PROTO_ICMP,
    PROTO_TCP,
    PROTO_UDP,
    Arp,
    Ethernet,
    Icmp,
    IPv4,
    PacketError,
    Tcp,
    Udp,
    checksum,
)
from iosemu.lab.tcp import (
    CLOSE,
    FRAME,
    HELLO,
    Hello,
    ProtocolError,
    decode_frame,
    read_message,
)

COUNTS: Counter[str] = Counter()
ROUTER_IP = IPv4Address("10.1.32.83")


def fuzz_settings(short: int, long: int) -> settings:
    return settings(
        max_examples=size(short, long),
        deadline=None,
        derandomize=True,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.function_scoped_fixture,
        ],
    )


@pytest.fixture(scope="module")
def ca() -> Iterator[Fuzz]:
    """One CA for the module: each example checks that it left the state as it was."""
    setup = Fuzz()
    yield setup
    setup.still_serving()
    assert "http 500" not in setup.outcomes
    setup.lab.close()
    record("wire", **COUNTS)


def unchanged_after(fuzz: Fuzz, before: tuple[object, ...]) -> None:
    assert fuzz.state() == before


# --------------------------------------------------------------------------- SCEP and HTTP


@st.composite
def mutated(draw: st.DrawFn, valid: bytes) -> bytes:
    data = bytearray(valid)
    for _ in range(draw(st.integers(1, 4))):
        how = draw(st.sampled_from(["flip", "cut", "insert", "splice", "byte"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if how == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif how == "cut":
            del data[at : at + draw(st.integers(1, 64))]
        elif how == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=32))
        elif how == "splice":
            other = draw(st.integers(0, max(len(valid) - 1, 0)))
            data[at:at] = valid[other : other + draw(st.integers(1, 200))]
        elif data:
            data[at] = draw(st.integers(0, 255))
    return bytes(data)


@fuzz_settings(30, 3000)
@given(data=st.data())
def test_mutated_pki_messages(ca: Fuzz, data: st.DataObject) -> None:
    valid = ca.message()
    body = data.draw(mutated(valid), label="message")
    if body == valid:
        return
    before = ca.state()
    if data.draw(st.booleans(), label="by GET"):
        text = base64.b64encode(body).decode()
        reply = ca.get(f"operation=PKIOperation&message={text}")
    else:
        reply = ca.post(body)
    ca.expect_error(reply)
    unchanged_after(ca, before)
    COUNTS["scep requests"] += 1


http_words = st.sampled_from(
    [b"GET", b"POST", b"HEAD", b"PUT", b"\x00", b" ", b"HTTP/1.1", b"HTTP/9.9", b"\r\n", b":"]
)
raw_requests = st.one_of(
    st.binary(min_size=1, max_size=300),
    st.lists(st.one_of(http_words, st.binary(max_size=20)), min_size=1, max_size=20).map(b" ".join),
    st.builds(
        lambda method, query, headers: (
            method
            + b" "
            + SCEP_PATH.encode()
            + b"?"
            + query
            + b" HTTP/1.1\r\n"
            + headers
            + b"\r\n\r\n"
        ),
        st.sampled_from([b"GET", b"POST", b"get", b"G\x00T"]),
        st.binary(max_size=80),
        st.binary(max_size=120),
    ),
)


async def _raw(fuzz: Fuzz, data: bytes) -> bytes:
    """Send ``data`` and half-close; everything the server says until it hangs up."""
    reader, writer = await fuzz.lab.router(TWO).feature(TcpStack).connect(CA_ADDRESS, 80)
    writer.write(data)
    got = b""
    while chunk := await reader.read(65536):
        got += chunk
    writer.close()
    return got


@fuzz_settings(20, 2000)
@given(data=raw_requests)
def test_raw_http_requests(ca: Fuzz, data: bytes) -> None:
    before = ca.state()
    answer = ca.lab.run(_raw(ca, data))
    if answer:
        status = answer.split(b" ", 2)[1] if answer.startswith(b"HTTP/1.1 ") else b""
        assert status[:1] in (b"2", b"4") or status == b"501", answer[:200]
    unchanged_after(ca, before)
    COUNTS["http requests"] += 1


# --------------------------------------------------------------------------- decoders

DECODERS = [Ethernet.decode, Arp.decode, IPv4.decode, Icmp.decode, Udp.decode, Tcp.decode]


@fuzz_settings(200, 20000)
@given(data=st.binary(max_size=200))
def test_packet_decoders_raise_only_packet_errors(data: bytes) -> None:
    for decode in DECODERS:
        with contextlib.suppress(PacketError):
            decode(data)
    COUNTS["decoded"] += 1


def _fabric_body(data: st.DataObject) -> bytes:
    kind = data.draw(st.sampled_from(["random", "hello", "frame"]))
    if kind == "random":
        return data.draw(st.binary(max_size=400))
    if kind == "hello":
        head = struct.pack("!4sH8s", b"IOSF", 1, data.draw(st.binary(min_size=8, max_size=8)))
        return head + data.draw(st.binary(max_size=40))
    name = data.draw(st.binary(max_size=20))
    return (
        struct.pack("!HB", data.draw(st.integers(0, 65535)), data.draw(st.integers(0, 255)))
        + name
        + data.draw(st.binary(max_size=100))
    )


@fuzz_settings(200, 20000)
@given(data=st.data())
def test_fabric_messages_raise_only_protocol_errors(data: st.DataObject) -> None:
    body = _fabric_body(data)
    for decode in (Hello.decode, decode_frame):
        with contextlib.suppress(ProtocolError):
            decode(body)
    COUNTS["fabric messages"] += 1


@fuzz_settings(100, 10000)
@given(stream=st.binary(max_size=300), kind=st.sampled_from([HELLO, FRAME, CLOSE, 0, 9]))
def test_fabric_stream_framing(stream: bytes, kind: int) -> None:
    """A stream of random bytes (or a real header over random ones) is read message by
    message until it ends or breaks the protocol: nothing else is raised."""

    async def read_all() -> int:
        reader = asyncio.StreamReader()
        reader.feed_data(struct.pack("!IB", len(stream) + 1, kind) + stream + stream)
        reader.feed_eof()
        count = 0
        while True:
            try:
                await read_message(reader)
            except (ProtocolError, asyncio.IncompleteReadError):
                return count
            count += 1

    loop = asyncio.new_event_loop()  # not asyncio.run: it would unset the thread's loop
    try:
        loop.run_until_complete(read_all())
    finally:
        loop.close()
    COUNTS["fabric streams"] += 1


# --------------------------------------------------------------------------- frames in a lab


def _ipv4(data: st.DataObject, protocol: int, payload: bytes) -> bytes:
    packet = IPv4(
        src=IPv4Address(data.draw(st.sampled_from(["10.1.32.84", "10.1.32.83", "0.0.0.0"]))),
        dst=ROUTER_IP,
        proto=protocol,
        payload=payload,
        ttl=data.draw(st.integers(0, 255)),
    )
    return packet.encode()


def _transport(data: st.DataObject) -> tuple[int, bytes]:
    protocol = data.draw(st.sampled_from([PROTO_ICMP, PROTO_UDP, PROTO_TCP, 99]))
    junk = data.draw(st.binary(max_size=60))
    if protocol == PROTO_ICMP:
        kind = data.draw(st.integers(0, 255))
        body = struct.pack("!BBHHH", kind, 0, 0, 1, 1) + junk
        return protocol, body[:2] + struct.pack("!H", checksum(body)) + body[4:]
    if protocol == PROTO_UDP:
        port = data.draw(st.sampled_from([1985, 53, 80, 0, 65535]))
        return protocol, struct.pack("!HHHH", 1985, port, 8 + len(junk), 0) + junk
    if protocol == PROTO_TCP:
        flags = data.draw(st.integers(0, 0x3F))
        offset = data.draw(st.sampled_from([5, 0, 15]))
        seq, ack = data.draw(st.integers(0, 2**32 - 1)), data.draw(st.integers(0, 2**32 - 1))
        head = struct.pack("!HHIIBBHHH", 40000, 80, seq, ack, offset << 4, flags, 1000, 0, 0)
        return protocol, head + junk
    return protocol, junk


@st.composite
def frames(draw: st.DrawFn, router_mac: bytes) -> bytes:
    data = draw(st.data())
    dst = draw(st.sampled_from([router_mac, b"\xff" * 6, b"\x01\x00\x5e\x00\x00\x02"]))
    src = bytes.fromhex("0000c0ffee01")
    kind = draw(st.sampled_from(["random", "arp", "ipv4", "raw ipv4"]))
    if kind == "random":
        return draw(st.binary(max_size=120))
    if kind == "arp":
        arp = draw(st.binary(min_size=0, max_size=40))
        return Ethernet(dst, src, ETH_ARP, arp).encode()
    if kind == "raw ipv4":
        return Ethernet(dst, src, ETH_IPV4, draw(st.binary(max_size=80))).encode()
    protocol, payload = _transport(data)
    return Ethernet(dst, src, ETH_IPV4, _ipv4(data, protocol, payload)).encode()


@pytest.fixture(scope="module")
def router_mac(ca: Fuzz) -> bytes:
    from iosemu.features.interfaces import Interfaces

    interface = ca.lab.router(ONE).feature(Interfaces).interfaces["GigabitEthernet0/0"]
    return bytes.fromhex(interface.mac.replace(".", ""))


@fuzz_settings(40, 5000)
@given(data=st.data())
def test_frames_delivered_to_a_router(ca: Fuzz, router_mac: bytes, data: st.DataObject) -> None:
    burst = data.draw(st.lists(frames(router_mac), min_size=1, max_size=10), label="frames")
    router = ca.lab.router(ONE)
    before, config = ca.state(), stable_body(config_body(router))
    port = ca.lab.fabric.port(ONE, "GigabitEthernet0/0")
    assert port is not None

    async def on_the_wire() -> None:  # delivered by the lab's loop, as the fabric does
        for frame in burst:
            port.deliver(frame)
        await asyncio.sleep(1)

    ca.lab.run(on_the_wire())
    unchanged_after(ca, before)
    assert stable_body(config_body(router)) == config
    COUNTS["frames"] += len(burst)
    # Still serving: one round trip over the same wire.
    if data.draw(st.integers(0, 9), label="check") == 0:
        ca.still_serving()
