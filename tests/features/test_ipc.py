"""The IPC zone's SCTP association: configuration, prompts, the channel and its failures."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from iosemu.api import Lab
from iosemu.boot import load_config
from iosemu.features.ipc import DEAD_AFTER, Ipc
from iosemu.features.running_config import config_body

PEERS = {"CA-server-1": ("10.1.32.83", "10.1.32.84"), "CA-server-2": ("10.1.32.84", "10.1.32.83")}


def guide_config(local: str, remote: str) -> str:
    """Steps 2-3 of the guide, as a startup configuration."""
    return f"""interface GigabitEthernet0/0
 ip address {local} 255.255.255.0
 no shutdown
ipc zone default
 association 1
  no shutdown
  protocol sctp
   local-port 5000
    local-ip {local}
   remote-port 5000
    remote-ip {remote}
"""


@pytest.fixture
def lab() -> Iterator[Lab]:
    lab = Lab.open("pki-ha", clock="virtual")
    for name, (local, remote) in PEERS.items():
        lab.router(name).nvram.write("startup-config", guide_config(local, remote).encode())
    lab.run(lab.start())
    yield lab
    lab.close()


def association(lab: Lab, name: str):  # type: ignore[no-untyped-def]
    return lab.router(name).feature(Ipc).association(1)


def test_the_association_comes_up_and_carries_messages_both_ways(lab: Lab) -> None:
    lab.run(asyncio.sleep(10))
    a1, a2 = association(lab, "CA-server-1"), association(lab, "CA-server-2")
    assert a1.up and a2.up
    got: list[tuple[str, bytes]] = []
    a1.handlers[9] = lambda payload: got.append(("CA-server-1", payload))
    a2.handlers[9] = lambda payload: got.append(("CA-server-2", payload))
    assert a1.send(9, b"first") and a1.send(9, b"second") and a2.send(9, b"back")
    lab.run(asyncio.sleep(0.1))
    assert [p for who, p in got if who == "CA-server-2"] == [b"first", b"second"]
    assert [p for who, p in got if who == "CA-server-1"] == [b"back"]


def test_loss_of_the_peer_is_noticed_and_its_return_too(lab: Lab) -> None:
    lab.run(asyncio.sleep(10))
    a1 = association(lab, "CA-server-1")
    changes: list[tuple[bool, float]] = []
    a1.state_handlers.append(lambda up: changes.append((up, lab.loop.time())))
    off_at = lab.loop.time()
    lab.power_off("CA-server-2")
    lab.run(asyncio.sleep(10))
    assert changes and changes[0][0] is False
    assert changes[0][1] - off_at <= DEAD_AFTER + 0.01
    lab.run(lab.power_on("CA-server-2"))
    lab.run(asyncio.sleep(10))
    assert a1.up and association(lab, "CA-server-2").up


def test_shutdown_and_no_shutdown_toggle_the_association(lab: Lab) -> None:
    lab.run(asyncio.sleep(10))
    router = lab.router("CA-server-1")
    toggle = "ipc zone default\n association 1\n  shutdown\n"
    lab.run(load_config(router, toggle, lambda text: None))
    assert not association(lab, "CA-server-1").up
    lab.run(asyncio.sleep(DEAD_AFTER + 1))
    assert not association(lab, "CA-server-2").up
    lab.run(load_config(router, "ipc zone default\n association 1\n  no shutdown\n", print))
    lab.run(asyncio.sleep(3))
    assert association(lab, "CA-server-1").up and association(lab, "CA-server-2").up


def test_a_wrong_remote_address_never_comes_up(lab: Lab) -> None:
    wrong = "ipc zone default\n association 1\n  protocol sctp\n   remote-port 5000\n"
    wrong += "    remote-ip 10.1.32.99\n"
    lab.run(load_config(lab.router("CA-server-1"), wrong, lambda text: None))
    lab.run(asyncio.sleep(30))
    assert not association(lab, "CA-server-1").up
    assert not association(lab, "CA-server-2").up


def test_running_config_renders_the_guide_block_and_parses_back(lab: Lab) -> None:
    body = config_body(lab.router("CA-server-2"))
    start = body.index("ipc zone default")
    assert body[start : start + 9] == [
        "ipc zone default",
        " association 1",
        "  no shutdown",
        "  protocol sctp",
        "   local-port 5000",
        "    local-ip 10.1.32.84",
        "   remote-port 5000",
        "    remote-ip 10.1.32.83",
        "!",
    ]


class _ResetWriter:
    """A connection the peer reset between the connect and the greeting (it reloaded)."""

    def write(self, data: bytes) -> None:
        raise ConnectionResetError("connection is not open")

    def abort(self) -> None:
        return None

    def is_closing(self) -> bool:
        return True


def test_a_reset_before_the_greeting_is_a_lost_association(lab: Lab) -> None:
    """The dialer must survive it: it used to die with the error, the pair Simplex for good."""
    ipc = lab.router("CA-server-1").feature(Ipc)
    assoc = ipc.association(1)

    async def serve() -> None:
        # The reader belongs to the lab's loop: made inside it.
        await ipc._serve(assoc, asyncio.StreamReader(), _ResetWriter())  # type: ignore[arg-type]

    lab.run(serve())
    assert not assoc.up and assoc._writer is None
    lab.run(asyncio.sleep(10))  # the real dialer still brings the association up
    assert assoc.up
