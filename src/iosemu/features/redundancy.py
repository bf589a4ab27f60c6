"""Inter-device redundancy: two routers as one active and one hot-standby unit (RF).

```
redundancy inter-device
 scheme standby SB
```

The scheme ties the redundancy role to the HSRP group named ``SB``: the group's Active is
the RF ACTIVE unit, its Standby becomes the RF STANDBY once the two have paired over the
IPC association and the standby has walked the RF states up to STANDBY HOT. As on IOS,
the scheme only takes effect after a reload; until then the router is Simplex.

What the pair does, decided where IOS's behaviour is not documented (docs/fidelity.md):

* A unit that has never paired since boot is ACTIVE and Simplex, whatever HSRP says (the
  guide's "did not achieve the states" output shows exactly that on the HSRP standby).
* A paired unit follows HSRP: Standby means RF standby, walking INITIALIZATION →
  NEGOTIATION → STANDBY COLD → COLD-CONFIG → COLD-FILESYS → COLD-BULK → STANDBY HOT, one
  state per message exchange with the active; in COLD-BULK the active runs every RF
  client's bulk sync. Active means RF ACTIVE; a standby whose group goes Active takes
  over (a switchover) through ACTIVE-FAST … ACTIVE.
* A standby that loses its peer stays standby (Simplex) until HSRP makes it Active: only
  HSRP decides who serves the virtual address. When the peer comes back it walks the
  standby states again, with a fresh bulk sync: what it held may be stale.
* Units pair only when both run the same scheme name and both have an HSRP group of that
  name; otherwise each stays Simplex (``peer state = 1  -DISABLED``) until the
  configuration is fixed and the association toggled or the routers reloaded.

RF clients (the PKI server is the first) register with ``Redundancy.register`` and get
their role, their peer's messages, the moment of bulk sync and the peer's loss.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from iosemu.device.clock import uptime_text
from iosemu.device.filesystem import FileSystemError
from iosemu.device.logging import DebugFlag
from iosemu.device.router import Feature, Router
from iosemu.features.config_store import save_startup
from iosemu.features.hsrp import Hsrp, StandbyGroup, State
from iosemu.features.ipc import Association, Ipc
from iosemu.features.logging import debug_mask, declare_debug
from iosemu.features.system import VERSION_BANNER
from iosemu.parser.grammar import CONFIG, EXEC, command
from iosemu.session import CommandError, Ctx, SessionEnded, config_mode

log = logging.getLogger("iosemu.redundancy")

STATE_NAMES = {
    0: "UNKNOWN",
    1: "DISABLED",
    2: "INITIALIZATION",
    3: "NEGOTIATION",
    4: "STANDBY COLD",
    5: "STANDBY COLD-CONFIG",
    6: "STANDBY COLD-FILESYS",
    7: "STANDBY COLD-BULK",
    8: "STANDBY HOT",
    9: "ACTIVE-FAST",
    10: "ACTIVE-DRAIN",
    11: "ACTIVE_PRECONFIG",
    12: "ACTIVE_POSTCONFIG",
    13: "ACTIVE",
    14: "ACTIVE-EXTRALOAD",
    15: "ACTIVE-HANDBACK",
}
DISABLED, INITIALIZATION, NEGOTIATION = 1, 2, 3
STANDBY_COLD_BULK, STANDBY_HOT = 7, 8
ACTIVE_FAST, ACTIVE = 9, 13

RF_CHANNEL = 1  # IPC channel of the RF protocol itself; clients get their own
STEP = 0.5  # lab seconds per RF state on the way to STANDBY HOT
TERMINAL_DELAY = 10.0  # seconds from peer STANDBY HOT to the terminal state (swact enabled)
CLIENT_COUNT = 14  # constant on the guide's image
DEBUG_MASK = 0x100

SWACT_SIMPLEX = "disabled (system is simplex (no peer unit))"
SWACT_STANDBY = "cannot be initiated from this the standby unit"  # sic: IOS's words
SWACT_NOT_TERMINAL = "disabled (peer unit not yet in terminal standby state)"

# Inter-device FSM (names from the guide's debug; INIT and HSRP_INIT are ours).
ST_INIT = "RF_INTERDEV_STATE_INIT"
ST_NO_HSRP = "RF_INTERDEV_STATE_PC_NO_HSRP"
ST_STDBY = "RF_INTERDEV_STATE_STDBY"
ST_ACT = "RF_INTERDEV_STATE_ACT"

DEBUG_FLAG = DebugFlag(
    "redundancy.inter-device", "Redundancy", "Redundancy inter-device", mask=DEBUG_MASK
)


@dataclass
class RfClient:
    """A feature that keeps state on both units."""

    name: str
    channel: int  # IPC channel its messages use
    on_message: Callable[[bytes], None]
    on_role: Callable[[str], None] = lambda role: None  # "active" / "standby"
    # The active's side of a bulk sync, run when the standby is in COLD-BULK.
    bulk_sync: Callable[[], Awaitable[None]] | None = None
    on_peer_hot: Callable[[], None] = lambda: None
    on_peer_lost: Callable[[], None] = lambda: None


class Redundancy(Feature):
    def __init__(self, router: Router) -> None:
        super().__init__(router)
        # Configuration.
        self.interdevice = False
        self.configured_scheme: str | None = None
        # What this boot runs with: the scheme only takes effect at boot.
        self.scheme: str | None = None
        # Run time.
        self.my_state = ACTIVE
        self.peer_state = DISABLED
        self.interdev = ST_INIT
        self.paired_since_boot = False
        self.peer_scheme_ok = False
        self.role = "active"  # "init" while a paired boot waits for HSRP to decide
        self.terminal = False  # the pair reached its terminal state: switchover allowed
        self.switchovers = 0
        self.standby_failures = 0
        self.last_reason = "none"
        self.user_forced_by_peer = False
        self.state_since = router.loop.time()
        self.peer_since = router.loop.time()  # when the peer entered its current state
        self.running = False  # started() ran: the role is known unless "init"
        self.stale = False  # a standby that lost its active: must sync again when paired
        self.clients: dict[str, RfClient] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._walk: asyncio.Task[None] | None = None

    # --- configuration ---------------------------------------------------------------

    def config(self, slot: str) -> list[str]:
        if slot == "redundancy-interdevice" and self.interdevice:
            out = ["redundancy inter-device"]
            if self.configured_scheme:
                out.append(f" scheme standby {self.configured_scheme}")
            return [*out, "!", "!"]
        if slot == "redundancy":
            return ["redundancy", "!", "!"]
        return []

    # --- the pieces we talk through --------------------------------------------------

    @property
    def hsrp(self) -> Hsrp:
        return self.router.feature(Hsrp)

    def group(self) -> StandbyGroup | None:
        return self.hsrp.group_by_name(self.scheme) if self.scheme else None

    def association(self) -> Association | None:
        ipc = self.router.feature(Ipc)
        for number in sorted(ipc.associations):
            return ipc.associations[number]
        return None

    @property
    def duplex(self) -> bool:
        assoc = self.association()
        return bool(assoc and assoc.up and self.peer_scheme_ok)

    # --- life cycle ------------------------------------------------------------------

    def started(self) -> None:
        self.running = True
        self.scheme = self.configured_scheme if self.interdevice else None
        if self.scheme is None:
            return
        self.interdev = ST_NO_HSRP
        self.my_state = INITIALIZATION
        self.role = "init"
        self.hsrp.subscribe(self._hsrp_changed)
        assoc = self.association()
        if assoc is not None:
            assoc.handlers[RF_CHANNEL] = self._receive
            assoc.state_handlers.append(self._association_changed)
            for client in self.clients.values():
                assoc.handlers[client.channel] = client.on_message
        self._reconsider()

    def stopped(self) -> None:
        for task in self._tasks:
            task.cancel()

    def register(self, client: RfClient) -> None:
        """Make ``client`` part of the pair's state: it hears its role and its peer.

        A client that registers once the role is decided is told it at once."""
        self.clients[client.name] = client
        assoc = self.association()
        if self.scheme is not None and assoc is not None:
            assoc.handlers[client.channel] = client.on_message
        if self.running and self.role != "init":
            client.on_role(self.role)

    def send(self, client: RfClient, payload: bytes) -> bool:
        """A message to the client's peer on the other unit; False when unpaired."""
        assoc = self.association()
        return bool(self.duplex and assoc is not None and assoc.send(client.channel, payload))

    # --- events ----------------------------------------------------------------------

    def _debug(self, event: str, old: str, new: str) -> None:
        if self.router.log.debugging(DEBUG_FLAG.key):
            self.router.log.debug(f"REDUNDANCY INTERDEV: event: {event} state: {old} -> {new}")

    def _hsrp_changed(self, group: StandbyGroup, old: State, new: State) -> None:
        if group.group_name != self.scheme:
            return
        if new is State.ACTIVE:
            event, target = "RF_INTERDEV_EVENT_HSRP_ACT", ST_ACT
        elif new is State.STANDBY:
            event, target = "RF_INTERDEV_EVENT_HSRP_STDBY", ST_STDBY
        elif old in (State.ACTIVE, State.STANDBY):
            event, target = "RF_INTERDEV_EVENT_HSRP_INIT", ST_NO_HSRP
        else:
            return
        if target != self.interdev:
            self._debug(event, self.interdev, target)
            self.interdev = target
        self._reconsider()

    def _association_changed(self, up: bool) -> None:
        if up:
            self._hello()
        else:
            self._peer_lost()

    def _peer_lost(self) -> None:
        """The pair is broken: the association went down, or the active is going away."""
        lost = self.peer_scheme_ok
        peer_state = self.peer_state
        self.peer_scheme_ok = False
        self._set_peer_state(DISABLED)
        self.terminal = False
        if lost:
            if self.role == "active" and INITIALIZATION <= peer_state <= STANDBY_HOT:
                self.standby_failures += 1
            if self.role == "standby":
                # Nothing syncs it any more: it must walk (and bulk sync) again when paired.
                self.stale = True
                if self._walk is not None:
                    self._walk.cancel()
                    self._walk = None
            for client in self.clients.values():
                client.on_peer_lost()
        self._reconsider()

    def _hello(self) -> None:
        self._send_rf(
            {
                "t": "hello",
                "scheme": self.scheme,
                "group": self.group() is not None,
                "role": self.role,
                "state": self.my_state,
            }
        )

    def _set_peer_state(self, state: int) -> None:
        if state != self.peer_state:
            self.peer_state = state
            self.peer_since = self.router.loop.time()

    def _send_rf(self, message: dict[str, object]) -> None:
        assoc = self.association()
        if assoc is not None:
            assoc.send(RF_CHANNEL, json.dumps(message).encode())

    def _receive(self, payload: bytes) -> None:
        try:
            message = json.loads(payload)
            kind = message["t"]
        except (ValueError, KeyError, TypeError):
            log.info("%s: dropped a malformed RF message", self.router.name)
            return
        if kind == "hello":
            # A scheme naming a group that does not exist on either side pairs nothing.
            self.peer_scheme_ok = (
                message.get("scheme") == self.scheme
                and bool(message.get("group"))
                and self.group() is not None
            )
            if not self.peer_scheme_ok:
                return
            first = not self.paired_since_boot
            self.paired_since_boot = True
            self._set_peer_state(int(message.get("state", DISABLED)))
            if first:
                self._hello()
            self._reconsider()
        elif not self.peer_scheme_ok:
            return
        elif kind == "state":
            self._set_peer_state(int(message["state"]))
            if self.peer_state == STANDBY_COLD_BULK and self.role == "active":
                self._spawn(self._bulk_sync())
            elif self.peer_state == STANDBY_HOT and self.role == "active":
                for client in self.clients.values():
                    client.on_peer_hot()
                self._spawn(self._reach_terminal())
            self._reconsider()
        elif kind == "bulk-done" and self.role == "standby":
            self._spawn(self._hot())
        elif kind == "switchover":
            # The active is reloading to hand over: it is gone now, not when the
            # association times out (its HSRP resign follows at once).
            self.user_forced_by_peer = True
            self._peer_lost()

    def _spawn(self, coro: Awaitable[None]) -> asyncio.Task[None]:
        task = self.router.spawn(coro, "rf")  # type: ignore[arg-type]
        self._tasks.append(task)
        task.add_done_callback(lambda t: self._tasks.remove(t) if t in self._tasks else None)
        return task

    # --- the roles -------------------------------------------------------------------

    def _set_state(self, state: int) -> None:
        if state == self.my_state:
            return
        self.my_state = state
        self.state_since = self.router.loop.time()
        if self.duplex:
            self._send_rf({"t": "state", "state": state})

    def _reconsider(self) -> None:
        """Decide the role from HSRP and the pairing, as the module docstring says."""
        if self.scheme is None:
            return
        group = self.group()
        hsrp = group.state if group is not None else None
        peer_active = self.duplex and self.peer_state >= ACTIVE_FAST
        if hsrp is State.ACTIVE or group is None:
            self._become_active()
        elif hsrp is State.STANDBY and peer_active:
            self._become_standby()
        elif hsrp is State.STANDBY and not self.paired_since_boot:
            self._become_active()  # never paired: alone, hence active (Simplex)
        # Otherwise: a standby stays one until HSRP makes it Active, and a unit still
        # waiting for HSRP stays in INITIALIZATION.

    def _become_active(self) -> None:
        if self.role == "active" and self.my_state >= ACTIVE_FAST:
            return
        was_standby = self.role == "standby"
        self.role = "active"
        self.stale = False
        if self._walk is not None:
            self._walk.cancel()
            self._walk = None
        if was_standby:
            self.switchovers += 1
            self.last_reason = "user forced" if self.user_forced_by_peer else "active unit failed"
            self.user_forced_by_peer = False
            self._spawn(self._walk_active())
        else:
            self._set_state(ACTIVE)
        for client in self.clients.values():
            client.on_role("active")

    async def _walk_active(self) -> None:
        for state in range(ACTIVE_FAST, ACTIVE + 1):
            self._set_state(state)
            await asyncio.sleep(0.01)

    def _become_standby(self) -> None:
        """Become the standby, or (stale) walk the states again to be synced afresh."""
        if self.role == "standby" and not self.stale:
            return
        told = self.role == "standby"
        self.role = "standby"
        self.stale = False
        self.terminal = False
        if not told:
            for client in self.clients.values():
                client.on_role("standby")
        self._walk = self._spawn(self._walk_standby())

    async def _walk_standby(self) -> None:
        for state in range(INITIALIZATION, STANDBY_COLD_BULK + 1):
            self._set_state(state)
            await asyncio.sleep(STEP)
        # COLD-BULK: the active now sends every client's state, then "bulk-done".

    async def _hot(self) -> None:
        await asyncio.sleep(STEP)
        self._set_state(STANDBY_HOT)

    async def _bulk_sync(self) -> None:
        for client in list(self.clients.values()):
            if client.bulk_sync is not None:
                try:
                    await client.bulk_sync()
                except Exception:
                    log.exception("%s: bulk sync of %s failed", self.router.name, client.name)
        self._send_rf({"t": "bulk-done"})

    async def _reach_terminal(self) -> None:
        await asyncio.sleep(TERMINAL_DELAY)
        if self.peer_state == STANDBY_HOT and self.role == "active":
            self.terminal = True

    # --- what show commands print ------------------------------------------------------

    def manual_swact(self) -> str:
        if not self.duplex:
            return SWACT_SIMPLEX
        if self.role == "init":
            return SWACT_NOT_TERMINAL  # paired, but HSRP has not decided the roles yet
        if self.role == "standby":
            return SWACT_STANDBY
        if not self.terminal:
            return SWACT_NOT_TERMINAL
        return "enabled"


def _state(n: int) -> str:
    return f"{n:<2d} -{STATE_NAMES[n]} "


def states_lines(rf: Redundancy) -> list[str]:
    duplex = rf.duplex
    mask = debug_mask(rf.router)
    comms = "Up" if duplex else "Down      Reason: Simplex mode"
    return [
        f"       my state = {_state(rf.my_state)}",
        f"     peer state = {_state(rf.peer_state if duplex else DISABLED)}",
        f"           Mode = {'Duplex' if duplex else 'Simplex'}",
        "        Unit ID = 0",
        "",
        "     Maintenance Mode = Disabled",
        f"    Manual Swact = {rf.manual_swact()}",
        f" Communications = {comms}",
        "",
        f"   client count = {CLIENT_COUNT}",
        " client_notification_TMR = 30000 milliseconds",
        f"           RF debug mask = 0x{mask:X}   ",
        "",
    ]


# --------------------------------------------------------------------------- commands

RED = config_mode("redundancy", "(config-red)")
RED_INTERDEV = config_mode("red-interdevice", "(config-red-interdevice)")


@command(CONFIG, "redundancy", help="Enter redundancy mode")
def redundancy_mode(ctx: Ctx) -> None:
    ctx.enter(RED)


@command(
    CONFIG,
    "[no] redundancy inter-device",
    help="|Inter-device redundancy configuration",
)
def redundancy_interdevice(ctx: Ctx) -> None:
    rf = ctx.feature(Redundancy)
    if ctx.negate:
        rf.interdevice = False
        rf.configured_scheme = None
        return
    rf.interdevice = True
    ctx.enter(RED_INTERDEV)


@command(
    RED_INTERDEV,
    "[no] scheme standby WORD$name",
    help="Redundancy scheme|Use standby (HSRP) as the redundancy scheme|Standby group name",
)
def scheme_standby(ctx: Ctx, name: str | None = None) -> None:
    # Takes effect at the next reload, as the guide says: only the configuration changes.
    ctx.feature(Redundancy).configured_scheme = None if ctx.negate else name


# The guide types ``sh redundancy state``: an abbreviation of ``states``.
@command(
    EXEC, "show redundancy states", help="|Shows redundancy information|redundancy states", priv=1
)
def show_redundancy_states(ctx: Ctx) -> None:
    ctx.print(*states_lines(ctx.feature(Redundancy)))


def _location(role: str) -> str:
    # Right-aligned with the other field names, as in real captures of either role.
    return f"{role + ' Location':>30} = slot 0"


def _software_state(n: int) -> str:
    return STATE_NAMES[n] + (" " if n == STANDBY_HOT else "")


@command(EXEC, "show redundancy", help="|Shows redundancy information", priv=1)
def show_redundancy(ctx: Ctx) -> None:
    rf = ctx.feature(Redundancy)
    router = ctx.router
    now = router.loop.time()
    duplex = rf.duplex
    lines = [
        "Redundant System Information :",
        "------------------------------",
        f"       Available system uptime = {uptime_text(router.uptime())}",
        f"Switchovers system experienced = {rf.switchovers}",
        f"              Standby failures = {rf.standby_failures}",
        f"        Last switchover reason = {rf.last_reason}",
        "",
        f"                 Hardware Mode = {'Duplex' if duplex else 'Simplex'}",
        "              Maintenance Mode = Disabled",
        f"                Communications = {'Up' if duplex else 'Down      Reason: Failure'}",
        "",
        "Current Processor Information :",
        "-------------------------------",
        _location("Active" if rf.role == "active" else "Standby"),
        f"        Current Software state = {_software_state(rf.my_state)}",
        f"       Uptime in current state = {uptime_text(now - rf.state_since)}",
        f"                 Image Version = {VERSION_BANNER[0]}",
        *VERSION_BANNER[1:],
        "        Configuration register = 0x2102",
        "",
    ]
    if duplex:
        other = "Standby" if rf.role == "active" else "Active"
        lines += [
            "Peer Processor Information :",
            "----------------------------",
            _location(other),
            f"        Current Software state = {_software_state(rf.peer_state)}",
            f"       Uptime in current state = {uptime_text(now - rf.peer_since)}",
            f"                 Image Version = {VERSION_BANNER[0]}",
            *VERSION_BANNER[1:],
            "        Configuration register = 0x2102",
            "",
        ]
    else:
        # The peer of an inter-device pair is another box, no slot of this one.
        lines.append(
            "Peer (slot: unavailable) information is not available because it is in "
            "'DISABLED' state"
        )
    ctx.print(*lines)


@command(EXEC, "show redundancy inter-device", help="||Inter-device redundancy information", priv=1)
def show_redundancy_interdevice(ctx: Ctx) -> None:
    rf = ctx.feature(Redundancy)
    ctx.print(f"Redundancy inter-device state: {rf.interdev}")
    if rf.scheme is None:
        ctx.print("  Scheme: Not configured", "")
        return
    group = rf.group()
    state = group.state.value if group is not None else "Not present"
    peer = "RF_INTERDEV_PEER_COMM" if rf.duplex else "RF_INTERDEV_PEER_NO_COMM"
    ctx.print(
        "  Scheme: Standby",
        f"      Groupname: {rf.scheme} Group State: {state}",
        f"  Peer present: {peer}",
        "  Security: Not configured",
        "",
    )


@command(
    EXEC,
    "redundancy force-switchover",
    help="Redundancy commands|Force a switchover to the standby unit",
)
async def force_switchover(ctx: Ctx) -> None:
    rf = ctx.feature(Redundancy)
    swact = rf.manual_swact()
    if swact != "enabled":
        raise CommandError(f"    Manual Swact = {swact}")
    router = ctx.router
    # As before a reload, unsaved changes are offered a save (IOS-XE asks this too).
    if router.config_modified:
        question = "System configuration has been modified. Save? [yes/no]: "
        save = await ctx.yes_no(question)
        while save is None:
            ctx.print("% Please answer 'yes' or 'no'.")
            save = await ctx.yes_no(question)
        if save:
            ctx.print("Building configuration...")
            try:
                save_startup(router)
            except FileSystemError as e:
                raise CommandError(str(e)) from None
            ctx.print("[OK]")
    if not await ctx.confirm("Proceed with switchover to standby RP? [confirm]"):
        return
    # Real consoles echo the Manual Swact status once confirmed, as a refusal prints it.
    ctx.print(f"    Manual Swact = {swact}")
    router.log.log(
        "SYS",
        5,
        "RELOAD",
        f"Reload requested by {ctx.session.source}. Reload Reason: redundancy force-switchover.",
    )
    rf._send_rf({"t": "switchover"})
    await asyncio.sleep(0.1)  # the peer hears why before it hears the resign
    # Hand the address over at once: the group resigns instead of timing out.
    group = rf.group()
    if group is not None:
        group.disable(resign=True)
    await asyncio.sleep(0.4)
    router.reload("force-switchover")
    raise SessionEnded("reload")


declare_debug(
    "redundancy inter-device",
    "Redundancy Facility (RF)|Inter-device redundancy debugs",
    DEBUG_FLAG,
)
