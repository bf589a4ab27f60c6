"""Telnet to a router itself (its vty lines), on a host port per router.

The console port (console/telnet.py) is ``line con 0``: one shared line that is always
there. This port is what ``telnet 10.1.32.83`` would reach: each connection takes a vty
line of its own (vty_line.py), is refused when none accepts telnet (``transport input``)
or is free, logs in as the line says and is closed when its exec ends. The telnet option
handling is the console port's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct

from iosemu.console.ios import IosConsole
from iosemu.console.telnet import GREETING, TelnetDecoder, answer_options
from iosemu.device.router import Router
from iosemu.features.lines import Lines
from iosemu.vty_line import VtyLine

log = logging.getLogger("iosemu.telnet")


def refuse(sock: socket.socket | None) -> None:
    """Reset the connection, as a router with no line to give answers a SYN (RST)."""
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


class VtyTelnetServer:
    """Telnet connections to ``router``'s vty lines on one TCP port."""

    def __init__(self, router: Router, host: str, port: int) -> None:
        self.router = router
        self.host = host
        self.port = port
        self.server: asyncio.Server | None = None

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._client, self.host, self.port)
        if self.port == 0:
            self.port = self.server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await self.server.wait_closed()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        router = self.router
        number = router.feature(Lines).take_vty("telnet") if router.state == "running" else None
        if number is None:
            refuse(writer.get_extra_info("socket"))
            writer.transport.abort()
            return
        peer = writer.get_extra_info("peername")
        console = IosConsole()
        decoder = TelnetDecoder()
        agreed: set[tuple[int, int]] = set()

        def send(data: bytes) -> None:
            if not writer.is_closing():
                writer.write(data.replace(b"\xff", b"\xff\xff"))

        vty = VtyLine(router, number, peer[0] if peer else "", console, writer.close)
        writer.write(GREETING)
        console.attach(send)
        task = router.spawn(vty.run_shell(), f"vty{number}")
        reading = asyncio.ensure_future(self._read(reader, writer, decoder, agreed, console))
        try:
            await asyncio.wait([task, reading], return_when=asyncio.FIRST_COMPLETED)
        finally:
            task.cancel()
            reading.cancel()
            vty.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    @staticmethod
    async def _read(
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        decoder: TelnetDecoder,
        agreed: set[tuple[int, int]],
        console: IosConsole,
    ) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while data := await reader.read(4096):
                payload = decoder.feed(data)
                reply = answer_options(decoder.requests, agreed)
                decoder.requests.clear()
                if reply:
                    writer.write(reply)
                if payload:
                    console.feed(payload)
