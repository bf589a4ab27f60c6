"""Run show commands on a router's telnet console with pexpect, and check what they say.

With a lab running (any of examples/labs/), for instance the CA pair::

    iosemu lab examples/labs/pki-ha-ca.yml --no-attach --state /tmp/pki-ha-ca
    python examples/pexpect_console.py --port 2002 "show crypto pki server" \\
        --expect "Status: enabled"

The script connects to the console port, presses Return until the router shows a prompt
(a router still booting drops what is typed), enters privileged EXEC, turns paging off,
runs each command and prints its output. Each ``--expect REGEX`` must match the output of
some command, or the exit status is 1. Without commands it runs ``show standby brief`` and
``show redundancy states``.

The console is raw telnet: the router opens with IAC WILL ECHO / WILL SGA and needs no
answer, so a plain socket under pexpect's ``fdspawn`` is all it takes (no telnet binary).
"""

from __future__ import annotations

import argparse
import re
import socket
import sys

import pexpect
from pexpect import fdpexpect

DEFAULT_COMMANDS = ["show standby brief", "show redundancy states"]
# A prompt at the end of what came so far: the hostname, then > or #.
PROMPT = re.compile(rb"\n([A-Za-z][\w.-]*)([>#]) ?$")


class Console:
    """One router's console: ``run(command)`` returns the command's output."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        sock = socket.create_connection((host, port), timeout=timeout)
        sock.settimeout(None)
        self.child = fdpexpect.fdspawn(sock.detach(), timeout=timeout)
        self.hostname = ""
        self.wake(timeout)

    def wake(self, timeout: float) -> None:
        """Press Return until a prompt comes (retrying: a booting router drops keys)."""
        for _ in range(max(1, int(timeout))):
            self.child.send(b"\r")
            try:
                self.child.expect(PROMPT, timeout=1)
                break
            except pexpect.TIMEOUT:
                continue
        else:
            raise TimeoutError("no prompt on the console")
        match = self.child.match
        assert isinstance(match, re.Match)
        self.hostname = match.group(1).decode()
        if match.group(2) == b">":
            self.child.send(b"enable\r")
            # A router with an enable secret asks for it; the lab's routers have none.
            if self.child.expect([b"Password: ", f"{self.hostname}#".encode()]) == 0:
                raise SystemExit(f"{self.hostname} asks for an enable secret")
        self.run("terminal length 0")

    def run(self, command: str) -> str:
        self.child.send(command.encode() + b"\r")
        self.child.expect_exact(f"{self.hostname}#".encode())
        before = self.child.before
        assert isinstance(before, bytes)
        # What came back is the echo, the output, then the prompt (\r\n line ends).
        lines = before.decode(errors="replace").replace("\r\n", "\n").split("\n")
        return "\n".join(lines[1:]).rstrip("\n")

    def close(self) -> None:
        self.child.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("commands", nargs="*", help="EXEC commands to run")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2001, help="the console port (default 2001)")
    parser.add_argument(
        "--expect", action="append", default=[], metavar="REGEX", help="must match some output"
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for output")
    args = parser.parse_args(argv)
    console = Console(args.host, args.port, args.timeout)
    outputs = []
    try:
        for command in args.commands or DEFAULT_COMMANDS:
            out = console.run(command)
            print(f"{console.hostname}#{command}\n{out}")
            outputs.append(out)
    finally:
        console.close()
    missing = [r for r in args.expect if not any(re.search(r, out) for out in outputs)]
    for regex in missing:
        print(f"pexpect_console: nothing matched {regex!r}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
