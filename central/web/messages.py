"""The messages' pages: the one-click unsubscribe (the link at the foot of every message,
and the POST that mail programs send by themselves, RFC 8058's List-Unsubscribe-Post),
and the counts per kind a dashboard includes (`counts_table`, `messages_counts.html`).

The token in the link is the only credential: it names one message, and through it the
consent that message was sent under (`central.messages.directory.PURPOSE_OF`), which the
POST withdraws. Opening the link only shows the button: link checkers that fetch every
URL of a mail withdraw nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from central.db import Database, erasing, reading
from central.messages import outbox
from central.messages.outbox import unsubscribing
from central.messages.owner import counts_per_kind
from central.messages.rules import Kind
from central.web.i18n import register
from central.web.pages import Pages

MAX_TOKEN = 100
# the statuses the owner reads, in the order of the table's columns
SHOWN = (outbox.SENT, outbox.PENDING, outbox.FAILED, outbox.BOUNCED, outbox.SKIPPED)

register({
    "unsubscribe_title": {"fr": "Se désabonner", "en": "Unsubscribe"},
    "unsubscribe_ask_reminders": {
        "fr": "Ne plus recevoir les rappels de votre carte (tampons qui vont expirer, "
              "statut à garder) ?",
        "en": "Stop the reminders about your card (stamps about to expire, a status to keep)?"},
    "unsubscribe_ask_offers": {
        "fr": "Ne plus recevoir les offres (anniversaire, heures à tampons multipliés, "
              "« vous nous manquez ») ?",
        "en": "Stop the offers (birthday, boosted hours, \"we miss you\")?"},
    "unsubscribe_button": {"fr": "Me désabonner", "en": "Unsubscribe me"},
    "unsubscribe_done": {"fr": "C'est fait : vous ne recevrez plus ces e-mails.",
                         "en": "Done: you will not receive these e-mails any more."},
    "unsubscribe_more": {
        "fr": "Vos autres choix se changent sur la page de votre carte.",
        "en": "Your other choices are on your card's page."},
})
register({
    "messages_title": {"fr": "E-mails aux clients", "en": "E-mails to customers"},
    "messages_kind": {"fr": "Message", "en": "Message"},
    "messages_none": {"fr": "Aucun e-mail envoyé sur la période.",
                      "en": "No e-mail sent in this period."},
    "messages_kind_expiry": {"fr": "Tampons bientôt expirés", "en": "Stamps about to expire"},
    "messages_kind_tier": {"fr": "Statut à garder", "en": "Status to keep"},
    "messages_kind_birthday": {"fr": "Anniversaire", "en": "Birthday"},
    "messages_kind_winback": {"fr": "Vous nous manquez", "en": "We miss you"},
    "messages_kind_booster": {"fr": "Heures à tampons multipliés", "en": "Boosted hours"},
    "messages_status_sent": {"fr": "Envoyés", "en": "Sent"},
    "messages_status_pending": {"fr": "En attente", "en": "Waiting"},
    "messages_status_failed": {"fr": "Échoués", "en": "Failed"},
    "messages_status_bounced": {"fr": "Adresse refusée", "en": "Address refused"},
    "messages_status_skipped": {"fr": "Consentement retiré", "en": "Consent withdrawn"},
})



def _target(db: Database, token: str) -> tuple[int, str, Kind]:
    if not token or len(token) > MAX_TOKEN:
        raise HTTPException(404)
    with reading(db) as conn:
        found = unsubscribing(conn, hashlib.sha256(token.encode()).hexdigest())
    if found is None:
        raise HTTPException(404)  # a forged or mistyped link: the plain 404 page
    return found


def _purpose(kind: Kind) -> str:
    # the customers' consent (central.consent) is read only when a link is opened
    from central.messages.directory import PURPOSE_OF

    return PURPOSE_OF[kind].value


def _withdraw(db: Database, org: int, card_ref: str, kind: Kind, now: datetime) -> None:
    from central.messages.directory import withdraw

    with erasing(db) as conn:
        withdraw(conn, org, card_ref, kind, now)
    db.flush_erased()  # an address given up leaves the disk


def routes(app: FastAPI, db: Database, now: Callable[[], datetime]) -> None:
    """The unsubscribe page (GET shows the button; POST withdraws the consent)."""

    @app.get("/unsubscribe/{token}", include_in_schema=False)
    async def ask(request: Request, token: str) -> Response:
        _org, _card, kind = await run_in_threadpool(_target, db, token)
        pages: Pages = app.state.pages
        return pages.render(request, "unsubscribe.html", {"purpose": _purpose(kind),
                                                          "done": False})

    @app.post("/unsubscribe/{token}", include_in_schema=False)
    async def confirm(request: Request, token: str) -> Response:
        org, card_ref, kind = await run_in_threadpool(_target, db, token)
        await run_in_threadpool(_withdraw, db, org, card_ref, kind, now())
        pages: Pages = app.state.pages
        return pages.render(request, "unsubscribe.html", {"purpose": _purpose(kind),
                                                          "done": True})


def counts_table(db: Database, org: int, since: datetime | None = None) -> dict[str, object]:
    """The context of `messages_counts.html` for an organisation: one row per kind, one
    column per status."""
    counts = counts_per_kind(db, org, since)
    rows = [(kind.value, [counts[kind.value].get(s, 0) for s in SHOWN]) for kind in Kind]
    return {"message_statuses": list(SHOWN),
            "message_rows": [{"kind": kind, "counts": numbers} for kind, numbers in rows],
            "messages_any": any(sum(numbers) for _, numbers in rows)}
