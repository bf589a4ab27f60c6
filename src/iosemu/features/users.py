"""Local user names: ``username NAME [privilege N] {secret|password} ...``.

This is the database ``login local`` checks on vty lines (telnet and SSH). A secret is kept
as IOS keeps it, an MD5-crypt hash (type 5); a password in clear, shown as type 0 or, with
``service password-encryption``, type 7. A user's privilege (1 unless given) is the level
its exec starts at.
"""

from __future__ import annotations

from dataclasses import dataclass

from iosemu.device.router import Feature, Router
from iosemu.features.access import (
    _salt,
    check_md5_crypt,
    md5_crypt,
    parse_password,
    render_password,
)
from iosemu.parser.grammar import CONFIG, command
from iosemu.session import CommandError, Ctx


@dataclass
class User:
    name: str
    privilege: int | None = None  # None: not configured (level 1)
    secret: str | None = None  # md5-crypt hash
    password: str | None = None  # clear text

    def check(self, attempt: str) -> bool:
        if self.secret is not None:
            return check_md5_crypt(attempt, self.secret)
        return self.password is not None and attempt == self.password

    def rendered(self, router: Router) -> str:
        words = [f"username {self.name}"]
        if self.privilege is not None and self.privilege != 1:
            words.append(f"privilege {self.privilege}")
        if self.secret is not None:
            words.append(f"secret 5 {self.secret}")
        elif self.password is not None:
            shown = render_password(router, self.password)
            # IOS spells out type 0 for a user's password (never for a line's).
            words.append(f"password {shown if shown.startswith('7 ') else '0 ' + shown}")
        return " ".join(words)


class Users(Feature):
    def __init__(self, router: Router) -> None:
        super().__init__(router)
        self.users: dict[str, User] = {}

    def config(self, slot: str) -> list[str]:
        if slot != "users" or not self.users:
            return []
        return [user.rendered(self.router) for user in self.users.values()] + ["!"]

    def check(self, name: str, attempt: str) -> User | None:
        """The user ``name`` if ``attempt`` is its secret or password (user names are exact)."""
        user = self.users.get(name)
        return user if user is not None and user.check(attempt) else None


_HEAD = "username WORD$name [privilege <0-15>$level]"
_HEAD_HELP = (
    "Establish User Name Authentication|User name|Set user privilege level|User privilege level"
)


def _user(ctx: Ctx, name: str, level: int | None) -> User:
    user = ctx.feature(Users).users.setdefault(name, User(name))
    if level is not None:
        user.privilege = level
    return user


@command(
    CONFIG,
    f"{_HEAD} secret [0|5]$kind LINE$secret",
    help=f"{_HEAD_HELP}|Specify the secret for the user|"
    "Specifies an UNENCRYPTED secret will follow|Specifies a HIDDEN secret will follow|"
    "The UNENCRYPTED (cleartext) user secret",
)
def username_secret(
    ctx: Ctx, name: str, secret: str, level: int | None = None, kind: str = "0"
) -> None:
    if kind == "5" and (not secret.startswith("$1$") or secret.count("$") != 3):
        raise CommandError("ERROR: The secret you entered is not a valid encrypted secret.")
    user = _user(ctx, name, level)
    user.secret = secret if kind == "5" else md5_crypt(secret, _salt())
    user.password = None


@command(
    CONFIG,
    f"{_HEAD} password [0|7]$kind LINE$password",
    help=f"{_HEAD_HELP}|Specify the password for the user|"
    "Specifies an UNENCRYPTED password will follow|Specifies a HIDDEN password will follow|"
    "The UNENCRYPTED (cleartext) user password",
)
def username_password(
    ctx: Ctx, name: str, password: str, level: int | None = None, kind: str | None = None
) -> None:
    clear = parse_password(int(kind) if kind else None, password)
    user = _user(ctx, name, level)
    user.password = clear
    user.secret = None


@command(
    CONFIG,
    "[no] username WORD$name privilege <0-15>$level",
    help=_HEAD_HELP,
    no_syntax="username WORD$name",
)
def username_privilege(ctx: Ctx, name: str, level: int | None = None) -> None:
    if ctx.negate:
        ctx.feature(Users).users.pop(name, None)
        return
    _user(ctx, name, level)
