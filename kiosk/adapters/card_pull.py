"""Every card of the organisation in this kiosk's cache: changed cards pulled by cursor.

The central places each write of a card in its organisation's changes and answers
`GET /v1/cards/changes?after=CURSOR` with the cards changed since, a page at a time. The
cursor is opaque here: a short string of digits and dashes that the kiosk sends back as
it came (a ledger from before holds a number: sent as its digits). The
sync worker pulls after each upload and when idle, and keeps the cursor in the ledger's
meta table with the central's URL (another central starts from nothing). Each page goes
through `Ledger.settle`, so a pulled card's cache is the server's state with this kiosk's
events the server has not acknowledged yet folded on top. A card first used at another
counter is therefore in the cache before its first tap here, and a tap never waits for
the network.

A page writes the ledger only when it holds cards: an idle kiosk's pull costs one small
request and no byte on the microSD card.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeGuard

from kiosk.adapters.ledger import Ledger
from kiosk.adapters.sync_client import CentralClient, RemoteCard, SyncFailure, check_remote_card, shown
from kiosk.core.cardid import is_card_ref

log = logging.getLogger(__name__)

CURSOR = "sync.cards_cursor"  # ledger meta: {"url": ..., "cursor": "..."}
PAGE = 500  # cards per request (the central takes up to 1,000)
FIRST = "0"  # the cursor before any change: every card
MAX_CURSOR_LENGTH = 39  # the central's bound: two 19-digit numbers and a dash
_CURSOR = re.compile(f"[0-9-]{{1,{MAX_CURSOR_LENGTH}}}")


def is_cursor(found: object) -> TypeGuard[str]:
    """A cursor as the central gives them: it goes into a URL unescaped."""
    return isinstance(found, str) and _CURSOR.fullmatch(found) is not None


@dataclass(frozen=True)
class ChangedPage:
    """A checked page: its cards, the cursor to ask from next, whether more wait."""

    cards: tuple[RemoteCard, ...]
    cursor: str
    more: bool


def check_page(data: Any, after: str, now: datetime) -> ChangedPage:
    """A page of changed cards, or SyncFailure when it is not one. A card whose state
    fails its checks is left out (and logged); the cursor still moves past it."""
    if not isinstance(data, dict) or not isinstance(data.get("cards"), dict):
        raise SyncFailure("garbage answer: changed cards is not {cards, cursor, more}")
    cursor, more = data.get("cursor"), data.get("more")
    if not is_cursor(cursor) or type(more) is not bool:
        raise SyncFailure("garbage answer: the changed cards' cursor is out of bounds")
    if more and cursor == after:
        raise SyncFailure("garbage answer: more changed cards, but the cursor did not move")
    cards = []
    for ref, body in data["cards"].items():
        if not is_card_ref(ref) or not isinstance(body, dict) or body.get("card_ref") != ref:
            raise SyncFailure("garbage answer: a changed card named by another ref")
        try:
            cards.append(check_remote_card(body, now))
        except SyncFailure as refused:
            log.warning("event=card_refused card=%s problem=%r", shown(ref, 12), str(refused))
    return ChangedPage(tuple(cards), cursor, more)


def held_cursor(ledger: Ledger, url: str) -> str:
    """The cursor pulled up to from the central at `url` (FIRST: nothing pulled from it yet).
    A number (what kiosks kept before cursors were opaque) is its digits."""
    try:
        held = json.loads(ledger.get_meta(CURSOR) or "{}")
    except ValueError:
        return FIRST
    if not isinstance(held, dict) or held.get("url") != url:
        return FIRST
    cursor = held.get("cursor")
    if type(cursor) is int and cursor >= 0:
        cursor = str(cursor)
    return cursor if is_cursor(cursor) else FIRST


def pull(client: CentralClient, token: str, ledger: Ledger, url: str, now: datetime,
         stop: threading.Event | None = None) -> int:
    """Pull every card changed since the held cursor into the cache; returns how many.

    Nothing while the ledger is bound to no site key yet (before the kiosk's first start):
    card refs mean something only under the key, and cards would make the ledger look
    used, so that the first start would refuse it."""
    if ledger.holding().fingerprint is None:
        return 0
    cursor = held_cursor(ledger, url)
    merged = 0
    while stop is None or not stop.is_set():
        try:
            data = client.read(token, f"/v1/cards/changes?after={cursor}&limit={PAGE}")
        except SyncFailure as failure:
            if failure.status != 404:
                raise
            # a central from before changed cards: this kiosk knows the cards it answers
            log.warning("event=card_pull ok=false problem=%r", "the central offers no changed cards")
            break
        page = check_page(data, cursor, now)
        if page.cards or page.cursor != cursor:
            customers: Mapping[str, Any] = {c.state.card_ref: c.customer
                                            for c in page.cards if c.says_customer}
            ledger.settle((), {}, [c.state for c in page.cards], now, customers)
            ledger.set_meta({CURSOR: json.dumps({"url": url, "cursor": page.cursor})})
            merged += len(page.cards)
        cursor = page.cursor
        if not page.more:
            break
    return merged
