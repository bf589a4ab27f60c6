"""Serving a running lab: telnet console ports and the run file other commands read.

The run file (``<state>/lab.json``) tells ``iosemu console`` and scripts where each
router's console listens while the lab runs.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from iosemu.api import Lab
from iosemu.console.ios import IosConsole
from iosemu.console.telnet import TelnetConsoleServer

RUN_FILE = "lab.json"


@dataclass
class ConsolePort:
    router: str
    host: str
    port: int


async def serve_consoles(lab: Lab, host: str = "127.0.0.1") -> list[TelnetConsoleServer]:
    """Open a telnet port for every router's console; write the run file."""
    servers = []
    for name, console in lab.consoles.items():
        terminal = console.terminal
        if not isinstance(terminal, IosConsole):
            continue
        port = lab.spec.console_port(name)
        server = TelnetConsoleServer(lambda t=terminal: t, host, port)
        await server.start()
        servers.append(server)
    write_run_file(
        lab, [ConsolePort(n, host, s.port) for n, s in zip(lab.consoles, servers, strict=False)]
    )
    return servers


def write_run_file(lab: Lab, ports: list[ConsolePort]) -> None:
    data = {
        "lab": lab.spec.name,
        "pid": os.getpid(),
        "clock": lab.loop.mode,
        "consoles": {p.router: {"host": p.host, "port": p.port} for p in ports},
    }
    path = lab.state_dir / RUN_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(path)


def read_run_file(state_dir: Path) -> dict[str, object] | None:
    path = state_dir / RUN_FILE
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


def remove_run_file(lab: Lab) -> None:
    (lab.state_dir / RUN_FILE).unlink(missing_ok=True)
