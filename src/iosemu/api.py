"""The Python API: build a lab from a lab file, boot its routers, talk to their consoles.

```python
from iosemu.api import Lab
with Lab.open("pki-ha", clock="virtual") as lab:
    print(lab.console("CA-server-1").run("show version"))
```
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Callable, Coroutine
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from iosemu.boot import BOOT_DELAY, boot
from iosemu.console.ios import IosConsole
from iosemu.console_line import ConsoleLine, LineTerminal
from iosemu.device.router import Router
from iosemu.features import FEATURE_CLASSES
from iosemu.features.interfaces import Interfaces
from iosemu.lab.clock import ClockMode, LabEventLoop, settle
from iosemu.lab.fabric import Fabric
from iosemu.lab.topology import LabSpec, find_lab

T = TypeVar("T")

TerminalFactory = Callable[[Router], LineTerminal]


def default_state_root() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(Path.home(), ".local", "state")
    return Path(base) / "iosemu"


class Lab:
    def __init__(
        self,
        spec: LabSpec,
        *,
        clock: ClockMode | None = None,
        speed: float | None = None,
        state_dir: Path | None = None,
        fresh: bool = False,
        terminal_factory: TerminalFactory | None = None,
        boot_delay: float = BOOT_DELAY,
        local_nodes: list[str] | None = None,
    ) -> None:
        self.spec = spec
        mode: ClockMode = clock or spec.clock or "virtual"  # type: ignore[assignment]
        self.loop = LabEventLoop(mode, speed or spec.speed, spec.start)
        self._temporary = state_dir is None
        self.state_dir = Path(state_dir) if state_dir else Path(tempfile.mkdtemp(prefix="iosemu-"))
        if fresh and self.state_dir.exists():
            shutil.rmtree(self.state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.boot_delay = boot_delay
        self.terminal_factory = terminal_factory or (lambda router: IosConsole())
        self.routers: dict[str, Router] = {}
        self.consoles: dict[str, ConsoleLine] = {}
        self._closed = False
        self.fabric = Fabric(self.loop)
        for link in spec.links:
            self.fabric.add_segment(link.endpoints)
        # Routers this process runs; the others (TCP fabric) run in processes of their own.
        self.local_nodes = local_nodes or [n.name for n in spec.nodes]
        for index, node in enumerate(spec.nodes):
            if node.name in self.local_nodes:
                self._add_router(node.name, index)

    # --- building ------------------------------------------------------------------

    def _add_router(self, name: str, index: int) -> None:
        node = self.spec.node(name)
        router = Router(
            name,
            self.loop,
            self.state_dir / name,
            FEATURE_CLASSES,
            mac_base=0x001319CA6350 + 0x100 * index,
        )
        router.clock.offset = timedelta(seconds=node.clock_offset)
        router.ports = {
            iface: port for (owner, iface), port in self.fabric.ports.items() if owner == name
        }
        hooks = [self._cable]
        router.booter = lambda r: boot(r, hooks, self.boot_delay)
        if node.startup_config is not None and not router.nvram.exists("startup-config"):
            router.nvram.write("startup-config", node.startup_config.encode())
        terminal = self.terminal_factory(router)
        console = ConsoleLine(router, terminal)
        if isinstance(terminal, IosConsole):
            terminal.logging_synchronous = lambda: console.logging_synchronous
        self.routers[name] = router
        self.consoles[name] = console

    def _cable(self, router: Router) -> None:
        """Plug the router's cables as the lab's fabric has them."""
        interfaces = router.feature(Interfaces)
        for name, port in router.ports.items():
            if name in interfaces.interfaces:
                interfaces.interfaces[name].cabled = port.cabled

    # --- running -------------------------------------------------------------------

    @classmethod
    def open(cls, name_or_path: str | None = None, **kwargs: Any) -> Lab:
        return cls(find_lab(name_or_path), **kwargs)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the lab's loop (from code that is not already on it)."""
        return self.loop.run_until_complete(coro)

    async def start(self) -> None:
        """Power on every router and wait until all consoles say Press RETURN."""
        tasks = [router.power_on() for router in self.routers.values()]
        await asyncio.gather(*tasks)
        await settle()

    def router(self, name: str) -> Router:
        return self.routers[name]

    # --- faults ------------------------------------------------------------------------

    def power_off(self, name: str) -> None:
        """Pull the power: the router stops at once and vanishes from the wire."""
        router = self.routers[name]
        router.power_off()
        for port in router.ports.values():
            port.receiver = None
        self.consoles[name].stop()

    def power_on(self, name: str) -> asyncio.Task[Any]:
        """Power a router back on: it boots from its NVRAM."""
        router = self.routers[name]
        if router.state != "off":
            raise RuntimeError(f"{name} is already on")
        return router.power_on()

    def set_cable(self, name: str, interface: str, plugged: bool) -> None:
        """Plug or pull the cable of ``name``'s ``interface`` (its link goes up or down)."""
        port = self.fabric.port(name, interface)
        if port is None:
            raise KeyError(f"{name}:{interface} is not cabled to any segment")
        port.cabled = plugged
        router = self.routers.get(name)
        if router is not None and router.state == "running":
            interfaces = router.feature(Interfaces)
            interfaces.set_cabled(interfaces.interfaces[interface], plugged)

    def partition(self, groups: list[list[str]], segment: int = 0) -> None:
        """Cut a segment: only ports (``router:interface``) in the same group hear each other."""
        self.fabric.segments[segment].partition(groups)

    def heal(self, segment: int = 0) -> None:
        self.fabric.segments[segment].heal()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for router in self.routers.values():
            router.power_off()
        for console in self.consoles.values():
            console.stop()
        try:
            pending = [t for t in asyncio.all_tasks(self.loop) if not t.done()]
            for t in pending:
                t.cancel()
            if pending:
                self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        finally:
            self.loop.close()
            if self._temporary:
                shutil.rmtree(self.state_dir, ignore_errors=True)

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
