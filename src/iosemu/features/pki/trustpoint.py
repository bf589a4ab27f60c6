"""Trustpoints and certificate chains: ``crypto pki trustpoint``, ``crypto pki certificate chain``.

A trustpoint names a CA and how to enroll with it; its chain holds the router's own
certificate and the CA certificate. In the running configuration certificates appear as
hex (8 groups of 8 digits a line, a space after each full line, ``  <TAB>quit``); in NVRAM
the startup-config refers to files instead (``certificate ca 01 nvram:PKI-HA#1CA.cer``).
Typing a certificate in (``certificate ca 01`` then hex lines then ``quit``) uses the same
hex mode the HA standby uses to receive its active's certificates.

A trustpoint with ``redundancy`` keeps its standby in step: every sub-command typed on the
active is sent across as it is made (added lines as typed, removed ones as ``no`` lines),
as the guide's debug shows for the CA's own trustpoint; certificates and keys follow
through ``PkiHa`` when they change (authenticate, enroll, ``no certificate``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

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

    @property
    def scep_url(self) -> str | None:
        """The base the SCEP operations hang from: the URL's own path, else ``/cgi-bin``.

        ``enrollment url http://10.1.32.86:80`` asks ``/cgi-bin/pkiclient.exe`` (``show
        crypto pki trustpoints`` says ``SCEP URL: http://10.1.32.86:80/cgi-bin``); a URL
        with a path, as for a Microsoft NDES, asks ``<path>/pkiclient.exe``.
        """
        if not self.enrollment_url:
            return None
        url = self.enrollment_url.rstrip("/")
        return url if urlsplit(url).path else f"{url}/cgi-bin"


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
        """Add or replace; the router's own certificate comes first, as IOS lists them.

        A trustpoint holds one router certificate (general-purpose keys): a new one, from a
        re-enrollment or the HA active, replaces the old.
        """
        self.certs = [
            c
            for c in self.certs
            if (c.kind, c.serial) != (cert.kind, cert.serial) and (c.kind or cert.kind)
        ]
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


@dataclass
class PendingRequest:
    """An enrollment waiting for the CA, as ``show crypto pki certificates`` shows it."""

    name: str  # the FQDN in the subject
    serial_number: str | None
    md5: str  # fingerprints of the PKCS#10 request, groups of 8
    sha1: str


class Pki(Feature):
    """Trustpoints and their certificate chains."""

    def __init__(self, router: Router) -> None:
        super().__init__(router)
        self.trustpoints: dict[str, Trustpoint] = {}
        self.chains: dict[str, Chain] = {}
        # Enrollments waiting for the CA (client.py keeps them here for the show commands).
        self.pending: dict[str, PendingRequest] = {}
        # Told the name of a trustpoint whose certificates changed or that was removed.
        self.listeners: list[Callable[[str], None]] = []

    def changed(self, name: str) -> None:
        for listener in list(self.listeners):
            listener(name)

    def router_certificate(self, name: str) -> x509.Certificate | None:
        chain = self.chains.get(name)
        found = chain.find("") if chain else None
        return found.cert if found else None

    def key_label(self, tp: Trustpoint) -> str:
        """The key pair a trustpoint enrolls with.

        ``rsakeypair LABEL``; otherwise IOS uses the router's default key
        (``hostname.domain``). The two units of an inter-device pair have different
        hostnames, so a trustpoint with ``redundancy`` and no ``rsakeypair`` names its key
        after itself instead: the same label on both units, so the synced key is found
        after a switchover (our choice; IOS's behaviour here is not documented).
        """
        if tp.rsakeypair:
            return tp.rsakeypair
        if tp.redundancy:
            return tp.name
        from iosemu.features.pki.keys import router_default_label

        return router_default_label(self.router) or self.router.hostname

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


def send_to_standby(router: Router, lines: list[str]) -> None:
    """Lines for the HA standby (nothing happens unless a hot standby is there)."""
    from iosemu.features.pki.ha import PkiHa

    router.spawn(router.feature(PkiHa).send(lines), "pki-ha")


def sync_trustpoint(router: Router, name: str) -> None:
    """A redundant trustpoint's lines, key and chain to the standby (``PkiHa``)."""
    from iosemu.features.pki.ha import PkiHa

    router.spawn(router.feature(PkiHa).trustpoint_changed(name), "pki-ha")


def _edited(ctx: Ctx, tp: Trustpoint, before: list[str]) -> None:
    """Send a sub-command's change to the standby, as IOS syncs each line it is typed."""
    if not tp.redundancy or ctx.session.booting:
        return
    after = tp.config_lines()
    lines = [f" no {line.strip()}" for line in before[1:] if line not in after]
    lines += [line for line in after[1:] if line not in before]
    if lines:
        send_to_standby(ctx.router, [after[0], "", *lines, "end"])


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
    tp = pki.trustpoints.get(name)
    if tp is None:
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
    pki.pending.pop(name, None)
    pki.changed(name)
    if tp.redundancy and not ctx.session.booting:
        send_to_standby(ctx.router, [f"no crypto pki trustpoint {name}"])


@command(TRUSTPOINT, "[no] redundancy", help="Sync the trustpoint with the standby unit")
def tp_redundancy(ctx: Ctx) -> None:
    tp: Trustpoint = ctx.context
    if ctx.negate and tp.redundancy and not ctx.session.booting:
        send_to_standby(ctx.router, [f"crypto pki trustpoint {tp.name}", "", " no redundancy"])
    tp.redundancy = not ctx.negate
    if tp.redundancy and not ctx.session.booting:
        sync_trustpoint(ctx.router, tp.name)


@command(
    TRUSTPOINT,
    "[no] enrollment url LINE$url",
    help="Enrollment parameters|CA server enrollment URL|URL",
    no_syntax="enrollment url [LINE$url]",
)
def tp_enrollment_url(ctx: Ctx, url: str | None = None) -> None:
    tp: Trustpoint = ctx.context
    before = tp.config_lines()
    if not ctx.negate:
        parts = urlsplit(url or "")
        if parts.scheme.lower() != "http" or not parts.hostname:
            raise CommandError("% Invalid URL: only http://HOST[:PORT][/PATH] is supported")
    tp.enrollment_url = None if ctx.negate else url
    _edited(ctx, tp, before)


@command(
    TRUSTPOINT,
    "[no] enrollment mode ra",
    help="|Mode supported by the Certificate Authority|Registration Authority mode",
)
def tp_enrollment_mode(ctx: Ctx) -> None:
    tp: Trustpoint = ctx.context
    before = tp.config_lines()
    tp.enrollment_mode_ra = not ctx.negate
    _edited(ctx, tp, before)


@command(
    TRUSTPOINT,
    "[no] enrollment retry {count <1-100>$count|period <1-60>$period}",
    help="|Polling parameters|How many times to poll|count|Minutes between polls|minutes",
)
def tp_enrollment_retry(ctx: Ctx, count: int | None = None, period: int | None = None) -> None:
    tp: Trustpoint = ctx.context
    before = tp.config_lines()
    if ctx.has("count"):
        tp.enrollment_retry_count = None if ctx.negate else count
    if ctx.has("period"):
        tp.enrollment_retry_period = None if ctx.negate else period
    _edited(ctx, tp, before)


@command(
    TRUSTPOINT,
    "[no] serial-number [none]",
    help="Request serial number in the certificate|Do not include the serial number",
)
def tp_serial_number(ctx: Ctx) -> None:
    tp: Trustpoint = ctx.context
    before = tp.config_lines()
    tp.serial_number = None if ctx.negate else ("none" if ctx.has("none") else "")
    _edited(ctx, tp, before)


@command(
    TRUSTPOINT,
    "[no] fqdn WORD$name",
    help="Fully qualified domain name|FQDN",
    no_syntax="fqdn [WORD$name]",
)
def tp_fqdn(ctx: Ctx, name: str | None = None) -> None:
    tp: Trustpoint = ctx.context
    before = tp.config_lines()
    tp.fqdn = None if ctx.negate else name
    _edited(ctx, tp, before)


@command(
    TRUSTPOINT,
    "[no] ip-address {none|A.B.C.D$address|INTERFACE$interface}",
    help="Include an IP address in the certificate|Do not include an IP address|IP address|",
    no_syntax="ip-address [LINE$rest]",
)
def tp_ip_address(
    ctx: Ctx, address: object = None, interface: str | None = None, rest: str | None = None
) -> None:
    tp: Trustpoint = ctx.context
    before = tp.config_lines()
    if ctx.negate:
        tp.ip_address = None
    elif ctx.has("none"):
        tp.ip_address = "none"
    else:
        tp.ip_address = str(address) if address is not None else interface
    _edited(ctx, tp, before)


@command(
    TRUSTPOINT,
    "[no] subject-name LINE$name",
    help="Subject Name|subject name",
    no_syntax="subject-name [LINE$name]",
)
def tp_subject_name(ctx: Ctx, name: str | None = None) -> None:
    tp: Trustpoint = ctx.context
    before = tp.config_lines()
    if not ctx.negate:
        from iosemu.features.pki.objects import parse_dn

        try:
            parse_dn(name or "")
        except ValueError:
            raise CommandError("% Invalid subject name") from None  # invented text
    tp.subject_name = None if ctx.negate else name
    _edited(ctx, tp, before)


@command(
    TRUSTPOINT,
    "[no] password LINE$password",
    help="Password for the certificate request|password",
    no_syntax="password [LINE$password]",
)
def tp_password(ctx: Ctx, password: str | None = None) -> None:
    tp: Trustpoint = ctx.context
    before = tp.config_lines()
    tp.password = None if ctx.negate else password
    _edited(ctx, tp, before)


@command(
    TRUSTPOINT,
    "[no] revocation-check [crl|none|ocsp]*",
    help="Revocation checking options|Revocation check by CRL|Ignore revocation check|"
    "Revocation check by OCSP",
    no_syntax="revocation-check [LINE$rest]",
)
def tp_revocation_check(ctx: Ctx, rest: str | None = None) -> None:
    tp: Trustpoint = ctx.context
    before = tp.config_lines()
    words = [w for w in ctx.keywords[1:] if w in ("crl", "none", "ocsp")]
    if not words and not ctx.negate:
        raise CommandError("% Incomplete command.\n")
    tp.revocation_check = [] if ctx.negate else words
    _edited(ctx, tp, before)


@command(
    TRUSTPOINT,
    "[no] rsakeypair WORD$label [<360-4096>$size]",
    help="Specify the key pair for enrollment|Key pair label|Key size",
    no_syntax="rsakeypair [LINE$rest]",
)
def tp_rsakeypair(
    ctx: Ctx, label: str | None = None, size: int | None = None, rest: str | None = None
) -> None:
    tp: Trustpoint = ctx.context
    before = tp.config_lines()
    tp.rsakeypair = None if ctx.negate else label
    tp.rsakeypair_size = None if ctx.negate else size
    _edited(ctx, tp, before)


@command(
    TRUSTPOINT,
    "[no] auto-enroll [<0-100>$percent [regenerate]]",
    help="Auto-enroll|Percent of lifetime at which to re-enroll|Generate a new key pair",
    no_syntax="auto-enroll [LINE$rest]",
)
def tp_auto_enroll(ctx: Ctx, percent: int | None = None, rest: str | None = None) -> None:
    tp: Trustpoint = ctx.context
    before = tp.config_lines()
    if ctx.negate:
        tp.auto_enroll = None
    else:
        text = "" if percent is None else str(percent)
        tp.auto_enroll = text + (" regenerate" if ctx.has("regenerate") else "")
    _edited(ctx, tp, before)
    if not ctx.session.booting:
        ctx.feature(Pki).changed(tp.name)  # the renewal timer follows the new setting


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
        pki.changed(name)
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
        ctx.feature(Pki).changed(chain.name)
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
    gone = [c for c in chain.certs if (c.kind, c.serial.upper()) == (kind, serial)]
    if not ctx.session.booting:
        answer = await ctx.yes_no("% Are you sure you want to remove the certificate [yes/no]: ")
        if not answer:
            return
        if gone:
            ctx.print("% Be sure to ask the CA administrator to revoke this certificate.")
    chain.certs = [c for c in chain.certs if c not in gone]
    pki = ctx.feature(Pki)
    pki.changed(chain.name)
    tp = pki.trustpoints.get(chain.name)
    if gone and tp is not None and tp.redundancy and not ctx.session.booting:
        line = f"no certificate {kind + ' ' if kind else ''}{gone[0].serial}"
        send_to_standby(ctx.router, [f"crypto pki certificate chain {chain.name}", line, "exit"])


_HEX = re.compile(r"^[0-9A-Fa-f\s]*$")


def hex_line(ctx: Ctx, line: str) -> None:
    """A line of hex mode: more certificate, or ``quit`` to finish it."""
    entry: HexEntry = ctx.context
    text = line.strip()
    if text.lower() == "quit":
        ctx.session.exit_mode()
        try:
            x509.load_der_x509_certificate(bytes(entry.data))
        except ValueError:
            raise CommandError("% Invalid certificate: not a DER X.509 certificate") from None
        entry.chain.put(ChainCert(entry.kind, entry.serial, bytes(entry.data)))
        ctx.feature(Pki).changed(entry.chain.name)
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


def rdn_lines(name: x509.Name, indent: str) -> list[str]:
    """A name as ``show crypto pki certificates`` prints it: one RDN a line (IOS-XE
    capture ``ipaddress=...+hostname=...`` / ``cn=...`` / ``ou=...``)."""
    return [f"{indent}{ios_dn_text(x509.Name([rdn]))}" for rdn in name.rdns] or [indent]


def certificate_block(
    router: Router, trustpoints: list[str], c: ChainCert, verbose: bool
) -> list[str]:
    cert = c.cert
    is_ca = c.kind == "ca"
    out = ["CA Certificate" if is_ca else "Certificate", "  Status: Available"]
    if verbose:
        out.append(f"  Version: {cert.version.value + 1}")
    out += [
        f"  Certificate Serial Number (hex): {serial_text(cert.serial_number)}",
        f"  Certificate Usage: {'Signature' if is_ca else 'General Purpose'}",
        "  Issuer: ",
        *rdn_lines(cert.issuer, "    "),
    ]
    if is_ca:
        out += ["  Subject: ", *rdn_lines(cert.subject, "    ")]
    else:
        out += ["  Subject:", *_identity_lines(cert.subject), *rdn_lines(cert.subject, "    ")]
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
    out.append(f"  Associated Trustpoints: {' '.join(trustpoints)} ")
    if c.stored:
        out.append(f"  Storage: nvram:{c.file_name}")
    return [*out, ""]


def _identity_lines(subject: x509.Name) -> list[str]:
    """``Name:``, ``IP Address:``, ``Serial Number:`` of a router certificate's subject."""
    out = []
    for oid, label in (
        (HOSTNAME_OID, "Name"),
        (ADDRESS_OID, "IP Address"),
        (NameOID.SERIAL_NUMBER, "Serial Number"),
    ):
        for attr in subject.get_attributes_for_oid(oid):
            out.append(f"    {label}: {attr.value}")
    return out


def pending_block(name: str, pending: PendingRequest) -> list[str]:
    """An enrollment the CA has not answered yet (reference §4.13, 3-space indent sic)."""
    out = ["Certificate", "  Subject:", f"    Name: {pending.name}"]
    if pending.serial_number:
        out.append(f"    Serial Number: {pending.serial_number}")
    return [
        *out,
        "   Status: Pending",
        "   Key Usage: General Purpose",
        f"   Certificate Request Fingerprint MD5: {pending.md5} ",
        f"   Certificate Request Fingerprint SHA1: {pending.sha1} ",
        f"   Associated Trustpoint: {name} ",
        "",
    ]


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
        elif isinstance(value, x509.SubjectAlternativeName):
            out.append("    X509v3 Subject Alternative Name:")
            out += [f"        {n.value}" for n in value]
    out.append("    Authority Info Access:")
    return out


def fingerprint_groups(raw: bytes) -> str:
    h = raw.hex().upper()
    return " ".join(h[i : i + 8] for i in range(0, len(h), 8))


def certificates_lines(pki: Pki, name: str | None, verbose: bool) -> list[str]:
    """Every certificate, chain by chain, the router's own first; a CA certificate that
    several trustpoints hold is shown once, naming them all (as IOS-XE captures show)."""
    holders: dict[bytes, list[str]] = {}
    for chain in pki.chains.values():
        for c in chain.certs:
            if c.kind == "ca":
                holders.setdefault(c.der, []).append(chain.name)
    out: list[str] = []
    shown: set[bytes] = set()
    names = [n for n in [*pki.chains, *pki.pending] if name is None or n == name]
    for tp_name in dict.fromkeys(names):
        chain = pki.chains.get(tp_name) or Chain(tp_name)
        pending = pki.pending.get(tp_name)
        if pending is not None and chain.find("") is None:
            out += pending_block(tp_name, pending)
        for c in chain.certs:
            if c.kind != "ca":
                out += certificate_block(pki.router, [tp_name], c, verbose)
            elif c.der not in shown:
                shown.add(c.der)
                out += certificate_block(pki.router, holders[c.der], c, verbose)
    return out


@command(
    EXEC,
    "show crypto pki certificates [WORD$name] [verbose]",
    help="|Encryption module|Public Key components|Show certificates|Trustpoint name|"
    "Display extended certificate information",
    priv=1,
)
def show_certificates(ctx: Ctx, name: str | None = None) -> None:
    ctx.print(*certificates_lines(ctx.feature(Pki), name, ctx.has("verbose")))


def _cert_status_lines(title: str, cert: x509.Certificate) -> list[str]:
    der = cert.public_bytes(serialization.Encoding.DER)
    return [
        f"  {title} certificate configured:",
        "    Subject Name:",
        f"     {ios_dn_text(cert.subject)}",
        f"    Fingerprint MD5: {fingerprint(der, 'md5')} ",
        f"    Fingerprint SHA1: {fingerprint(der, 'sha1')} ",
    ]


def trustpoint_status_lines(pki: Pki, tp: Trustpoint) -> list[str]:
    """``show crypto pki trustpoints status`` for one trustpoint (real IOS-XE layout,
    uneven dot leaders as captured)."""
    from iosemu.features.pki.keys import Keys

    out = [f"Trustpoint {tp.name}:"]
    ca = pki.ca_certificate(tp.name)
    if ca is not None:
        out += _cert_status_lines("Issuing CA", ca)
    own = pki.router_certificate(tp.name)
    if own is not None:
        out += _cert_status_lines("Router General Purpose", own)
    pair = pki.router.feature(Keys).get(pki.key_label(tp))
    if pair is None:
        generated = "No"
    else:
        export = "exportable" if pair.exportable else "non-exportable"
        generated = f"Yes (General Purpose, {export})"
    if own is not None:
        requests = "Yes"
    elif tp.name in pki.pending:
        requests = "Pending"  # our word: no capture of a pending trustpoint's status
    else:
        requests = "None"
    return [
        *out,
        "  State:",
        f"    Keys generated ............. {generated}",
        f"    Issuing CA authenticated ....... {'Yes' if ca else 'No'}",
        f"    Certificate request(s) ..... {requests}",
        "",
    ]


@command(
    EXEC,
    "show crypto pki trustpoints [WORD$name] [status]",
    help="|||Show trustpoints|Trustpoint name|Show trustpoint status",
    priv=1,
)
def show_trustpoints(ctx: Ctx, name: str | None = None) -> None:
    pki = ctx.feature(Pki)
    for tp in pki.trustpoints.values():
        if name is not None and tp.name != name:
            continue
        if ctx.has("status"):
            ctx.print(*trustpoint_status_lines(pki, tp))
            continue
        ca = pki.ca_certificate(tp.name)
        ctx.print(f"Trustpoint {tp.name}:")
        if ca is not None:
            ctx.print(
                "    Subject Name: ",
                f"    {ios_dn_text(ca.subject)}",
                f"          Serial Number (hex): {serial_text(ca.serial_number)}",
                "    Certificate configured.",
            )
        else:
            ctx.print("    Not authenticated.")  # from memory of IOS; not captured
        if tp.scep_url:
            ctx.print(f"    SCEP URL: {tp.scep_url}")
        ctx.print("", "")
