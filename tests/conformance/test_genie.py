"""Cisco's Genie parsers read our show output as a router's, and read our state.

Genie is big and slow to install, so these tests carry the ``genie`` marker and are skipped
without it (``pip install -e '.[genie]'``; README). The lab is the one the ntc-templates
tests read (test_ntc_templates.build_guide_lab): the HSRP pair, RF STANDBY HOT, the CA
server running on CA-server-2. Parsers are Genie's ``ios`` ones where Genie has them, else
``iosxe`` (``ShowCryptoPkiServer``, ``ShowStandbyBrief``, ``ShowRedundancyStates``);
``parse()`` validates Genie's schema, ``cli()`` does not.

What Genie cannot read, on a real 15.1 router as here, is pinned with the reason:
``ShowStandbyBrief`` wants a word for the interface (``Vl11``) and so matches no
``Gi0/0`` line; ``ShowRedundancyStates``' schema wants the chassis SSO lines that
inter-device redundancy does not print (test_redundancy_parsers has the details).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest.mock import Mock

import pytest
from helpers import Cli
from labproc import VtyLab
from test_ntc_templates import GI, ONE, TWO, build_guide_lab

from iosemu.api import Lab
from iosemu.device.router import IMAGE_NAME
from iosemu.features.hsrp import Hsrp
from iosemu.features.interfaces import Interfaces
from iosemu.features.pki.server import CertificateServer
from iosemu.features.redundancy import Redundancy
from iosemu.features.system import System
from iosemu.inventory import Credentials, render
from iosemu.lab.topology import load_lab
from iosemu.serve import read_run_file

pytest.importorskip("genie.libs.parser")
pytestmark = pytest.mark.genie

from genie.libs.parser.ios.show_crypto import ShowCryptoPkiCertificates  # noqa: E402
from genie.libs.parser.ios.show_interface import ShowIpInterfaceBrief  # noqa: E402
from genie.libs.parser.ios.show_platform import ShowVersion  # noqa: E402
from genie.libs.parser.ios.show_standby import ShowStandbyAll, ShowStandbyDelay  # noqa: E402
from genie.libs.parser.ios.show_system import ShowClock  # noqa: E402
from genie.libs.parser.iosxe.show_crypto import ShowCryptoPkiServer  # noqa: E402
from genie.libs.parser.iosxe.show_platform import ShowRedundancyStates  # noqa: E402
from genie.libs.parser.iosxe.show_standby import ShowStandbyBrief  # noqa: E402
from genie.metaparser.util.exceptions import (  # noqa: E402
    SchemaEmptyParserError,
    SchemaMissingKeyError,
)


@pytest.fixture(scope="module")
def guide_lab() -> Iterator[Lab]:
    lab = build_guide_lab()
    yield lab
    lab.close()


def genie(parser: type, lab: Lab, command: str, name: str = TWO) -> Any:
    return parser(device=Mock()).parse(output=Cli(lab, name)(command))


def test_show_crypto_pki_server(guide_lab: Lab) -> None:
    server = guide_lab.router(TWO).feature(CertificateServer)
    ca = server.ca_cert()
    assert ca is not None
    parsed = genie(ShowCryptoPkiServer, guide_lab, "show crypto pki server")
    pki = parsed["server"]["PKI-HA"]
    assert (pki["status"], pki["state"], pki["issuer"]) == ("enabled", "enabled", "CN=PKI-HA")
    assert pki["grant_mode"] == "manual" and pki["primary_storage"] == "nvram:"
    assert pki["last_serial_num"] == f"{ca.serial_number:X}"
    end = ca.not_valid_after_utc
    assert pki["ca_expiry_timer"] == f"{end:%H:%M:%S} UTC {end:%b} {end.day} {end.year}"


def test_show_crypto_pki_certificates(guide_lab: Lab) -> None:
    ca = guide_lab.router(TWO).feature(CertificateServer).ca_cert()
    assert ca is not None
    parsed = genie(ShowCryptoPkiCertificates, guide_lab, "show crypto pki certificates")
    cert = parsed["trustpoints"]["PKI-HA"]["associated_trustpoints"]["ca_certificate"]
    assert (cert["status"], cert["usage"]) == ("Available", "Signature")
    assert cert["serial_number_in_hex"] == f"{ca.serial_number:02X}"
    assert cert["issuer"] == cert["subject"] == {"cn": "PKI-HA"}
    assert cert["storage"] == "nvram:PKI-HA#1CA.cer"


def test_show_standby_all_and_delay(guide_lab: Lab) -> None:
    for name, peer in ((TWO, "10.1.32.83"), (ONE, "10.1.32.84")):
        group = guide_lab.router(name).feature(Hsrp).group(GI, 0, create=False)
        assert group is not None
        parsed = genie(ShowStandbyAll, guide_lab, "show standby", name)
        g = parsed[GI]["address_family"]["ipv4"]["version"][1]["groups"][0]
        assert g["hsrp_router_state"] == group.state.value.lower()
        assert g["primary_ipv4_address"] == {"address": "10.1.32.86"}
        assert (g["priority"], g["configured_priority"], g["session_name"]) == (50, 50, "SB")
        assert g["timers"]["hello_sec"] == 3 and g["timers"]["hold_sec"] == 10
        if group.state.value == "Active":
            assert (g["active_router"], g["standby_router"]) == ("local", peer)
        else:
            assert g["active_router"] == peer
        # Genie's Preemption rule sets True whatever the word: "Preemption disabled" too.
        assert g["preempt"] is True
        delay = genie(ShowStandbyDelay, guide_lab, "show standby delay", name)
        assert delay == {GI: {"delay": {"minimum_delay": 30, "reload_delay": 60}}}


def test_show_standby_brief_is_beyond_genie(guide_lab: Lab) -> None:
    text = Cli(guide_lab, TWO)("show standby brief")
    assert "\nGi0/0       0    50    Active  local           10.1.32.83      10.1.32.86" in text
    with pytest.raises(SchemaEmptyParserError):
        ShowStandbyBrief(device=Mock()).parse(output=text)


def test_show_redundancy_states_cli(guide_lab: Lab) -> None:
    unit = guide_lab.router(TWO).feature(Redundancy)
    text = Cli(guide_lab, TWO)("show redundancy states")
    parsed = ShowRedundancyStates(device=Mock()).cli(output=text)
    assert (parsed["my_state"], parsed["peer_state"]) == ("13 -ACTIVE", "8  -STANDBY HOT")
    assert parsed["mode"] == ("Duplex" if unit.duplex else "Simplex") == "Duplex"
    assert parsed["communications"] == "Up"
    with pytest.raises(SchemaMissingKeyError):
        ShowRedundancyStates(device=Mock()).parse(output=text)


def test_show_version(guide_lab: Lab) -> None:
    router = guide_lab.router(TWO)
    version = genie(ShowVersion, guide_lab, "show version")["version"]
    assert version["hostname"] == router.hostname
    assert (version["version"], version["os"], version["chassis"]) == ("15.1(3)T", "IOS", "3825")
    assert version["chassis_sn"] == router.feature(System).board_id
    assert version["system_image"] == f"flash:{IMAGE_NAME}"
    assert version["curr_config_register"] == "0x2102"
    assert version["last_reload_reason"] == "Reload Command"


def test_show_ip_interface_brief(guide_lab: Lab) -> None:
    interfaces = guide_lab.router(TWO).feature(Interfaces).interfaces
    parsed = genie(ShowIpInterfaceBrief, guide_lab, "show ip interface brief")["interface"]
    assert set(parsed) == set(interfaces)
    for name, iface in interfaces.items():
        row = parsed[name]
        address = str(iface.address.ip) if iface.address else "unassigned"
        assert (row["ip_address"], row["status"]) == (address, iface.status)
        assert row["protocol"] == ("up" if iface.protocol_up else "down")


def test_show_clock(guide_lab: Lab) -> None:
    now = guide_lab.router(TWO).clock.utc()
    parsed = genie(ShowClock, guide_lab, "show clock")
    assert parsed == {
        "time": f"{now:%H:%M:%S}.{now.microsecond // 1000:03d}",
        "timezone": "UTC",
        "day_of_week": f"{now:%a}",
        "month": f"{now:%b}",
        "day": str(now.day),
        "year": str(now.year),
    }


@pytest.mark.skipif(shutil.which("telnet") is None, reason="unicon spawns a telnet binary")
def test_unicon_connects_with_the_inventorys_testbed(vty_lab: VtyLab, tmp_path: Path) -> None:
    """``iosemu inventory -f pyats`` of a running lab, loaded by pyATS: unicon logs in on
    the console (``cli``), over SSH and by telnet to the vty lines, and Genie parses."""
    from pyats.topology import loader

    run = read_run_file(vty_lab.state)
    assert run is not None
    testbed = tmp_path / "testbed.yml"
    creds = Credentials("admin", "admin", "cisco")
    testbed.write_text(render(load_lab(vty_lab.lab_file), "pyats", run, creds))
    device = loader.load(str(testbed)).devices[vty_lab.take()]  # one with an RSA key
    for via in ("cli", "ssh", "vty"):
        device.connect(via=via, alias=via, log_stdout=False, learn_hostname=True)
        connection = getattr(device, via)
        try:
            assert "Cisco IOS Software" in connection.execute("show version")
        finally:
            disconnect(connection)
    device.connect(via="ssh", log_stdout=False)
    try:
        assert device.parse("show version")["version"]["hostname"] == "R"
    finally:
        disconnect(device.default)


def disconnect(connection: Any) -> None:
    """Without unicon's ten-second waits for a graceful end (the router hangs up at once)."""
    connection.settings.GRACEFUL_DISCONNECT_WAIT_SEC = 0
    connection.settings.POST_DISCONNECT_WAIT_SEC = 0
    connection.disconnect()
