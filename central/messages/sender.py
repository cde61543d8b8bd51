"""One run of the messages: queue what the rules say is due, then send the outbox.

The imperative shell around `central.messages.rules`: it reads the program, the cards'
folds, the customers' consent and the outbox's history, asks the rules what is due, and
writes the answer to the outbox; then it claims each ready row, reads the customer's
consent again, renders, sends and marks it. A broken template fails its message only; a
permanent refusal marks the address as bounced; a mail server that cannot be reached
ends the run, leaving the rest pending for the next one.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from typing import Protocol

from sqlalchemy import select

from central import program as programs_mod
from central.cardcache import full_state
from central.db import Database, card_states, organisations, reading, writing
from central.ingest import current
from central.messages import outbox
from central.messages.compose import Composer, TemplateProblem, envelope
from central.messages.directory import recipient, recipients
from central.messages.options import Settings
from central.messages.rules import due
from central.messages.smtp import Refused, Unavailable, Unreachable, Unusable
from kiosk.core.events import CardState
from kiosk.core.program import Program

BATCH = 50  # rows read from the outbox at a time
UNSUBSCRIBE_PATH = "/unsubscribe/"


class Mail(Protocol):
    """What the sender needs of a mail server (central.messages.smtp.Mailer)."""

    def send(self, message: EmailMessage) -> None: ...


@dataclass
class Report:
    """What a run did, for the operator's log line."""

    queued: int = 0
    done: dict[str, int] = field(default_factory=dict)
    stopped: str | None = None  # why the run ended before the outbox was empty
    trouble: bool = False  # it ended on a mail server or settings problem (exit status 1)

    def count(self, status: str) -> None:
        self.done[status] = self.done.get(status, 0) + 1

    def line(self) -> str:
        parts = [f"queued {self.queued}"] + [f"{s} {n}" for s, n in sorted(self.done.items())]
        return ", ".join(parts) + (f"; stopped: {self.stopped}" if self.stopped else "")


def organisations_with_programs(db: Database) -> list[tuple[int, Program]]:
    """Each organisation and the program its cards follow (its own, not a shop's: a card
    is the organisation's), for those that have one."""
    with reading(db) as conn:
        found = [(int(org), current(conn, int(org)))
                 for org in conn.execute(select(organisations.c.id).order_by(organisations.c.id)
                                         ).scalars()]
    return [(org, programs_mod.section(fields[1]).to_program())
            for org, fields in found if fields is not None]


def plan(db: Database, org: int, program: Program, settings: Settings, now: datetime) -> int:
    """Queue every message of the organisation due at `now`; returns how many new rows
    the outbox got."""
    with writing(db) as conn:
        people = recipients(conn, org, settings.language)
        if not people:
            return 0
        rows = conn.execute(select(card_states.c.card_ref, card_states.c.state)
                            .where(card_states.c.org_id == org,
                                   card_states.c.card_ref.in_(sorted(people))))
        cards = [(CardState.from_dict(full_state(row.card_ref, row.state)), people[row.card_ref])
                 for row in rows]
        found = due(program, settings.policy, cards, outbox.history(conn, org), now)
        return outbox.queue(conn, org, found, now)


def deliver(db: Database, org: int, program: Program, settings: Settings, mail: Mail,
            clock: Callable[[], datetime], report: Report | None = None) -> Report:
    """Send the organisation's ready rows, one claim at a time, until none is left (or
    the run's limit, quiet hours, or a mail server that cannot be reached)."""
    report = report or Report()
    composer = Composer(program.name, settings.templates)
    with writing(db) as conn:
        for _ in range(outbox.recover(conn, org, clock())):
            report.count(outbox.UNKNOWN)
    sent = 0
    while sent < settings.limit and report.stopped is None:
        with writing(db) as conn:
            rows = outbox.ready(conn, org, clock(), BATCH)
        if not rows:
            break
        for row in rows:
            if settings.policy.quiet(clock().astimezone(program.tz)):
                report.stopped = "quiet hours: the rest goes after them"
                break
            status, error = _send_one(db, org, row, settings, composer, mail, clock)
            report.count(status)
            sent += 1
            # no server to talk to, or settings that cannot work: every next row would
            # fail the same way
            if isinstance(error, Unreachable | Unusable):
                report.stopped, report.trouble = str(error), True
                break
    return report


def _send_one(db: Database, org: int, row: outbox.Queued, settings: Settings,
              composer: Composer, mail: Mail, clock: Callable[[], datetime]
              ) -> tuple[str, Exception | None]:
    """Claim, check, render, send and mark one row: (its status, the mail error if any)."""
    now = clock()
    if row.until < now:
        with writing(db) as conn:
            outbox.mark(conn, row.id, outbox.STALE, now, "out of date before it could go")
        return outbox.STALE, None
    token = secrets.token_urlsafe(24)
    with writing(db) as conn:
        if not outbox.claim(conn, row.id, now, hashlib.sha256(token.encode()).hexdigest()):
            return "taken", None  # another sender claimed it first
        who = recipient(conn, org, row.card_ref, settings.language)
    if who is None or who.address is None or not who.reachable(row.kind):
        with writing(db) as conn:
            outbox.mark(conn, row.id, outbox.SKIPPED, now,
                        "no consent or no usable address any more")
        return outbox.SKIPPED, None
    # the page behind the link speaks the customer's language (central.web.pages: ?lang=)
    url = settings.base_url.rstrip("/") + UNSUBSCRIBE_PATH + token + "?lang=" + who.language
    try:
        letter = composer.letter(row.kind, who.language, row.facts, who.first_name, url)
    except TemplateProblem as error:
        with writing(db) as conn:
            outbox.mark(conn, row.id, outbox.FAILED, now, str(error))
        return outbox.FAILED, None
    message = envelope(letter, sender=settings.sender, to=who.address, message_id=row.id,
                       unsubscribe_url=url, now=now)
    try:
        mail.send(message)
    except Refused as error:
        with writing(db) as conn:
            outbox.mark(conn, row.id, outbox.BOUNCED, now, str(error))
            outbox.add_bounce(conn, who.address, now, str(error))
        return outbox.BOUNCED, error
    except (Unavailable, Unusable) as error:
        with writing(db) as conn:
            return outbox.retry_later(conn, row, now, str(error)), error
    with writing(db) as conn:
        outbox.mark_sent(conn, row.id, clock())
    return outbox.SENT, None


def run(db: Database, settings: Settings, clock: Callable[[], datetime]) -> Report:
    """One run of `send-messages`: queue what is due, then send; the mail server is only
    contacted when there is something to send."""
    from central.messages.smtp import Mailer

    found = organisations_with_programs(db)
    if not found:
        return Report(stopped="no program set yet: `kiosk-central program set FILE` first",
                      trouble=True)
    report = Report()
    with Mailer(settings.smtp) as mail:
        for org, program in found:
            report.queued += plan(db, org, program, settings, clock())
            report.stopped = None  # quiet hours are each organisation's own (its zone)
            deliver(db, org, program, settings, mail, clock, report)
            if report.trouble:
                break
    return report
