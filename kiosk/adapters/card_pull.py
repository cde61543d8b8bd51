"""Every card of the organisation in this kiosk's cache: changed cards pulled by cursor.

The central numbers each write of a card (its organisation's change sequence) and answers
`GET /v1/cards/changes?after=CURSOR` with the cards changed since, a page at a time. The
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
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kiosk.adapters.ledger import Ledger
from kiosk.adapters.sync_client import CentralClient, RemoteCard, SyncFailure, check_remote_card, shown
from kiosk.core.cardid import is_card_ref

log = logging.getLogger(__name__)

CURSOR = "sync.cards_cursor"  # ledger meta: {"url": ..., "cursor": N}
PAGE = 500  # cards per request (the central takes up to 1,000)
MAX_CURSOR = 2**62  # the central's bound on its change sequence


@dataclass(frozen=True)
class ChangedPage:
    """A checked page: its cards, the cursor to ask from next, whether more wait."""

    cards: tuple[RemoteCard, ...]
    cursor: int
    more: bool


def check_page(data: Any, after: int, now: datetime) -> ChangedPage:
    """A page of changed cards, or SyncFailure when it is not one. A card whose state
    fails its checks is left out (and logged); the cursor still moves past it."""
    if not isinstance(data, dict) or not isinstance(data.get("cards"), dict):
        raise SyncFailure("garbage answer: changed cards is not {cards, cursor, more}")
    cursor, more = data.get("cursor"), data.get("more")
    if type(cursor) is not int or not after <= cursor <= MAX_CURSOR or type(more) is not bool:
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


def held_cursor(ledger: Ledger, url: str) -> int:
    """The cursor pulled up to from the central at `url` (0: nothing pulled from it yet)."""
    try:
        held = json.loads(ledger.get_meta(CURSOR) or "{}")
    except ValueError:
        return 0
    if not isinstance(held, dict) or held.get("url") != url:
        return 0
    cursor = held.get("cursor")
    return cursor if type(cursor) is int and 0 <= cursor <= MAX_CURSOR else 0


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
