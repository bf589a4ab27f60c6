"""The examples run as examples/README.md says, against real labs, and their labs boot.

The scripts run as subprocesses, exactly as documented; the consoles they drive belong to
``iosemu lab`` processes on a scaled clock (the pair's minute of HSRP delays is seconds).
Waiting is always on output (the lab's port table, a prompt), never on sleeps.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pexpect
import pytest

from iosemu.api import Lab
from iosemu.features.redundancy import STANDBY_HOT, Redundancy
from iosemu.lab.topology import find_lab

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "console"))
from labproc import IOSEMU, START_TIMEOUT, free_port_base

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
LABS = EXAMPLES / "labs"
SCRIPT_TIMEOUT = 120.0  # real seconds a script may take on a loaded machine
# Fast enough that the pair's ~110 lab seconds pass in about three, slow enough that HSRP's
# 10 s hold time is 250 ms of real time (a loaded machine must not miss hellos).
SPEED = "40"

NEW_LABS = ["pki-ha-blank.yml", "pki-ha-step4.yml", "pki-ha-ca.yml"]


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT,
        cwd=ROOT,
        check=False,
    )


@contextmanager
def lab_process(lab_file: Path, state: Path, *options: str) -> Iterator[tuple[int, int]]:
    """``iosemu lab FILE --no-attach`` on free ports; yields the two routers' console ports."""
    base = free_port_base(2)
    args = [str(lab_file), "--no-attach", "--state", str(state), "--console-base", str(base)]
    args += ["--speed", SPEED, "--boot-delay", "0.2", *options]
    child = pexpect.spawn(str(IOSEMU), ["lab", *args], timeout=START_TIMEOUT, cwd=str(ROOT))
    try:
        # The port table is printed once every console listens.
        child.expect_exact(f"telnet 127.0.0.1 {base + 2}")
        yield base + 1, base + 2
    finally:
        child.kill(15)
        child.close(force=True)


@pytest.mark.parametrize("name", [*NEW_LABS, "pki-ha", "pki-ha-clients"])
def test_example_lab_loads_and_boots(name: str) -> None:
    spec = find_lab(str(LABS / name) if name.endswith(".yml") else name)
    for node in spec.nodes:
        # A startup-config naming a missing file would be taken as one line of config.
        assert node.startup_config is not None and "\n" in node.startup_config, node.name
    with Lab(spec, clock="virtual") as lab:
        lab.run(lab.start())
        for node in spec.nodes:
            assert lab.router(node.name).hostname == node.name
        if "blank" in name or name == "pki-ha":
            return
        # Steps 1-4 are in the configs: the pair forms (virtual time: no real waiting).
        rf = lab.router("CA-server-1").feature(Redundancy)

        async def hot() -> None:
            while rf.my_state != STANDBY_HOT:
                await asyncio.sleep(1)

        lab.run(asyncio.wait_for(hot(), 600))


def test_api_failover() -> None:
    done = run_script("examples/api_failover.py")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "takeover checked" in done.stdout


def test_netmiko_configure_pair(tmp_path: Path) -> None:
    with lab_process(LABS / "pki-ha-blank.yml", tmp_path / "state", "--fresh") as ports:
        done = run_script(
            "examples/netmiko_configure_pair.py", "--ports", *map(str, ports), "--timeout", "60"
        )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "The pair is up: CA-server-2 ACTIVE, CA-server-1 STANDBY HOT" in done.stdout


def test_seed_ca_then_pexpect_console(tmp_path: Path) -> None:
    state = tmp_path / "ca-state"
    seeded = run_script("examples/seed_ca.py", "--state", str(state))
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    assert "% Certificate Server enabled." in seeded.stdout
    # No --fresh: the routers boot from the NVRAM the seed left, CA and keys included.
    with lab_process(LABS / "pki-ha-ca.yml", state) as ports:
        for port in ports:
            done = run_script(
                "examples/pexpect_console.py",
                "--port",
                str(port),
                "show crypto pki server",
                "show crypto key mypubkey rsa",
                "--expect",
                r"Status: enabled",
                "--expect",
                r"Key name: PKI-HA\n",
            )
            assert done.returncode == 0, done.stdout + done.stderr
