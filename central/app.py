"""The HTTP face of the central server: FastAPI routes over `central.store`.

Every /v1 route but /v1/health wants `Authorization: Bearer <secret>`: a kiosk token for
events, cards and the program, an owner key (`owner`) for customer details; the other
credential gets a 403. Bodies are read here, capped at 1 MiB, and checked before
anything is written; bad input is a 4xx with a reason in `detail`, never a 500. Nothing personal is logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import Annotated, Any

import orjson
from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from central import changes, contract, ingest, kioskreports, pairing, store, web, week
from central.db import Database, open_database
from central.orgs import Kiosk as KioskIdentity
from central.orgs import Owner
from central.ratelimit import RateLimiter
from central.schema import EventIn
from central.serving import Limits
from central.validate import (
    MAX_EVENTS,
    MAX_FIRST_NAME,
    BadEnvelope,
    check_event,
    customer_problem,
    envelope,
)
from central.web import card_page
from central.web import messages as messages_pages
from central.writer import BatchWriter
from kiosk.core.cardid import is_card_ref
from kiosk.core.wire import digits_only

log = logging.getLogger("central")
DEFAULT_LIMITS = Limits()
Clock = Callable[[], datetime]


class CustomerIn(BaseModel):
    """Customer details for one card; kept only with the customer's consent."""

    model_config = ConfigDict(extra="forbid", strict=True)
    first_name: str | None = Field(default=None, min_length=1, max_length=MAX_FIRST_NAME)
    birthday: date | None = None
    consent: bool


class PairingIn(BaseModel):
    """A pairing code, as `kiosk-central add-kiosk` printed it (dashes and case aside)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    code: str = Field(min_length=1, max_length=40)


# pairing is the one route without a credential: few attempts per client address
PAIRING_RATE, PAIRING_BURST = 1 / 6, 10


class EventBatch(BaseModel):
    """An upload: 1..500 events. The envelope is checked whole (a 422 names what is
    wrong); each event is then judged alone and answered accepted, duplicate or rejected
    with a reason (its time against the server's clock, its kiosk against the token)."""

    model_config = ConfigDict(extra="forbid")
    events: list[EventIn] = Field(min_length=1, max_length=MAX_EVENTS)


async def _read_body(request: Request) -> bytes:
    cap = request.app.state.limits.max_body
    declared = request.headers.get("content-length")
    if declared is not None and digits_only(declared) and int(declared) > cap:
        raise HTTPException(413, f"body larger than {cap} bytes")
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > cap:
                raise HTTPException(413, f"body larger than {cap} bytes")
            chunks.append(chunk)
    except ClientDisconnect:  # a client too slow to send its body (central.serving)
        raise HTTPException(400, "the client went away before its body was whole") from None
    return b"".join(chunks)


async def _read_json(request: Request) -> Any:
    return parse(await _read_body(request))


# a UTF-16 surrogate written as a JSON escape (\ud800..\udfff): valid JSON, but a lone
# one is no character, and no database or answer can store it
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


# a number of 19 digits or more: orjson reads one past 64 bits as a float, the standard
# library as the integer it is (and the checks then name its bounds)
_LONG_NUMBER = re.compile(rb"[\[:,\s]-?[0-9]{19}")


def parse(body: bytes) -> Any:
    """The JSON value of a request body; a 400 naming what is wrong when it is none."""
    if _SURROGATE_ESCAPE.search(body) or _LONG_NUMBER.search(body):
        return _checked(body)
    try:
        # orjson reads strict RFC 8259 JSON alone, to the values the standard library
        # gives; anything else (NaN, other encodings, errors) is the standard library's
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return _checked(body)


def _checked(body: bytes) -> Any:
    try:
        data = json.loads(body)
    # ValueError covers bad UTF-8, bad JSON and integers past Python's digit limit
    except (ValueError, RecursionError) as error:
        raise HTTPException(400, f"body is not JSON: {error}") from None
    if _SURROGATE_ESCAPE.search(body):  # rare: only then is the whole text checked
        try:
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise HTTPException(400, "body is not JSON: a lone UTF-16 surrogate is no character") from None
    return data


def _card_ref(card_ref: str) -> str:
    if not is_card_ref(card_ref):
        raise HTTPException(422, "card_ref must be 64 lowercase hex characters")
    return card_ref


Holder = Callable[[Database, str], Any]


async def _holder(request: Request, authorization: str | None, wanted: Holder,
                  other: Holder, other_role: str, unknown: str) -> Any:
    """Who a bearer secret names under `wanted`; a 403 naming the right credential when it
    is a live one of the other role, else a 401."""
    scheme, _, secret = (authorization or "").partition(" ")
    secret, db = secret.strip(), request.app.state.db
    if scheme.lower() == "bearer" and secret:
        found = await run_in_threadpool(wanted, db, secret)
        if found is not None:
            return found
        if await run_in_threadpool(other, db, secret) is not None:
            raise HTTPException(403, other_role)
    raise HTTPException(401, unknown, headers={"WWW-Authenticate": "Bearer"})


def _throttle(request: Request, who: str, wait_key: str) -> None:
    wait = request.app.state.limiter.wait(wait_key, time.monotonic())
    if wait:
        raise HTTPException(429, f"too many requests from {who}: retry in {wait} s",
                            headers={"Retry-After": str(wait)})


async def _kiosk(
    request: Request,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> KioskIdentity:
    found: KioskIdentity = await _holder(
        request, authorization, store.authenticate, store.authenticate_owner,
        "an owner key does not post events or act as a kiosk: this route takes a kiosk's "
        "own token", "unknown or revoked kiosk token")
    _throttle(request, f"kiosk {found.id!r}", found.id)
    return found


async def owner(
    request: Request,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Owner:
    """The owner key a request carries: customer details are the owner's organisation's."""
    found: Owner = await _holder(
        request, authorization, store.authenticate_owner, store.authenticate,
        "a kiosk token cannot read or change customer details: use an owner key "
        "(kiosk-central add-key NAME)",
        "unknown or revoked owner key (kiosk-central add-key NAME makes one)")
    # a space cannot occur in a kiosk id, so an owner key never shares a kiosk's budget
    _throttle(request, f"owner key {found.name!r}", f"owner key {found.name}")
    return found


# The kiosk a request's bearer token belongs to (with its shop and organisation: every
# route reads and writes that organisation alone); 401 before anything else is read.
Kiosk = Annotated[KioskIdentity, Depends(_kiosk)]
OwnerKey = Annotated[Owner, Depends(owner)]


def create_app(db_url: str, *, clock: Clock | None = None, limits: Limits = DEFAULT_LIMITS
               ) -> FastAPI:
    """The central API over the database at `db_url` (a SQLite path or SQLAlchemy URL).

    `clock` gives the server's idea of now (tests pass a fixed one); `limits` the rate,
    body and time limits of a client.
    """
    db = open_database(db_url)
    now: Clock = clock or (lambda: datetime.now(UTC))
    writer = BatchWriter(db)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        writer.close()
        db.dispose()

    # no /docs or /redoc: their pages load Swagger UI and ReDoc from a CDN; integrators
    # read /openapi.json, served from here
    app = FastAPI(
        title="Loyalty kiosk central API", version="1", lifespan=lifespan,
        docs_url=None, redoc_url=None,
    )
    app.state.db = db
    app.state.clock = now  # the pages' clock too (sessions, throttling)
    app.state.limits = limits
    app.state.limiter = RateLimiter(limits.rate, limits.burst)
    app.state.pairing_limiter = RateLimiter(PAIRING_RATE, PAIRING_BURST)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, error: RequestValidationError) -> JSONResponse:
        # the one shape of every error (contract.Error), not FastAPI's list of problems
        reasons = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        return JSONResponse({"detail": reasons}, 422)

    @app.exception_handler(SQLAlchemyError)
    async def _storage_down(_request: Request, error: SQLAlchemyError) -> JSONResponse:
        log.error("storage error: %s", error.__class__.__name__)
        return JSONResponse(
            {"detail": "storage unavailable, try again"}, 503, headers={"Retry-After": "5"}
        )

    _routes(app, db, writer, now)
    kioskreports.routes(app, _kiosk, now)
    week.routes(app, db, _kiosk, now)
    web.mount(app)
    card_page.routes(app, db, now)
    messages_pages.routes(app, db, now)
    contract.install(app, [EventBatch, CustomerIn, PairingIn])
    return app


def _routes(app: FastAPI, db: Database, writer: BatchWriter, now: Clock) -> None:
    @app.get("/v1/health", response_model=None, responses={200: {"model": contract.Health}})
    async def health() -> dict[str, str]:
        """Liveness: no token needed."""
        return {"status": "ok"}

    @app.post("/v1/pair", response_model=None, openapi_extra=contract.body(PairingIn),
              responses={200: {"model": contract.Paired},
                         **contract.errors(400, 403, 413, 422, 429, 503)})
    async def pair(request: Request) -> dict[str, str]:
        """Pair a kiosk: its one-time code (no token needed) for the kiosk's new token and
        its organisation's site key. A wrong, used or expired code is a 403 saying which;
        each client address has a few attempts, then a 429."""
        host = request.client.host if request.client else "?"
        wait = request.app.state.pairing_limiter.wait(f"pair {host}", time.monotonic())
        if wait:
            raise HTTPException(429, f"too many pairing attempts: retry in {wait} s",
                                headers={"Retry-After": str(wait)})
        body = await _read_body(request)
        parse(body)
        try:
            code = PairingIn.model_validate_json(body).code
        except ValidationError as error:
            raise HTTPException(422, "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in error.errors()
            )) from None
        try:
            paired = await run_in_threadpool(pairing.redeem, db, code, now())
        except pairing.PairingRefused as refused:
            raise HTTPException(403, str(refused)) from None
        return paired.to_dict()

    @app.post("/v1/events", response_model=None, openapi_extra=contract.body(EventBatch),
              responses={200: {"model": contract.UploadAnswer},
                         **contract.errors(400, 413, 422, *contract.KIOSK)})
    async def upload_events(request: Request, kiosk: Kiosk) -> Response:
        """Upload 1..500 events; each is accepted, duplicate or rejected with a reason."""
        try:
            items = envelope(await _read_json(request))
        except BadEnvelope as error:
            raise HTTPException(422, str(error)) from None
        moment = now()
        checked = [check_event(item, kiosk.id, moment) for item in items]
        done = await asyncio.wrap_future(writer.submit(kiosk, checked, moment))
        return Response(done.to_json(), media_type="application/json")

    # before /v1/cards/{card_ref}, which would otherwise take "changes" for a card ref
    @app.get("/v1/cards/changes", response_model=None,
             responses={200: {"model": contract.ChangedCards},
                        **contract.errors(422, *contract.KIOSK)})
    async def changed_cards(
        kiosk: Kiosk,
        after: Annotated[str, Query(max_length=changes.MAX_CURSOR_LENGTH,
                                    pattern=changes.CURSOR_PATTERN)] = "0",
        limit: Annotated[int, Query(ge=1, le=changes.MAX_PAGE)] = changes.DEFAULT_PAGE,
    ) -> JSONResponse:
        """The cards of the kiosk's organisation changed after the cursor `after` ("0":
        all), up to `limit` of them, oldest change first. A card that changed several times
        comes once, as it is now. Page on with the answer's `cursor` while `more` is true;
        a kiosk keeps the last cursor and asks again later for what changed since. A
        cursor is opaque: send it back as it came."""
        try:
            changes.parse_cursor(after)
        except ValueError as error:
            raise HTTPException(422, f"after: {error}") from None
        page = await run_in_threadpool(changes.changed_cards, db, kiosk.org_id, after, limit)
        return JSONResponse(page.to_dict())

    @app.get("/v1/cards/{card_ref}", response_model=None,
             responses={200: {"model": contract.CardAnswer},
                        **contract.errors(404, 422, *contract.KIOSK)})
    async def get_card(card_ref: str, kiosk: Kiosk) -> dict[str, Any]:
        """A card's state from every kiosk's events, with vouchers and flags."""
        found = await run_in_threadpool(ingest.cards, db, kiosk.org_id, [_card_ref(card_ref)])
        if card_ref not in found:
            raise HTTPException(404, "no events for this card")
        return found[card_ref]

    @app.get("/v1/program", response_model=None, responses={
        200: {"description": "the program's fields, as `kiosk-central program show` prints "
                             "them; the ETag header carries its version",
              "content": {"application/json": {"schema": {"type": "object"}}}},
        304: {"description": "If-None-Match named the current version"},
        **contract.errors(404, 422, *contract.KIOSK)})
    async def get_program(
        kiosk: Kiosk,
        if_none_match: Annotated[str | None, Header()] = None,
    ) -> Response:
        """The program of the kiosk's shop (its own, else the organisation's); its version
        tag is the ETag (If-None-Match gives a 304)."""
        current = await run_in_threadpool(store.current_program, db, kiosk.org_id,
                                          kiosk.shop_id)
        if current is None:
            raise HTTPException(404, "no program set yet (kiosk-central program set FILE)")
        version, fields = current
        etag = f'"{version}"'
        wanted = {tag.strip().removeprefix("W/") for tag in (if_none_match or "").split(",")}
        if etag in wanted or "*" in wanted:
            return Response(status_code=304, headers={"ETag": etag})
        return JSONResponse(fields, headers={"ETag": etag})

    @app.put("/v1/cards/{card_ref}/customer", response_model=None,
             openapi_extra=contract.body(CustomerIn),
             responses={200: {"model": contract.CustomerRecord},
                        **contract.errors(400, 413, 422, *contract.OWNER)})
    async def put_customer(card_ref: str, request: Request, key: OwnerKey) -> dict[str, Any]:
        """Store a customer's first name and birthday, only with their consent."""
        _card_ref(card_ref)
        body = await _read_body(request)
        parse(body)
        try:
            # JSON-mode strict validation: "YYYY-MM-DD" is a date, "yes" is not a bool
            details = CustomerIn.model_validate_json(body)
        except ValidationError as error:
            reasons = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in error.errors()
            )
            raise HTTPException(422, reasons) from None
        problem = customer_problem(
            details.first_name, details.birthday, details.consent, now().date()
        )
        if problem is not None:
            raise HTTPException(422, problem)
        values = details.model_dump(mode="json")
        return await run_in_threadpool(store.set_customer, db, key.org_id, card_ref, values,
                                       now())

    @app.get("/v1/cards/{card_ref}/customer", response_model=None,
             responses={200: {"model": contract.CustomerExport},
                        **contract.errors(404, 422, *contract.OWNER)})
    async def export_customer(card_ref: str, key: OwnerKey) -> dict[str, Any]:
        """Everything held about a card and the person behind it (data export)."""
        found = await run_in_threadpool(store.export_customer, db, key.org_id,
                                        _card_ref(card_ref))
        if found is None:
            raise HTTPException(404, "nothing stored for this card")
        return found

    @app.delete("/v1/cards/{card_ref}/customer", response_model=None,
                responses={200: {"model": contract.Erased},
                           **contract.errors(422, *contract.OWNER)})
    async def erase_customer(card_ref: str, key: OwnerKey) -> dict[str, Any]:
        """Forget the person behind a card; its events stay as anonymous counts."""
        erased = await run_in_threadpool(store.erase_customer, db, key.org_id,
                                         _card_ref(card_ref))
        return {"card_ref": card_ref, "erased": erased}
