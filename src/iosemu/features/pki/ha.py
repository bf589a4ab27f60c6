"""PKI high availability: the standby mirrors the active's CA and trustpoints, as CLI lines.

As the guide's debug output shows, the active sends configuration lines over the
redundancy channel (``pki_send_ha_peer_request``) and the standby runs them through its own
parser (``PKI: cmd(<mode>): <line> [OK] CHANGE SYNC``). A block is a list of lines:
``+crypto pki server X`` enters a mode from configuration mode, ``.crypto pki server X
start`` is an EXEC command, ``""`` separates, ``end``/``exit`` leave; certificates and CRLs
travel as hex lines ended by ``quit``. Key pairs made with ``redundancy`` travel once, when
they are made, as key material (never as text a console could show).

What is sent, and when (decided where IOS is not documented; see docs/fidelity.md):

* configuration (the server block, trustpoints, chains, ``start``/``stop``) only while the
  peer is at least STANDBY COLD-BULK: configuration made before the pair was formed is
  not sent until it is redone (the guide's troubleshooting);
* only for a server with ``redundancy``: the server block when a setting changes; on the
  first start the trustpoint, the key, the chain, the serial, the CRL, ``start``; when
  ``redundancy`` is added to a server that already has its CA, all of that but the key
  (made without ``redundancy``, it stays: the guide's "Server key not found" standby);
  ``no crypto pki server`` removes the standby's server too;
* every change of the running CA (serial, request, CRL) is acknowledged by the standby
  before the active answers its client (no serial is ever handed out twice), and goes to
  a paired standby in any state, not only from COLD-BULK on: a standby walking up again
  after a flap of the pair still has the CA and must not fall behind, since it can take
  over before it is hot. A standby without that server ignores them;
* on bulk sync (the standby in COLD-BULK): everything but keys, which IOS only sends when
  they are generated;
* a unit that took over from its peer does not wait for that peer any more (it is gone,
  even while the association has not noticed yet), until the peer is back as a standby.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections import deque
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from iosemu.device.router import Feature, Router
from iosemu.features.pki.ca import Change
from iosemu.features.pki.keys import KeyPair, Keys
from iosemu.features.pki.objects import hex_lines
from iosemu.features.pki.trustpoint import Chain, Pki, Trustpoint
from iosemu.features.redundancy import (
    ACTIVE_FAST,
    INITIALIZATION,
    STANDBY_COLD_BULK,
    Redundancy,
    RfClient,
)

log = logging.getLogger("iosemu.pki.ha")

CHANNEL = 20  # the PKI RF client's IPC channel
ACK_TIMEOUT = 5.0  # lab seconds an active waits for its standby before going on alone
DEBUG_KEYS = ("pki.transactions", "pki.messages", "pki.api")
BAD = ("% Invalid input", "% Incomplete command", "% Ambiguous command")
LAG_SAMPLES = 10000
SYNC = "[OK] CHANGE SYNC"
# Lines the guide's standby logs "(no PRC)" for (no parser return code: they enter a mode):
# (mode, first words, number of words).
NO_PRC = (("configure", "crypto pki server", 4), ("crypto-ca-cert-chain", "certificate", 3))


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
        # Lab times of the last messages: sent here (by id) and applied here (by the
        # peer's id). In one process the two units share a clock, so a benchmark can
        # pair them: the sync lag, change on the active to applied on the standby.
        self._role = "init"
        self._peer_replaced = False  # we took over from the peer: it is presumed gone
        self.sent_at: deque[tuple[int, float]] = deque(maxlen=LAG_SAMPLES)
        self.applied_at: deque[tuple[int, float]] = deque(maxlen=LAG_SAMPLES)
        self.client = RfClient(
            "PKI",
            CHANNEL,
            self._on_message,
            on_role=self._on_role,
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

    def _on_role(self, role: str) -> None:
        if role == "active" and self._role == "standby":
            self._peer_replaced = True
            self._peer_lost()  # nothing the old active waits for can come any more
        self._role = role
        if role == "active":
            from iosemu.features.pki.server import CertificateServer

            self.router.spawn(self.router.feature(CertificateServer).took_over(), "pki-ha")

    def _redundant_server(self) -> str | None:
        """The name of the certificate server, if it has ``redundancy``."""
        from iosemu.features.pki.server import CertificateServer

        config = self.router.feature(CertificateServer).configured
        return config.name if config is not None and config.redundancy else None

    # --- sending (active) ----------------------------------------------------------------

    def peer_ready(self, state: bool = False) -> bool:
        """True when changes should reach the peer: we are active, it is (almost) hot.

        ``state``: a change of the running CA's state (serial, request, CRL). Those go to
        a paired peer in any state: a standby walking up again after a flap of the pair
        already has the CA and must not fall behind (it could take over before it is hot);
        one without the server ignores them."""
        rf = self.rf
        if rf.peer_state < ACTIVE_FAST:
            self._peer_replaced = False  # it is our standby again
        return (
            rf.scheme is not None
            and rf.duplex
            and rf.role == "active"
            and rf.peer_state >= (INITIALIZATION if state else STANDBY_COLD_BULK)
            # The active we took over from is gone, even while the association has not
            # noticed yet: waiting for its acknowledgement would stall every client.
            and not (self._peer_replaced and rf.peer_state >= ACTIVE_FAST)
        )

    def _debugging(self) -> bool:
        return any(self.router.log.debugging(k) for k in DEBUG_KEYS)

    async def send(self, lines: list[str], wait: bool = True, state: str | None = None) -> None:
        """One block of lines to the standby; with ``wait``, until it has applied them.

        ``state`` names the CA server whose running state the lines change (see
        ``peer_ready``): the standby applies them only if it has that server."""
        if not self.peer_ready(state is not None):
            return
        if self._debugging():
            for line in lines:
                self.router.log.debug(f'PKI: pki_send_ha_peer_request: "{line}"')
        message: dict[str, object] = {"t": "cli", "lines": lines}
        if state is not None:
            message["server"] = state
        await self._send(message, wait)

    async def _send(self, message: dict[str, object], wait: bool) -> None:
        ident = next(self._ids)
        message["id"] = ident
        self.sent_at.append((ident, self.router.loop.time()))
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
        if self._redundant_server() != name:
            return
        pki = self.router.feature(Pki)
        tp = pki.trustpoints.get(name)
        if tp is not None and tp.redundancy:
            await self.send(self.trustpoint_block(tp))
        pair = self.router.feature(Keys).get(name)
        if pair is not None:
            await self.send_key(pair)
        chain = pki.chains.get(name)
        if chain is not None and tp is not None and tp.redundancy:
            if self.peer_ready() and self.router.log.debugging("pki.transactions"):
                self.router.log.debug("CRYPTO_CA: certificate not found")  # the guide's (sic)
            await self.send(self.chain_block(chain))
        await self.send([f"+crypto pki server {name}", *self.server_block()[2:]])

    async def server_started(self, name: str) -> None:
        if self._redundant_server() == name:
            await self.send([f".crypto pki server {name} start"])

    async def server_started_tail(self) -> None:
        """The guide's active also sends "no shut" once enabled; the standby cannot place
        it (``no shut ??bad command``), as in the guide."""
        if self._redundant_server() is not None:
            await self.send(["no shut"])

    async def server_stopped(self, name: str) -> None:
        if self._redundant_server() == name:
            await self.send([f".crypto pki server {name} stop"])

    async def server_removed(self, name: str) -> None:
        """``no crypto pki server`` on the active: the standby's goes too."""
        await self.send([f"no crypto pki server {name}"])

    async def redundancy_enabled(self) -> None:
        """``redundancy`` added to a server that already has its CA: all of it goes across
        now, as in a bulk sync. Not its key, made without ``redundancy``: the guide's
        "Server key not found" standby."""
        await self.bulk_sync()

    async def ca_changed(self, change: Change) -> None:
        """A commit hook of the active's CA: the standby hears before the client does."""
        from iosemu.features.pki.server import CertificateServer

        server = self.router.feature(CertificateServer)
        if server.ca is None or server.configured is None or not server.configured.redundancy:
            return
        name = server.configured.name
        if change.kind == "serial" and change.serial is not None:
            lines = [f"+crypto pki server {name}", f" serial-number 0x{change.serial:X}", "exit"]
            await self.send(lines, state=name)
        elif change.kind == "request" and change.request is not None:
            r = change.request
            line = f" request {r.id} {r.state} {r.serial or 0} {r.transaction_id} {r.csr_der.hex()}"
            await self.send([f"+crypto pki server {name}", line, "exit"], state=name)
        elif change.kind == "crl":
            await self.send(self.crl_block(name, server.ca.crl_der), state=name)

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
        # Copies: each send waits for the standby, and the CA goes on serving meanwhile.
        for tp in list(pki.trustpoints.values()):
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
                await self.server_started_tail()
            for r in list(ca.requests.values()):  # new ones go by the commit hook
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
                if message["t"] == "cli" and self._applies(message):
                    await self._apply_lines([str(line) for line in message["lines"]])  # type: ignore[union-attr]
                elif message["t"] == "key":
                    self._apply_key(message)
            except Exception:
                log.exception("%s: applying a PKI HA message failed", self.router.name)
            self.applied_at.append((int(message.get("id") or 0), self.router.loop.time()))
            ack = {"t": "ack", "id": message.get("id")}
            self.rf.send(self.client, json.dumps(ack).encode())

    def _applies(self, message: dict[str, object]) -> bool:
        """A CA state change applies only where that server is configured."""
        name = message.get("server")
        if name is None:
            return True
        from iosemu.features.pki.server import CertificateServer

        config = self.router.feature(CertificateServer).configured
        return config is not None and config.name == name

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
        pki = self.router.feature(Pki)
        for raw in lines:
            if raw == "":
                if self._debugging():
                    self.router.log.debug("PKI:HA msg:(null)")
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
            words = text.split()
            new_tp = words[:3] == ["crypto", "pki", "trustpoint"] and (
                len(words) > 3 and words[3] not in pki.trustpoints
            )
            certs_before = self._chain_certs(pki)
            await session.execute(text)
            self._log_applied(mode_before.name, text, terminal.printed, new_tp)
            if self._debugging() and not any(bad in terminal.printed for bad in BAD):
                # What the guide's standby prints after these: the trustpoint it made, the
                # certificate it did not have (its words: "not found").
                added = self._chain_certs(pki) != certs_before
                if new_tp:
                    self.router.log.debug(f"CRYPTO_PKI: Creating trustpoint {words[3]} {SYNC}")
                elif mode_before.name == "pki-hexmode" and text.lower() == "quit" and added:
                    self.router.log.debug(f"CRYPTO_CA: certificate not found {SYNC}")
        self.router.mark_config_changed("HA sync")

    @staticmethod
    def _chain_certs(pki: Pki) -> set[bytes]:
        return {c.der for chain in pki.chains.values() for c in chain.certs}

    def _log_applied(self, mode: str, line: str, printed: str, new_tp: bool = False) -> None:
        if not self._debugging():
            return
        text = line.strip()
        words = text.split()
        if any(bad in printed for bad in BAD):
            verdict = "??bad command"
        elif text in ("end", "exit"):
            verdict = "[OK] NO_CHANGE DONT_SYNC"
        elif mode == "pki-hexmode" and text.lower() == "quit":
            verdict = ""  # the certificate's own line says how it went
        elif new_tp:
            verdict = ""  # "Creating trustpoint" follows with the verdict
        elif any(
            mode == m and " ".join(words[: first.count(" ") + 1]) == first and len(words) == n
            for m, first, n in NO_PRC
        ):
            verdict = "(no PRC)"
        else:
            verdict = SYNC
        self.router.log.debug(f"PKI: cmd({mode}): {text} {verdict}".rstrip())


def sync_lags(active: PkiHa, standby: PkiHa) -> list[float]:
    """Lab seconds from each message the active sent to its application on the standby.

    Only meaningful when both units run in one process (one lab clock)."""
    sent = dict(active.sent_at)
    return [when - sent[ident] for ident, when in standby.applied_at if ident in sent]
