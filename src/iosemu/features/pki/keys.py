"""RSA key pairs: ``crypto key generate rsa``, ``crypto key zeroize rsa``, ``show crypto key``.

Keys live in the router's memory until ``write memory`` saves them to NVRAM, as on IOS
(a reload without saving loses them). At rest they are encrypted (PKCS#8 with a secret of
the router's own that sits outside its NVRAM, so ``more nvram:`` shows nothing usable).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import secrets
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from iosemu.device.filesystem import FileSystemError
from iosemu.device.router import Feature, Router
from iosemu.features.dns import Dns
from iosemu.features.pki.objects import generate_rsa, hex_groups, spki_der
from iosemu.parser.grammar import CONFIG, EXEC, command
from iosemu.session import CommandError, Ctx

KEY_FILE = "private-KS1"  # the NVRAM file IOS keeps key storage in
SECRET_FILE = ".keystore-secret"  # in the router's state directory, not in nvram:


@dataclass
class KeyPair:
    label: str
    key: rsa.RSAPrivateKey
    generated: dt.datetime  # router UTC
    exportable: bool = False
    redundancy: bool = False
    temporary: bool = False  # the "<label>.server" SSL key: never saved

    @property
    def bits(self) -> int:
        return self.key.key_size


def _secret(router: Router) -> bytes:
    path = router.state_dir / SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(secrets.token_hex(32).encode())
        path.chmod(0o600)
    return path.read_bytes()


class Keys(Feature):
    def __init__(self, router: Router) -> None:
        super().__init__(router)
        self.pairs: dict[str, KeyPair] = {}
        self.load()

    # --- storage -----------------------------------------------------------------------

    def load(self) -> None:
        """The key pairs saved in NVRAM (at power-on)."""
        if not self.router.nvram.exists(KEY_FILE):
            return
        try:
            records = json.loads(self.router.nvram.read(KEY_FILE))
            secret = _secret(self.router)
            for r in records:
                key = serialization.load_pem_private_key(r["pem"].encode(), secret)
                assert isinstance(key, rsa.RSAPrivateKey)
                self.pairs[r["label"]] = KeyPair(
                    r["label"],
                    key,
                    dt.datetime.fromisoformat(r["generated"]),
                    r["exportable"],
                    r["redundancy"],
                )
        except (ValueError, KeyError, TypeError, AssertionError, FileSystemError):
            self.router.log.log("CRYPTO", 3, "KEYSTORE", "Key storage in NVRAM is unreadable")

    def save(self) -> None:
        """Write the lasting key pairs to NVRAM (``write memory`` does)."""
        secret = _secret(self.router)
        records = [
            {
                "label": p.label,
                "generated": p.generated.isoformat(),
                "exportable": p.exportable,
                "redundancy": p.redundancy,
                "pem": p.key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.BestAvailableEncryption(secret),
                ).decode(),
            }
            for p in self.pairs.values()
            if not p.temporary
        ]
        self.router.nvram.write(KEY_FILE, json.dumps(records, indent=1).encode())

    def saved(self) -> None:
        self.save()

    # --- use ---------------------------------------------------------------------------

    def get(self, label: str) -> KeyPair | None:
        return self.pairs.get(label)

    def add(self, pair: KeyPair) -> None:
        self.pairs[pair.label] = pair

    def remove(self, label: str) -> None:
        self.pairs.pop(label, None)
        self.pairs.pop(f"{label}.server", None)

    async def generate(
        self, label: str, bits: int, exportable: bool = False, redundancy: bool = False
    ) -> tuple[KeyPair, int]:
        """A new pair under ``label`` and the seconds IOS would say it took."""
        # Generated here, not in a thread: a thread would let the virtual clock run on.
        key = generate_rsa(bits)
        elapsed = max(1, bits // 1024)
        await asyncio.sleep(elapsed)  # IOS is slow at this; the lab clock says how slow
        pair = KeyPair(label, key, self.router.clock.utc(), exportable, redundancy)
        self.pairs[label] = pair
        return pair, elapsed


def default_label(ctx: Ctx) -> str | None:
    domain = ctx.feature(Dns).domain
    return f"{ctx.router.hostname}.{domain}" if domain else None


@command(
    CONFIG,
    "crypto key generate rsa [general-keys|label WORD$label|modulus <360-4096>$modulus|"
    "exportable|redundancy]*",
    help="|Long term key operations|Generate new keys|Generate RSA keys|"
    "Generate a general purpose RSA key pair for signing and encryption|"
    "Provide a label|RSA key pair label|Provide number of modulus bits on the command line|"
    "size of RSA modulus|Allow the key to be exported|"
    "Allow the key to be synced to high-availability peer",
)
async def crypto_key_generate(
    ctx: Ctx, label: str | None = None, modulus: int | None = None
) -> None:
    keys = ctx.feature(Keys)
    name = label or default_label(ctx)
    if name is None:
        raise CommandError("% Please define a domain-name first.")
    ctx.print(f"The name for the keys will be: {name}")
    if keys.get(name) is not None:
        ctx.print(f"% You already have RSA keys defined named {name}.")
        if not await ctx.yes_no("% Do you really want to replace them? [yes/no]: "):
            raise CommandError("")  # declined: nothing changed
    if modulus is None:
        ctx.print(
            "Choose the size of the key modulus in the range of 360 to 4096 for your",
            "  General Purpose Keys. Choosing a key modulus greater than 512 may take",
            "  a few minutes.",
            "",
        )
        answer = (await ctx.ask("How many bits in the modulus [512]: ")).strip() or "512"
        if not answer.isdigit() or not 360 <= int(answer) <= 4096:
            raise CommandError("% You must choose a number between 360 and 4096.")
        modulus = int(answer)
    else:
        ctx.print("", f"% The key modulus size is {modulus} bits")
    exportable = ctx.has("exportable")
    which = "exportable" if exportable else "non-exportable"
    ctx.print(f"% Generating {modulus} bit RSA keys, keys will be {which}...")
    await ctx.session.terminal.drain()
    _, elapsed = await keys.generate(name, modulus, exportable, ctx.has("redundancy"))
    ctx.print(f"[OK] (elapsed time was {elapsed} seconds)", "")


@command(
    CONFIG,
    "crypto key zeroize rsa [WORD$label]",
    help="|Long term key operations|Remove keys|Remove RSA keys|RSA key pair label",
)
async def crypto_key_zeroize(ctx: Ctx, label: str | None = None) -> None:
    keys = ctx.feature(Keys)
    if label is not None and keys.get(label) is None:
        raise CommandError(f"% RSA keypair {label} is not present.")
    if label is None:
        ctx.print("% All keys will be removed.")
    else:
        ctx.print(f"% Keys to be removed are named '{label}'.")
    ctx.print("% All router certs issued using these keys will also be removed.")
    if not await ctx.yes_no("Do you really want to remove these keys? [yes/no]: "):
        raise CommandError("")  # declined: nothing changed
    for name in [label] if label else list(keys.pairs):
        keys.remove(name)


def mypubkey_lines(pair: KeyPair, clock_stamp: str) -> list[str]:
    """One key of ``show crypto key mypubkey rsa`` in the 15.1 layout (no ``Key type:``)."""
    out = [f"% Key pair was generated at: {clock_stamp}", f"Key name: {pair.label}"]
    if pair.temporary:
        out += ["Temporary key", " Usage: Encryption Key", " Key is not exportable."]
    else:
        out += [" Storage Device: not specified", " Usage: General Purpose Key"]
        export = "Key is exportable." if pair.exportable else "Key is not exportable."
        if pair.redundancy:
            export += " Redundancy enabled."
        out.append(f" {export}")
    out.append(" Key Data:")
    groups = hex_groups(spki_der(pair.key))
    for i in range(0, len(groups), 8):
        line = " ".join(groups[i : i + 8])
        full = len(groups[i : i + 8]) == 8 and len(groups[i + 7]) == 8
        out.append(f"  {line}{' ' if full else ''}")
    return out


@command(
    EXEC,
    "show crypto key mypubkey rsa [WORD$label]",
    help="|Encryption module|Show long term public keys|Show public keys associated with "
    "this router|Show RSA public keys|RSA key pair label",
    priv=1,
)
def show_mypubkey(ctx: Ctx, label: str | None = None) -> None:
    keys = ctx.feature(Keys)
    clock = ctx.router.clock
    for pair in keys.pairs.values():
        if label is not None and pair.label != label:
            continue
        ctx.print(*mypubkey_lines(pair, clock.short_stamp(pair.generated)))
