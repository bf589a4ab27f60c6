"""``iosemu inventory``: the four shapes, the ports they carry, and where the ports come from.

The shapes are the ones the tools document and containerlab/CML generate: Ansible's
``all.children.GROUP.hosts`` with ``ansible_host``/``ansible_port``, Nornir's SimpleInventory
hosts file, the pyATS testbed ``devices: X: os: ios, connections: cli: {protocol: telnet,
ip, port}``, and netmiko's ``.netmiko.yml`` (device dicts plus a group list).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from iosemu.cli import main
from iosemu.inventory import Credentials, inventory, lab_ports, render
from iosemu.lab.topology import LabSpec, parse_lab

LAB = {
    "name": "pair",
    "console-base": 5000,
    "topology": {
        "nodes": {
            "R1": {},
            "R2": {"console": 5999, "ssh": 6022},
        },
        "links": [{"endpoints": ["R1:Gi0/0", "R2:GigabitEthernet0/0"]}],
    },
}


@pytest.fixture
def spec() -> LabSpec:
    return parse_lab(LAB)


def test_ports_follow_the_lab_file(spec: LabSpec) -> None:
    r1, r2 = lab_ports(spec)
    assert (r1.console, r1.ssh, r1.telnet) == (
        ("127.0.0.1", 5001),
        ("127.0.0.1", 5201),  # ssh-base defaults to console-base + 200
        ("127.0.0.1", 5301),  # telnet-base to console-base + 300
    )
    assert (r2.console, r2.ssh, r2.telnet) == (
        ("127.0.0.1", 5999),
        ("127.0.0.1", 6022),
        ("127.0.0.1", 5302),
    )
    spec.ssh_base, spec.telnet_base = 7000, 8000
    assert [(r.ssh[1], r.telnet[1]) for r in lab_ports(spec)] == [(7001, 8001), (6022, 8002)]


def test_a_running_labs_run_file_wins(spec: LabSpec) -> None:
    run = {
        "consoles": {"R1": {"host": "127.0.0.1", "port": 41001}},
        "ssh": {"R1": {"host": "127.0.0.1", "port": 41201}},
    }
    r1, r2 = lab_ports(spec, run)
    assert (r1.console[1], r1.ssh[1], r1.telnet[1]) == (41001, 41201, 5301)
    assert r2.console[1] == 5999


def test_pyats_testbed(spec: LabSpec) -> None:
    data = inventory(spec, "pyats", creds=Credentials("admin", "admin", "cisco"))
    assert data["testbed"] == {
        "name": "pair",
        "credentials": {
            "default": {"username": "admin", "password": "admin"},
            "enable": {"password": "cisco"},
        },
    }
    r1 = data["devices"]["R1"]
    assert (r1["os"], r1["type"]) == ("ios", "router")
    assert r1["connections"] == {
        "defaults": {"class": "unicon.Unicon", "via": "cli"},
        "cli": {"protocol": "telnet", "ip": "127.0.0.1", "port": 5001},
        "ssh": {"protocol": "ssh", "ip": "127.0.0.1", "port": 5201},
        "vty": {"protocol": "telnet", "ip": "127.0.0.1", "port": 5301},
    }
    assert data["topology"] == {
        "R1": {"interfaces": {"GigabitEthernet0/0": {"link": "link-1", "type": "ethernet"}}},
        "R2": {"interfaces": {"GigabitEthernet0/0": {"link": "link-1", "type": "ethernet"}}},
    }
    assert inventory(spec, "pyats", via="ssh")["devices"]["R2"]["connections"]["defaults"] == {
        "class": "unicon.Unicon",
        "via": "ssh",
    }


def test_ansible_inventory_is_ssh_only(spec: LabSpec) -> None:
    data = inventory(spec, "ansible")
    group = data["all"]["children"]["ios"]
    assert group["vars"] == {
        "ansible_network_os": "cisco.ios.ios",
        "ansible_connection": "ansible.netcommon.network_cli",
        "ansible_user": "admin",
        "ansible_password": "admin",
    }
    assert group["hosts"]["R2"] == {
        "ansible_host": "127.0.0.1",
        "ansible_port": 6022,
        "iosemu_console": "telnet 127.0.0.1 5999",
    }
    with_secret = inventory(spec, "ansible", creds=Credentials(secret="cisco"))
    assert with_secret["all"]["children"]["ios"]["vars"]["ansible_become_password"] == "cisco"
    with pytest.raises(ValueError, match="SSH only"):
        inventory(spec, "ansible", via="console")


def test_nornir_hosts(spec: LabSpec) -> None:
    console = inventory(spec, "nornir")
    assert console["R1"]["hostname"] == "127.0.0.1" and console["R1"]["port"] == 5001
    assert console["R1"]["platform"] == "cisco_ios_telnet"
    assert console["R1"]["connection_options"]["scrapli"] == {
        "platform": "cisco_iosxe",
        "extras": {"transport": "telnet", "auth_strict_key": False, "auth_secondary": ""},
    }
    ssh = inventory(spec, "nornir", via="ssh")
    assert (ssh["R2"]["port"], ssh["R2"]["platform"]) == (6022, "cisco_ios")
    assert ssh["R2"]["connection_options"]["scrapli"]["extras"]["transport"] == "system"


def test_netmiko_devices_and_group(spec: LabSpec) -> None:
    data = inventory(spec, "netmiko", via="telnet", creds=Credentials("op", "op", "cisco"))
    assert data["R1"] == {
        "device_type": "cisco_ios_telnet",
        "host": "127.0.0.1",
        "port": 5301,
        "username": "op",
        "password": "op",
        "secret": "cisco",
    }
    assert data["pair"] == ["R1", "R2"]
    assert inventory(spec, "netmiko", via="ssh")["R1"]["device_type"] == "cisco_ios"


def test_rendered_yaml_reads_back(spec: LabSpec) -> None:
    for fmt in ("ansible", "nornir", "pyats", "netmiko"):
        text = render(spec, fmt)
        assert text.startswith(f"# {fmt} inventory of iosemu lab pair, ports from the lab file")
        assert yaml.safe_load(text) == inventory(spec, fmt)
    with pytest.raises(ValueError, match="unknown format"):
        inventory(spec, "cml")


def test_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lab_file = tmp_path / "pair.yml"
    lab_file.write_text(yaml.safe_dump(LAB))
    state = tmp_path / "state"  # no run file: the lab is not running
    out = tmp_path / "testbed.yml"
    args = ["inventory", str(lab_file), "--format", "pyats", "--state", str(state)]
    assert main([*args, "-o", str(out)]) == 0
    testbed = yaml.safe_load(out.read_text())
    assert testbed["devices"]["R1"]["connections"]["cli"]["port"] == 5001
    assert main(["inventory", "pki-ha", "-f", "netmiko", "--state", str(state)]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["CA-server-1"]["port"] == 2001 and printed["pki-ha"] == [
        "CA-server-1",
        "CA-server-2",
    ]
    assert main([*args[:2], "-f", "ansible", "--via", "telnet", "--state", str(state)]) == 2
    assert "SSH only" in capsys.readouterr().err
