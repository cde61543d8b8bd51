"""Who may do what at the central: customer details take the owner's API key, events a
kiosk token, and neither credential stands in for the other. Over real HTTP, on SQLite
and on PostgreSQL."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from central import store
from central.cli import main
from central.db import open_database, owner_keys
from central.orgs import DEFAULT_ORG
from central.testing import Client, add_kiosk, add_owner_key, event_dict, running_server

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CARD = hashlib.sha256(b"a named card").hexdigest()
PATH = f"/v1/cards/{CARD}/customer"
ZOE = {"first_name": "Zoé", "birthday": "1990-04-05", "consent": True}


@pytest.fixture
def central(central_db: str) -> Iterator[tuple[str, str]]:
    with running_server(central_db, clock=lambda: NOW) as url:
        yield url, central_db


def stored_customer(db_url: str) -> dict[str, object] | None:
    db = open_database(db_url)
    try:
        return store.customer(db, DEFAULT_ORG, CARD)
    finally:
        db.dispose()


def test_a_kiosk_token_can_neither_read_nor_change_nor_erase_a_customer(
    central: tuple[str, str],
) -> None:
    url, db_url = central
    owner = Client(url, add_owner_key(db_url, "script"))
    assert owner.send_json("PUT", PATH, ZOE).status == 200
    before = stored_customer(db_url)
    kiosk = Client(url, add_kiosk(db_url, "k1"))
    answers = [kiosk.get(PATH), kiosk.request("DELETE", PATH),
               kiosk.send_json("PUT", PATH, {"first_name": "Eve", "consent": True})]
    for reply in answers:
        assert reply.status == 403, reply.body
        assert "owner key" in reply.json()["detail"] and "Zoé" not in reply.body.decode()
    assert stored_customer(db_url) == before
    # the card's answer still carries the consenting first name the kiosk greets with
    kiosk.post_events([event_dict("k1", CARD, 1, NOW - timedelta(hours=1))])
    assert kiosk.get(f"/v1/cards/{CARD}").json()["customer"]["first_name"] == "Zoé"


def test_an_owner_key_stores_exports_and_erases_a_customer(central: tuple[str, str]) -> None:
    url, db_url = central
    owner = Client(url, add_owner_key(db_url, "script"))
    saved = owner.send_json("PUT", PATH, ZOE)
    assert saved.status == 200 and saved.json()["first_name"] == "Zoé"
    assert owner.get(PATH).json()["customer"]["birthday"] == "1990-04-05"
    assert owner.request("DELETE", PATH).json() == {"card_ref": CARD, "erased": True}
    assert stored_customer(db_url) is None


def test_an_owner_key_never_posts_events_nor_acts_as_a_kiosk(central: tuple[str, str]) -> None:
    url, db_url = central
    owner = Client(url, add_owner_key(db_url, "script"))
    posted = owner.post_events([event_dict("k1", CARD, 1, NOW - timedelta(hours=1))])
    assert posted.status == 403 and "kiosk" in posted.json()["detail"]
    assert owner.get(f"/v1/cards/{CARD}").status == 403
    db = open_database(db_url)
    try:
        assert store.event_count(db) == 0
    finally:
        db.dispose()


def test_add_key_prints_a_key_once_keeps_its_hash_and_revoke_key_ends_it(
    central: tuple[str, str], capsys: pytest.CaptureFixture[str],
) -> None:
    url, db_url = central
    assert main(["add-key", "backoffice", "--db", db_url]) == 0
    key = capsys.readouterr().out.strip()
    assert len(key) >= 40
    db = open_database(db_url)
    try:
        with db.engine.connect() as conn:
            rows = [tuple(r) for r in conn.execute(select(owner_keys))]
    finally:
        db.dispose()
    assert key not in repr(rows)
    assert hashlib.sha256(key.encode()).hexdigest() in repr(rows)
    owner = Client(url, key)
    assert owner.send_json("PUT", PATH, ZOE).status == 200
    assert main(["revoke-key", "backoffice", "--db", db_url]) == 0
    refused = owner.get(PATH)
    assert refused.status == 401 and "revoked owner key" in refused.json()["detail"]
    assert owner.request("DELETE", PATH).status == 401
    assert stored_customer(db_url) is not None
    assert main(["revoke-key", "backoffice", "--db", db_url]) == 1
    assert "no live owner key" in capsys.readouterr().err
