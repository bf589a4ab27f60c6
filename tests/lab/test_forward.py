"""Host port forwards: the lab file key, and a real socket reaching the HSRP virtual IP.

The relay needs real sockets, so the lab runs on the scaled clock (20x): HSRP's election
and failover take about two seconds of wall time.
"""

from __future__ import annotations

import asyncio
import copy
import socket
from ipaddress import IPv4Address, IPv4Interface

import pytest

from iosemu.api import Lab
from iosemu.boot import load_config
from iosemu.features.http import Http, HttpRequest, HttpResponse
from iosemu.lab.forward import ForwardError
from iosemu.lab.topology import (
    TopologyError,
    builtin_lab,
    parse_forward_option,
    parse_lab,
)

ONE, TWO = "CA-server-1", "CA-server-2"
SPEED = 20.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_lab_file_key_and_the_command_line_option() -> None:
    data = {
        "topology": {"nodes": {"R1": {}}},
        "forwards": [
            {"host-port": 8080, "to": "10.1.32.86:80"},
            {"host-port": 8023, "to": "10.9.0.1:23", "address": "10.9.0.99/16"},
        ],
    }
    spec = parse_lab(data)
    first, second = spec.forwards
    assert (first.host_port, first.target, first.port) == (8080, IPv4Address("10.1.32.86"), 80)
    assert first.address == IPv4Interface("10.1.32.250/24")
    assert second.address == IPv4Interface("10.9.0.99/16")
    option = parse_forward_option("10.1.32.250:80=9000")
    assert option.address == IPv4Interface("10.1.32.251/24")  # never the target itself
    for bad in (
        {"host-port": 8080, "to": "10.1.32.86"},
        {"host-port": 0, "to": "10.1.32.86:80"},
        {"host-port": 8080, "to": "nowhere:80"},
        {"host-port": 8080, "to": "10.1.32.86:80", "address": "10.1.32.86/24"},
    ):
        with pytest.raises(TopologyError):
            parse_lab({**data, "forwards": [bad]})
    with pytest.raises(TopologyError):
        parse_lab({**data, "forwards": [data["forwards"][0]] * 2})  # type: ignore[index]
    with pytest.raises(TopologyError):
        parse_forward_option("10.1.32.86:80")


def test_a_virtual_lab_refuses_forwards() -> None:
    spec = copy.deepcopy(builtin_lab())
    spec.forwards.append(parse_forward_option(f"10.1.32.86:80={free_port()}"))
    with Lab(spec, clock="virtual") as lab, pytest.raises(ForwardError):
        lab.run(lab.start_forwards())


async def http_get(port: int, path: str) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.0\r\nUser-Agent: test\r\n\r\n".encode())
    await writer.drain()
    data = await reader.read()
    writer.close()
    return data


def test_a_host_socket_reaches_the_vip_and_follows_it_on_failover() -> None:
    port = free_port()
    spec = copy.deepcopy(builtin_lab())
    spec.forwards.append(parse_forward_option(f"10.1.32.86:80={port}"))
    lab = Lab(spec, clock="scaled", speed=SPEED, boot_delay=0.5)

    async def scenario() -> list[bytes]:
        await lab.start()
        for name, address in ((ONE, "10.1.32.83"), (TWO, "10.1.32.84")):
            config = (
                f"interface Gi0/0\n ip address {address} 255.255.255.0\n"
                " standby 0 ip 10.1.32.86\n no shutdown\nip http server\n"
            )
            await load_config(lab.router(name), config, lambda _: None)

            async def who(request: HttpRequest, name: str = name) -> HttpResponse:
                return HttpResponse(200, f"{name} via {request.peer[0]}".encode(), "text/plain")

            lab.router(name).feature(Http).route("/who", who)
        await lab.start_forwards()
        await asyncio.sleep(20)  # links up, then HSRP elects CA-server-2 (higher address)
        answers = [await http_get(port, "/who")]
        lab.power_off(TWO)
        await asyncio.sleep(15)  # hold time: CA-server-1 takes the VIP over
        answers.append(await http_get(port, "/who"))
        return answers

    try:
        before, after = lab.run(scenario())
    finally:
        lab.close()
    assert before.startswith(b"HTTP/1.1 200 OK\r\n") and b"Server: cisco-IOS" in before
    assert before.endswith(b"\r\n\r\nCA-server-2 via 10.1.32.250")
    assert after.endswith(b"\r\n\r\nCA-server-1 via 10.1.32.250")


def test_an_unreachable_target_resets_the_host_connection() -> None:
    port = free_port()
    spec = copy.deepcopy(builtin_lab())
    spec.forwards.append(parse_forward_option(f"10.1.32.99:80={port}"))
    lab = Lab(spec, clock="scaled", speed=SPEED, boot_delay=0.5)

    async def scenario() -> bytes:
        await lab.start()
        await load_config(
            lab.router(ONE),
            "interface Gi0/0\n ip address 10.1.32.83 255.255.255.0\n no sh\n",
            lambda _: None,
        )
        await lab.start_forwards()
        await asyncio.sleep(5)
        try:
            return await http_get(port, "/")  # nobody has 10.1.32.99: the SYNs go unanswered
        except ConnectionResetError:
            return b"reset"

    try:
        assert lab.run(scenario()) in (b"", b"reset")
    finally:
        lab.close()
