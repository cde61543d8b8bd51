"""The dashboard over organisations and shops: an owner sees every shop of theirs, a
manager one, and nobody another organisation's figures, kiosks or events."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from central import orgs
from central.db import open_database
from central.testing import Client, add_kiosk, add_org, event_dict, running_server
from tests.support.accounts import WebSession, add_manager, add_owner

NOW = datetime(2026, 3, 12, 15, 30, tzinfo=UTC)
AT = NOW - timedelta(hours=2)


@pytest.fixture
def central(tmp_path: Path) -> Iterator[tuple[str, int, int]]:
    """Organisation 1 with shops 'main' (k-main, two visits) and 'Gare' (k-gare, one
    visit); another organisation 'Other' with one kiosk and one visit."""
    url = str(tmp_path / "central.sqlite3")
    db = open_database(url)
    try:
        gare = orgs.add_shop(db, "Gare", NOW)
    finally:
        db.dispose()
    add_org(url, "Other", "Elsewhere")
    main_token = add_kiosk(url, "k-main", shop="main", org="default")
    gare_token = add_kiosk(url, "k-gare", shop="Gare", org="default")
    other_token = add_kiosk(url, "k-other", shop="Elsewhere", org="Other")
    add_owner(url, "owner@example.org")
    add_manager(url, "gare@example.org", shop_id=gare.id)
    db = open_database(url)
    try:
        with db.engine.connect() as conn:
            other = orgs.org_id(conn, "Other")
    finally:
        db.dispose()
    add_owner(url, "other@example.org", org_id=other)
    with running_server(url, clock=lambda: NOW) as base:
        for token, kiosk, cards in ((main_token, "k-main", "ab"), (gare_token, "k-gare", "c"),
                                    (other_token, "k-other", "d")):
            answer = Client(base, token).post_events(
                [event_dict(kiosk, card * 64, n, AT) for n, card in enumerate(cards, 1)])
            assert answer.status == 200
        yield base, gare.id, other


def visits(web: WebSession, page: str) -> str:
    found = re.search(r'id="fig-visits"><span class="label">[^<]*</span>\s*'
                      r'<span class="value">([^<]*)</span>', web.get(page).text)
    assert found, page
    return found.group(1)


def signed_in(base: str, email: str) -> WebSession:
    web = WebSession(base)
    assert web.sign_in(email).status_code == 303
    return web


def test_an_owner_sees_every_shop_together_and_each_alone(central: tuple[str, int, int]) -> None:
    base, gare, _other = central
    web = signed_in(base, "owner@example.org")
    assert visits(web, "/dashboard?period=today") == "3"
    assert visits(web, f"/dashboard?period=today&shop={gare}") == "1"
    assert visits(web, "/dashboard?period=today&shop=1") == "2"


def test_a_manager_sees_their_shop_only(central: tuple[str, int, int]) -> None:
    base, gare, _other = central
    web = signed_in(base, "gare@example.org")
    assert visits(web, "/dashboard?period=today") == "1"
    assert web.get("/dashboard?period=today&shop=1").status_code == 403
    kiosks = web.get("/dashboard/kiosks").text
    assert 'id="kiosk-k-gare"' in kiosks and "k-main" not in kiosks
    exported = web.get("/dashboard/export/events.csv?from=2026-03-12&to=2026-03-12").text
    assert {row["kiosk_id"] for row in csv.DictReader(io.StringIO(exported))} == {"k-gare"}


def test_another_organisations_owner_sees_nothing_of_this_one(central: tuple[str, int, int]
                                                              ) -> None:
    base, gare, _other = central
    web = signed_in(base, "other@example.org")
    assert visits(web, "/dashboard?period=today") == "1"
    assert web.get(f"/dashboard?shop={gare}").status_code == 404
    assert web.get("/dashboard?shop=%C2%B9").status_code == 404  # "¹": not a shop's number
    kiosks = web.get("/dashboard/kiosks").text
    assert "k-other" in kiosks and "k-main" not in kiosks and "k-gare" not in kiosks
    exported = web.get("/dashboard/export/events.csv?from=2026-03-12&to=2026-03-12").text
    assert {row["kiosk_id"] for row in csv.DictReader(io.StringIO(exported))} == {"k-other"}
