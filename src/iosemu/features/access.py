"""Privilege: ``enable``/``disable`` and the ``enable secret``/``enable password`` that guard it.

``enable secret`` is stored as IOS stores it, an MD5-crypt hash (type 5). The algorithm is
written out here (it is short, fixed since 1994, and the libraries that carried it are no
longer maintained: passlib's last release is from 2020, ``crypt`` left the standard
library in 3.13).
"""

from __future__ import annotations

import hashlib
import secrets

from iosemu.device.router import Feature, Router
from iosemu.parser.grammar import CONFIG, EXEC, command
from iosemu.session import CommandError, Ctx

_ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _to64(value: int, length: int) -> str:
    out = ""
    for _ in range(length):
        out += _ITOA64[value & 0x3F]
        value >>= 6
    return out


def md5_crypt(password: str, salt: str) -> str:
    """The FreeBSD MD5-crypt hash ``$1$salt$hash`` (IOS type 5 secrets)."""
    pw = password.encode()
    salt_b = salt.encode()[:8]
    magic = b"$1$"
    alt = hashlib.md5(pw + salt_b + pw).digest()
    ctx = pw + magic + salt_b
    n = len(pw)
    while n > 0:
        ctx += alt[: min(16, n)]
        n -= 16
    i = len(pw)
    while i:
        ctx += b"\x00" if i & 1 else pw[:1]
        i >>= 1
    final = hashlib.md5(ctx).digest()
    for i in range(1000):
        step = (pw if i & 1 else final) + (salt_b if i % 3 else b"") + (pw if i % 7 else b"")
        step += final if i & 1 else pw
        final = hashlib.md5(step).digest()
    encoded = ""
    for a, b, c in ((0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5)):
        encoded += _to64((final[a] << 16) | (final[b] << 8) | final[c], 4)
    encoded += _to64(final[11], 2)
    return f"$1${salt_b.decode()}${encoded}"


def check_md5_crypt(password: str, hashed: str) -> bool:
    parts = hashed.split("$")
    return len(parts) == 4 and md5_crypt(password, parts[2]) == hashed


# IOS type 7 "encryption": a fixed XOR key, only to keep passwords off screens.
_XLAT = b"dsfd;kfoA,.iyewrkldJKDHSUBsgvca69834ncxv9873254k;fg87"


def type7_encode(password: str, seed: int = 2) -> str:
    return f"{seed:02d}" + "".join(
        f"{ord(ch) ^ _XLAT[(seed + i) % len(_XLAT)]:02X}" for i, ch in enumerate(password)
    )


def type7_decode(text: str) -> str | None:
    try:
        seed = int(text[:2])
        data = bytes.fromhex(text[2:])
    except ValueError:
        return None
    return "".join(chr(b ^ _XLAT[(seed + i) % len(_XLAT)]) for i, b in enumerate(data))


class Access(Feature):
    def __init__(self, router: Router) -> None:
        super().__init__(router)
        self.secret: str | None = None  # md5-crypt hash
        self.password: str | None = None  # clear text

    def config(self, slot: str) -> list[str]:
        if slot != "enable":
            return []
        out = []
        if self.secret:
            out.append(f"enable secret 5 {self.secret}")
        if self.password:
            out.append(f"enable password {render_password(self.router, self.password)}")
        return out

    def check(self, attempt: str) -> bool:
        if self.secret:
            return check_md5_crypt(attempt, self.secret)
        return attempt == self.password


def render_password(router: Router, clear: str) -> str:
    """A password as ``show running-config`` shows it (type 7 with service password-encryption)."""
    from iosemu.features.platform import Platform

    if router.feature(Platform).on("service password-encryption"):
        return "7 " + type7_encode(clear)
    return clear


def parse_password(level: int | None, text: str) -> str:
    """The clear text of a password typed as ``[0|7] TEXT``."""
    if level == 7:
        clear = type7_decode(text)
        if clear is None:
            raise CommandError("Invalid encrypted password: " + text)
        return clear
    return text


@command(
    CONFIG,
    "[no] enable secret [0|5]$level LINE$secret",
    help="Modify enable password parameters|Assign the privileged level secret|"
    "Specifies an UNENCRYPTED password will follow|Specifies an ENCRYPTED secret will follow|"
    "The UNENCRYPTED (cleartext) 'enable' secret",
    no_syntax="enable secret [LINE$secret]",
)
def enable_secret(ctx: Ctx, level: str | None = None, secret: str = "") -> None:
    access = ctx.feature(Access)
    if ctx.negate:
        access.secret = None
        return
    if level == "5":
        if not secret.startswith("$1$") or secret.count("$") != 3:
            raise CommandError("ERROR: The secret you entered is not a valid encrypted secret.")
        access.secret = secret
    else:
        access.secret = md5_crypt(secret, _salt())
    if access.password is not None and access.check(access.password):
        ctx.print(
            "The enable secret you have chosen is the same as your enable password.",
            "This is not recommended.  Re-enter the enable secret.",
        )


@command(
    CONFIG,
    "[no] enable password [0|7]$level LINE$password",
    help="|Assign the privileged level password|Specifies an UNENCRYPTED password will follow|"
    "Specifies a HIDDEN password will follow|The UNENCRYPTED (cleartext) 'enable' password",
    no_syntax="enable password [LINE$password]",
)
def enable_password(ctx: Ctx, level: str | None = None, password: str = "") -> None:
    access = ctx.feature(Access)
    if ctx.negate:
        access.password = None
        return
    access.password = parse_password(int(level) if level else None, password)


def _salt() -> str:
    return "".join(secrets.choice(_ITOA64) for _ in range(4))


@command(
    EXEC,
    "enable [<0-15>$level]",
    help="Turn on privileged commands|Enable level",
    priv=1,
)
async def enable(ctx: Ctx, level: int = 15) -> None:
    session = ctx.session
    if level <= session.privilege:
        session.privilege = level
        return
    access = ctx.feature(Access)
    if access.secret is None and access.password is None:
        if not session.line.startswith("con"):
            ctx.print("% No password set")
            return
        session.privilege = level
        return
    for _ in range(3):
        attempt = await ctx.ask("Password: ", echo=False)
        if access.check(attempt):
            session.privilege = level
            return
    ctx.print("% Bad secrets" if access.secret else "% Bad passwords", "")


@command(
    EXEC,
    "disable [<0-15>$level]",
    help="Turn off privileged commands|Privilege level to go to",
    priv=1,
)
def disable(ctx: Ctx, level: int = 1) -> None:
    ctx.session.privilege = min(level, ctx.session.privilege)
