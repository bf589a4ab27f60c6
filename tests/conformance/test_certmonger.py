"""certmonger, a real SCEP client, enrolls with the lab's CA through a host port forward.

The lab runs in this process on the scaled clock (20x: the forward needs real sockets),
its CA-server-1 holds the HSRP virtual IP 10.1.32.86 and serves SCEP there; 127.0.0.1:PORT
is forwarded to 10.1.32.86:80. One lab serves the module; each test sets the CA's grant
mode and enrolls a subject of its own. certmonger's daemon makes the key, the request, its signer
certificate and the pkiMessages itself, and its helper ``scep-submit`` talks to us
(reference pki-scep.md §3.6). Its calls block, so they run in threads while the lab's loop
keeps serving. The calendar starts an hour back so that nothing the CA issues lies in the
future of this machine's clock.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from iosemu.api import Lab
from iosemu.boot import load_config
from iosemu.features.ip import Ip
from iosemu.features.pki.ca import CaSettings, CertificateAuthority
from iosemu.features.pki.objects import ios_name, make_ca_cert
from iosemu.features.pki.scep import ScepEvent, install_scep
from iosemu.lab.topology import builtin_lab, parse_forward_option

SCEP_SUBMIT = Path("/usr/lib/certmonger/scep-submit")
pytestmark = pytest.mark.skipif(
    not SCEP_SUBMIT.exists() or shutil.which("dbus-daemon") is None,
    reason="certmonger is not installed (apt-get install --no-install-recommends certmonger)",
)

CA_ROUTER = "CA-server-1"
SPEED = 20.0
VIP = IPv4Address("10.1.32.86")
STEP_TIMEOUT = 30.0  # real seconds certmonger may take for one state change


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class CaLab:
    """The lab, its CA, the forward, and certmonger's working directory."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.port = free_port()
        spec = copy.deepcopy(builtin_lab())
        spec.start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=1)
        spec.forwards.append(parse_forward_option(f"10.1.32.86:80={self.port}"))
        self.lab = Lab(spec, clock="scaled", speed=SPEED, boot_delay=0.5)
        self.events: list[ScepEvent] = []
        self.ca: CertificateAuthority | None = None
        self.url = f"http://127.0.0.1:{self.port}/cgi-bin/pkiclient.exe"

    async def start(self) -> None:
        lab = self.lab
        await lab.start()
        router = lab.router(CA_ROUTER)
        config = (
            "interface Gi0/0\n ip address 10.1.32.83 255.255.255.0\n"
            " standby 0 ip 10.1.32.86\n no shutdown\nip http server\n"
        )
        await load_config(router, config, lambda _: None)
        key = rsa.generate_private_key(65537, 2048)
        now = router.clock.utc().replace(microsecond=0)
        cert = make_ca_cert(key, ios_name("PKI-HA"), now, 1095, "sha256")
        self.ca = CertificateAuthority(
            key, cert, router.clock.utc, CaSettings(grant="manual", hash="sha256")
        )
        await self.ca.regenerate_crl()
        install_scep(router, lambda: self.ca, observer=self.events.append)
        (self.tmp / "ca.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        await lab.start_forwards()
        while not router.feature(Ip).is_local(VIP):  # link up, then HSRP: Active after ~13 s
            await asyncio.sleep(0.5)


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=60, env=env)


# A session bus of our own with no service directories: nothing can be activated on it
# (certmonger-session would otherwise start behind our back and outlive the test).
BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


class Certmonger:
    """A certmonger daemon on a private session bus, with its state in ``home``.

    Both processes are our children, stopped by their process ids in ``stop()``.
    """

    def __init__(self, home: Path) -> None:
        self.home = home
        for key in ("cfg", "req", "cas", "tmp", "keys"):
            (home / key).mkdir(parents=True, exist_ok=True)
        socket_path = home / "bus"
        (home / "bus.conf").write_text(BUS_CONFIG.format(socket=socket_path))
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "CERTMONGER_CONFIG_DIR": str(home / "cfg"),
            "CERTMONGER_REQUESTS_DIR": str(home / "req"),
            "CERTMONGER_CAS_DIR": str(home / "cas"),
            "CERTMONGER_TMPDIR": str(home / "tmp"),
            "DBUS_SESSION_BUS_ADDRESS": f"unix:path={socket_path}",
            # Session daemons share /var/lib/certmonger/lock unless told otherwise.
            "CERTMONGER_SYSTEM_LOCK_FILE": str(home / "lock"),
        }
        self.log = open(home / "certmonger.log", "w")  # noqa: SIM115 - closed in stop()
        self.procs: list[subprocess.Popen[bytes]] = []
        self.procs.append(
            subprocess.Popen(
                ["dbus-daemon", "--nofork", f"--config-file={home / 'bus.conf'}"],
                env=self.env,
                stdout=self.log,
                stderr=subprocess.STDOUT,
            )
        )
        deadline = time.monotonic() + STEP_TIMEOUT
        while not socket_path.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.procs.append(
            subprocess.Popen(
                ["certmonger", "-s", "-n", "-d", "2"],
                env=self.env,
                stdout=self.log,
                stderr=subprocess.STDOUT,
            )
        )
        while time.monotonic() < deadline:
            if self.getcert("list-cas").returncode == 0:
                return
            time.sleep(0.1)
        self.stop()
        raise AssertionError("certmonger did not start: " + (home / "certmonger.log").read_text())

    def getcert(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run("getcert", args[0], "-s", *args[1:], env=self.env)

    def status(self, request: str) -> str:
        for line in self.getcert("list", "-i", request).stdout.splitlines():
            if line.strip().startswith("status:"):
                return line.split(":", 1)[1].strip()
        return ""

    def wait_status(self, request: str, wanted: set[str]) -> str:
        deadline = time.monotonic() + STEP_TIMEOUT
        status = ""
        while time.monotonic() < deadline:
            status = self.status(request)
            if status in wanted or status in {"CA_REJECTED", "CA_UNREACHABLE"}:
                return status
            time.sleep(0.2)
        return status

    def stop(self) -> None:
        for proc in reversed(self.procs):  # certmonger first, then its bus
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.log.close()


@pytest.fixture(scope="module")
def calab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CaLab]:
    setup = CaLab(tmp_path_factory.mktemp("certmonger"))
    setup.lab.run(setup.start())
    yield setup
    setup.lab.close()


@pytest.fixture
def manual(calab: CaLab) -> CaLab:
    assert calab.ca is not None
    calab.ca.settings.grant = "manual"
    calab.events.clear()
    return calab


@pytest.fixture
def auto(calab: CaLab) -> CaLab:
    assert calab.ca is not None
    calab.ca.settings.grant = "auto"
    calab.events.clear()
    return calab


def in_thread(setup: CaLab, fn, *args):  # type: ignore[no-untyped-def]
    """Run a blocking call while the lab keeps serving."""
    return setup.lab.run(asyncio.to_thread(fn, *args))


def check_issued(setup: CaLab, cert_file: Path, subject: str) -> x509.Certificate:
    assert setup.ca is not None
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    assert cert.issuer == setup.ca.cert.subject
    assert cert.subject.rfc4514_string() == subject
    assert setup.ca.certificate(cert.serial_number) == cert
    done = run("openssl", "verify", "-CAfile", str(setup.tmp / "ca.pem"), str(cert_file))
    assert done.stdout.strip().endswith(": OK"), done.stdout + done.stderr
    return cert


def test_scep_submit_reads_the_caps_and_the_ca_certificate(manual: CaLab) -> None:
    helper = str(SCEP_SUBMIT)
    caps = in_thread(manual, run, helper, "-u", manual.url, "-c")
    assert caps.returncode == 0, caps.stderr
    assert caps.stdout.split() == ["POSTPKIOperation", "SHA-256", "SHA-1", "DES3", "AES", "Renewal"]
    certs = in_thread(manual, run, helper, "-u", manual.url, "-C")
    assert certs.returncode == 0, certs.stderr
    assert manual.ca is not None
    pem = manual.ca.cert.public_bytes(serialization.Encoding.PEM).decode()
    assert pem.strip() in certs.stdout


def test_certmonger_enrolls_in_manual_mode_pending_grant_issued(manual: CaLab) -> None:
    daemon = in_thread(manual, Certmonger, manual.tmp / "cm-manual")
    try:
        keys = daemon.home / "keys"
        added = in_thread(
            manual, daemon.getcert, "add-scep-ca", "-c", "IOSCA", "-u", manual.url,
            "-N", str(manual.tmp / "ca.pem"),
        )  # fmt: skip
        assert added.returncode == 0, added.stdout + added.stderr
        requested = in_thread(
            manual, daemon.getcert, "request", "-c", "IOSCA", "-k", str(keys / "r2.key"),
            "-f", str(keys / "r2.crt"), "-N", "CN=R2.example.com", "-I", "r2",
        )  # fmt: skip
        assert requested.returncode == 0, requested.stdout + requested.stderr
        # Manual grant: SCEP PENDING, which certmonger calls CA_WORKING.
        assert in_thread(manual, daemon.wait_status, "r2", {"CA_WORKING"}) == "CA_WORKING"
        assert manual.ca is not None
        [pending] = [r for r in manual.ca.requests.values() if r.state == "pending"]
        assert pending.csr.subject.rfc4514_string() == "CN=R2.example.com"
        assert manual.lab.run(manual.ca.grant(None)) == 1  # crypto pki server PKI-HA grant all
        in_thread(manual, daemon.getcert, "resubmit", "-i", "r2")
        assert in_thread(manual, daemon.wait_status, "r2", {"MONITORING"}) == "MONITORING"
        cert = check_issued(manual, keys / "r2.crt", "CN=R2.example.com")
        assert cert.serial_number == pending.serial
        pending_then_success = [(e.operation, e.status) for e in manual.events if e.status]
        assert pending_then_success[0] == ("PKCSReq", "PENDING")
        assert pending_then_success[-1][1] == "SUCCESS"
    finally:
        daemon.stop()


def test_certmonger_enrolls_with_grant_auto(auto: CaLab) -> None:
    daemon = in_thread(auto, Certmonger, auto.tmp / "cm-auto")
    try:
        keys = daemon.home / "keys"
        in_thread(
            auto, daemon.getcert, "add-scep-ca", "-c", "IOSCA", "-u", auto.url,
            "-N", str(auto.tmp / "ca.pem"),
        )  # fmt: skip
        in_thread(
            auto, daemon.getcert, "request", "-c", "IOSCA", "-k", str(keys / "r3.key"),
            "-f", str(keys / "r3.crt"), "-N", "CN=R3.example.com", "-I", "r3",
        )  # fmt: skip
        assert in_thread(auto, daemon.wait_status, "r3", {"MONITORING"}) == "MONITORING"
        check_issued(auto, keys / "r3.crt", "CN=R3.example.com")
        assert [(e.operation, e.status) for e in auto.events if e.status] == [
            ("PKCSReq", "SUCCESS")
        ]
    finally:
        daemon.stop()
