"""What a kiosk reports about itself after each sync round, and its till's tickets.

`POST /v1/kiosk/report` (kiosk token): the software and program versions it runs, whether
its reader is online, its clock sound, how many events wait to be sent, and the till's
tickets per local hour, each hour's totals so far. An hour's totals replace what the
central held for that kiosk and hour, so a report sent twice counts once.

The dashboard's Kiosks page reads `kiosk_reports`; the Overview's adoption rate and baskets
read `till_hours`.
"""

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy.dialects import postgresql, sqlite
from starlette.concurrency import run_in_threadpool

from central import contract
from central.db import Database, kiosk_reports, till_hours, writing
from central.ingest import iso
from kiosk.core.till import MAX_AMOUNT, TicketHour
from kiosk.core.till import MAX_HOURS as MAX_TICKET_HOURS
from kiosk.core.till import MAX_TICKETS as MAX_HOUR_TICKETS

MAX_PENDING = 2**31 - 1


class TicketHourIn(BaseModel):
    """One local hour of a till's tickets: all of them, those paid with a card tapped,
    and the amounts (cents) of each kind."""

    model_config = ConfigDict(extra="forbid", strict=True)
    day: str = Field(min_length=10, max_length=10, description="YYYY-MM-DD, the kiosk's local day")
    hour: int = Field(ge=0, le=23)
    tickets: int = Field(ge=0, le=MAX_HOUR_TICKETS)
    card_tickets: int = Field(ge=0, le=MAX_HOUR_TICKETS)
    card_amount: int = Field(ge=0, le=MAX_AMOUNT * MAX_HOUR_TICKETS)
    other_amount: int = Field(ge=0, le=MAX_AMOUNT * MAX_HOUR_TICKETS)

    @field_validator("day")
    @classmethod
    def _a_day(cls, value: str) -> str:
        date.fromisoformat(value)  # ValueError: pydantic names the field
        return value

    @model_validator(mode="after")
    def _card_tickets_are_tickets(self) -> "TicketHourIn":  # noqa: UP037 - no postponed annotations here: the route's Depends is a local
        if self.card_tickets > self.tickets:
            raise ValueError("card_tickets is more than tickets")
        return self


class KioskReport(BaseModel):
    """A kiosk's own state after a sync round."""

    model_config = ConfigDict(extra="forbid", strict=True)
    software_version: str = Field(min_length=1, max_length=40)
    program_version: str | None = Field(default=None, min_length=1, max_length=40)
    reader_online: bool
    clock_ok: bool
    pending: int = Field(ge=0, le=MAX_PENDING)
    tickets: list[TicketHourIn] = Field(default_factory=list, max_length=MAX_TICKET_HOURS)


class Reported(contract.Strict):
    hours: int = Field(description="ticket hours stored")


def store(db: Database, kiosk_id: str, org: int, shop: int, report: KioskReport,
          now: datetime) -> int:
    """Keep the kiosk's report; its ticket hours replace those held. Returns how many."""
    state = {"reported_at": iso(now), "software_version": report.software_version,
             "program_version": report.program_version, "reader_online": report.reader_online,
             "clock_ok": report.clock_ok, "pending": report.pending}
    hours = [{"kiosk_id": kiosk_id, "org_id": org, "shop_id": shop, **h.model_dump()}
             for h in sorted(report.tickets, key=lambda h: (h.day, h.hour))]
    with writing(db) as conn:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        upsert = dialect.insert(kiosk_reports)
        conn.execute(upsert.on_conflict_do_update(
            index_elements=[kiosk_reports.c.kiosk_id], set_=state),
            [{"kiosk_id": kiosk_id, **state}])
        if hours:
            upsert = dialect.insert(till_hours)
            conn.execute(upsert.on_conflict_do_update(
                index_elements=[till_hours.c.kiosk_id, till_hours.c.day, till_hours.c.hour],
                set_={c: upsert.excluded[c] for c in (
                    "org_id", "shop_id", *TicketHour.COUNTS)}), hours)
    return len(hours)


def routes(app: FastAPI, kiosk: Any, now: Any) -> None:
    """The report route; `kiosk` is the dependency giving the token's kiosk
    (central.orgs.Kiosk: its id, shop and organisation)."""

    @app.post("/v1/kiosk/report", response_model=None,
              responses={200: {"model": Reported}, **contract.errors(422, *contract.KIOSK)})
    async def report(body: KioskReport, sender: Annotated[Any, Depends(kiosk)]
                     ) -> dict[str, Any]:
        """A kiosk's state (versions, reader, clock, events waiting) and its till's
        tickets per local hour; an hour sent again replaces the one held."""
        stored = await run_in_threadpool(store, app.state.db, sender.id, sender.org_id,
                                         sender.shop_id, body, now())
        return {"hours": stored}
