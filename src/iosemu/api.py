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
from collections.abc import Callable, Coroutine, Sequence
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
from iosemu.lab.fabric import Fabric, Port, Segment
from iosemu.lab.faults import Fault, FaultError, parse_command
from iosemu.lab.forward import Forward, Forwards
from iosemu.lab.topology import LabSpec, TopologyError, canonical_interface, find_lab

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
        self._off: set[str] = set()  # routers powered off by power_off (not yet on again)
        self.fabric = Fabric(self.loop)
        for link in spec.links:
            self.fabric.add_segment(link.endpoints)
        # Routers this process runs; the others (TCP fabric) run in processes of their own.
        self.local_nodes = local_nodes or [n.name for n in spec.nodes]
        for index, node in enumerate(spec.nodes):
            if node.name in self.local_nodes:
                self._add_router(node.name, index)
        # Host port forwards (lab/forward.py): listening starts with start_forwards().
        self.forwards = Forwards(self)

    # --- building ------------------------------------------------------------------

    def _add_router(self, name: str, index: int) -> None:
        node = self.spec.node(name)
        router = Router(
            name,
            self.loop,
            self.state_dir / name,
            FEATURE_CLASSES,
            mac_base=0x001319CA6350 + 0x100 * index,
            durable=not self._temporary,  # a temporary state directory goes at close
        )
        router.clock.offset = timedelta(seconds=node.clock_offset)
        router.has_calendar = node.calendar
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

    async def start_forwards(self) -> list[Forward]:
        """Listen on the host ports of the lab's forwards (real or scaled clock only)."""
        return await self.forwards.start()

    def router(self, name: str) -> Router:
        return self.routers[name]

    # --- faults ------------------------------------------------------------------------
    #
    # Each fault changes something or fails with a FaultError that says why: a fault that
    # would change nothing (power off a router that is off) is a mistake in a test or a
    # transcript, and saying so beats carrying on. docs/faults.md describes what a router
    # sees of each.

    def power_off(self, name: str) -> None:
        """Pull the power: the router stops at once and vanishes from the wire.

        No Resign, no link-down message: its timers and tasks are cancelled, its ports
        stop hearing frames, and its console shows nothing until ``power_on``.
        """
        name = self._router_name(name)
        router = self.routers[name]
        if name in self._off:
            raise FaultError(f"{name} is already off")
        router.power_off()
        # What show version says after the next boot: a power cycle, not a reload.
        router.reload_reason = "power-on"
        router.returned_to_rom_at = None
        for port in router.ports.values():
            port.receiver = None
        self.consoles[name].stop()
        self._off.add(name)

    def power_on(self, name: str) -> asyncio.Task[Any]:
        """Power a router back on: it boots from its NVRAM (the task ends when it runs)."""
        name = self._router_name(name)
        router = self.routers[name]
        if router.state != "off":
            raise FaultError(f"{name} is already on")
        self._off.discard(name)
        return router.power_on()

    def set_cable(self, name: str, interface: str, plugged: bool) -> None:
        """Plug or pull the cable of ``name``'s ``interface`` (its link goes up or down).

        Frames stop (or start) crossing at once; the router notices the carrier change
        after ``LINK_DELAY`` (%LINK-3-UPDOWN), then the line protocol after a second more.
        ``interface`` may be abbreviated (``Gi0/0``).
        """
        port = self._port(name, interface)
        if port.cabled == plugged:
            state = "plugged in" if plugged else "pulled"
            raise FaultError(f"the cable of {port.router} {port.interface} is already {state}")
        port.cabled = plugged
        router = self.routers.get(port.router)
        if router is not None and router.state == "running":
            interfaces = router.feature(Interfaces)
            iface = interfaces.interfaces[port.interface]
            if iface.shutdown:
                iface.cabled = plugged  # no carrier to lose or find: nothing to log yet
            else:
                interfaces.set_cabled(iface, plugged)

    def unplug(self, name: str, interface: str) -> None:
        """Pull the cable of ``name``'s ``interface``: ``set_cable(name, interface, False)``."""
        self.set_cable(name, interface, False)

    def plug(self, name: str, interface: str) -> None:
        """Plug the cable back: ``set_cable(name, interface, True)``."""
        self.set_cable(name, interface, True)

    def partition(
        self, groups: Sequence[Sequence[str]], segment: int | None = None
    ) -> list[list[str]]:
        """Cut a segment: only ports in the same group hear each other.

        A member is a router (its port on the segment) or ``router:interface``. The
        segment is the one all members are on, unless ``segment`` (an index into
        ``fabric.segments``) says. Ports not named hear no one. Returns the groups as
        port names.
        """
        target = self._segment_for(groups, segment)
        named: list[list[str]] = []
        seen: set[str] = set()
        for group in groups:
            ports = []
            for member in group:
                port = self._member_port(target, member)
                if port.name in seen:
                    raise FaultError(f"{member} is named twice in the partition")
                seen.add(port.name)
                ports.append(port.name)
            named.append(ports)
        named += [[p.name] for p in target.ports if p.name not in seen]
        if len(named) < 2:
            raise FaultError(f"that partition leaves {target.name} in one piece")
        target.partition(named)
        return named

    def heal(self, segment: int | None = None) -> None:
        """Join a partitioned segment again (``None``: every partitioned segment)."""
        if segment is not None:
            split = [self._segment(segment)]
            if split[0].partitions is None:
                raise FaultError(f"{split[0].name} is not split")
        else:
            split = [s for s in self.fabric.segments if s.partitions is not None]
            if not split:
                raise FaultError("no segment is split")
        for target in split:
            target.heal()

    def inject(self, fault: Fault | str) -> Fault:
        """Inject a fault, given as a ``Fault`` or a command (``"power-off CA-server-2"``).

        Returns the fault with the lab's names filled in (the router's lab name, the full
        interface name), as ``faults`` would list it.
        """
        if isinstance(fault, str):
            fault = parse_command(fault)
        if fault.kind == "power-off":
            name = self._router_name(fault.router)
            self.power_off(name)
            return Fault("power-off", name)
        if fault.kind == "power-on":
            name = self._router_name(fault.router)
            self.power_on(name)
            return Fault("power-on", name)
        if fault.kind in ("unplug", "plug"):
            port = self._port(fault.router, fault.interface)
            self.set_cable(port.router, port.interface, fault.kind == "plug")
            return Fault(fault.kind, port.router, port.interface)
        if fault.kind == "partition":
            ports = self.partition(fault.groups)
            return Fault("partition", groups=self._member_names(ports))
        self.heal()
        return Fault("heal")

    @property
    def faults(self) -> list[Fault]:
        """The faults in effect now, as the commands that would make them."""
        found = [Fault("power-off", name) for name in self.routers if name in self._off]
        found += [
            Fault("unplug", port.router, port.interface)
            for port in self.fabric.ports.values()
            if not port.cabled
        ]
        for seg in self.fabric.segments:
            if seg.partitions is not None:
                order = {p.name: i for i, p in enumerate(seg.ports)}
                groups = [sorted(g, key=lambda n: order.get(n, 0)) for g in seg.partitions]
                found.append(Fault("partition", groups=self._member_names(groups)))
        return found

    # --- resolving names for faults ----------------------------------------------------

    def _node_name(self, name: str) -> str:
        """The lab's name of a node given by lab name or (for a local router) hostname."""
        if name in self.routers or any(n.name == name for n in self.spec.nodes):
            return name
        for lab_name, router in self.routers.items():
            if router.hostname == name:
                return lab_name
        known = ", ".join(n.name for n in self.spec.nodes)
        raise FaultError(f"no router {name} in lab {self.spec.name} ({known})")

    def _router_name(self, name: str) -> str:
        """A router this process runs (power faults need its code, not just its ports)."""
        name = self._node_name(name)
        if name not in self.routers:
            raise FaultError(f"{name} runs in another process: power it from there")
        return name

    def _port(self, name: str, interface: str) -> Port:
        # A router of another process still has its cable here: frames to and from it
        # cross this process's segment.
        router = self._node_name(name)
        try:
            full = canonical_interface(interface)
        except TopologyError:
            raise FaultError(f"{interface!r} is not an interface name") from None
        port = self.fabric.port(router, full)
        if port is None:
            cabled = ", ".join(i for (r, i) in self.fabric.ports if r == router) or "none"
            raise FaultError(f"{router} {full} has no cable in this lab (cabled: {cabled})")
        return port

    def _segment(self, index: int) -> Segment:
        if not 0 <= index < len(self.fabric.segments):
            raise FaultError(f"no segment {index}: the lab has {len(self.fabric.segments)}")
        return self.fabric.segments[index]

    def _member_port(self, segment: Segment, member: str) -> Port:
        """The port ``member`` (``router`` or ``router:interface``) means on ``segment``."""
        router, _, interface = member.partition(":")
        if interface:
            port = self._port(router, interface)
            if port.segment is not segment:
                raise FaultError(f"{port.name} is not on {segment.name}")
            return port
        router = self._node_name(router)
        ports = [p for p in segment.ports if p.router == router]
        if not ports:
            raise FaultError(f"{router} has no port on {segment.name}")
        if len(ports) > 1:
            names = " or ".join(p.name for p in ports)
            raise FaultError(f"{router} has {len(ports)} ports on {segment.name}: say {names}")
        return ports[0]

    def _segment_for(self, groups: Sequence[Sequence[str]], index: int | None) -> Segment:
        """The segment a partition means: given, or the only one all its members are on."""
        if index is not None:
            return self._segment(index)
        members = [m for group in groups for m in group]
        if not members:
            raise FaultError("a partition names no router")

        def on(segment: Segment, member: str) -> bool:
            try:
                self._member_port(segment, member)
            except FaultError:
                return False
            return True

        found = [s for s in self.fabric.segments if all(on(s, m) for m in members)]
        if len(found) == 1:
            return found[0]
        if found:
            names = ", ".join(s.name for s in found)
            raise FaultError(f"those routers share {names}: name ports (ROUTER:INTERFACE)")
        for member in members:
            if not any(on(s, member) for s in self.fabric.segments):
                self._node_name(member.partition(":")[0])  # an unknown router says so
                raise FaultError(f"{member} is on no segment of the lab")
        raise FaultError(f"{' '.join(members)} are not all on one segment")

    def _member_names(self, groups: Sequence[Sequence[str]]) -> tuple[tuple[str, ...], ...]:
        """Port names as short as they stay clear: the router alone when it can."""
        ports = {p.name: p for p in self.fabric.ports.values()}
        out = []
        for group in groups:
            members = []
            for name in group:
                port = ports[name]
                assert port.segment is not None
                alone = sum(p.router == port.router for p in port.segment.ports) == 1
                members.append(port.router if alone else port.name)
            out.append(tuple(members))
        return tuple(out)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.forwards.close()
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
