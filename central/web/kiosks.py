"""The dashboard's Kiosks page (/dashboard/kiosks): each kiosk's last contact, events
waiting, reader, versions, clock warnings and overdrawn cards, from what kiosks report
(`central.kioskreports`) and the newest of their events (read on an index)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import FastAPI, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from central.db import Database, events, kiosk_reports, kiosks, overdrawn_cards, reading, shops
from central.ingest import current, program_tz
from central.web.accounts import SignedIn, add_menu, dash_page, now_of
from central.web.i18n import register
from central.web.scope import chosen_shop, shops_of

RECENT_EVENTS = 50  # newest events of a kiosk read for clock warnings
QUIET = timedelta(hours=1)  # no contact for longer: the page says so

register({
    "menu_kiosks": {"fr": "Bornes", "en": "Kiosks"},
    "kiosks_title": {"fr": "Bornes", "en": "Kiosks"},
    "kiosks_none": {"fr": "Aucune borne. Sur le serveur : kiosk-central add-kiosk NOM",
                    "en": "No kiosks. On the server: kiosk-central add-kiosk NAME"},
    "kiosk_last_contact": {"fr": "Dernier contact", "en": "Last contact"},
    "kiosk_never": {"fr": "jamais", "en": "never"},
    "kiosk_quiet": {"fr": "silencieuse depuis plus d'une heure", "en": "silent for over an hour"},
    "kiosk_waiting": {"fr": "Événements en attente", "en": "Events waiting"},
    "kiosk_reader": {"fr": "Lecteur", "en": "Reader"},
    "kiosk_reader_on": {"fr": "en ligne", "en": "online"},
    "kiosk_reader_off": {"fr": "HORS LIGNE", "en": "OFFLINE"},
    "kiosk_program": {"fr": "Version du programme", "en": "Program version"},
    "kiosk_software": {"fr": "Version du logiciel", "en": "Software version"},
    "kiosk_clock": {"fr": "Horloge", "en": "Clock"},
    "kiosk_clock_ok": {"fr": "à l'heure", "en": "on time"},
    "kiosk_clock_warn": {"fr": "{n} événements récents à l'heure douteuse",
                         "en": "{n} recent events with a doubtful time"},
    "kiosk_clock_behind": {"fr": "en retard selon la borne", "en": "behind, says the kiosk"},
    "kiosk_overdrawn": {"fr": "Cartes à découvert", "en": "Overdrawn cards"},
    "kiosk_revoked": {"fr": "révoquée", "en": "revoked"},
    "kiosk_unknown": {"fr": "pas encore signalé", "en": "not reported yet"},
})


@dataclass(frozen=True)
class KioskRow:
    id: str
    revoked: bool
    last_contact: datetime | None
    pending: int | None
    reader_online: bool | None
    program_version: str | None
    software_version: str | None
    clock_ok: bool | None
    clock_warnings: int
    overdrawn: int


def _later(a: str | None, b: str | None) -> datetime | None:
    found = [datetime.fromisoformat(x) for x in (a, b) if x]
    return max(found) if found else None


def kiosk_rows(db: Database, org: int, shop: int | None) -> tuple[list[KioskRow], object]:
    """Each kiosk of the organisation (or of one shop), and the program's time zone."""
    with reading(db) as conn:
        tz = program_tz(current(conn, org, shop))
        query = (select(kiosks.c.id, kiosks.c.revoked_at)
                 .join(shops, shops.c.id == kiosks.c.shop_id).where(shops.c.org_id == org)
                 .order_by(kiosks.c.id))
        if shop is not None:
            query = query.where(kiosks.c.shop_id == shop)
        found = conn.execute(query).all()
        ids = [row.id for row in found]
        reports = {row.kiosk_id: row for row in conn.execute(
            select(kiosk_reports).where(kiosk_reports.c.kiosk_id.in_(ids)))} if ids else {}
        owing: dict[str, int] = dict(conn.execute(
            select(overdrawn_cards.c.kiosk_id, func.count())
            .where(overdrawn_cards.c.org_id == org).group_by(overdrawn_cards.c.kiosk_id)).all())
        rows = []
        for kiosk in found:
            recent = conn.execute(
                select(events.c.received_at, events.c.program_version, events.c.flags)
                .where(events.c.kiosk_id == kiosk.id)
                .order_by(events.c.seq.desc()).limit(RECENT_EVENTS)).all()
            report = reports.get(kiosk.id)
            rows.append(KioskRow(
                id=kiosk.id, revoked=kiosk.revoked_at is not None,
                last_contact=_later(report.reported_at if report else None,
                                    recent[0].received_at if recent else None),
                pending=report.pending if report else None,
                reader_online=report.reader_online if report else None,
                program_version=(report.program_version if report and report.program_version
                                 else recent[0].program_version if recent else None),
                software_version=report.software_version if report else None,
                clock_ok=report.clock_ok if report else None,
                clock_warnings=sum(1 for e in recent if e.flags),
                overdrawn=int(owing.get(kiosk.id, 0))))
    return rows, tz


def routes(app: FastAPI) -> None:
    add_menu(40, "/dashboard/kiosks", "menu_kiosks")

    @app.get("/dashboard/kiosks", include_in_schema=False)
    async def kiosks_page(request: Request, account: SignedIn) -> Response:
        db = request.app.state.db
        shops = await run_in_threadpool(shops_of, db, account)
        shop = chosen_shop(account, shops, request.query_params.get("shop"))
        rows, tz = await run_in_threadpool(kiosk_rows, db, account.org_id, shop)
        now = now_of(request)
        return dash_page(request, "kiosks.html", account, {
            "kiosks": rows, "shops": shops, "shop": shop,
            "when": lambda moment: moment.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
            "quiet": lambda moment: now - moment > QUIET})
