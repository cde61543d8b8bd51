"""A card with its own page link, as a kiosk makes one at enrolment, over the real API."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import count
from pathlib import Path

from central import store
from central.db import open_database
from central.program import from_toml
from central.testing import Client, event_dict, running_server
from kiosk.core.cardlink import TOKEN_BYTES, link_digest, token_from
from kiosk.core.events import EventKind

_seq = count(1)


def new_card_ref() -> str:
    return secrets.token_hex(32)


def enrol_with_link(kiosk: Client, kiosk_id: str, card_ref: str, at: datetime,
                    welcome: int = 2) -> str:
    """Post a card's enrolment and its card_link event, as a kiosk does; returns the token."""
    token = token_from(secrets.token_bytes(TOKEN_BYTES))
    answer = kiosk.post_events([
        event_dict(kiosk_id, card_ref, next(_seq), at, kind=EventKind.ENROLLED, delta=welcome),
        event_dict(kiosk_id, card_ref, next(_seq), at, kind=EventKind.CARD_LINK, delta=0,
                   reward_id=link_digest(token)),
    ])
    assert answer.status == 200, answer.body
    assert {r["status"] for r in answer.json()["results"]} == {"accepted"}, answer.body
    return token


def stamp(kiosk: Client, kiosk_id: str, card_ref: str, at: datetime, n: int = 1) -> None:
    """`n` stamp events of one stamp each for the card."""
    answer = kiosk.post_events([event_dict(kiosk_id, card_ref, next(_seq), at)
                                for _ in range(n)])
    assert answer.status == 200, answer.body


def page(url: str, path: str, fields: dict[str, str] | None = None) -> tuple[int, str]:
    """A card page as an English-speaking phone gets it (a form posted when `fields`, its
    redirect followed): the status and the text."""
    browser = Client(url)
    try:
        headers = {"Accept-Language": "en"}
        if fields is None:
            answer = browser.get(path, headers=headers)
        else:
            body, sent = form(fields)
            answer = browser.request("POST", path, body, {**sent, **headers})
            if answer.status == 303:
                answer = browser.get(answer.headers["location"], headers=headers)
        return answer.status, answer.body.decode()
    finally:
        browser.close()


@contextmanager
def kiosk_of(shop: Shop, kiosk_id: str) -> Iterator[tuple[Client, str]]:
    """A kiosk added to the shop's central, its client and its id."""
    from central.testing import add_kiosk

    client = Client(shop.url, add_kiosk(shop.db, kiosk_id))
    try:
        yield client, kiosk_id
    finally:
        client.close()


def form(fields: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    """An HTML form's body and content type."""
    from urllib.parse import urlencode

    return urlencode(fields).encode(), {"Content-Type": "application/x-www-form-urlencoded"}


@dataclass(frozen=True)
class Shop:
    """A central serving a program, on loopback."""

    url: str
    db: str


@contextmanager
def shop_serving(folder: Path, program_toml: str) -> Iterator[Shop]:
    """A central over a new SQLite file in `folder`, its program set from TOML."""
    db = str(folder / "central.sqlite3")
    database = open_database(db)
    try:
        store.set_program(database, from_toml(program_toml), datetime.now(UTC))
    finally:
        database.dispose()
    with running_server(db) as url:
        yield Shop(url, db)
