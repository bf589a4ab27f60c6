"""The ``iosemu`` command: ``lab``, ``node``, ``console``, ``inventory``, ``replay``,
``commands``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path

from iosemu.api import Lab, default_state_root
from iosemu.boot import BOOT_DELAY
from iosemu.lab.forward import ForwardError
from iosemu.lab.topology import LabSpec, TopologyError, find_lab, parse_forward_option
from iosemu.serve import (
    RUN_FILE,
    find_console,
    read_run_file,
    remove_run_file,
    running_routers,
    serve_lab,
)

BOOT_HELP = f"lab seconds from power-on to the image running (default {BOOT_DELAY})"


def _state_dir(args: argparse.Namespace, lab_name: str) -> Path:
    return Path(args.state) if args.state else default_state_root() / lab_name


def lab_spec(name: str | None) -> LabSpec | None:
    """The lab ``name`` (built-in or file); None, with the reason on stderr, if unusable."""
    try:
        return find_lab(name)
    except TopologyError as e:
        print(f"iosemu: {e}", file=sys.stderr)
        return None


def cmd_lab(args: argparse.Namespace) -> int:
    spec = lab_spec(args.lab)
    if spec is None:
        return 2
    spec.set_bases(console=args.console_base, ssh=args.ssh_base, telnet=args.telnet_base)
    try:
        spec.forwards += [parse_forward_option(text) for text in args.forward or []]
    except TopologyError as e:
        print(f"iosemu: {e}", file=sys.stderr)
        return 2
    clock = args.clock or ("scaled" if args.speed else spec.clock or "real")
    if clock == "virtual":
        print("iosemu: a lab with consoles runs on the real or a scaled clock", file=sys.stderr)
        return 2
    state = _state_dir(args, spec.name)
    lab = Lab(
        spec,
        clock=clock,
        speed=args.speed,
        state_dir=state,
        fresh=args.fresh,
        boot_delay=args.boot_delay,
    )
    logging.basicConfig(
        filename=str(lab.state_dir / "lab.log"),
        level=logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )

    async def main() -> None:
        try:
            servers = await serve_lab(lab)
        except OSError as e:
            print(f"iosemu: cannot open the routers' ports: {e.strerror}", file=sys.stderr)
            raise SystemExit(1) from None
        try:
            forwards = await lab.start_forwards()
        except ForwardError as e:
            print(f"iosemu: cannot open a forward: {e}", file=sys.stderr)
            raise SystemExit(1) from None
        for router in lab.routers.values():
            router.power_on()
        print(f"Lab {spec.name} ({clock} clock), state in {lab.state_dir}")
        print(f"{'Router':<20} {'Console':<24} {'SSH (vty)':<26} Telnet (vty)")
        table = zip(*(servers.ports(kind) for kind in ("consoles", "ssh", "telnet")), strict=True)
        for console, ssh, telnet in table:
            print(
                f"{console.router:<20} {f'telnet {console.host} {console.port}':<24} "
                f"{f'ssh -p {ssh.port} {ssh.host}':<26} telnet {telnet.host} {telnet.port}"
            )
        if forwards:
            print(f"{'Forward':<20} To")
            for forward in forwards:
                to = forward.spec
                host = f"127.0.0.1:{to.host_port}"
                print(f"{host:<20} {to.target}:{to.port} (relay {to.address.ip})")
        sys.stdout.flush()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        if args.no_attach or not sys.stdin.isatty():
            await stop.wait()
        else:
            from iosemu.console.rich import attach

            attached = asyncio.ensure_future(attach(lab, list(lab.routers)))
            waiter = asyncio.ensure_future(stop.wait())
            await asyncio.wait([attached, waiter], return_when=asyncio.FIRST_COMPLETED)
            attached.cancel()
            waiter.cancel()
        await servers.close()

    try:
        lab.run(main())
    finally:
        remove_run_file(lab)
        lab.close()
    return 0


def cmd_console(args: argparse.Namespace) -> int:
    from iosemu.console.client import run_console

    spec = lab_spec(args.lab)
    if spec is None:
        return 2
    # The whole lab's run file (iosemu lab), or the router's own (iosemu node).
    state = _state_dir(args, spec.name)
    where = find_console(state, args.router)
    if where is None:
        running = running_routers(state)
        if not running:
            print(
                f"iosemu: lab {spec.name} is not running (start it with: iosemu lab)",
                file=sys.stderr,
            )
        else:
            names = ", ".join(running)
            print(f"iosemu: no router {args.router} in lab {spec.name} ({names})", file=sys.stderr)
        return 1
    return run_console(where[0], where[1], args.router)


def cmd_inventory(args: argparse.Namespace) -> int:
    from iosemu.inventory import Credentials, render

    spec = lab_spec(args.lab)
    if spec is None:
        return 2
    run = read_run_file(_state_dir(args, spec.name), RUN_FILE)
    creds = Credentials(args.username, args.password, args.secret)
    try:
        text = render(spec, args.format, run, creds, args.via)
    except ValueError as e:
        print(f"iosemu: {e}", file=sys.stderr)
        return 2
    if args.output in (None, "-"):
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text)
    return 0


def cmd_node(args: argparse.Namespace) -> int:
    from iosemu.node import run_node

    return run_node(args)


def cmd_replay(args: argparse.Namespace) -> int:
    from iosemu.replay.runner import main as replay_main

    return replay_main(args.files, update=args.update)


def add_vty_port_options(p: argparse.ArgumentParser) -> None:
    """``--ssh-base`` and ``--telnet-base``, for ``lab`` and ``node`` alike."""
    p.add_argument(
        "--ssh-base", type=int, help="SSH to router i on P+i (default console base + 200)"
    )
    p.add_argument(
        "--telnet-base",
        type=int,
        help="telnet to router i's vty lines on P+i (default console base + 300)",
    )


def cmd_commands(args: argparse.Namespace) -> int:
    from iosemu.command_table import markdown, mode_by_name, modes, text_table

    selected = modes()
    if args.mode is not None:
        mode = mode_by_name(args.mode)
        if mode is None:
            names = ", ".join(m.name for m in selected)
            print(f"iosemu: no mode {args.mode!r} (modes: {names})", file=sys.stderr)
            return 2
        selected = [mode]
    sys.stdout.write(markdown(selected) if args.markdown else text_table(selected))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="iosemu", description="Emulated Cisco IOS 15.1 routers for the PKI HA guide"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("lab", help="start a lab and attach to its first router")
    p.add_argument("lab", nargs="?", help="a built-in lab name or a lab file (default: pki-ha)")
    p.add_argument("--no-attach", action="store_true", help="only serve the consoles")
    p.add_argument("--speed", type=float, help="run the clock at N times real time")
    p.add_argument("--clock", choices=["real", "scaled"], help="clock mode (default real)")
    p.add_argument("--console-base", type=int, help="router i listens on P+i (default 2000)")
    add_vty_port_options(p)
    p.add_argument("--state", help="state directory (default ~/.local/state/iosemu/LAB)")
    p.add_argument("--fresh", action="store_true", help="wipe the state directory first")
    p.add_argument("--boot-delay", type=float, default=BOOT_DELAY, help=BOOT_HELP)
    p.add_argument(
        "--forward",
        action="append",
        metavar="ADDR:PORT=HOSTPORT",
        help="relay 127.0.0.1:HOSTPORT to ADDR:PORT inside the lab (repeatable)",
    )
    p.set_defaults(func=cmd_lab)

    p = sub.add_parser("node", help="run one router of a lab in this process (TCP fabric)")
    p.add_argument("router", help="the router (node) of the lab file to run")
    p.add_argument("lab", nargs="?", help="a built-in lab name or a lab file (default: pki-ha)")
    p.add_argument("--state", help="state directory of the lab, shared by all its nodes")
    p.add_argument(
        "--clock", choices=["real", "scaled"], help="clock mode (default: the running lab's)"
    )
    p.add_argument("--speed", type=float, help="run the clock at N times real time")
    p.add_argument("--console-base", type=int, help="router i's console is P+i (default 2000)")
    p.add_argument("--fabric-base", type=int, help="router i's fabric port is P+i (default 3000)")
    add_vty_port_options(p)
    p.add_argument("--fresh", action="store_true", help="wipe this router's NVRAM and flash first")
    p.add_argument("--boot-delay", type=float, default=BOOT_DELAY, help=BOOT_HELP)
    p.set_defaults(func=cmd_node)

    p = sub.add_parser("console", help="attach this terminal to a router of a running lab")
    p.add_argument("router")
    p.add_argument("--lab", help="the lab (name or file) it belongs to (default: pki-ha)")
    p.add_argument("--state", help="state directory of that lab")
    p.set_defaults(func=cmd_console)

    p = sub.add_parser(
        "inventory",
        help="write an Ansible, Nornir, pyATS or netmiko inventory of a lab's routers",
        description="Ports come from the running lab, else from the lab file. Console "
        "entries work on any lab; SSH and vty telnet need a domain name, an RSA key, the "
        "user and `login local` on the vty lines, e.g.: ip domain name lab / username admin "
        "privilege 15 secret admin / crypto key generate rsa modulus 1024 / line vty 0 4 / "
        "login local.",
    )
    p.add_argument("lab", nargs="?", help="a built-in lab name or a lab file (default: pki-ha)")
    p.add_argument(
        "--format", "-f", required=True, choices=["ansible", "nornir", "pyats", "netmiko"]
    )
    p.add_argument(
        "--via",
        choices=["console", "ssh", "telnet"],
        help="the way in: console port, SSH, or telnet to the vty lines "
        "(default: ssh for ansible, console for the others; pyats lists all three)",
    )
    p.add_argument("--username", default="admin", help="login user (default admin)")
    p.add_argument("--password", default="admin", help="its password (default admin)")
    p.add_argument("--secret", default="", help="the enable secret, if the user needs one")
    p.add_argument("--state", help="state directory of the lab (for a running lab's ports)")
    p.add_argument("-o", "--output", help="write to this file (default: standard output)")
    p.set_defaults(func=cmd_inventory)

    p = sub.add_parser("replay", help="run Markdown transcripts against a fresh lab")
    p.add_argument("files", nargs="+")
    p.add_argument("--update", action="store_true", help="rewrite the expected output")
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("commands", help="list the supported commands of each mode")
    p.add_argument("--mode", help="only this mode (exec, configure, interface, ...)")
    p.add_argument("--markdown", action="store_true", help="as Markdown (docs/commands.md)")
    p.set_defaults(func=cmd_commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
