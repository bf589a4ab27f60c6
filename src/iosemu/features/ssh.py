"""The SSH server's settings and state: ``ip ssh ...``, ``show ip ssh``, ``show ssh``.

As on IOS there is no SSH without an RSA key: the host key is the pair ``ip ssh rsa
keypair-name`` names, else the one named ``hostname.domain`` (what ``crypto key generate
rsa`` makes by default). ``%SSH-5-ENABLED`` is logged where the key is made (pki/keys.py,
in the middle of an enrollment's dialog when that makes it) and at boot when NVRAM has the
key; ``%SSH-5-DISABLED`` here, after the command that took the key away (zeroized, or
renamed away by a new hostname or domain). SSH version 1 is not served (keys under 768 bits
give IOS an SSH 1.5 server only, so here they give none). The server itself is a front end
(console/ssh.py); it records its connections here for ``show ssh``.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization

from iosemu.device.router import Feature, Router
from iosemu.features.dns import Dns
from iosemu.features.pki.keys import KeyPair, Keys
from iosemu.parser.grammar import CONFIG, EXEC, command
from iosemu.session import AFTER_CONFIG_COMMAND, Ctx

MIN_V2_BITS = 768  # IOS serves SSH v2 only with a key at least this long
DEFAULT_TIMEOUT = 120
DEFAULT_RETRIES = 3
NO_KEYS = "%Please create RSA keys to enable SSH (and of atleast 768 bits for SSH v2)."


@dataclass
class SshConnection:
    """One SSH connection for ``show ssh``: on IOS its number is the vty line's."""

    vty: int
    cipher: str
    mac: str
    username: str
    state: str = "Session started"


class Ssh(Feature):
    def __init__(self, router: Router) -> None:
        super().__init__(router)
        self.version: int | None = None  # None: 1.99 (both versions), else 1 or 2
        self.timeout = DEFAULT_TIMEOUT
        self.retries = DEFAULT_RETRIES
        self.keypair_name: str | None = None
        self.connections: list[SshConnection] = []
        self._enabled_as: str | None = None  # the version text %SSH-5-ENABLED said

    # --- the host key and what it enables -------------------------------------------

    def key_label(self) -> str | None:
        if self.keypair_name is not None:
            return self.keypair_name
        domain = self.router.feature(Dns).domain
        return f"{self.router.hostname}.{domain}" if domain else None

    def key(self) -> KeyPair | None:
        """The key SSH would use, whatever its size."""
        label = self.key_label()
        return self.router.feature(Keys).get(label) if label else None

    def version_text(self) -> str | None:
        """The SSH version IOS would serve now (``1.99``, ``2.0``, ``1.5``), None if none."""
        pair = self.key()
        if pair is None:
            return None
        if pair.bits < MIN_V2_BITS:
            return None if self.version == 2 else "1.5"
        return {None: "1.99", 1: "1.5", 2: "2.0"}[self.version]

    def host_key(self) -> KeyPair | None:
        """The key an SSH v2 client is served with; None: the SSH port refuses connections."""
        text = self.version_text()
        return self.key() if text in ("1.99", "2.0") else None

    def refresh(self, boot: bool = False) -> None:
        """Note a change of SSH's state; log ``%SSH-5-DISABLED`` (``ENABLED`` at boot)."""
        now = self.version_text()
        if now == self._enabled_as:
            return
        if self._enabled_as is not None and now is None:
            self.router.log.log("SSH", 5, "DISABLED", f"SSH {self._enabled_as} has been disabled")
        elif boot and now is not None:
            self.router.log.log("SSH", 5, "ENABLED", f"SSH {now} has been enabled")
        self._enabled_as = now

    def started(self) -> None:
        self.refresh(boot=True)  # keys saved in NVRAM enable SSH at boot, as IOS logs then

    # --- configuration --------------------------------------------------------------

    def config(self, slot: str) -> list[str]:
        if slot != "ip-ssh":
            return []
        out = []
        if self.timeout != DEFAULT_TIMEOUT:
            out.append(f"ip ssh time-out {self.timeout}")
        if self.retries != DEFAULT_RETRIES:
            out.append(f"ip ssh authentication-retries {self.retries}")
        if self.keypair_name is not None:
            out.append(f"ip ssh rsa keypair-name {self.keypair_name}")
        if self.version is not None:
            out.append(f"ip ssh version {self.version}")
        return [*out, "!"] if out else []


def _refresh(router: Router) -> None:
    router.feature(Ssh).refresh()


# Zeroization, a new hostname or domain: any configuration command may take SSH's key away,
# and IOS logs that right after the command.
AFTER_CONFIG_COMMAND.append(_refresh)


@command(
    CONFIG,
    "[no] ip ssh version <1-2>$version",
    help="|Configure ssh options|Specify protocol version to be supported|Protocol version",
    no_syntax="ip ssh version [<1-2>$version]",
)
def ip_ssh_version(ctx: Ctx, version: int | None = None) -> None:
    ssh = ctx.feature(Ssh)
    ssh.version = None if ctx.negate else version
    if not ctx.negate and ssh.key() is None and not ctx.session.booting:
        ctx.print(NO_KEYS[1:])  # IOS prints it without the leading %


@command(
    CONFIG,
    "[no] ip ssh time-out <1-120>$seconds",
    help="||Specify SSH time-out interval|SSH time-out interval (secs)",
    no_syntax="ip ssh time-out [<1-120>$seconds]",
)
def ip_ssh_timeout(ctx: Ctx, seconds: int = DEFAULT_TIMEOUT) -> None:
    ctx.feature(Ssh).timeout = DEFAULT_TIMEOUT if ctx.negate else seconds


@command(
    CONFIG,
    "[no] ip ssh authentication-retries <0-5>$count",
    help="||Specify number of authentication retries|Number of authentication retries",
    no_syntax="ip ssh authentication-retries [<0-5>$count]",
)
def ip_ssh_retries(ctx: Ctx, count: int = DEFAULT_RETRIES) -> None:
    ctx.feature(Ssh).retries = DEFAULT_RETRIES if ctx.negate else count


@command(
    CONFIG,
    "[no] ip ssh rsa keypair-name WORD$label",
    help="||Configure RSA keypair name for SSH|Configure RSA keypair name for SSH|RSA keypair name",
    no_syntax="ip ssh rsa keypair-name [WORD$label]",
)
def ip_ssh_keypair(ctx: Ctx, label: str | None = None) -> None:
    ctx.feature(Ssh).keypair_name = None if ctx.negate else label


def secsh_lines(pair: KeyPair) -> list[str]:
    """The public key as ``show ip ssh`` prints it: ``ssh-rsa BASE64``, wrapped at 80."""
    blob = pair.key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    text = blob.decode()
    return [text[i : i + 80] for i in range(0, len(text), 80)]


@command(EXEC, "show ip ssh", help="||Information on SSH", priv=1)
def show_ip_ssh(ctx: Ctx) -> None:
    ssh = ctx.feature(Ssh)
    text = ssh.version_text()
    shown = text or ("2.0" if ssh.version == 2 else "1.99" if ssh.version is None else "1.5")
    ctx.print(f"SSH {'Enabled' if text else 'Disabled'} - version {shown}")
    if text is None:
        ctx.print(NO_KEYS)
    ctx.print(
        f"Authentication timeout: {ssh.timeout} secs; Authentication retries: {ssh.retries}",
        "Minimum expected Diffie Hellman key size : 1024 bits",
    )
    pair = ssh.key()
    if pair is None:
        ctx.print("IOS Keys in SECSH format(ssh-rsa, base64 encoded): NONE")
        return
    ctx.print("IOS Keys in SECSH format(ssh-rsa, base64 encoded):", *secsh_lines(pair))


@command(EXEC, "show ssh", help="|Status of SSH server connections", priv=1)
def show_ssh(ctx: Ctx) -> None:
    ssh = ctx.feature(Ssh)
    if not ssh.connections:
        ctx.print("%No SSHv2 server connections running.")
    else:
        ctx.print("Connection Version Mode Encryption  Hmac         State                 Username")
        for c in ssh.connections:
            for mode in ("IN", "OUT"):
                ctx.print(
                    f"{c.vty:<10} {'2.0':<7} {mode:<4} {c.cipher:<11} {c.mac:<12} "
                    f"{c.state:<21} {c.username}"
                )
    if ssh.version != 2:
        ctx.print("%No SSHv1 server connections running.")
