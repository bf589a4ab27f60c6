"""Telnet consoles: one TCP port per router on 127.0.0.1, as a terminal server gives them.

A console port needs very little of telnet: tell the client that the far end echoes and
that there is no go-ahead (character mode), drop the client's option chatter, and double
0xFF bytes. That is written out here rather than taken from telnetlib3, whose server
negotiates a dozen options, waits up to four seconds for answers and applies an idle
timeout: each of those changes what an automation client sees on connect.

Echo is the router's business (the line discipline echoes), so a client that refuses
``WILL ECHO`` (netmiko does) still sees its typing echoed, as on a real console.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from iosemu.console.ios import IosConsole

log = logging.getLogger("iosemu.telnet")

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
ECHO, SGA = 1, 3

GREETING = bytes([IAC, WILL, ECHO, IAC, WILL, SGA])


class TelnetDecoder:
    """Strips telnet commands from a byte stream; collects option requests to answer."""

    def __init__(self) -> None:
        self._state = "data"
        self._verb = 0
        self.requests: list[tuple[int, int]] = []

    def feed(self, data: bytes) -> bytes:
        out = bytearray()
        for b in data:
            if self._state == "data":
                if b == IAC:
                    self._state = "iac"
                else:
                    out.append(b)
            elif self._state == "iac":
                if b == IAC:
                    out.append(IAC)
                    self._state = "data"
                elif b in (DO, DONT, WILL, WONT):
                    self._verb = b
                    self._state = "option"
                elif b == SB:
                    self._state = "sb"
                else:
                    self._state = "data"  # NOP, GA, AYT...: nothing to do on a console
            elif self._state == "option":
                self.requests.append((self._verb, b))
                self._state = "data"
            elif self._state == "sb":
                if b == IAC:
                    self._state = "sb-iac"
            elif self._state == "sb-iac":
                self._state = "data" if b == SE else "sb"
        return bytes(out)


def answer_options(requests: list[tuple[int, int]], agreed: set[tuple[int, int]]) -> bytes:
    """Replies that keep the negotiation from looping: accept ours, refuse the rest."""
    out = bytearray()
    for verb, option in requests:
        if verb == DO and option in (ECHO, SGA):
            continue  # the client agrees to what we offered
        if verb == DO:
            reply = (WONT, option)
        elif verb == WILL:
            reply = (DO, option) if option == SGA else (DONT, option)
        else:
            continue  # DONT/WONT: nothing to confirm for options we never enabled
        if reply not in agreed:
            agreed.add(reply)
            out += bytes([IAC, *reply])
    return bytes(out)


def telnet_sender(writer: asyncio.StreamWriter) -> Callable[[bytes], None]:
    """What a console writes, as telnet data (IAC doubled) on the connection."""

    def send(data: bytes) -> None:
        if not writer.is_closing():
            writer.write(data.replace(b"\xff", b"\xff\xff"))

    return send


async def pump_telnet(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, console: IosConsole
) -> None:
    """Feed a connection's keystrokes to ``console`` until the client hangs up, answering
    its option negotiation on the way."""
    decoder = TelnetDecoder()
    agreed: set[tuple[int, int]] = set()
    with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
        while data := await reader.read(4096):
            payload = decoder.feed(data)
            reply = answer_options(decoder.requests, agreed)
            decoder.requests.clear()
            if reply:
                writer.write(reply)
            if payload:
                console.feed(payload)


class PortServer:
    """A listening TCP port whose connections go to ``_client`` (port 0: any free one)."""

    def __init__(self, host: str, port: int) -> None:
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
        raise NotImplementedError


class TelnetConsoleServer(PortServer):
    """Serves one ``IosConsole`` on a TCP port."""

    def __init__(self, console_for: Callable[[], IosConsole], host: str, port: int) -> None:
        super().__init__(host, port)
        self.console_for = console_for

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        console = self.console_for()
        writer.write(GREETING)
        detach = console.attach(telnet_sender(writer))
        try:
            await pump_telnet(reader, writer, console)
        finally:
            detach()
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
