"""The IOS certificate server: ``crypto pki server NAME`` and everything around it.

The server is configured in ``cs-server`` mode and started with ``no shutdown`` (or
``crypto pki server NAME start``). The first start asks for the archive passphrase,
generates the CA key pair (label = server name), the self-signed CA certificate (serial 1)
and the server's trustpoint and chain, writes the serial file, the CRL and the archive to
the database, and enables the server. Later starts only check: the HTTP server is on, the
clock can be trusted, the key is there, the CA certificate is valid on this router's
clock. A server that fails a check is "check failed" and tries again when the thing it
waited for changes (``ip http server``, ``clock set``, ``no shutdown``).

While running, the server's configuration is locked; ``shutdown`` unlocks it. Settings
baked into the CA certificate can never change once it exists.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from iosemu.device.filesystem import FileSystemError
from iosemu.device.logging import DebugFlag
from iosemu.device.router import Feature, Router
from iosemu.features.logging import declare_debug
from iosemu.features.pki.ca import (
    CaSettings,
    CertificateAuthority,
    Change,
    DatabaseError,
    Issued,
    Request,
    subject_text,
)
from iosemu.features.pki.keys import KeyPair, Keys, new_key
from iosemu.features.pki.objects import (
    cert_der,
    fingerprint,
    hash_name,
    hex_groups,
    ios_dn_text,
    ios_name,
    make_ca_cert,
    parse_dn,
    spki_der,
    verify_signed_by,
)
from iosemu.features.pki.store import (
    Database,
    StoreError,
    check_url,
    journal_request,
    journal_serial,
    parse_serial_file,
    serial_file,
)
from iosemu.features.pki.trustpoint import ChainCert, Pki, serial_text
from iosemu.parser.grammar import CONFIG, EXEC, command
from iosemu.session import RAW_HANDLERS, CommandError, Ctx, config_mode

if TYPE_CHECKING:
    from iosemu.features.pki.ha import PkiHa
    from iosemu.features.pki.scep import ScepEvent

log = logging.getLogger("iosemu.pki.server")

DEFAULT_KEY_BITS = 1024
MIN_PASSPHRASE = 8
LOCKED = '% Server\'s configuration is locked. Enter "shut" to unlock it.'  # invented text
FROZEN = "%Some server settings cannot be changed after CA certificate generation."

DEBUG_SERVER = DebugFlag("pki.server", "Crypto PKI", "Crypto PKI Certificate Server")
DEBUG_TRANSACTIONS = DebugFlag("pki.transactions", "Crypto PKI", "Crypto PKI Trans")
DEBUG_MESSAGES = DebugFlag("pki.messages", "Crypto PKI", "Crypto PKI Msg")
DEBUG_API = DebugFlag("pki.api", "Crypto PKI", "Crypto PKI API")

STATUS_HTTP = "HTTP Server is disabled"
STATUS_TIME = "Time has not been set"
STATUS_CERT = "Failed to validate selfsigned CA certificate"
STATUS_KEY = "Server key not found, waiting for (offline) key"

DB_LEVEL_TEXT = {
    "minimum": "Minimum - no cert data written to storage",
    "names": "Names - all issued certs subject name written as <serialnum>.cnm",
    "complete": "Complete - all issued certs written as <serialnum>.cer",
}


@dataclass
class ServerConfig:
    """What ``cs-server`` mode holds."""

    name: str
    database_level: str = "minimum"
    database_url: str | None = None
    database_urls: dict[str, tuple[str, bool]] = field(
        default_factory=dict
    )  # kind -> (url, publish)
    archive: str | None = "pkcs12"  # None: "no database archive"
    archive_password: str | None = None
    archive_configured: bool = False
    issuer_name: str | None = None
    grant: str = "manual"
    lifetime_certificate: int | None = None
    lifetime_ca_certificate: int | None = None
    lifetime_crl: int | None = None
    lifetime_enrollment_request: int | None = None
    hash: str | None = None
    cdp_url: str | None = None
    redundancy: bool = False
    shutdown: bool = True

    def lines(self) -> list[str]:
        """The block's lines in IOS's order (running-config; `show` adds its own)."""
        out = []
        if self.redundancy:
            out.append(" redundancy")
        if self.database_level != "minimum":
            out.append(f" database level {self.database_level}")
        if self.database_url:
            out.append(f" database url {self.database_url}")
        for kind, (url, publish) in sorted(self.database_urls.items()):
            out.append(f" database url {kind} {url}{' publish' if publish else ''}")
        if self.archive is None:
            out.append(" no database archive")
        elif self.archive_configured:
            words = f" database archive {self.archive}"
            if self.archive_password:
                words += f" password {self.archive_password}"
            out.append(words)
        if self.issuer_name:
            out.append(f" issuer-name {self.issuer_name}")
        if self.grant != "manual":
            out.append(f" grant {self.grant}")
        for word, value in (
            ("certificate", self.lifetime_certificate),
            ("ca-certificate", self.lifetime_ca_certificate),
            ("crl", self.lifetime_crl),
            ("enrollment-request", self.lifetime_enrollment_request),
        ):
            if value is not None:
                out.append(f" lifetime {word} {value}")
        if self.hash:
            out.append(f" hash {self.hash}")
        if self.cdp_url:
            out.append(f" cdp-url {self.cdp_url}")
        if self.shutdown:
            out.append(" shutdown")
        return out

    def ca_settings(self) -> CaSettings:
        return CaSettings(
            grant=self.grant if self.grant != "ra-auto" else "auto",
            lifetime_certificate=self.lifetime_certificate or 365,
            lifetime_crl=self.lifetime_crl or 6,
            lifetime_enrollment_request=self.lifetime_enrollment_request or 168,
            hash=self.hash or "md5",
            cdp_url=self.cdp_url,
        )

    @property
    def issuer(self) -> x509.Name:
        return parse_dn(self.issuer_name) if self.issuer_name else ios_name(self.name)

    @property
    def issuer_text(self) -> str:
        return self.issuer_name or f"CN={self.name}"


class CertificateServer(Feature):
    """The router's certificate server (IOS runs one per router)."""

    def __init__(self, router: Router) -> None:
        super().__init__(router)
        self.configured: ServerConfig | None = None  # None: no ``crypto pki server``
        self.state = "initial"  # initial, enabled, check failed, disabled
        self.status = ""  # why it is not enabled
        self.ca: CertificateAuthority | None = None
        self._crl_timer: asyncio.TimerHandle | None = None
        self._started = False
        self._cached = False  # the CA key is in the public key cache (debug api)
        # The last serial this boot, by CA certificate: a start that finds no serial file
        # (a new ``database url``) must not hand out serials again.
        self._last_serial: tuple[bytes, int] | None = None
        # Journal lines appended to the serial file since it was last rewritten whole.
        self._journaled = 0

    # --- helpers -------------------------------------------------------------------------

    @property
    def name(self) -> str:
        assert self.configured is not None
        return self.configured.name

    @property
    def locked(self) -> bool:
        return self.configured is not None and not self.configured.shutdown

    @property
    def enabled(self) -> bool:
        return self.state == "enabled"

    def database(self) -> Database:
        assert self.configured is not None
        per_kind = {kind: url for kind, (url, _) in self.configured.database_urls.items()}
        return Database(self.router, self.configured.database_url or "nvram:", per_kind)

    def debug(self, text: str) -> None:
        if self.router.log.debugging(DEBUG_SERVER.key):
            self.router.log.debug(f"CRYPTO_CS: {text}")

    def ca_cert(self) -> x509.Certificate | None:
        return self.router.feature(Pki).ca_certificate(self.name) if self.configured else None

    def scep_ca(self) -> CertificateAuthority | None:
        """The CA SCEP requests go to: None unless enabled (and active, with redundancy)."""
        return self.ca if self.enabled and self.serving() else None

    def serving(self) -> bool:
        """True on a router without ``redundancy`` and on the active unit of a pair; False
        on the standby and while a booting unit waits to learn its role (its serial may
        be behind its peer's until a bulk sync)."""
        if self.configured is None or not self.configured.redundancy:
            return True
        from iosemu.features.redundancy import Redundancy

        return self.router.feature(Redundancy).role == "active"

    # --- configuration ---------------------------------------------------------------------

    def config(self, slot: str) -> list[str]:
        if slot != "crypto-servers" or self.configured is None:
            return []
        return [f"crypto pki server {self.name}", *self.configured.lines()]

    # --- life cycle ----------------------------------------------------------------------

    def started(self) -> None:
        self._started = True
        from iosemu.features.http import Http
        from iosemu.features.pki.scep import install_scep

        self.router.feature(Http).listeners.append(self.http_changed)
        # The HTTP routes are rebuilt with the router at every boot: install SCEP each time.
        install_scep(self.router, self.scep_ca, observer=self._scep_event)
        if self.configured is not None and not self.configured.shutdown:
            self.router.spawn(self.start(None), "cs-start")

    def _scep_event(self, event: ScepEvent) -> None:
        """``debug crypto pki server`` lines for what the SCEP service did."""
        self.debug(f"received a SCEP {event.operation} request")
        if event.status == "PENDING":
            self.debug("enrollment request for this client is pending")
        elif event.status == "FAILURE":
            self.debug(f"request failed, failInfo {event.fail_info}")

    def stopped(self) -> None:
        self._started = False
        if self._crl_timer is not None:
            self._crl_timer.cancel()

    def http_changed(self, on: bool = True, signal: str | None = None) -> None:
        """``ip http server`` changed: a server waiting for it tries again, or stops."""
        if self.configured is None or self.configured.shutdown:
            return
        if not on and self.enabled:
            self.stop()
            self._fail(STATUS_HTTP)
        elif self.state == "check failed":
            self.router.spawn(self.start(None, signal), "cs-recheck")

    def clock_set(self) -> None:
        self.http_changed(signal="time set")

    def _http_enabled(self) -> bool:
        from iosemu.features.http import Http

        return self.router.feature(Http).enabled

    def _fail(self, reason: str) -> None:
        self.state = "check failed"
        self.status = reason
        self.debug("exit FSM: new state check failed")
        self.debug("cs config has been locked")

    def _cachekey(self, pair: KeyPair | None) -> None:
        """``debug crypto pki api``: the CA key enters the public key cache (again)."""
        if pair is None or not self.router.log.debugging(DEBUG_API.key):
            return
        first = " ".join(hex_groups(spki_der(pair.key))[:4])
        if self._cached:
            self.router.log.debug(
                f"CRYPTO_PKI_API:cachekey: RSA Public Session Keys: expired key:\n{first}..."
            )
        self.router.log.debug(
            f"CRYPTO_PKI_API:cachekey: RSA Public Session Keys: added key:\n{first}..."
        )
        self._cached = True

    def _checks(self) -> str:
        """Why the server cannot run now ("" when it can), in the order IOS checks.

        With ``debug crypto pki server`` it says what it looks at, as the guide shows."""
        assert self.configured is not None
        if not self._http_enabled():
            return STATUS_HTTP
        clock = self.router.clock
        if not clock.authoritative:
            if not self.router.has_calendar:
                return STATUS_TIME
            self.debug("clock is not set but calendar is supported.")
        cert = self.ca_cert()
        if cert is None:
            return ""  # the first start: nothing to check yet
        database = self.database()
        where = "nvram" if database.primary.url.startswith("nvram") else "network"
        self.debug(f"{where} filesystem")
        if database.read("ser", f"{self.name}.ser") is not None:
            self.debug(f"file opened: {self._file_url(database, 'ser')}")
            self.debug("closed ser file")
            self.debug("found existing serial file.")
        pair = self.router.feature(Keys).get(self.name)
        if pair is None:
            return STATUS_KEY
        self._cachekey(pair)
        now = clock.utc()
        if spki_der(pair.key) != spki_der(cert.public_key()) or not (  # type: ignore[arg-type]
            cert.not_valid_before_utc <= now <= cert.not_valid_after_utc
        ):
            # IOS blames the keys whatever the reason (the guide's clock case prints this).
            self.debug("The configured CA cert is invalid -no matching keys?")
            return STATUS_CERT
        return ""

    def _file_url(self, database: Database, kind: str) -> str:
        url = database.location(kind).url
        return f"{url if url.endswith(':') else url.rstrip('/') + '/'}{self.name}.{kind}"

    async def start(self, ctx: Ctx | None, signal: str | None = None) -> None:
        """``no shutdown``: the first start creates the CA; every start runs the checks.

        ``signal`` is the event that asked for it (``no shut``, ``time set``), for the
        state machine's debug lines."""
        assert self.configured is not None
        if signal is not None:
            self.debug(f"input signal enqueued: {signal}")
            self.debug(f"enter FSM: input state {self.state}, input signal {signal}")
        self.debug("SCEP server stopped")
        self.debug("starting enabling checks")
        first = self.ca_cert() is None
        if first and ctx is not None:
            if not await self._first_start(ctx):
                return
        elif first:
            self._fail(STATUS_KEY if self.router.feature(Keys).get(self.name) else STATUS_CERT)
            return
        if self.router.feature(Keys).get(self.name) is not None:
            self._temporary_key()  # with the server's key, even if a check fails (the guide)
        reason = self._checks()
        if reason:
            if reason == STATUS_TIME and ctx is not None:
                ctx.print("% Time has not been set. Cannot start the Certificate server")
            self._fail(reason)
            return
        cert = self.ca_cert()
        assert cert is not None
        if not first:
            expiry = self.router.clock.short_stamp(cert.not_valid_after_utc)
            self.debug(f"started CA cert timer, expiration time is {expiry}")
            self.debug(f"Using existing trustpoint '{self.name}' and CA certificate")
        self._store_ca_cert()
        if first:
            await self.ha().ca_created(self.name)
        if not self._load_database():
            return
        self._cachekey(self.router.feature(Keys).get(self.name))
        if self.crl_stale() and self.active_unit():
            assert self.ca is not None
            await self.ca.regenerate_crl()
        self.state = "enabled"
        self.status = ""
        self._schedule_crl()
        self.debug("shadow not configured; look for shadow cert")
        self.debug("failed to find shadow cert in the db")
        self.debug("SCEP server started")
        if ctx is not None and first:
            ctx.print("% Certificate Server enabled.")
        # The guide's active sends "start" just before it logs CS_ENABLED, "no shut" after.
        ha = self.ha()
        await ha.server_started(self.name)
        self.router.log.log("PKI", 6, "CS_ENABLED", "Certificate server now enabled.")
        self.debug("exit FSM: new state enabled")
        self.debug("cs config has been locked")
        await ha.server_started_tail()

    def active_unit(self) -> bool:
        """Only the unit that serves makes CRLs; a standby takes its active's."""
        return self.serving()

    def _store_ca_cert(self) -> None:
        """The CA certificate is a file of the server's (``nvram:PKI-HA#1CA.cer``), on the
        standby too: ``show crypto pki certificates`` names it, as in the guide."""
        chain = self.router.feature(Pki).chains.get(self.name)
        found = chain.find("ca") if chain is not None else None
        if found is None or found.stored:
            return
        try:
            self.router.nvram.write(found.file_name, found.der)
            found.stored = True
        except FileSystemError as e:
            log.warning("%s: cannot store the CA certificate: %s", self.router.name, e)

    def _temporary_key(self) -> None:
        """``NAME.server``, the HTTP server's 768-bit key: one per router, made at start."""
        keys = self.router.feature(Keys)
        label = f"{self.name}.server"
        if keys.get(label) is None:
            temporary = KeyPair(label, new_key(self.router, 768), self.router.clock.utc())
            temporary.temporary = True
            keys.add(temporary)

    async def _first_start(self, ctx: Ctx) -> bool:
        """The dialog and the making of the CA; False when aborted or failed."""
        assert self.configured is not None
        ctx.print(FROZEN)
        config = self.configured
        passphrase = config.archive_password
        if config.archive is not None and passphrase is None:
            ctx.print(
                "% Please enter a passphrase to protect the private key",
                "% or type Return to exit",
                "",
            )
            first = await ctx.ask("Password: ", echo=False)
            if not first:
                ctx.print("% Aborted.")
                config.shutdown = True
                return False
            if len(first) < MIN_PASSPHRASE:
                ctx.print(
                    f"% Passphrase must be at least {MIN_PASSPHRASE} characters long."
                )  # invented
                config.shutdown = True
                return False
            again = await ctx.ask("Re-enter password: ", echo=False)
            if again != first:
                ctx.print("% Passphrases do not match.")  # invented
                config.shutdown = True
                return False
            passphrase = first
        reason = self._checks()
        if reason == STATUS_TIME:
            ctx.print("% Time has not been set. Cannot start the Certificate server")
            self._fail(reason)
            return False
        keys = self.router.feature(Keys)
        pair = keys.get(self.name)
        if pair is None:
            ctx.print(
                f"% Generating {DEFAULT_KEY_BITS} bit RSA keys, keys will be non-exportable..."
            )
            await ctx.session.terminal.drain()
            pair, elapsed = await keys.generate(
                self.name, DEFAULT_KEY_BITS, False, config.redundancy
            )
            ctx.print(f"[OK] (elapsed time was {elapsed} seconds)", "")
        elif pair.exportable and config.archive is not None:
            ctx.print("% Exporting Certificate Server signing certificate and keys...", "")
        self._make_ca(pair, passphrase)
        return True

    def _make_ca(self, pair: KeyPair, passphrase: str | None) -> None:
        """Key pair, certificate, trustpoint, chain, archive: what the first start leaves."""
        assert self.configured is not None
        config = self.configured
        pki = self.router.feature(Pki)
        if config.name not in pki.trustpoints:
            if self.router.log.debugging(DEBUG_TRANSACTIONS.key):
                self.router.log.debug(f"CRYPTO_PKI: Creating trustpoint {config.name}")
            tp = pki.trustpoint(config.name)
            tp.redundancy = config.redundancy
            tp.revocation_check = ["crl"]
            tp.rsakeypair = config.name
        now = self.router.clock.utc().replace(microsecond=0)
        cert = make_ca_cert(
            pair.key,
            config.issuer,
            now,
            config.lifetime_ca_certificate or 1095,
            config.hash or "md5",
        )
        pki.chain(config.name).put(ChainCert("ca", serial_text(1), cert_der(cert)))
        self._temporary_key()
        database = self.database()
        try:
            if config.archive == "pkcs12" and passphrase:
                data = pkcs12.serialize_key_and_certificates(
                    config.name.encode(),
                    pair.key,
                    cert,
                    None,
                    serialization.BestAvailableEncryption(passphrase.encode()),
                )
                database.write("p12", f"{config.name}.p12", data)
            elif config.archive == "pem" and passphrase:
                data = pair.key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.BestAvailableEncryption(passphrase.encode()),
                ) + cert.public_bytes(serialization.Encoding.PEM)
                database.write("pem", f"{config.name}.pem", data)
            database.write("ser", f"{config.name}.ser", serial_file(1, []))
        except StoreError as e:
            log.warning("%s: cannot write the CA archive: %s", self.router.name, e)

    # --- the database ----------------------------------------------------------------------

    def _load_database(self) -> bool:
        """Build the CA from the key, the certificate and the database files."""
        assert self.configured is not None
        cert = self.ca_cert()
        pair = self.router.feature(Keys).get(self.name)
        assert cert is not None and pair is not None
        database = self.database()
        ca = CertificateAuthority(
            pair.key, cert, self.router.clock.utc, self.configured.ca_settings()
        )
        raw = database.read("ser", f"{self.name}.ser")
        if raw is not None:
            self.debug(f"file opened: {self._file_url(database, 'ser')}")
            try:
                ca.serial, records = parse_serial_file(raw)
            except ValueError:
                self._fail(STATUS_CERT)
                return False
            self.debug("DB version 1")
            self.debug(f"last issued serial number is 0x{ca.serial:X}")
            self.debug("closed ser file")
            for r in records:
                request = Request(
                    int(r["id"]),  # type: ignore[arg-type]
                    str(r["tx"]),
                    bytes.fromhex(str(r["csr"])),
                    dt.datetime.fromisoformat(str(r["received"])),
                    str(r["state"]),
                    int(r["serial"]) if r.get("serial") is not None else None,  # type: ignore[arg-type]
                )
                ca.requests[request.id] = request
                ca.next_request_id = max(ca.next_request_id, request.id + 1)
        last = self._last_serial
        raised = False
        if last is not None and last[0] == cert_der(cert) and last[1] > ca.serial:
            ca.serial, raised = last[1], True
        # Start from a compacted file: the journal folded in, a torn last line dropped.
        compacted = serial_file(ca.serial, _records(ca))
        if raised or (raw is not None and raw != compacted):
            try:
                database.write("ser", f"{self.name}.ser", compacted)
            except StoreError as e:
                log.warning("%s: cannot write the serial file: %s", self.router.name, e)
        self._journaled = 0
        crl = database.read("crl", f"{self.name}.crl")
        if crl is not None:
            self.debug(f"file opened: {self._file_url(database, 'crl')}")
            try:
                loaded = x509.load_der_x509_crl(crl)
                # A CRL left by an earlier CA of the same name is not ours: make a new one.
                if _crl_signed_by(loaded, cert):
                    ca.crl_der = crl
                    ca.crl_this_update = loaded.last_update_utc
                    ca.revoked = [(r.serial_number, r.revocation_date_utc) for r in loaded]
                    self.debug(f"CRL file {self.name}.crl exists.")
                    self.debug(f"Read {len(crl)} bytes from crl file.")
            except ValueError:
                pass
            self.debug("closed crl file")
        for name in database.location("crt").names():
            if name.endswith(".crt"):
                data = database.read("crt", name)
                try:
                    issued = x509.load_der_x509_certificate(data or b"")
                except ValueError:
                    continue
                if issued.issuer == cert.subject:
                    ca.issued[issued.serial_number] = Issued(issued.serial_number, data or b"")
        ca.commit_hooks += [self._persist, self.ha().ca_changed]
        self.ca = ca
        return True

    def crl_stale(self) -> bool:
        ca = self.ca
        return ca is not None and (
            not ca.crl_der
            or (ca.crl_next_update is not None and ca.crl_next_update <= self.router.clock.utc())
        )

    def ha(self) -> PkiHa:
        from iosemu.features.pki.ha import PkiHa

        return self.router.feature(PkiHa)

    async def _persist(self, change: Change) -> None:
        """Every change of CA state reaches the database before anyone hears of it."""
        ca = self.ca
        if ca is None or self.configured is None:
            return
        database = self.database()
        try:
            if change.kind == "serial":
                self._journal(journal_serial(ca.serial))
            elif change.kind == "request" and change.request is not None:
                self._journal(_journal_line(change.request))
            if change.kind == "request" and change.request is not None and change.request.serial:
                self._write_issued(change.request.serial)
            if change.kind == "crl":
                database.write("crl", f"{self.name}.crl", ca.crl_der)
                self.debug("updated crl in memory ..")
                self._schedule_crl()
        except StoreError as e:
            log.warning("%s: database write failed: %s", self.router.name, e)
            if change.kind in ("serial", "request"):
                # Never hand out a serial or a certificate that a restart would forget.
                raise DatabaseError(str(e)) from None

    def stored_certificates(self) -> dict[int, x509.Certificate]:
        """The issued certificates in the database (``database level complete``)."""
        cert = self.ca_cert()
        if self.configured is None or cert is None:
            return {}
        if self.configured.database_level != "complete":
            return {}
        location = self.database().location("crt")
        found = {}
        try:
            names = location.names()
        except StoreError:
            return {}
        for name in names:
            if not name.endswith(".crt"):
                continue
            try:
                issued = x509.load_der_x509_certificate(location.read(name) or b"")
            except ValueError:
                continue
            if issued.issuer == cert.subject:
                found[issued.serial_number] = issued
        return found

    def _write_issued(self, serial: int) -> None:
        assert self.ca is not None and self.configured is not None
        cert = self.ca.certificate(serial)
        if cert is None:
            return
        database = self.database()
        if self.configured.database_level == "names":
            database.write("cnm", f"{serial:X}.cnm", (ios_dn_text(cert.subject) + "\n").encode())
        elif self.configured.database_level == "complete":
            database.write("crt", f"{serial:X}.crt", cert_der(cert))

    def _schedule_crl(self) -> None:
        if self._crl_timer is not None:
            self._crl_timer.cancel()
            self._crl_timer = None
        ca = self.ca
        if ca is None or ca.crl_next_update is None:
            return
        delay = max((ca.crl_next_update - self.router.clock.utc()).total_seconds(), 0.0)
        self._crl_timer = self.router.call_later(delay, self._crl_due)
        self.debug("set crl update timer.")

    def _crl_due(self) -> None:
        # A standby waits for its active's CRL; it makes its own only once it takes over.
        if self.ca is not None and self.enabled and self.active_unit():
            self.router.spawn(self.ca.regenerate_crl(), "cs-crl")

    async def took_over(self) -> None:
        """This unit became the active one: a CRL that fell due meanwhile is made now."""
        if self.ca is not None and self.enabled and self.crl_stale():
            await self.ca.regenerate_crl()

    # --- what the HA active sends ---------------------------------------------------------

    def install_serial(self, serial: int) -> None:
        """The peer's last serial. A running CA is never set back (the active only goes
        up); a stopped one takes the active's word, which a re-made CA restarts at 1."""
        if self.ca is not None:
            self.ca.serial = max(self.ca.serial, serial)
            self._journal(journal_serial(self.ca.serial))
            return
        records = []
        raw = self.database().read("ser", f"{self.name}.ser")
        if raw is not None:
            with contextlib.suppress(ValueError):
                records = parse_serial_file(raw)[1]
        self.database().write("ser", f"{self.name}.ser", serial_file(serial, records))

    def install_crl(self, der: bytes) -> None:
        crl = x509.load_der_x509_crl(der)
        self.database().write("crl", f"{self.name}.crl", der)
        if self.ca is not None:
            self.ca.crl_der = der
            self.ca.crl_this_update = crl.last_update_utc
            self.ca.revoked = [(r.serial_number, r.revocation_date_utc) for r in crl]
            self._schedule_crl()

    def install_request(
        self, number: int, state: str, serial: int | None, transaction: str, csr: bytes
    ) -> None:
        ca = self.ca
        if ca is None:
            return
        if state == "removed":
            request = ca.requests.pop(number, None)
            if request is None:
                return
            request.state = "removed"
        else:
            old = ca.requests.get(number)
            received = old.received if old else self.router.clock.utc()
            request = Request(number, transaction, csr, received, state, serial)
            ca.requests[number] = request
            ca.next_request_id = max(ca.next_request_id, number + 1)
        self._journal(_journal_line(request))

    def _journal(self, line: bytes) -> None:
        """Append one change to the serial file, which costs the same however many requests
        the CA holds; rewrite the file compacted instead when the journal has grown past the
        records it stands for (so rewrites stay rare and the file under about twice its
        compacted size), the file is missing or its last line torn, or the line does not
        fit (the compacted file may)."""
        ca = self.ca
        assert ca is not None
        name = f"{self.name}.ser"
        if self._journaled < len(ca.requests) + JOURNAL_SLACK:
            with contextlib.suppress(StoreError):
                if self.database().append("ser", name, line):
                    self._journaled += 1
                    return
        self.database().write("ser", name, serial_file(ca.serial, _records(ca)))
        self._journaled = 0

    def stop(self) -> None:
        """``shutdown``: stop serving, unlock the configuration."""
        if self._crl_timer is not None:
            self._crl_timer.cancel()
            self._crl_timer = None
        was_enabled = self.enabled
        self.state = "disabled"
        self.status = ""
        if self.ca is not None:
            self._last_serial = (self.ca.cert_der, self.ca.serial)
        self.ca = None
        self.debug("SCEP server stopped")
        if was_enabled:
            self.router.log.log("PKI", 6, "CS_DISABLED", "Certificate server now disabled.")

    # --- what show prints -------------------------------------------------------------------

    def show_lines(self) -> list[str]:
        assert self.configured is not None
        config = self.configured
        clock = self.router.clock
        if self.state == "enabled":
            status, state = "enabled", "enabled"
        elif self.state == "check failed":
            status, state = f"disabled, {self.status}", "check failed"
        else:
            status, state = "disabled", self.state
        out = [f"Certificate Server {config.name}:", f"    Status: {status}", f"    State: {state}"]
        if self.locked:
            out.append('    Server\'s configuration is locked  (enter "shut" to unlock it)')
        else:
            out.append('    Server\'s configuration is unlocked  (enter "no shut" to lock it)')
        out.append(f"    Issuer name: {config.issuer_text}")
        cert = self.ca_cert()
        # The fingerprint line ends with a space on IOS.
        print_fp = fingerprint(cert_der(cert)) + " " if cert else "-Not found-"
        out.append(f"    CA cert fingerprint: {print_fp}")
        out.append(
            f"    Granting mode is: {'auto' if config.grant in ('auto', 'ra-auto') else 'manual'}"
        )
        serial = self.ca.serial if self.ca else self._stored_serial()
        if cert is not None:
            out.append(f"    Last certificate issued serial number (hex): {serial:X}")
            if self.state == "check failed" and self.status == STATUS_CERT:
                expiry = "00:00:00 UTC Jan 1 1970"
            else:
                expiry = clock.short_stamp(cert.not_valid_after_utc)
            out.append(f"    CA certificate expiration timer: {expiry}")
        next_update = self._crl_next_update()
        if next_update is not None:
            out.append(f"    CRL NextUpdate timer: {clock.short_stamp(next_update)}")
        out.append(f"    Current primary storage dir: {config.database_url or 'nvram:'}")
        if "crl" in config.database_urls:
            out.append(f"    Current storage dir for .crl files: {config.database_urls['crl'][0]}")
        out.append(f"    Database Level: {DB_LEVEL_TEXT[config.database_level]}")
        if config.redundancy:
            role = "active" if self.serving() else "standby"
            out.append(f"    Redundancy configured. This is {role}.")
        return out

    def _crl_next_update(self) -> dt.datetime | None:
        """When the CRL falls due: the running CA's, else the stored CRL's (the guide's
        failed standby still shows it)."""
        if self.ca is not None:
            return self.ca.crl_next_update
        if self.ca_cert() is None:
            return None
        raw = self.database().read("crl", f"{self.name}.crl")
        try:
            crl = x509.load_der_x509_crl(raw) if raw else None
        except ValueError:
            return None
        if crl is None:
            return None
        assert self.configured is not None
        hours = self.configured.lifetime_crl or 6
        return crl.last_update_utc + dt.timedelta(hours=hours)

    def _stored_serial(self) -> int:
        raw = self.database().read("ser", f"{self.name}.ser")
        if raw is None:
            return 1 if self.ca_cert() is not None else 0
        try:
            return parse_serial_file(raw)[0]
        except ValueError:
            return 0

    def mode_show_lines(self) -> list[str]:
        """``show`` inside cs-server mode: the full internal view, defaults included."""
        assert self.configured is not None
        c = self.configured
        serial = self.ca.serial if self.ca else self._stored_serial()
        out = []
        if c.redundancy:
            out.append(" redundancy")
        out += [f" serial-number 0x{serial:X}", f" database level {c.database_level}"]
        if c.database_url:
            out.append(f" database url {c.database_url}")
        if c.archive is None or not c.archive_configured:
            out.append(" no database archive")
        else:
            out.append(f" database archive {c.archive}")
        out.append(f" issuer-name {c.issuer_text}")
        if c.grant != "manual":
            out.append(f" grant {c.grant}")
        out += [
            f" lifetime crl {c.lifetime_crl or 6}",
            f" lifetime certificate {c.lifetime_certificate or 365}",
            f" lifetime ca-certificate {c.lifetime_ca_certificate or 1095}",
            f" lifetime enrollment-request {c.lifetime_enrollment_request or 168}",
        ]
        if c.hash:
            out.append(f" hash {c.hash}")
        if c.cdp_url:
            out.append(f" cdp-url {c.cdp_url}")
        return out


def _crl_signed_by(crl: x509.CertificateRevocationList, cert: x509.Certificate) -> bool:
    """The CRL's signature checks out under ``cert`` (SHA-1 and MD5 too)."""
    try:
        alg = hash_name(crl.signature_hash_algorithm)
    except Exception:  # an algorithm cryptography will not even name
        return False
    public_key = cert.public_key()
    return isinstance(public_key, rsa.RSAPublicKey) and verify_signed_by(
        crl.tbs_certlist_bytes, crl.signature, alg, public_key
    )


# Journal lines allowed past the request count before the serial file is compacted.
JOURNAL_SLACK = 64


def _record(r: Request) -> dict[str, object]:
    """A request as the serial file keeps it."""
    return {
        "id": r.id,
        "tx": r.transaction_id,
        "csr": r.csr_der.hex(),
        "received": r.received.isoformat(),
        "state": r.state,
        "serial": r.serial,
    }


def _records(ca: CertificateAuthority) -> list[dict[str, object]]:
    return [_record(r) for r in ca.requests.values()]


def _journal_line(r: Request) -> bytes:
    # A removed request needs no more than its number.
    return journal_request({"id": r.id, "state": "removed"} if r.state == "removed" else _record(r))


def requests_lines(ca: CertificateAuthority | None) -> list[str]:
    header = ["ReqID  State      Fingerprint                      SubjectName", "-" * 62]
    rows = []
    if ca is not None:
        ca.expire_requests()
        for request in sorted(ca.requests.values(), key=lambda r: -r.id):
            subject = subject_text(request.csr)
            rows.append(f"{request.id:<6} {request.state:<10} {request.fingerprint:<32} {subject}")
    return [
        "Enrollment Request Database:",
        "",
        "Subordinate CA certificate requests:",
        *header,
        "",
        "RA certificate requests:",
        *header,
        "",
        "Router certificates requests:",
        *header,
        *rows,
        "",
    ]


def crl_lines(server: CertificateServer) -> list[str]:
    ca = server.ca
    if ca is None or not ca.crl_der:
        return ["% CRL not available"]  # invented text
    clock = server.router.clock
    crl = ca.crl
    out = [
        "Certificate Revocation List:",
        f"    Issuer: {ios_dn_text(crl.issuer)}",
        f"    This Update: {clock.short_stamp(crl.last_update_utc)}",
        f"    Next Update: {clock.short_stamp(crl.next_update_utc)}" if crl.next_update_utc else "",
        f"    Number of CRL entries: {len(list(crl))}",
        f"    CRL size: {len(ca.crl_der)} bytes",
    ]
    for entry in crl:
        out += [
            f"    Serial Number (hex): {serial_text(entry.serial_number)}",
            f"    Revocation Date: {clock.short_stamp(entry.revocation_date_utc)}",
        ]
    return [line for line in out if line]


# --------------------------------------------------------------------------- commands

CS_SERVER = config_mode("crypto-cs-server", "(cs-server)")


def _server(ctx: Ctx) -> CertificateServer:
    return ctx.feature(CertificateServer)


def _synced(ctx: Ctx) -> None:
    """A setting changed on the active: the standby gets the server block again."""
    server = _server(ctx)
    if server.configured is not None and server.configured.redundancy:
        ctx.router.spawn(server.ha().server_changed(), "pki-ha")


def _config(ctx: Ctx, *, frozen: bool = False) -> ServerConfig:
    """The server's configuration, refused while locked (or for good, once the CA exists)."""
    server = _server(ctx)
    assert server.configured is not None
    if frozen and server.ca_cert() is not None and not ctx.session.booting:
        raise CommandError(FROZEN)
    if server.locked and not ctx.session.booting:
        raise CommandError(LOCKED)
    return server.configured


@command(
    CONFIG,
    "[no] crypto pki server WORD$name",
    help="||Enable IOS Certificate server|Name of the certificate server",
    no_syntax="crypto pki server WORD$name",
)
async def crypto_pki_server(ctx: Ctx, name: str) -> None:
    server = _server(ctx)
    if ctx.negate:
        if server.configured is None or server.configured.name != name:
            return
        if not ctx.session.booting:
            ctx.print(
                "%Certificate server and related configuration will be removed.",  # invented
            )
            if not await ctx.yes_no("Are you sure you want to do this? [yes/no]: "):
                raise CommandError("")  # declined: nothing changed
        redundant = server.configured.redundancy
        server.stop()
        pki = ctx.feature(Pki)
        pki.trustpoints.pop(name, None)
        pki.chains.pop(name, None)
        server.configured = None
        server.state = "initial"
        if redundant:
            ctx.router.spawn(server.ha().server_removed(name), "pki-ha")
        return
    if server.configured is None:
        server.configured = ServerConfig(name)
        if ctx.session.booting:
            server.configured.shutdown = False  # a saved running server has no "shutdown" line
    elif server.configured.name != name:
        raise CommandError(f"% Certificate server {server.configured.name} is already configured")
    ctx.enter(CS_SERVER, server)


@command(CS_SERVER, "[no] shutdown", help="Shutdown the Certificate Server")
async def cs_shutdown(ctx: Ctx) -> None:
    server = _server(ctx)
    config = server.configured
    assert config is not None
    if ctx.session.booting:
        config.shutdown = not ctx.negate
        return
    if not ctx.negate:
        if config.shutdown:
            return
        config.shutdown = True
        ctx.print("Certificate server 'shut' event has been queued for processing.")
        server.stop()
        ctx.router.spawn(server.ha().server_stopped(config.name), "pki-ha")
        return
    if not config.shutdown and server.enabled:
        return
    first = server.ca_cert() is None
    config.shutdown = False
    if not first:
        ctx.print("Certificate server 'no shut' event has been queued for processing.")
        server.router.spawn(server.start(None, "no shut"), "cs-start")
        return
    await server.start(ctx, "no shut")


@command(CS_SERVER, "show", help="Show current Certificate Server configuration")
def cs_show(ctx: Ctx) -> None:
    ctx.print(*_server(ctx).mode_show_lines())


@command(
    CS_SERVER,
    "[no] database level {minimum|names|complete}$level",
    help="Configure Certificate Server database parameters|Database level|"
    "Minimum information saved|Subject names of issued certificates saved|"
    "Issued certificates saved",
    no_syntax="database level",
)
def cs_database_level(ctx: Ctx, level: str = "minimum") -> None:
    _config(ctx).database_level = "minimum" if ctx.negate else level
    _synced(ctx)


@command(
    CS_SERVER,
    "[no] database url [cnm|crl|crt|p12|pem|ser]$kind WORD$url [publish]",
    help="|Database location|Subject names file|CRL file|Issued certificates|PKCS12 archive|"
    "PEM archive|Serial file|URL|Publish to the URL as well",
    no_syntax="database url [cnm|crl|crt|p12|pem|ser]$kind",
)
def cs_database_url(ctx: Ctx, kind: str | None = None, url: str | None = None) -> None:
    config = _config(ctx)
    if ctx.negate:
        if kind is None:
            config.database_url = None
        else:
            config.database_urls.pop(kind, None)
        _synced(ctx)
        return
    assert url is not None
    try:
        check_url(url)
    except StoreError as e:
        raise CommandError(str(e)) from None
    if kind is None:
        config.database_url = url
    else:
        config.database_urls[kind] = (url, ctx.has("publish"))
    _synced(ctx)


@command(
    CS_SERVER,
    "[no] database archive {pkcs12|pem}$format [password LINE$password]",
    help="|Archive the CA key and certificate|PKCS12 format|PEM format|"
    "Password to encrypt the archive|password",
    no_syntax="database archive",
)
def cs_database_archive(ctx: Ctx, format: str = "pkcs12", password: str | None = None) -> None:
    config = _config(ctx)
    if ctx.negate:
        config.archive = "pkcs12" if ctx.default else None
        config.archive_configured = False
        config.archive_password = None
        return
    config.archive = format
    config.archive_configured = True
    config.archive_password = password


@command(CS_SERVER, "[no] issuer-name LINE$name", help="Issuer name|issuer name string")
def cs_issuer_name(ctx: Ctx, name: str | None = None) -> None:
    config = _config(ctx, frozen=True)
    if ctx.negate:
        config.issuer_name = None
        return
    assert name is not None
    try:
        parse_dn(name)
    except ValueError:
        raise CommandError("% Invalid issuer name") from None  # invented
    config.issuer_name = name


@command(
    CS_SERVER,
    "[no] grant {auto|none|ra-auto}$mode",
    help="Grant certificate requests|Automatically grant incoming SCEP enrollment requests|"
    "Automatically reject any incoming SCEP enrollment request|"
    "Automatically grant incoming SCEP enrollment requests from a registration authority",
    no_syntax="grant [auto|none|ra-auto]",
)
def cs_grant(ctx: Ctx, mode: str = "manual") -> None:
    config = _config(ctx)
    config.grant = "manual" if ctx.negate else mode
    _synced(ctx)
    if config.grant == "auto" and not ctx.session.booting:
        ctx.router.log.log(
            "PKI", 6, "CS_GRANT_AUTO", "All enrollment requests will be automatically granted."
        )


@command(
    CS_SERVER,
    "[no] lifetime {certificate <1-1825>$days|ca-certificate <1-7305>$days|"
    "crl <1-336>$hours|enrollment-request <1-1000>$hours}",
    help="Lifetime parameters|Lifetime of issued certificates|days|"
    "Lifetime of the CA certificate|days|Next CRL update|hours|"
    "Lifetime of enrollment requests|hours",
    no_syntax="lifetime {certificate|ca-certificate|crl|enrollment-request}",
)
def cs_lifetime(ctx: Ctx, days: int | None = None, hours: int | None = None) -> None:
    kinds = ("certificate", "ca-certificate", "crl", "enrollment-request")
    what = next(w for w in ctx.keywords if w in kinds)
    config = _config(ctx, frozen=what == "ca-certificate")
    value = None if ctx.negate else (days if days is not None else hours)
    setattr(config, f"lifetime_{what.replace('-', '_')}", value)
    _synced(ctx)


@command(
    CS_SERVER,
    "[no] hash {md5|sha1|sha256|sha384|sha512}$alg",
    help="Hash algorithm|MD5|SHA-1|SHA-256|SHA-384|SHA-512",
    no_syntax="hash",
)
def cs_hash(ctx: Ctx, alg: str | None = None) -> None:
    _config(ctx).hash = None if ctx.negate else alg
    _synced(ctx)


@command(CS_SERVER, "[no] cdp-url LINE$url", help="CRL distribution point URL|URL")
def cs_cdp_url(ctx: Ctx, url: str | None = None) -> None:
    _config(ctx).cdp_url = None if ctx.negate else url
    _synced(ctx)


@command(CS_SERVER, "[no] redundancy", help="Enable the certificate server's redundancy")
def cs_redundancy(ctx: Ctx) -> None:
    server = _server(ctx)
    assert server.configured is not None
    added = not ctx.negate and not server.configured.redundancy
    server.configured.redundancy = not ctx.negate
    tp = ctx.feature(Pki).trustpoints.get(server.configured.name)
    if tp is not None:
        tp.redundancy = server.configured.redundancy
    if added and server.ca_cert() is not None and not ctx.session.booting:
        # A CA made before "redundancy": everything it has goes across, but its key.
        ctx.router.spawn(server.ha().redundancy_enabled(), "pki-ha")
        return
    _synced(ctx)


CRL_HEX = config_mode("crypto-pubkey", "(config-pubkey)", CS_SERVER, raw=True)


@dataclass
class CrlEntry:
    """A CRL being received in hex (from the HA active)."""

    server: CertificateServer
    data: bytearray = field(default_factory=bytearray)


@command(CS_SERVER, "crl", help="Enter the CRL in hex", hidden=True)
def cs_crl(ctx: Ctx) -> None:
    """The HA active sends its CRL this way: ``crl``, hex lines, ``quit``."""
    ctx.enter(CRL_HEX, CrlEntry(_server(ctx)))


def crl_hex_line(ctx: Ctx, line: str) -> None:
    entry: CrlEntry = ctx.context
    text = line.strip()
    if text.lower() == "quit":
        ctx.session.exit_mode()
        try:
            entry.server.install_crl(bytes(entry.data))
        except ValueError:
            raise CommandError("% Invalid CRL") from None  # invented text
        return
    digits = "".join(text.split())
    try:
        entry.data += bytes.fromhex(digits)
    except ValueError:
        raise CommandError("% Invalid hex data") from None  # invented text


RAW_HANDLERS[CRL_HEX] = crl_hex_line


@command(
    CS_SERVER,
    "request <1-65535>$number {pending|granted|rejected|removed}$state <0-2147483647>$serial "
    "WORD$transaction HEX$csr",
    help="An enrollment request|Request ID|Pending|Granted|Rejected|Removed|Serial|"
    "Transaction ID|The request (DER, hex)",
    hidden=True,
)
def cs_request(ctx: Ctx, number: int, state: str, serial: int, transaction: str, csr: str) -> None:
    """The HA active sends every change of its request database this way."""
    try:
        der = bytes.fromhex(csr)
        x509.load_der_x509_csr(der)
    except ValueError:
        raise CommandError("% Invalid certificate request") from None  # invented text
    _server(ctx).install_request(number, state, serial or None, transaction, der)


@command(
    CS_SERVER, "serial-number HEX$serial", help="Last issued serial number|serial", hidden=True
)
def cs_serial_number(ctx: Ctx, serial: str) -> None:
    """The HA sync and the cs-server ``show`` speak of the serial counter this way."""
    _server(ctx).install_serial(int(serial, 16))


# --- EXEC ---------------------------------------------------------------------------------


def _named(ctx: Ctx, name: str) -> CertificateServer:
    server = _server(ctx)
    if server.configured is None or server.configured.name != name:
        raise CommandError(f"% Certificate server {name} does not exist")  # invented
    return server


def _running(ctx: Ctx, name: str) -> CertificateAuthority:
    server = _named(ctx, name)
    if server.ca is None:
        raise CommandError(f"% Certificate server {name} is not running")  # invented
    return server.ca


_CS = "crypto pki server WORD$name"
_CS_HELP = "||Certificate server|Name of the certificate server"


@command(EXEC, f"{_CS} start", help=f"{_CS_HELP}|Enable the certificate server")
async def cs_start(ctx: Ctx, name: str) -> None:
    server = _named(ctx, name)
    assert server.configured is not None
    if server.enabled:
        return
    if server.ca_cert() is None:
        server.configured.shutdown = False
        await server.start(ctx, "no shut")
        return
    server.configured.shutdown = False
    ctx.print("Certificate server 'no shut' event has been queued for processing.")
    server.router.spawn(server.start(None, "no shut"), "cs-start")


@command(EXEC, f"{_CS} stop", help=f"{_CS_HELP}|Disable the certificate server")
def cs_stop(ctx: Ctx, name: str) -> None:
    server = _named(ctx, name)
    assert server.configured is not None
    server.configured.shutdown = True
    ctx.print("Certificate server 'shut' event has been queued for processing.")
    server.stop()


def _which(ctx: Ctx, number: int | None) -> int | None:
    return None if ctx.has("all") else number


@contextlib.contextmanager
def _database_errors() -> Iterator[None]:
    """A change the CA's database could not take (NVRAM full): refused, with the reason."""
    try:
        yield
    except DatabaseError as e:
        raise CommandError(f"% Certificate server database write failed: {e}") from None


@command(
    EXEC,
    f"{_CS} grant {{all|<1-65535>$number}}",
    help=f"{_CS_HELP}|Grant enrollment requests|All pending requests|Request ID",
)
async def cs_grant_exec(ctx: Ctx, name: str, number: int | None = None) -> None:
    with _database_errors():
        await _running(ctx, name).grant(_which(ctx, number))


@command(
    EXEC,
    f"{_CS} reject {{all|<1-65535>$number}}",
    help=f"{_CS_HELP}|Reject enrollment requests|All pending requests|Request ID",
)
async def cs_reject_exec(ctx: Ctx, name: str, number: int | None = None) -> None:
    with _database_errors():
        await _running(ctx, name).reject(_which(ctx, number))


@command(
    EXEC,
    f"{_CS} remove {{all|<1-65535>$number}}",
    help=f"{_CS_HELP}|Remove enrollment requests|All requests|Request ID",
)
async def cs_remove_exec(ctx: Ctx, name: str, number: int | None = None) -> None:
    with _database_errors():
        await _running(ctx, name).remove(_which(ctx, number))


@command(
    EXEC,
    f"{_CS} revoke HEX$serial",
    help=f"{_CS_HELP}|Revoke a certificate|Serial number of the certificate (hex)",
)
async def cs_revoke_exec(ctx: Ctx, name: str, serial: str) -> None:
    ca = _running(ctx, name)
    with _database_errors():
        revoked = await ca.revoke(int(serial, 16))
    if not revoked:
        raise CommandError(f"% Invalid serial number 0x{serial}")  # invented


@command(
    EXEC,
    f"{_CS} info {{requests|crl}}$what",
    help=f"{_CS_HELP}|Display information|Enrollment request database|Certificate revocation list",
)
def cs_info(ctx: Ctx, name: str, what: str) -> None:
    server = _named(ctx, name)
    ctx.print(*(requests_lines(server.ca) if what == "requests" else crl_lines(server)))


@command(
    EXEC,
    f"{_CS} password generate [<1-1440>$minutes]",
    help=f"{_CS_HELP}|One-time enrollment password|Generate a password|Minutes it stays valid",
)
async def cs_password(ctx: Ctx, name: str, minutes: int = 60) -> None:
    ca = _running(ctx, name)
    password = await ca.new_password(minutes)
    expiry = ctx.router.clock.short_stamp(ca.passwords[password])
    # IOS's wording for this is not captured; see docs/fidelity.md.
    ctx.print(f"% New one-time password: {password}", f"% It expires at {expiry}")


@command(
    EXEC,
    "show crypto pki server [WORD$name] [requests|crl|certificates]$what",
    help="|||Show Certificate Server status|Name of the certificate server|"
    "Enrollment request database|Certificate revocation list|Issued certificates",
    priv=1,
)
def show_server(ctx: Ctx, name: str | None = None, what: str | None = None) -> None:
    server = _server(ctx)
    if server.configured is None or (name is not None and server.configured.name != name):
        return
    if what == "requests":
        ctx.print(*requests_lines(server.ca))
    elif what == "crl":
        ctx.print(*crl_lines(server))
    elif what == "certificates":
        ctx.print(*certificates_lines(server))
    else:
        ctx.print(*server.show_lines())


def certificates_lines(server: CertificateServer) -> list[str]:
    out = ["Serial Issued date              Expire date               Subject Name"]
    clock = server.router.clock
    cert = server.ca_cert()
    rows = []
    if cert is not None:
        rows.append(cert)
    issued = {s: i.cert for s, i in server.ca.issued.items()} if server.ca is not None else {}
    # At level complete the database has them all, those another unit issued included.
    issued.update(server.stored_certificates())
    rows += [c for _, c in sorted(issued.items())]
    for c in rows:
        issued = clock.short_stamp(c.not_valid_before_utc)
        expires = clock.short_stamp(c.not_valid_after_utc)
        out.append(f"{c.serial_number:<7X} {issued:<24} {expires:<25} {ios_dn_text(c.subject)}")
    return out


for _flag, _words, _help in (
    (
        DEBUG_SERVER,
        "crypto pki server",
        "Encryption module|Public Key components|Certificate server",
    ),
    (DEBUG_TRANSACTIONS, "crypto pki transactions", "||Transactions"),
    (DEBUG_MESSAGES, "crypto pki messages", "||Messages"),
    (DEBUG_API, "crypto pki api", "||Application programming interface"),
):
    declare_debug(_words, _help, _flag)
