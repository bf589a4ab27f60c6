"""``iosemu console NAME``: this terminal, in raw mode, on a router's telnet console.

Every key goes to the router as typed and the router's bytes come back as they are: this
is the same byte-exact path automation clients use. ``Ctrl-]`` leaves.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import sys
import termios
import tty

from iosemu.console.telnet import DO, DONT, IAC, WILL, WONT, TelnetDecoder

ESCAPE = b"\x1d"  # Ctrl-]


def _refusals(requests: list[tuple[int, int]]) -> bytes:
    out = bytearray()
    for verb, option in requests:
        if verb == WILL:
            out += bytes([IAC, DO, option])  # let the router echo and suppress go-ahead
        elif verb == DO:
            out += bytes([IAC, WONT, option])
        elif verb == WONT:
            out += bytes([IAC, DONT, option])
    return bytes(out)


def run_console(host: str, port: int, title: str) -> int:
    try:
        sock = socket.create_connection((host, port), timeout=5)
    except OSError as e:
        print(f"% Connection refused by remote host ({host}:{port}): {e.strerror}", file=sys.stderr)
        return 1
    sock.settimeout(None)
    print(f"Connected to {title} on {host}:{port}. Escape character is '^]'.")
    decoder = TelnetDecoder()
    stdin = sys.stdin.fileno()
    interactive = os.isatty(stdin)
    saved = termios.tcgetattr(stdin) if interactive else None
    try:
        if interactive:
            tty.setraw(stdin)
        while True:
            ready, _, _ = select.select([sock, stdin], [], [])
            if sock in ready:
                data = sock.recv(4096)
                if not data:
                    break
                payload = decoder.feed(data)
                reply = _refusals(decoder.requests)
                decoder.requests.clear()
                if reply:
                    sock.sendall(reply)
                os.write(sys.stdout.fileno(), payload)
            if stdin in ready:
                data = os.read(stdin, 1024)
                if not data or ESCAPE in data:
                    break
                sock.sendall(data.replace(b"\xff", b"\xff\xff"))
    finally:
        if saved is not None:
            termios.tcsetattr(stdin, termios.TCSADRAIN, saved)
        with contextlib.suppress(OSError):
            sock.close()
    print(f"\r\nConnection to {title} closed.")
    return 0
