"""The TCP fabric's wire format, and the clock anchor nodes share: pure parts, no sockets."""

from __future__ import annotations

import asyncio
import os
import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from iosemu import cli
from iosemu.lab.tcp import (
    CLOSE,
    FRAME,
    HELLO,
    MAX_FRAME,
    MAX_MESSAGE,
    PROTOCOL_VERSION,
    Hello,
    ProtocolError,
    close_message,
    decode_frame,
    encode_frame,
    lab_digest,
    message,
    read_message,
)
from iosemu.lab.topology import builtin_lab, parse_lab
from iosemu.node import ANCHOR_FILE, AnchorError, ClockAnchor, join_clock

FRAME_BYTES = b"\xff" * 6 + b"\x00\x13\x19\xca\x63\x50" + b"\x08\x06" + b"x" * 28


def parse_stream(data: bytes) -> list[tuple[int, bytes]]:
    """Every message in ``data``, read as a node reads its socket."""

    async def run() -> list[tuple[int, bytes]]:
        reader = asyncio.StreamReader()
        reader.feed_data(data)
        reader.feed_eof()
        out = []
        while True:
            try:
                out.append(await read_message(reader))
            except asyncio.IncompleteReadError:
                return out

    return asyncio.run(run())


def test_hello_round_trip() -> None:
    digest = lab_digest(builtin_lab())
    data = Hello("pki-ha", "CA-server-1", digest).encode()
    [(kind, body)] = parse_stream(data)
    assert kind == HELLO
    hello = Hello.decode(body)
    assert hello == Hello("pki-ha", "CA-server-1", digest, PROTOCOL_VERSION)


def test_hello_of_another_version_is_read_only_up_to_its_version() -> None:
    body = struct.pack("!4sH8s", b"IOSF", 7, b"\0" * 8) + b"anything at all"
    assert Hello.decode(body).version == 7


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"IOSF", "short HELLO"),
        (struct.pack("!4sH8s", b"HTTP", 1, b"\0" * 8) + b"\0\0", "magic"),
        (struct.pack("!4sH8s", b"IOSF", 1, b"\0" * 8) + b"\x05ab", "past the end"),
        (struct.pack("!4sH8s", b"IOSF", 1, b"\0" * 8) + b"\x01a", "node name missing"),
        (struct.pack("!4sH8s", b"IOSF", 1, b"\0" * 8) + b"\x01a\x01b!", "trailing"),
        (struct.pack("!4sH8s", b"IOSF", 1, b"\0" * 8) + b"\x01\xff\x01b", "UTF-8"),
    ],
)
def test_malformed_hello(body: bytes, error: str) -> None:
    with pytest.raises(ProtocolError, match=error):
        Hello.decode(body)


def test_frame_round_trip() -> None:
    [(kind, body)] = parse_stream(encode_frame(3, "CA-server-1:GigabitEthernet0/0", FRAME_BYTES))
    assert kind == FRAME
    assert decode_frame(body) == (3, "CA-server-1:GigabitEthernet0/0", FRAME_BYTES)


def test_largest_frame_fits_a_message() -> None:
    data = encode_frame(65535, "x" * 255, b"\0" * MAX_FRAME)
    assert len(data) == 4 + MAX_MESSAGE
    assert parse_stream(data)[0][0] == FRAME


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"\x00", "short FRAME"),
        (b"\x00\x00\x09abc", "past the end"),
        (b"\x00\x00\x01a" + b"runt", "frame of 4 bytes"),
        (b"\x00\x00\x01a" + b"\0" * (MAX_FRAME + 1), "frame of"),
    ],
)
def test_malformed_frame(body: bytes, error: str) -> None:
    with pytest.raises(ProtocolError, match=error):
        decode_frame(body)


def test_sender_refuses_what_a_receiver_would_drop() -> None:
    with pytest.raises(ProtocolError):
        encode_frame(0, "a:b", b"short")
    with pytest.raises(ProtocolError):
        encode_frame(0, "a:b", b"\0" * (MAX_FRAME + 1))


@pytest.mark.parametrize("length", [0, MAX_MESSAGE + 1, 0x47455420])  # 0x47455420: "GET "
def test_impossible_lengths_end_the_stream(length: int) -> None:
    with pytest.raises(ProtocolError, match="out of bounds"):
        parse_stream(struct.pack("!I", length) + b"\x02" * 16)


def test_close_reason_is_bounded() -> None:
    [(kind, body)] = parse_stream(close_message("x" * 5000))
    assert kind == CLOSE and len(body) == 1024
    assert message(99, b"")[4] == 99


def test_lab_digest_covers_node_order_and_links() -> None:
    def lab(nodes: list[str], links: list[list[str]]) -> bytes:
        data = {
            "name": "t",
            "topology": {
                "nodes": {n: {} for n in nodes},
                "links": [{"endpoints": e} for e in links],
            },
        }
        return lab_digest(parse_lab(data))

    base = lab(["A", "B"], [["A:Gi0/0", "B:Gi0/0"]])
    assert base == lab(["A", "B"], [["A:GigabitEthernet0/0", "B:GigabitEthernet0/0"]])
    assert base != lab(["B", "A"], [["A:Gi0/0", "B:Gi0/0"]])
    assert base != lab(["A", "B"], [["A:Gi0/1", "B:Gi0/0"]])


# --------------------------------------------------------------------------- clock anchor


def test_first_node_anchors_and_the_next_one_joins(tmp_path: Path) -> None:
    start = datetime(2010, 6, 3, 1, 38, tzinfo=UTC)
    first, live1 = join_clock(tmp_path, "A", ("scaled", 10.0), start=start)
    assert (first.clock, first.speed, first.epoch, first.written_by) == ("scaled", 10.0, start, "A")
    assert ClockAnchor.from_json((tmp_path / ANCHOR_FILE).read_text()) == first
    # B asks for nothing in particular: it joins A's clock, whatever its lab file says.
    second, live2 = join_clock(tmp_path, "B", None, ("real", 1.0))
    assert second == first
    # C asks for another clock: refused, with what to do about it.
    with pytest.raises(AnchorError, match=r"scaled clock at 10x .*without --clock/--speed"):
        join_clock(tmp_path, "C", ("real", 1.0))
    with pytest.raises(AnchorError):
        join_clock(tmp_path, "C", ("scaled", 5.0))
    # Asking for the clock it has is fine.
    third, live3 = join_clock(tmp_path, "C", ("scaled", 10.0))
    assert third == first
    for fd in (live1, live2, live3):
        os.close(fd)


def test_an_anchor_without_live_nodes_is_replaced(tmp_path: Path) -> None:
    old, live = join_clock(tmp_path, "A", ("scaled", 10.0))
    os.close(live)  # A's process ended
    new, live = join_clock(tmp_path, "B", None)
    os.close(live)
    assert (new.clock, new.speed, new.written_by) == ("real", 1.0, "B")
    assert new.wall >= old.wall


def test_calendar_of_a_scaled_anchor() -> None:
    epoch = datetime(2010, 6, 3, 1, 38, tzinfo=UTC)
    anchor = ClockAnchor("scaled", 10.0, 1000.0, epoch)
    assert anchor.calendar_at(1003.5) == epoch + timedelta(seconds=35)


# --------------------------------------------------------------------------- command line


def test_node_refuses_the_virtual_clock_and_unknown_routers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lab = tmp_path / "virtual.yml"
    lab.write_text("name: v\nclock: virtual\ntopology:\n  nodes:\n    A: {}\n")
    state = str(tmp_path / "state")
    assert cli.main(["node", "A", str(lab), "--state", state]) == 2
    assert "virtual clock, which cannot be shared between processes" in capsys.readouterr().err
    assert cli.main(["node", "Z", str(lab), "--state", state]) == 2
    assert "no router Z in lab v (A)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["node", "A", str(lab), "--clock", "virtual"])
    # Nothing was started, so nothing was anchored.
    assert not (tmp_path / "state" / ANCHOR_FILE).exists()
