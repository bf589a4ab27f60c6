"""The router's HTTP server: ``ip http server`` on TCP port 80 of every address it owns.

Other features publish pages by path (``Http.route``): the certificate server puts SCEP at
``/cgi-bin/pkiclient.exe``. Parsing is h11's (a well-kept HTTP/1.x state machine); this
file adds what a server around it needs: routing, limits, timeouts on the lab clock,
``Server: cisco-IOS``, and errors as status codes. Malformed input is answered with a 4xx
and the connection closed; nothing a client sends reaches a traceback (decision 8).

IOS's connection policy is ``ip http timeout-policy idle 180 life 180 requests 1`` by
default (``show ip http server status`` on classic IOS), so out of the box every response
closes its connection, even for HTTP/1.1. Raise ``requests`` and HTTP/1.1 clients (and
1.0 clients that ask for keep-alive) keep theirs. ``idle`` also bounds slow clients: a
request that has not arrived whole within ``idle`` seconds of its last byte, or within
``life`` seconds of the connection opening, is answered 408 and dropped.

``ip http secure-server`` is accepted and rendered, but no HTTPS listener exists.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import http
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.utils import format_datetime
from ipaddress import IPv4Address
from urllib.parse import unquote

import h11

from iosemu.device.router import Feature, Router
from iosemu.features.tcp import TcpStack, TcpWriter
from iosemu.parser.grammar import CONFIG, command
from iosemu.session import Ctx

log = logging.getLogger("iosemu.http")

PORT = 80
SERVER = "cisco-IOS"
MAX_HEADER = 16 * 1024  # request line and headers together
MAX_BODY = 64 * 1024  # a SCEP request with a 4096-bit key is under 8 kB
READ_SIZE = 4096
# IOS defaults (ip http timeout-policy): seconds idle, seconds of life, requests per connection.
IDLE, LIFE, REQUESTS = 180, 180, 1
METHODS = ("GET", "HEAD", "POST")


@dataclass
class HttpRequest:
    method: str
    target: str  # as sent: path and query
    headers: list[tuple[str, str]]  # names in lower case
    body: bytes = b""
    http_version: str = "1.1"
    peer: tuple[str, int] = ("0.0.0.0", 0)
    local: tuple[str, int] = ("0.0.0.0", 0)

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    @property
    def query(self) -> str:
        return self.target.split("?", 1)[1] if "?" in self.target else ""

    def header(self, name: str) -> str | None:
        name = name.lower()
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def param(self, name: str) -> str | None:
        """A query parameter, percent-decoded with ``unquote``: a ``+`` stays a ``+``.

        SCEP clients put raw base64 in ``message=``; form decoding (``parse_qs``,
        ``unquote_plus``) would turn its plus signs into spaces.
        """
        for part in self.query.split("&"):
            key, _, value = part.partition("=")
            if unquote(key) == name:
                return unquote(value)
        return None


@dataclass
class HttpResponse:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/html"
    headers: list[tuple[str, str]] = field(default_factory=list)


Handler = Callable[[HttpRequest], Awaitable[HttpResponse]]
Listener = Callable[[bool], None]


def error_page(status: int) -> HttpResponse:
    """A short error page (the wording of IOS's own pages is not known)."""
    phrase = _reason(status).decode()
    title = f"{status} {phrase}"
    body = f"<HTML><HEAD><TITLE>{title}</TITLE></HEAD><BODY><H1>{title}</H1></BODY></HTML>\n"
    return HttpResponse(status, body.encode(), "text/html")


def _reason(status: int) -> bytes:
    try:
        return http.HTTPStatus(status).phrase.encode()
    except ValueError:
        return b"Unknown"


class _Reject(Exception):
    """Stop reading this request and answer ``status`` (then close)."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class Http(Feature):
    def __init__(self, router: Router) -> None:
        super().__init__(router)
        self.enabled = False
        self.secure = False
        self.idle = IDLE
        self.life = LIFE
        self.requests = REQUESTS
        self.max_header = MAX_HEADER
        self.max_body = MAX_BODY
        self.routes: dict[str, Handler] = {}
        # Told when ``ip http server`` changes (the certificate server re-checks its state).
        self.listeners: list[Listener] = []
        self._connections: set[asyncio.Task[None]] = set()
        self.served = 0  # responses sent, for tests and benchmarks

    # --- what other features use -------------------------------------------------------

    def route(self, path: str, handler: Handler) -> None:
        """Serve ``path`` (exact, without the query) with ``handler``.

        Features are rebuilt at every boot, so register from a feature's ``__init__`` or
        ``started()``, not once per lab.
        """
        self.routes[path] = handler

    def unroute(self, path: str) -> None:
        self.routes.pop(path, None)

    def set_enabled(self, on: bool) -> None:
        if on == self.enabled:
            return
        self.enabled = on
        tcp = self.router.feature(TcpStack)
        if on:
            tcp.listen(PORT, self._accept)
        else:
            tcp.unlisten(PORT)
            self._drop_connections()
        for listener in list(self.listeners):
            try:
                listener(on)
            except Exception:
                log.exception("%s: http listener failed", self.router.name)

    # --- feature life cycle --------------------------------------------------------------

    def stopped(self) -> None:
        self._drop_connections()

    def _drop_connections(self) -> None:
        for task in list(self._connections):
            task.cancel()

    def config(self, slot: str) -> list[str]:
        if slot != "ip-services":
            return []
        out = [
            "ip http server" if self.enabled else "no ip http server",
            "ip http secure-server" if self.secure else "no ip http secure-server",
        ]
        if (self.idle, self.life, self.requests) != (IDLE, LIFE, REQUESTS):
            out.append(
                f"ip http timeout-policy idle {self.idle} life {self.life} requests {self.requests}"
            )
        return out

    # --- serving ----------------------------------------------------------------------

    def _accept(self, reader: asyncio.StreamReader, writer: TcpWriter) -> None:
        task = self.router.spawn(self._serve(reader, writer), "http")
        self._connections.add(task)
        task.add_done_callback(self._connections.discard)

    async def _serve(self, reader: asyncio.StreamReader, writer: TcpWriter) -> None:
        loop = self.router.loop
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=self.max_header)
        born = loop.time()
        count = 0
        try:
            while True:
                try:
                    request = await self._read_request(conn, reader, writer, born)
                except _Reject as reject:
                    await self._send(conn, writer, None, error_page(reject.status), close=True)
                    break
                if request is None:
                    break
                count += 1
                response = await self._dispatch(request)
                close = count >= self.requests or loop.time() - born >= self.life
                await self._send(conn, writer, request, response, close)
                if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                    break
                conn.start_next_cycle()
        except (ConnectionError, TimeoutError, OSError, h11.LocalProtocolError) as e:
            log.debug("%s: http connection ended: %s", self.router.name, e)
        except asyncio.CancelledError:
            writer.abort()
            raise
        except Exception:
            log.exception("%s: http connection failed", self.router.name)
        finally:
            if not writer.is_closing():
                writer.close()

    async def _read_request(
        self,
        conn: h11.Connection,
        reader: asyncio.StreamReader,
        writer: TcpWriter,
        born: float,
    ) -> HttpRequest | None:
        """The next whole request, or None when the client closed (or idled) between them."""
        loop = self.router.loop
        last = loop.time()
        head: h11.Request | None = None
        body = bytearray()
        started = False  # bytes of this request have arrived: a timeout now earns a 408
        while True:
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError as e:
                raise _Reject(e.error_status_hint) from None
            if event is h11.NEED_DATA:
                timeout = min(last + self.idle, born + self.life) - loop.time()
                if timeout <= 0:
                    if started:
                        raise _Reject(408)
                    return None
                try:
                    data = await asyncio.wait_for(reader.read(READ_SIZE), timeout)
                except TimeoutError:
                    if started:
                        raise _Reject(408) from None
                    return None
                except (ConnectionError, OSError):
                    return None
                if data:
                    started = True
                    last = loop.time()
                conn.receive_data(data)
                continue
            if isinstance(event, h11.Request):
                head = event
                # h11 bounds only an *incomplete* head; one that arrives whole is checked here.
                size = len(event.target) + sum(len(k) + len(v) + 4 for k, v in event.headers)
                if size > self.max_header:
                    raise _Reject(431)
                if event.http_version not in (b"1.0", b"1.1"):
                    raise _Reject(505)
                method = event.method.decode("ascii", "replace")
                if method not in METHODS:
                    raise _Reject(501)
                length = _header(event.headers, b"content-length")
                if length is not None and int(length) > self.max_body:
                    raise _Reject(413)
            elif isinstance(event, h11.Data):
                body += event.data
                if len(body) > self.max_body:
                    raise _Reject(413)
            elif isinstance(event, h11.EndOfMessage):
                assert head is not None
                return HttpRequest(
                    method=head.method.decode("ascii"),
                    target=head.target.decode("ascii", "replace"),
                    headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in head.headers],
                    body=bytes(body),
                    http_version=head.http_version.decode("ascii", "replace"),
                    peer=_address(writer.get_extra_info("peername")),
                    local=_address(writer.get_extra_info("sockname")),
                )
            elif isinstance(event, h11.ConnectionClosed):
                if started:
                    raise _Reject(400)  # cut off mid-request: h11 flags most of these itself
                return None
            else:  # PAUSED cannot happen before we answer; anything else is a bug in h11 use
                raise _Reject(400)

    async def _dispatch(self, request: HttpRequest) -> HttpResponse:
        handler = self.routes.get(request.path)
        if handler is None:
            return error_page(404)
        try:
            return await handler(request)
        except Exception:
            log.exception("%s: http handler for %s failed", self.router.name, request.path)
            return error_page(500)

    async def _send(
        self,
        conn: h11.Connection,
        writer: TcpWriter,
        request: HttpRequest | None,
        response: HttpResponse,
        close: bool,
    ) -> None:
        if conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return  # h11 cannot answer here (the request line itself was unreadable)
        headers = [
            ("Server", SERVER),
            ("Date", _http_date(self.router.clock.utc())),
            ("Content-Type", response.content_type),
            ("Content-Length", str(len(response.body))),
            *response.headers,
        ]
        if close:
            headers.append(("Connection", "close"))
        try:
            data = conn.send(
                h11.Response(
                    status_code=response.status,
                    headers=headers,
                    reason=_reason(response.status),
                )
            )
            head_only = request is not None and request.method == "HEAD"
            if response.body and not head_only:
                data += conn.send(h11.Data(data=response.body))
            data += conn.send(h11.EndOfMessage())
        except h11.LocalProtocolError as e:
            log.info("%s: http response not sent: %s", self.router.name, e)
            return
        writer.write(data)
        await writer.drain()
        self.served += 1


def _http_date(when: dt.datetime) -> str:
    when = when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)
    return format_datetime(when, usegmt=True)


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    for key, value in headers:
        if key == name:
            return value
    return None


def _address(value: object) -> tuple[str, int]:
    if isinstance(value, tuple) and len(value) == 2:
        return (str(value[0]), int(value[1]))
    return ("0.0.0.0", 0)


# --------------------------------------------------------------------------- client


@dataclass
class HttpReply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        name = name.lower()
        for key, value in self.headers:
            if key == name:
                return value
        return None


async def fetch(
    router: Router,
    address: IPv4Address,
    target: str,
    *,
    method: str = "GET",
    body: bytes = b"",
    headers: list[tuple[str, str]] | None = None,
    port: int = PORT,
    http_version: str = "1.1",
) -> HttpReply:
    """One HTTP request from ``router`` over the lab's TCP, on a connection of its own.

    Raises ``ConnectionError``/``TimeoutError`` when the server cannot be reached, and
    ``h11.RemoteProtocolError`` for an unreadable answer.
    """
    reader, writer = await router.feature(TcpStack).connect(address, port)
    try:
        return await exchange(
            reader, writer, str(address), target, method, body, headers, http_version
        )
    finally:
        writer.close()


async def fetch_host(
    port: int,
    target: str,
    *,
    method: str = "GET",
    body: bytes = b"",
    headers: list[tuple[str, str]] | None = None,
    host: str = "127.0.0.1",
) -> HttpReply:
    """The same from this machine over a real socket (a host port forward into the lab)."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        head = [("Connection", "close"), *(headers or [])]
        return await exchange(reader, writer, host, target, method, body, head)
    finally:
        writer.close()


def host_transport(port: int, host: str = "127.0.0.1") -> Callable[..., Awaitable[HttpReply]]:
    """``fetch_host`` as a SCEP client's transport: ``(method, target, body, headers)``."""

    async def send(
        method: str, target: str, body: bytes = b"", headers: list[tuple[str, str]] | None = None
    ) -> HttpReply:
        return await fetch_host(port, target, method=method, body=body, headers=headers, host=host)

    return send


async def exchange(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    host: str,
    target: str,
    method: str = "GET",
    body: bytes = b"",
    headers: list[tuple[str, str]] | None = None,
    http_version: str = "1.1",
) -> HttpReply:
    """Send one request on an open connection and read its answer (h11 both ways)."""
    conn = h11.Connection(h11.CLIENT)
    head = [("Host", host), *(headers or [])]
    if body or method == "POST":
        head.append(("Content-Length", str(len(body))))
    out = conn.send(h11.Request(method=method, target=target, headers=head))
    if body:
        out += conn.send(h11.Data(data=body))
    out += conn.send(h11.EndOfMessage())
    if http_version == "1.0":
        out = out.replace(b" HTTP/1.1\r\n", b" HTTP/1.0\r\n", 1)
    writer.write(out)
    await writer.drain()
    return await read_reply(conn, reader)


async def read_reply(conn: h11.Connection, reader: asyncio.StreamReader) -> HttpReply:
    """Read one response with an h11 client connection."""
    status = 0
    got: list[tuple[str, str]] = []
    data = bytearray()
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            conn.receive_data(await reader.read(READ_SIZE))
        elif isinstance(event, h11.Response):
            status = event.status_code
            got = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in event.headers]
        elif isinstance(event, h11.Data):
            data += event.data
        elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
            return HttpReply(status, got, bytes(data))


# --------------------------------------------------------------------------- commands


@command(CONFIG, "[no] ip http server", help="|HTTP server configuration|Enable HTTP server")
def ip_http_server(ctx: Ctx) -> None:
    ctx.feature(Http).set_enabled(not ctx.negate)


@command(CONFIG, "[no] ip http secure-server", help="||Enable HTTP secure server")
def ip_http_secure_server(ctx: Ctx) -> None:
    ctx.feature(Http).secure = not ctx.negate


@command(
    CONFIG,
    "[no] ip http timeout-policy idle <1-600>$idle life <1-86400>$life requests <1-86400>$requests",
    help="||Set HTTP server time-out policy parameters|Set idle time-out|"
    "Idle time-out value in seconds|Set server life time-out|"
    "Server life time-out value in seconds|Set maximum number of requests per connection|"
    "Maximum number of requests",
    no_syntax="ip http timeout-policy [idle <1-600>$idle life <1-86400>$life "
    "requests <1-86400>$requests]",
)
def ip_http_timeout_policy(
    ctx: Ctx, idle: int = IDLE, life: int = LIFE, requests: int = REQUESTS
) -> None:
    server = ctx.feature(Http)
    if ctx.negate:
        idle, life, requests = IDLE, LIFE, REQUESTS
    server.idle, server.life, server.requests = idle, life, requests
