"""SCEP's CMS layer: pkiMessages read, checked, opened and built (pure functions).

A pkiMessage is a CMS SignedData whose signed attributes carry SCEP's fields (message
type, transaction ID, nonces, status) and whose content is an EnvelopedData (the
"pkcsPKIEnvelope") encrypted to the CA. ``cryptography`` does every cryptographic
operation; asn1crypto reads the structures. Its CMS support cannot verify a SignedData,
add SCEP's attributes or open DES/3DES envelopes, so those are done here with the
primitives. Messages we send are written as DER directly: it keeps the bytes exactly as
the interop rules want them and costs a fraction of building asn1crypto objects.

The interop rules (reference pki-scep.md §3.3) live here:

1. signed attributes are sorted in DER order before signing (OpenSSL re-encodes the SET);
2. a request's signature is checked over its signed attributes *as sent*, re-tagged as a SET,
   and its messageDigest against the content;
3. PENDING and FAILURE CertReps carry an empty eContent, not none (OpenSSL, certmonger and
   pyscep fail on an absent one);
4. a CertRep uses the client's digest and the client's content cipher;
5. (HTTP decoding, in scep.py);
6. the recipient is matched by issuerAndSerialNumber, falling back to the first key
   transport recipient; RSA PKCS#1 v1.5 and OAEP key transport both work.

The client half (``request``, ``read_cert_rep``) builds PKCSReq, RenewalReq, CertPoll,
GetCert and GetCRL messages and reads the answers: tests, benchmarks and IOS's own SCEP
client use it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass, field
from enum import IntEnum
from functools import cache

from asn1crypto import cms, core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.x509.oid import NameOID

from iosemu.features.pki.objects import der_tlv

# --------------------------------------------------------------------------- identifiers

OID_DATA = "1.2.840.113549.1.7.1"
OID_SIGNED_DATA = "1.2.840.113549.1.7.2"
OID_ENVELOPED_DATA = "1.2.840.113549.1.7.3"
OID_CONTENT_TYPE = "1.2.840.113549.1.9.3"
OID_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
OID_RSA = "1.2.840.113549.1.1.1"
OID_RSAES_OAEP = "1.2.840.113549.1.1.7"
OID_RSASSA_PSS = "1.2.840.113549.1.1.10"

# SCEP's signed attributes, 2.16.840.1.113733.1.9.x
OID_MESSAGE_TYPE = "2.16.840.1.113733.1.9.2"
OID_PKI_STATUS = "2.16.840.1.113733.1.9.3"
OID_FAIL_INFO = "2.16.840.1.113733.1.9.4"
OID_SENDER_NONCE = "2.16.840.1.113733.1.9.5"
OID_RECIPIENT_NONCE = "2.16.840.1.113733.1.9.6"
OID_TRANSACTION_ID = "2.16.840.1.113733.1.9.7"


class MessageType(IntEnum):
    CERT_REP = 3
    RENEWAL_REQ = 17
    UPDATE_REQ = 18  # deprecated, never served
    PKCS_REQ = 19
    CERT_POLL = 20  # GetCertInitial
    GET_CERT = 21
    GET_CRL = 22


class PkiStatus(IntEnum):
    SUCCESS = 0
    FAILURE = 2
    PENDING = 3


class FailInfo(IntEnum):
    BAD_ALG = 0
    BAD_MESSAGE_CHECK = 1
    BAD_REQUEST = 2
    BAD_TIME = 3
    BAD_CERT_ID = 4


# Digest name -> (OID, hash class). Every digest SCEP clients have been seen to use.
DIGESTS: dict[str, tuple[str, type[hashes.HashAlgorithm]]] = {
    "md5": ("1.2.840.113549.2.5", hashes.MD5),
    "sha1": ("1.3.14.3.2.26", hashes.SHA1),
    "sha224": ("2.16.840.1.101.3.4.2.4", hashes.SHA224),
    "sha256": ("2.16.840.1.101.3.4.2.1", hashes.SHA256),
    "sha384": ("2.16.840.1.101.3.4.2.2", hashes.SHA384),
    "sha512": ("2.16.840.1.101.3.4.2.3", hashes.SHA512),
}
_DIGEST_BY_OID = {oid: name for name, (oid, _) in DIGESTS.items()}
# RSA signature algorithms some clients name instead of rsaEncryption: OID -> digest.
_RSA_SIGNATURES = {
    "1.2.840.113549.1.1.4": "md5",
    "1.2.840.113549.1.1.5": "sha1",
    "1.2.840.113549.1.1.14": "sha224",
    "1.2.840.113549.1.1.11": "sha256",
    "1.2.840.113549.1.1.12": "sha384",
    "1.2.840.113549.1.1.13": "sha512",
}


@dataclass(frozen=True)
class ContentCipher:
    name: str
    oid: str
    key_size: int
    block: int


# The envelope ciphers: SCEP's DES and 3DES (IOS, certmonger) and AES.
CIPHERS: dict[str, ContentCipher] = {
    c.name: c
    for c in (
        ContentCipher("des", "1.3.14.3.2.7", 8, 8),
        ContentCipher("des3", "1.2.840.113549.3.7", 24, 8),
        ContentCipher("aes128", "2.16.840.1.101.3.4.1.2", 16, 16),
        ContentCipher("aes192", "2.16.840.1.101.3.4.1.22", 24, 16),
        ContentCipher("aes256", "2.16.840.1.101.3.4.1.42", 32, 16),
    )
}
_CIPHER_BY_OID = {c.oid: c for c in CIPHERS.values()}


class NotPkiMessage(ValueError):
    """Bytes that are not a SCEP pkiMessage at all: the HTTP layer answers 400."""


class ScepError(Exception):
    """A pkiMessage that cannot be served: answered with a CertRep FAILURE and ``fail_info``."""

    def __init__(self, fail_info: FailInfo, reason: str) -> None:
        super().__init__(reason)
        self.fail_info = fail_info


# --------------------------------------------------------------------------- DER writing


@cache
def _oid(dotted: str) -> bytes:
    return core.ObjectIdentifier(dotted).dump()


def _int(n: int) -> bytes:
    return der_tlv(0x02, n.to_bytes(n.bit_length() // 8 + 1, "big", signed=True))


def _seq(*parts: bytes) -> bytes:
    return der_tlv(0x30, b"".join(parts))


def _set(*parts: bytes) -> bytes:
    """A DER SET OF: its members in the order of their encodings."""
    return der_tlv(0x31, b"".join(sorted(parts)))


def _octets(data: bytes) -> bytes:
    return der_tlv(0x04, data)


def _printable(text: str) -> bytes:
    return der_tlv(0x13, text.encode("ascii"))


def _algid(oid: str, params: bytes | None = b"\x05\x00") -> bytes:
    return _seq(_oid(oid), params or b"")


def _attribute(oid: str, value: bytes) -> bytes:
    return _seq(_oid(oid), _set(value))


def issuer_and_serial(issuer: x509.Name, serial: int) -> bytes:
    """IssuerAndSerialNumber: names a certificate (GetCert, GetCRL, recipients, signers)."""
    return _seq(issuer.public_bytes(), _int(serial))


def issuer_and_subject(issuer: x509.Name, subject: x509.Name) -> bytes:
    """IssuerAndSubject: what a CertPoll (GetCertInitial) asks about."""
    return _seq(issuer.public_bytes(), subject.public_bytes())


def _cert_der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


# --------------------------------------------------------------------------- envelopes


def _cipher(spec: ContentCipher, key: bytes, iv: bytes) -> Cipher:  # type: ignore[type-arg]
    if spec.name == "des":
        # Single DES is 3DES with one key thrice (cryptography deprecates 8-byte keys).
        return Cipher(TripleDES(key * 3), modes.CBC(iv))
    if spec.name == "des3":
        return Cipher(TripleDES(key), modes.CBC(iv))
    return Cipher(algorithms.AES(key), modes.CBC(iv))


def envelope(
    content: bytes,
    recipient: x509.Certificate,
    cipher: str = "aes128",
    oaep: bool = False,
) -> bytes:
    """A ContentInfo EnvelopedData of ``content`` for ``recipient`` (RSA key transport)."""
    spec = CIPHERS[cipher]
    key, iv = os.urandom(spec.key_size), os.urandom(spec.block)
    padder = sym_padding.PKCS7(spec.block * 8).padder()
    padded = padder.update(content) + padder.finalize()
    encryptor = _cipher(spec, key, iv).encryptor()
    encrypted = encryptor.update(padded) + encryptor.finalize()
    public = recipient.public_key()
    if not isinstance(public, rsa.RSAPublicKey):
        raise ScepError(FailInfo.BAD_ALG, "the recipient's key is not RSA")
    if oaep:
        wrapped = public.encrypt(
            key, padding.OAEP(padding.MGF1(hashes.SHA1()), hashes.SHA1(), None)
        )
        transport = _algid(OID_RSAES_OAEP, _seq())  # all defaults: SHA-1, MGF1-SHA-1
    else:
        wrapped = public.encrypt(key, padding.PKCS1v15())
        transport = _algid(OID_RSA)
    recipient_info = _seq(
        _int(0),
        issuer_and_serial(recipient.issuer, recipient.serial_number),
        transport,
        _octets(wrapped),
    )
    encrypted_info = _seq(
        _oid(OID_DATA),
        _algid(spec.oid, _octets(iv)),
        der_tlv(0x80, encrypted),  # [0] IMPLICIT OCTET STRING
    )
    enveloped = _seq(_int(0), _set(recipient_info), encrypted_info)
    return _seq(_oid(OID_ENVELOPED_DATA), der_tlv(0xA0, enveloped))


def open_envelope(
    der: bytes, key: rsa.RSAPrivateKey, cert: x509.Certificate | None = None
) -> tuple[bytes, str]:
    """The content of an EnvelopedData for ``key``, and the name of its content cipher."""
    try:
        info = cms.ContentInfo.load(der, strict=True)
        if info["content_type"].dotted != OID_ENVELOPED_DATA:
            raise ScepError(FailInfo.BAD_REQUEST, "the content is not an EnvelopedData")
        enveloped = info["content"]
        recipients = [r.chosen for r in enveloped["recipient_infos"] if r.name == "ktri"]
        if not recipients:
            raise ScepError(FailInfo.BAD_ALG, "no key transport recipient")
        chosen = recipients[0]
        if cert is not None:
            wanted = issuer_and_serial(cert.issuer, cert.serial_number)
            for candidate in recipients:
                rid = candidate["rid"]
                if rid.name == "issuer_and_serial_number" and rid.chosen.dump() == wanted:
                    chosen = candidate
                    break
        transport = chosen["key_encryption_algorithm"]
        wrapped = chosen["encrypted_key"].native
        encrypted_info = enveloped["encrypted_content_info"]
        algorithm = encrypted_info["content_encryption_algorithm"]
        spec = _CIPHER_BY_OID.get(algorithm["algorithm"].dotted)
        if spec is None:
            raise ScepError(FailInfo.BAD_ALG, "unsupported content cipher")
        iv = core.OctetString.load(algorithm["parameters"].dump()).native
        encrypted = encrypted_info["encrypted_content"].native
    except ScepError:
        raise
    except Exception as e:  # asn1crypto parses lazily: any field may turn out broken
        raise ScepError(FailInfo.BAD_REQUEST, f"malformed envelope: {e}") from None
    key_padding = _key_transport(transport)
    try:
        content_key = key.decrypt(wrapped, key_padding)
    except ValueError:
        raise ScepError(FailInfo.BAD_MESSAGE_CHECK, "cannot decrypt the content key") from None
    if (
        len(content_key) != spec.key_size
        or not isinstance(iv, bytes)
        or len(iv) != spec.block
        or not isinstance(encrypted, bytes)
        or not encrypted
        or len(encrypted) % spec.block
    ):
        raise ScepError(FailInfo.BAD_MESSAGE_CHECK, "envelope does not decrypt")
    decryptor = _cipher(spec, content_key, iv).decryptor()
    padded = decryptor.update(encrypted) + decryptor.finalize()
    try:
        unpadder = sym_padding.PKCS7(spec.block * 8).unpadder()
        return unpadder.update(padded) + unpadder.finalize(), spec.name
    except ValueError:
        raise ScepError(FailInfo.BAD_MESSAGE_CHECK, "envelope does not decrypt") from None


def _key_transport(algorithm: cms.KeyEncryptionAlgorithm) -> padding.AsymmetricPadding:
    oid = algorithm["algorithm"].dotted
    if oid == OID_RSA:
        return padding.PKCS1v15()
    if oid != OID_RSAES_OAEP:
        raise ScepError(FailInfo.BAD_ALG, "unsupported key transport")
    try:  # absent parameters (or fields) mean SHA-1 and MGF1 with SHA-1
        params = algorithm["parameters"]
        digest = _DIGEST_BY_OID[params["hash_algorithm"]["algorithm"].dotted]
        mgf = params["mask_gen_algorithm"]["parameters"]
        mgf_digest = _DIGEST_BY_OID[mgf["algorithm"].dotted]
    except Exception:
        digest, mgf_digest = "sha1", "sha1"
    return padding.OAEP(padding.MGF1(DIGESTS[mgf_digest][1]()), DIGESTS[digest][1](), None)


# --------------------------------------------------------------------------- SignedData


def degenerate(
    certs: list[x509.Certificate] | tuple[x509.Certificate, ...] = (),
    crls: list[bytes] | tuple[bytes, ...] = (),
) -> bytes:
    """A certs-only SignedData: no content, no signers (what a CertRep SUCCESS envelopes)."""
    parts = [_int(1), _set(), _seq(_oid(OID_DATA))]
    if certs:
        parts.append(der_tlv(0xA0, b"".join(sorted(_cert_der(c) for c in certs))))
    if crls:
        parts.append(der_tlv(0xA1, b"".join(sorted(crls))))
    parts.append(_set())
    return _seq(_oid(OID_SIGNED_DATA), der_tlv(0xA0, _seq(*parts)))


def read_degenerate(der: bytes) -> tuple[list[x509.Certificate], list[bytes]]:
    """The certificates and CRLs (DER) of a certs-only SignedData."""
    try:
        info = cms.ContentInfo.load(der, strict=True)
        if info["content_type"].dotted != OID_SIGNED_DATA:
            raise ValueError("not a SignedData")
        signed = info["content"]
        certs = [
            x509.load_der_x509_certificate(c.chosen.dump())
            for c in signed["certificates"] or []
            if c.name == "certificate"
        ]
        crls = [c.chosen.dump() for c in signed["crls"] or [] if c.name == "crl"]
    except Exception as e:
        raise ScepError(FailInfo.BAD_REQUEST, f"malformed certs-only SignedData: {e}") from None
    return certs, crls


def sign(
    content: bytes | None,
    attributes: list[bytes],
    key: rsa.RSAPrivateKey,
    cert: x509.Certificate,
    digest: str = "sha256",
    certs: list[x509.Certificate] | None = None,
) -> bytes:
    """A ContentInfo SignedData of ``content`` (id-data) with one RSA signer.

    contentType and messageDigest are added to ``attributes`` (DER Attributes), and
    the whole SET sorted in DER order before signing. ``content=None`` leaves eContent
    out; SCEP messages always carry one, empty when there is nothing to say.
    """
    digest_oid, digest_class = DIGESTS[digest]
    hasher = hashes.Hash(digest_class())
    hasher.update(content or b"")
    signed_attributes = sorted(
        [
            _attribute(OID_CONTENT_TYPE, _oid(OID_DATA)),
            _attribute(OID_MESSAGE_DIGEST, _octets(hasher.finalize())),
            *attributes,
        ]
    )
    body = b"".join(signed_attributes)
    signature = key.sign(der_tlv(0x31, body), padding.PKCS1v15(), digest_class())
    signer_info = _seq(
        _int(1),
        issuer_and_serial(cert.issuer, cert.serial_number),
        _algid(digest_oid),
        der_tlv(0xA0, body),  # [0] IMPLICIT SET OF Attribute
        _algid(OID_RSA),
        _octets(signature),
    )
    encapsulated = [_oid(OID_DATA)]
    if content is not None:
        encapsulated.append(der_tlv(0xA0, _octets(content)))
    included = certs if certs is not None else [cert]
    signed = _seq(
        _int(1),
        _set(_algid(digest_oid)),
        _seq(*encapsulated),
        der_tlv(0xA0, b"".join(sorted(_cert_der(c) for c in included))),
        _set(signer_info),
    )
    return _seq(_oid(OID_SIGNED_DATA), der_tlv(0xA0, signed))


# --------------------------------------------------------------------------- reading


@dataclass
class PkiMessage:
    """A pkiMessage as read: its SCEP fields, and what checking it needs."""

    message_type: int | None
    transaction_id: str
    sender_nonce: bytes
    recipient_nonce: bytes | None = None
    pki_status: int | None = None
    fail_info: int | None = None
    digest: str | None = None  # None: a digest we do not know (badAlg)
    content: bytes | None = None  # eContent: the envelope, or b"" in PENDING/FAILURE
    signer: x509.Certificate | None = None
    certificates: list[x509.Certificate] = field(default_factory=list)
    _signer_info: cms.SignerInfo | None = field(default=None, repr=False)
    _signed: cms.SignedData | None = field(default=None, repr=False)

    def verify(self, signer: x509.Certificate | None = None) -> x509.Certificate:
        """Check the signature and the messageDigest; the signer's certificate.

        ``signer`` is the certificate to check against instead of the one the message
        carries (a client checks a CertRep with the CA certificate it trusts); the
        message must name it as its signer. The fields the signature does not cover are
        checked too (versions, algorithm parameters, content types), so that no byte of
        an accepted message can be changed unnoticed. Raises ``ScepError``.
        """
        info, signed = self._signer_info, self._signed
        cert = signer or self.signer
        if cert is None or info is None or signed is None:
            raise ScepError(FailInfo.BAD_MESSAGE_CHECK, "no signer certificate")
        if signer is not None and _find_signer(info["sid"], [signer]) is None:
            raise ScepError(FailInfo.BAD_MESSAGE_CHECK, "signed by another certificate")
        if self.digest is None:
            raise ScepError(FailInfo.BAD_ALG, "unsupported digest algorithm")
        try:
            public = cert.public_key()  # cryptography reads certificates lazily
        except Exception:
            raise ScepError(FailInfo.BAD_MESSAGE_CHECK, "unreadable signer key") from None
        if not isinstance(public, rsa.RSAPublicKey):
            raise ScepError(FailInfo.BAD_ALG, "the signer's key is not RSA")
        digest_class = DIGESTS[self.digest][1]
        try:
            _check_unsigned_fields(signed, info)
            attributes = info["signed_attrs"]
            signed_bytes = b"\x31" + attributes.dump()[1:]  # [0] IMPLICIT -> SET, as sent
            scheme = _signature_scheme(info["signature_algorithm"], digest_class)
            signature = info["signature"].native
        except ScepError:
            raise
        except Exception as e:
            raise ScepError(FailInfo.BAD_MESSAGE_CHECK, f"malformed signer info: {e}") from None
        hasher = hashes.Hash(digest_class())
        hasher.update(self.content or b"")
        if _message_digest(attributes) != hasher.finalize():
            raise ScepError(FailInfo.BAD_MESSAGE_CHECK, "messageDigest does not match")
        try:
            public.verify(signature, signed_bytes, scheme, digest_class())
        except Exception:
            raise ScepError(FailInfo.BAD_MESSAGE_CHECK, "bad signature") from None
        return cert


_NO_PARAMS = (b"", b"\x05\x00")  # an AlgorithmIdentifier's parameters: absent or NULL


def _check_unsigned_fields(signed: cms.SignedData, info: cms.SignerInfo) -> None:
    """What the signature does not protect must be exactly what a pkiMessage has."""
    sid = info["sid"].name
    wanted = "v1" if sid == "issuer_and_serial_number" else "v3"
    if info["version"].native != wanted or signed["version"].native != wanted:
        raise ScepError(FailInfo.BAD_MESSAGE_CHECK, "wrong CMS version")
    digest = info["digest_algorithm"]
    listed = [a["algorithm"].dotted for a in signed["digest_algorithms"]]
    if digest["algorithm"].dotted not in listed:
        raise ScepError(FailInfo.BAD_MESSAGE_CHECK, "digest not in digestAlgorithms")
    params = [a["parameters"].dump() for a in signed["digest_algorithms"]]
    params.append(digest["parameters"].dump())
    signature = info["signature_algorithm"]
    if signature["algorithm"].dotted != OID_RSASSA_PSS:
        params.append(signature["parameters"].dump())
    if any(p not in _NO_PARAMS for p in params):
        raise ScepError(FailInfo.BAD_ALG, "unexpected algorithm parameters")
    if signed["encap_content_info"]["content_type"].dotted != OID_DATA:
        raise ScepError(FailInfo.BAD_MESSAGE_CHECK, "the content is not id-data")
    types = [a for a in info["signed_attrs"] if a["type"].dotted == OID_CONTENT_TYPE]
    if len(types) != 1 or core.load(types[0]["values"][0].dump()).dotted != OID_DATA:
        raise ScepError(FailInfo.BAD_MESSAGE_CHECK, "contentType attribute is not id-data")
    oids = [a["type"].dotted for a in info["signed_attrs"]]
    if len(oids) != len(set(oids)) or info["unsigned_attrs"].native:
        raise ScepError(FailInfo.BAD_MESSAGE_CHECK, "repeated or unsigned attributes")


def _signature_scheme(
    algorithm: cms.SignedDigestAlgorithm, digest_class: type[hashes.HashAlgorithm]
) -> padding.AsymmetricPadding:
    oid = algorithm["algorithm"].dotted
    if oid == OID_RSA:
        return padding.PKCS1v15()
    if oid in _RSA_SIGNATURES:  # sha256WithRSAEncryption and kin: must name the same digest
        if DIGESTS[_RSA_SIGNATURES[oid]][1] is not digest_class:
            raise ScepError(FailInfo.BAD_ALG, "signature and digest algorithms disagree")
        return padding.PKCS1v15()
    if oid == OID_RSASSA_PSS:
        params = algorithm["parameters"]
        salt = params["salt_length"].native if params.native else 20
        return padding.PSS(padding.MGF1(digest_class()), salt)
    raise ScepError(FailInfo.BAD_ALG, "unsupported signature algorithm")


def _message_digest(attributes: cms.CMSAttributes) -> bytes | None:
    for attribute in attributes:
        if attribute["type"].dotted == OID_MESSAGE_DIGEST:
            value = core.load(attribute["values"][0].dump())
            return value.native if isinstance(value, core.OctetString) else None
    return None


def _attribute_values(attributes: cms.CMSAttributes) -> dict[str, core.Asn1Value]:
    """The first value of every signed attribute, by OID, as a plain asn1crypto value."""
    out: dict[str, core.Asn1Value] = {}
    for attribute in attributes:
        values = attribute["values"]
        if len(values):
            out[attribute["type"].dotted] = core.load(values[0].dump())
    return out


def _text(value: core.Asn1Value | None) -> str | None:
    if isinstance(value, core.AbstractString):
        return str(value.native)
    return None


def _number(value: core.Asn1Value | None) -> int | None:
    """A decimal PrintableString, canonical ("19", not "019" or " 19")."""
    text = _text(value)
    if text is None or not text.isdigit() or len(text) > 5 or str(int(text)) != text:
        return None
    return int(text)


def _octet_value(value: core.Asn1Value | None) -> bytes | None:
    return value.native if isinstance(value, core.OctetString) else None


def parse(der: bytes) -> PkiMessage:
    """Read a pkiMessage without checking it (``PkiMessage.verify`` does).

    ``NotPkiMessage`` when the bytes are not a SignedData with one signer whose signed
    attributes carry a message type, a transaction ID and a sender nonce.
    """
    try:
        info = cms.ContentInfo.load(der, strict=True)
        if info["content_type"].dotted != OID_SIGNED_DATA:
            raise NotPkiMessage("not a SignedData")
        signed = info["content"]
        signers = signed["signer_infos"]
        if len(signers) != 1:
            raise NotPkiMessage("a pkiMessage has exactly one signer")
        signer_info = signers[0]
        attributes = signer_info["signed_attrs"]
        if not isinstance(attributes, cms.CMSAttributes) or not len(attributes):
            raise NotPkiMessage("no signed attributes")
        values = _attribute_values(attributes)
        transaction_id = _text(values.get(OID_TRANSACTION_ID))
        sender_nonce = _octet_value(values.get(OID_SENDER_NONCE))
        if OID_MESSAGE_TYPE not in values or transaction_id is None or sender_nonce is None:
            raise NotPkiMessage("SCEP attributes missing")
        certificates = [
            x509.load_der_x509_certificate(c.chosen.dump())
            for c in signed["certificates"] or []
            if c.name == "certificate"
        ]
        content_field = signed["encap_content_info"]["content"]
        content = None if isinstance(content_field, core.Void) else content_field.native
        if content is not None and not isinstance(content, bytes):
            content = content_field.contents
        digest = _DIGEST_BY_OID.get(signer_info["digest_algorithm"]["algorithm"].dotted)
        message = PkiMessage(
            message_type=_number(values.get(OID_MESSAGE_TYPE)),
            transaction_id=transaction_id,
            sender_nonce=sender_nonce,
            recipient_nonce=_octet_value(values.get(OID_RECIPIENT_NONCE)),
            pki_status=_number(values.get(OID_PKI_STATUS)),
            fail_info=_number(values.get(OID_FAIL_INFO)),
            digest=digest,
            content=content,
            certificates=certificates,
            _signer_info=signer_info,
            _signed=signed,
        )
        message.signer = _find_signer(signer_info["sid"], certificates)
        return message
    except NotPkiMessage:
        raise
    except Exception as e:  # asn1crypto and cryptography raise many kinds on bad input
        raise NotPkiMessage(f"malformed pkiMessage: {type(e).__name__}: {e}") from None


def _find_signer(
    sid: cms.SignerIdentifier, certificates: list[x509.Certificate]
) -> x509.Certificate | None:
    """The certificate ``sid`` names, compared as encoded in the certificate itself."""
    for cert in certificates:
        if sid.name == "issuer_and_serial_number":
            tbs = asn1_x509.Certificate.load(_cert_der(cert))["tbs_certificate"]
            wanted = sid.chosen
            if (
                wanted["issuer"].dump() == tbs["issuer"].dump()
                and wanted["serial_number"].native == tbs["serial_number"].native
            ):
                return cert
        elif sid.name == "subject_key_identifier":
            try:
                ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
            except x509.ExtensionNotFound:
                continue
            if ski.value.digest == sid.chosen.native:
                return cert
    return None


# --------------------------------------------------------------------------- the CA side


def cert_rep(
    request: PkiMessage,
    ca_key: rsa.RSAPrivateKey,
    ca_cert: x509.Certificate,
    status: PkiStatus,
    *,
    fail_info: FailInfo | None = None,
    certs: list[x509.Certificate] | None = None,
    crls: list[bytes] | None = None,
    recipient: x509.Certificate | None = None,
    cipher: str = "des3",
    digest: str | None = None,
) -> bytes:
    """A CertRep answering ``request``, signed by the CA with the request's digest.

    SUCCESS envelopes a certs-only SignedData (``certs``, ``crls``) to ``recipient``
    (the requester's signer certificate) with ``cipher`` (the requester's own).
    PENDING and FAILURE have an empty eContent.
    """
    attributes = [
        _attribute(OID_MESSAGE_TYPE, _printable(str(int(MessageType.CERT_REP)))),
        _attribute(OID_PKI_STATUS, _printable(str(int(status)))),
        _attribute(OID_SENDER_NONCE, _octets(os.urandom(16))),
        _attribute(OID_RECIPIENT_NONCE, _octets(request.sender_nonce)),
        _attribute(OID_TRANSACTION_ID, _printable(_printable_text(request.transaction_id))),
    ]
    content = b""
    if status is PkiStatus.FAILURE:
        fail = FailInfo.BAD_REQUEST if fail_info is None else fail_info  # badAlg is 0
        attributes.append(_attribute(OID_FAIL_INFO, _printable(str(int(fail)))))
    elif status is PkiStatus.SUCCESS:
        if recipient is None:
            raise ValueError("a SUCCESS CertRep needs the requester's certificate")
        content = envelope(degenerate(certs or [], crls or []), recipient, cipher)
    return sign(content, attributes, ca_key, ca_cert, digest or request.digest or "sha256")


def _printable_text(text: str) -> str:
    """The transaction ID echoed back: PrintableString allows only some characters."""
    allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?")
    return "".join(c if c in allowed else "?" for c in text)


# --------------------------------------------------------------------------- the client side


def transaction_id_for(public_key: rsa.RSAPublicKey) -> str:
    """A transaction ID as SCEP suggests: a hash of the requester's public key (hex)."""
    spki = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).hexdigest().upper()


def self_signed(
    key: rsa.RSAPrivateKey, subject: x509.Name | str, now: dt.datetime | None = None
) -> x509.Certificate:
    """The throw-away certificate a new client signs its PKCSReq with."""
    if isinstance(subject, str):
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    return (
        x509.CertificateBuilder()
        .serial_number(int.from_bytes(os.urandom(8), "big") | 1)
        .issuer_name(subject)
        .subject_name(subject)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .public_key(key.public_key())
        .sign(key, hashes.SHA256())
    )


def request(
    message_type: MessageType,
    payload: bytes,
    *,
    transaction_id: str,
    key: rsa.RSAPrivateKey,
    cert: x509.Certificate,
    recipient: x509.Certificate,
    digest: str = "sha256",
    cipher: str = "aes128",
    oaep: bool = False,
    sender_nonce: bytes | None = None,
) -> bytes:
    """A client's pkiMessage: ``payload`` enveloped to ``recipient`` (the CA), signed by
    ``key``/``cert`` (self-signed for a PKCSReq; the current certificate to renew).

    Payloads: the CSR (DER) for PKCSReq and RenewalReq, ``issuer_and_subject`` for
    CertPoll, ``issuer_and_serial`` for GetCert and GetCRL.
    """
    attributes = scep_attributes(str(int(message_type)), transaction_id, sender_nonce)
    content = envelope(payload, recipient, cipher, oaep)
    return sign(content, attributes, key, cert, digest)


def scep_attributes(
    message_type: str, transaction_id: str, sender_nonce: bytes | None = None
) -> list[bytes]:
    """A request's SCEP signed attributes (DER), for ``sign`` (tests build odd ones)."""
    return [
        _attribute(OID_MESSAGE_TYPE, _printable(message_type)),
        _attribute(OID_SENDER_NONCE, _octets(sender_nonce or os.urandom(16))),
        _attribute(OID_TRANSACTION_ID, _printable(transaction_id)),
    ]


@dataclass
class CertRep:
    """A CA's answer as the client reads it."""

    status: PkiStatus
    fail_info: FailInfo | None
    transaction_id: str
    recipient_nonce: bytes | None
    sender_nonce: bytes
    digest: str | None
    certs: list[x509.Certificate] = field(default_factory=list)
    crls: list[bytes] = field(default_factory=list)
    cipher: str | None = None


def read_cert_rep(
    der: bytes,
    *,
    ca_cert: x509.Certificate,
    key: rsa.RSAPrivateKey,
    cert: x509.Certificate | None = None,
) -> CertRep:
    """Check a CertRep against the CA certificate and open its envelope with ``key``.

    Raises ``NotPkiMessage`` or ``ScepError`` for an answer that does not check out.
    """
    message = parse(der)
    message.verify(ca_cert)
    if message.message_type != MessageType.CERT_REP:
        raise ScepError(FailInfo.BAD_REQUEST, f"message type {message.message_type}, not 3")
    try:
        status = PkiStatus(message.pki_status)  # type: ignore[arg-type]
    except ValueError:
        raise ScepError(FailInfo.BAD_REQUEST, "unknown pkiStatus") from None
    try:
        fail: FailInfo | None = FailInfo(message.fail_info)  # type: ignore[arg-type]
    except ValueError:
        fail = None
    rep = CertRep(
        status,
        fail,
        message.transaction_id,
        message.recipient_nonce,
        message.sender_nonce,
        message.digest,
    )
    if status is PkiStatus.SUCCESS:
        inner, rep.cipher = open_envelope(message.content or b"", key, cert)
        rep.certs, rep.crls = read_degenerate(inner)
    return rep
