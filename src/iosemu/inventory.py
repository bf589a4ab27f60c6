"""``iosemu inventory``: a lab's routers as Ansible, Nornir, pyATS and netmiko read them.

As containerlab writes ``ansible-inventory.yml`` and ``nornir-simple-inventory.yml`` for
its labs, and CML's ``cml generate`` a pyATS testbed, this writes one of four shapes for
an iosemu lab, from the ports of the running lab (its run file) or, when it is not
running, from the lab file:

* ``ansible``: ``all.children.ios.hosts.NAME`` with ``ansible_host``/``ansible_port`` (SSH:
  ``network_cli`` speaks nothing else) and the group's ``ansible_network_os: cisco.ios.ios``,
  ``ansible_connection: ansible.netcommon.network_cli`` and credentials, as containerlab.
* ``nornir``: a SimpleInventory hosts file, ``NAME: {hostname, port, platform, username,
  password, connection_options}`` with netmiko's and scrapli's platform for the transport.
* ``pyats``: a testbed, ``devices.NAME: {os: ios, type: router, connections: {cli: {protocol:
  telnet, ip, port}, ssh: ..., vty: ...}}`` (``cli`` is the console) and the links of the
  lab as its ``topology``.
* ``netmiko``: a ``.netmiko.yml``: ``NAME: {device_type, host, port, username, password,
  secret}`` and a group named after the lab listing every router.

Credentials. A console has no login until ``line con 0`` asks for one, so console entries
work on any lab. SSH and vty telnet need what IOS needs: a domain name and an RSA key
(SSH), a user and ``login local`` on the vty lines. The defaults, ``admin``/``admin`` and no
enable secret, are containerlab's for IOS and match this configuration::

    ip domain name lab
    username admin privilege 15 secret admin
    crypto key generate rsa modulus 1024
    line vty 0 4
     login local
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from iosemu.lab.topology import LabSpec

HOST = "127.0.0.1"
VIAS = ("console", "ssh", "telnet")


@dataclass(frozen=True)
class Credentials:
    username: str = "admin"
    password: str = "admin"
    secret: str = ""  # the enable secret, where a user's privilege is below 15


@dataclass(frozen=True)
class RouterPorts:
    name: str
    console: tuple[str, int]
    ssh: tuple[str, int]
    telnet: tuple[str, int]  # telnet to the vty lines

    def port(self, via: str) -> tuple[str, int]:
        return {"console": self.console, "ssh": self.ssh, "telnet": self.telnet}[via]


def lab_ports(spec: LabSpec, run: dict[str, Any] | None = None) -> list[RouterPorts]:
    """Each router's ports: the running lab's (run file) where it has them, else the file's."""

    def where(kind: str, name: str, default: int) -> tuple[str, int]:
        entries = run.get(kind) if run else None
        if isinstance(entries, dict) and isinstance(entries.get(name), dict):
            entry = entries[name]
            return str(entry.get("host", HOST)), int(entry["port"])
        return HOST, default

    return [
        RouterPorts(
            node.name,
            where("consoles", node.name, spec.console_port(node.name)),
            where("ssh", node.name, spec.ssh_port(node.name)),
            where("telnet", node.name, spec.telnet_port(node.name)),
        )
        for node in spec.nodes
    ]


# netmiko's and scrapli's names for the way in.
NETMIKO_TYPES = {"console": "cisco_ios_telnet", "ssh": "cisco_ios", "telnet": "cisco_ios_telnet"}
SCRAPLI_TRANSPORTS = {"console": "telnet", "ssh": "system", "telnet": "telnet"}


def ansible(spec: LabSpec, routers: list[RouterPorts], creds: Credentials, via: str) -> Any:
    if via != "ssh":
        raise ValueError("Ansible's network_cli connects over SSH only: use --via ssh")
    hosts = {}
    for r in routers:
        host, port = r.ssh
        console_host, console_port = r.console
        hosts[r.name] = {
            "ansible_host": host,
            "ansible_port": port,
            "iosemu_console": f"telnet {console_host} {console_port}",
        }
    group_vars: dict[str, Any] = {
        "ansible_network_os": "cisco.ios.ios",
        "ansible_connection": "ansible.netcommon.network_cli",
        "ansible_user": creds.username,
        "ansible_password": creds.password,
    }
    if creds.secret:
        group_vars |= {
            "ansible_become": True,
            "ansible_become_method": "enable",
            "ansible_become_password": creds.secret,
        }
    return {"all": {"children": {"ios": {"vars": group_vars, "hosts": hosts}}}}


def nornir(spec: LabSpec, routers: list[RouterPorts], creds: Credentials, via: str) -> Any:
    out = {}
    for r in routers:
        host, port = r.port(via)
        out[r.name] = {
            "hostname": host,
            "port": port,
            "platform": NETMIKO_TYPES[via],
            "username": creds.username,
            "password": creds.password,
            "connection_options": {
                "netmiko": {"extras": {"secret": creds.secret}},
                "scrapli": {
                    "platform": "cisco_iosxe",
                    "extras": {
                        "transport": SCRAPLI_TRANSPORTS[via],
                        "auth_strict_key": False,
                        "auth_secondary": creds.secret,
                    },
                },
            },
        }
    return out


def pyats(spec: LabSpec, routers: list[RouterPorts], creds: Credentials, via: str) -> Any:
    connection_names = {"console": "cli", "ssh": "ssh", "telnet": "vty"}
    devices = {}
    for r in routers:
        connections: dict[str, Any] = {
            "defaults": {"class": "unicon.Unicon", "via": connection_names[via]}
        }
        for kind, protocol in (("console", "telnet"), ("ssh", "ssh"), ("telnet", "telnet")):
            host, port = r.port(kind)
            connections[connection_names[kind]] = {"protocol": protocol, "ip": host, "port": port}
        devices[r.name] = {
            "os": "ios",
            "type": "router",
            "platform": "c3825",
            "connections": connections,
        }
    topology: dict[str, Any] = {}
    for i, link in enumerate(spec.links, start=1):
        for node, interface in link.endpoints:
            interfaces = topology.setdefault(node, {"interfaces": {}})["interfaces"]
            interfaces[interface] = {"link": f"link-{i}", "type": "ethernet"}
    credentials: dict[str, Any] = {
        "default": {"username": creds.username, "password": creds.password}
    }
    if creds.secret:
        credentials["enable"] = {"password": creds.secret}
    testbed = {"name": spec.name, "credentials": credentials}
    out: dict[str, Any] = {"testbed": testbed, "devices": devices}
    if topology:
        out["topology"] = topology
    return out


def netmiko(spec: LabSpec, routers: list[RouterPorts], creds: Credentials, via: str) -> Any:
    out: dict[str, Any] = {}
    for r in routers:
        host, port = r.port(via)
        out[r.name] = {
            "device_type": NETMIKO_TYPES[via],
            "host": host,
            "port": port,
            "username": creds.username,
            "password": creds.password,
            "secret": creds.secret,
        }
    if spec.name not in out:
        out[spec.name] = [r.name for r in routers]  # a netmiko group: every router
    return out


Shape = Callable[[LabSpec, list[RouterPorts], Credentials, str], Any]
FORMATS: dict[str, Shape] = {
    "ansible": ansible,
    "nornir": nornir,
    "pyats": pyats,
    "netmiko": netmiko,
}
DEFAULT_VIA = {"ansible": "ssh", "nornir": "console", "pyats": "console", "netmiko": "console"}


def inventory(
    spec: LabSpec,
    fmt: str,
    run: dict[str, Any] | None = None,
    creds: Credentials | None = None,
    via: str | None = None,
) -> dict[str, Any]:
    """The inventory of ``fmt`` as data (raises ValueError for a combination it lacks)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")
    via = via or DEFAULT_VIA[fmt]
    if via not in VIAS:
        raise ValueError(f"unknown way in {via!r} (one of {', '.join(VIAS)})")
    data: dict[str, Any] = FORMATS[fmt](spec, lab_ports(spec, run), creds or Credentials(), via)
    return data


def render(
    spec: LabSpec,
    fmt: str,
    run: dict[str, Any] | None = None,
    creds: Credentials | None = None,
    via: str | None = None,
) -> str:
    """The inventory as the YAML file the tool reads, with a comment on where it is from."""
    data = inventory(spec, fmt, run, creds, via)
    source = "the running lab" if run else "the lab file (the lab is not running)"
    head = (
        f"# {fmt} inventory of iosemu lab {spec.name}, ports from {source}.\n"
        "# SSH and vty telnet need a domain name, an RSA key, users and `login local`\n"
        "# (see `iosemu inventory --help`); the consoles need nothing.\n"
    )
    return head + "---\n" + yaml.safe_dump(data, sort_keys=False, default_flow_style=False)
