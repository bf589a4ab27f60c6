"""Lab files: a containerlab-like YAML description of routers, their links and configs.

```yaml
name: pki-ha
clock: virtual            # virtual | scaled | real (default: real for `iosemu lab`)
speed: 10                 # with clock: scaled
start: 2010-06-03T01:38:00Z
console-base: 2000        # router i (1-based, file order) listens on base + i
ssh-base: 2200            # SSH to router i's vty lines on base + i (default console-base + 200)
telnet-base: 2300         # telnet to router i's vty lines on base + i (default console-base + 300)
fabric-base: 3000         # `iosemu node`: router i's TCP fabric port is base + i
topology:
  nodes:
    CA-server-1:
      kind: ios           # the only kind so far
      startup-config: |   # text, or a path relative to the lab file
        hostname CA-server-1
      console: 2001       # a fixed console port, overriding console-base
      ssh: 2201           # a fixed SSH port, overriding ssh-base
      telnet: 2301        # a fixed vty telnet port, overriding telnet-base
      fabric: 3001        # a fixed TCP fabric port, overriding fabric-base
      clock-offset: -61200   # seconds this router's calendar is ahead of the lab's
      calendar: false        # no hardware calendar: the clock is unset until `clock set`
  links:
    - endpoints: [CA-server-1:GigabitEthernet0/0, CA-server-2:Gi0/0]
forwards:                 # host port forwards, served by `iosemu lab` (lab/forward.py)
  - host-port: 8080       # 127.0.0.1:8080 on this machine ...
    to: 10.1.32.86:80     # ... reaches this address and port inside the lab (a VIP follows HSRP)
    address: 10.1.32.250/24   # the hidden relay host's own address (default: .250 of to's /24)
```

A link with more than two endpoints is one shared segment (an Ethernet switch).
``iosemu lab --forward 10.1.32.86:80=8080`` adds a forward from the command line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path
from typing import Any

import yaml


class TopologyError(Exception):
    """A lab file that cannot be used; the message says where and why."""


@dataclass
class NodeSpec:
    name: str
    kind: str = "ios"
    startup_config: str | None = None
    console: int | None = None
    clock_offset: float = 0.0
    fabric: int | None = None
    calendar: bool = True  # a battery-backed calendar (3825): the CA trusts the clock
    ssh: int | None = None
    telnet: int | None = None


@dataclass
class LinkSpec:
    endpoints: list[tuple[str, str]]  # (node, canonical interface name)


@dataclass
class ForwardSpec:
    """127.0.0.1:``host_port`` on the host, relayed to ``target``:``port`` inside the lab."""

    host_port: int
    target: IPv4Address
    port: int
    address: IPv4Interface  # the relay host's address on the target's segment

    @property
    def text(self) -> str:
        return f"{self.target}:{self.port}={self.host_port}"


def default_forward_address(target: IPv4Address) -> IPv4Interface:
    """.250 of the target's /24 (.251 if the target is .250 itself)."""
    network = IPv4Network(f"{target}/24", strict=False)
    host = network.network_address + (251 if int(target) & 0xFF == 250 else 250)
    return IPv4Interface(f"{host}/24")


def parse_forward(
    to: Any, host_port: Any, address: Any = None, where: str = "forward"
) -> ForwardSpec:
    """A forward from its parts: ``to`` is ``A.B.C.D:PORT``, ``address`` ``A.B.C.D/LEN``."""
    ip, sep, port = str(to).rpartition(":")
    try:
        target = IPv4Address(ip)
        target_port = int(port)
    except ValueError:
        raise TopologyError(f"{where}: to must be A.B.C.D:PORT, not {to!r}") from None
    if not sep or not 1 <= target_port <= 65535:
        raise TopologyError(f"{where}: to must be A.B.C.D:PORT, not {to!r}")
    if not isinstance(host_port, int) or not 1 <= host_port <= 65535:
        raise TopologyError(f"{where}: host-port must be a port number")
    if address is None:
        relay = default_forward_address(target)
    else:
        try:
            relay = IPv4Interface(str(address))
        except ValueError:
            raise TopologyError(f"{where}: address must be A.B.C.D/LEN") from None
        if relay.ip == target:
            raise TopologyError(f"{where}: the relay's address cannot be the target's")
    return ForwardSpec(host_port, target, target_port, relay)


def parse_forward_option(text: str) -> ForwardSpec:
    """``--forward 10.1.32.86:80=8080``."""
    to, sep, port = text.partition("=")
    if not sep or not port.isdigit():
        raise TopologyError(f"--forward {text}: expected A.B.C.D:PORT=HOSTPORT")
    return parse_forward(to, int(port), where=f"--forward {text}")


@dataclass
class LabSpec:
    name: str
    nodes: list[NodeSpec]
    links: list[LinkSpec] = field(default_factory=list)
    clock: str | None = None
    speed: float = 1.0
    start: datetime | None = None
    console_base: int = 2000
    source: Path | None = None
    fabric_base: int = 3000
    forwards: list[ForwardSpec] = field(default_factory=list)
    # SSH and telnet to the vty lines; None: console_base + 200 and + 300, so that a lab
    # whose consoles move (--console-base) takes its other ports along.
    ssh_base: int | None = None
    telnet_base: int | None = None

    def set_bases(
        self,
        console: int | None = None,
        fabric: int | None = None,
        ssh: int | None = None,
        telnet: int | None = None,
    ) -> None:
        """Port bases given on the command line, over the lab file's (None: keep it)."""
        if console is not None:
            self.console_base = console
        if fabric is not None:
            self.fabric_base = fabric
        if ssh is not None:
            self.ssh_base = ssh
        if telnet is not None:
            self.telnet_base = telnet

    def node(self, name: str) -> NodeSpec:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    def console_port(self, name: str) -> int:
        for i, n in enumerate(self.nodes, start=1):
            if n.name == name:
                return n.console if n.console is not None else self.console_base + i
        raise KeyError(name)

    def _index(self, name: str) -> tuple[int, NodeSpec]:
        for i, n in enumerate(self.nodes, start=1):
            if n.name == name:
                return i, n
        raise KeyError(name)

    def ssh_port(self, name: str) -> int:
        """Where SSH to the router's vty lines listens (console/ssh.py)."""
        i, node = self._index(name)
        base = self.ssh_base if self.ssh_base is not None else self.console_base + 200
        return node.ssh if node.ssh is not None else base + i

    def telnet_port(self, name: str) -> int:
        """Where telnet to the router's vty lines (not its console) listens."""
        i, node = self._index(name)
        base = self.telnet_base if self.telnet_base is not None else self.console_base + 300
        return node.telnet if node.telnet is not None else base + i

    def fabric_port(self, name: str) -> int:
        """The TCP fabric port of a router run by ``iosemu node`` (same numbering as consoles)."""
        for i, n in enumerate(self.nodes, start=1):
            if n.name == name:
                return n.fabric if n.fabric is not None else self.fabric_base + i
        raise KeyError(name)


_INTERFACE = re.compile(r"^(?P<type>[A-Za-z-]+)\s*(?P<number>\d+(?:/\d+)*)$")
_TYPES = ["GigabitEthernet", "Loopback"]
_NODE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,62}$")


def canonical_interface(text: str) -> str:
    m = _INTERFACE.match(text.strip())
    if not m:
        raise TopologyError(f"not an interface name: {text!r}")
    prefix = m.group("type").lower()
    hits = [t for t in _TYPES if t.lower().startswith(prefix)]
    if len(hits) != 1:
        raise TopologyError(f"unknown interface type in {text!r}")
    return hits[0] + m.group("number")


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TopologyError(f"{where}: expected a mapping")
    return value


def _port(value: Any, where: str, base: bool = False) -> int | None:
    """A port number (or a base: router i gets base + i) from a lab file; None if absent."""
    if value is None:
        return None
    low = 0 if base else 1
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= 65535:
        raise TopologyError(f"{where} must be a port number")
    return value


def parse_lab(data: Any, source: Path | None = None) -> LabSpec:
    top = _mapping(data, "lab file")
    name = str(top.get("name") or (source.stem if source else "lab"))
    topo = _mapping(top.get("topology"), "topology")
    nodes_data = _mapping(topo.get("nodes"), "topology.nodes")
    if not nodes_data:
        raise TopologyError("topology.nodes: a lab needs at least one node")
    nodes = []
    for node_name, raw in nodes_data.items():
        node_name = str(node_name)
        if not _NODE_NAME.match(node_name):
            raise TopologyError(f"node {node_name!r}: names start with a letter, <= 63 chars")
        raw = _mapping(raw, f"node {node_name}")
        kind = str(raw.get("kind", "ios"))
        if kind != "ios":
            raise TopologyError(f"node {node_name}: kind {kind!r} is not supported (only ios)")
        config = raw.get("startup-config")
        if config is not None:
            config = str(config)
            if "\n" not in config and source is not None and (source.parent / config).is_file():
                config = (source.parent / config).read_text()
        console = raw.get("console")
        if console is not None and (not isinstance(console, int) or not 1 <= console <= 65535):
            raise TopologyError(f"node {node_name}: console must be a port number")
        fabric = raw.get("fabric")
        if fabric is not None and (not isinstance(fabric, int) or not 1 <= fabric <= 65535):
            raise TopologyError(f"node {node_name}: fabric must be a port number")
        ssh = _port(raw.get("ssh"), f"node {node_name}: ssh")
        telnet = _port(raw.get("telnet"), f"node {node_name}: telnet")
        offset = raw.get("clock-offset", 0)
        if not isinstance(offset, int | float):
            raise TopologyError(f"node {node_name}: clock-offset must be a number of seconds")
        calendar = raw.get("calendar", True)
        if not isinstance(calendar, bool):
            raise TopologyError(f"node {node_name}: calendar must be true or false")
        nodes.append(
            NodeSpec(
                node_name,
                kind,
                config,
                console,
                float(offset),
                fabric,
                calendar=calendar,
                ssh=ssh,
                telnet=telnet,
            )
        )
    names = {n.name for n in nodes}
    links = []
    for i, raw in enumerate(topo.get("links") or []):
        raw = _mapping(raw, f"link {i + 1}")
        endpoints = raw.get("endpoints")
        if not isinstance(endpoints, list) or len(endpoints) < 2:
            raise TopologyError(f"link {i + 1}: endpoints must list at least two node:interface")
        parsed = []
        for ep in endpoints:
            node, _, iface = str(ep).partition(":")
            if node not in names:
                raise TopologyError(f"link {i + 1}: unknown node {node!r}")
            parsed.append((node, canonical_interface(iface)))
        links.append(LinkSpec(parsed))
    seen: set[tuple[str, str]] = set()
    for link in links:
        for ep in link.endpoints:
            if ep in seen:
                raise TopologyError(f"{ep[0]}:{ep[1]} is on two links")
            seen.add(ep)
    clock = top.get("clock")
    if clock is not None and clock not in ("virtual", "scaled", "real"):
        raise TopologyError("clock must be virtual, scaled or real")
    start = top.get("start")
    if isinstance(start, str):
        try:
            start = datetime.fromisoformat(start.replace("Z", "+00:00"))
        except ValueError as e:
            raise TopologyError(f"start: {e}") from None
    forwards = []
    raw_forwards = top.get("forwards") or []
    if not isinstance(raw_forwards, list):
        raise TopologyError("forwards: expected a list")
    for i, raw in enumerate(raw_forwards):
        raw = _mapping(raw, f"forward {i + 1}")
        forwards.append(
            parse_forward(
                raw.get("to"), raw.get("host-port"), raw.get("address"), f"forward {i + 1}"
            )
        )
    if len({f.host_port for f in forwards}) != len(forwards):
        raise TopologyError("forwards: two forwards use the same host-port")
    return LabSpec(
        name=name,
        nodes=nodes,
        links=links,
        clock=clock,
        speed=float(top.get("speed", 1.0)),
        start=start,
        console_base=int(top.get("console-base", 2000)),
        source=source,
        fabric_base=int(top.get("fabric-base", 3000)),
        forwards=forwards,
        ssh_base=_port(top.get("ssh-base"), "ssh-base", base=True),
        telnet_base=_port(top.get("telnet-base"), "telnet-base", base=True),
    )


def load_lab(path: Path) -> LabSpec:
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise TopologyError(f"{path}: not valid YAML: {e}") from None
    except OSError as e:
        raise TopologyError(f"{path}: {e.strerror}") from None
    return parse_lab(data, path)


BUILTIN_LABS = {"pki-ha": "pki-ha.yml", "pki-ha-clients": "pki-ha-clients.yml"}
DEFAULT_LAB = "pki-ha"


def builtin_lab(name: str = DEFAULT_LAB) -> LabSpec:
    text = resources.files("iosemu.labs").joinpath(BUILTIN_LABS[name]).read_text()
    return parse_lab(yaml.safe_load(text), Path(BUILTIN_LABS[name]))


def find_lab(name_or_path: str | None) -> LabSpec:
    """A built-in lab by name, or a lab file by path."""
    if name_or_path is None:
        return builtin_lab()
    if name_or_path in BUILTIN_LABS:
        return builtin_lab(name_or_path)
    return load_lab(Path(name_or_path))
