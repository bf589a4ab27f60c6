"""Certificates, CRLs and keys the way an IOS certificate server makes them (pure functions).

The CA certificate profile is IOS's, byte for byte (checked against the guide's
certificate): PrintableString CN, basicConstraints critical CA:TRUE, keyUsage critical
(digitalSignature, keyCertSign, cRLSign), AKI keyid, SKI, in that order. CRLs are version
1 with no extensions. ``cryptography`` no longer signs X.509 objects with MD5 or SHA-1,
which 15.1 used, so those are built with SHA-256 and re-signed at the low level: the
AlgorithmIdentifier in the TBS is swapped (same length) and the TBS signed again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import secrets
from collections.abc import Iterable

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID

HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "md5": hashes.MD5,
    "sha1": hashes.SHA1,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
# AlgorithmIdentifier SEQUENCE { OID, NULL } of the RSA signature algorithms, 15 bytes each.
RSA_SIG_ALGID = {
    "md5": bytes.fromhex("300d06092a864886f70d0101040500"),
    "sha1": bytes.fromhex("300d06092a864886f70d0101050500"),
    "sha256": bytes.fromhex("300d06092a864886f70d01010b0500"),
    "sha384": bytes.fromhex("300d06092a864886f70d01010c0500"),
    "sha512": bytes.fromhex("300d06092a864886f70d01010d0500"),
}
SIGNATURE_NAMES = {
    "md5": "MD5 with RSA Encryption",
    "sha1": "SHA1 with RSA Encryption",
    "sha256": "SHA256 with RSA Encryption",
    "sha384": "SHA384 with RSA Encryption",
    "sha512": "SHA512 with RSA Encryption",
}


# --------------------------------------------------------------------------- DER helpers


def der_read(b: bytes, o: int = 0) -> tuple[int, int, int]:
    """(tag, header length, content length) of the element at ``o`` (definite lengths)."""
    first = b[o + 1]
    if first < 0x80:
        return b[o], 2, first
    n = first & 0x7F
    return b[o], 2 + n, int.from_bytes(b[o + 2 : o + 2 + n], "big")


def der_children(b: bytes, o: int = 0) -> list[tuple[int, int]]:
    _, h, length = der_read(b, o)
    out, p = [], o + h
    while p < o + h + length:
        _, hh, ll = der_read(b, p)
        out.append((p, hh + ll))
        p += hh + ll
    return out


def der_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    size = (n.bit_length() + 7) // 8
    return bytes([0x80 | size]) + n.to_bytes(size, "big")


def der_tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + der_len(len(content)) + content


def sign_tbs(tbs: bytes, key: rsa.RSAPrivateKey, alg: str) -> bytes:
    sig = key.sign(tbs, padding.PKCS1v15(), HASHES[alg]())
    return der_tlv(0x30, tbs + RSA_SIG_ALGID[alg] + der_tlv(0x03, b"\x00" + sig))


def resign_legacy(signed_der: bytes, key: rsa.RSAPrivateKey, alg: str) -> bytes:
    """A SHA-256-signed certificate or CRL, re-signed with ``alg`` (md5 or sha1)."""
    o, length = der_children(signed_der)[0]
    tbs = bytearray(signed_der[o : o + length])
    for co, cl in der_children(bytes(tbs)):
        if bytes(tbs[co : co + cl]) == RSA_SIG_ALGID["sha256"]:
            tbs[co : co + cl] = RSA_SIG_ALGID[alg]
            break
    else:
        raise ValueError("no sha256WithRSAEncryption identifier in the TBS")
    return sign_tbs(bytes(tbs), key, alg)


# --------------------------------------------------------------------------- names


def ios_name(cn: str) -> x509.Name:
    """A subject as IOS writes ``CN=...``: the CN as a PrintableString where it can be."""
    printable = all(c.isalnum() or c in " '()+,-./:=?" for c in cn)
    kind = _ASN1Type.PrintableString if printable else _ASN1Type.UTF8String
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn, kind)])


def parse_dn(text: str) -> x509.Name:
    """``CN=PKI-HA,OU=VPN,O=Cisco,C=RU`` as IOS takes ``issuer-name``."""
    oids = {
        "CN": NameOID.COMMON_NAME,
        "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
        "O": NameOID.ORGANIZATION_NAME,
        "L": NameOID.LOCALITY_NAME,
        "ST": NameOID.STATE_OR_PROVINCE_NAME,
        "C": NameOID.COUNTRY_NAME,
        "E": NameOID.EMAIL_ADDRESS,
        "EA": NameOID.EMAIL_ADDRESS,
        "SERIALNUMBER": NameOID.SERIAL_NUMBER,
    }
    attributes = []
    for part in [p.strip() for p in text.split(",") if p.strip()]:
        key, eq, value = part.partition("=")
        oid = oids.get(key.strip().upper())
        if not eq or oid is None or not value.strip():
            raise ValueError(f"bad distinguished name part: {part}")
        value = value.strip()
        if oid == NameOID.COUNTRY_NAME and len(value) != 2:
            raise ValueError("country must be two letters")
        printable = all(c.isalnum() or c in " '()+,-./:=?" for c in value)
        kind = _ASN1Type.PrintableString if printable and oid != NameOID.EMAIL_ADDRESS else None
        if kind is None:
            attributes.append(x509.NameAttribute(oid, value))
        else:
            attributes.append(x509.NameAttribute(oid, value, kind))
    if not attributes:
        raise ValueError("empty distinguished name")
    return x509.Name(attributes)


def ios_dn_text(name: x509.Name) -> str:
    """A name as IOS prints it in show output: ``cn=PKI-HA``, ``serialNumber=1+hostname=R1``."""
    short = {
        NameOID.COMMON_NAME: "cn",
        NameOID.ORGANIZATIONAL_UNIT_NAME: "ou",
        NameOID.ORGANIZATION_NAME: "o",
        NameOID.LOCALITY_NAME: "l",
        NameOID.STATE_OR_PROVINCE_NAME: "st",
        NameOID.COUNTRY_NAME: "c",
        NameOID.SERIAL_NUMBER: "serialNumber",
        NameOID.EMAIL_ADDRESS: "ea",
        x509.ObjectIdentifier("1.2.840.113549.1.9.2"): "hostname",
        x509.ObjectIdentifier("1.2.840.113549.1.9.8"): "ipaddress",
    }
    rdns = []
    for rdn in name.rdns:
        rdns.append("+".join(f"{short.get(a.oid, a.oid.dotted_string)}={a.value}" for a in rdn))
    return ",".join(rdns)


# --------------------------------------------------------------------------- builders


def make_ca_cert(
    key: rsa.RSAPrivateKey,
    subject: x509.Name,
    not_before: dt.datetime,
    lifetime_days: int = 1095,
    alg: str = "md5",
    serial: int = 1,
) -> x509.Certificate:
    """The self-signed CA certificate of an IOS certificate server."""
    pub = key.public_key()
    ski = x509.SubjectKeyIdentifier.from_public_key(pub)
    builder = (
        x509.CertificateBuilder()
        .serial_number(serial)
        .issuer_name(subject)
        .subject_name(subject)
        .not_valid_before(not_before)
        .not_valid_after(not_before + dt.timedelta(days=lifetime_days))
        .public_key(pub)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.AuthorityKeyIdentifier(ski.digest, None, None), critical=False)
        .add_extension(ski, critical=False)
    )
    return _signed(builder, key, alg)


def issue_cert(
    ca_key: rsa.RSAPrivateKey,
    ca_cert: x509.Certificate,
    subject: x509.Name,
    public_key: rsa.RSAPublicKey,
    serial: int,
    not_before: dt.datetime,
    lifetime_days: int = 365,
    alg: str = "md5",
    cdp_url: str | None = None,
    san: x509.SubjectAlternativeName | None = None,
) -> x509.Certificate:
    """An end-entity certificate, never outliving the CA's own."""
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    not_after = min(not_before + dt.timedelta(days=lifetime_days), ca_cert.not_valid_after_utc)
    builder = (
        x509.CertificateBuilder()
        .serial_number(serial)
        .issuer_name(ca_cert.subject)
        .subject_name(subject)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .public_key(public_key)
    )
    if san is not None:
        builder = builder.add_extension(san, critical=False)
    builder = (
        builder.add_extension(
            x509.KeyUsage(True, False, True, False, False, False, False, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier(ca_ski.digest, None, None), critical=False)
    )
    if cdp_url:
        point = x509.DistributionPoint([x509.UniformResourceIdentifier(cdp_url)], None, None, None)
        builder = builder.add_extension(x509.CRLDistributionPoints([point]), critical=False)
    return _signed(builder, ca_key, alg)


def _signed(builder: x509.CertificateBuilder, key: rsa.RSAPrivateKey, alg: str) -> x509.Certificate:
    if alg in ("md5", "sha1"):
        der = builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
        return x509.load_der_x509_certificate(resign_legacy(der, key, alg))
    return builder.sign(key, HASHES[alg]())


def make_crl_v1(
    ca_key: rsa.RSAPrivateKey,
    issuer: x509.Name,
    this_update: dt.datetime,
    next_update: dt.datetime,
    revoked: Iterable[tuple[int, dt.datetime]] = (),
    alg: str = "sha1",
) -> bytes:
    """An IOS CRL (DER): version field absent (v1), no CRL or entry extensions."""
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer)
        .last_update(this_update)
        .next_update(next_update)
    )
    for serial, when in revoked:
        entry = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when)
        builder = builder.add_revoked_certificate(entry.build())
    der = builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
    o, length = der_children(der)[0]
    tbs = der[o : o + length]
    kids = der_children(tbs)
    if tbs[kids[0][0] : kids[0][0] + kids[0][1]] != b"\x02\x01\x01":
        raise ValueError("expected a v2 CRL from the builder")
    body = b"".join(tbs[ko : ko + kl] for ko, kl in kids[1:])
    body = body.replace(RSA_SIG_ALGID["sha256"], RSA_SIG_ALGID[alg], 1)
    return sign_tbs(der_tlv(0x30, body), ca_key, alg)


def verify_signed_by(
    der_tbs: bytes, signature: bytes, alg: str, public_key: rsa.RSAPublicKey
) -> bool:
    """Check an RSA PKCS#1 v1.5 signature with any digest (md5 and sha1 included)."""
    try:
        public_key.verify(signature, der_tbs, padding.PKCS1v15(), HASHES[alg]())
    except Exception:
        return False
    return True


def hash_name(algorithm: hashes.HashAlgorithm | None) -> str:
    if algorithm is None:
        return "sha256"
    return {
        "md5": "md5",
        "sha1": "sha1",
        "sha256": "sha256",
        "sha384": "sha384",
        "sha512": "sha512",
    }.get(algorithm.name, "sha256")


# --------------------------------------------------------------------------- keys


def generate_rsa(bits: int) -> rsa.RSAPrivateKey:
    """An RSA key of any size IOS offers (360-4096): cryptography makes 1024 and up."""
    if bits >= 1024:
        return rsa.generate_private_key(65537, bits)
    return generate_small_rsa(bits)


_SMALL_PRIMES = [p for p in range(3, 2000) if all(p % d for d in range(2, int(p**0.5) + 1))]


def probable_prime(n: int, rng: random.Random, rounds: int = 24) -> bool:
    """Miller-Rabin with witnesses from ``rng`` (a seeded one gives reproducible keys)."""
    for p in _SMALL_PRIMES:
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for _ in range(rounds):
        x = pow(rng.randrange(2, n - 1), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def random_prime(bits: int, e: int, rng: random.Random) -> int:
    """A prime of ``bits`` with its top two bits set (so p*q has all its bits) and p-1
    prime to ``e``."""
    while True:
        p = rng.getrandbits(bits) | (3 << (bits - 2)) | 1
        if (p - 1) % e and probable_prime(p, rng):
            return p


def generate_small_rsa(bits: int = 768, e: int = 65537) -> rsa.RSAPrivateKey:
    """Keys under 1024 bits (the 768-bit ``.server`` key), which cryptography will not make."""
    rng = secrets.SystemRandom()
    p, q = random_prime(bits // 2, e, rng), random_prime(bits - bits // 2, e, rng)
    return private_key_from_primes(p, q, e)


def private_key_from_primes(p: int, q: int, e: int = 65537) -> rsa.RSAPrivateKey:
    """The RSA key with primes ``p`` and ``q`` and public exponent ``e``."""
    d = pow(e, -1, (p - 1) * (q - 1))
    numbers = rsa.RSAPrivateNumbers(
        p,
        q,
        d,
        rsa.rsa_crt_dmp1(d, p),
        rsa.rsa_crt_dmq1(d, q),
        rsa.rsa_crt_iqmp(p, q),
        rsa.RSAPublicNumbers(e, p * q),
    )
    return numbers.private_key()


def spki_der(key: rsa.RSAPrivateKey | rsa.RSAPublicKey) -> bytes:
    pub = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    return pub.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


# --------------------------------------------------------------------------- rendering


def hex_groups(der: bytes) -> list[str]:
    h = der.hex().upper()
    return [h[i : i + 8] for i in range(0, len(h), 8)]


def hex_lines(der: bytes, per_line: int = 8) -> list[str]:
    """IOS's hex layout: 8 groups of 8 upper-case digits per line, the last group short."""
    groups = hex_groups(der)
    return [" ".join(groups[i : i + per_line]) for i in range(0, len(groups), per_line)]


def fingerprint(der: bytes, alg: str = "md5") -> str:
    """``FDB38019 E426C13A FDAC4B1E C324CB6A``: a digest in groups of 8 hex digits."""
    h = hashlib.new(alg, der).hexdigest().upper()
    return " ".join(h[i : i + 8] for i in range(0, len(h), 8))


def cert_der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)
