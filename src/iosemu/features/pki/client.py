"""IOS's PKI client: ``crypto pki authenticate`` and ``enroll``, its SCEP client, auto-enroll
and revocation checking by CRL, all on the lab clock.

``crypto pki authenticate NAME`` fetches the CA certificate (SCEP GetCACert) from the
trustpoint's ``enrollment url`` (host names through ``ip host``), shows its fingerprints
and asks before putting it in ``crypto pki certificate chain NAME``. ``crypto pki enroll
NAME`` runs IOS's dialog (reference §7.3, typos included), makes the key pair if it is
missing while the dialog goes on (``%CRYPTO-6-AUTOGEN``: ``rsakeypair``'s size, else 512
bits) and hands the request to a background enrollment that speaks SCEP as an IOS client
does (pki-scep.md §3.2):

* HTTP/1.0 with IOS's User-Agent, one connection a request;
* GetCACaps first; PKIOperation always by GET, base64 broken by ``%0A`` every 64
  characters, even when the CA offers POST;
* MD5 for the pkiMessage's signature, as the captured 15.x messages show, whatever the CA
  offers; the content cipher from the caps: AES-128 if offered, else 3DES, else DES;
* a PKCSReq signed with a throw-away self-signed certificate (a renewal: signed with the
  current certificate), the PKCS#10 signed with MD5 (15.1's hash);
* PENDING is polled (CertPoll) every ``enrollment retry period`` minutes (1), up to
  ``enrollment retry count`` times (10), on the lab clock;
* SUCCESS: the certificate is checked (issued by the trustpoint's CA, for our key, not
  revoked), installed first in the chain, ``%PKI-6-CERTRET`` is logged.

Revocation checking (``revocation-check crl``) is used where this emulator has a use for
it: a certificate received at enrollment is checked before it is installed, and
``verify`` checks any certificate (a peer's) the way IKE would. The CRL comes from the
certificate's CRL distribution point when it has one (plain HTTP GET), otherwise by SCEP
GetCRL, and is cached until its NextUpdate (``show crypto pki crls``, refreshed by
``crypto pki crl request NAME``). A CRL that cannot be fetched fails the check only for
``verify``; a freshly received certificate is kept (IOS would not throw away what its CA
just issued because the CRL server is down).

``auto-enroll [PERCENT] [regenerate]``: a trustpoint with a CA certificate but no router
certificate enrolls by itself (no dialog; serial number and IP address only as
configured); once it has one, it renews at PERCENT of the certificate's lifetime (at its
end without PERCENT), with a new key pair with ``regenerate``. Only the ACTIVE unit of a
redundant pair enrolls or renews; a standby looks again every minute.

With ``redundancy`` in the trustpoint, the key pair (made with ``redundancy``), the CA
certificate and the router certificate go to the standby through ``PkiHa`` as soon as
they exist. A pending request does not: after a switchover, enroll again on the new active
(with ``auto-enroll`` it does so by itself).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import ipaddress
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from urllib.parse import quote, urlsplit

import h11
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import AttributeOID, NameOID

from iosemu.device.router import Feature, Router
from iosemu.features.dns import Dns
from iosemu.features.http import HttpReply, fetch
from iosemu.features.interfaces import Interfaces
from iosemu.features.pki import cms
from iosemu.features.pki.cms import MessageType, NotPkiMessage, PkiStatus, ScepError
from iosemu.features.pki.keys import KeyPair, Keys, log_ssh_enabled, new_key
from iosemu.features.pki.objects import (
    fingerprint,
    hash_name,
    ios_dn_text,
    parse_dn,
    sign_tbs,
    spki_der,
    verify_signed_by,
)
from iosemu.features.pki.scep import IOS_USER_AGENT, ScepClient, ScepProblem, lab_transport
from iosemu.features.pki.trustpoint import (
    ADDRESS_OID,
    HOSTNAME_OID,
    ChainCert,
    PendingRequest,
    Pki,
    Trustpoint,
    serial_text,
)
from iosemu.features.redundancy import Redundancy
from iosemu.features.system import System
from iosemu.lab.topology import TopologyError, canonical_interface
from iosemu.parser.grammar import CONFIG, EXEC, command
from iosemu.session import CommandError, Ctx

log = logging.getLogger("iosemu.pki.client")

RETRY_PERIOD = 1  # minutes between polls (IOS's default)
RETRY_COUNT = 10  # polls before giving up (Cisco's documented default)
AUTOGEN_BITS = 512  # the key IOS makes when a trustpoint has none (reference §5.2)
DIGEST = "md5"  # what 15.x signs its pkiMessages with (pki-scep.md §3.2)
HTTP_VERSION = "1.0"
STANDBY_RECHECK = 60.0  # seconds: a unit that is not active looks again this often
DEBUG_KEY = "pki.transactions"

NO_CA = "% You must authenticate the Certificate Authority before you can enroll with it."
CA_FAILED = (
    "% Error in receiving Certificate Authority certificate: status = FAIL, cert length = 0",
    "% Failed to authenticate the Certificate Authority",
)
# Failures of the wire: no route, no answer, a broken or unexpected answer.
WIRE_ERRORS = (
    ConnectionError,
    TimeoutError,
    OSError,
    h11.ProtocolError,
    ScepProblem,
    NotPkiMessage,
    ScepError,
    ValueError,
)


class EnrollmentError(Exception):
    """Something the client cannot do (no URL, unknown host); the message is for debug."""


# --------------------------------------------------------------------------- SCEP


@dataclass
class IosScepClient(ScepClient):
    """``ScepClient`` as IOS drives it: GetCACaps and GetCACert name the trustpoint
    (``message=TP``, as micromdm/scep#211 captured), PKIOperation by GET."""

    label: str = "CA"

    async def get_ca_caps(self) -> list[str]:
        reply = await self._get(f"operation=GetCACaps&message={quote(self.label, safe='')}")
        return [line.strip() for line in reply.body.decode().splitlines() if line.strip()]

    async def get_ca_cert(self) -> x509.Certificate:
        reply = await self._get(f"operation=GetCACert&message={quote(self.label, safe='')}")
        self.ca_cert = x509.load_der_x509_certificate(reply.body)
        return self.ca_cert


def content_cipher(caps: list[str]) -> str:
    """The envelope cipher IOS picks from the CA's capabilities."""
    if "AES" in caps:
        return "aes128"
    return "des3" if "DES3" in caps else "des"


def enrollment_target(router: Router, url: str) -> tuple[IPv4Address, int, str]:
    """Address, port and ``.../pkiclient.exe`` path of an ``enrollment url``."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    address = router.feature(Dns).resolve(host)
    if address is None:
        raise EnrollmentError(f"cannot resolve {host}")
    try:
        port = parts.port or 80
    except ValueError:
        raise EnrollmentError(f"bad port in {url}") from None
    return address, port, (parts.path.rstrip("/") or "/cgi-bin") + "/pkiclient.exe"


# --------------------------------------------------------------------------- identity


@dataclass
class Identity:
    """What goes in a request's subject: IOS's unstructured RDN, then ``subject-name``."""

    fqdn: str | None
    serial_number: str | None = None
    ip: str | None = None
    subject_name: str | None = None
    password: str | None = None  # the challenge password typed in the dialog

    def name(self) -> x509.Name:
        # serialNumber, unstructuredAddress and unstructuredName share one RDN; IOS-XE
        # shows it first (``ipaddress=...+hostname=...,cn=...``).
        unstructured = []
        if self.serial_number:
            unstructured.append(
                x509.NameAttribute(
                    NameOID.SERIAL_NUMBER, self.serial_number, _ASN1Type.PrintableString
                )
            )
        if self.ip:
            unstructured.append(x509.NameAttribute(ADDRESS_OID, self.ip, _ASN1Type.IA5String))
        if self.fqdn:
            unstructured.append(x509.NameAttribute(HOSTNAME_OID, self.fqdn, _ASN1Type.IA5String))
        rdns = [x509.RelativeDistinguishedName(unstructured)] if unstructured else []
        if self.subject_name:
            rdns += parse_dn(self.subject_name).rdns
        return x509.Name(rdns)

    def alt_names(self) -> list[x509.GeneralName]:
        names: list[x509.GeneralName] = []
        if self.fqdn:
            names.append(x509.DNSName(self.fqdn))
        if self.ip:
            names.append(x509.IPAddress(ipaddress.ip_address(self.ip)))
        return names


def make_request(
    key: rsa.RSAPrivateKey,
    subject: x509.Name,
    alt_names: list[x509.GeneralName],
    password: str | None,
) -> x509.CertificateSigningRequest:
    """The PKCS#10 IOS sends: the subject, a SAN with the FQDN (and address), the challenge
    password if one was given, signed with MD5 (cryptography signs no MD5: re-signed)."""
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject)
    if password:
        builder = builder.add_attribute(AttributeOID.CHALLENGE_PASSWORD, password.encode())
    if alt_names:
        builder = builder.add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
    csr = builder.sign(key, hashes.SHA256())
    return x509.load_der_x509_csr(sign_tbs(csr.tbs_certrequest_bytes, key, DIGEST))


# --------------------------------------------------------------------------- state


@dataclass
class Enrollment:
    """One request on its way: what is sent, and what to do with the answer."""

    trustpoint: str
    key: rsa.RSAPrivateKey  # the key the certificate is for
    key_label: str
    replaces_key: bool  # regenerated: it replaces the old key when the certificate comes
    csr: x509.CertificateSigningRequest
    signer_key: rsa.RSAPrivateKey
    signer_cert: x509.Certificate
    transaction_id: str
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def csr_der(self) -> bytes:
        return self.csr.public_bytes(serialization.Encoding.DER)


@dataclass
class CachedCrl:
    der: bytes
    downloaded: dt.datetime
    source: str | None  # the CDP URL; None: SCEP GetCRL

    @property
    def crl(self) -> x509.CertificateRevocationList:
        return x509.load_der_x509_crl(self.der)


class PkiClient(Feature):
    """Enrollments in progress, renewal timers and the CRL cache of one router."""

    def __init__(self, router: Router) -> None:
        super().__init__(router)
        self.enrollments: dict[str, Enrollment] = {}
        self.crls: dict[bytes, CachedCrl] = {}  # by issuer (DER)
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._auto: dict[str, asyncio.Task[None]] = {}  # auto-enrollments getting ready
        self._ids = itertools.count(1)
        router.feature(Pki).listeners.append(self._changed)

    @property
    def pki(self) -> Pki:
        return self.router.feature(Pki)

    # --- life cycle ------------------------------------------------------------------

    def started(self) -> None:
        for name in self.pki.trustpoints:
            self.schedule(name)

    def stopped(self) -> None:
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        for enrollment in self.enrollments.values():
            if enrollment.task is not None:
                enrollment.task.cancel()
        for task in self._auto.values():
            task.cancel()

    def _changed(self, name: str) -> None:
        """A trustpoint's certificates changed, or it went: timers follow."""
        if name not in self.pki.trustpoints:
            enrollment = self.enrollments.pop(name, None)
            if enrollment is not None and enrollment.task is not None:
                enrollment.task.cancel()
            self.pki.pending.pop(name, None)
        if self.router.state != "off":
            self.schedule(name)

    def _active(self) -> bool:
        """False on a standby (or a unit still waiting for HSRP): it leaves PKI to its peer."""
        return self.router.feature(Redundancy).role == "active"

    def _debug(self, text: str) -> None:
        if self.router.log.debugging(DEBUG_KEY):
            self.router.log.debug(text)

    # --- auto-enroll -------------------------------------------------------------------

    def schedule(self, name: str) -> None:
        """Arm the trustpoint's auto-enroll timer: enroll now (no certificate yet) or renew
        at PERCENT of the certificate's lifetime."""
        handle = self._timers.pop(name, None)
        if handle is not None:
            handle.cancel()
        tp = self.pki.trustpoints.get(name)
        if tp is None or tp.auto_enroll is None or self.pki.ca_certificate(name) is None:
            return
        cert = self.pki.router_certificate(name)
        delay = 0.0
        if cert is not None:
            words = tp.auto_enroll.split()
            percent = max(1, int(words[0])) if words and words[0].isdigit() else 100
            start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
            due = start + (end - start) * percent / 100
            delay = max(0.0, (due - self.router.clock.utc()).total_seconds())
        self._timers[name] = self.router.call_later(delay, self._due, name)

    def _due(self, name: str) -> None:
        self._timers.pop(name, None)
        tp = self.pki.trustpoints.get(name)
        if tp is None or tp.auto_enroll is None or name in self.enrollments:
            return
        running = self._auto.get(name)
        if running is not None and not running.done():
            return  # still making its key: one auto-enrollment at a time
        if not self._active():
            self._timers[name] = self.router.call_later(STANDBY_RECHECK, self._due, name)
            return
        self._auto[name] = self.router.spawn(self.auto_enroll(name), "pki-auto-enroll")

    async def auto_enroll(self, name: str) -> None:
        """Enroll or renew without a dialog (auto-enroll)."""
        tp = self.pki.trustpoints[name]
        if not tp.enrollment_url:
            return
        current = self.pki.router_certificate(name)
        keys = self.router.feature(Keys)
        label = self.pki.key_label(tp)
        if current is None:
            pair = keys.get(label) or await self._generate_key(tp, label)
            identity = self.configured_identity(tp)
            await self.start(tp, pair.key, label, identity.name(), identity.alt_names())
            return
        pair = keys.get(label)
        if pair is None or spki_der(pair.key) != spki_der(current.public_key()):  # type: ignore[arg-type]
            return  # the certificate's key is gone: nothing to sign a renewal with
        self.router.log.log(
            "PKI", 6, "CERTRENEWAUTO", f"Renewing the router certificate for trustpoint {name}"
        )
        regenerate = "regenerate" in tp.auto_enroll.split() if tp.auto_enroll else False
        key = new_key(self.router, pair.bits) if regenerate else pair.key
        try:
            san = current.extensions.get_extension_for_class(x509.SubjectAlternativeName)
            alt_names = list(san.value)
        except x509.ExtensionNotFound:
            alt_names = []
        await self.start(
            tp,
            key,
            label,
            current.subject,
            alt_names,
            signer=(pair.key, current),
            regenerated=regenerate,
        )

    def configured_identity(self, tp: Trustpoint) -> Identity:
        """The subject auto-enroll asks for: what the trustpoint says, no questions."""
        serial = self.router.feature(System).board_id if tp.serial_number == "" else None
        ip = None
        if tp.ip_address and tp.ip_address != "none":
            ip = self.interface_address(tp.ip_address)
        return Identity(self.fqdn(tp), serial, ip, tp.subject_name)

    def fqdn(self, tp: Trustpoint) -> str | None:
        if tp.fqdn:
            return None if tp.fqdn == "none" else tp.fqdn
        domain = self.router.feature(Dns).domain
        return f"{self.router.hostname}.{domain}" if domain else self.router.hostname

    def interface_address(self, text: str) -> str | None:
        """An address as typed, or the address of the interface named."""
        try:
            return str(IPv4Address(text))
        except ValueError:
            pass
        try:
            name = canonical_interface(text)
        except TopologyError:
            return None
        iface = self.router.feature(Interfaces).interfaces.get(name)
        return str(iface.address.ip) if iface is not None and iface.address else None

    async def _generate_key(self, tp: Trustpoint, label: str) -> KeyPair:
        """The key pair a trustpoint lacks, made as IOS does at enrollment (AUTOGEN)."""
        bits = tp.rsakeypair_size or AUTOGEN_BITS
        pair, _ = await self.router.feature(Keys).generate(label, bits, redundancy=tp.redundancy)
        log_ssh_enabled(self.router, pair)
        self.router.log.log("CRYPTO", 6, "AUTOGEN", f"Generated new {bits} bit key pair")
        if tp.redundancy:
            from iosemu.features.pki.ha import PkiHa

            await self.router.feature(PkiHa).send_key(pair)
        return pair

    # --- enrolling ---------------------------------------------------------------------

    async def start(
        self,
        tp: Trustpoint,
        key: rsa.RSAPrivateKey,
        label: str,
        subject: x509.Name,
        alt_names: list[x509.GeneralName],
        *,
        password: str | None = None,
        signer: tuple[rsa.RSAPrivateKey, x509.Certificate] | None = None,
        regenerated: bool = False,
    ) -> Enrollment:
        """Build the request, log its fingerprints and send it in the background."""
        old = self.enrollments.pop(tp.name, None)
        if old is not None and old.task is not None:
            old.task.cancel()
        csr = make_request(key, subject, alt_names, password or tp.password)
        now = self.router.clock.utc()
        if signer is None:
            signer = (key, cms.self_signed(key, subject, now))
        # Unique per request: a renewal with the same key must not look like a poll of
        # the request the CA granted last time.
        seed = spki_der(key) + f"{now.isoformat()}#{next(self._ids)}".encode()
        enrollment = Enrollment(
            tp.name,
            key,
            label,
            regenerated,
            csr,
            signer[0],
            signer[1],
            hashlib.md5(seed).hexdigest().upper(),
        )
        der = enrollment.csr_der
        md5, sha1 = fingerprint(der, "md5"), fingerprint(der, "sha1")
        serials = subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
        hostnames = subject.get_attributes_for_oid(HOSTNAME_OID)
        self.pki.pending[tp.name] = PendingRequest(
            str(hostnames[0].value) if hostnames else ios_dn_text(subject),
            str(serials[0].value) if serials else None,
            md5,
            sha1,
        )
        self.enrollments[tp.name] = enrollment
        # Printed without any debug on (reference §5.2), two spaces after the colon.
        self.router.log.debug(f"CRYPTO_PKI:  Certificate Request Fingerprint MD5: {md5} ")
        self.router.log.debug(f"CRYPTO_PKI:  Certificate Request Fingerprint SHA1: {sha1} ")
        enrollment.task = self.router.spawn(self._run(enrollment), "pki-enroll")
        return enrollment

    def _scep(self, tp: Trustpoint, ca: x509.Certificate | None) -> IosScepClient:
        if not tp.enrollment_url:
            raise EnrollmentError(f"trustpoint {tp.name} has no enrollment url")
        address, port, path = enrollment_target(self.router, tp.enrollment_url)
        transport = lab_transport(self.router, address, port, http_version=HTTP_VERSION)
        if self.router.log.debugging(DEBUG_KEY):
            transport = self._traced(transport, address)
        return IosScepClient(
            transport, path, method="GET", digest=DIGEST, ios_style=True, ca_cert=ca, label=tp.name
        )

    def _traced(
        self, transport: Callable[..., Awaitable[HttpReply]], address: IPv4Address
    ) -> Callable[..., Awaitable[HttpReply]]:
        """The request lines ``debug crypto pki transactions`` shows (micromdm/scep#211)."""

        async def send(
            method: str,
            target: str,
            body: bytes = b"",
            headers: list[tuple[str, str]] | None = None,
        ) -> HttpReply:
            operation = target.partition("operation=")[2].partition("&")[0]
            if operation == "GetCACert":
                self._debug("CRYPTO_PKI_SCEP: Client sending GetCACert request")
                self._debug(
                    f"CRYPTO_PKI: Sending CA Certificate Request:\n{method} {target} "
                    f"HTTP/{HTTP_VERSION}\nUser-Agent: {IOS_USER_AGENT}\nHost: {address}\n"
                )
            else:
                self._debug(f"CRYPTO_PKI_SCEP: Client sending {operation} request")
            self._debug("CRYPTO_PKI: http connection opened")
            self._debug("CRYPTO_PKI: Sending HTTP message")
            reply = await transport(method, target, body, headers)
            self._debug(f"CRYPTO_PKI: received msg of {len(reply.body)} bytes")
            return reply

        return send

    async def _run(self, e: Enrollment) -> None:
        """Send the request, poll while PENDING, install what comes back."""
        tp = self.pki.trustpoints[e.trustpoint]
        period = (tp.enrollment_retry_period or RETRY_PERIOD) * 60
        count = tp.enrollment_retry_count or RETRY_COUNT
        ca = self.pki.ca_certificate(tp.name)
        client: IosScepClient | None = None
        sent = False
        polls = 0
        try:
            while True:
                rep = None
                try:
                    if client is None:
                        client = self._scep(tp, ca)
                        client.cipher = content_cipher(await client.get_ca_caps())
                    if not sent:
                        rep = await client.enroll(
                            e.csr, e.signer_key, e.signer_cert, e.transaction_id
                        )
                        sent = True
                        self._debug("CRYPTO_PKI: transaction PKCSReq completed")
                    else:
                        rep = await client.poll(
                            e.csr.subject, e.signer_key, e.signer_cert, e.transaction_id
                        )
                        self._debug("CRYPTO_PKI: transaction GetCertInitial completed")
                except (*WIRE_ERRORS, EnrollmentError) as err:
                    self._debug(f"CRYPTO_PKI: transaction failed: {err}")
                    client = None  # resolve and ask for the caps again next time
                if rep is not None and rep.status is PkiStatus.SUCCESS:
                    self._debug("CRYPTO_PKI: status = 100: certificate is granted")
                    await self._install(e, rep.certs)
                    return
                if rep is not None and rep.status is PkiStatus.FAILURE:
                    self._debug("CRYPTO_PKI: status = 101: certificate request rejected")
                    self.router.log.log(
                        "PKI",
                        6,
                        "CERTREJECT",
                        "Certificate enrollment request was rejected by Certificate Authority",
                    )
                    return
                if rep is not None:
                    self._debug("CRYPTO_PKI: status = 102: certificate request pending")
                polls += 1
                if polls > count:
                    self.router.log.log("PKI", 6, "CERTFAIL", "Certificate enrollment failed.")
                    return
                await asyncio.sleep(period)
        finally:
            if self.enrollments.get(e.trustpoint) is e:
                del self.enrollments[e.trustpoint]
                self.pki.pending.pop(e.trustpoint, None)

    async def _install(self, e: Enrollment, certs: list[x509.Certificate]) -> None:
        tp = self.pki.trustpoints.get(e.trustpoint)
        ca = self.pki.ca_certificate(e.trustpoint)
        ours = [c for c in certs if spki_der(c.public_key()) == spki_der(e.key)]  # type: ignore[arg-type]
        problem = "no certificate for our key" if not ours else ""
        cert = ours[0] if ours else None
        if cert is not None and (tp is None or ca is None or not issued_by(cert, ca)):
            problem = "not issued by the trustpoint's CA"
        if cert is not None and tp is not None and not problem and "crl" in tp.revocation_check:
            try:
                if await self.revoked(tp, cert, e.key):
                    problem = "revoked"
            except (*WIRE_ERRORS, EnrollmentError) as err:
                self._debug(f"CRYPTO_PKI: CRL not available: {err}")  # kept, see the docstring
        if problem or cert is None or tp is None:
            self._debug(f"CRYPTO_PKI: certificate not installed: {problem}")
            self.router.log.log(
                "PKI",
                6,
                "CERTREJECT",
                "Certificate enrollment request was rejected by Certificate Authority",
            )
            return
        keys = self.router.feature(Keys)
        if e.replaces_key or keys.get(e.key_label) is None:
            # Sent to the standby below, with the certificate.
            keys.add(KeyPair(e.key_label, e.key, self.router.clock.utc(), redundancy=tp.redundancy))
        der = cert.public_bytes(serialization.Encoding.DER)
        self.pki.chain(tp.name).put(ChainCert("", serial_text(cert.serial_number), der))
        self.pki.pending.pop(tp.name, None)
        self.router.mark_config_changed("PKI")
        self.router.log.log("PKI", 6, "CERTRET", "Certificate received from Certificate Authority")
        self._debug(f"CRYPTO_PKI: All enrollment requests completed for trustpoint {tp.name}.")
        self.pki.changed(tp.name)
        if tp.redundancy:
            from iosemu.features.pki.ha import PkiHa

            await self.router.feature(PkiHa).trustpoint_changed(tp.name)

    # --- authenticating ----------------------------------------------------------------

    async def get_ca_certificate(self, tp: Trustpoint) -> x509.Certificate:
        client = self._scep(tp, None)
        return await client.get_ca_cert()

    # --- revocation --------------------------------------------------------------------

    async def fetch_crl(
        self,
        tp: Trustpoint,
        cert: x509.Certificate | None = None,
        key: rsa.RSAPrivateKey | None = None,
    ) -> CachedCrl:
        """The CA's CRL, from ``cert``'s CDP or by SCEP GetCRL, checked and cached."""
        ca = self.pki.ca_certificate(tp.name)
        if ca is None:
            raise EnrollmentError(f"trustpoint {tp.name} is not authenticated")
        cert = cert or self.pki.router_certificate(tp.name)
        cdp = crl_distribution_point(cert) if cert is not None else None
        if cdp is not None:
            address, port, _ = enrollment_target(self.router, cdp)
            parts = urlsplit(cdp)
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            reply = await fetch(
                self.router,
                address,
                target,
                port=port,
                http_version=HTTP_VERSION,
                headers=[("User-Agent", IOS_USER_AGENT)],
            )
            if reply.status != 200:
                raise ScepProblem(f"HTTP {reply.status}")
            der = reply.body
        else:
            der = await self._scep_crl(tp, ca, cert, key)
        crl = x509.load_der_x509_crl(der)
        public = ca.public_key()
        assert isinstance(public, rsa.RSAPublicKey)
        if crl.issuer != ca.subject or not verify_signed_by(
            crl.tbs_certlist_bytes, crl.signature, hash_name(crl.signature_hash_algorithm), public
        ):
            raise EnrollmentError("the CRL is not signed by the trustpoint's CA")
        cached = CachedCrl(der, self.router.clock.utc(), cdp)
        self.crls[crl.issuer.public_bytes()] = cached
        return cached

    async def _scep_crl(
        self,
        tp: Trustpoint,
        ca: x509.Certificate,
        cert: x509.Certificate | None,
        key: rsa.RSAPrivateKey | None,
    ) -> bytes:
        """SCEP GetCRL, signed with the router certificate (or, before there is one, a
        throw-away certificate of the trustpoint's key, naming the CA certificate)."""
        pair = self.router.feature(Keys).get(self.pki.key_label(tp))
        key = key or (pair.key if pair is not None else None)
        if key is None:
            raise EnrollmentError(f"no key pair for trustpoint {tp.name}")
        if cert is None:
            signer = cms.self_signed(key, ios_dn_text(ca.subject), self.router.clock.utc())
            payload = cms.issuer_and_serial(ca.subject, ca.serial_number)
        else:
            signer, payload = cert, cms.issuer_and_serial(cert.issuer, cert.serial_number)
        client = self._scep(tp, ca)
        client.cipher = content_cipher(await client.get_ca_caps())
        tx = hashlib.md5(spki_der(key) + b"GetCRL").hexdigest().upper()
        rep = await client.exchange(
            MessageType.GET_CRL, payload, transaction_id=tx, key=key, cert=signer
        )
        if rep.status is not PkiStatus.SUCCESS or not rep.crls:
            raise ScepProblem("no CRL in the answer")
        return rep.crls[0]

    async def current_crl(
        self, tp: Trustpoint, cert: x509.Certificate | None, key: rsa.RSAPrivateKey | None
    ) -> x509.CertificateRevocationList:
        """The cached CRL of the trustpoint's CA while it is fresh, else a new one."""
        ca = self.pki.ca_certificate(tp.name)
        cached = self.crls.get(ca.subject.public_bytes()) if ca is not None else None
        if cached is not None:
            crl = cached.crl
            if crl.next_update_utc is None or crl.next_update_utc > self.router.clock.utc():
                return crl
        return (await self.fetch_crl(tp, cert, key)).crl

    async def revoked(
        self, tp: Trustpoint, cert: x509.Certificate, key: rsa.RSAPrivateKey | None = None
    ) -> bool:
        crl = await self.current_crl(tp, cert, key)
        return crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None

    async def verify(self, name: str, cert: x509.Certificate) -> str:
        """Check a certificate against trustpoint ``name`` as IOS checks a peer's: ""
        when it is good, else why not. ``revocation-check crl`` consults the CRL (a CRL that
        cannot be had fails the check; ``crl none`` lets it pass)."""
        tp = self.pki.trustpoints.get(name)
        ca = self.pki.ca_certificate(name)
        if tp is None or ca is None:
            return "trustpoint not authenticated"
        if not issued_by(cert, ca):
            return "not issued by the trustpoint's CA"
        now = self.router.clock.utc()
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            return "not valid now"
        if "crl" in tp.revocation_check:
            try:
                if await self.revoked(tp, cert):
                    return "revoked"
            except (*WIRE_ERRORS, EnrollmentError):
                if "none" not in tp.revocation_check:
                    return "CRL not available"
        return ""


def issued_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    public = ca.public_key()
    if cert.issuer != ca.subject or not isinstance(public, rsa.RSAPublicKey):
        return False
    alg = hash_name(cert.signature_hash_algorithm)
    return verify_signed_by(cert.tbs_certificate_bytes, cert.signature, alg, public)


def crl_distribution_point(cert: x509.Certificate) -> str | None:
    try:
        cdp = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    except x509.ExtensionNotFound:
        return None
    for point in cdp:
        for name in point.full_name or []:
            if isinstance(name, x509.UniformResourceIdentifier) and name.value.startswith("http"):
                return name.value
    return None


# --------------------------------------------------------------------------- commands


def _trustpoint(ctx: Ctx, name: str) -> Trustpoint:
    tp = ctx.feature(Pki).trustpoints.get(name)
    if tp is None:
        raise CommandError(f"% Trustpoint {name} not found.")  # invented text
    return tp


@command(
    CONFIG,
    "crypto pki authenticate WORD$name",
    help="|Public Key components|Get the certificate of a CA|Certificate Authority Name",
)
async def crypto_pki_authenticate(ctx: Ctx, name: str) -> None:
    tp = _trustpoint(ctx, name)
    client = ctx.feature(PkiClient)
    try:
        cert = await client.get_ca_certificate(tp)
        der = cert.public_bytes(serialization.Encoding.DER)
    except (*WIRE_ERRORS, EnrollmentError) as err:
        client._debug(f"CRYPTO_PKI: GetCACert failed: {err}")
        raise CommandError("\n".join(CA_FAILED)) from None
    public = cert.public_key()
    if (
        not isinstance(public, rsa.RSAPublicKey)
        or cert.issuer != cert.subject
        or not issued_by(cert, cert)
    ):
        raise CommandError("% Certificate is not a self-signed CA certificate")  # invented
    ctx.print(
        "Certificate has the following attributes:",
        f"       Fingerprint MD5: {fingerprint(der, 'md5')} ",
        f"      Fingerprint SHA1: {fingerprint(der, 'sha1')} ",
        "",
    )
    if not await ctx.yes_no("% Do you accept this certificate? [yes/no]: "):
        raise CommandError("% Certificate not accepted.")  # wording not captured
    pki = ctx.feature(Pki)
    pki.chain(name).put(ChainCert("ca", serial_text(cert.serial_number), der))
    ctx.print("Trustpoint CA certificate accepted.")
    pki.changed(name)
    if tp.redundancy:
        from iosemu.features.pki.ha import PkiHa

        await ctx.feature(PkiHa).trustpoint_changed(name)


async def _password(ctx: Ctx) -> str | None:
    """The challenge password dialog; None when the two do not match."""
    ctx.print(
        "% Create a challenge password. You will need to verbally provide this",
        "   password to the CA Administrator in order to revoke your certificate.",
        "   For security reasons your password will not be saved in the configuration.",
        "   Please make a note of it.",
        "",
    )
    first = await ctx.ask("Password: ", echo=False)
    again = await ctx.ask("Re-enter password: ", echo=False)
    if first != again:
        ctx.print("% Passwords do not match.")  # invented text
        return None
    ctx.print("")
    return first


async def _ask_yes_no(ctx: Ctx, prompt: str) -> bool:
    while True:
        answer = await ctx.yes_no(prompt)
        if answer is not None:
            return answer


@command(
    CONFIG,
    "crypto pki enroll WORD$name",
    help="|Public Key components|Request a certificate from a CA|Certificate Authority Name",
)
async def crypto_pki_enroll(ctx: Ctx, name: str) -> None:
    tp = _trustpoint(ctx, name)
    pki = ctx.feature(Pki)
    client = ctx.feature(PkiClient)
    if pki.ca_certificate(name) is None:
        raise CommandError(NO_CA)
    if not tp.enrollment_url:
        raise CommandError(f"% Trustpoint {name} has no enrollment url.")  # invented text
    if pki.router_certificate(name) is not None:
        # IOS-XE's words (a 17.x capture); 15.1's are not captured.
        ctx.print(
            f"Trustpoint {name} has already enrolled and has a router cert issued to it.",
            "If you successfully re-enroll this trustpoint,the existing certificate will be "
            "replaced.",
            "",
        )
        if not await _ask_yes_no(ctx, "Do you want to continue with re-enrollment? [yes/no]: "):
            return
    keys = ctx.feature(Keys)
    label = pki.key_label(tp)
    pair = keys.get(label)
    ctx.print("%", "% Start certificate enrollment .. ")
    # A missing key pair is made while the dialog goes on, as on IOS (its AUTOGEN message
    # lands in the middle of the questions); the request waits for it.
    making: asyncio.Task[KeyPair] | None = None
    if pair is None:
        making = ctx.router.spawn(client._generate_key(tp, label), "pki-autogen")
    try:
        identity = await _enroll_dialog(ctx, tp, client)
        if making is not None:
            pair = await making
    finally:
        if making is not None and not making.done():
            making.cancel()  # the dialog was left: no key after all
    if identity is None or pair is None:
        return
    ctx.print(
        "% Certificate request sent to Certificate Authority",
        f"% The 'show crypto pki certificate verbose {name}' commandwill show the fingerprint.",
        "",
    )
    await client.start(
        tp, pair.key, label, identity.name(), identity.alt_names(), password=identity.password
    )


async def _enroll_dialog(ctx: Ctx, tp: Trustpoint, client: PkiClient) -> Identity | None:
    """The questions of ``crypto pki enroll``; None when the answer was no."""
    password = tp.password
    if password is None:
        password = await _password(ctx)
        if password is None:
            return None
    fqdn = client.fqdn(tp)
    if tp.subject_name:
        ctx.print(f"% The subject name in the certificate will include: {tp.subject_name}")
    if fqdn:
        ctx.print(f"% The subject name in the certificate will include: {fqdn}")
    board = ctx.feature(System).board_id
    serial = None
    if tp.serial_number is None:
        question = "% Include the router serial number in the subject name? [yes/no]: "
        if await _ask_yes_no(ctx, question):
            serial = board
    elif tp.serial_number == "":
        serial = board
    if serial:
        ctx.print(f"% The serial number in the certificate will be: {serial}")
    ip = None
    if tp.ip_address is None:
        answer = (await ctx.ask("% Include an IP address in the subject name? [no]: ")).strip()
        if answer and "yes".startswith(answer.lower()):
            given = (await ctx.ask("Enter Interface name or IP Address[]: ")).strip()
            ip = client.interface_address(given) if given else None
            if ip is None:
                ctx.print("% Skipping IP address")
    elif tp.ip_address != "none":
        ip = client.interface_address(tp.ip_address)
        if ip is not None:
            ctx.print(f"% The IP address in the certificate is {ip}", "")  # IOS-XE capture
    if not await _ask_yes_no(ctx, "Request certificate from CA? [yes/no]: "):
        return None
    return Identity(fqdn, serial, ip, tp.subject_name, password or None)


@command(
    CONFIG,
    "crypto pki crl request WORD$name",
    help="|Public Key components|Certificate Revocation List|Request a CRL|Trustpoint name",
)
async def crypto_pki_crl_request(ctx: Ctx, name: str) -> None:
    tp = _trustpoint(ctx, name)
    client = ctx.feature(PkiClient)
    try:
        await client.fetch_crl(tp)
    except (*WIRE_ERRORS, EnrollmentError) as err:
        client._debug(f"CRYPTO_PKI: CRL request failed: {err}")
        raise CommandError(f"% CRL request for trustpoint {name} failed.") from None  # invented


@command(
    EXEC,
    "show crypto pki crls",
    help="|Encryption module|Public Key components|Show Certificate Revocation Lists",
    priv=1,
)
def show_crls(ctx: Ctx) -> None:
    """IOS-XE's layout (a 17.x capture; 15.1's is not captured)."""
    client = ctx.feature(PkiClient)
    clock = ctx.router.clock
    total = 0
    for cached in client.crls.values():
        crl = cached.crl
        total += len(cached.der)
        ctx.print(
            "CRL Issuer Name:",
            f"    {ios_dn_text(crl.issuer)}",
            f"    LastUpdate: {clock.short_stamp(crl.last_update_utc)}",
        )
        if crl.next_update_utc is not None:
            ctx.print(f"    NextUpdate: {clock.short_stamp(crl.next_update_utc)}")
        ctx.print(
            "",
            f"    CRL downloaded at: {clock.short_stamp(cached.downloaded)}",
            "",
            "    Retrieved from CRL Distribution Point:",
            f"      {cached.source or '** CDP Not Published - Retrieved via SCEP'}",
            "",
            f" CRL DER is {len(cached.der)} bytes",
            " CRL is stored in parsed CRL cache",
            "",
            "",
        )
    if client.crls:
        ctx.print(
            f"Parsed CRL cache current size is {total} bytes",
            "Parsed CRL cache maximum size is 65536 bytes",
        )
