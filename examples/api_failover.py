"""The Python API: power off the ACTIVE CA server and check the STANDBY takes over.

    python examples/api_failover.py

Boots examples/labs/pki-ha-step4.yml (the guide's pair, steps 1-4) on the virtual clock,
waits for ACTIVE / STANDBY HOT, starts the certificate server with ``redundancy`` on the
active (step 5), then pulls the active's power (``Lab.power_off``, no warning to anyone).
Within HSRP's hold time the standby's group goes Active, RF switches it over to ACTIVE,
and its copy of the CA serves. The whole run is a few lab minutes and about a second of
real time. Exit status 0 when every check holds.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from labconsole import RouterConsole

from iosemu.api import Lab
from iosemu.features.hsrp import Hsrp, State
from iosemu.features.pki.server import CertificateServer
from iosemu.features.redundancy import ACTIVE, STANDBY_HOT, Redundancy

LAB_FILE = Path(__file__).resolve().parent / "labs" / "pki-ha-step4.yml"
WAIT = 600.0  # lab seconds before giving up on a state


def wait_until(lab: Lab, condition: object, what: str) -> float:
    """Run the lab until ``condition()`` holds; returns the lab seconds it took."""

    async def poll() -> float:
        start = lab.loop.time()
        while not condition():  # type: ignore[operator]
            if lab.loop.time() - start > WAIT:
                raise AssertionError(f"no {what} after {WAIT:g} lab seconds")
            await asyncio.sleep(0.1)
        return lab.loop.time() - start

    return lab.run(poll())


def main() -> int:
    with Lab.open(str(LAB_FILE), clock="virtual") as lab:
        lab.run(lab.start())
        rf = {name: lab.router(name).feature(Redundancy) for name in lab.routers}
        took = wait_until(lab, lambda: any(r.my_state == STANDBY_HOT for r in rf.values()), "pair")
        active = next(name for name, r in rf.items() if r.role == "active")
        standby = next(name for name in lab.routers if name != active)
        print(
            f"# the pair formed in {took:.0f} lab seconds: {active} ACTIVE, {standby} STANDBY HOT"
        )

        # Step 5 on the active: the server and its keys reach the standby over the pair.
        console = RouterConsole(lab, active)
        console("configure terminal")
        console("crypto pki server PKI-HA")
        console("redundancy")
        console("no shutdown", "cisco123", "cisco123")
        console("end")
        backup = lab.router(standby).feature(CertificateServer)
        wait_until(lab, lambda: backup.enabled, "CA on the standby")

        print(f"# {active} loses power")
        lab.power_off(active)
        group = lab.router(standby).feature(Hsrp).group_by_name("SB")
        assert group is not None
        took = wait_until(
            lab,
            lambda: rf[standby].my_state == ACTIVE and group.state is State.ACTIVE,
            "takeover",
        )
        print(f"# {standby} took over after {took:.1f} lab seconds")
        survivor = RouterConsole(lab, standby)
        brief = survivor("show standby brief")
        states = survivor("show redundancy states")
        assert "Active  local" in brief, brief
        assert "my state = 13 -ACTIVE" in states, states
        # Its copy of the CA answers SCEP now (the standby's did not).
        assert backup.enabled and backup.scep_ca() is not None
        survivor("show crypto pki server")
    print("# takeover checked: HSRP Active, RF ACTIVE, the CA serving")
    return 0


if __name__ == "__main__":
    sys.exit(main())
