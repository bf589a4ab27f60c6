"""The certificate server on one router: the first start, its checks, the CA it makes.

Everything runs on the virtual clock through a privileged session (tests/helpers.py).
Where an outside opinion is worth having, the ``openssl`` binary judges the objects.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from helpers import Cli

from iosemu.api import Lab
from iosemu.features.pki import server as server_module
from iosemu.features.pki.keys import Keys
from iosemu.features.pki.server import CertificateServer
from iosemu.features.pki.store import parse_serial_file, serial_file
from iosemu.features.pki.trustpoint import Pki

PASS = "cisco123"

FIRST_START = (
    "%Some server settings cannot be changed after CA certificate generation.\n"
    "% Please enter a passphrase to protect the private key\n"
    "% or type Return to exit\n"
    "\n"
    "Password: Re-enter password: "  # the capture terminal shows prompts, not answers
    "% Generating 1024 bit RSA keys, keys will be non-exportable...\n"
    "[OK] (elapsed time was 1 seconds)\n"
    "\n"
    "% Certificate Server enabled.\n"
)


def start_ca(config: Cli, *extra: str) -> str:
    """``ip http server`` and a first ``no shutdown`` of PKI-HA; the dialog's output."""
    config("ip http server")
    config("crypto pki server PKI-HA")
    for line in extra:
        config(line)
    return config("no shutdown", PASS, PASS)


def server(lab: Lab) -> CertificateServer:
    return lab.router("CA-server-1").feature(CertificateServer)


def csr_for(cn: str, challenge: str | None = None) -> x509.CertificateSigningRequest:
    key = rsa.generate_private_key(65537, 1024)
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    )
    if challenge is not None:
        oid = x509.ObjectIdentifier("1.2.840.113549.1.9.7")
        builder = builder.add_attribute(oid, challenge.encode())
    return builder.sign(key, hashes.SHA256())


def test_first_no_shutdown_asks_generates_and_enables(config: Cli, lab: Lab) -> None:
    assert start_ca(config) == FIRST_START
    lab.run(asyncio.sleep(1))
    cs = server(lab)
    assert cs.enabled
    assert "%PKI-6-CS_ENABLED: Certificate server now enabled." in "\n".join(
        lab.router("CA-server-1").log.buffer
    )
    show = config("do show crypto pki server")
    der = cs.ca_cert().public_bytes(serialization.Encoding.DER)  # type: ignore[union-attr]
    md5 = hashlib.md5(der).hexdigest().upper()
    fp = " ".join(md5[i : i + 8] for i in range(0, 32, 8))
    assert show.splitlines()[:10] == [
        "Certificate Server PKI-HA:",
        "    Status: enabled",
        "    State: enabled",
        '    Server\'s configuration is locked  (enter "shut" to unlock it)',
        "    Issuer name: CN=PKI-HA",
        f"    CA cert fingerprint: {fp} ",
        "    Granting mode is: manual",
        "    Last certificate issued serial number (hex): 1",
        "    CA certificate expiration timer: 01:38:03 UTC Jun 2 2013",
        "    CRL NextUpdate timer: 07:38:03 UTC Jun 3 2010",
    ]
    # Later starts do not ask.
    config("shutdown")
    assert config("no shutdown") == (
        "Certificate server 'no shut' event has been queued for processing.\n"
    )
    lab.run(asyncio.sleep(1))
    assert cs.enabled


def test_return_at_the_passphrase_aborts_and_short_or_different_ones_are_refused(
    config: Cli, lab: Lab
) -> None:
    config("ip http server")
    config("crypto pki server PKI-HA")
    assert config("no shutdown", "").endswith("% Aborted.\n")
    assert config("no shutdown", "short").endswith("at least 8 characters long.\n")
    assert config("no shutdown", PASS, "cisco124").endswith("% Passphrases do not match.\n")
    assert server(lab).ca_cert() is None
    assert lab.router("CA-server-1").feature(Keys).get("PKI-HA") is None


def test_without_http_the_ca_is_made_but_waits_until_ip_http_server(config: Cli, lab: Lab) -> None:
    config("crypto pki server PKI-HA")
    out = config("no shutdown", PASS, PASS)
    assert "% Certificate Server enabled." not in out
    assert out.endswith("[OK] (elapsed time was 1 seconds)\n\n")
    show = config("do show crypto pki server")
    assert "    Status: disabled, HTTP Server is disabled\n    State: check failed\n" in show
    config("exit")
    config("ip http server")
    lab.run(asyncio.sleep(1))
    assert server(lab).enabled


def test_a_router_without_calendar_needs_the_clock_set(lab: Lab) -> None:
    lab.router("CA-server-1").has_calendar = False
    cli = Cli(lab)
    out = start_ca(cli.configure())
    assert "% Time has not been set. Cannot start the Certificate server" in out
    assert "Status: disabled, Time has not been set" in cli("do show crypto pki server")
    assert server(lab).ca_cert() is None  # nothing was made
    cli("end")
    cli("clock set 06:53:44 Jun 3 2010")
    cli("configure terminal")
    cli("crypto pki server PKI-HA")
    assert cli("no shutdown", PASS, PASS).endswith("% Certificate Server enabled.\n")


def test_a_ca_certificate_not_yet_valid_on_this_clock_fails_its_check(
    config: Cli, lab: Lab
) -> None:
    start_ca(config)
    config("shutdown")
    config("end")
    config("clock set 01:00:00 Jun 1 2010")
    config("configure terminal")
    config("crypto pki server PKI-HA")
    config("no shutdown")
    lab.run(asyncio.sleep(1))
    show = config("do show crypto pki server")
    assert "Status: disabled, Failed to validate selfsigned CA certificate" in show
    assert "CA certificate expiration timer: 00:00:00 UTC Jan 1 1970" in show
    config("end")
    config("clock set 06:53:44 Jun 3 2010")  # the check runs again at once
    lab.run(asyncio.sleep(1))
    assert server(lab).enabled


def test_configuration_is_locked_while_running_and_some_of_it_for_good(config: Cli) -> None:
    start_ca(config)
    assert config("grant auto").startswith("% Server's configuration is locked.")
    config("shutdown")
    assert config("grant auto") == ""
    assert config("issuer-name CN=Other").startswith("%Some server settings cannot be changed")
    show = config("show")
    assert show.splitlines()[:2] == [" serial-number 0x1", " database level minimum"]
    assert " grant auto" in show


def test_running_config_shows_the_chain_in_ios_hex_layout(config: Cli, lab: Lab) -> None:
    start_ca(config)
    body = "\n".join(config.body())
    block = body[body.index("crypto pki certificate chain PKI-HA") :]
    lines = block.splitlines()
    assert lines[1] == " certificate ca 01"
    hex_lines = lines[2 : lines.index("  \tquit")]
    for line in hex_lines[:-1]:
        assert re.fullmatch(r"  ([0-9A-F]{8} ){8}", line), line  # a trailing space
    assert not hex_lines[-1].endswith(" ")
    der = bytes.fromhex("".join("".join(x.split()) for x in hex_lines))
    assert der == server(lab).ca_cert().public_bytes(serialization.Encoding.DER)  # type: ignore[union-attr]
    assert "crypto pki server PKI-HA\ncrypto pki token default removal timeout 0" in body
    assert "crypto pki trustpoint PKI-HA\n revocation-check crl\n rsakeypair PKI-HA\n!" in body


def test_the_ca_survives_write_memory_and_reload(config: Cli, lab: Lab) -> None:
    start_ca(config)
    cs = server(lab)
    fingerprint_before = cs.ca_cert().fingerprint(hashes.MD5())  # type: ignore[union-attr]
    lab.run(cs.ca.grant(None))  # type: ignore[union-attr]
    lab.run(cs.ca.enroll(csr_for("r1"), "tx-1"))  # type: ignore[union-attr]
    config("end")
    config("write memory")
    startup = lab.router("CA-server-1").nvram.read("startup-config").decode()
    assert " certificate ca 01 nvram:PKI-HA#1CA.cer" in startup
    router = lab.router("CA-server-1")
    lab.run(router.reload("reload"))
    lab.run(asyncio.sleep(5))
    cs = server(lab)
    assert cs.enabled
    assert cs.ca_cert().fingerprint(hashes.MD5()) == fingerprint_before  # type: ignore[union-attr]
    assert cs.ca is not None and 1 in cs.ca.requests
    cli = Cli(lab)
    assert "PKI-HA#1CA.cer" in cli("dir nvram:")
    assert "Storage: nvram:PKI-HA#1CA.cer" in cli("show crypto pki certificates")


def test_without_write_memory_a_reload_forgets_the_ca(config: Cli, lab: Lab) -> None:
    start_ca(config)
    router = lab.router("CA-server-1")
    lab.run(router.reload("reload"))
    lab.run(asyncio.sleep(5))
    assert server(lab).configured is None
    assert router.feature(Keys).get("PKI-HA") is None


def test_a_saved_server_whose_key_is_gone_waits_for_it(config: Cli, lab: Lab) -> None:
    start_ca(config)
    config("crypto key zeroize rsa PKI-HA", "yes")
    config("end")
    config("write memory")
    router = lab.router("CA-server-1")
    lab.run(router.reload("reload"))
    lab.run(asyncio.sleep(5))
    show = Cli(lab)("show crypto pki server")
    assert "Status: disabled, Server key not found, waiting for (offline) key" in show
    assert "State: check failed" in show


def test_manual_grant_requests_table_and_grant_all(config: Cli, lab: Lab) -> None:
    start_ca(config)
    ca = server(lab).ca
    assert ca is not None
    assert lab.run(ca.enroll(csr_for("R15.otus.ru"), "tx-1")).status == "PENDING"
    assert lab.run(ca.enroll(csr_for("R16.otus.ru"), "tx-2")).status == "PENDING"
    table = config("do show crypto pki server PKI-HA requests").splitlines()
    rows = table[table.index("Router certificates requests:") + 3 : -1]
    assert [row.split()[0:2] for row in rows] == [["2", "pending"], ["1", "pending"]]
    assert re.fullmatch(r"2      pending    [0-9A-F]{32} cn=R16\.otus\.ru", rows[0])
    config("end")
    assert config("crypto pki server PKI-HA grant all") == ""
    assert lab.run(ca.poll("tx-1")).status == "SUCCESS"
    assert [r.state for r in ca.requests.values()] == ["granted", "granted"]
    assert "Last certificate issued serial number (hex): 3" in config("show crypto pki server")


def test_grant_auto_logs_and_issues_at_once(config: Cli, lab: Lab) -> None:
    out = start_ca(config, "grant auto")
    assert out == FIRST_START
    ca = server(lab).ca
    assert ca is not None
    result = lab.run(ca.enroll(csr_for("r2"), "tx-9"))
    assert result.status == "SUCCESS" and result.cert is not None
    assert result.cert.serial_number == 2
    log = "\n".join(lab.router("CA-server-1").log.buffer)
    assert "%PKI-6-CS_GRANT_AUTO: All enrollment requests will be automatically granted." in log


def test_one_time_passwords_grant_in_manual_mode(config: Cli, lab: Lab) -> None:
    start_ca(config)
    config("end")
    out = config("crypto pki server PKI-HA password generate")
    password = re.search(r"password: (\S+)", out).group(1)  # type: ignore[union-attr]
    ca = server(lab).ca
    assert ca is not None
    assert lab.run(ca.enroll(csr_for("r3", password), "tx-a")).status == "SUCCESS"
    # Used once, it grants no more: the second request waits for the administrator.
    assert lab.run(ca.enroll(csr_for("r4", password), "tx-b")).status == "PENDING"
    assert lab.run(ca.enroll(csr_for("r5", "not-a-one-time-password"), "tx-c")).status == (
        "PENDING"
    )


def test_the_crl_is_reissued_by_its_timer_and_on_revoke(config: Cli, lab: Lab) -> None:
    start_ca(config, "grant auto")
    ca = server(lab).ca
    assert ca is not None
    first = ca.crl_this_update
    lab.run(asyncio.sleep(6 * 3600 + 1))
    assert ca.crl_this_update is not None and first is not None
    assert (ca.crl_this_update - first).total_seconds() == pytest.approx(6 * 3600, abs=2)
    lab.run(ca.enroll(csr_for("r5"), "tx-c"))
    config("end")
    assert config("crypto pki server PKI-HA revoke 2") == ""
    crl = config("show crypto pki server PKI-HA crl")
    assert "    Number of CRL entries: 1" in crl
    assert "    Serial Number (hex): 02" in crl
    assert config("crypto pki server PKI-HA revoke 9").startswith("% Invalid serial number")


def test_database_levels_and_a_shared_network_store(config: Cli, lab: Lab) -> None:
    start_ca(config, "database level complete", "database url tftp://10.1.32.10/ca", "grant auto")
    ca = server(lab).ca
    assert ca is not None
    lab.run(ca.enroll(csr_for("r6"), "tx-d"))
    store = Path(lab.state_dir) / "servers" / "10.1.32.10" / "ca"
    assert sorted(p.name for p in store.iterdir()) == [
        "2.crt",
        "PKI-HA.crl",
        "PKI-HA.p12",
        "PKI-HA.ser",
    ]
    listing = config("do show crypto pki server PKI-HA certificates").splitlines()
    assert listing[0].startswith("Serial Issued date")
    assert listing[2].startswith("2 ") and listing[2].endswith("cn=r6")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl binary")
def test_openssl_accepts_the_ca_the_crl_and_an_issued_certificate(
    config: Cli, lab: Lab, tmp_path: Path
) -> None:
    start_ca(config, "grant auto")
    cs = server(lab)
    ca = cs.ca
    assert ca is not None
    issued = lab.run(ca.enroll(csr_for("client.example"), "tx-e")).cert
    assert issued is not None
    pem = serialization.Encoding.PEM
    (tmp_path / "ca.pem").write_bytes(ca.cert.public_bytes(pem))
    (tmp_path / "ee.pem").write_bytes(issued.public_bytes(pem))

    # The lab's calendar is 2010: openssl judges validity at that time.
    at = str(int(ca.crl_this_update.timestamp()) + 60)  # type: ignore[union-attr]

    def openssl(*args: str) -> subprocess.CompletedProcess[str]:
        if args[0] == "verify":
            args = ("verify", "-attime", at, *args[1:])
        return subprocess.run(["openssl", *args], cwd=tmp_path, capture_output=True, text=True)

    text = openssl("x509", "-in", "ca.pem", "-noout", "-text").stdout
    assert "Signature Algorithm: md5WithRSAEncryption" in text
    assert "X509v3 Basic Constraints: critical\n                CA:TRUE" in text
    assert (
        "X509v3 Key Usage: critical\n                Digital Signature, Certificate Sign, CRL Sign"
        in text
    )
    assert openssl("verify", "-CAfile", "ca.pem", "ca.pem").returncode == 0
    assert openssl("verify", "-CAfile", "ca.pem", "ee.pem").returncode == 0
    lab.run(ca.revoke(issued.serial_number))
    (tmp_path / "crl.der").write_bytes(ca.crl_der)
    openssl("crl", "-inform", "DER", "-in", "crl.der", "-out", "crl.pem")
    assert "verify OK" in openssl("crl", "-in", "crl.pem", "-CAfile", "ca.pem", "-noout").stderr
    revoked = openssl("verify", "-crl_check", "-CRLfile", "crl.pem", "-CAfile", "ca.pem", "ee.pem")
    assert revoked.returncode != 0 and "certificate revoked" in revoked.stdout + revoked.stderr


def test_crypto_key_generate_and_zeroize_dialogs(config: Cli) -> None:
    assert config("crypto key generate rsa") == "% Please define a domain-name first.\n"
    config("ip domain name example.com")
    out = config("crypto key generate rsa", "768")
    assert out == (
        "The name for the keys will be: CA-server-1.example.com\n"
        "Choose the size of the key modulus in the range of 360 to 4096 for your\n"
        "  General Purpose Keys. Choosing a key modulus greater than 512 may take\n"
        "  a few minutes.\n"
        "\n"
        "How many bits in the modulus [512]: "
        "% Generating 768 bit RSA keys, keys will be non-exportable...\n"
        "[OK] (elapsed time was 1 seconds)\n"
        "\n"
    )
    out = config("crypto key generate rsa general-keys label CA exportable modulus 1024")
    assert out == (
        "The name for the keys will be: CA\n"
        "\n"
        "% The key modulus size is 1024 bits\n"
        "% Generating 1024 bit RSA keys, keys will be exportable...\n"
        "[OK] (elapsed time was 1 seconds)\n"
        "\n"
    )
    replace = config("crypto key generate rsa label CA modulus 1024", "no")
    assert "% You already have RSA keys defined named CA.\n" in replace
    keys = config("do show crypto key mypubkey rsa CA").splitlines()
    assert keys[1:6] == [
        "Key name: CA",
        " Storage Device: not specified",
        " Usage: General Purpose Key",
        " Key is exportable.",
        " Key Data:",
    ]
    assert keys[6].startswith("  30819F30 0D06092A 864886F7 0D010101")
    assert keys[-1] == "  0001"
    assert config("crypto key zeroize rsa CA", "yes").startswith(
        "% Keys to be removed are named 'CA'."
    )
    assert config("do show crypto key mypubkey rsa CA") == ""


def test_startup_chain_is_reloaded_from_its_file(config: Cli, lab: Lab) -> None:
    start_ca(config)
    config("end")
    config("write memory")
    chain_before = lab.router("CA-server-1").feature(Pki).chains["PKI-HA"].certs[0].der
    lab.run(lab.router("CA-server-1").reload("reload"))
    lab.run(asyncio.sleep(5))
    chain_after = lab.router("CA-server-1").feature(Pki).chains["PKI-HA"].certs[0].der
    assert chain_after == chain_before


def test_a_grant_the_database_cannot_take_is_refused_and_issues_nothing(
    config: Cli, lab: Lab
) -> None:
    start_ca(config)
    config("end")
    ca = server(lab).ca
    assert ca is not None
    assert lab.run(ca.enroll(csr_for("r3"), "tx-full")).status == "PENDING"
    nvram = lab.router("CA-server-1").nvram
    nvram.size = nvram.used() - 1  # NVRAM over full: no file can be rewritten as large
    out = config("crypto pki server PKI-HA grant all")
    assert out.startswith("% Certificate server database write failed"), out
    # Nothing was issued: the request still waits, and the serial that could not be saved
    # is never handed out (the next one comes after it).
    assert [r.state for r in ca.requests.values()] == ["pending"]


def test_the_serial_file_journals_changes_and_compacts(
    config: Cli, lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    start_ca(config, "grant auto")
    cs = server(lab)
    ca = cs.ca
    assert ca is not None
    nvram = lab.router("CA-server-1").nvram
    before = nvram.read("PKI-HA.ser")
    lab.run(ca.enroll(csr_for("r1"), "tx-1"))
    after = nvram.read("PKI-HA.ser")
    # Appended, not rewritten: the pending request, the serial, the granted request.
    assert after.startswith(before)
    assert len(after.splitlines()) == len(before.splitlines()) + 3
    serial, records = parse_serial_file(after)
    assert serial == 2 and [(r["state"], r["serial"]) for r in records] == [("granted", 2)]
    # A kill in the middle of an append leaves a torn last line: it is not part of the file.
    nvram.append("PKI-HA.ser", b'{"id": 9, "st')
    assert parse_serial_file(nvram.read("PKI-HA.ser")) == (serial, records)
    # The next start folds the journal into a fresh file, without the torn line.
    config("shutdown")
    config("no shutdown")
    assert cs.ca is not None and list(cs.ca.requests) == [1]
    assert nvram.read("PKI-HA.ser") == serial_file(2, records)
    # A long journal is compacted by the change that finds it too long.
    # (No slack: two requests allow two journal lines; the grant's line is the third.)
    monkeypatch.setattr(server_module, "JOURNAL_SLACK", 0)
    lab.run(cs.ca.enroll(csr_for("r2"), "tx-2"))
    serial, records = parse_serial_file(nvram.read("PKI-HA.ser"))
    assert serial == 3 and [(r["id"], r["state"]) for r in records] == [
        (1, "granted"),
        (2, "granted"),
    ]
    assert nvram.read("PKI-HA.ser") == serial_file(3, records)
