"""IOS's PKI client: trustpoints, ``crypto pki authenticate``/``enroll``, its SCEP client,
auto-enroll, CRL checks, and the client pair of the guide's "PKI HA for client-side PKI".

Most tests run CA-server-1 as the CA and CA-server-2 as the client (tests/pki_lab.py);
the HA tests use the four-router ``pki-ha-clients`` lab with its two pairs. Everything is
on the virtual clock: polls a minute apart and a renewal a day later cost no real time.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Iterator
from urllib.parse import unquote

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from helpers import Cli
from pki_lab import CA, CLIENT, ca_lab, logs, router_key, tap, trustpoint, wait

from iosemu.api import Lab
from iosemu.features.pki import cms
from iosemu.features.pki.client import PkiClient
from iosemu.features.pki.keys import KEY_POOL, KeyPool, Keys, seeded_rsa
from iosemu.features.pki.objects import fingerprint, spki_der
from iosemu.features.pki.trustpoint import Pki
from iosemu.features.redundancy import STANDBY_HOT, Redundancy
from iosemu.features.system import System

CERTRET = "%PKI-6-CERTRET: Certificate received from Certificate Authority"


@pytest.fixture
def calab() -> Iterator[Lab]:
    lab = ca_lab()
    yield lab
    lab.close()


@pytest.fixture
def autolab() -> Iterator[Lab]:
    lab = ca_lab("grant auto")
    yield lab
    lab.close()


def client_cli(lab: Lab) -> Cli:
    return Cli(lab, CLIENT).configure()


def enrolled(lab: Lab, name: str = "TP", *lines: str) -> Cli:
    """A trustpoint that has authenticated and enrolled (the CA grants at once)."""
    cli = client_cli(lab)
    trustpoint(cli, name, *lines)
    cli(f"crypto pki authenticate {name}", "yes")
    cli(f"crypto pki enroll {name}", "", "", "no", "", "yes")
    wait(lab, 2)
    return cli


def block(cli: Cli, start: str) -> list[str]:
    """The lines of a running-config block starting at ``start``."""
    body = cli.body()
    i = body.index(start)
    out = [body[i]]
    for line in body[i + 1 :]:
        if not line.startswith(" "):
            break
        out.append(line)
    return out


# --------------------------------------------------------------------------- trustpoints


def test_sub_commands_render_in_ios_order_and_no_forms_remove_them(lab: Lab) -> None:
    cli = Cli(lab).configure()
    typed = [
        "auto-enroll 70 regenerate",
        "rsakeypair TP 2048",
        "revocation-check crl",
        "subject-name CN=R1, O=Lab",
        "password secret",
        "ip-address GigabitEthernet0/0",
        "fqdn r1.example.com",
        "serial-number none",
        "enrollment url http://PKI-HA:80",
        "enrollment retry period 2",
        "enrollment retry count 5",
        "enrollment mode ra",
        "redundancy",
    ]
    cli("crypto pki trustpoint TP")
    assert "".join(cli(line) for line in typed) == ""  # all silent
    cli("exit")
    assert block(cli, "crypto pki trustpoint TP") == [
        "crypto pki trustpoint TP",
        " redundancy",
        " enrollment mode ra",
        " enrollment retry count 5",
        " enrollment retry period 2",
        " enrollment url http://PKI-HA:80",
        " serial-number none",
        " fqdn r1.example.com",
        " ip-address GigabitEthernet0/0",
        " password secret",
        " subject-name CN=R1, O=Lab",
        " revocation-check crl",
        " rsakeypair TP 2048",
        " auto-enroll 70 regenerate",
    ]
    cli("crypto pki trustpoint TP")
    # Every line can be taken back as it reads (what the HA sync sends for a removal).
    for line in typed:
        assert cli(f"no {line}") == "", line
    cli("exit")
    assert block(cli, "crypto pki trustpoint TP") == ["crypto pki trustpoint TP"]
    cli("crypto pki trustpoint TP")
    assert cli("enrollment url ftp://x/").startswith("% Invalid URL")
    assert "Invalid input" in cli("enrollment retry period 61")


def test_show_trustpoints_before_and_after_authenticate(calab: Lab) -> None:
    cli = client_cli(calab)
    trustpoint(cli, "TP")
    assert cli("do show crypto pki trustpoints") == (
        "Trustpoint TP:\n    Not authenticated.\n    SCEP URL: http://10.1.32.83:80/cgi-bin\n\n\n"
    )
    assert cli("do show crypto pki trustpoints TP status") == (
        "Trustpoint TP:\n"
        "  State:\n"
        "    Keys generated ............. No\n"
        "    Issuing CA authenticated ....... No\n"
        "    Certificate request(s) ..... None\n"
        "\n"
    )
    cli("crypto pki authenticate TP", "yes")
    out = cli("do show crypto pki trustpoints")
    assert out.startswith(
        "Trustpoint TP:\n    Subject Name: \n    cn=PKI-HA\n          Serial Number (hex): 01\n"
        "    Certificate configured.\n    SCEP URL: http://10.1.32.83:80/cgi-bin\n\n\n"
    )


# --------------------------------------------------------------------------- authenticate


def test_authenticate_fetches_the_ca_certificate_as_ios_does(calab: Lab) -> None:
    wire = tap(calab)
    cli = client_cli(calab)
    trustpoint(cli, "TP")
    out = cli("crypto pki authenticate TP", "yes")
    ca_cert = calab.router(CA).feature(Pki).ca_certificate("PKI-HA")
    assert ca_cert is not None
    der = ca_cert.public_bytes(serialization.Encoding.DER)
    assert out == (
        "Certificate has the following attributes:\n"
        f"       Fingerprint MD5: {fingerprint(der, 'md5')} \n"
        f"      Fingerprint SHA1: {fingerprint(der, 'sha1')} \n"
        "\n"
        "% Do you accept this certificate? [yes/no]: "
        "Trustpoint CA certificate accepted.\n"
    )
    # The MD5 fingerprint is the CA's own "CA cert fingerprint".
    assert fingerprint(der, "md5") in Cli(calab, CA)("show crypto pki server")
    request, _ = wire.last("GetCACert")
    assert (request.method, request.http_version) == ("GET", "1.0")
    assert request.target == "/cgi-bin/pkiclient.exe?operation=GetCACert&message=TP"
    assert request.header("user-agent") == "Mozilla/4.0 (compatible; MSIE 5.0; Cisco PKI)"
    pki = calab.router(CLIENT).feature(Pki)
    assert pki.ca_certificate("TP") == ca_cert
    assert block(cli, "crypto pki certificate chain TP")[:2] == [
        "crypto pki certificate chain TP",
        " certificate ca 01",
    ]


def test_authenticate_declined_or_unreachable_changes_nothing(calab: Lab) -> None:
    cli = client_cli(calab)
    trustpoint(cli, "TP")
    out = cli("crypto pki authenticate TP", "no")
    assert out.endswith("[yes/no]: % Certificate not accepted.\n")
    assert calab.router(CLIENT).feature(Pki).ca_certificate("TP") is None
    failed = (
        "% Error in receiving Certificate Authority certificate: status = FAIL, cert length = 0\n"
        "% Failed to authenticate the Certificate Authority\n"
    )
    trustpoint(cli, "NOBODY", url="http://10.1.32.99:80")  # no such host on the segment
    assert cli("crypto pki authenticate NOBODY") == failed
    trustpoint(cli, "NONAME", url="http://unknown-ca:80")  # no ip host entry
    assert cli("crypto pki authenticate NONAME") == failed
    assert cli("crypto pki authenticate MISSING") == "% Trustpoint MISSING not found.\n"
    assert cli("crypto pki enroll TP") == (
        "% You must authenticate the Certificate Authority before you can enroll with it.\n"
    )


# --------------------------------------------------------------------------- enroll


def test_enroll_dialog_word_for_word_and_the_pending_request(calab: Lab) -> None:
    wire = tap(calab)
    cli = client_cli(calab)
    cli("ip domain name otus.ru")
    trustpoint(cli, "TP", "rsakeypair TP 1024")
    cli("crypto pki authenticate TP", "yes")
    serial = calab.router(CLIENT).feature(System).board_id
    out = cli("crypto pki enroll TP", "", "", "yes", "", "yes")
    assert out == (
        "%\n"
        "% Start certificate enrollment .. \n"
        "% Create a challenge password. You will need to verbally provide this\n"
        "   password to the CA Administrator in order to revoke your certificate.\n"
        "   For security reasons your password will not be saved in the configuration.\n"
        "   Please make a note of it.\n"
        "\n"
        "Password: Re-enter password: \n"
        "% The subject name in the certificate will include: CA-server-2.otus.ru\n"
        "% Include the router serial number in the subject name? [yes/no]: "
        f"% The serial number in the certificate will be: {serial}\n"
        "% Include an IP address in the subject name? [no]: "
        "Request certificate from CA? [yes/no]: "
        "% Certificate request sent to Certificate Authority\n"
        "% The 'show crypto pki certificate verbose TP' commandwill show the fingerprint.\n"
        "\n"
    )
    wait(calab, 1)
    messages = logs(calab, CLIENT)
    assert "%CRYPTO-6-AUTOGEN: Generated new 1024 bit key pair" in messages
    md5 = next(m for m in messages if "Certificate Request Fingerprint MD5" in m)
    sha1 = next(m for m in messages if "Certificate Request Fingerprint SHA1" in m)
    assert re.fullmatch(r"CRYPTO_PKI:  Certificate Request Fingerprint MD5: (\w{8} ){4}", md5)
    assert re.fullmatch(r"CRYPTO_PKI:  Certificate Request Fingerprint SHA1: (\w{8} ){5}", sha1)
    md5_value = md5.rsplit(": ", 1)[1].strip()
    sha1_value = sha1.rsplit(": ", 1)[1].strip()
    # The CA sees the same request: its table shows the same fingerprint.
    table = Cli(calab, CA)("show crypto pki server PKI-HA requests")
    row = f"1      pending    {md5_value.replace(' ', '')} serialNumber={serial}+hostname="
    assert row + "CA-server-2.otus.ru\n" in table
    # Pending, as §4.13 shows it.
    assert cli("do show crypto pki certificates TP").startswith(
        "Certificate\n"
        "  Subject:\n"
        "    Name: CA-server-2.otus.ru\n"
        f"    Serial Number: {serial}\n"
        "   Status: Pending\n"
        "   Key Usage: General Purpose\n"
        f"   Certificate Request Fingerprint MD5: {md5_value} \n"
        f"   Certificate Request Fingerprint SHA1: {sha1_value} \n"
        "   Associated Trustpoint: TP \n"
        "\n"
        "CA Certificate\n"
    )
    assert "Certificate request(s) ..... Pending" in cli("do show crypto pki trustpoints status")
    # The wire: GetCACaps, then PKCSReq by GET (HTTP/1.0, base64 with %0A), MD5, AES.
    assert wire.operations() == ["GetCACert", "GetCACaps", "PKIOperation"]
    request, response = wire.last("PKIOperation")
    assert (request.method, request.http_version) == ("GET", "1.0")
    assert request.header("user-agent") == "Mozilla/4.0 (compatible; MSIE 5.0; Cisco PKI)"
    raw = request.query.split("message=", 1)[1]
    lines = raw.split("%0A")
    assert lines[-1] == "" and all(len(line) == 64 for line in lines[:-2])
    message = cms.parse(_b64(raw))
    assert message.message_type == cms.MessageType.PKCS_REQ and message.digest == "md5"
    payload, cipher = cms.open_envelope(
        message.content or b"", router_key(calab, CA, "PKI-HA"), None
    )
    assert cipher == "aes128"
    csr = x509.load_der_x509_csr(payload)
    assert csr.signature_hash_algorithm is not None
    assert csr.signature_hash_algorithm.name == "md5"
    assert spki_der(csr.public_key()) == spki_der(router_key(calab, CLIENT, "TP"))  # type: ignore[arg-type]
    san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["CA-server-2.otus.ru"]
    assert cms.parse(response.body).pki_status == cms.PkiStatus.PENDING


def _b64(raw: str) -> bytes:
    """A GET ``message=`` as IOS sends it (base64, %0A line breaks) back to DER."""
    return base64.b64decode(unquote(raw).replace("\n", ""))


def test_polls_on_the_retry_timer_then_installs_the_granted_certificate(calab: Lab) -> None:
    wire = tap(calab)
    cli = client_cli(calab)
    trustpoint(cli, "TP", "enrollment retry period 2", "revocation-check crl")
    cli("crypto pki authenticate TP", "yes")
    cli("crypto pki enroll TP", "", "", "no", "", "yes")
    start = calab.loop.time()
    wait(calab, 250)  # two polls, both PENDING
    operations = zip(wire.times, wire.operations(), strict=True)
    polls = [t - start for t, op in operations if op == "PKIOperation"]
    assert [round(p) for p in polls] == [0, 120, 240]
    Cli(calab, CA)("crypto pki server PKI-HA grant all")
    wait(calab, 120)
    assert CERTRET in logs(calab, CLIENT)
    pki = calab.router(CLIENT).feature(Pki)
    cert = pki.router_certificate("TP")
    assert cert is not None and cert.serial_number == 2
    assert "TP" not in pki.pending
    # The router certificate comes first in the chain, then the CA's.
    chain = block(cli, "crypto pki certificate chain TP")
    assert chain[1] == " certificate 02" and " certificate ca 01" in chain
    # revocation-check crl: the CRL was fetched (SCEP GetCRL) to check it.
    assert wire.operations()[-1] == "PKIOperation"
    assert cms.parse(
        _b64(wire.last("PKIOperation")[0].query.split("message=")[1])
    ).message_type == (cms.MessageType.GET_CRL)
    out = cli("do show crypto pki crls")
    assert "      ** CDP Not Published - Retrieved via SCEP\n" in out
    assert "    cn=PKI-HA\n" in out


def test_retry_count_gives_up_and_a_refusal_is_logged(calab: Lab) -> None:
    cli = client_cli(calab)
    trustpoint(cli, "TP", "enrollment retry count 2")
    cli("crypto pki authenticate TP", "yes")
    cli("crypto pki enroll TP", "", "", "no", "", "yes")
    wait(calab, 200)
    assert "%PKI-6-CERTFAIL: Certificate enrollment failed." in logs(calab, CLIENT)
    assert "TP" not in calab.router(CLIENT).feature(Pki).pending
    # A request the CA rejects ends at once.
    cli("crypto pki enroll TP", "", "", "no", "", "yes")
    wait(calab, 1)
    Cli(calab, CA)("crypto pki server PKI-HA reject all")
    wait(calab, 61)
    reject = (
        "%PKI-6-CERTREJECT: Certificate enrollment request was rejected by Certificate Authority"
    )
    assert reject in logs(calab, CLIENT)


def test_configured_serial_number_ip_address_and_one_time_password(calab: Lab) -> None:
    out = Cli(calab, CA)("crypto pki server PKI-HA password generate")
    password = re.search(r"password: (\S+)", out).group(1)  # type: ignore[union-attr]
    cli = client_cli(calab)
    lines = ["serial-number", "ip-address GigabitEthernet0/0", f"password {password}"]
    trustpoint(cli, "TP", "subject-name CN=R2, O=Lab", *lines)
    cli("crypto pki authenticate TP", "yes")
    serial = calab.router(CLIENT).feature(System).board_id
    out = cli("crypto pki enroll TP", "yes")
    assert out == (
        "%\n"
        "% Start certificate enrollment .. \n"
        "% The subject name in the certificate will include: CN=R2, O=Lab\n"
        "% The subject name in the certificate will include: CA-server-2\n"
        f"% The serial number in the certificate will be: {serial}\n"
        "% The IP address in the certificate is 10.1.32.84\n"
        "\n"
        "Request certificate from CA? [yes/no]: "
        "% Certificate request sent to Certificate Authority\n"
        "% The 'show crypto pki certificate verbose TP' commandwill show the fingerprint.\n"
        "\n"
    )
    wait(calab, 2)  # the one-time password makes the CA grant at once
    assert CERTRET in logs(calab, CLIENT)
    shown = cli("do show crypto pki certificates TP")
    assert (
        "  Subject:\n"
        "    Name: CA-server-2\n"
        "    IP Address: 10.1.32.84\n"
        f"    Serial Number: {serial}\n"
        f"    serialNumber={serial}+ipaddress=10.1.32.84+hostname=CA-server-2\n"
        "    cn=R2\n"
        "    o=Lab\n"
    ) in shown


def test_the_ip_question_takes_an_interface_or_skips(calab: Lab) -> None:
    cli = client_cli(calab)
    trustpoint(cli, "TP", "serial-number none")
    cli("crypto pki authenticate TP", "yes")
    out = cli("crypto pki enroll TP", "", "", "yes", "Gi0/0", "no")
    assert out.endswith(
        "% Include an IP address in the subject name? [no]: "
        "Enter Interface name or IP Address[]: "
        "Request certificate from CA? [yes/no]: "
    )
    out = cli("crypto pki enroll TP", "", "", "yes", "", "no")
    assert "Enter Interface name or IP Address[]: % Skipping IP address\n" in out
    assert "TP" not in calab.router(CLIENT).feature(Pki).pending  # answered no


def test_re_enroll_asks_and_replaces_the_certificate(autolab: Lab) -> None:
    cli = enrolled(autolab)
    pki = autolab.router(CLIENT).feature(Pki)
    first = pki.router_certificate("TP")
    out = cli("crypto pki enroll TP", "no")
    assert out == (
        "Trustpoint TP has already enrolled and has a router cert issued to it.\n"
        "If you successfully re-enroll this trustpoint,the existing certificate will be "
        "replaced.\n"
        "\n"
        "Do you want to continue with re-enrollment? [yes/no]: "
    )
    cli("crypto pki enroll TP", "yes", "", "", "no", "", "yes")
    wait(autolab, 2)
    second = pki.router_certificate("TP")
    assert first is not None and second is not None and second.serial_number == 3
    assert [c.kind for c in pki.chains["TP"].certs] == ["", "ca"]  # one router certificate


def test_a_missing_default_key_is_autogenerated_and_enables_ssh(autolab: Lab) -> None:
    cli = client_cli(autolab)
    cli("ip domain name example.com")
    enrolled_cli = enrolled(autolab, "TP")
    del enrolled_cli
    pair = autolab.router(CLIENT).feature(Keys).get("CA-server-2.example.com")
    assert pair is not None and pair.bits == 512 and not pair.redundancy
    messages = logs(autolab, CLIENT)
    assert "%SSH-5-ENABLED: SSH 1.5 has been enabled" in messages
    assert "%CRYPTO-6-AUTOGEN: Generated new 512 bit key pair" in messages
    status = cli("do show crypto pki trustpoints TP status")
    assert "Keys generated ............. Yes (General Purpose, non-exportable)" in status
    assert "Certificate request(s) ..... Yes" in status


def test_show_certificates_lists_a_shared_ca_certificate_once(autolab: Lab) -> None:
    cli = enrolled(autolab, "TP")
    enrolled(autolab, "TP2")
    out = cli("do show crypto pki certificates")
    assert out.count("CA Certificate\n") == 1
    assert "  Associated Trustpoints: TP TP2 \n" in out
    assert out.count("  Certificate Usage: General Purpose\n") == 2
    verbose = cli("do show crypto pki certificates TP2 verbose")
    assert "    X509v3 Subject Alternative Name:\n        CA-server-2\n" in verbose
    assert "  Signature Algorithm: MD5 with RSA Encryption\n" in verbose


# --------------------------------------------------------------------------- removal


def test_no_trustpoint_and_no_certificate_dialogs(calab: Lab) -> None:
    cli = client_cli(calab)
    trustpoint(cli, "TP")
    cli("crypto pki authenticate TP", "yes")
    cli("crypto pki enroll TP", "", "", "no", "", "yes")
    client = calab.router(CLIENT).feature(PkiClient)
    assert "TP" in client.enrollments
    cli("crypto pki certificate chain TP")
    out = cli("no certificate ca 01", "yes")
    assert out == (
        "% Are you sure you want to remove the certificate [yes/no]: "
        "% Be sure to ask the CA administrator to revoke this certificate.\n"
    )
    cli("exit")
    cli("crypto pki authenticate TP", "yes")
    out = cli("no crypto pki trustpoint TP", "yes")
    assert out == (
        "% Removing an enrolled trustpoint will destroy all certificates\n"
        " received from the related Certificate Authority.\n"
        "\n"
        "Are you sure you want to do this? [yes/no]: "
        "% Be sure to ask the CA administrator to revoke your certificates.\n"
    )
    pki = calab.router(CLIENT).feature(Pki)
    assert "TP" not in pki.trustpoints and "TP" not in pki.chains
    assert "TP" not in client.enrollments and "TP" not in pki.pending  # polling stopped


# --------------------------------------------------------------------------- revocation


def test_crl_by_scep_then_revocation_is_seen_after_a_crl_request(autolab: Lab) -> None:
    cli = enrolled(autolab, "TP", "revocation-check crl")
    client = autolab.router(CLIENT).feature(PkiClient)
    cert = autolab.router(CLIENT).feature(Pki).router_certificate("TP")
    assert cert is not None
    assert autolab.run(client.verify("TP", cert)) == ""
    Cli(autolab, CA)("crypto pki server PKI-HA revoke 2")
    # Cached until NextUpdate: the revocation is not seen yet ...
    assert autolab.run(client.verify("TP", cert)) == ""
    assert cli("crypto pki crl request TP") == ""
    assert autolab.run(client.verify("TP", cert)) == "revoked"
    out = cli("do show crypto pki crls")
    assert out.startswith("CRL Issuer Name:\n    cn=PKI-HA\n    LastUpdate: ")
    assert "Parsed CRL cache current size is" in out


def test_crl_from_the_cdp_when_the_certificate_has_one() -> None:
    cdp = "http://10.1.32.83/cgi-bin/pkiclient.exe?operation=GetCRL"
    lab = ca_lab("grant auto", f"cdp-url {cdp}")
    try:
        wire = tap(lab)
        cli = enrolled(lab, "TP", "revocation-check crl")
        request, _ = wire.last("GetCRL")
        assert (request.method, request.query) == ("GET", "operation=GetCRL")
        out = cli("do show crypto pki crls")
        assert f"    Retrieved from CRL Distribution Point:\n      {cdp}\n" in out
        assert f"  CRL Distribution Points: \n    {cdp}\n" in cli("do show crypto pki certificates")
    finally:
        lab.close()


# --------------------------------------------------------------------------- auto-enroll


def test_auto_enroll_enrolls_then_renews_on_the_lab_clock() -> None:
    lab = ca_lab("grant auto", "lifetime certificate 2")
    try:
        cli = client_cli(lab)
        trustpoint(cli, "TP", "rsakeypair TP 1024", "auto-enroll 50 regenerate")
        cli("crypto pki authenticate TP", "yes")
        wait(lab, 5)  # no dialog: it enrolls by itself
        pki = lab.router(CLIENT).feature(Pki)
        first = pki.router_certificate("TP")
        assert first is not None and first.serial_number == 2
        key = router_key(lab, CLIENT, "TP")
        wait(lab, dt.timedelta(days=1).total_seconds() - 60)
        assert pki.router_certificate("TP") == first  # not yet
        wait(lab, 120)
        renewed = pki.router_certificate("TP")
        assert renewed is not None and renewed.serial_number == 3
        assert "%PKI-6-CERTRENEWAUTO: Renewing the router certificate for trustpoint TP" in (
            logs(lab, CLIENT)
        )
        new_key = router_key(lab, CLIENT, "TP")
        assert spki_der(new_key) != spki_der(key)  # regenerate
        assert spki_der(renewed.public_key()) == spki_der(new_key)  # type: ignore[arg-type]
        assert renewed.subject == first.subject
    finally:
        lab.close()


# --------------------------------------------------------------------------- keys


def test_virtual_labs_draw_the_same_keys_in_the_same_order() -> None:
    class Loop:  # what the pool keys its sequences on: a lab's event loop
        pass

    pool = KeyPool()
    one, two = Loop(), Loop()
    a = [pool.fixed(one, 512) for _ in range(2)]
    b = pool.fixed(two, 512)
    assert a[0] is b and a[0] is not a[1]  # per lab, distinct; same sequence for every lab
    assert spki_der(seeded_rsa(512, "x")) == spki_der(seeded_rsa(512, "x"))
    key = seeded_rsa(768, "y")
    assert key.key_size == 768 and isinstance(key, rsa.RSAPrivateKey)
    pool.enable()
    pool.fill(1024, 2)
    first = pool.take(1024)
    assert pool.take(1024) is not first
    pool.rewind()
    assert pool.take(1024) is first
    assert not KEY_POOL.enabled  # off unless asked for


# --------------------------------------------------------------------------- client HA


@pytest.fixture
def pairs() -> Iterator[Lab]:
    """The four-router lab, both pairs formed, the CA (grant auto) running on CA-server-2."""
    lab = Lab.open("pki-ha-clients", clock="virtual")
    lab.run(lab.start())
    wait(lab, 150)
    for name in ("CA-server-1", "Client-1"):
        assert lab.router(name).feature(Redundancy).my_state == STANDBY_HOT
    ca = Cli(lab, "CA-server-2").configure()
    ca("crypto pki server PKI-HA")
    ca("redundancy")
    ca("grant auto")
    ca("no shutdown", "cisco123", "cisco123")
    ca("end")
    wait(lab, 2)
    yield lab
    lab.close()


def test_a_redundant_trustpoint_and_its_certificates_reach_the_client_standby(
    pairs: Lab,
) -> None:
    active = Cli(pairs, "Client-2").configure()
    trustpoint(active, "HA-TP", "revocation-check crl", "redundancy", url="http://PKI-HA:80")
    active("crypto pki authenticate HA-TP", "yes")
    active("crypto pki enroll HA-TP", "", "", "no", "", "yes")
    wait(pairs, 3)
    assert CERTRET in logs(pairs, "Client-2")
    standby = Cli(pairs, "Client-1")
    mine, theirs = (pairs.router(n).feature(Pki) for n in ("Client-2", "Client-1"))
    assert theirs.trustpoints["HA-TP"].config_lines() == mine.trustpoints["HA-TP"].config_lines()
    assert [c.der for c in theirs.chains["HA-TP"].certs] == [
        c.der for c in mine.chains["HA-TP"].certs
    ]
    assert [c.kind for c in theirs.chains["HA-TP"].certs] == ["", "ca"]
    pair = pairs.router("Client-1").feature(Keys).get("HA-TP")
    assert pair is not None and pair.redundancy
    assert spki_der(pair.key) == spki_der(router_key(pairs, "Client-2", "HA-TP"))
    keys = standby("show crypto key mypubkey rsa HA-TP")
    assert " Key is not exportable. Redundancy enabled.\n" in keys
    assert standby("show crypto pki certificates") == active("do show crypto pki certificates")
    # A sub-command typed later follows, as typed; so does a removal.
    active("crypto pki trustpoint HA-TP")
    active("no revocation-check")
    active("subject-name CN=client")
    active("exit")
    wait(pairs, 1)
    assert theirs.trustpoints["HA-TP"].revocation_check == []
    assert theirs.trustpoints["HA-TP"].subject_name == "CN=client"
    # The client pair fails over: the new active is the same identity.
    before = mine.router_certificate("HA-TP")
    pairs.power_off("Client-2")
    wait(pairs, 15)
    assert pairs.router("Client-1").feature(Redundancy).role == "active"
    assert theirs.router_certificate("HA-TP") == before
    status = standby("show crypto pki trustpoints HA-TP status")
    assert "Router General Purpose certificate configured:" in status
    assert "Keys generated ............. Yes (General Purpose, non-exportable)" in status
    client = pairs.router("Client-1").feature(PkiClient)
    assert before is not None
    assert pairs.run(client.verify("HA-TP", before)) == ""


def test_removals_on_the_active_client_reach_its_standby(pairs: Lab) -> None:
    active = Cli(pairs, "Client-2").configure()
    trustpoint(active, "HA-TP", "redundancy", url="http://PKI-HA:80")
    active("crypto pki authenticate HA-TP", "yes")
    active("crypto pki enroll HA-TP", "", "", "no", "", "yes")
    wait(pairs, 3)
    standby = pairs.router("Client-1").feature(Pki)
    assert standby.router_certificate("HA-TP") is not None
    active("crypto pki certificate chain HA-TP")
    active("no certificate 02", "yes")
    active("exit")
    wait(pairs, 1)
    assert standby.router_certificate("HA-TP") is None
    assert standby.ca_certificate("HA-TP") is not None
    active("no crypto pki trustpoint HA-TP", "yes")
    wait(pairs, 1)
    assert "HA-TP" not in standby.trustpoints and "HA-TP" not in standby.chains


def test_only_the_active_unit_auto_enrolls(pairs: Lab) -> None:
    active = Cli(pairs, "Client-2").configure()
    trustpoint(active, "AUTO", "auto-enroll", "redundancy", url="http://PKI-HA:80")
    active("crypto pki authenticate AUTO", "yes")
    wait(pairs, 5)
    mine, theirs = (pairs.router(n).feature(Pki) for n in ("Client-2", "Client-1"))
    cert = mine.router_certificate("AUTO")
    assert cert is not None
    assert theirs.router_certificate("AUTO") == cert  # synced, not enrolled on its own
    requests = Cli(pairs, "CA-server-2")("show crypto pki server PKI-HA requests")
    assert requests.count("granted") == 1


def test_write_memory_and_reload_keep_the_identity(autolab: Lab) -> None:
    cli = enrolled(autolab, "TP", "rsakeypair TP 1024", "auto-enroll 90")
    pki = autolab.router(CLIENT).feature(Pki)
    cert = pki.router_certificate("TP")
    key = spki_der(router_key(autolab, CLIENT, "TP"))
    cli("do write memory")
    startup = autolab.router(CLIENT).nvram.read("startup-config").decode()
    assert " certificate 02 nvram:PKI-HA#2.cer\n" in startup
    assert " certificate ca 01 nvram:PKI-HA#1CA.cer\n" in startup
    autolab.run(autolab.router(CLIENT).reload("reload"))
    wait(autolab, 5)
    pki = autolab.router(CLIENT).feature(Pki)
    assert pki.router_certificate("TP") == cert
    assert spki_der(router_key(autolab, CLIENT, "TP")) == key
    shown = Cli(autolab, CLIENT)("show crypto pki certificates TP")
    assert "  Storage: nvram:PKI-HA#2.cer\n" in shown
    assert "TP" in autolab.router(CLIENT).feature(PkiClient)._timers  # renewal re-armed
