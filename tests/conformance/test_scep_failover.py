"""Real SCEP clients keep enrolling through the VIP while the active CA loses power.

The guide's pair runs in this process on the real clock, steps 1-4 in its startup
configurations with HSRP timers of 250 ms/1 s (short, yet no flap when a busy machine
stalls the loop) and no reload delay, the CA server of step 5 (``redundancy``, ``grant
auto``) configured at the active's console. A host port forward
relays 127.0.0.1:PORT to the virtual IP 10.1.32.86:80. Two clients enroll in a loop at
once: certmonger's ``scep-submit`` (a real, independent HTTP and SCEP client, fed
PKCSReq messages built here; its answers are opened with ``openssl cms``) when it is
installed, and our ``ScepClient`` over real sockets. Halfway, the active loses power.
Every request is retried until it succeeds; afterwards all serials must be unique and
increasing, every certificate must verify under the one CA certificate (``openssl
verify``), and the new active's CRL must hold the revocations made before the failover.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import datetime as dt
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import h11
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from iosemu.api import Lab
from iosemu.features import redundancy
from iosemu.features.http import fetch_host, host_transport
from iosemu.features.pki import cms
from iosemu.features.pki.scep import SCEP_PATH, ScepClient, ScepProblem
from iosemu.features.pki.server import CertificateServer
from iosemu.features.redundancy import ACTIVE, STANDBY_HOT, Redundancy
from iosemu.lab.topology import builtin_lab, parse_forward_option
from iosemu.labs.guide import pair_config

SCEP_SUBMIT = Path("/usr/lib/certmonger/scep-submit")
OPENSSL = shutil.which("openssl")
pytestmark = pytest.mark.skipif(OPENSSL is None, reason="the openssl binary is not installed")

ONE, TWO = "CA-server-1", "CA-server-2"
WAIT = 60.0  # real seconds any one condition may take on a busy machine
PER_CLIENT = 6  # enrollments per client before the power cut, and again after it


def startup_config(name: str) -> str:
    """Steps 1-4 of the guide, HSRP at 250 ms/1 s and no reload delay (a short test)."""
    return pair_config(name, timers="msec 250 1")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def until(condition, what: str, timeout: float = WAIT) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout:g} s")
        await asyncio.sleep(0.05)


@dataclass
class Pair:
    """The pair, its CA, the forward; what the clients got."""

    tmp: Path
    port: int = field(default_factory=free_port)
    lab: Lab = field(init=False)
    issued: dict[str, list[x509.Certificate]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        spec = copy.deepcopy(builtin_lab())
        # An hour back: nothing the CA issues lies in the future of this machine's clock.
        spec.start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=1)
        for node in spec.nodes:
            node.startup_config = startup_config(node.name)
        spec.forwards.append(parse_forward_option(f"10.1.32.86:80={self.port}"))
        self.lab = Lab(spec, clock="real", boot_delay=0.2, state_dir=self.tmp / "state")
        self.url = f"http://127.0.0.1:{self.port}{SCEP_PATH}"

    def rf(self, name: str) -> Redundancy:
        return self.lab.router(name).feature(Redundancy)

    def server(self, name: str) -> CertificateServer:
        return self.lab.router(name).feature(CertificateServer)

    async def start(self) -> None:
        lab = self.lab
        await lab.start()
        await until(lambda: self.rf(ONE).my_state == STANDBY_HOT, "STANDBY HOT")
        await self.cli(
            TWO,
            "configure terminal",
            "crypto pki server PKI-HA",
            "redundancy",
            "grant auto",
            "hash sha256",  # openssl 3 refuses MD5 signatures at its default level
            "no shutdown",
            "cisco123",
            "cisco123",
            "end",
        )
        await until(lambda: self.server(ONE).enabled, "an enabled standby CA")
        await lab.start_forwards()
        ca = self.server(TWO).ca_cert()
        assert ca is not None
        (self.tmp / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))

    async def cli(self, name: str, *lines: str) -> str:
        from iosemu.session import Session

        out: list[str] = []
        answers = list(lines)

        class Terminal:
            def output(self, text: str) -> None:
                out.append(text)

            async def drain(self) -> None:
                return None

            async def ask(self, prompt: str, echo: bool = True) -> str:
                return answers.pop(0)

            async def ask_key(self, prompt: str) -> str:
                return answers.pop(0)

            def show_log(self, text: str) -> None:
                return None

        session = Session(self.lab.router(name), Terminal(), line="con 0", privilege=15)
        while answers:
            await session.execute(answers.pop(0))
        return "".join(out)

    @property
    def ca_cert(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate((self.tmp / "ca.pem").read_bytes())


@pytest.fixture
def pair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pair]:
    # The standby's walk to STANDBY HOT at 0.05 s a state, not 0.5: its pace is not tested
    # here, and it would be most of the test's time.
    monkeypatch.setattr(redundancy, "STEP", 0.05)
    setup = Pair(tmp_path)
    try:
        setup.lab.run(setup.start())
        yield setup
    finally:
        setup.lab.close()


@dataclass
class Client:
    key: rsa.RSAPrivateKey
    signer: x509.Certificate
    csr: x509.CertificateSigningRequest


def clients(count: int) -> list[Client]:
    out = []
    for i in range(count):
        key = rsa.generate_private_key(65537, 2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"loop{i}.example.com")])
        csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
        out.append(Client(key, cms.self_signed(key, name), csr))
    return out


def openssl(*args: str, cwd: Path, data: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    assert OPENSSL is not None
    return subprocess.run(
        [OPENSSL, *args], cwd=cwd, input=data, capture_output=True, timeout=30, check=False
    )


def scep_submit_loop(
    pair: Pair, who: list[Client], count: int, start: int, done: threading.Event
) -> list[x509.Certificate]:
    """certmonger's helper, in a thread: PKCSReq after PKCSReq, each retried until issued."""
    out: list[x509.Certificate] = []
    work = pair.tmp / "certmonger"
    work.mkdir(exist_ok=True)
    for i in range(start, start + count):
        client = who[i % len(who)]
        der = cms.request(
            cms.MessageType.PKCS_REQ,
            client.csr.public_bytes(serialization.Encoding.DER),
            transaction_id=f"CERTMONGER-{i}",
            key=client.key,
            cert=client.signer,
            recipient=pair.ca_cert,
        )
        body = base64.encodebytes(der).decode()
        (work / "req.pem").write_text(f"-----BEGIN PKCS7-----\n{body}-----END PKCS7-----\n")
        key_file = work / f"key{i % len(who)}.pem"
        key_file.write_bytes(
            client.key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        deadline = time.monotonic() + WAIT
        while True:
            ca = str(pair.tmp / "ca.pem")
            run = subprocess.run(
                [str(SCEP_SUBMIT), "-u", pair.url, "-r", ca, "-N", ca, "-p", str(work / "req.pem")],
                capture_output=True,
                timeout=WAIT,
                check=False,
            )
            if run.returncode == 0:
                break
            # 3: unreachable or an unusable answer (a reset during the takeover); retry.
            assert run.returncode == 3, run.stdout + run.stderr
            assert time.monotonic() < deadline, "scep-submit never got through again"
            time.sleep(0.05)
        envelope = openssl(
            "cms", "-decrypt", "-inform", "PEM", "-inkey", str(key_file), "-outform", "DER",
            cwd=work, data=run.stdout,
        )  # fmt: skip
        assert envelope.returncode == 0, envelope.stderr
        certs = openssl("pkcs7", "-inform", "DER", "-print_certs", cwd=work, data=envelope.stdout)
        out.append(x509.load_pem_x509_certificate(certs.stdout))
    done.set()
    return out


async def scep_client_loop(pair: Pair, who: list[Client], count: int, start: int) -> list[int]:
    """Our ScepClient over real sockets through the forward, each request retried."""
    client = ScepClient(host_transport(pair.port), ca_cert=pair.ca_cert)
    serials = []
    for i in range(start, start + count):
        c = who[i % len(who)]
        deadline = time.monotonic() + WAIT
        while True:
            try:
                rep = await client.enroll(c.csr, c.key, c.signer, f"SCEPCLIENT-{i}")
                break
            except (ConnectionError, TimeoutError, ScepProblem, h11.RemoteProtocolError):
                assert time.monotonic() < deadline, "ScepClient never got through again"
                await asyncio.sleep(0.05)
        assert rep.status is cms.PkiStatus.SUCCESS, rep
        pair.issued.setdefault("ScepClient", []).extend(rep.certs)
        serials.append(rep.certs[0].serial_number)
    return serials


def test_enrollment_resumes_after_the_active_loses_power(pair: Pair) -> None:
    lab = pair.lab
    who = clients(4)
    use_certmonger = SCEP_SUBMIT.exists()

    async def phase(start: int) -> None:
        done = threading.Event()
        tasks = [asyncio.ensure_future(scep_client_loop(pair, who, PER_CLIENT, start))]
        if use_certmonger:
            thread = asyncio.to_thread(scep_submit_loop, pair, who, PER_CLIENT, start, done)
            tasks.append(asyncio.ensure_future(thread))
        results = await asyncio.gather(*tasks)
        if use_certmonger:
            pair.issued.setdefault("scep-submit", []).extend(results[1])

    lab.run(phase(0))
    before = sorted(c.serial_number for certs in pair.issued.values() for c in certs)
    revoked_before = before[:2]
    for serial in revoked_before:
        assert lab.run(pair.cli(TWO, f"crypto pki server PKI-HA revoke {serial:X}")) == ""
    off_at = time.monotonic()
    lab.power_off(TWO)
    lab.run(phase(PER_CLIENT))
    took = time.monotonic() - off_at
    assert pair.rf(ONE).my_state == ACTIVE
    assert took < WAIT

    # Every client saw its serials grow, and no serial was handed out twice.
    everything = [c for certs in pair.issued.values() for c in certs]
    serials = [c.serial_number for c in everything]
    assert len(set(serials)) == len(serials) == PER_CLIENT * 2 * len(pair.issued)
    for certs in pair.issued.values():
        mine = [c.serial_number for c in certs]
        assert mine == sorted(mine)
    assert min(s for s in serials if s not in before) > max(before)
    new_active = pair.server(ONE).ca
    assert new_active is not None and new_active.serial == max(serials)

    # openssl: one CA certificate for all, and the new active's CRL has the old revocations.
    work = pair.tmp
    bundle = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in everything)
    (work / "all.pem").write_bytes(bundle)
    for i, cert in enumerate(everything):
        (work / f"ee{i}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    names = [f"ee{i}.pem" for i in range(len(everything))]
    verified = openssl("verify", "-CAfile", "ca.pem", *names, cwd=work)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.decode().count(": OK") == len(everything)
    crl = lab.run(fetch_host(pair.port, f"{SCEP_PATH}?operation=GetCRL"))
    assert crl.status == 200
    (work / "crl.der").write_bytes(crl.body)
    checked = openssl("crl", "-inform", "DER", "-in", "crl.der", "-CAfile", "ca.pem", cwd=work)
    assert checked.returncode == 0 and b"verify OK" in checked.stderr + checked.stdout
    listed = x509.load_der_x509_crl(crl.body)
    (work / "crl.pem").write_bytes(listed.public_bytes(serialization.Encoding.PEM))
    assert {entry.serial_number for entry in listed} == set(revoked_before)
    by_serial = {c.serial_number: f"ee{i}.pem" for i, c in enumerate(everything)}
    for serial, name in by_serial.items():
        checked = openssl(
            "verify", "-crl_check", "-CRLfile", "crl.pem", "-CAfile", "ca.pem", name, cwd=work
        )
        output = checked.stdout + checked.stderr
        if serial in revoked_before:
            assert checked.returncode != 0 and b"certificate revoked" in output, output
        else:
            assert checked.returncode == 0, output
