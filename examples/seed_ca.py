"""Start the guide's certificate server once, into a state directory (steps 5-6 of the guide).

    python examples/seed_ca.py --state /tmp/pki-ha-ca
    iosemu lab examples/labs/pki-ha-ca.yml --state /tmp/pki-ha-ca

A running CA is its configuration (examples/labs/configs/ca-server-*-ca.cfg) and what its
first start makes: the non-exportable RSA keys and the self-signed CA certificate, which
IOS keeps in NVRAM. This script boots examples/labs/pki-ha-ca.yml with its NVRAM in
``--state`` (on the virtual clock: a lab minute takes milliseconds), waits for the pair
(steps 1-4 are in the startup configurations), starts the server on the ACTIVE unit with
``crypto pki server PKI-HA start``, waits until the STANDBY holds the same CA, and saves
both configurations. ``iosemu lab`` with the same ``--state`` then boots both routers
from their NVRAM, CA running: ACTIVE serves, STANDBY is ready to take over.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from labconsole import RouterConsole

from iosemu.api import Lab
from iosemu.features.pki.server import CertificateServer
from iosemu.features.redundancy import STANDBY_HOT, Redundancy
from iosemu.lab.topology import load_lab

LAB_FILE = Path(__file__).resolve().parent / "labs" / "pki-ha-ca.yml"
WAIT = 600.0  # lab seconds: the pair forms in about 110 (HSRP's reload delay is 60)


async def until(lab: Lab, condition: object, what: str) -> None:
    """Let lab time pass until ``condition()`` holds (virtual time: no real waiting)."""
    deadline = lab.loop.time() + WAIT
    while not condition():  # type: ignore[operator]
        if lab.loop.time() > deadline:
            raise SystemExit(f"seed_ca: no {what} after {WAIT:g} lab seconds")
        await asyncio.sleep(1)


def seed(state: Path, passphrase: str, echo: bool = True) -> str:
    """Make ``state`` hold the pair with its CA started; returns the active's name."""
    spec = load_lab(LAB_FILE)
    # Lab time starts now, an hour back: `iosemu lab` runs on the real clock later, and the
    # CA certificate must be valid then (the virtual clock runs ahead of the real one).
    spec.start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    with Lab(spec, clock="virtual", state_dir=state, fresh=True) as lab:
        lab.run(lab.start())
        rf = {name: lab.router(name).feature(Redundancy) for name in lab.routers}
        lab.run(until(lab, lambda: any(r.my_state == STANDBY_HOT for r in rf.values()), "pair"))
        active = next(name for name, r in rf.items() if r.role == "active")
        standby = next(name for name in lab.routers if name != active)
        console = RouterConsole(lab, active, echo)
        # Step 5: start the server configured in the startup configuration.
        console("crypto pki server PKI-HA start", passphrase, passphrase)
        server = lab.router(standby).feature(CertificateServer)
        lab.run(until(lab, lambda: server.enabled, "CA on the standby"))
        # Step 6: the keys are on both units.
        console("show crypto pki server")
        RouterConsole(lab, standby, echo)("show crypto pki server")
        for name in lab.routers:
            RouterConsole(lab, name, echo)("write memory")
    return active


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--state", required=True, help="the lab's state directory (wiped first)")
    parser.add_argument("--passphrase", default="cisco123", help="the CA key's passphrase")
    args = parser.parse_args(argv)
    active = seed(Path(args.state), args.passphrase)
    print(f"\nThe CA runs on {active}. Start the lab with:")
    print(f"  iosemu lab {LAB_FILE} --state {args.state}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
