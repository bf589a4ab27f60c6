"""The router's HTTP server on the virtual clock: config, routing, keep-alive, limits, errors."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from ipaddress import IPv4Address

import pytest
from helpers import Cli, open_lab

from iosemu.api import Lab
from iosemu.boot import load_config
from iosemu.features.http import Http, HttpRequest, HttpResponse, fetch
from iosemu.features.running_config import config_body
from iosemu.features.tcp import TcpStack

ONE, TWO = "CA-server-1", "CA-server-2"
ADDRESSES = {ONE: "10.1.32.83", TWO: "10.1.32.84"}
SERVER = IPv4Address(ADDRESSES[ONE])
VIP = IPv4Address("10.1.32.86")


def configure(lab: Lab, name: str, text: str) -> None:
    lab.run(load_config(lab.router(name), text, lambda _: None))


@pytest.fixture
def lab() -> Iterator[Lab]:
    """Both routers addressed and up; CA-server-1 serves HTTP with one page."""
    lab = open_lab()
    for name, address in ADDRESSES.items():
        configure(lab, name, f"interface Gi0/0\n ip address {address} 255.255.255.0\n no sh\n")
    configure(lab, ONE, "ip http server\n")
    lab.run(asyncio.sleep(5))  # links and line protocols come up

    async def hello(request: HttpRequest) -> HttpResponse:
        text = f"{request.method} {request.target} from {request.peer[0]} {request.body!r}"
        return HttpResponse(200, text.encode(), "text/plain")

    lab.router(ONE).feature(Http).route("/hello", hello)
    yield lab
    lab.close()


def get(
    lab: Lab, target: str, to: IPv4Address = SERVER, frm: str = TWO, **kwargs: object
) -> tuple[int, dict[str, str], bytes]:
    reply = lab.run(fetch(lab.router(frm), to, target, **kwargs))  # type: ignore[arg-type]
    return reply.status, dict(reply.headers), reply.body


async def _raw(lab: Lab, data: bytes, address: IPv4Address, wait: float) -> bytes:
    reader, writer = await lab.router(TWO).feature(TcpStack).connect(address, 80)
    writer.write(data)
    got = b""
    loop = lab.loop
    deadline = loop.time() + wait
    try:
        while loop.time() < deadline:
            chunk = await asyncio.wait_for(reader.read(65536), deadline - loop.time())
            if not chunk:
                return got + b"<EOF>"
            got += chunk
    except TimeoutError:
        pass
    finally:
        writer.close()
    return got


def raw(lab: Lab, data: bytes, address: IPv4Address = SERVER, wait: float = 5.0) -> bytes:
    """Send ``data`` as is; everything the server sent within ``wait`` lab seconds
    (``<EOF>`` appended if it closed the connection)."""
    return lab.run(_raw(lab, data, address, wait))


# --------------------------------------------------------------------------- config


def test_running_config_shows_the_server_after_forward_protocol() -> None:
    lab = open_lab()
    try:
        body = config_body(lab.router(ONE))
        at = body.index("ip forward-protocol nd")
        assert body[at : at + 3] == [
            "ip forward-protocol nd",
            "no ip http server",
            "no ip http secure-server",
        ]
        cli = Cli(lab).configure()
        assert cli("ip http server") == ""
        assert cli("ip http secure-server") == ""
        assert cli("ip http timeout-policy idle 60 life 86400 requests 10000") == ""
        body = config_body(lab.router(ONE))
        assert body[at : at + 4] == [
            "ip forward-protocol nd",
            "ip http server",
            "ip http secure-server",
            "ip http timeout-policy idle 60 life 86400 requests 10000",
        ]
        assert cli("no ip http secure-server") == ""
        assert cli("no ip http timeout-policy") == ""
        assert cli("no ip http server") == ""
        assert config_body(lab.router(ONE))[at + 1 : at + 3] == [
            "no ip http server",
            "no ip http secure-server",
        ]
    finally:
        lab.close()


def test_listeners_hear_the_server_turned_on_and_off(lab: Lab) -> None:
    heard: list[bool] = []
    lab.router(ONE).feature(Http).listeners.append(heard.append)
    configure(lab, ONE, "ip http server\nno ip http server\nno ip http server\nip http server\n")
    assert heard == [False, True]


# --------------------------------------------------------------------------- serving


def test_a_route_answers_and_everything_else_is_404(lab: Lab) -> None:
    status, headers, body = get(lab, "/hello?x=1")
    assert status == 200
    assert body == b"GET /hello?x=1 from 10.1.32.84 b''"
    assert headers["server"] == "cisco-IOS"
    assert headers["content-type"] == "text/plain"
    assert headers["date"] == "Thu, 03 Jun 2010 01:38:08 GMT"
    status, headers, body = get(lab, "/nothing/here")
    assert status == 404 and b"404 Not Found" in body and headers["server"] == "cisco-IOS"


def test_post_body_and_head(lab: Lab) -> None:
    status, _, body = get(lab, "/hello", method="POST", body=b"\x00\x01abc")
    assert (status, body) == (200, b"POST /hello from 10.1.32.84 b'\\x00\\x01abc'")
    answer = raw(lab, b"HEAD /hello HTTP/1.0\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert answer.endswith(b"\r\n\r\n<EOF>")  # headers only
    assert b"Content-Length: 31\r\n" in answer


def test_http_1_0_and_the_ios_default_of_one_request_per_connection(lab: Lab) -> None:
    answer = raw(lab, b"GET /hello HTTP/1.0\r\nUser-Agent: x\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and answer.endswith(b"<EOF>")
    # HTTP/1.1 asks for keep-alive; IOS's "requests 1" closes anyway.
    two = b"GET /hello HTTP/1.1\r\nHost: a\r\n\r\n" * 2
    answer = raw(lab, two)
    assert answer.count(b"HTTP/1.1 200 OK") == 1
    assert b"Connection: close\r\n" in answer and answer.endswith(b"<EOF>")


def test_keep_alive_with_more_requests_per_connection(lab: Lab) -> None:
    configure(lab, ONE, "ip http timeout-policy idle 30 life 600 requests 3\n")
    answer = raw(lab, b"GET /hello HTTP/1.1\r\nHost: a\r\n\r\n" * 4, wait=10)
    assert answer.count(b"HTTP/1.1 200 OK") == 3
    assert answer.count(b"Connection: close") == 1 and answer.endswith(b"<EOF>")
    # A keep-alive connection left idle is closed after the idle time, silently.
    answer = raw(lab, b"GET /hello HTTP/1.1\r\nHost: a\r\n\r\n", wait=60)
    assert answer.count(b"200 OK") == 1 and b"Connection: close" not in answer
    assert answer.endswith(b"b''<EOF>")
    # HTTP/1.0 keeps the connection only when asked to.
    answer = raw(lab, b"GET /hello HTTP/1.0\r\n\r\n", wait=10)
    assert answer.endswith(b"<EOF>")


def test_protocol_errors_are_status_codes_and_the_server_carries_on(lab: Lab) -> None:
    cases = {
        b"GARBAGE\r\n\r\n": b"400",
        b"GET /hello HTTP/1.1\r\n\r\n": b"400",  # HTTP/1.1 without Host
        b"GET /hello HTTP/1.1\r\nHost: a\r\nX-Long: " + b"a" * 20000 + b"\r\n\r\n": b"431",
        b"POST /hello HTTP/1.0\r\nContent-Length: 100000\r\n\r\n": b"413",
        b"POST /hello HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        + (b"8000\r\n" + b"x" * 0x8000 + b"\r\n") * 3: b"413",
        b"DELETE /hello HTTP/1.0\r\n\r\n": b"501",
        b"GET /hello HTTP/9.9\r\n\r\n": b"505",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03": b"400",  # a TLS hello
    }
    for request, status in cases.items():
        answer = raw(lab, request)
        assert answer.startswith(b"HTTP/1.1 " + status), (request[:40], answer[:80])
        assert b"Server: cisco-IOS" in answer and answer.endswith(b"<EOF>")
    assert get(lab, "/hello")[0] == 200


def test_a_failing_handler_is_a_500(lab: Lab) -> None:
    async def broken(request: HttpRequest) -> HttpResponse:
        raise RuntimeError("bug")

    lab.router(ONE).feature(Http).route("/broken", broken)
    assert get(lab, "/broken")[0] == 500
    assert get(lab, "/hello")[0] == 200


def test_slow_clients_are_timed_out_on_the_lab_clock(lab: Lab) -> None:
    start = lab.loop.time()
    # Half a request, then nothing: a 408 after the idle time (180 s), and the close.
    answer = raw(lab, b"GET /hello HTTP/1.1\r\nHost: a\r\n", wait=400)
    assert answer.startswith(b"HTTP/1.1 408 ") and answer.endswith(b"<EOF>")
    assert 180 <= lab.loop.time() - start < 182
    # A client that connects and says nothing is closed without a word.
    assert raw(lab, b"", wait=400) == b"<EOF>"

    # One that trickles a byte a minute is cut at the connection's life (180 s).
    async def trickle() -> bytes:
        reader, writer = await lab.router(TWO).feature(TcpStack).connect(SERVER, 80)
        for byte in b"GET /hello HTTP/1.1\r\nHost: a\r\n\r\n":
            if writer.is_closing():  # the server gave up and closed
                break
            writer.write(bytes([byte]))
            await asyncio.sleep(60)
        return await reader.read(65536)

    start = lab.loop.time()
    assert lab.run(trickle()).startswith(b"HTTP/1.1 408 ")
    assert lab.loop.time() - start < 300


def test_no_ip_http_server_refuses_connections(lab: Lab) -> None:
    configure(lab, ONE, "no ip http server\n")
    with pytest.raises(ConnectionRefusedError):
        get(lab, "/hello")
    configure(lab, ONE, "ip http server\n")
    assert get(lab, "/hello")[0] == 200


def test_the_hsrp_virtual_ip_is_served_by_the_active_router(lab: Lab) -> None:
    configure(lab, TWO, "ip http server\n")

    def who(name: str):  # type: ignore[no-untyped-def]
        async def answer(request: HttpRequest) -> HttpResponse:
            return HttpResponse(200, f"{name} {request.local[0]}".encode(), "text/plain")

        return answer

    for name in (ONE, TWO):
        lab.router(name).feature(Http).route("/who", who(name))
        configure(lab, name, "interface Gi0/0\n standby 0 ip 10.1.32.86\n")
    lab.run(asyncio.sleep(30))  # CA-server-2 (the higher address) becomes Active
    status, _, body = get(lab, "/who", to=VIP, frm=ONE)
    assert (status, body) == (200, b"CA-server-2 10.1.32.86")


def test_the_server_comes_back_after_a_power_cycle_from_the_startup_config(lab: Lab) -> None:
    startup = "hostname CA-server-1\ninterface Gi0/0\n ip address 10.1.32.83 255.255.255.0\n"
    lab.router(ONE).nvram.write(
        "startup-config", (startup + " no shutdown\nip http server\n").encode()
    )
    lab.power_off(ONE)
    with pytest.raises((ConnectionRefusedError, TimeoutError)):
        get(lab, "/hello")
    lab.run(lab.power_on(ONE))
    lab.run(asyncio.sleep(5))
    http = lab.router(ONE).feature(Http)
    assert http.enabled and "/hello" not in http.routes  # a new feature: routes come anew
    assert get(lab, "/hello")[0] == 404
