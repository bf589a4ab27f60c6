"""Wire formats: Ethernet II, ARP, IPv4, ICMP echo, UDP and a lossless TCP.

Frames on the lab's segments are real bytes in real layouts, so the same frames cross a
process boundary on the TCP fabric unchanged, and a malformed one is caught where it is
parsed (``PacketError``) instead of deep inside a feature.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv4Address

BROADCAST_MAC = b"\xff" * 6
ETH_IPV4 = 0x0800
ETH_ARP = 0x0806
PROTO_ICMP = 1
PROTO_TCP = 6
PROTO_UDP = 17


class PacketError(ValueError):
    """Bytes that are not a well-formed packet of the expected kind."""


def mac_bytes(text: str) -> bytes:
    """``0013.19ca.6350`` -> 6 bytes."""
    digits = text.replace(".", "").replace(":", "").replace("-", "")
    if len(digits) != 12:
        raise ValueError(f"not a MAC address: {text}")
    return bytes.fromhex(digits)


def mac_text(raw: bytes) -> str:
    h = raw.hex()
    return f"{h[0:4]}.{h[4:8]}.{h[8:12]}"


def multicast_mac(address: IPv4Address) -> bytes:
    """The Ethernet group address of an IPv4 multicast address (01:00:5e + low 23 bits)."""
    low = int(address) & 0x7FFFFF
    return b"\x01\x00\x5e" + low.to_bytes(3, "big")


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


# --------------------------------------------------------------------------- Ethernet


@dataclass(frozen=True)
class Ethernet:
    dst: bytes
    src: bytes
    ethertype: int
    payload: bytes

    def encode(self) -> bytes:
        return self.dst + self.src + struct.pack("!H", self.ethertype) + self.payload

    @classmethod
    def decode(cls, data: bytes) -> Ethernet:
        if len(data) < 14:
            raise PacketError("runt frame")
        (ethertype,) = struct.unpack("!H", data[12:14])
        return cls(data[0:6], data[6:12], ethertype, data[14:])


# --------------------------------------------------------------------------- ARP


@dataclass(frozen=True)
class Arp:
    op: int  # 1 request, 2 reply
    sender_mac: bytes
    sender_ip: IPv4Address
    target_mac: bytes
    target_ip: IPv4Address

    REQUEST = 1
    REPLY = 2

    def encode(self) -> bytes:
        return (
            struct.pack("!HHBBH", 1, ETH_IPV4, 6, 4, self.op)
            + self.sender_mac
            + self.sender_ip.packed
            + self.target_mac
            + self.target_ip.packed
        )

    @classmethod
    def decode(cls, data: bytes) -> Arp:
        if len(data) < 28:
            raise PacketError("short ARP packet")
        htype, ptype, hlen, plen, op = struct.unpack("!HHBBH", data[:8])
        if (htype, ptype, hlen, plen) != (1, ETH_IPV4, 6, 4) or op not in (1, 2):
            raise PacketError("not an Ethernet/IPv4 ARP packet")
        return cls(
            op,
            data[8:14],
            IPv4Address(data[14:18]),
            data[18:24],
            IPv4Address(data[24:28]),
        )


# --------------------------------------------------------------------------- IPv4


@dataclass(frozen=True)
class IPv4:
    src: IPv4Address
    dst: IPv4Address
    proto: int
    payload: bytes
    ttl: int = 255
    ident: int = 0

    def encode(self) -> bytes:
        total = 20 + len(self.payload)
        header = struct.pack(
            "!BBHHHBBH4s4s",
            0x45,
            0,
            total,
            self.ident & 0xFFFF,
            0,
            self.ttl,
            self.proto,
            0,
            self.src.packed,
            self.dst.packed,
        )
        header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
        return header + self.payload

    @classmethod
    def decode(cls, data: bytes) -> IPv4:
        if len(data) < 20:
            raise PacketError("short IPv4 header")
        ver_ihl, _, total, ident, _, ttl, proto, _, src, dst = struct.unpack(
            "!BBHHHBBH4s4s", data[:20]
        )
        ihl = (ver_ihl & 0x0F) * 4
        if ver_ihl >> 4 != 4 or ihl < 20 or total < ihl or total > len(data):
            raise PacketError("bad IPv4 header")
        if checksum(data[:ihl]) != 0:
            raise PacketError("bad IPv4 header checksum")
        return cls(IPv4Address(src), IPv4Address(dst), proto, data[ihl:total], ttl, ident)


# --------------------------------------------------------------------------- ICMP


@dataclass(frozen=True)
class Icmp:
    type: int  # 0 echo reply, 3 unreachable, 8 echo request
    code: int
    ident: int
    seq: int
    data: bytes

    ECHO_REPLY = 0
    UNREACHABLE = 3
    ECHO_REQUEST = 8

    def encode(self) -> bytes:
        body = struct.pack("!BBHHH", self.type, self.code, 0, self.ident, self.seq) + self.data
        return body[:2] + struct.pack("!H", checksum(body)) + body[4:]

    @classmethod
    def decode(cls, data: bytes) -> Icmp:
        if len(data) < 8:
            raise PacketError("short ICMP message")
        if checksum(data) != 0:
            raise PacketError("bad ICMP checksum")
        t, code, _, ident, seq = struct.unpack("!BBHHH", data[:8])
        return cls(t, code, ident, seq, data[8:])


# --------------------------------------------------------------------------- UDP


@dataclass(frozen=True)
class Udp:
    src_port: int
    dst_port: int
    payload: bytes

    def encode(self) -> bytes:
        # The checksum is optional in IPv4 UDP; zero means "not computed".
        return struct.pack("!HHHH", self.src_port, self.dst_port, 8 + len(self.payload), 0) + (
            self.payload
        )

    @classmethod
    def decode(cls, data: bytes) -> Udp:
        if len(data) < 8:
            raise PacketError("short UDP header")
        src, dst, length, _ = struct.unpack("!HHHH", data[:8])
        if length < 8 or length > len(data):
            raise PacketError("bad UDP length")
        return cls(src, dst, data[8:length])


# --------------------------------------------------------------------------- TCP


@dataclass(frozen=True)
class Tcp:
    """A TCP segment. The fabric never loses or reorders, so no retransmission is needed."""

    src_port: int
    dst_port: int
    seq: int
    ack: int
    flags: int
    payload: bytes = b""

    FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10

    def encode(self) -> bytes:
        return (
            struct.pack(
                "!HHIIBBHHH",
                self.src_port,
                self.dst_port,
                self.seq & 0xFFFFFFFF,
                self.ack & 0xFFFFFFFF,
                5 << 4,
                self.flags,
                65535,
                0,
                0,
            )
            + self.payload
        )

    @classmethod
    def decode(cls, data: bytes) -> Tcp:
        if len(data) < 20:
            raise PacketError("short TCP header")
        src, dst, seq, ack, offset, flags, _, _, _ = struct.unpack("!HHIIBBHHH", data[:20])
        start = (offset >> 4) * 4
        if start < 20 or start > len(data):
            raise PacketError("bad TCP data offset")
        return cls(src, dst, seq, ack, flags, data[start:])
