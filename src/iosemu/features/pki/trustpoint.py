"""Trustpoints and certificate chains: ``crypto pki trustpoint``, ``crypto pki certificate chain``.

A trustpoint names a CA and how to enroll with it; its chain holds the router's own
certificate and the CA certificate. In the running configuration certificates appear as
hex (8 groups of 8 digits a line, a space after each full line, ``  <TAB>quit``); in NVRAM
the startup-config refers to files instead (``certificate ca 01 nvram:PKI-HA#1CA.cer``).
Typing a certificate in (``certificate ca 01`` then hex lines then ``quit``) uses the same
hex mode the HA standby uses to receive its active's certificates.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from iosemu.device.filesystem import FileSystemError
from iosemu.device.router import Feature, Router
from iosemu.features.pki.objects import (
    SIGNATURE_NAMES,
    fingerprint,
    hash_name,
    hex_groups,
    ios_dn_text,
)
from iosemu.parser.grammar import CONFIG, EXEC, command
from iosemu.session import RAW_HANDLERS, CommandError, Ctx, config_mode

HOSTNAME_OID = x509.ObjectIdentifier("1.2.840.113549.1.9.2")
ADDRESS_OID = x509.ObjectIdentifier("1.2.840.113549.1.9.8")


@dataclass
class Trustpoint:
    name: str
    redundancy: bool = False
    enrollment_url: str | None = None
    enrollment_mode_ra: bool = False
    enrollment_retry_count: int | None = None
    enrollment_retry_period: int | None = None
    serial_number: str | None = None  # "" for the bare keyword, "none"
    fqdn: str | None = None
    ip_address: str | None = None
    subject_name: str | None = None
    password: str | None = None
    revocation_check: list[str] = field(default_factory=list)
    rsakeypair: str | None = None
    rsakeypair_size: int | None = None
    auto_enroll: str | None = None  # "" or "80" or "80 regenerate"

    def config_lines(self) -> list[str]:
        out = [f"crypto pki trustpoint {self.name}"]
        if self.redundancy:
            out.append(" redundancy")
        if self.enrollment_mode_ra:
            out.append(" enrollment mode ra")
        if self.enrollment_retry_count is not None:
            out.append(f" enrollment retry count {self.enrollment_retry_count}")
        if self.enrollment_retry_period is not None:
            out.append(f" enrollment retry period {self.enrollment_retry_period}")
        if self.enrollment_url:
            out.append(f" enrollment url {self.enrollment_url}")
        if self.serial_number is not None:
            out.append(" serial-number" + (f" {self.serial_number}" if self.serial_number else ""))
        if self.fqdn:
            out.append(f" fqdn {self.fqdn}")
        if self.ip_address:
            out.append(f" ip-address {self.ip_address}")
        if self.password:
            out.append(f" password {self.password}")
        if self.subject_name:
            out.append(f" subject-name {self.subject_name}")
        if self.revocation_check:
            out.append(f" revocation-check {' '.join(self.revocation_check)}")
        if self.rsakeypair:
            size = f" {self.rsakeypair_size}" if self.rsakeypair_size else ""
            out.append(f" rsakeypair {self.rsakeypair}{size}")
        if self.auto_enroll is not None:
            out.append(" auto-enroll" + (f" {self.auto_enroll}" if self.auto_enroll else ""))
        return out


@dataclass
class ChainCert:
    kind: str  # "ca", "self-signed" or "" (the router's own)
    serial: str  # as typed/shown: "01"
    der: bytes
    stored: bool = False  # saved in NVRAM: show output names the file

    @property
    def cert(self) -> x509.Certificate:
        return x509.load_der_x509_certificate(self.der)

    @property
    def file_name(self) -> str:
        """``PKI-HA#1CA.cer``: up to 12 characters of the issuer CN, the serial, CA or not."""
        cn = self.cert.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)
        prefix = str(cn[0].value).replace(" ", "")[:12] if cn else "cert"
        return f"{prefix}#{self.cert.serial_number:X}{'CA' if self.kind == 'ca' else ''}.cer"


@dataclass
class Chain:
    name: str
    certs: list[ChainCert] = field(default_factory=list)

    def find(self, kind: str) -> ChainCert | None:
        for c in self.certs:
            if c.kind == kind:
                return c
        return None

    def put(self, cert: ChainCert) -> None:
        """Add or replace; the router's own certificate comes first, as IOS lists them."""
        self.certs = [c for c in self.certs if (c.kind, c.serial) != (cert.kind, cert.serial)]
        if cert.kind == "ca":
            self.certs.append(cert)
        else:
            self.certs.insert(0, cert)


def serial_text(serial: int) -> str:
    """``01``, ``0A``, ``0104``: hex, upper case, an even number of digits."""
    text = f"{serial:X}"
    return text.zfill(len(text) + len(text) % 2)


def chain_hex_lines(der: bytes) -> list[str]:
    groups = hex_groups(der)
    lines = []
    for i in range(0, len(groups), 8):
        chunk = groups[i : i + 8]
        full = len(chunk) == 8 and len(chunk[-1]) == 8 and i + 8 < len(groups)
        lines.append("  " + " ".join(chunk) + (" " if full else ""))
    return lines


class Pki(Feature):
    """Trustpoints and their certificate chains."""

    def __init__(self, router: Router) -> None:
        super().__init__(router)
        self.trustpoints: dict[str, Trustpoint] = {}
        self.chains: dict[str, Chain] = {}

    def trustpoint(self, name: str) -> Trustpoint:
        if name not in self.trustpoints:
            self.trustpoints[name] = Trustpoint(name)
        return self.trustpoints[name]

    def chain(self, name: str) -> Chain:
        if name not in self.chains:
            self.chains[name] = Chain(name)
        return self.chains[name]

    def ca_certificate(self, name: str) -> x509.Certificate | None:
        chain = self.chains.get(name)
        found = chain.find("ca") if chain else None
        return found.cert if found else None

    # --- configuration ---------------------------------------------------------------

    def config(self, slot: str) -> list[str]:
        if slot == "crypto-trustpoints":
            out: list[str] = []
            for tp in self.trustpoints.values():
                out += [*tp.config_lines(), "!"]
            return out
        if slot == "crypto-chains":
            out = []
            for chain in self.chains.values():
                if not chain.certs and chain.name not in self.trustpoints:
                    continue
                out.append(f"crypto pki certificate chain {chain.name}")
                for c in chain.certs:
                    head = f" certificate {c.kind + ' ' if c.kind else ''}{c.serial}"
                    if self.router.saving:
                        out.append(f"{head} nvram:{c.file_name}")
                    else:
                        out += [head, *chain_hex_lines(c.der), "  \tquit"]
            return [*out, "!"] if out else []
        return []

    def saved(self) -> None:
        """``write memory`` stores every chain certificate in its own NVRAM file."""
        for chain in self.chains.values():
            for c in chain.certs:
                try:
                    self.router.nvram.write(c.file_name, c.der)
                    c.stored = True
                except FileSystemError:
                    c.stored = False


# --------------------------------------------------------------------------- commands

TRUSTPOINT = config_mode("crypto-ca-trustpoint", "(ca-trustpoint)")
CERT_CHAIN = config_mode("crypto-ca-cert-chain", "(config-cert-chain)")
HEX_MODE = config_mode("pki-hexmode", "(config-pubkey)", CERT_CHAIN, raw=True)


@dataclass
class HexEntry:
    """A certificate being typed in hex."""

    chain: Chain
    kind: str
    serial: str
    data: bytearray = field(default_factory=bytearray)


@command(
    CONFIG,
    "[no] crypto pki trustpoint WORD$name",
    help="|Public Key components|Define a CA trustpoint|CA trustpoint name",
    no_syntax="crypto pki trustpoint WORD$name",
)
async def crypto_pki_trustpoint(ctx: Ctx, name: str) -> None:
    pki = ctx.feature(Pki)
    if not ctx.negate:
        ctx.enter(TRUSTPOINT, pki.trustpoint(name))
        return
    if name not in pki.trustpoints:
        return
    chain = pki.chains.get(name)
    if chain is not None and chain.certs and not ctx.session.booting:
        ctx.print(
            "% Removing an enrolled trustpoint will destroy all certificates",
            " received from the related Certificate Authority.",
            "",
        )
        if not await ctx.yes_no("Are you sure you want to do this? [yes/no]: "):
            raise CommandError("")  # declined: nothing changed
        ctx.print("% Be sure to ask the CA administrator to revoke your certificates.")
    pki.trustpoints.pop(name, None)
    pki.chains.pop(name, None)


@command(TRUSTPOINT, "[no] redundancy", help="Sync the trustpoint with the standby unit")
def tp_redundancy(ctx: Ctx) -> None:
    tp: Trustpoint = ctx.context
    tp.redundancy = not ctx.negate
    if tp.redundancy and not ctx.session.booting:
        from iosemu.features.pki.ha import PkiHa

        ctx.router.spawn(ctx.feature(PkiHa).trustpoint_changed(tp.name), "pki-ha")


@command(
    TRUSTPOINT,
    "[no] enrollment url LINE$url",
    help="Enrollment parameters|CA server enrollment URL|URL",
)
def tp_enrollment_url(ctx: Ctx, url: str | None = None) -> None:
    ctx.context.enrollment_url = None if ctx.negate else url


@command(
    TRUSTPOINT,
    "[no] enrollment mode ra",
    help="|Mode supported by the Certificate Authority|Registration Authority mode",
)
def tp_enrollment_mode(ctx: Ctx) -> None:
    ctx.context.enrollment_mode_ra = not ctx.negate


@command(
    TRUSTPOINT,
    "[no] enrollment retry {count <1-100>$count|period <1-60>$period}",
    help="|Polling parameters|How many times to poll|count|Minutes between polls|minutes",
)
def tp_enrollment_retry(ctx: Ctx, count: int | None = None, period: int | None = None) -> None:
    tp: Trustpoint = ctx.context
    if ctx.has("count"):
        tp.enrollment_retry_count = None if ctx.negate else count
    if ctx.has("period"):
        tp.enrollment_retry_period = None if ctx.negate else period


@command(
    TRUSTPOINT,
    "[no] serial-number [none]",
    help="Request serial number in the certificate|Do not include the serial number",
)
def tp_serial_number(ctx: Ctx) -> None:
    ctx.context.serial_number = None if ctx.negate else ("none" if ctx.has("none") else "")


@command(TRUSTPOINT, "[no] fqdn WORD$name", help="Fully qualified domain name|FQDN")
def tp_fqdn(ctx: Ctx, name: str | None = None) -> None:
    ctx.context.fqdn = None if ctx.negate else name


@command(
    TRUSTPOINT,
    "[no] ip-address {none|A.B.C.D$address|INTERFACE$interface}",
    help="Include an IP address in the certificate|Do not include an IP address|IP address|",
    no_syntax="ip-address",
)
def tp_ip_address(ctx: Ctx, address: object = None, interface: str | None = None) -> None:
    tp: Trustpoint = ctx.context
    if ctx.negate:
        tp.ip_address = None
    elif ctx.has("none"):
        tp.ip_address = "none"
    else:
        tp.ip_address = str(address) if address is not None else interface


@command(TRUSTPOINT, "[no] subject-name LINE$name", help="Subject Name|subject name")
def tp_subject_name(ctx: Ctx, name: str | None = None) -> None:
    ctx.context.subject_name = None if ctx.negate else name


@command(
    TRUSTPOINT,
    "[no] password LINE$password",
    help="Password for the certificate request|password",
)
def tp_password(ctx: Ctx, password: str | None = None) -> None:
    ctx.context.password = None if ctx.negate else password


@command(
    TRUSTPOINT,
    "[no] revocation-check [crl|none|ocsp]*",
    help="Revocation checking options|Revocation check by CRL|Ignore revocation check|"
    "Revocation check by OCSP",
    no_syntax="revocation-check",
)
def tp_revocation_check(ctx: Ctx) -> None:
    words = [w for w in ctx.keywords[1:] if w in ("crl", "none", "ocsp")]
    if not words and not ctx.negate:
        raise CommandError("% Incomplete command.\n")
    ctx.context.revocation_check = [] if ctx.negate else words


@command(
    TRUSTPOINT,
    "[no] rsakeypair WORD$label [<360-4096>$size]",
    help="Specify the key pair for enrollment|Key pair label|Key size",
    no_syntax="rsakeypair",
)
def tp_rsakeypair(ctx: Ctx, label: str | None = None, size: int | None = None) -> None:
    tp: Trustpoint = ctx.context
    tp.rsakeypair = None if ctx.negate else label
    tp.rsakeypair_size = None if ctx.negate else size


@command(
    TRUSTPOINT,
    "[no] auto-enroll [<0-100>$percent [regenerate]]",
    help="Auto-enroll|Percent of lifetime at which to re-enroll|Generate a new key pair",
    no_syntax="auto-enroll",
)
def tp_auto_enroll(ctx: Ctx, percent: int | None = None) -> None:
    tp: Trustpoint = ctx.context
    if ctx.negate:
        tp.auto_enroll = None
        return
    text = "" if percent is None else str(percent)
    tp.auto_enroll = text + (" regenerate" if ctx.has("regenerate") else "")


@command(
    CONFIG,
    "[no] crypto pki certificate chain WORD$name",
    help="||Actions on certificates|Certificate chain|Trustpoint name",
    no_syntax="crypto pki certificate chain WORD$name",
)
def crypto_pki_chain(ctx: Ctx, name: str) -> None:
    pki = ctx.feature(Pki)
    if ctx.negate:
        pki.chains.pop(name, None)
        return
    ctx.enter(CERT_CHAIN, pki.chain(name))


@command(
    CERT_CHAIN,
    "certificate [ca|self-signed]$kind HEX$serial [WORD$file]",
    help="Certificate in the chain|A CA certificate|A self-signed certificate|"
    "Certificate serial number|Certificate file in NVRAM",
)
def chain_certificate(ctx: Ctx, serial: str, kind: str = "", file: str | None = None) -> None:
    chain: Chain = ctx.context
    serial = serial.zfill(len(serial) + len(serial) % 2)
    if file is not None:
        name = file.split(":", 1)[-1].lstrip("/")
        try:
            der = ctx.router.nvram.read(name)
            x509.load_der_x509_certificate(der)
        except (FileSystemError, ValueError):
            raise CommandError(f"% Error reading certificate file {file}") from None  # invented
        chain.put(ChainCert(kind, serial, der, stored=True))
        return
    if not ctx.session.booting:
        ctx.print("Enter the certificate in hexidecimal representation....", "")
    ctx.enter(HEX_MODE, HexEntry(chain, kind, serial))


@command(
    CERT_CHAIN,
    "no certificate [ca|self-signed]$kind HEX$serial",
    help="|Certificate in the chain|A CA certificate|A self-signed certificate|Serial number",
)
async def no_chain_certificate(ctx: Ctx, serial: str, kind: str = "") -> None:
    chain: Chain = ctx.context
    serial = serial.zfill(len(serial) + len(serial) % 2).upper()
    if not ctx.session.booting:
        answer = await ctx.yes_no("% Are you sure you want to remove the certificate [yes/no]: ")
        if not answer:
            return
    chain.certs = [c for c in chain.certs if (c.kind, c.serial.upper()) != (kind, serial)]


_HEX = re.compile(r"^[0-9A-Fa-f\s]*$")


def hex_line(ctx: Ctx, line: str) -> None:
    """A line of hex mode: more certificate, or ``quit`` to finish it."""
    entry: HexEntry = ctx.context
    text = line.strip()
    if text.lower() == "quit":
        ctx.session.exit_mode()
        try:
            cert = x509.load_der_x509_certificate(bytes(entry.data))
        except ValueError:
            raise CommandError("% Invalid certificate: not a DER X.509 certificate") from None
        entry.chain.put(ChainCert(entry.kind, entry.serial, bytes(entry.data)))
        del cert
        return
    if not _HEX.match(text):
        raise CommandError("% Invalid hex data")  # invented text
    digits = "".join(text.split())
    if len(digits) % 2:
        raise CommandError("% Invalid hex data")
    entry.data += bytes.fromhex(digits)


RAW_HANDLERS[HEX_MODE] = hex_line


# --------------------------------------------------------------------------- show


def _stamp(router: Router, when: dt.datetime) -> str:
    return router.clock.short_stamp(when)


def certificate_block(router: Router, chain: Chain, c: ChainCert, verbose: bool) -> list[str]:
    cert = c.cert
    is_ca = c.kind == "ca"
    out = ["CA Certificate" if is_ca else "Certificate", "  Status: Available"]
    if verbose:
        out.append(f"  Version: {cert.version.value + 1}")
    out += [
        f"  Certificate Serial Number (hex): {serial_text(cert.serial_number)}",
        f"  Certificate Usage: {'Signature' if is_ca else 'General Purpose'}",
        "  Issuer: ",
        f"    {ios_dn_text(cert.issuer)}",
    ]
    if is_ca:
        out += ["  Subject: ", f"    {ios_dn_text(cert.subject)}"]
    else:
        out.append("  Subject:")
        for oid, label in ((HOSTNAME_OID, "Name"), (ADDRESS_OID, "IP Address")):
            for attr in cert.subject.get_attributes_for_oid(oid):
                out.append(f"    {label}: {attr.value}")
        for attr in cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER):
            out.append(f"    Serial Number: {attr.value}")
        out.append(f"    {ios_dn_text(cert.subject)}")
    try:
        cdp = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
        out.append("  CRL Distribution Points: ")
        for point in cdp:
            for name in point.full_name or []:
                out.append(f"    {name.value}")
    except x509.ExtensionNotFound:
        pass
    out += [
        "  Validity Date: ",
        f"    start date: {_stamp(router, cert.not_valid_before_utc)}",
        f"    end   date: {_stamp(router, cert.not_valid_after_utc)}",
    ]
    if verbose:
        der = cert.public_bytes(serialization.Encoding.DER)
        alg = hash_name(cert.signature_hash_algorithm)
        out += [
            "  Subject Key Info:",
            "    Public Key Algorithm: rsaEncryption",
            f"    RSA Public Key: ({cert.public_key().key_size} bit)",  # type: ignore[union-attr]
            f"  Signature Algorithm: {SIGNATURE_NAMES[alg]}",
            f"  Fingerprint MD5: {fingerprint(der, 'md5')} ",
            f"  Fingerprint SHA1: {fingerprint(der, 'sha1')} ",
            *_extension_lines(cert),
        ]
    out.append(f"  Associated Trustpoints: {chain.name} ")
    if c.stored:
        out.append(f"  Storage: nvram:{c.file_name}")
    return [*out, ""]


def _extension_lines(cert: x509.Certificate) -> list[str]:
    out = ["  X509v3 extensions:"]
    for ext in cert.extensions:
        value = ext.value
        if isinstance(value, x509.KeyUsage):
            bits = 0
            names = []
            for i, (attr, label) in enumerate(
                (
                    ("digital_signature", "Digital Signature"),
                    ("content_commitment", "Non Repudiation"),
                    ("key_encipherment", "Key Encipherment"),
                    ("data_encipherment", "Data Encipherment"),
                    ("key_agreement", "Key Agreement"),
                    ("key_cert_sign", "Key Cert Sign"),
                    ("crl_sign", "CRL Signature"),
                )
            ):
                if getattr(value, attr):
                    bits |= 0x80000000 >> i
                    names.append(label)
            out.append(f"    X509v3 Key Usage: {bits:08X}")
            out += [f"      {n}" for n in names]
        elif isinstance(value, x509.SubjectKeyIdentifier):
            out.append(f"    X509v3 Subject Key ID: {fingerprint_groups(value.digest)} ")
        elif isinstance(value, x509.BasicConstraints):
            out += [
                "    X509v3 Basic Constraints:",
                f"        CA: {'TRUE' if value.ca else 'FALSE'}",
            ]
        elif isinstance(value, x509.AuthorityKeyIdentifier) and value.key_identifier:
            out.append(f"    X509v3 Authority Key ID: {fingerprint_groups(value.key_identifier)} ")
    out.append("    Authority Info Access:")
    return out


def fingerprint_groups(raw: bytes) -> str:
    h = raw.hex().upper()
    return " ".join(h[i : i + 8] for i in range(0, len(h), 8))


@command(
    EXEC,
    "show crypto pki certificates [WORD$name] [verbose]",
    help="|Encryption module|Public Key components|Show certificates|Trustpoint name|"
    "Display extended certificate information",
    priv=1,
)
def show_certificates(ctx: Ctx, name: str | None = None) -> None:
    pki = ctx.feature(Pki)
    for chain in pki.chains.values():
        if name is not None and chain.name != name:
            continue
        for c in chain.certs:
            ctx.print(*certificate_block(ctx.router, chain, c, ctx.has("verbose")))


@command(
    EXEC,
    "show crypto pki trustpoints [WORD$name] [status]",
    help="|||Show trustpoints|Trustpoint name|Show trustpoint status",
    priv=1,
)
def show_trustpoints(ctx: Ctx, name: str | None = None) -> None:
    from iosemu.features.pki.keys import Keys

    pki = ctx.feature(Pki)
    keys = ctx.feature(Keys)
    for tp in pki.trustpoints.values():
        if name is not None and tp.name != name:
            continue
        ca = pki.ca_certificate(tp.name)
        if ctx.has("status"):
            ctx.print(f"Trustpoint {tp.name}:")
            if ca is not None:
                der = ca.public_bytes(serialization.Encoding.DER)
                ctx.print(
                    "  Issuing CA certificate configured:",
                    "    Subject Name:",
                    f"     {ios_dn_text(ca.subject)}",
                    f"    Fingerprint MD5: {fingerprint(der, 'md5')} ",
                    f"    Fingerprint SHA1: {fingerprint(der, 'sha1')} ",
                )
            pair = keys.get(tp.rsakeypair or tp.name)
            if pair is None:
                generated = "No"
            else:
                export = "exportable" if pair.exportable else "non-exportable"
                generated = f"Yes (General Purpose, {export})"
            chain = pki.chains.get(tp.name)
            own = chain.find("") if chain else None
            ctx.print(
                "  State:",
                f"    Keys generated ............. {generated}",
                f"    Issuing CA authenticated ....... {'Yes' if ca else 'No'}",
                f"    Certificate request(s) ..... {'Yes' if own else 'None'}",
                "",
            )
            continue
        ctx.print(f"Trustpoint {tp.name}:")
        if ca is not None:
            ctx.print(
                "    Subject Name: ",
                f"    {ios_dn_text(ca.subject)}",
                f"          Serial Number (hex): {serial_text(ca.serial_number)}",
                "    Certificate configured.",
            )
        if tp.enrollment_url:
            ctx.print(f"    SCEP URL: {tp.enrollment_url}/cgi-bin")
        ctx.print("", "")
