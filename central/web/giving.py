"""The dashboard's page about customers' own pages (/dashboard/giving): vouchers given to
the cause, referrals, and how many cards have a live page link.

The figures are the signed-in account's organisation's, every shop's.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from central import made, store
from central.card_actions import program_from
from central.db import Database, card_links, reading, referrals
from central.web.accounts import SignedIn, add_menu, dash_page
from central.web.i18n import register

register({
    "menu_giving": {"fr": "Dons et parrainages", "en": "Giving and referrals"},
    "giving_title": {"fr": "Dons et parrainages", "en": "Giving and referrals"},
    "giving_donations": {"fr": "Récompenses données à {cause}",
                         "en": "Rewards given to {cause}"},
    "giving_no_cause": {"fr": "Aucune cause choisie (champ cause du programme).",
                        "en": "No cause chosen (the program's cause field)."},
    "giving_referrals": {"fr": "Amis parrainés", "en": "Friends referred"},
    "giving_links": {"fr": "Cartes avec leur page", "en": "Cards with their own page"},
})


def figures(db: Database, org: int) -> dict[str, Any]:
    """The organisation's figures: donations (a counter kept as they are made), referrals,
    links."""
    current = store.current_program(db, org)
    program = program_from(None if current is None else current[1])
    with reading(db) as conn:
        referred = conn.execute(select(func.count()).select_from(referrals).where(
            referrals.c.org_id == org)).scalar_one()
        linked = conn.execute(select(func.count(func.distinct(card_links.c.card_ref))).where(
            card_links.c.org_id == org, card_links.c.revoked_at.is_(None))).scalar_one()
    return {"donations": made.donations_total(db, org), "referrals": int(referred),
            "links": int(linked), "cause": None if program is None else program.cause}


def routes(app: FastAPI, db: Database) -> None:
    add_menu(60, "/dashboard/giving", "menu_giving")

    @app.get("/dashboard/giving", include_in_schema=False)
    async def giving(request: Request, account: SignedIn) -> Response:
        return dash_page(request, "giving.html", account,
                         await run_in_threadpool(figures, db, account.org_id))
