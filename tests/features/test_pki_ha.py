"""PKI high availability (issue 6): the standby CA mirrors the active and takes over.

Each test runs the guide for real on the virtual clock: steps 1-4 typed on both routers,
saved, reloaded, the pair formed (CA-server-2 ACTIVE, CA-server-1 STANDBY HOT), then step 5
on the active: ``crypto pki server PKI-HA`` with ``redundancy`` and ``no shutdown``. Clients
are a third party: ``ScepClient`` on a hidden lab host (the kind a host port forward uses)
at 10.1.32.250, enrolling at the HSRP virtual IP 10.1.32.86.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address, IPv4Interface

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from helpers import Cli
from test_redundancy import guide_lines, hot, rf, save_and_reload, wait, wait_for
from test_scep import Requester, requester

from iosemu.api import Lab
from iosemu.features.http import fetch
from iosemu.features.ip import Ip
from iosemu.features.pki.ca import Change
from iosemu.features.pki.ha import PkiHa, sync_lags
from iosemu.features.pki.keys import Keys
from iosemu.features.pki.objects import verify_signed_by
from iosemu.features.pki.scep import SCEP_PATH, ScepClient, lab_transport
from iosemu.features.pki.server import CertificateServer
from iosemu.features.redundancy import ACTIVE, INITIALIZATION, STANDBY_HOT
from iosemu.lab.forward import LabHost

ONE, TWO = "CA-server-1", "CA-server-2"  # the standby and the active after bring-up
VIP = IPv4Address("10.1.32.86")
PASS = "cisco123"


def cs(lab: Lab, name: str) -> CertificateServer:
    return lab.router(name).feature(CertificateServer)


def run(lab: Lab, name: str, *lines: str) -> str:
    cli = Cli(lab, name)
    return "".join(cli(line) for line in lines)


def bring_up(lab: Lab, *server_lines: str) -> None:
    """Steps 1-4 on both, the pair formed, then step 5 on the active."""
    for name in (ONE, TWO):
        out = Cli(lab, name).configure().run_all(["ip http server", *guide_lines(name)])
        assert out == ""
    save_and_reload(lab, ONE, TWO)
    wait_for(lab, lambda: hot(lab), "STANDBY HOT")
    config = Cli(lab, TWO).configure()
    assert config.run_all(["crypto pki server PKI-HA", "redundancy", *server_lines]) == ""
    assert "% Certificate Server enabled." in config("no shutdown", PASS, PASS)
    wait_for(lab, lambda: cs(lab, ONE).enabled, "an enabled standby CA")


@dataclass
class Clients:
    """Third-party SCEP clients at the virtual IP, each with its own key and subject."""

    lab: Lab
    client: ScepClient
    made: int = 0
    certs: list[x509.Certificate] = field(default_factory=list)

    def next(self) -> Requester:
        self.made += 1
        who = requester(self.made % 4, f"client{self.made}.lab.local")
        # A few keys serve every client: the transaction ID tells their requests apart.
        return replace(who, tx=f"{who.tx}-{self.made}")

    def enroll(self) -> x509.Certificate:
        who = self.next()
        self.client.ca_cert = None  # ask the VIP for the CA certificate each time
        rep = self.lab.run(self.client.enroll(who.csr, who.key, who.signer, who.tx))
        assert rep.status.name == "SUCCESS", rep
        [cert] = rep.certs
        self.certs.append(cert)
        return cert


@pytest.fixture
def clients(lab: Lab) -> Clients:
    host = LabHost(lab, IPv4Interface("10.1.32.250/24"), lab.fabric.segments[0], 0)
    lab.forwards.hosts[host.address.ip] = host  # closed with the lab
    return Clients(lab, ScepClient(lab_transport(host.router, VIP)))


def mirror(lab: Lab) -> tuple[object, ...]:
    """What must be the same on both units: certificate, key, serial, CRL, requests."""
    out = []
    for name in (ONE, TWO):
        server = cs(lab, name)
        ca = server.ca
        assert ca is not None, f"{name} runs no CA ({server.state}, {server.status})"
        requests = sorted((r.id, r.state, r.serial, r.transaction_id) for r in ca.requests.values())
        out.append((ca.cert_der, ca.key.private_numbers(), ca.serial, ca.crl_der, requests))
    return tuple(out)


def assert_mirrored(lab: Lab) -> None:
    standby, active = mirror(lab)
    assert standby == active
    shows = [run(lab, name, "show crypto pki server PKI-HA") for name in (ONE, TWO)]
    assert shows[0].replace("This is standby.", "This is active.") == shows[1]
    assert shows[0].endswith("    Redundancy configured. This is standby.\n")
    for what in ("crl", "requests"):
        texts = [run(lab, n, f"show crypto pki server PKI-HA {what}") for n in (ONE, TWO)]
        assert texts[0] == texts[1]


def revoked(lab: Lab, name: str) -> set[int]:
    ca = cs(lab, name).ca
    assert ca is not None
    return {entry.serial_number for entry in ca.crl}


# --------------------------------------------------------------------------- bring-up


def test_bring_up_mirrors_the_ca_certificate_key_serial_and_crl(lab: Lab) -> None:
    bring_up(lab)
    assert_mirrored(lab)
    show = run(lab, ONE, "show crypto pki server PKI-HA").splitlines()
    assert show[1:3] == ["    Status: enabled", "    State: enabled"]
    assert "    Last certificate issued serial number (hex): 1" in show
    der = cs(lab, TWO).ca_cert().public_bytes(serialization.Encoding.DER)  # type: ignore[union-attr]
    assert cs(lab, ONE).ca_cert().public_bytes(serialization.Encoding.DER) == der  # type: ignore[union-attr]
    assert run(lab, ONE, "show crypto pki certificates") == run(
        lab, TWO, "show crypto pki certificates"
    )
    # The CA key: the active's, with its generation time; the ".server" key is each one's.
    keys = [run(lab, n, "show crypto key mypubkey rsa PKI-HA") for n in (ONE, TWO)]
    assert keys[0] == keys[1]
    assert " Key is not exportable. Redundancy enabled.\n" in keys[0]
    temporary = [lab.router(n).feature(Keys).get("PKI-HA.server") for n in (ONE, TWO)]
    assert temporary[0] is not None and temporary[1] is not None
    assert temporary[0].key.private_numbers() != temporary[1].key.private_numbers()


def test_the_standby_serves_no_scep(lab: Lab, clients: Clients) -> None:
    bring_up(lab, "grant auto")
    host = lab.forwards.hosts[IPv4Address("10.1.32.250")].router
    target = f"{SCEP_PATH}?operation=GetCACaps&message=CA"
    standby = lab.run(fetch(host, IPv4Address("10.1.32.83"), target))
    active = lab.run(fetch(host, IPv4Address("10.1.32.84"), target))
    assert (standby.status, active.status) == (404, 200)
    assert lab.router(TWO).feature(Ip).is_local(VIP)
    assert not lab.router(ONE).feature(Ip).is_local(VIP)
    clients.enroll()
    ca = cs(lab, ONE).ca
    assert ca is not None and ca.issued == {}  # it knows the serial, it made no certificate


# --------------------------------------------------------------------------- issuing


def test_grants_issues_and_revocations_reach_the_standby(lab: Lab, clients: Clients) -> None:
    bring_up(lab)
    who = [clients.next() for _ in range(3)]
    for w in who:
        rep = lab.run(clients.client.enroll(w.csr, w.key, w.signer, w.tx))
        assert rep.status.name == "PENDING"
    assert_mirrored(lab)  # three pending requests on both
    assert run(lab, TWO, "crypto pki server PKI-HA grant 1") == ""
    assert run(lab, TWO, "crypto pki server PKI-HA reject 2") == ""
    assert_mirrored(lab)
    rep = lab.run(clients.client.poll(who[0].csr.subject, who[0].key, who[0].signer, who[0].tx))
    assert rep.status.name == "SUCCESS" and rep.certs[0].serial_number == 2
    assert run(lab, TWO, "crypto pki server PKI-HA grant all") == ""
    assert run(lab, TWO, "crypto pki server PKI-HA revoke 2") == ""
    assert_mirrored(lab)
    assert revoked(lab, ONE) == {2}
    assert run(lab, TWO, "crypto pki server PKI-HA remove all") == ""
    assert_mirrored(lab)
    assert cs(lab, ONE).ca.requests == {}  # type: ignore[union-attr]
    assert "Last certificate issued serial number (hex): 3" in run(
        lab, ONE, "show crypto pki server"
    )


def test_the_standby_has_each_serial_before_the_client_has_its_certificate(
    lab: Lab, clients: Clients
) -> None:
    bring_up(lab, "grant auto")
    active = cs(lab, TWO).ca
    assert active is not None
    seen: list[tuple[int, int]] = []

    async def after_the_others(change: Change) -> None:
        # Runs after the server's own hooks (persist, tell the standby), before the
        # certificate exists: the standby must already have the serial.
        if change.kind == "serial" and change.serial is not None:
            standby = cs(lab, ONE).ca
            assert standby is not None
            seen.append((change.serial, standby.serial))

    active.commit_hooks.append(after_the_others)
    for _ in range(3):
        clients.enroll()
    assert seen == [(2, 2), (3, 3), (4, 4)]
    lags = sync_lags(lab.router(TWO).feature(PkiHa), lab.router(ONE).feature(PkiHa))
    assert lags and all(0 < lag < 0.01 for lag in lags)  # one lab hop of 0.5 ms, and CPU


# --------------------------------------------------------------------------- failover


def test_after_power_off_the_new_active_continues_serials_and_crl(
    lab: Lab, clients: Clients
) -> None:
    bring_up(lab, "grant auto")
    before = [clients.enroll().serial_number for _ in range(3)]
    assert run(lab, TWO, "crypto pki server PKI-HA revoke 3") == ""
    for name in (ONE, TWO):  # the guide's reader saves: keys and chain survive a power cut
        assert run(lab, name, "write memory") == "Building configuration...\n[OK]\n"
    assert_mirrored(lab)
    off_at = lab.loop.time()
    lab.power_off(TWO)
    # The first enrollment after the cut waits in TCP retransmissions for the takeover.
    after = [clients.enroll().serial_number for _ in range(3)]
    assert rf(lab, ONE).my_state == ACTIVE and lab.loop.time() - off_at < 20
    serials = before + after
    assert serials == sorted(set(serials)) == list(range(2, 8))
    assert "    Redundancy configured. This is active.\n" in run(lab, ONE, "show crypto pki server")
    assert revoked(lab, ONE) == {3}
    assert run(lab, ONE, "crypto pki server PKI-HA revoke 6") == ""
    assert revoked(lab, ONE) == {3, 6}
    ca = cs(lab, ONE).ca
    assert ca is not None
    for cert in clients.certs:  # all from the one CA certificate
        assert cert.issuer == ca.cert.subject
        public = ca.cert.public_key()
        assert isinstance(public, rsa.RSAPublicKey)  # md5WithRSA, as 15.1 signs
        assert verify_signed_by(cert.tbs_certificate_bytes, cert.signature, "md5", public)
    # The old active returns as the standby and is brought up to date by a bulk sync.
    lab.run(lab.power_on(TWO))
    wait_for(lab, lambda: hot(lab, TWO), "CA-server-2 STANDBY HOT")
    wait_for(lab, lambda: cs(lab, TWO).enabled, "the returning CA enabled")
    standby, active_state = mirror(lab)
    assert standby == active_state
    show = run(lab, TWO, "show crypto pki server PKI-HA")
    assert "    Last certificate issued serial number (hex): 7\n" in show
    assert show.endswith("    Redundancy configured. This is standby.\n")
    assert revoked(lab, TWO) == {3, 6}
    clients.enroll()
    assert clients.certs[-1].serial_number == 8
    assert cs(lab, TWO).ca.serial == 8  # type: ignore[union-attr]


def test_a_returning_unit_without_saved_keys_waits_for_its_key(lab: Lab) -> None:
    """Keys travel when they are made, never in a bulk sync (docs/fidelity.md)."""
    bring_up(lab)
    lab.power_off(ONE)  # the standby never saved anything
    wait(lab, 5)
    lab.run(lab.power_on(ONE))
    wait_for(lab, lambda: hot(lab, ONE), "STANDBY HOT again")
    wait_for(lab, lambda: cs(lab, ONE).state == "check failed", "the standby's checks")
    show = run(lab, ONE, "show crypto pki server PKI-HA")
    assert "    Status: disabled, Server key not found, waiting for (offline) key\n" in show
    assert "    State: check failed\n" in show


def test_sync_lag_pairs_each_change_with_its_application(lab: Lab) -> None:
    bring_up(lab)
    active, standby = (lab.router(n).feature(PkiHa) for n in (TWO, ONE))
    lags = sync_lags(active, standby)
    assert len(lags) >= 6  # server, trustpoint, key, chain, serial, CRL, start, no shut
    lab.run(asyncio.sleep(0))
    assert max(lags) < 0.01


def test_a_standby_walking_up_again_keeps_every_serial(lab: Lab, clients: Clients) -> None:
    """After a flap of the pair the standby walks the RF states again; the active dies
    before it is hot. It still has every serial: CA state goes to a walking standby too."""
    bring_up(lab, "grant auto")
    clients.enroll()
    lab.partition([[ONE], [TWO]])  # the pair splits: both think they are alone
    wait_for(lab, lambda: rf(lab, ONE).role == "active", "CA-server-1 alone and active")
    lab.heal()
    wait_for(lab, lambda: rf(lab, ONE).my_state == INITIALIZATION, "the standby walking again")
    during = [clients.enroll().serial_number for _ in range(2)]
    assert rf(lab, ONE).my_state < STANDBY_HOT
    lab.power_off(TWO)
    after = [clients.enroll().serial_number for _ in range(2)]
    assert rf(lab, ONE).role == "active"
    assert [clients.certs[0].serial_number, *during, *after] == [2, 3, 4, 5, 6]


def test_enrollments_during_a_bulk_sync_reach_the_standby(lab: Lab, clients: Clients) -> None:
    """A bulk sync sends the CA's requests one at a time, each acknowledged before the next;
    a client enrolling meanwhile adds a request. The sync carries on to the end and the
    standby has everything."""
    bring_up(lab, "grant auto")
    for _ in range(10):  # enough requests that the sync's loop over them takes a while
        clients.enroll()
    active = lab.router(TWO).feature(PkiHa)
    ca = cs(lab, TWO).ca
    assert ca is not None
    sending_requests = asyncio.Event()
    seen: list[int] = []  # the CA's number of requests at each request the sync sends
    send_change = active.ca_changed

    async def ca_changed(change: Change) -> None:  # the bulk sync's calls only
        if change.kind == "request":
            seen.append(len(ca.requests))
            sending_requests.set()
        await send_change(change)

    active.ca_changed = ca_changed  # type: ignore[method-assign]
    who = clients.next()

    async def sync_and_enroll() -> str:
        sync = asyncio.ensure_future(active.bulk_sync())
        await sending_requests.wait()
        rep = await clients.client.enroll(who.csr, who.key, who.signer, who.tx)
        await sync
        return rep.status.name

    assert lab.run(sync_and_enroll()) == "SUCCESS"
    assert seen[0] == 10 and seen[-1] == 11  # the request came in the middle of the sync
    assert len(seen) == 10  # the sync sent those it started with; the hook sent the new one
    wait(lab, 1)
    assert_mirrored(lab)
