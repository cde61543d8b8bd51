"""The `kiosk` command: run the daemon, and look at or change the ledger by hand.

Every error is one line on stderr and a non-zero exit code; no tracebacks.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from kiosk import __version__
from kiosk import config as config_module
from kiosk.adapters.ledger import Span
from kiosk.cli_staff import add_staff_commands
from kiosk.core.cardid import parse_uid
from kiosk.core.clock import EARLIEST, instant_problem
from kiosk.core.describe import describe
from kiosk.core.events import EVENT_NAMES
from kiosk.core.i18n import Locale, shipped, text
from kiosk.core.outcome import Redeemed
from kiosk.core.rules import progress
from kiosk.errors import BadUid, ConfigError, KioskError
from kiosk.service import Counter

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2

Handler = Callable[[argparse.Namespace, TextIO], int]


def _uid(text: str) -> bytes:
    try:
        return parse_uid(text)
    except ValueError as error:
        raise BadUid(str(error)) from None


def _when(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a time (use ISO 8601, e.g. 2026-01-05T09:30 or 2026-01-05T09:30+01:00)"
        ) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    # the bounds the central keeps for events: a tap it would refuse is not recorded
    problem = instant_problem(moment, datetime.now(UTC))
    if problem is not None:
        raise argparse.ArgumentTypeError(
            f"{text!r} {problem}: give a time from {EARLIEST:%Y-%m-%d} to tomorrow"
        )
    return moment


def shown(text: str) -> str:
    """Text from the ledger or the central made safe for a terminal (escapes spelled out)."""
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


@contextmanager
def _opened(args: argparse.Namespace) -> Iterator[tuple[Counter, Locale]]:
    """The counter, and the language staff read it in ([kiosk] locale)."""
    config = config_module.load(args.config)
    counter = Counter.open(config)
    try:
        yield counter, config.kiosk.locale
    finally:
        counter.close()


@contextmanager
def _counter(args: argparse.Namespace) -> Iterator[Counter]:
    with _opened(args) as (counter, _):
        yield counter


def _local(counter: Counter, moment: datetime) -> str:
    """A recorded time (UTC) as the shop's clock shows it, with its offset."""
    return moment.astimezone(counter.program.tz).isoformat(timespec="minutes")


def cmd_tap(args: argparse.Namespace, out: TextIO) -> int:
    uid = _uid(args.uid)
    with _opened(args) as (counter, locale):
        out.write(shown(describe(counter.tap(uid, args.at), locale, counter.program.tz)) + "\n")
    return EXIT_OK


def cmd_card(args: argparse.Namespace, out: TextIO) -> int:
    uid = _uid(args.uid)
    with _opened(args) as (counter, locale):
        state = counter.known_card(uid)
        program = counter.program
        # what a tap shows: vouchers by their names, and on a ladder the rungs it can pay
        held = [
            f"{n}x {shown(shipped(locale, r.name))}"
            for r, n in progress(program, state, counter.now()).vouchers
        ]
        # a voucher of a reward no version this kiosk runs knows: by its id, not hidden
        held += [f"{n}x {shown(rid)}" for rid, n in state.all_vouchers().items()
                 if n > 0 and program.reward_by_id(rid) is None]
        rows = {
            "cli_label_card": f"{state.card_ref[:12]}…",
            "cli_label_stamps": f"{max(0, min(state.stamps, program.goal))}/{program.goal}",
            "cli_label_vouchers": ", ".join(held) or text(locale, "cli_none"),
            "cli_label_visits": str(state.visits),
            "cli_label_last_visit": _local(counter, state.last_visit)
            if state.last_visit else text(locale, "cli_never"),
        }
        for label, value in rows.items():
            out.write(f"{text(locale, label):<9} {value}\n")
    return EXIT_OK


def cmd_card_ref(args: argparse.Namespace, out: TextIO) -> int:
    uid = _uid(args.uid)
    with _counter(args) as counter:
        out.write(counter.card_ref(uid) + "\n")
    return EXIT_OK


def cmd_redeem(args: argparse.Namespace, out: TextIO) -> int:
    uid = _uid(args.uid)
    with _opened(args) as (counter, locale):
        outcome = counter.redeem(uid, args.reward, args.at)
        out.write(shown(describe(outcome, locale, counter.program.tz)) + "\n")
    return EXIT_OK if isinstance(outcome, Redeemed) else EXIT_ERROR


def cmd_history(args: argparse.Namespace, out: TextIO) -> int:
    uid = _uid(args.uid)
    with _counter(args) as counter:
        for event in counter.history(uid):
            reward = f" {shown(event.reward_id)}" if event.reward_id else ""
            out.write(
                f"{_local(counter, event.occurred_at)}  #{event.seq:<6} "
                f"{event.kind.value:<16} {event.delta:+d}{reward}\n"
            )
    return EXIT_OK


def cmd_export(args: argparse.Namespace, out: TextIO) -> int:
    with _counter(args) as counter:
        # one column per field of an event, in the wire form the central receives
        writer = csv.DictWriter(out, fieldnames=EVENT_NAMES, lineterminator="\n")
        writer.writeheader()
        for event in counter.ledger.events():
            writer.writerow(event.to_dict())
        span = counter.ledger.span()
    # on stderr: stdout stays plain CSV
    print(export_range(span), file=sys.stderr)
    return EXIT_OK


def export_range(span: Span) -> str:
    """What an export covers, and where the events it leaves out are."""
    if span.first is None or span.last is None:
        held = "no events held here"
    else:
        held = f"events from {span.first:%Y-%m-%d %H:%M} to {span.last:%Y-%m-%d %H:%M} UTC"
    if not span.forgotten:
        return f"export: {held}: every event this kiosk recorded"
    until = f" (up to {span.forgotten_until:%Y-%m-%d})" if span.forgotten_until else ""
    return (
        f"export: {held}; {span.forgotten} older events{until} were stored by the central "
        "API and removed here ([kiosk] retention_days): export those from the central API"
    )


def cmd_check_config(args: argparse.Namespace, out: TextIO) -> int:
    # the file `kiosk run` would read: --config, else $KIOSK_CONFIG, else /etc/kiosk/kiosk.toml
    path = config_module.config_path(args.file or args.config)
    config_module.load(None if path is None else str(path))  # ConfigError lists every problem
    out.write(f"{path or 'shipped defaults'}: ok\n")
    return EXIT_OK


def _age(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s"


def cmd_status(args: argparse.Namespace, out: TextIO) -> int:
    from kiosk.adapters import timekeeper
    from kiosk.adapters.sync import sync_status

    config = config_module.load(args.config)
    counter = Counter.open(config)
    try:
        status = sync_status(counter.ledger)
        wall = datetime.now(UTC)
        last_event = counter.ledger.last_event_time()
        rows = [
            ("kiosk", config.kiosk.id),
            ("central", config.central.url or "none configured (no sync)"),
            ("online", {None: "unknown", True: "yes", False: "no"}[status.online]),
            ("pending", f"{status.pending} events"),
            ("oldest pending", _age(status.oldest_pending_age.total_seconds())
             if status.oldest_pending_age else "-"),
            ("rejected", f"{status.rejected} events (kept aside, see the journal)"
             if status.rejected else "0"),
            ("synced", f"{status.synced} events"),
            ("last success", _local(counter, status.last_success)
             if status.last_success else "never"),
            ("last error", shown(status.last_error or "-")),
            ("program", f"{shown(counter.program.version)} (from {counter.program_source})"),
            ("clock", "BEHIND the last recorded event: check NTP"
             if last_event and wall < last_event else f"ok ({_local(counter, wall)})"),
            ("central clock", timekeeper.verdict(counter.ledger).describe()),
        ]
        for name, value in rows:
            out.write(f"{name:<15}{value}\n")
        for event, reason in counter.ledger.rejected(newest=5):
            out.write(f"  rejected #{event.seq} {event.kind.value}: {shown(reason)}\n")
    finally:
        counter.close()
    return EXIT_OK


def cmd_sync(args: argparse.Namespace, out: TextIO) -> int:
    from kiosk.adapters.sync import SyncWorker
    from kiosk.served import ServedPrograms

    config = config_module.load(args.config)
    # first: creates the ledger and site key on a first run, refuses a pair that disagrees
    counter = Counter.open(config)
    counter.close()
    if not config.central.url:
        out.write("no central API configured ([central] url is empty): nothing to sync\n")
        return EXIT_OK
    worker = SyncWorker(
        config.central, config.kiosk.ledger_path, counter.program.tz, programs=ServedPrograms()
    )
    try:
        report = worker.sync_once(refresh=True)
    finally:
        worker.close()
    out.write(
        f"sent {report.sent} in {report.batches} batches: {report.accepted} accepted, "
        f"{report.duplicate} already known, {report.rejected} rejected; "
        f"{report.cards_merged} cards refreshed\n"
    )
    if report.error:
        out.write(f"error: {report.error}\n")
        return EXIT_ERROR
    return EXIT_OK


def cmd_doctor(args: argparse.Namespace, out: TextIO) -> int:
    from kiosk import doctor

    return doctor.main(config_module.load(args.config), out)


def cmd_backup(args: argparse.Namespace, out: TextIO) -> int:
    from kiosk.adapters.ledger_backup import backup

    config = config_module.load(args.config)
    done = backup(config.kiosk.site_key_path, config.kiosk.ledger_path, Path(args.dest))
    out.write(
        f"backed up {done.events} events ({done.pending} not yet sent to the central API) to "
        f"{done.ledger}, and the site key to {done.site_key}\n"
        "this backup holds the site key: with it, card UIDs can be linked to their history. "
        "Keep it as private as the kiosk (both files are mode 0600)\n"
        f"to restore: stop the kiosk, copy both files back to {config.kiosk.ledger_path} and "
        f"{config.kiosk.site_key_path} (owner kiosk, mode 0600), start it\n"
    )
    return EXIT_OK


def cmd_start_over(args: argparse.Namespace, out: TextIO) -> int:
    from kiosk.adapters.ledger_binding import start_over

    config = config_module.load(args.config)
    for line in start_over(config.kiosk.site_key_path, config.kiosk.ledger_path, datetime.now(UTC)):
        out.write(line + "\n")
    return EXIT_OK


def cmd_run(args: argparse.Namespace, out: TextIO) -> int:
    from kiosk.app import main as run_daemon

    return run_daemon(args.config)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kiosk",
        description="Loyalty-card kiosk: NFC taps, stamps, rewards; offline first.",
    )
    parser.add_argument("--version", action="version", version=f"kiosk {__version__}")
    parser.add_argument(
        "--config",
        metavar="FILE",
        help=f"configuration file (default: ${config_module.ENV_VAR}, "
        f"else {config_module.DEFAULT_PATH} if present, else shipped defaults)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help_text, description=help_text)
        command.set_defaults(handler=handler)
        return command

    add("run", cmd_run, "run the kiosk daemon (reader, display, lights, sync) until SIGTERM")

    add("status", cmd_status, "pending events, last sync, last error, clock")
    add("sync", cmd_sync, "send pending events to the central API now and report")
    add("doctor", cmd_doctor, "check a live Pi: reader, display, groups, boot config, clock, central")

    tap = add("tap", cmd_tap, "tap a card by its UID, as if on the reader, and print the outcome")
    tap.add_argument("uid", help="card UID in hex, e.g. 04A1B2C3D4E5F6")
    tap.add_argument("--at", type=_when, help="time of the tap (ISO 8601) to replay history")

    card = add("card", cmd_card, "show a card's stamps, vouchers and last visit")
    card.add_argument("uid", help="card UID in hex")

    ref = add("card-ref", cmd_card_ref, "print a card's ref (for [staff] cards); the UID is not kept")
    ref.add_argument("uid", help="card UID in hex")

    redeem = add("redeem", cmd_redeem, "redeem a voucher of a card")
    redeem.add_argument("uid", help="card UID in hex")
    redeem.add_argument("--reward", help="reward id (default: the most valuable voucher)")
    redeem.add_argument("--at", type=_when, help="time of the redemption (ISO 8601)")

    add_staff_commands(add, _when)

    history = add("history", cmd_history, "list a card's events")
    history.add_argument("uid", help="card UID in hex")

    export = add("export", cmd_export, "export every event to standard output")
    export.add_argument("--csv", action="store_true", required=True, help="as CSV")

    backup = add("backup", cmd_backup, "copy the ledger and the site key into a directory, "
                 "while the kiosk runs (the copy holds the site key: keep it private)")
    backup.add_argument("dest", help="the directory to copy into (made if missing, mode 0700)")

    add("start-over", cmd_start_over, "set aside a ledger that does not belong to the site key "
        "or is damaged, and begin a new empty one (stop the kiosk first)")

    check = add("check-config", cmd_check_config, "validate a configuration file")
    check.add_argument("file", nargs="?", help="the file (default: the one --config names)")
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args, out))
    except ConfigError as error:
        for problem in error.problems:
            print(f"kiosk: {error.source}: {problem}", file=sys.stderr)
        return EXIT_ERROR
    except KioskError as error:
        print(f"kiosk: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
