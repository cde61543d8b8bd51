"""The API contract as served: a model for every answer and error, for `/openapi.json`.

Integrators generate clients from the document, so it says exactly what each route
answers, errors included. Routes answer plain JSON (the upload path skips pydantic for
speed); tests/integration/test_central_contract.py checks real answers against these
models through the served document. The card's fields come from kiosk.core's CardState,
so a field added there is documented here without a second list.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Literal

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.json_schema import models_json_schema

from central.changes import CURSOR_PATTERN, MAX_CURSOR_LENGTH
from kiosk.core.events import CardState


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Error(Strict):
    """Every error: why, in words an operator can act on."""

    detail: str


class Health(Strict):
    status: Literal["ok"]


class Result(Strict):
    id: str
    status: Literal["accepted", "duplicate", "rejected", "held"] = Field(
        description="accepted: stored and counted; duplicate: stored before; rejected: not "
                    "stored, see reason; held: stored but not counted, because the kiosk's "
                    "rules under the program could not have made it (the owner reviews it; "
                    "a kiosk treats it as settled and does not send it again)")
    reason: str | None = Field(description="why an event was rejected or held; null otherwise")


class CustomerOnCard(Strict):
    """What a kiosk may show: only with the customer's consent, else the card says null."""

    first_name: str | None
    birthday: date | None


def _wire_type(hint: Any) -> Any:
    """CardState's field types as CardState.to_dict() writes them."""
    if typing.get_origin(hint) is Mapping:
        key, value = typing.get_args(hint)
        return dict[key, value]  # type: ignore[valid-type]
    if typing.get_origin(hint) is frozenset:  # written as a sorted list
        (item,) = typing.get_args(hint)
        return list[item]  # type: ignore[valid-type]
    return hint


_HINTS = typing.get_type_hints(CardState)
_CARD_FIELDS: dict[str, Any] = {
    f.name: (_wire_type(_HINTS[f.name]), ...) for f in dataclasses.fields(CardState)
}

CardAnswer = create_model(
    "Card",
    __config__=ConfigDict(extra="forbid"),
    __doc__="A card's fold of every kiosk's events (kiosk.core's CardState), its vouchers "
            "and flags, and the consenting customer.",
    **_CARD_FIELDS,
    vouchers=(dict[str, int], Field(description="reward id -> vouchers left (negative: "
                                                "overdrawn)")),
    overdrawn=(bool, ...),
    flags=(list[str], Field(description="overdraft, clock_ahead, late_upload, "
                                        "clock_backwards")),
    flagged_events=(dict[str, list[str]], Field(description="event id -> its flags")),
    customer=(CustomerOnCard | None, ...),
)


class UploadAnswer(Strict):
    """One result per event, in the order sent, and every card the batch named."""

    results: list[Result]
    cards: dict[str, CardAnswer]  # type: ignore[valid-type]
    program_version: str | None = Field(description="the program kiosks should run; null "
                                                    "before one is set")


class ChangedCards(Strict):
    """A page of the organisation's cards changed after a cursor, oldest change first."""

    cards: dict[str, CardAnswer]  # type: ignore[valid-type]
    cursor: str = Field(max_length=MAX_CURSOR_LENGTH, pattern=CURSOR_PATTERN,
                        description="opaque: pass it as `after` for the next page (and, "
                                    "once `more` is false, to learn later changes); the "
                                    "cursor sent when no card changed since")
    more: bool = Field(description="true: more cards changed after `cursor`, ask again now")


class Paired(Strict):
    """A paired kiosk's credentials: keep both private (mode 0600)."""

    kiosk_id: str
    token: str = Field(description="the kiosk's bearer token, shown once")
    site_key: str = Field(description="the organisation's site key, 64 hex characters: "
                                      "card_ref = HMAC-SHA256(site key, UID)")
    shop: str


class CustomerRecord(Strict):
    card_ref: str
    first_name: str | None
    birthday: date | None
    consent: bool = Field(description="first name and birthday may be shown and used at "
                                      "the kiosks")
    updated_at: datetime
    email: str | None = Field(description="given by the customer on their card's page, "
                                          "kept only beside an e-mail consent")
    consent_reminders: bool = Field(description="e-mails about the card (stamps about to "
                                                "expire, a tier about to be lost)")
    consent_offers: bool = Field(description="e-mails with offers (birthday, win-back, "
                                             "booster hours)")
    consent_week: bool = Field(description="first name shown as customer of the week")
    consent_at: datetime | None = Field(description="when the customer last changed their "
                                                    "consent on their card's page")
    lang: str | None = Field(default=None, description="the language of their e-mails, fr or "
                             "en, chosen on their card's page (null: the shop's)")


class StoredEvent(Strict):
    """An event as stored: the kiosk's fields plus when it arrived and its time flags."""

    id: str
    kiosk_id: str
    seq: int
    card_ref: str
    kind: str
    delta: int
    reward_id: str | None
    program_version: str
    occurred_at: datetime
    staff_ref: str | None
    received_at: datetime
    flags: list[str]
    held_reason: str | None = Field(description="why the event is held for the owner's "
                                                "review and not counted; null when counted")


class CustomerExport(Strict):
    """Everything held about a card and the person behind it."""

    card_ref: str
    customer: CustomerRecord | None
    card: CardAnswer | None  # type: ignore[valid-type]
    events: list[StoredEvent]


class Erased(Strict):
    card_ref: str
    erased: bool = Field(description="false when no customer details were stored")


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The documented error answers of a route."""
    text = {
        400: "the body is not JSON",
        401: "no, an unknown or a revoked credential (WWW-Authenticate: Bearer)",
        403: "a valid credential of the other role: customer details take an owner key, "
             "events, cards and the program a kiosk token (pairing: the code pairs nothing, "
             "the detail says why)",
        404: "nothing stored under this name",
        413: "the body is larger than the server takes",
        422: "the request is well-formed JSON but not what this route takes",
        429: "this kiosk or owner key sent too many requests: wait Retry-After seconds",
        503: "the database is unavailable: retry after Retry-After seconds",
    }
    return {status: {"model": Error, "description": text[status]} for status in statuses}


KIOSK = (401, 403, 429, 503)  # every route that wants a kiosk token
OWNER = (401, 403, 429, 503)  # every route that wants an owner key


def body(model: type[BaseModel]) -> dict[str, Any]:
    """openapi_extra for a route that reads its JSON body itself."""
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": ref}}}}


def install(app: FastAPI, request_models: list[type[BaseModel]]) -> None:
    """Serve a document whose request bodies (read by the routes themselves) are in its
    components like every other model, so each $ref resolves."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version,
                                   description=app.description, routes=app.routes)
            _, found = models_json_schema(
                [(model, "validation") for model in request_models],
                ref_template="#/components/schemas/{model}",
            )
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            schemas.update(found.get("$defs", {}))
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
