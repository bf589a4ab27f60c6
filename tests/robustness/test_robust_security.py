"""Security: where the lab listens, logins and secrets, keys that must not leave, file
names that must not climb out of the lab's state directory, keys at rest, one-time
enrollment passwords.

All in-process on the virtual clock except the listening test, which opens real sockets
(scaled clock). Vty logins over telnet and SSH (``login``, ``login local``, retries,
``exec-timeout``) are covered against a real lab process by tests/console/test_ssh.py;
here the console line gets the same checks.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import AttributeOID, NameOID
from helpers import ROUTER, Cli, _spec
from labproc import free_port_base
from pki_lab import ca_lab
from test_fuzz import no_logged_errors  # noqa: F401 (autouse: no handler or timer raised)
from test_scep_fuzz import Fuzz

from iosemu.api import Lab
from iosemu.console.ios import IosConsole
from iosemu.features.pki import cms
from iosemu.features.pki.cms import MessageType, PkiStatus
from iosemu.features.pki.keys import KEY_FILE, SECRET_FILE, Keys
from iosemu.lab.topology import parse_forward_option
from iosemu.serve import RUN_FILE, serve_lab

# --------------------------------------------------------------------------- listening


def listening_addresses(port: int) -> set[str]:
    """The local addresses something listens on at TCP ``port`` (from /proc/net/tcp*)."""
    found: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            fields = row.split()
            address, _, hexport = fields[1].partition(":")
            if int(hexport, 16) == port and fields[3] == "0A":  # 0A: LISTEN
                found.add(address)
    return found


LOOPBACK = "0100007F"  # 127.0.0.1 as /proc/net/tcp writes it


def test_consoles_ssh_telnet_and_forwards_listen_on_loopback() -> None:
    spec = copy.deepcopy(_spec())
    spec.console_base = free_port_base(len(spec.nodes))
    forward_port = free_port_base(1) + 1
    spec.forwards.append(parse_forward_option(f"10.1.32.83:80={forward_port}"))
    lab = Lab(spec, clock="scaled", speed=50, boot_delay=0.1)
    try:

        async def scenario() -> list[int]:
            await lab.start()
            servers = await serve_lab(lab)
            await lab.start_forwards()
            ports = [p.port for kind in ("consoles", "ssh", "telnet") for p in servers.ports(kind)]
            checked = [*ports, forward_port]
            seen = {port: listening_addresses(port) for port in checked}
            await servers.close()
            for port, addresses in seen.items():
                assert addresses == {LOOPBACK}, (port, addresses)
            return checked

        ports = lab.run(scenario())
        assert len(ports) == 3 * len(spec.nodes) + 1
        run = json.loads((lab.state_dir / RUN_FILE).read_text())
        kinds = ("consoles", "ssh", "telnet")
        assert {where["host"] for kind in kinds for where in run[kind].values()} == {"127.0.0.1"}
    finally:
        lab.close()


# --------------------------------------------------------------------------- the console line


class Typist:
    """Bytes into a router's console, what it printed back (the lab runs as it waits)."""

    def __init__(self, lab: Lab, router: str = ROUTER) -> None:
        self.lab = lab
        terminal = lab.consoles[router].terminal
        assert isinstance(terminal, IosConsole)
        self.terminal = terminal
        self.seen = bytearray()
        terminal.attach(self.seen.extend)

    def type(self, text: str, wait: float = 2) -> str:
        mark = len(self.seen)
        self.terminal.feed(text.encode())
        self.lab.run(asyncio.sleep(wait))
        return bytes(self.seen[mark:]).decode(errors="replace")


def test_console_login_password_and_enable_secret(cli: Cli) -> None:
    cli.configure()
    cli.run_all(["enable secret s3cret", "line con 0", "password linepw", "login", "end"])
    console = Typist(cli.lab)
    out = console.type("\r")
    assert out.endswith("Password: ")
    for _ in range(2):
        assert console.type("nope\r").endswith("Password: ")
    out = console.type("nope\r")
    assert "% Bad passwords" in out and "CA-server-1>" not in out
    out = console.type("\r")
    assert out.endswith("Password: ")
    assert "linepw" not in console.type("linepw\r")  # not echoed
    assert console.type("\r").endswith("CA-server-1>")
    # enable secret: three wrong answers leave the user at level 1.
    assert console.type("enable\r").endswith("Password: ")
    console.type("x\r")
    console.type("y\r")
    out = console.type("z\r")
    assert "% Bad secrets" in out and out.endswith("CA-server-1>")
    console.type("enable\r")
    assert console.type("s3cret\r").endswith("CA-server-1#")


def test_console_login_local_asks_for_a_user(cli: Cli) -> None:
    cli.configure()
    cli.run_all(["username admin privilege 15 secret adminpw", "line con 0", "login local", "end"])
    console = Typist(cli.lab)
    assert console.type("\r").endswith("Username: ")
    assert console.type("admin\r").endswith("Password: ")
    out = console.type("wrong\r")
    assert "% Login invalid" in out and out.endswith("Username: ")
    console.type("nobody\r")
    out = console.type("adminpw\r")  # another user's password
    assert "% Login invalid" in out
    console.type("admin\r")
    assert console.type("adminpw\r").endswith("CA-server-1#")  # the user's level 15
    assert "admin" in console.type("show users\r")


def test_console_exec_timeout(cli: Cli) -> None:
    cli.configure()
    cli.run_all(["line con 0", "exec-timeout 0 30", "end"])
    console = Typist(cli.lab)
    assert console.type("\r").endswith("CA-server-1>")
    assert "con0 is now available" not in console.type("", wait=20)
    assert "Time source" in console.type("show clock detail\r", 1)  # the 30 s start over
    assert "con0 is now available" not in console.type("", wait=20)
    out = console.type("", wait=15)
    assert "con0 is now available" in out and "Press RETURN to get started." in out


# --------------------------------------------------------------------------- keys


def test_non_exportable_keys_cannot_be_exported(cli: Cli) -> None:
    config = cli.configure()
    config("ip domain name lab")
    config("crypto key generate rsa label KEEP modulus 1024")
    config("crypto key generate rsa label GIVE exportable modulus 1024")
    for target in ("terminal", "url nvram:"):
        out = config(f"crypto key export rsa KEEP pem {target} 3des passphrase1")
        assert out == "% RSA keypair KEEP is not exportable.\n", out
    assert not any(".prv" in e.name for e in cli.router.nvram.listing())
    assert config("crypto key export rsa NONE pem terminal 3des pw") == (
        "% RSA keypair NONE is not present.\n"
    )
    out = config("crypto key export rsa GIVE pem terminal 3des passphrase1")
    assert out.startswith("% Key name: GIVE\n   Usage: General Purpose Key\n   Key data:\n")
    pem = re.search(r"-----BEGIN RSA PRIVATE KEY-----.*?-----END RSA PRIVATE KEY-----", out, re.S)
    assert pem and "DEK-Info: DES-EDE3-CBC," in pem.group(0)
    key = serialization.load_pem_private_key(pem.group(0).encode(), b"passphrase1")
    pair = cli.router.feature(Keys).get("GIVE")
    assert pair is not None and isinstance(key, rsa.RSAPrivateKey)
    assert key.private_numbers() == pair.key.private_numbers()
    # To a file: only inside the file system, whatever the URL or the answer says.
    out = config("crypto key export rsa GIVE pem url nvram:../../give 3des passphrase1", "", "")
    assert "%Error opening nvram:../../give.pub (Invalid argument)" in out
    out = config("crypto key export rsa GIVE pem url nvram: 3des passphrase1", "../x", "")
    assert "(Invalid argument)" in out
    out = config("crypto key export rsa GIVE pem url flash: 3des passphrase1", "", "")
    assert "Writing file to flash:GIVE.prv" in out
    assert cli.router.flash.read("GIVE.prv").startswith(b"-----BEGIN RSA PRIVATE KEY-----")


def test_private_keys_at_rest_are_encrypted() -> None:
    """After ``write memory`` with a CA running, no file of the lab holds a private key in
    the clear; the secret that opens the key storage is outside ``nvram:``."""
    lab = ca_lab("database archive pem password archivepw")
    try:
        cli = Cli(lab)
        cli.configure()("crypto key generate rsa label SPARE modulus 1024")
        cli("end")
        assert "[OK]" in cli("write memory")
        router = lab.router(ROUTER)
        keys = router.feature(Keys)
        secrets = []
        for pair in keys.pairs.values():
            numbers = pair.key.private_numbers()
            for value in (numbers.d, numbers.p):
                raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
                secrets += [raw, raw.hex().encode(), raw.hex().upper().encode()]
        files = [p for p in lab.state_dir.rglob("*") if p.is_file()]
        assert any(p.name == KEY_FILE for p in files)
        for path in files:
            if path.name == SECRET_FILE:
                continue
            data = path.read_bytes()
            for marker in (b"BEGIN PRIVATE KEY", b"BEGIN RSA PRIVATE KEY"):
                assert marker not in data or b"ENCRYPTED" in data, path
            assert not any(s in data for s in secrets), f"{path} holds a private key"
        # The secret is the router's, outside nvram: (dir and more cannot show it).
        assert (router.state_dir / SECRET_FILE).is_file()
        assert SECRET_FILE not in cli("dir nvram:")
        assert cli(f"more nvram:{SECRET_FILE}").startswith("%Error opening")
        assert cli(f"more nvram:../{SECRET_FILE}").startswith("%Error opening")

        # ...and it opens them again after a reload.
        def lasting(keys: Keys) -> dict[str, rsa.RSAPrivateNumbers]:
            return {k: p.key.private_numbers() for k, p in keys.pairs.items() if not p.temporary}

        before = lasting(keys)
        router.reload("test")
        lab.run(asyncio.sleep(10))
        assert lasting(router.feature(Keys)) == before and "SPARE" in before
    finally:
        lab.close()


# --------------------------------------------------------------------------- file names


def test_file_commands_stay_in_the_state_directory(cli: Cli) -> None:
    escape = cli.lab.state_dir.parent / f"{cli.lab.state_dir.name}-escape"

    def run(line: str, *answers: str) -> str:
        cli.terminal.answers.clear()  # answers a refused command did not ask for
        return cli(line, *answers)

    urls = ["../x", "nvram:../x", "flash:/../x", "flash:../../x", "nvram:/../../etc/passwd"]
    for url in urls:
        assert run(f"more {url}").startswith("%Error opening"), url
        assert "%Error" in run(f"delete {url}", "", ""), url
    assert "%Error" in run("delete flash:x", f"../{escape.name}", "")
    out = run("copy running-config startup-config", f"../{escape.name}")
    assert "Permission denied" in out
    assert "Invalid input" in run("dir ../")
    assert not escape.exists()
    assert {p.name for p in cli.lab.state_dir.iterdir() if p.is_dir()} == set(cli.lab.routers)


def test_database_url_cannot_climb_out_of_the_servers_directory(config: Cli) -> None:
    config("crypto pki server PKI-HA")
    for url in ("tftp://../x", "tftp://./", "tftp://host/../../x", "ftp://u:p@../", "tftp://.."):
        out = config(f"database url {url}")
        assert out.startswith("%"), (url, out)
    assert "database url" not in "".join(config.body())


# --------------------------------------------------------------------------- one-time passwords


def _csr(fuzz: Fuzz, password: str) -> bytes:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "otp.lab")])
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(subject)
        .add_attribute(AttributeOID.CHALLENGE_PASSWORD, password.encode())
        .sign(fuzz.client_key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.DER)


def test_scep_challenge_passwords_are_one_time() -> None:
    fuzz = Fuzz()  # grant manual: only a one-time password gets a certificate at once
    try:
        password = fuzz.lab.run(fuzz.ca.new_password())
        expired = fuzz.lab.run(fuzz.ca.new_password(minutes=1))
        fuzz.lab.run(asyncio.sleep(120))
        outcomes = []
        for tx, used in (("OTP-1", password), ("OTP-2", password), ("OTP-3", expired)):
            message = fuzz.message(MessageType.PKCS_REQ, _csr(fuzz, used), transaction_id=tx)
            reply = fuzz.post(message)
            rep = cms.read_cert_rep(reply.body, ca_cert=fuzz.ca.cert, key=fuzz.client_key)
            outcomes.append(rep.status)
        assert outcomes == [PkiStatus.SUCCESS, PkiStatus.PENDING, PkiStatus.PENDING]
        assert password not in fuzz.ca.passwords
        states = [r.state for r in fuzz.ca.requests.values()]
        assert states == ["granted", "pending", "pending"]
    finally:
        fuzz.lab.close()
