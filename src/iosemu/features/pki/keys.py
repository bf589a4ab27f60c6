"""RSA key pairs: ``crypto key generate rsa``, ``crypto key zeroize rsa``, ``show crypto key``.

Keys live in the router's memory until ``write memory`` saves them to NVRAM, as on IOS
(a reload without saving loses them). At rest they are encrypted (PKCS#8 with a secret of
the router's own that sits outside its NVRAM, so ``more nvram:`` shows nothing usable).
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import json
import os
import random
import secrets
import weakref
from collections import defaultdict
from dataclasses import dataclass

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, modes

from iosemu.device.filesystem import FileSystemError
from iosemu.device.router import Feature, Router
from iosemu.features.dns import Dns
from iosemu.features.files import parse_url
from iosemu.features.pki.objects import (
    generate_rsa,
    hex_groups,
    private_key_from_primes,
    random_prime,
    spki_der,
)
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


class KeyPool:
    """Where routers' new RSA keys come from when making them is not the point.

    Key generation is the dominant cost of a mass enrollment (pki-scep.md §5: ~9 ms for
    1024 bits, ~43 ms for 2048 with a long tail, more for the 512-bit AUTOGEN keys, which
    cryptography will not make so Python does), and random keys make every run print
    other fingerprints. So:

    * On the virtual clock (tests, transcripts) every lab draws its keys from one fixed
      sequence per size: the n-th key of a size a lab makes is always the same key, made
      from a seeded generator the first time a process needs it and kept. Runs repeat byte
      for byte (fingerprints, certificates, ``show crypto key``), as transcripts promise,
      and a test suite pays for each key once. These keys are public knowledge: fine for an
      emulator's virtual lab, never for anything real.
    * On the real and scaled clocks a router makes a fresh random key, as IOS does, unless
      the pool is on (``KEY_POOL.enable()``, or ``IOSEMU_KEY_POOL=1`` in the environment of
      ``iosemu lab``/``node``): then keys come from a pool of pre-generated random keys
      (``fill(bits, n)`` before a timed run), each handed out once until ``rewind()``.

    Within one lab no two routers ever get the same key: SCEP transaction IDs and the CA's
    request database would take them for one client.
    """

    def __init__(self) -> None:
        self.enabled = os.environ.get("IOSEMU_KEY_POOL", "") not in ("", "0")
        self._keys: dict[int, list[rsa.RSAPrivateKey]] = defaultdict(list)
        self._next: dict[int, int] = defaultdict(int)
        self._fixed: dict[tuple[int, int], rsa.RSAPrivateKey] = {}
        self._lab_next: weakref.WeakKeyDictionary[object, dict[int, int]] = (
            weakref.WeakKeyDictionary()
        )

    def enable(self, on: bool = True) -> None:
        self.enabled = on

    def fill(self, bits: int, count: int) -> None:
        keys = self._keys[bits]
        while len(keys) < count:
            keys.append(generate_rsa(bits))

    def take(self, bits: int) -> rsa.RSAPrivateKey:
        index = self._next[bits]
        self.fill(bits, index + 1)
        self._next[bits] = index + 1
        return self._keys[bits][index]

    def rewind(self) -> None:
        """Hand the same pre-generated keys out again, from the first."""
        self._next.clear()

    def fixed(self, lab: object, bits: int) -> rsa.RSAPrivateKey:
        """The next key of ``bits`` in ``lab``'s fixed sequence."""
        counters = self._lab_next.setdefault(lab, defaultdict(int))
        index = counters[bits]
        counters[bits] = index + 1
        if (bits, index) not in self._fixed:
            self._fixed[(bits, index)] = seeded_rsa(bits, f"iosemu-lab-key-{bits}-{index}")
        return self._fixed[(bits, index)]

    def key_for(self, router: Router, bits: int) -> rsa.RSAPrivateKey:
        if getattr(router.loop, "mode", None) == "virtual":
            return self.fixed(router.loop, bits)
        return self.take(bits) if self.enabled else generate_rsa(bits)


KEY_POOL = KeyPool()


def new_key(router: Router, bits: int) -> rsa.RSAPrivateKey:
    """A new key pair of ``bits`` for ``router`` (see ``KeyPool`` for where it comes from)."""
    return KEY_POOL.key_for(router, bits)


def seeded_rsa(bits: int, seed: str, e: int = 65537) -> rsa.RSAPrivateKey:
    """An RSA key that depends only on ``seed`` (random.Random: not a secret)."""
    rng = random.Random(seed)
    p = random_prime(bits // 2, e, rng)
    q = random_prime(bits - bits // 2, e, rng)
    while q == p:
        q = random_prime(bits - bits // 2, e, rng)
    return private_key_from_primes(p, q, e)


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
        key = new_key(self.router, bits)
        elapsed = max(1, bits // 1024)
        await asyncio.sleep(elapsed)  # IOS is slow at this; the lab clock says how slow
        pair = KeyPair(label, key, self.router.clock.utc(), exportable, redundancy)
        self.pairs[label] = pair
        return pair, elapsed


def default_label(ctx: Ctx) -> str | None:
    return router_default_label(ctx.router)


def router_default_label(router: Router) -> str | None:
    """``hostname.domain``: the router's general-purpose key (SSH's too); None without a
    domain name."""
    domain = router.feature(Dns).domain
    return f"{router.hostname}.{domain}" if domain else None


def log_ssh_enabled(router: Router, pair: KeyPair) -> None:
    """A new default key turns SSH on: 1.99 from 768 bits up, 1.5 below (reference §7.4)."""
    if pair.label == router_default_label(router):
        version = "1.99" if pair.bits >= 768 else "1.5"
        router.log.log("SSH", 5, "ENABLED", f"SSH {version} has been enabled")


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
    pair, elapsed = await keys.generate(name, modulus, exportable, ctx.has("redundancy"))
    ctx.print(f"[OK] (elapsed time was {elapsed} seconds)", "")
    log_ssh_enabled(ctx.router, pair)


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


def legacy_pem(key: rsa.RSAPrivateKey, passphrase: str, cipher: str) -> str:
    """The private key as IOS exports it: PKCS#1 PEM under OpenSSL's old encryption
    (``DEK-Info: DES-EDE3-CBC`` for ``3des``, ``DES-CBC`` for ``des``; the key from the
    passphrase by EVP_BytesToKey with MD5, the IV as salt)."""
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    iv = os.urandom(8)
    size = 24 if cipher == "3des" else 8
    material, block = b"", b""
    while len(material) < size:
        block = hashlib.md5(block + passphrase.encode() + iv).digest()
        material += block
    secret = material[:size] * (24 // size)  # single DES is 3DES with one key thrice
    pad = 8 - len(der) % 8
    encryptor = Cipher(TripleDES(secret), modes.CBC(iv)).encryptor()
    body = encryptor.update(der + bytes([pad]) * pad) + encryptor.finalize()
    text = base64.b64encode(body).decode()
    name = "DES-EDE3-CBC" if cipher == "3des" else "DES-CBC"
    return "\n".join(
        [
            "-----BEGIN RSA PRIVATE KEY-----",
            "Proc-Type: 4,ENCRYPTED",
            f"DEK-Info: {name},{iv.hex().upper()}",
            "",
            *(text[i : i + 64] for i in range(0, len(text), 64)),
            "-----END RSA PRIVATE KEY-----",
        ]
    )


@command(
    CONFIG,
    "crypto key export rsa WORD$label pem {terminal|url WORD$url} {3des|des}$cipher "
    "WORD$passphrase",
    help="|Long term key operations|Export keys|Export RSA keys|RSA key pair label|"
    "File type to export|Export to the terminal|Export to the file system|URL to export to|"
    "Encrypt the private key with 3DES|Encrypt the private key with DES|"
    "Passphrase to encrypt the private key with",
)
async def crypto_key_export(
    ctx: Ctx, label: str, cipher: str, passphrase: str, url: str | None = None
) -> None:
    """Only a key made ``exportable`` leaves the router; the rest stay in its key storage."""
    pair = ctx.feature(Keys).get(label)
    if pair is None:
        raise CommandError(f"% RSA keypair {label} is not present.")
    if not pair.exportable:
        raise CommandError(f"% RSA keypair {label} is not exportable.")  # invented text
    public = pair.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    private = legacy_pem(pair.key, passphrase, cipher)
    ctx.print(f"% Key name: {label}", "   Usage: General Purpose Key")
    if url is None:
        ctx.print("   Key data:", public.decode().rstrip(), private)
        return
    fs, base = parse_url(ctx.router, url)
    for what, suffix, data in (("public", "pub", public), ("private", "prv", private.encode())):
        ctx.print(f"Exporting {what} key...")
        default = f"{base or label}.{suffix}"
        name = (await ctx.ask(f"Destination filename [{default}]? ")).strip() or default
        try:
            fs.write(name.lstrip("/"), data)
        except FileSystemError as e:
            raise CommandError(str(e)) from None
        ctx.print(f"Writing file to {fs.prefix}:{name}")
