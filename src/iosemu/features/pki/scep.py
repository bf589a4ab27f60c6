"""The certificate server's SCEP service at ``/cgi-bin/pkiclient.exe``, and a SCEP client.

Served over the router's HTTP server (``ip http server``), by GET and POST:

* ``GetCACaps``: the capabilities, one per line (a configurable list);
* ``GetCACert``: the CA certificate alone, DER, ``application/x-x509-ca-cert`` (no RA);
* ``PKIOperation``: PKCSReq, RenewalReq, CertPoll (GetCertInitial), GetCert and GetCRL
  pkiMessages, answered with a CertRep (``application/x-pki-message``);
* ``GetCRL``: the plain CRL download a ``cdp-url`` points at (DER).

Errors follow decision 8. Input that is not even a pkiMessage gets HTTP 400; a pkiMessage
that fails (bad signature, unknown algorithm, broken envelope or request, unknown
certificate) gets a CertRep FAILURE with its failInfo, never a 500, and changes nothing in
the CA. While the certificate server is not running (``current_ca()`` is None) every
SCEP operation gets 404 (invented: what IOS answers then is not known).

The server feature calls ``install_scep`` from the feature's ``__init__`` (or
``started()``): features, the HTTP server's routes among them, are rebuilt at every boot.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from urllib.parse import quote

from asn1crypto import core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from iosemu.device.router import Router
from iosemu.features.http import Http, HttpReply, HttpRequest, HttpResponse, error_page, fetch
from iosemu.features.pki import cms
from iosemu.features.pki.ca import CertificateAuthority, DatabaseError, Enrollment
from iosemu.features.pki.cms import FailInfo, MessageType, PkiMessage, PkiStatus, ScepError
from iosemu.features.pki.objects import hash_name, verify_signed_by

log = logging.getLogger("iosemu.scep")

SCEP_PATH = "/cgi-bin/pkiclient.exe"
DEFAULT_CAPS = ("POSTPKIOperation", "SHA-256", "SHA-1", "DES3", "AES", "Renewal")
CA_CERT_TYPE = "application/x-x509-ca-cert"
PKI_MESSAGE_TYPE = "application/x-pki-message"
CRL_TYPE = "application/pkix-crl"  # RFC 2585; IOS's own type for the download is not known
# The User-Agent of IOS's SCEP client (micromdm/scep#211).
IOS_USER_AGENT = "Mozilla/4.0 (compatible; MSIE 5.0; Cisco PKI)"

CurrentCa = Callable[[], CertificateAuthority | None]
_OPERATIONS = {
    op.lower(): op for op in ("GetCACaps", "GetCACert", "GetNextCACert", "PKIOperation", "GetCRL")
}


@dataclass
class ScepEvent:
    """What the service did, for ``debug crypto pki server`` lines and tests."""

    operation: str  # GetCACaps, GetCACert, GetCRL, PKCSReq, RenewalReq, CertPoll, ...
    transaction_id: str | None = None
    status: str | None = None  # SUCCESS, PENDING, FAILURE (PKIOperation only)
    fail_info: int | None = None
    detail: str = ""


Observer = Callable[[ScepEvent], None]


class ScepService:
    def __init__(
        self,
        router: Router,
        current_ca: CurrentCa,
        caps: Iterable[str] = DEFAULT_CAPS,
        observer: Observer | None = None,
    ) -> None:
        self.router = router
        self.current_ca = current_ca
        self.caps = list(caps)
        self.observer = observer
        # One PKIOperation at a time: the CA's request database is read, then awaited on.
        self._lock = asyncio.Lock()

    def _note(self, event: ScepEvent) -> None:
        if self.observer is not None:
            try:
                self.observer(event)
            except Exception:
                log.exception("%s: SCEP observer failed", self.router.name)

    # --- HTTP ------------------------------------------------------------------------------

    async def handle(self, request: HttpRequest) -> HttpResponse:
        ca = self.current_ca()
        if ca is None:
            return error_page(404)
        name = _OPERATIONS.get((request.param("operation") or "").lower())
        if name == "GetCACaps":
            self._note(ScepEvent(name))
            body = "".join(cap + "\n" for cap in self.caps).encode()
            return HttpResponse(200, body, "text/plain")
        if name == "GetCACert":
            self._note(ScepEvent(name))
            return HttpResponse(200, ca.cert_der, CA_CERT_TYPE)
        if name == "GetCRL":
            self._note(ScepEvent(name))
            if not ca.crl_der:
                return error_page(404)
            return HttpResponse(200, ca.crl_der, CRL_TYPE)
        if name == "PKIOperation":
            der = _message_bytes(request)
            if der is None:
                self._note(ScepEvent(name, detail="undecodable message"))
                return error_page(400)
            return await self.pki_operation(ca, der)
        self._note(ScepEvent(name or "unknown", detail="unsupported operation"))
        return error_page(400)

    # --- PKIOperation ------------------------------------------------------------------------

    async def pki_operation(self, ca: CertificateAuthority, der: bytes) -> HttpResponse:
        try:
            message = cms.parse(der)
        except cms.NotPkiMessage as e:
            self._note(ScepEvent("PKIOperation", detail=str(e)))
            return error_page(400)
        async with self._lock:
            try:
                reply = await self._serve(ca, message)
            except ScepError as e:
                self._note(
                    ScepEvent(
                        _type_name(message.message_type),
                        message.transaction_id,
                        "FAILURE",
                        int(e.fail_info),
                        str(e),
                    )
                )
                reply = self._failure(ca, message, e.fail_info)
            except DatabaseError as e:  # the CA cannot save: refused, nothing issued
                name = _type_name(message.message_type)
                fail = FailInfo.BAD_REQUEST
                self._note(ScepEvent(name, message.transaction_id, "FAILURE", int(fail), str(e)))
                reply = self._failure(ca, message, fail)
            except Exception:
                log.exception("%s: SCEP request failed", self.router.name)
                reply = self._failure(ca, message, FailInfo.BAD_REQUEST)
        if not reply:  # not even a FAILURE could be signed for it
            return error_page(400)
        return HttpResponse(200, reply, PKI_MESSAGE_TYPE)

    def _failure(self, ca: CertificateAuthority, message: PkiMessage, fail: FailInfo) -> bytes:
        try:
            return cms.cert_rep(message, ca.key, ca.cert, PkiStatus.FAILURE, fail_info=fail)
        except Exception:
            log.exception("%s: SCEP failure reply failed", self.router.name)
            return b""

    async def _serve(self, ca: CertificateAuthority, message: PkiMessage) -> bytes:
        signer = message.verify()
        kind = message.message_type
        try:
            _check_signer(ca, signer, renewal=kind == MessageType.RENEWAL_REQ)
        except ScepError:
            raise
        except Exception:  # a certificate field that only now turns out unreadable
            raise ScepError(FailInfo.BAD_MESSAGE_CHECK, "unreadable signer certificate") from None
        if kind not in (
            MessageType.PKCS_REQ,
            MessageType.RENEWAL_REQ,
            MessageType.CERT_POLL,
            MessageType.GET_CERT,
            MessageType.GET_CRL,
        ):
            raise ScepError(FailInfo.BAD_REQUEST, f"message type {kind} is not a request")
        if not message.content:
            raise ScepError(FailInfo.BAD_REQUEST, "no pkcsPKIEnvelope")
        payload, cipher = cms.open_envelope(message.content, ca.key, ca.cert)
        name = _type_name(kind)
        crls: list[bytes] = []
        if kind in (MessageType.PKCS_REQ, MessageType.RENEWAL_REQ):
            csr = _csr(payload)
            enrollment = await ca.enroll(csr, message.transaction_id)
        elif kind == MessageType.CERT_POLL:
            _issuer_and_subject(payload)
            enrollment = await ca.poll(message.transaction_id)
        elif kind == MessageType.GET_CERT:
            serial = _serial_from_ca(ca, payload)
            cert = ca.certificate(serial) or (ca.cert if serial == ca.cert.serial_number else None)
            if cert is None:
                raise ScepError(FailInfo.BAD_CERT_ID, f"no certificate with serial {serial}")
            enrollment = Enrollment("SUCCESS", cert=cert)
        else:
            _serial_from_ca(ca, payload)
            if not ca.crl_der:
                raise ScepError(FailInfo.BAD_REQUEST, "no CRL yet")
            crls = [ca.crl_der]
            enrollment = Enrollment("SUCCESS")
        status = PkiStatus[enrollment.status]
        fail = FailInfo(enrollment.fail_info) if enrollment.fail_info is not None else None
        self._note(
            ScepEvent(name, message.transaction_id, enrollment.status, enrollment.fail_info, cipher)
        )
        return cms.cert_rep(
            message,
            ca.key,
            ca.cert,
            status,
            fail_info=fail,
            certs=[enrollment.cert] if enrollment.cert is not None else [],
            crls=crls,
            recipient=signer,
            cipher=cipher,
        )


def install_scep(
    router: Router,
    current_ca: CurrentCa,
    caps: Iterable[str] = DEFAULT_CAPS,
    observer: Observer | None = None,
) -> ScepService:
    """Serve SCEP for ``current_ca()`` on ``router``'s HTTP server."""
    service = ScepService(router, current_ca, caps, observer)
    router.feature(Http).route(SCEP_PATH, service.handle)
    return service


# --------------------------------------------------------------------------- decoding


def _message_bytes(request: HttpRequest) -> bytes | None:
    """The pkiMessage of a PKIOperation: the POST body, or GET's ``message`` in base64."""
    if request.method == "POST":
        body = request.body
        if body[:1] == b"\x30":
            return body
        return _base64(body.decode("latin-1"))  # some clients post base64
    text = request.param("message")
    return _base64(text) if text else None


def _base64(text: str) -> bytes | None:
    """Standard base64 with any line breaks (IOS sends ``%0A`` every 64 characters)."""
    compact = "".join(text.split())
    if "-" in compact or "_" in compact:
        compact = compact.replace("-", "+").replace("_", "/")
    compact += "=" * (-len(compact) % 4)
    try:
        data = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None
    return data or None


def _type_name(kind: int | None) -> str:
    names = {
        MessageType.PKCS_REQ: "PKCSReq",
        MessageType.RENEWAL_REQ: "RenewalReq",
        MessageType.CERT_POLL: "CertPoll",
        MessageType.GET_CERT: "GetCert",
        MessageType.GET_CRL: "GetCRL",
        MessageType.CERT_REP: "CertRep",
        MessageType.UPDATE_REQ: "UpdateReq",
    }
    return names.get(kind, f"messageType {kind}")  # type: ignore[call-overload]


def _csr(payload: bytes) -> x509.CertificateSigningRequest:
    try:
        csr = x509.load_der_x509_csr(payload)
        csr.subject  # noqa: B018 - cryptography parses lazily; a broken name fails here
        csr.public_key()
    except Exception:
        raise ScepError(FailInfo.BAD_REQUEST, "the envelope holds no PKCS#10 request") from None
    return csr


class _Pair(core.SequenceOf):  # type: ignore[misc]
    """IssuerAndSubject or IssuerAndSerialNumber, read as two raw elements."""

    _child_spec = core.Any


def _sequence_of_two(payload: bytes) -> tuple[bytes, bytes]:
    try:
        pair = _Pair.load(payload, strict=True)
        if len(pair) != 2:
            raise ValueError("two elements expected")
        return pair[0].dump(), pair[1].dump()
    except Exception:
        raise ScepError(FailInfo.BAD_REQUEST, "malformed request in the envelope") from None


def _issuer_and_subject(payload: bytes) -> tuple[bytes, bytes]:
    issuer, subject = _sequence_of_two(payload)
    if issuer[:1] != b"\x30" or subject[:1] != b"\x30":
        raise ScepError(FailInfo.BAD_REQUEST, "malformed IssuerAndSubject")
    return issuer, subject


def _serial_from_ca(ca: CertificateAuthority, payload: bytes) -> int:
    """The serial of an IssuerAndSerialNumber naming this CA as the issuer."""
    issuer, serial = _sequence_of_two(payload)
    try:
        number = core.Integer.load(serial, strict=True).native
    except Exception:
        raise ScepError(FailInfo.BAD_REQUEST, "malformed IssuerAndSerialNumber") from None
    if issuer != ca.cert.subject.public_bytes():
        raise ScepError(FailInfo.BAD_CERT_ID, "not issued by this CA")
    return int(number)


def _signed_by(cert: x509.Certificate, public: rsa.RSAPublicKey) -> bool:
    """``cert`` carries a valid signature by ``public`` (and nothing beside it: a signature
    BIT STRING with unused bits would verify all the same, so it is refused)."""
    try:
        alg = hash_name(cert.signature_hash_algorithm)
        der = cert.public_bytes(serialization.Encoding.DER)
        unused_bits = asn1_x509.Certificate.load(der)["signature_value"].contents[0]
    except Exception:  # a signature algorithm cryptography cannot name, or broken DER
        return False
    if unused_bits:
        return False
    return verify_signed_by(cert.tbs_certificate_bytes, cert.signature, alg, public)


def _check_signer(ca: CertificateAuthority, signer: x509.Certificate, renewal: bool) -> None:
    """The signer's certificate is one this CA issued (not revoked, for a RenewalReq), or
    validly self-signed (except for a RenewalReq: it proves the certificate it renews)."""
    ca_key = ca.cert.public_key()
    assert isinstance(ca_key, rsa.RSAPublicKey)
    if signer.issuer == ca.cert.subject and _signed_by(signer, ca_key):
        revoked = any(serial == signer.serial_number for serial, _ in ca.revoked)
        if renewal and revoked:  # a revoked client may still fetch its certificate or the CRL
            raise ScepError(FailInfo.BAD_MESSAGE_CHECK, "renewal of a revoked certificate")
        return
    if renewal:
        raise ScepError(FailInfo.BAD_MESSAGE_CHECK, "renewal not signed by one of our certs")
    own = signer.public_key()
    if not (
        signer.issuer == signer.subject
        and isinstance(own, rsa.RSAPublicKey)
        and _signed_by(signer, own)
    ):
        raise ScepError(FailInfo.BAD_MESSAGE_CHECK, "the signer certificate does not verify")


# --------------------------------------------------------------------------- the client


Transport = Callable[..., Awaitable[HttpReply]]


def lab_transport(
    router: Router, address: IPv4Address, port: int = 80, http_version: str = "1.1"
) -> Transport:
    """HTTP from ``router`` to ``address`` over the lab's TCP (one connection a request;
    IOS's client speaks HTTP/1.0)."""

    async def send(
        method: str, target: str, body: bytes = b"", headers: list[tuple[str, str]] | None = None
    ) -> HttpReply:
        return await fetch(
            router,
            address,
            target,
            method=method,
            body=body,
            headers=headers,
            port=port,
            http_version=http_version,
        )

    return send


class ScepProblem(Exception):
    """An answer a SCEP client cannot use (HTTP error, wrong type, bad CertRep)."""


@dataclass
class ScepClient:
    """SCEP as a client speaks it, over any ``Transport``.

    ``method`` is how PKIOperation travels (POST needs the CA's ``POSTPKIOperation``);
    ``ios_style`` sends GET messages as IOS does: HTTP/1.0-era User-Agent, base64 with a
    ``%0A`` line break every 64 characters and ``+``/``/`` left unescaped.
    """

    transport: Transport
    path: str = SCEP_PATH
    method: str = "POST"
    digest: str = "sha256"
    cipher: str = "aes128"
    oaep: bool = False
    ios_style: bool = False
    ca_cert: x509.Certificate | None = None
    last_nonce: bytes | None = field(default=None, repr=False)

    def _headers(self) -> list[tuple[str, str]]:
        return [("User-Agent", IOS_USER_AGENT)] if self.ios_style else []

    async def _get(self, query: str) -> HttpReply:
        reply = await self.transport("GET", f"{self.path}?{query}", b"", self._headers())
        if reply.status != 200:
            raise ScepProblem(f"HTTP {reply.status}")
        return reply

    async def get_ca_caps(self) -> list[str]:
        reply = await self._get("operation=GetCACaps&message=CA")
        return [line.strip() for line in reply.body.decode().splitlines() if line.strip()]

    async def get_ca_cert(self) -> x509.Certificate:
        reply = await self._get("operation=GetCACert&message=CA")
        self.ca_cert = x509.load_der_x509_certificate(reply.body)
        return self.ca_cert

    async def operation(self, der: bytes) -> bytes:
        """Send a pkiMessage; the CertRep's bytes."""
        if self.method == "POST":
            reply = await self.transport(
                "POST", f"{self.path}?operation=PKIOperation", der, self._headers()
            )
            if reply.status != 200:
                raise ScepProblem(f"HTTP {reply.status}")
        else:
            text = base64.b64encode(der).decode()
            if self.ios_style:
                lines = [text[i : i + 64] for i in range(0, len(text), 64)]
                message = "%0A".join(lines) + "%0A"
            else:
                message = quote(text, safe="")
            reply = await self._get(f"operation=PKIOperation&message={message}")
        if reply.header("content-type") != PKI_MESSAGE_TYPE:
            raise ScepProblem(f"content type {reply.header('content-type')}")
        return reply.body

    async def exchange(
        self,
        kind: MessageType,
        payload: bytes,
        *,
        transaction_id: str,
        key: rsa.RSAPrivateKey,
        cert: x509.Certificate,
    ) -> cms.CertRep:
        """Build, send and read one request/CertRep exchange; checks the nonce echo."""
        if self.ca_cert is None:
            await self.get_ca_cert()
        assert self.ca_cert is not None
        der = cms.request(
            kind,
            payload,
            transaction_id=transaction_id,
            key=key,
            cert=cert,
            recipient=self.ca_cert,
            digest=self.digest,
            cipher=self.cipher,
            oaep=self.oaep,
        )
        sent = cms.parse(der).sender_nonce
        rep = cms.read_cert_rep(await self.operation(der), ca_cert=self.ca_cert, key=key, cert=cert)
        if rep.recipient_nonce != sent or rep.transaction_id != transaction_id:
            raise ScepProblem("the CertRep answers another request")
        self.last_nonce = rep.sender_nonce
        return rep

    async def enroll(
        self,
        csr: x509.CertificateSigningRequest,
        key: rsa.RSAPrivateKey,
        cert: x509.Certificate,
        transaction_id: str,
        renewal: bool = False,
    ) -> cms.CertRep:
        kind = MessageType.RENEWAL_REQ if renewal else MessageType.PKCS_REQ
        payload = csr.public_bytes(serialization.Encoding.DER)
        return await self.exchange(kind, payload, transaction_id=transaction_id, key=key, cert=cert)

    async def poll(
        self,
        subject: x509.Name,
        key: rsa.RSAPrivateKey,
        cert: x509.Certificate,
        transaction_id: str,
    ) -> cms.CertRep:
        assert self.ca_cert is not None
        payload = cms.issuer_and_subject(self.ca_cert.subject, subject)
        return await self.exchange(
            MessageType.CERT_POLL, payload, transaction_id=transaction_id, key=key, cert=cert
        )

    async def get_cert(
        self, serial: int, key: rsa.RSAPrivateKey, cert: x509.Certificate, transaction_id: str
    ) -> cms.CertRep:
        assert self.ca_cert is not None
        payload = cms.issuer_and_serial(self.ca_cert.subject, serial)
        return await self.exchange(
            MessageType.GET_CERT, payload, transaction_id=transaction_id, key=key, cert=cert
        )

    async def get_crl(
        self, key: rsa.RSAPrivateKey, cert: x509.Certificate, transaction_id: str
    ) -> cms.CertRep:
        """SCEP GetCRL, naming ``cert`` (a certificate of this CA) as the one to check."""
        assert self.ca_cert is not None
        payload = cms.issuer_and_serial(cert.issuer, cert.serial_number)
        return await self.exchange(
            MessageType.GET_CRL, payload, transaction_id=transaction_id, key=key, cert=cert
        )
