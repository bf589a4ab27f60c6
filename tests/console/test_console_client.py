"""``iosemu console NAME``: a real terminal (a pty) attached to a router's console."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pexpect
from labproc import TIMEOUT, RouterPool

IOSEMU = Path(sys.executable).with_name("iosemu")


def test_console_command_attaches_and_detaches(pool: RouterPool) -> None:
    lab, node = pool.take()
    args = ["console", node, "--lab", str(lab.lab_file), "--state", str(lab.state)]
    child = pexpect.spawn(str(IOSEMU), args, timeout=TIMEOUT)
    try:
        child.expect_exact(f"Connected to {node} on 127.0.0.1:{lab.port(node)}.")
        child.expect_exact("Escape character is '^]'.\r\n")
        child.send("\r")
        child.expect_exact("\r\nR>")
        child.send("show privilege\r")
        child.expect_exact("show privilege\r\nCurrent privilege level is 1\r\nR>")
        child.send("\x1d")  # Ctrl-]
        child.expect_exact(f"Connection to {node} closed.")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0


def test_console_command_names_the_routers_of_the_lab(pool: RouterPool) -> None:
    lab, _ = pool.take()
    args = ["console", "NOPE", "--lab", str(lab.lab_file), "--state", str(lab.state)]
    done = subprocess.run([str(IOSEMU), *args], capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 1
    assert done.stderr.startswith("iosemu: no router NOPE in lab pool (R1, R2, ")
