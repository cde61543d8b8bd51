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
from typing import TextIO

from kiosk import __version__
from kiosk import config as config_module
from kiosk.adapters.ledger import Span
from kiosk.core.cardid import parse_uid
from kiosk.core.rules import Outcome, OutcomeKind
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
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def describe(outcome: Outcome) -> str:
    """One line a person reads at the terminal (the OLED has its own screens)."""
    progress = f"{outcome.stamps}/{outcome.goal}"
    vouchers = ", ".join(f"{n}x {r.name}" for r, n in outcome.vouchers) or "none"
    if outcome.kind is OutcomeKind.REFUSED:
        return f"refused: this card cannot hold stamps ({outcome.refusal})"
    if outcome.kind is OutcomeKind.NO_VOUCHER:
        return f"no voucher to redeem; stamps {progress}"
    headline = {
        OutcomeKind.WELCOME: f"welcome: new card, {outcome.bonus} bonus stamps + today's",
        OutcomeKind.STAMPED: "stamped" + (f" x{outcome.multiplier}" if outcome.multiplier > 1 else ""),
        OutcomeKind.REWARD_EARNED: "reward earned: "
        + ", ".join(r.name for r in outcome.rewards_earned),
        OutcomeKind.COOLDOWN: "already stamped"
        + (f" (next stamp from {outcome.cooldown_until:%H:%M} UTC)" if outcome.cooldown_until else ""),
        OutcomeKind.DAILY_CAP: "already stamped today",
        OutcomeKind.REDEEMED: "redeemed: " + ", ".join(r.name for r in outcome.rewards_redeemed),
        OutcomeKind.EXPIRED: f"{outcome.expired} stamps expired",
        OutcomeKind.UNDONE: "last stamp undone",
        OutcomeKind.NOTHING_TO_UNDO: f"nothing to undo ({outcome.undo_refusal})",
    }
    line = headline.get(outcome.kind, outcome.kind.value.replace("_", " "))
    extras = [
        f"+{outcome.surprise} surprise bonus" if outcome.surprise else "",
        "happy birthday" if outcome.birthday else "",
        f"tier {outcome.tier.tier}" if outcome.tier and outcome.tier.tier else "",
        f"{outcome.expiring} stamps expire on {outcome.expiring_on}" if outcome.expiring else "",
    ]
    line = "; ".join([line, *(e for e in extras if e)])
    left = f"{outcome.stamps_left} more to a {outcome.reward_name}"
    return f"{line}; stamps {progress} ({left}); vouchers: {vouchers}"


@contextmanager
def _counter(args: argparse.Namespace) -> Iterator[Counter]:
    counter = Counter.open(config_module.load(args.config))
    try:
        yield counter
    finally:
        counter.close()


def cmd_tap(args: argparse.Namespace, out: TextIO) -> int:
    uid = _uid(args.uid)
    with _counter(args) as counter:
        out.write(describe(counter.tap(uid, args.at)) + "\n")
    return EXIT_OK


def cmd_card(args: argparse.Namespace, out: TextIO) -> int:
    uid = _uid(args.uid)
    with _counter(args) as counter:
        state = counter.known_card(uid)
        program = counter.program
        out.write(f"card      {state.card_ref[:12]}…\n")
        out.write(f"stamps    {max(0, min(state.stamps, program.goal))}/{program.goal}\n")
        vouchers = state.all_vouchers()
        names = {r.id: r.name for r in program.rewards}
        shown = ", ".join(f"{n}x {names.get(rid, rid)}" for rid, n in vouchers.items())
        out.write(f"vouchers  {shown or 'none'}\n")
        out.write(f"visits    {state.visits}\n")
        last = state.last_visit.isoformat(timespec="minutes") if state.last_visit else "never"
        out.write(f"last visit {last}\n")
    return EXIT_OK


def cmd_card_ref(args: argparse.Namespace, out: TextIO) -> int:
    uid = _uid(args.uid)
    with _counter(args) as counter:
        out.write(counter.card_ref(uid) + "\n")
    return EXIT_OK


def cmd_redeem(args: argparse.Namespace, out: TextIO) -> int:
    uid = _uid(args.uid)
    with _counter(args) as counter:
        outcome = counter.redeem(uid, args.reward, args.at)
        out.write(describe(outcome) + "\n")
    return EXIT_OK if outcome.kind is OutcomeKind.REDEEMED else EXIT_ERROR


def cmd_history(args: argparse.Namespace, out: TextIO) -> int:
    uid = _uid(args.uid)
    with _counter(args) as counter:
        for event in counter.history(uid):
            reward = f" {event.reward_id}" if event.reward_id else ""
            out.write(
                f"{event.occurred_at.isoformat(timespec='seconds')}  #{event.seq:<6} "
                f"{event.kind.value:<16} {event.delta:+d}{reward}\n"
            )
    return EXIT_OK


EXPORT_FIELDS = (
    "id", "kiosk_id", "seq", "card_ref", "kind", "delta", "reward_id",
    "program_version", "occurred_at", "staff_ref",
)


def cmd_export(args: argparse.Namespace, out: TextIO) -> int:
    with _counter(args) as counter:
        writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS, lineterminator="\n")
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
    path = args.file or args.config
    config_module.load(path)  # raises ConfigError listing every problem
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
            ("last success", status.last_success.isoformat(timespec="seconds")
             if status.last_success else "never"),
            ("last error", status.last_error or "-"),
            ("program", f"{counter.program.version} (from {counter.program_source})"),
            ("clock", "BEHIND the last recorded event: check NTP"
             if last_event and wall < last_event else f"ok ({wall:%Y-%m-%d %H:%M} UTC)"),
        ]
        for name, value in rows:
            out.write(f"{name:<15}{value}\n")
        for event, reason in counter.ledger.rejected(newest=5):
            out.write(f"  rejected #{event.seq} {event.kind.value}: {reason}\n")
    finally:
        counter.close()
    return EXIT_OK


def cmd_sync(args: argparse.Namespace, out: TextIO) -> int:
    from kiosk.adapters.sync import SyncWorker

    config = config_module.load(args.config)
    if not config.central.url:
        out.write("no central API configured ([central] url is empty): nothing to sync\n")
        return EXIT_OK
    counter = Counter.open(config)  # creates the ledger and site key if this is the first run
    counter.close()
    worker = SyncWorker(config.central, config.kiosk.ledger_path, counter.program.tz)
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

    history = add("history", cmd_history, "list a card's events")
    history.add_argument("uid", help="card UID in hex")

    export = add("export", cmd_export, "export every event to standard output")
    export.add_argument("--csv", action="store_true", required=True, help="as CSV")

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
