"""The `kiosk-central` command: serve the API and manage kiosks, program and customers."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from central import links, pairing, store
from central.accountcli import ACCOUNT_COMMANDS, run_account_command
from central.accountcli import commands as _account_commands
from central.accounts import AccountError
from central.db import Database, DatabaseError, describe, open_database, reading
from central.ingest import held_events
from central.messages import options as messages
from central.program import BadProgram, following, from_toml
from central.serving import BOUNDS, Limits
from central.validate import customer_problem
from kiosk.core.cardid import is_card_ref

DB_ENV = "KIOSK_CENTRAL_DB"


class UsageError(Exception):
    """A mistake in the command line; the message is the whole story."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kiosk-central", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help_text: str, *, org: bool = True) -> argparse.ArgumentParser:
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        cmd.add_argument(
            "--db", default=os.environ.get(DB_ENV),
            help=f"SQLite file or SQLAlchemy URL (default: ${DB_ENV})",
        )
        if org:
            cmd.add_argument("--org", help="the organisation (default: the only one)")
        return cmd

    serve = command("serve", "serve the HTTP API", org=False)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_bounded(int, 0, 65535), default=8080,
                       help="0 picks a free port")
    serve.add_argument("--workers", type=_bounded(int, *BOUNDS["workers"]), default=1,
                       help="server processes on the one address (PostgreSQL: one per core)")
    serve.add_argument("--rate", type=_bounded(float, *BOUNDS["rate"]), default=Limits.rate,
                       help="requests a second per kiosk, past its burst (then 429)")
    serve.add_argument("--burst", type=_bounded(int, *BOUNDS["burst"]), default=Limits.burst,
                       help="requests a kiosk may send at once")
    serve.add_argument("--log-level", default="info",
                       choices=["debug", "info", "warning", "error"])
    command("migrate", "create or upgrade the database schema (back the database up first)",
            org=False)
    command("add-org", "add an organisation (a business with its own cards, shops and "
                       "program) to a server that serves several", org=False).add_argument("name")
    command("list-orgs", "list the organisations", org=False)
    command("add-shop", "add a shop (a location) to the organisation").add_argument("name")
    command("list-shops", "list the organisation's shops and their live kiosks")
    add_kiosk = command("add-kiosk", "register a kiosk in a shop and print its one-time "
                                     "pairing code (for `kiosk pair URL CODE`; 24 hours)")
    add_kiosk.add_argument("id")
    add_kiosk.add_argument("--shop", help="the kiosk's shop (default: the only one)")
    add_kiosk.add_argument("--token", action="store_true",
                           help="print the kiosk's token instead (shown once), for scripts")
    command("pair-code", "print a new pairing code for a kiosk (an older one stops working)",
            org=False).add_argument("id")
    command("set-site-key", "give the organisation the site key its kiosks already use "
                            "(the kiosk's site.key file; a database from before "
                            "organisations)").add_argument("file")
    command("revoke-kiosk", "revoke a kiosk's token", org=False).add_argument("id")
    command("list-kiosks", "list the organisation's kiosks, their shop and whether their "
                           "token is live")
    command("add-key", "make an owner API key for scripts that manage customer details "
                       "and print it (shown once)").add_argument("name")
    command("revoke-key", "revoke an owner API key", org=False).add_argument("name")
    program = command("program", "set or show the loyalty program kiosks run")
    program.add_argument("action", choices=["set", "show"])
    program.add_argument("file", nargs="?", help="TOML file with a [program] table (for set)")
    program.add_argument("--shop", help="a shop's own program (default: the organisation's)")
    customer = command(
        "set-customer", "store a customer's first name and birthday (only with their consent)"
    )
    customer.add_argument("card_ref")
    customer.add_argument("--first-name", required=True)
    customer.add_argument("--birthday", help="YYYY-MM-DD")
    customer.add_argument(
        "--consent", action="store_true",
        help="the customer agreed that the shop keeps these (required)",
    )
    command("export-customer", "print everything held about a card, as JSON").add_argument(
        "card_ref")
    command("held", "list events held for review instead of counted, and why")
    link = command("card-link", "give a card a new page link (its live ones stop working) "
                                "and print it, shown once")
    link.add_argument("card_ref")
    link.add_argument("--base-url", default="",
                      help="the card page's address ending in /c/ (printed before the token)")
    link.add_argument("--revoke", action="store_true",
                      help="only revoke the card's live links, issue none")
    command("erase-customer", "forget the person behind a card (its events stay)").add_argument(
        "card_ref")
    _account_commands(command)
    messages.add_arguments(command(
        "send-messages", "queue the e-mails due (with consent) and send the outbox: run it "
                         "from a timer, e.g. every 15 minutes"))
    return parser


def _bounded(kind: type[int] | type[float], low: float, high: float
             ) -> Callable[[str], int | float]:
    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is not between {low:g} and {high:g}")
        return value
    return parse


def _now() -> datetime:
    return datetime.now(UTC)


def _card_ref(text: str) -> str:
    if not is_card_ref(text):
        raise UsageError(f"card_ref {text[:80]!r} is not 64 lowercase hex characters")
    return text


def _customer(first_name: str, birthday: str | None, consent: bool) -> dict[str, object]:
    if not consent:
        raise UsageError("first name and birthday are kept only with the customer's --consent")
    born = None
    if birthday is not None:
        try:
            if len(birthday) != 10:  # fromisoformat also takes 19900405
                raise ValueError
            born = date.fromisoformat(birthday)
        except ValueError:
            raise UsageError(f"--birthday {birthday[:20]!r}: use YYYY-MM-DD") from None
    name = first_name.strip()
    problem = customer_problem(name, born, consent, _now().date())
    if problem is not None:
        raise UsageError(problem)
    return {"first_name": name, "birthday": birthday, "consent": True}


def _org(db: Database, name: str | None) -> int:
    with reading(db) as conn:
        return store.org_id(conn, name)


def _shop(db: Database, name: str | None, org: str | None) -> int | None:
    if name is None:
        return None
    with reading(db) as conn:
        return store.find_shop(conn, name, org).id


def _program(db: Database, args: argparse.Namespace) -> str:
    action, file = args.action, args.file
    if action == "show":
        current = store.current_program(db, _org(db, args.org), _shop(db, args.shop, args.org))
        if current is None:
            raise UsageError("no program set yet")
        return json.dumps(current[1], indent=2, sort_keys=True)
    if not file:
        raise UsageError("program set needs a TOML file")
    try:
        text = Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"{file}: cannot read: {error.__class__.__name__}") from None
    try:
        fields = from_toml(text)
        # a new version carries what cards still hold of the old one (retired vouchers,
        # a switch between stamps and points)
        current = store.current_program(db, _org(db, args.org), _shop(db, args.shop, args.org))
        fields = following(None if current is None else current[1], fields)
    except BadProgram as error:
        raise UsageError(f"{file}: {error}") from None
    changed = store.set_program(db, fields, _now(), org=args.org, shop=args.shop)
    state = "is now current" if changed else "was already current"
    where = f" in shop {args.shop!r}" if args.shop else ""
    return f"program version {fields['version']!r} {state}{where}"


def _organisations(db: Database, args: argparse.Namespace) -> str | None:
    """The commands about organisations and shops; None for any other."""
    if args.command == "add-org":
        store.add_org(db, args.name, _now())
        return (f"organisation {args.name.strip()!r} added; give it a shop: "
                f"kiosk-central add-shop NAME --org {args.name.strip()!r}")
    if args.command == "list-orgs":
        return "\n".join(f"{r['name']}" for r in store.list_orgs(db))
    if args.command == "add-shop":
        shop = store.add_shop(db, args.name, _now(), org=args.org)
        return f"shop {shop.name!r} added"
    if args.command == "list-shops":
        rows = store.list_shops(db, org=args.org)
        return "\n".join(f"{r['name']}\t{r['kiosks']} live kiosk(s)" for r in rows) or "no shops"
    return None


def _paired(kiosk_id: str, code: str) -> str:
    return (f"pairing code for kiosk {kiosk_id!r}: {code}\n"
            f"valid 24 hours, once. On the kiosk: kiosk pair https://CENTRAL-ADDRESS {code}")


def _run(db: Database, args: argparse.Namespace) -> str:
    done = _organisations(db, args)
    if done is not None:
        return done
    if args.command == "add-kiosk":
        if args.token:
            return store.add_kiosk(db, args.id, _now(), shop=args.shop, org=args.org)
        return _paired(args.id, pairing.add_kiosk(db, args.id, _now(), shop=args.shop,
                                                  org=args.org))
    if args.command == "pair-code":
        return _paired(args.id, pairing.issue(db, args.id, _now()))
    if args.command == "set-site-key":
        try:
            key = Path(args.file).read_bytes()
        except OSError as error:
            raise UsageError(f"{args.file}: cannot read: {error.strerror}") from None
        pairing.set_site_key(db, key, org=args.org)
        return "site key set: kiosks paired from now on name cards as the others do"
    if args.command == "revoke-kiosk":
        store.revoke_kiosk(db, args.id, _now())
        return f"kiosk {args.id!r} revoked"
    if args.command == "list-kiosks":
        rows = store.list_kiosks(db, org=args.org)
        return "\n".join(
            f"{r['id']}\t{r['shop']}\t"
            f"{'revoked ' + r['revoked_at'] if r['revoked_at'] else 'live'}"
            for r in rows
        ) or "no kiosks"
    if args.command == "add-key":
        return store.add_owner_key(db, args.name, _now(), org=args.org)
    if args.command == "revoke-key":
        store.revoke_owner_key(db, args.name, _now())
        return f"owner key {args.name!r} revoked"
    if args.command == "program":
        return _program(db, args)
    if args.command == "set-customer":
        details = _customer(args.first_name, args.birthday, args.consent)
        store.set_customer(db, _org(db, args.org), _card_ref(args.card_ref), details, _now())
        # the name is not echoed: terminals end up in logs and screenshots
        return "customer details stored; kiosks greet the card after their next sync"
    if args.command == "export-customer":
        found = store.export_customer(db, _org(db, args.org), _card_ref(args.card_ref))
        if found is None:
            raise UsageError("nothing stored for this card")
        return json.dumps(found, indent=2, sort_keys=True)
    if args.command == "held":
        return "\n".join("\t".join((e["received_at"], e["kiosk_id"], str(e["seq"]), e["id"],
                                    e["kind"], str(e["delta"]), e["reward_id"] or "-",
                                    e["held_reason"])) for e in held_events(db, _org(db, args.org))
                         ) or "no held events"
    if args.command == "card-link":
        ref = _card_ref(args.card_ref)
        if args.revoke:
            return f"{links.revoke(db, _org(db, args.org), ref, _now())} live link(s) revoked"
        return str(args.base_url) + links.issue(db, _org(db, args.org), ref, _now())
    if args.command in ACCOUNT_COMMANDS:
        return run_account_command(db, args, _now())
    if args.command == "erase-customer":
        erased = store.erase_customer(db, _org(db, args.org), _card_ref(args.card_ref))
        return "customer details erased" if erased else "no customer details were stored"
    raise UsageError(f"unknown command {args.command}")


def serve(db_url: str, host: str, port: int, log_level: str, workers: int = 1,
          limits: Limits | None = None) -> int:
    """Run the API until SIGINT/SIGTERM; prints the URL it listens on once bound."""
    import uvicorn

    from central.app import create_app
    from central.serving import listening_socket, run_workers, tune_collector, uvicorn_config

    limits = limits or Limits()
    # the schema is checked (or an empty database created) once, before anything listens
    open_database(db_url).dispose()
    try:
        # several processes: each listens on the address itself (SO_REUSEPORT); this
        # socket only holds the port
        sock = listening_socket(host, port, shared=workers > 1, listen=workers == 1)
    except OSError as error:
        raise UsageError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    def listening() -> None:
        print(f"kiosk-central listening on http://{host}:{sock.getsockname()[1]}"
              + (f" with {workers} processes" if workers > 1 else ""), flush=True)

    if workers > 1:
        return run_workers(sock, db_url, workers, limits, log_level, listening)
    listening()
    app = create_app(db_url, limits=limits)
    tune_collector()
    uvicorn.Server(uvicorn_config(app, limits, log_level)).run(sockets=[sock])
    return 0


def migrate(db_url: str) -> str:
    """Create or upgrade the schema, in one transaction; says what it did."""
    from central import migrations

    db = open_database(db_url, create=False, check=False)
    try:
        before, after = migrations.upgrade(db)
    finally:
        db.dispose()
    if before == after:
        return f"the database {describe(db_url)} is up to date (schema {after})"
    return f"the database {describe(db_url)} went from schema {before or 'none'} to {after}"


def send_messages(args: argparse.Namespace) -> int:
    """One run of the messages; status 1 when it could not reach the mail server."""
    from central.messages.sender import run

    try:
        settings = messages.settings_from(args)
    except ValueError as error:
        raise UsageError(str(error)) from None
    db = open_database(args.db)
    try:
        report = run(db, settings, _now)
    finally:
        db.dispose()
    print(f"messages: {report.line()}", file=sys.stderr if report.trouble else sys.stdout)
    return 1 if report.trouble else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `kiosk-central`; returns the exit status."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        if not args.db:
            raise UsageError(f"--db is required (or set ${DB_ENV})")
        if args.command == "serve":
            limits = Limits(rate=args.rate, burst=args.burst)
            return serve(args.db, args.host, args.port, args.log_level, args.workers, limits)
        if args.command == "migrate":
            print(migrate(args.db))
            return 0
        if args.command == "send-messages":
            return send_messages(args)
        db = open_database(args.db)
        try:
            print(_run(db, args))
        finally:
            db.dispose()
    except (UsageError, DatabaseError, store.StoreError, AccountError) as error:
        print(f"kiosk-central: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
