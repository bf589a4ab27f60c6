"""The certificate authority behind ``crypto pki server``: serials, requests, revocations, CRL.

This is the CA's state and its decisions, apart from the commands (server.py), the files
(store.py) and the wire (scep.py). Every change goes through ``_commit`` first, which
awaits the hooks registered in ``commit_hooks`` (saving the serial file, telling the HA
standby), and only then is the change visible to whoever asked: a serial is never handed
to a client before it is safe.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from iosemu.features.pki.objects import (
    hash_name,
    ios_dn_text,
    issue_cert,
    make_crl_v1,
    verify_signed_by,
)

log = logging.getLogger("iosemu.ca")

CHALLENGE_OID = x509.ObjectIdentifier("1.2.840.113549.1.9.7")

# SCEP failInfo values (RFC 8894).
BAD_ALG, BAD_MESSAGE_CHECK, BAD_REQUEST, BAD_TIME, BAD_CERT_ID = 0, 1, 2, 3, 4


class DatabaseError(Exception):
    """A change of CA state could not be made safe (the database cannot be written): the
    change is not announced, and what needed it (issuing, recording a request) fails."""


@dataclass
class Enrollment:
    """What a client is told about its request."""

    status: str  # "SUCCESS", "PENDING", "FAILURE"
    cert: x509.Certificate | None = None
    fail_info: int | None = None


@dataclass
class Request:
    """A row of the enrollment request database."""

    id: int
    transaction_id: str
    csr_der: bytes
    received: dt.datetime
    state: str = "pending"  # pending, granted, rejected
    serial: int | None = None

    @property
    def csr(self) -> x509.CertificateSigningRequest:
        return x509.load_der_x509_csr(self.csr_der)

    @property
    def fingerprint(self) -> str:
        """MD5 of the request, 32 hex digits, as ``show ... requests`` prints it."""
        return hashlib.md5(self.csr_der).hexdigest().upper()


@dataclass
class Issued:
    serial: int
    der: bytes

    @property
    def cert(self) -> x509.Certificate:
        return x509.load_der_x509_certificate(self.der)


@dataclass
class Change:
    """One change of CA state, as persistence and the HA standby need to hear it."""

    kind: str  # serial, request, revoke, crl, password
    serial: int | None = None
    request: Request | None = None


CommitHook = Callable[[Change], Awaitable[None]]


@dataclass
class CaSettings:
    grant: str = "manual"  # manual, auto, none (reject everything)
    lifetime_certificate: int = 365  # days
    lifetime_crl: int = 6  # hours
    lifetime_enrollment_request: int = 168  # hours
    hash: str = "md5"
    cdp_url: str | None = None


@dataclass
class CertificateAuthority:
    key: rsa.RSAPrivateKey
    cert: x509.Certificate
    now: Callable[[], dt.datetime]
    settings: CaSettings = field(default_factory=CaSettings)
    serial: int = 1  # last issued; the CA certificate itself is serial 1
    requests: dict[int, Request] = field(default_factory=dict)
    next_request_id: int = 1
    issued: dict[int, Issued] = field(default_factory=dict)
    revoked: list[tuple[int, dt.datetime]] = field(default_factory=list)
    crl_der: bytes = b""
    crl_this_update: dt.datetime | None = None
    passwords: dict[str, dt.datetime] = field(default_factory=dict)  # one-time, expiry
    commit_hooks: list[CommitHook] = field(default_factory=list)

    # --- reading ---------------------------------------------------------------------

    @property
    def cert_der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def crl(self) -> x509.CertificateRevocationList:
        return x509.load_der_x509_crl(self.crl_der)

    @property
    def crl_next_update(self) -> dt.datetime | None:
        if self.crl_this_update is None:
            return None
        return self.crl_this_update + dt.timedelta(hours=self.settings.lifetime_crl)

    def certificate(self, serial: int) -> x509.Certificate | None:
        issued = self.issued.get(serial)
        return issued.cert if issued else None

    def request_by_transaction(self, transaction_id: str) -> Request | None:
        for request in self.requests.values():
            if request.transaction_id == transaction_id:
                return request
        return None

    def valid_now(self) -> bool:
        now = self.now()
        return self.cert.not_valid_before_utc <= now <= self.cert.not_valid_after_utc

    # --- committing --------------------------------------------------------------------

    async def _commit(self, change: Change) -> None:
        for hook in list(self.commit_hooks):
            await hook(change)

    # --- the CRL -------------------------------------------------------------------------

    async def regenerate_crl(self) -> None:
        """A new CRL from now for ``lifetime crl`` hours (IOS signs CRLs with SHA-1 on 15.1)."""
        now = self.now().replace(microsecond=0)
        alg = "sha1" if self.settings.hash == "md5" else self.settings.hash
        self.crl_der = make_crl_v1(
            self.key,
            self.cert.subject,
            now,
            now + dt.timedelta(hours=self.settings.lifetime_crl),
            self.revoked,
            alg,
        )
        self.crl_this_update = now
        await self._commit(Change("crl"))

    # --- issuing -----------------------------------------------------------------------

    async def _issue(self, csr: x509.CertificateSigningRequest) -> x509.Certificate:
        serial = self.serial + 1
        # The serial is safe (saved, and known to the standby) before any certificate has it.
        self.serial = serial
        await self._commit(Change("serial", serial=serial))
        try:
            san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except (x509.ExtensionNotFound, ValueError):
            san = None
        cert = issue_cert(
            self.key,
            self.cert,
            csr.subject,
            csr.public_key(),  # type: ignore[arg-type]
            serial,
            self.now().replace(microsecond=0),
            self.settings.lifetime_certificate,
            self.settings.hash,
            self.settings.cdp_url,
            san,
        )
        self.issued[serial] = Issued(serial, cert.public_bytes(serialization.Encoding.DER))
        return cert

    def _check_csr(self, csr: x509.CertificateSigningRequest) -> int | None:
        """None if the request may be considered, else the SCEP failInfo."""
        public_key = csr.public_key()
        if not isinstance(public_key, rsa.RSAPublicKey):
            return BAD_ALG
        alg = hash_name(csr.signature_hash_algorithm)
        if not verify_signed_by(csr.tbs_certrequest_bytes, csr.signature, alg, public_key):
            return BAD_MESSAGE_CHECK
        if not self.valid_now():
            return BAD_TIME
        return None

    def _one_time_password(self, csr: x509.CertificateSigningRequest) -> str | None:
        """The request's challenge password if it is a valid one-time password, else None.

        Any other password is no reason to refuse: an IOS client puts the password it asks
        for at ``crypto pki enroll`` (the one for revoking the certificate later) in every
        request, so the request takes the normal path (pending, or granted under ``grant
        auto``); a used or expired one-time password just grants nothing."""
        try:
            password = csr.attributes.get_attribute_for_oid(CHALLENGE_OID).value
        except (x509.AttributeNotFound, ValueError):
            return None
        if isinstance(password, bytes):
            password = password.decode(errors="replace")
        expiry = self.passwords.get(password)
        return password if expiry is not None and expiry >= self.now() else None

    async def enroll(self, csr: x509.CertificateSigningRequest, transaction_id: str) -> Enrollment:
        """A PKCSReq (or RenewalReq): issue now, hold as pending, or refuse."""
        failure = self._check_csr(csr)
        if failure is not None:
            return Enrollment("FAILURE", fail_info=failure)
        known = self.request_by_transaction(transaction_id)
        if known is not None:
            return await self.poll(transaction_id)
        one_time = self._one_time_password(csr)
        request = Request(
            self.next_request_id,
            transaction_id,
            csr.public_bytes(serialization.Encoding.DER),
            self.now(),
        )
        self.next_request_id += 1
        if one_time is not None:
            del self.passwords[one_time]
            await self._commit(Change("password"))
        grant = self.settings.grant
        if grant == "none":
            request.state = "rejected"
        self.requests[request.id] = request
        await self._commit(Change("request", request=request))
        if grant == "none":
            return Enrollment("FAILURE", fail_info=BAD_REQUEST)
        if grant == "auto" or one_time is not None:
            return await self._grant(request)
        return Enrollment("PENDING")

    async def poll(self, transaction_id: str) -> Enrollment:
        """A CertPoll (GetCertInitial) or a resent request with a known transaction ID."""
        self.expire_requests()
        request = self.request_by_transaction(transaction_id)
        if request is None:
            return Enrollment("FAILURE", fail_info=BAD_CERT_ID)
        if request.state == "rejected":
            return Enrollment("FAILURE", fail_info=BAD_REQUEST)
        if request.state == "granted" and request.serial is not None:
            cert = self.certificate(request.serial)
            if cert is not None:
                return Enrollment("SUCCESS", cert=cert)
        return Enrollment("PENDING")

    async def _grant(self, request: Request) -> Enrollment:
        if not self.valid_now():
            return Enrollment("FAILURE", fail_info=BAD_TIME)
        cert = await self._issue(request.csr)
        request.state = "granted"
        request.serial = cert.serial_number
        await self._commit(Change("request", request=request))
        return Enrollment("SUCCESS", cert=cert)

    # --- operator actions ----------------------------------------------------------------

    def _select(self, which: int | None, states: tuple[str, ...]) -> list[Request]:
        if which is None:
            return [r for r in self.requests.values() if r.state in states]
        request = self.requests.get(which)
        return [request] if request is not None and request.state in states else []

    async def grant(self, which: int | None) -> int:
        """Grant one pending request or all of them; the number granted."""
        chosen = self._select(which, ("pending",))
        for request in chosen:
            await self._grant(request)
        return len(chosen)

    async def reject(self, which: int | None) -> int:
        chosen = self._select(which, ("pending",))
        for request in chosen:
            request.state = "rejected"
            await self._commit(Change("request", request=request))
        return len(chosen)

    async def remove(self, which: int | None) -> int:
        chosen = self._select(which, ("pending", "granted", "rejected"))
        for request in chosen:
            del self.requests[request.id]
            request.state = "removed"
            await self._commit(Change("request", request=request))
        return len(chosen)

    async def revoke(self, serial: int) -> bool:
        """Revoke an issued serial and publish a new CRL; False if it is unknown."""
        if not 1 < serial <= self.serial or any(s == serial for s, _ in self.revoked):
            return False
        self.revoked.append((serial, self.now().replace(microsecond=0)))
        await self._commit(Change("revoke", serial=serial))
        await self.regenerate_crl()
        return True

    async def new_password(self, minutes: int = 60) -> str:
        """A one-time enrollment password valid for ``minutes``."""
        password = secrets.token_hex(8).upper()
        self.passwords[password] = self.now() + dt.timedelta(minutes=minutes)
        await self._commit(Change("password"))
        return password

    def expire_requests(self) -> None:
        """Requests older than ``lifetime enrollment-request`` leave the database."""
        limit = self.now() - dt.timedelta(hours=self.settings.lifetime_enrollment_request)
        for request in [r for r in self.requests.values() if r.received < limit]:
            del self.requests[request.id]


def subject_text(csr_or_cert: x509.Certificate | x509.CertificateSigningRequest) -> str:
    """``serialNumber=67109104+hostname=R15.otus.ru`` as the requests table shows subjects."""
    return ios_dn_text(csr_or_cert.subject)


def common_name(name: x509.Name) -> str:
    attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(attrs[0].value) if attrs else ""
