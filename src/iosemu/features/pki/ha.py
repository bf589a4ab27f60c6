"""PKI high availability: the standby mirrors the active's CA and trustpoints, as CLI lines.

As the guide's debug output shows, the active sends configuration lines over the
redundancy channel (``pki_send_ha_peer_request``) and the standby runs them through its own
parser (``PKI: cmd(<mode>): <line> [OK] CHANGE SYNC``). A block is a list of lines:
``+crypto pki server X`` enters a mode from configuration mode, ``.crypto pki server X
start`` is an EXEC command, ``""`` separates, ``end``/``exit`` leave; certificates and CRLs
travel as hex lines ended by ``quit``. Key pairs made with ``redundancy`` travel once, when
they are made, as key material (never as text a console could show).

What is sent, and when (decided where IOS is not documented; see docs/fidelity.md):

* only while the peer is at least STANDBY COLD-BULK: configuration made before the pair
  was formed is not sent until it is redone (the guide's troubleshooting);
* the server block when ``redundancy`` or another setting changes; on the first start the
  trustpoint, the key, the chain, the serial, the CRL, ``start``; afterwards every serial,
  request, revocation and CRL change, acknowledged by the standby before the active
  answers its client (no serial is ever handed out twice);
* on bulk sync (the standby in COLD-BULK): everything but keys, which IOS only sends when
  they are generated.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from iosemu.device.router import Feature, Router
from iosemu.features.pki.ca import Change
from iosemu.features.pki.keys import KeyPair, Keys
from iosemu.features.pki.objects import hex_lines
from iosemu.features.pki.trustpoint import Chain, Pki, Trustpoint
from iosemu.features.redundancy import STANDBY_COLD_BULK, Redundancy, RfClient

log = logging.getLogger("iosemu.pki.ha")

CHANNEL = 20  # the PKI RF client's IPC channel
ACK_TIMEOUT = 5.0  # lab seconds an active waits for its standby before going on alone
DEBUG_KEYS = ("pki.transactions", "pki.messages", "pki.api")
BAD = ("% Invalid input", "% Incomplete command", "% Ambiguous command")


@dataclass
class _SyncTerminal:
    """The standby's sync session prints nowhere; errors are kept for the debug line."""

    printed: str = ""

    def output(self, text: str) -> None:
        self.printed += text

    async def drain(self) -> None:
        return None

    async def ask(self, prompt: str, echo: bool = True) -> str:
        return ""

    async def ask_key(self, prompt: str) -> str:
        return ""

    def show_log(self, text: str) -> None:
        return None


class PkiHa(Feature):
    def __init__(self, router: Router) -> None:
        super().__init__(router)
        self._ids = itertools.count(1)
        self._acks: dict[int, asyncio.Future[None]] = {}
        self._inbox: asyncio.Queue[dict[str, object]] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self.client = RfClient(
            "PKI",
            CHANNEL,
            self._on_message,
            bulk_sync=self.bulk_sync,
            on_peer_lost=self._peer_lost,
        )

    # --- life cycle --------------------------------------------------------------------

    @property
    def rf(self) -> Redundancy:
        return self.router.feature(Redundancy)

    def started(self) -> None:
        self.rf.register(self.client)
        self._worker = self.router.spawn(self._apply_loop(), "pki-ha")

    def stopped(self) -> None:
        self._peer_lost()

    # --- sending (active) ----------------------------------------------------------------

    def peer_ready(self) -> bool:
        """True when changes should reach the peer: we are active, it is (almost) hot."""
        rf = self.rf
        return (
            rf.scheme is not None
            and rf.duplex
            and rf.role == "active"
            and rf.peer_state >= STANDBY_COLD_BULK
        )

    def _debugging(self) -> bool:
        return any(self.router.log.debugging(k) for k in DEBUG_KEYS)

    async def send(self, lines: list[str], wait: bool = True) -> None:
        """One block of lines to the standby; with ``wait``, until it has applied them."""
        if not self.peer_ready():
            return
        if self._debugging():
            for line in lines:
                self.router.log.debug(f'PKI: pki_send_ha_peer_request: "{line}"')
        await self._send({"t": "cli", "lines": lines}, wait)

    async def _send(self, message: dict[str, object], wait: bool) -> None:
        ident = next(self._ids)
        message["id"] = ident
        fut: asyncio.Future[None] = self.router.loop.create_future()
        self._acks[ident] = fut
        if not self.rf.send(self.client, json.dumps(message).encode()):
            self._acks.pop(ident, None)
            return
        if not wait:
            return
        try:
            await asyncio.wait_for(asyncio.shield(fut), ACK_TIMEOUT)
        except TimeoutError:
            log.warning("%s: the HA peer did not acknowledge message %d", self.router.name, ident)
        finally:
            self._acks.pop(ident, None)

    async def send_key(self, pair: KeyPair) -> None:
        """A redundant key pair's private half, over the association only."""
        if not self.peer_ready() or not pair.redundancy:
            return
        der = pair.key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        if self._debugging():
            spki = pair.key.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            first = " ".join(hex_lines(spki)[0].split()[:4])
            self.router.log.debug(
                f"CRYPTO_PKI_API:cachekey: RSA Public Session Keys: added key:\n{first}..."
            )
        message = {
            "t": "key",
            "label": pair.label,
            "generated": pair.generated.isoformat(),
            "der": der.hex(),
        }
        await self._send(message, True)

    def _peer_lost(self) -> None:
        for fut in self._acks.values():
            if not fut.done():
                fut.set_result(None)
        self._acks.clear()

    # --- the blocks ------------------------------------------------------------------------

    def server_block(self, serial: bool = True) -> list[str]:
        from iosemu.features.pki.server import CertificateServer

        server = self.router.feature(CertificateServer)
        config = server.configured
        if config is None:
            return []
        lines = [f"+crypto pki server {config.name}", ""]
        lines += [line for line in config.lines() if line != " shutdown"]
        if serial:
            ca = server.ca
            number = ca.serial if ca is not None else (1 if server.ca_cert() else 0)
            lines.append(f" serial-number 0x{number:X}")
        return [*lines, "end"]

    @staticmethod
    def trustpoint_block(tp: Trustpoint) -> list[str]:
        lines = tp.config_lines()
        return [lines[0], "", *lines[1:], "end"]

    @staticmethod
    def chain_block(chain: Chain) -> list[str]:
        lines = [f"crypto pki certificate chain {chain.name}"]
        for c in chain.certs:
            lines.append(f"certificate {c.kind + ' ' if c.kind else ''}{c.serial}")
            lines += hex_lines(c.der)
            lines.append("quit")
        return [*lines, "exit"]

    def crl_block(self, name: str, der: bytes) -> list[str]:
        return [f"+crypto pki server {name}", "crl", *hex_lines(der), "quit", "end"]

    # --- events from the PKI code (active side) --------------------------------------------

    async def server_changed(self) -> None:
        """The server's configuration changed (``redundancy`` and the rest)."""
        await self.send(self.server_block())

    async def ca_created(self, name: str) -> None:
        """The first start made a CA: trustpoint, key, chain, serial go across."""
        pki = self.router.feature(Pki)
        tp = pki.trustpoints.get(name)
        if tp is not None and tp.redundancy:
            await self.send(self.trustpoint_block(tp))
        pair = self.router.feature(Keys).get(name)
        if pair is not None:
            await self.send_key(pair)
        chain = pki.chains.get(name)
        if chain is not None and tp is not None and tp.redundancy:
            await self.send(self.chain_block(chain))
        await self.send([f"+crypto pki server {name}", *self.server_block()[2:]])

    async def server_started(self, name: str) -> None:
        # The guide's active also sends "no shut", which the standby cannot place (sic).
        await self.send([f".crypto pki server {name} start", "no shut"])

    async def server_stopped(self, name: str) -> None:
        await self.send([f".crypto pki server {name} stop"])

    async def ca_changed(self, change: Change) -> None:
        """A commit hook of the active's CA: the standby hears before the client does."""
        from iosemu.features.pki.server import CertificateServer

        server = self.router.feature(CertificateServer)
        if server.ca is None or server.configured is None or not server.configured.redundancy:
            return
        name = server.configured.name
        if change.kind == "serial" and change.serial is not None:
            await self.send(
                [f"+crypto pki server {name}", f" serial-number 0x{change.serial:X}", "exit"]
            )
        elif change.kind == "request" and change.request is not None:
            r = change.request
            line = f" request {r.id} {r.state} {r.serial or 0} {r.transaction_id} {r.csr_der.hex()}"
            await self.send([f"+crypto pki server {name}", line, "exit"])
        elif change.kind == "crl":
            await self.send(self.crl_block(name, server.ca.crl_der))

    async def trustpoint_changed(self, name: str) -> None:
        """A trustpoint with ``redundancy``: its lines, its chain and its key go across."""
        pki = self.router.feature(Pki)
        tp = pki.trustpoints.get(name)
        if tp is None or not tp.redundancy:
            return
        await self.send(self.trustpoint_block(tp))
        pair = self.router.feature(Keys).get(tp.rsakeypair or name)
        if pair is not None and pair.redundancy:
            await self.send_key(pair)
        chain = pki.chains.get(name)
        if chain is not None and chain.certs:
            await self.send(self.chain_block(chain))

    async def bulk_sync(self) -> None:
        """The standby is in COLD-BULK: everything redundant, keys excepted."""
        from iosemu.features.pki.server import CertificateServer

        pki = self.router.feature(Pki)
        server = self.router.feature(CertificateServer)
        config = server.configured
        if config is not None and config.redundancy:
            await self.send(self.server_block())
        for tp in pki.trustpoints.values():
            if tp.redundancy:
                await self.send(self.trustpoint_block(tp))
                chain = pki.chains.get(tp.name)
                if chain is not None and chain.certs:
                    await self.send(self.chain_block(chain))
        if config is not None and config.redundancy and server.ca is not None:
            ca = server.ca
            if ca.crl_der:
                await self.send(self.crl_block(config.name, ca.crl_der))
            if server.enabled:
                await self.server_started(config.name)
            for r in ca.requests.values():
                await self.ca_changed(Change("request", request=r))

    # --- applying (standby side) ------------------------------------------------------------

    def _on_message(self, payload: bytes) -> None:
        try:
            message = json.loads(payload)
            kind = message["t"]
        except (ValueError, KeyError, TypeError):
            log.info("%s: dropped a malformed PKI HA message", self.router.name)
            return
        if kind == "ack":
            fut = self._acks.get(message.get("id"))
            if fut is not None and not fut.done():
                fut.set_result(None)
            return
        self._inbox.put_nowait(message)

    async def _apply_loop(self) -> None:
        while True:
            message = await self._inbox.get()
            try:
                if message["t"] == "cli":
                    await self._apply_lines([str(line) for line in message["lines"]])  # type: ignore[union-attr]
                elif message["t"] == "key":
                    self._apply_key(message)
            except Exception:
                log.exception("%s: applying a PKI HA message failed", self.router.name)
            ack = {"t": "ack", "id": message.get("id")}
            self.rf.send(self.client, json.dumps(ack).encode())

    def _apply_key(self, message: dict[str, object]) -> None:
        import datetime as dt

        key = serialization.load_der_private_key(bytes.fromhex(str(message["der"])), None)
        if not isinstance(key, rsa.RSAPrivateKey):
            return
        pair = KeyPair(
            str(message["label"]),
            key,
            dt.datetime.fromisoformat(str(message["generated"])),
            exportable=False,
            redundancy=True,
        )
        self.router.feature(Keys).add(pair)
        if self._debugging():
            self.router.log.debug(f"PKI: HA key {pair.label} received [OK] CHANGE SYNC")

    async def _apply_lines(self, lines: list[str]) -> None:
        from iosemu.parser.grammar import CONFIG
        from iosemu.session import Session

        terminal = _SyncTerminal()
        session = Session(self.router, terminal, line="sync", source="HA sync", privilege=15)
        session.booting = True  # no dialogs, no banners, no CONFIG_I
        for raw in lines:
            if raw == "":
                continue
            mode_before = session.mode
            if raw.startswith("+"):
                del session.frames[1:]
                session.enter(CONFIG)
                mode_before = session.mode
                text = raw[1:]
            elif raw.startswith("."):
                del session.frames[1:]
                mode_before = session.mode
                text = raw[1:]
            else:
                if session.mode.name == "exec":
                    session.enter(CONFIG)
                    mode_before = session.mode
                text = raw
            terminal.printed = ""
            await session.execute(text)
            self._log_applied(mode_before.name, text, terminal.printed)
        self.router.mark_config_changed("HA sync")

    def _log_applied(self, mode: str, line: str, printed: str) -> None:
        if not self._debugging():
            return
        text = line.strip()
        if any(bad in printed for bad in BAD):
            verdict = "??bad command"
        elif text in ("end", "exit"):
            verdict = "[OK] NO_CHANGE DONT_SYNC"
        elif mode == "pki-hexmode" and text == "quit":
            verdict = ""
        else:
            verdict = "[OK] CHANGE SYNC"
        self.router.log.debug(f"PKI: cmd({mode}): {text} {verdict}".rstrip())
