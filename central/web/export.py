"""The dashboard's Export page (/dashboard/export): CSV of the events, or of the cards
seen, over a date range; streamed as it is read (`central.export`)."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from central import export
from central.accounts import Account
from central.db import Database, reading
from central.ingest import current, program_tz
from central.web.accounts import SignedIn, add_menu, dash_page, now_of
from central.web.i18n import register
from central.web.scope import chosen_shop, kiosks_of, shops_of

register({
    "menu_export": {"fr": "Export", "en": "Export"},
    "export_title": {"fr": "Exporter les données", "en": "Export the data"},
    "export_intro": {
        "fr": "Un fichier CSV (tableur) des passages et récompenses, ou des cartes vues, "
              "jour par jour, un an au plus.",
        "en": "A CSV file (spreadsheet) of the visits and rewards, or of the cards seen, "
              "day by day, a year at most."},
    "export_from": {"fr": "Du", "en": "From"},
    "export_to": {"fr": "Au (inclus)", "en": "To (included)"},
    "export_events": {"fr": "Télécharger les événements (CSV)", "en": "Download the events (CSV)"},
    "export_cards": {"fr": "Télécharger les cartes (CSV)", "en": "Download the cards (CSV)"},
    "date_bad": {"fr": "Indiquez une date AAAA-MM-JJ.", "en": "Enter a date as YYYY-MM-DD."},
    "range_backwards": {"fr": "La fin est avant le début.", "en": "The end is before the start."},
    "range_too_long": {"fr": "Un an au plus ({n} jours) par fichier.",
                       "en": "A year at most ({n} days) per file."},
})


def _today(db: Database, org: int, request: Request) -> date:
    with reading(db) as conn:
        return now_of(request).astimezone(program_tz(current(conn, org))).date()


def routes(app: FastAPI) -> None:
    add_menu(50, "/dashboard/export", "menu_export")

    def page(request: Request, account: Account, first: str, last: str,
             error: export.BadRange | None = None) -> Response:
        return dash_page(request, "export.html", account, {
            "first": first, "last": last, "error": error, "max_days": export.MAX_DAYS,
            "shop": request.query_params.get("shop", "")}, status=400 if error else 200)

    @app.get("/dashboard/export", include_in_schema=False)
    async def export_page(request: Request, account: SignedIn) -> Response:
        today = await run_in_threadpool(_today, request.app.state.db, account.org_id, request)
        return page(request, account, (today - timedelta(days=29)).isoformat(), today.isoformat())

    @app.get("/dashboard/export/{what}.csv", include_in_schema=False)
    async def download(what: str, request: Request, account: SignedIn) -> Response:
        if what not in ("events", "cards"):
            return await export_page(request, account)
        db = request.app.state.db
        asked = request.query_params
        shops = await run_in_threadpool(shops_of, db, account)
        shop = chosen_shop(account, shops, asked.get("shop"))
        try:
            first, last = export.date_range(asked.get("from"), asked.get("to"))
        except export.BadRange as error:
            return page(request, account, asked.get("from", "")[:10], asked.get("to", "")[:10],
                        error)
        kiosk_ids = None if shop is None else await run_in_threadpool(kiosks_of, db, shop)
        rows = (export.events_csv if what == "events" else export.cards_csv)(
            db, account.org_id, kiosk_ids, first, last)
        name = f"{what}-{first.isoformat()}-{last.isoformat()}.csv"
        return StreamingResponse(rows, media_type="text/csv; charset=utf-8", headers={
            "content-disposition": f'attachment; filename="{name}"', "cache-control": "no-store"})
