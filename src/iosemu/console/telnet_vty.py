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
from iosemu.console.telnet import GREETING, PortServer, pump_telnet, telnet_sender
from iosemu.device.router import Router
from iosemu.features.lines import Lines
from iosemu.vty_line import VtyLine

log = logging.getLogger("iosemu.telnet")


def refuse(sock: socket.socket | None) -> None:
    """Reset the connection, as a router with no line to give answers a SYN (RST)."""
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


class VtyTelnetServer(PortServer):
    """Telnet connections to ``router``'s vty lines on one TCP port."""

    def __init__(self, router: Router, host: str, port: int) -> None:
        super().__init__(host, port)
        self.router = router

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        router = self.router
        number = router.feature(Lines).take_vty("telnet") if router.state == "running" else None
        if number is None:
            refuse(writer.get_extra_info("socket"))
            writer.transport.abort()
            return
        peer = writer.get_extra_info("peername")
        console = IosConsole()
        vty = VtyLine(router, number, peer[0] if peer else "", console, writer.close)
        writer.write(GREETING)
        console.attach(telnet_sender(writer))
        task = router.spawn(vty.run_shell(), f"vty{number}")
        reading = asyncio.ensure_future(pump_telnet(reader, writer, console))
        try:
            await asyncio.wait([task, reading], return_when=asyncio.FIRST_COMPLETED)
        finally:
            task.cancel()
            reading.cancel()
            vty.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
