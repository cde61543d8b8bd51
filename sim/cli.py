"""`kiosk-sim`: virtual hardware for playing with the kiosk by hand.

    kiosk-sim field --port 54321              # then type: tap ntag213 04A1B2C3D4E5F6 hold=1.5
    kiosk-sim scenario morning --port 54321 --speed 20

Start the kiosk with ``[reader] path = "udp:127.0.0.1:54321"``. Each subcommand lives in
its own pair of functions (``add_<name>_parser`` and ``<name>_command``) so more can join.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
import threading
from collections.abc import Callable, Iterable
from typing import TextIO

from sim.nfc import KINDS, VirtualField, make_card
from sim.scenario import StepResult, load_scenario, run_scenario

FIELD_HELP = f"""commands:
  tap KIND [UID] [hold=SECONDS]   place a card, hold it (default 0.5 s after it was read), lift it
  place KIND [UID]                leave a card on the reader
  remove                          lift the card
  fail [SECONDS]                  break the reader (until 'recover', or for SECONDS)
  recover                         mend the reader
  status                          what lies on the reader
  help | quit
kinds: {", ".join(KINDS)}"""


# -- field -------------------------------------------------------------------------------
def add_field_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "field", help="start a virtual NFC field and take tap commands on stdin",
        description="Serve a virtual RF field on a UDP port for nfcpy's udp:HOST:PORT reader.",
    )
    parser.add_argument("--port", type=int, default=54321, help="UDP port (default 54321)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--slow-empty", action="store_true",
        help="let an empty field stay silent (nfcpy then waits 1 s per technology)",
    )
    parser.set_defaults(handler=field_command)


def _started_field(args: argparse.Namespace, quick_empty: bool = True) -> VirtualField | None:
    """The field on --host/--port, serving; None (said on stderr) when the port is taken."""
    field = VirtualField(args.port, args.host, quick_empty=quick_empty)
    try:
        return field.start()
    except OSError as error:
        print(f"kiosk-sim: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return None


def field_command(args: argparse.Namespace) -> int:
    field = _started_field(args, quick_empty=not args.slow_empty)
    if field is None:
        return 2
    print(f"virtual field on {field.path} (type 'help')", flush=True)
    try:
        serve_commands(field, sys.stdin, sys.stdout)
    except KeyboardInterrupt:
        pass
    finally:
        field.stop()
    return 0


def serve_commands(field: VirtualField, lines: Iterable[str], out: TextIO) -> None:
    """Run field commands line by line; a bad line gets a message, never an exit."""
    for line in lines:
        try:
            words = shlex.split(line)
        except ValueError as error:
            print(f"? {error}", file=out, flush=True)
            continue
        if not words:
            continue
        if words[0] in ("quit", "exit"):
            return
        try:
            print(field_action(field, words), file=out, flush=True)
        except ValueError as error:
            print(f"? {error}", file=out, flush=True)


def field_action(field: VirtualField, words: list[str]) -> str:
    """Do one command (already split into words) and say what happened."""
    command, args = words[0], words[1:]
    options = dict(arg.split("=", 1) for arg in args if "=" in arg)
    plain = [arg for arg in args if "=" not in arg]
    if command in ("tap", "place"):
        if not plain:
            raise ValueError(f"{command} needs a card kind ({', '.join(KINDS)})")
        uid = _uid(plain[1]) if len(plain) > 1 else None
        card = make_card(plain[0], uid, name=plain[0])
        if command == "place":
            field.place(card)
            seen = card.identified.wait(5.0)
            return f"placed {card!r}" + ("" if seen else " (the reader has not read it yet)")
        hold = _seconds(options.get("hold", "0.5"), "hold")
        seen = field.tap(card, hold)
        return f"tapped {card!r}" + ("" if seen else " but no reader read it")
    if command == "remove":
        lifted = field.remove()
        return f"lifted {lifted!r}" if lifted else "nothing lies on the reader"
    if command == "fail":
        field.fail()
        if plain:
            threading.Timer(_seconds(plain[0], "fail"), field.recover).start()
            return f"reader broken for {plain[0]} s"
        return "reader broken (type 'recover')"
    if command == "recover":
        field.recover()
        return "reader working"
    if command == "status":
        state = "broken" if field.broken else "working"
        return f"{field.path}: {state}, {field.card!r} on it, {field.polls} polls so far"
    if command == "help":
        return FIELD_HELP
    raise ValueError(f"unknown command {command!r} (type 'help')")


def _uid(text: str) -> bytes:
    try:
        return bytes.fromhex(text.replace(":", ""))
    except ValueError:
        raise ValueError(f"UID {text!r} is not hex (e.g. 04A1B2C3D4E5F6)") from None


def _seconds(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name}={text!r} is not a number of seconds") from None
    if not 0 <= value <= 3600:
        raise ValueError(f"{name} must be between 0 and 3600 seconds")
    return value


# -- scenario ----------------------------------------------------------------------------
def add_scenario_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "scenario", help="play a scripted scenario on a virtual field",
        description="Play a TOML scenario (a file, or a shipped name such as 'morning').",
    )
    parser.add_argument("file", help="scenario TOML file or shipped name")
    parser.add_argument("--port", type=int, default=54321, help="UDP port (default 54321)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--speed", type=float, default=1.0, help="times faster than written")
    parser.set_defaults(handler=scenario_command)


def scenario_command(args: argparse.Namespace) -> int:
    try:
        scenario = load_scenario(args.file)
    except (OSError, ValueError) as error:
        print(f"kiosk-sim: {error}", file=sys.stderr)
        return 2
    if args.speed <= 0:
        print("kiosk-sim: --speed must be positive", file=sys.stderr)
        return 2
    field = _started_field(args)
    if field is None:
        return 2
    print(f"{scenario.name}: {len(scenario.steps)} steps on {field.path}", flush=True)
    results: list[StepResult] = []
    try:
        results = run_scenario(scenario, field, args.speed, report=_print_step)
    except KeyboardInterrupt:
        pass
    finally:
        field.stop()
    missed = sum(not result.ok for result in results)
    print(f"done: {len(results)} steps, {missed} not read by any reader", flush=True)
    return 1 if missed else 0


def _print_step(result: StepResult) -> None:
    step = result.step
    what = f"{step.action} {step.card}".strip()
    note = f"  # {step.note}" if step.note else ""
    print(f"{step.at:7.1f}s  {what:<20} {result.note}{note}", flush=True)


# -- entry point -------------------------------------------------------------------------
PARSERS: tuple[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None], ...] = (
    add_field_parser,
    add_scenario_parser,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kiosk-sim", description="Virtual kiosk hardware.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every card move")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in PARSERS:
        add(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(message)s",
    )
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
