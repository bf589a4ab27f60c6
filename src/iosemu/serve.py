"""Serving a running lab: console, SSH and vty telnet ports, and the run file others read.

Per router: its console (``line con 0``) on a telnet port; SSH to its vty lines; telnet to
its vty lines (what ``telnet`` to the router itself reaches). The run file
(``<state>/lab.json``) tells ``iosemu console``, ``iosemu inventory`` and scripts where each
listens while the lab runs. A router run on its own by ``iosemu node``
writes ``<state>/node-<router>.json`` instead, so the processes of one lab never overwrite
each other's entries.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from iosemu.api import Lab
from iosemu.console.ios import IosConsole
from iosemu.console.telnet import TelnetConsoleServer
from iosemu.console.telnet_vty import VtyTelnetServer

if TYPE_CHECKING:
    from iosemu.console.ssh import SshServer

RUN_FILE = "lab.json"


def node_run_file(router: str) -> str:
    """The run file of a router served by ``iosemu node``."""
    return f"node-{router}.json"


@dataclass
class ConsolePort:
    router: str
    host: str
    port: int


@dataclass
class LabServers:
    """Everything ``iosemu lab`` listens on, and the router each port is for."""

    consoles: list[TelnetConsoleServer] = field(default_factory=list)
    ssh: list[SshServer] = field(default_factory=list)
    telnet: list[VtyTelnetServer] = field(default_factory=list)
    routers: list[str] = field(default_factory=list)  # in the order of the lists above

    def ports(self, kind: str) -> list[ConsolePort]:
        """``consoles``, ``ssh`` or ``telnet``: where each router's port listens."""
        servers: list[TelnetConsoleServer] | list[SshServer] | list[VtyTelnetServer]
        servers = getattr(self, kind)
        return [ConsolePort(n, s.host, s.port) for n, s in zip(self.routers, servers, strict=True)]

    async def close(self) -> None:
        for server in [*self.consoles, *self.ssh, *self.telnet]:
            await server.close()


async def serve_lab(
    lab: Lab,
    host: str = "127.0.0.1",
    run_file: str = RUN_FILE,
    extra: dict[str, object] | None = None,
) -> LabServers:
    """Open every router's console, SSH and vty telnet ports; write the run file.

    A port that cannot be opened raises OSError, after closing those already open.
    """
    from iosemu.console.ssh import SshServer  # asyncssh: only a served lab needs it

    served = LabServers()
    try:
        for name, console in lab.consoles.items():
            terminal = console.terminal
            if not isinstance(terminal, IosConsole):
                continue
            served.routers.append(name)
            server = TelnetConsoleServer(lambda t=terminal: t, host, lab.spec.console_port(name))
            await server.start()
            served.consoles.append(server)
            router = lab.routers[name]
            ssh = SshServer(router, host, lab.spec.ssh_port(name))
            await ssh.start()
            served.ssh.append(ssh)
            telnet = VtyTelnetServer(router, host, lab.spec.telnet_port(name))
            await telnet.start()
            served.telnet.append(telnet)
    except OSError:
        await served.close()
        raise
    write_run_file(
        lab,
        served.ports("consoles"),
        run_file,
        extra,
        ssh=served.ports("ssh"),
        telnet=served.ports("telnet"),
    )
    return served


def write_run_file(
    lab: Lab,
    ports: list[ConsolePort],
    run_file: str = RUN_FILE,
    extra: dict[str, object] | None = None,
    *,
    ssh: list[ConsolePort] | None = None,
    telnet: list[ConsolePort] | None = None,
) -> None:
    data: dict[str, object] = {
        "lab": lab.spec.name,
        "pid": os.getpid(),
        "clock": lab.loop.mode,
        "consoles": _where(ports),
    }
    if ssh:
        data["ssh"] = _where(ssh)
    if telnet:
        data["telnet"] = _where(telnet)
    data.update(extra or {})
    path = lab.state_dir / run_file
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(path)


def _where(ports: list[ConsolePort]) -> dict[str, dict[str, object]]:
    return {p.router: {"host": p.host, "port": p.port} for p in ports}


def read_run_file(state_dir: Path, run_file: str = RUN_FILE) -> dict[str, object] | None:
    path = state_dir / run_file
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    pid = data.get("pid")
    if not isinstance(pid, int):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return data


def remove_run_file(lab: Lab, run_file: str = RUN_FILE) -> None:
    (lab.state_dir / run_file).unlink(missing_ok=True)


def find_console(state_dir: Path, router: str) -> tuple[str, int] | None:
    """Where ``router``'s console listens: in the lab's run file or its own node's."""
    for run_file in (RUN_FILE, node_run_file(router)):
        run = read_run_file(state_dir, run_file)
        consoles = run.get("consoles") if run else None
        if isinstance(consoles, dict) and router in consoles:
            where = consoles[router]
            return str(where["host"]), int(where["port"])
    return None


def running_routers(state_dir: Path) -> list[str]:
    """Routers with a live console in this state directory (for error messages)."""
    names: list[str] = []
    files = [RUN_FILE, *sorted(p.name for p in state_dir.glob("node-*.json"))]
    for run_file in files:
        run = read_run_file(state_dir, run_file)
        consoles = run.get("consoles") if run else None
        if isinstance(consoles, dict):
            names += [n for n in consoles if n not in names]
    return names
