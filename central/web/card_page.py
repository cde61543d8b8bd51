"""A customer's own card page, reached by the long random token of its link.

    GET  /c/{token}           the card: stamps, rewards, expiry, status, visits, boosters;
                              referral, the cause, the customer's details and consent
    POST /c/{token}/details   keep exactly what the customer ticked (central.contact)
    GET  /c/{token}/export    everything held about the card, as JSON
    POST /c/{token}/erase     forget the person (every kiosk forgets at its next refresh)
    POST /c/{token}/referral  a friend's code (central.card_actions)
    POST /c/{token}/give      a voucher to the shop's cause
    POST /c/{token}/revoke    this link stops working
    GET  /r/{code}            a referral link: remembered on this phone for the card page

A link made at a counter while the card held its customer's details is limited
(central.links): its page shows the card but not those details, and details, export and
erasure answer 403 through it.

The token is the only credential: an unknown, revoked or malformed one is the plain 404
page, and each such miss spends from a small per-address budget; past it, 429. Pages are
`noindex` (base.html), answers `no-store` (Pages) and `no-referrer` (SECURITY_HEADERS), so
the token stays out of caches and other sites' logs. The forms need no CSRF token: a page
that can post here already holds the token.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from central import card_actions, contact, links, made, store
from central.cardcache import load
from central.consent import Purpose
from central.contact import Contact, ContactError
from central.db import Database, reading
from central.ingest import card_events
from central.ratelimit import RateLimiter
from central.referral import Refusal
from central.web import card_words, giving  # noqa: F401  (card_words: the page's words)
from central.web.card_view import card_view, weekdays
from central.web.pages import Pages
from kiosk.core.events import CardState
from kiosk.core.program import Program
from kiosk.core.wire import digits_only

# Per client address: pages (generous, a person reading) and misses (a guesser's budget).
PAGE_RATE, PAGE_BURST = 1.0, 60
MISS_RATE, MISS_BURST = 1 / 60, 5
REFERRAL_COOKIE = "referral"
MAX_FORM = 4096  # bytes: the details form is a few short fields


@dataclass(frozen=True)
class Notice:
    """A line at the top of the page: `kind` "" or "error", the words' key and values."""

    kind: str
    key: str
    values: Mapping[str, object] = field(default_factory=dict)


class CardPages:
    """The card page's routes over one database."""

    def __init__(self, db: Database, pages: Pages, now: Any) -> None:
        self.db, self.pages, self.now = db, pages, now
        self.reads = RateLimiter(PAGE_RATE, PAGE_BURST)
        self.misses = RateLimiter(MISS_RATE, MISS_BURST)

    # -- who is asking ------------------------------------------------------------------
    @staticmethod
    def _client(request: Request) -> str:
        return request.client.host if request.client else "?"

    def throttle(self, limiter: RateLimiter, request: Request) -> None:
        wait = limiter.wait(self._client(request), time.monotonic())
        if wait:
            raise HTTPException(429, headers={"Retry-After": str(wait)})

    async def link(self, request: Request, token: str) -> links.Link:
        """The link a token opens; else the 404 page, or 429 once the misses run out."""
        self.throttle(self.reads, request)
        found = await run_in_threadpool(links.find, self.db, token)
        if found is None:
            self.throttle(self.misses, request)
            raise HTTPException(404)
        return found

    async def card(self, request: Request, token: str) -> tuple[int, str]:
        """(organisation, card) a token opens (see `link`)."""
        found = await self.link(request, token)
        return found.org, found.card_ref

    async def with_details(self, request: Request, token: str) -> tuple[int, str]:
        """(organisation, card) of a link that shows the card's details; 403 for a limited
        link of a card that holds some."""
        found = await self.link(request, token)
        if not await run_in_threadpool(links.shows_details, self.db, found):
            raise HTTPException(403)
        return found.org, found.card_ref

    # -- what the page shows ------------------------------------------------------------
    def program(self, org: int) -> Program:
        current = store.current_program(self.db, org)
        found = card_actions.program_from(None if current is None else current[1])
        return found or Program()

    def _state(self, org: int, card_ref: str) -> CardState:
        with reading(self.db) as conn:
            found = load(conn, org, [card_ref])
        return found[card_ref].state if card_ref in found else CardState(card_ref=card_ref)

    def context(self, request: Request, token: str, org: int, card_ref: str,
                notice: Notice | None = None, given: Contact | None = None
                ) -> dict[str, Any]:
        program, now = self.program(org), self.now()
        view = card_view(program, self._state(org, card_ref),
                         card_events(self.db, org, card_ref), now)
        found = links.find(self.db, token)
        hidden = found is not None and not links.shows_details(self.db, found)
        held = Contact() if hidden else contact.contact_of(self.db, org, card_ref)
        referral_on = program.referral_bonus > 0
        cookie_code = request.cookies.get(REFERRAL_COOKIE, "")
        code = links.referral_code(self.db, org, card_ref) if referral_on else ""
        return {
            "token": token, "view": view, "program": program, "notice": notice,
            "contact": given or held, "greet": held.first_name, "hidden": hidden,
            "purposes": list(Purpose), "today": now.astimezone(program.tz).date(),
            "weekdays": weekdays,
            "referral_on": referral_on,
            "code": code,
            "referral_url": str(request.base_url).rstrip("/") + "/r/" + code,
            "brought": card_actions.friends_brought(self.db, org, card_ref),
            "referred": card_actions.referred_by(self.db, org, card_ref),
            "friend_code": cookie_code if links.referrer_of(self.db, org, cookie_code) else "",
            "given": card_actions.card_donations(self.db, org, card_ref),
            "given_all": made.donations_total(self.db, org),
        }

    def show(self, request: Request, token: str, card: tuple[int, str],
             notice: Notice | None = None, given: Contact | None = None,
             status: int = 200) -> Response:
        context = self.context(request, token, *card, notice, given)
        return self.pages.render(request, "card.html", context, status=status)


def _form_contact(form: Any) -> Contact:
    def text(name: str) -> str | None:
        value = str(form.get(name, "")).strip()
        return value or None

    def ticked(name: str) -> bool:
        return bool(form.get(name) == "on")

    born = text("birthday")
    try:
        birthday = date.fromisoformat(born) if born and ticked("keep_birthday") else None
    except ValueError:
        raise ContactError("birthday: write it as YYYY-MM-DD") from None
    lang = text("lang")
    return Contact(
        first_name=text("first_name") if ticked("keep_first_name") else None,
        birthday=birthday,
        email=text("email"),
        purposes=contact.purposes_from(form),
        lang=None if lang is None else lang[:8],
    )


def routes(app: FastAPI, db: Database, now: Any) -> None:
    """Add the card page's routes to the app."""
    pages: Pages = app.state.pages
    cards = CardPages(db, pages, now)
    giving.routes(app, db)  # the owner's totals of what customers do from their pages

    async def form(request: Request) -> Any:
        declared = request.headers.get("content-length", "")
        if digits_only(declared) and int(declared) > MAX_FORM:
            raise HTTPException(413)
        return await request.form(max_files=0, max_fields=20)

    def back(token: str, done: str) -> Response:
        return RedirectResponse(f"/c/{token}?done={done}", status_code=303)

    @app.get("/c/{token}", include_in_schema=False)
    async def card_page(request: Request, token: str) -> Response:
        card = await cards.card(request, token)
        done = request.query_params.get("done")
        words = {"details": "card_saved", "erased": "card_erased"}
        notice = Notice("", words[done]) if done in words else None
        return await run_in_threadpool(cards.show, request, token, card, notice)

    @app.post("/c/{token}/details", include_in_schema=False)
    async def details(request: Request, token: str) -> Response:
        card = await cards.with_details(request, token)
        sent = await form(request)
        try:
            given = _form_contact(sent)
            await run_in_threadpool(contact.set_contact, db, *card, given, now())
            # the details are now the ones given through this link: it shows them
            await run_in_threadpool(links.own_details, db, token)
        except ContactError as error:
            # what was typed comes back in the form, so nothing is lost
            typed = Contact(first_name=str(sent.get("first_name", ""))[:60] or None,
                            email=str(sent.get("email", ""))[:254] or None,
                            purposes=contact.purposes_from(sent))
            notice = Notice("error", "refused_details", {"why": str(error)})
            return await run_in_threadpool(cards.show, request, token, card, notice,
                                           typed, 422)
        return back(token, "details")

    @app.get("/c/{token}/export", include_in_schema=False)
    async def export(request: Request, token: str) -> Response:
        card = await cards.with_details(request, token)
        held = await run_in_threadpool(store.export_customer, db, *card)
        body = json.dumps(held or {"card_ref": card[1]}, indent=2, ensure_ascii=False)
        return Response(body, media_type="application/json", headers={
            "content-disposition": 'attachment; filename="my-card.json"',
            "cache-control": "no-store"})

    @app.post("/c/{token}/erase", include_in_schema=False)
    async def erase(request: Request, token: str) -> Response:
        card = await cards.with_details(request, token)
        await run_in_threadpool(store.erase_customer, db, *card)
        return back(token, "erased")

    @app.post("/c/{token}/referral", include_in_schema=False)
    async def referral(request: Request, token: str) -> Response:
        card = await cards.card(request, token)
        code = str((await form(request)).get("code", ""))[:40]
        try:
            bonus = await run_in_threadpool(card_actions.take_referral, db, *card, code, now())
        except Refusal as refused:
            return await run_in_threadpool(
                cards.show, request, token, card,
                Notice("error", "refused_" + refused.key, refused.values), None, 422)
        response = await run_in_threadpool(
            cards.show, request, token, card, Notice("", "card_referral_done", {"n": bonus}))
        response.delete_cookie(REFERRAL_COOKIE, path="/c/")
        return response

    @app.post("/c/{token}/give", include_in_schema=False)
    async def give(request: Request, token: str) -> Response:
        card = await cards.card(request, token)
        reward_id = str((await form(request)).get("reward", ""))[:40]
        try:
            await run_in_threadpool(card_actions.give_voucher, db, *card, reward_id, now())
        except Refusal as refused:
            return await run_in_threadpool(
                cards.show, request, token, card,
                Notice("error", "refused_" + refused.key, refused.values), None, 422)
        cause = cards.program(card[0]).cause or ""
        return await run_in_threadpool(
            cards.show, request, token, card, Notice("", "card_cause_given", {"cause": cause}))

    @app.post("/c/{token}/revoke", include_in_schema=False)
    async def revoke(request: Request, token: str) -> Response:
        card = await cards.card(request, token)
        await run_in_threadpool(links.revoke, db, *card, now())
        return pages.render(request, "card_revoked.html")

    @app.get("/r/{code}", include_in_schema=False)
    async def referral_link(request: Request, code: str) -> Response:
        cards.throttle(cards.reads, request)
        known = await run_in_threadpool(links.code_holder, db, code)
        if known is None:
            cards.throttle(cards.misses, request)
            raise HTTPException(404)
        program = cards.program(known[0])
        response = pages.render(request, "referral.html", {
            "on": program.referral_bonus > 0, "code": code.strip().upper(),
            "days": program.referral_days})
        if program.referral_bonus > 0:
            response.set_cookie(REFERRAL_COOKIE, code.strip().upper(), path="/c/",
                                max_age=program.referral_days * 86400, httponly=True,
                                samesite="lax", secure=request.url.scheme == "https")
        return response
