"""Serving a running lab: telnet console ports and the run file other commands read.

The run file (``<state>/lab.json``) tells ``iosemu console`` and scripts where each
router's console listens while the lab runs. A router run on its own by ``iosemu node``
writes ``<state>/node-<router>.json`` instead, so the processes of one lab never overwrite
each other's entries.
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


def node_run_file(router: str) -> str:
    """The run file of a router served by ``iosemu node``."""
    return f"node-{router}.json"


@dataclass
class ConsolePort:
    router: str
    host: str
    port: int


async def serve_consoles(
    lab: Lab,
    host: str = "127.0.0.1",
    run_file: str = RUN_FILE,
    extra: dict[str, object] | None = None,
) -> list[TelnetConsoleServer]:
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
        lab,
        [ConsolePort(n, host, s.port) for n, s in zip(lab.consoles, servers, strict=False)],
        run_file,
        extra,
    )
    return servers


def write_run_file(
    lab: Lab,
    ports: list[ConsolePort],
    run_file: str = RUN_FILE,
    extra: dict[str, object] | None = None,
) -> None:
    data = {
        "lab": lab.spec.name,
        "pid": os.getpid(),
        "clock": lab.loop.mode,
        "consoles": {p.router: {"host": p.host, "port": p.port} for p in ports},
        **(extra or {}),
    }
    path = lab.state_dir / run_file
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(path)


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
