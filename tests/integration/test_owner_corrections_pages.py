"""The corrections' forms on a card's page, and the messages' counts on the Overview, over
real HTTP, signed in through the real login: errors named by field with nothing recorded,
the kiosk's own refusal, CSRF, a manager kept to their shop's cards."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest

from central import store
from central.db import open_database, writing
from central.messages import outbox
from central.messages.rules import Due, Kind
from central.testing import Client, add_kiosk, event_dict, running_server
from kiosk.core.events import EventKind
from tests.support.accounts import WebSession, add_manager, add_owner

OWNER, MANAGER = "owner@lune.example", "manager@lune.example"
LOST = "ab" * 30 + "0001"
NEW = "cd" * 30 + "0002"  # tapped once: it holds a stamp
FRESH = "ce" * 30 + "0003"  # a new card known only by its enrolment
ACROSS = "ef" * 30 + "0004"  # seen only at the second shop
EN = {"accept-language": "en"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    db = str(tmp_path_factory.mktemp("fixes") / "central.sqlite3")
    with running_server(db) as url:
        opened = open_database(db)
        now = datetime.now(UTC)
        store.add_shop(opened, "station", now)
        cafe = store.list_orgs(opened)[0]["name"]
        add_owner(db, OWNER)
        add_manager(db, MANAGER, shop_id=1)
        counter = add_kiosk(db, "counter-1", org=cafe, shop="main")
        station = add_kiosk(db, "station-1", org=cafe, shop="station")
        enrol = {"kind": EventKind.ENROLLED, "delta": 0}
        sent = [(counter, [event_dict("counter-1", LOST, 1, now - timedelta(days=5), **enrol),
                           *(event_dict("counter-1", LOST, n, now - timedelta(days=n))
                             for n in (2, 3, 4)),
                           event_dict("counter-1", NEW, 5, now - timedelta(hours=1), **enrol),
                           event_dict("counter-1", NEW, 6, now - timedelta(hours=1)),
                           event_dict("counter-1", FRESH, 7, now - timedelta(hours=2), **enrol)]),
                (station, [event_dict("station-1", ACROSS, 1, now, **enrol)])]
        for token, batch in sent:
            answer = Client(url, token).post_events(batch).json()
            assert {r["status"] for r in answer["results"]} == {"accepted"}, answer
        with writing(opened) as conn:
            outbox.queue(conn, 1, [Due(LOST, Kind.EXPIRY, "2026-01-01", now + timedelta(days=9)),
                                   Due(NEW, Kind.WINBACK, "absence-1", now + timedelta(days=9))],
                         now)
            (first, *_) = [outbox.message_id(1, LOST, Kind.EXPIRY, "2026-01-01")]
            outbox.mark_sent(conn, first, now)
        opened.dispose()
        yield url, db


def signed_in(server: tuple[str, str], email: str) -> WebSession:
    web = WebSession(server[0])
    assert web.sign_in(email).status_code == 303
    return web


def problem(html: str, field_id: str) -> str:
    found = re.search(rf'id="{field_id}"[^>]*>([^<]*)<', html)
    assert found, f"no {field_id} on the page"
    return unescape(found.group(1)).strip()


def history(web: WebSession, ref: str) -> str:
    page = web.get(f"/customers/{ref}", EN).text
    return page[page.index("<tbody>"):]


def test_an_adjustment_without_a_reason_names_the_field_and_records_nothing(
        server: tuple[str, str]) -> None:
    owner = signed_in(server, OWNER)
    before = history(owner, LOST)
    answer = owner.submit(f"/customers/{LOST}", f"/customers/{LOST}/adjust",
                          {"delta": "+2", "reason": "  "}, EN)
    assert answer.status_code == 422
    assert problem(answer.text, "adjust-reason-problem") == "Say why (required)."
    assert 'value="+2"' in answer.text  # what was typed is kept
    assert history(owner, LOST) == before
    bad = owner.submit(f"/customers/{LOST}", f"/customers/{LOST}/adjust",
                       {"delta": "1001", "reason": "x"}, EN)
    assert problem(bad.text, "adjust-delta-problem").startswith(
        "Enter a whole number between -1000 and +1000")


def test_an_adjustment_that_would_go_negative_gets_the_kiosks_refusal(
        server: tuple[str, str]) -> None:
    owner = signed_in(server, OWNER)
    answer = owner.submit(f"/customers/{LOST}", f"/customers/{LOST}/adjust",
                          {"delta": "-50", "reason": "typo"}, EN)
    assert answer.status_code == 422
    assert problem(answer.text, "adjust-delta-problem") == (
        "refused: the card holds fewer stamps than that takes off; nothing recorded "
        "(take off at most its balance)")
    french = owner.submit(f"/customers/{LOST}", f"/customers/{LOST}/adjust",
                          {"delta": "-50", "reason": "typo"})
    assert problem(french.text, "adjust-delta-problem").startswith(
        "refusé : la carte a moins de tampons que ce retrait")


def test_a_form_without_its_token_is_refused(server: tuple[str, str]) -> None:
    owner = signed_in(server, OWNER)
    answer = owner.post(f"/customers/{LOST}/adjust", {"delta": "1", "reason": "x"})
    assert answer.status_code == 403


def test_a_manager_cannot_correct_another_shops_card(server: tuple[str, str]) -> None:
    manager = signed_in(server, MANAGER)
    token = manager.form_token(f"/customers/{LOST}")
    for action, fields in (("adjust", {"delta": "1", "reason": "x"}),
                           ("replace", {"new_ref": LOST})):
        answer = manager.post(f"/customers/{ACROSS}/{action}", {"csrf_token": token, **fields})
        assert answer.status_code == 403 and "<html" in answer.text
    refused = manager.post(f"/customers/{LOST}/replace", {"csrf_token": token, "new_ref": ACROSS})
    assert refused.status_code == 403  # nor move a balance onto one
    assert "…" + ACROSS[-8:] not in manager.get(f"/customers/{LOST}").text  # nor see it listed


def test_a_replacement_asks_for_the_new_card_then_for_a_merge_then_moves_the_balance(
        server: tuple[str, str]) -> None:
    owner = signed_in(server, OWNER)
    page = owner.get(f"/customers/{LOST}", EN).text
    assert f'value="{NEW}"' in page and f'value="{FRESH}"' in page  # first seen lately
    missing = owner.submit(f"/customers/{LOST}", f"/customers/{LOST}/replace", {}, EN)
    assert problem(missing.text, "replace-new-problem") == (
        "Choose the new card, or type the end of its number.")
    unknown = owner.submit(f"/customers/{LOST}", f"/customers/{LOST}/replace",
                           {"new_end": "zz12"}, EN)
    assert problem(unknown.text, "replace-end-problem").startswith("Type 4 to 64 characters")
    in_use = owner.submit(f"/customers/{LOST}", f"/customers/{LOST}/replace",
                          {"new_end": NEW[-6:]}, EN)
    assert in_use.status_code == 422
    assert problem(in_use.text, "replace-merge-problem").startswith(
        "The new card already holds stamps. Tick")
    assert "card_replaced" not in history(owner, LOST) and "card replaced" not in history(owner, LOST)

    moved = owner.submit(f"/customers/{LOST}", f"/customers/{LOST}/replace",
                         {"new_ref": NEW, "merge": "yes"}, EN)
    assert moved.status_code == 303 and moved.headers["location"] == f"/customers/{NEW}?from={LOST}"
    new_page = owner.get(moved.headers["location"], EN).text
    assert f"The balance of card …{LOST[-8:]} moved to this card" in new_page
    assert "balance from a lost card" in new_page and OWNER in new_page  # who did it
    old_page = owner.get(f"/customers/{LOST}", EN).text
    assert 'id="card-blocked"' in old_page and "/replace" not in old_page


def test_the_owner_sees_the_messages_counts_on_the_overview_and_a_manager_does_not(
        server: tuple[str, str]) -> None:
    owner = signed_in(server, OWNER)
    page = owner.get("/dashboard?period=today", EN).text
    table = page[page.index('class="messages-counts"'):]
    table = table[:table.index("</section>")]
    rows = dict(re.findall(r'<th scope="row">([^<]+)</th>((?:\s*<td>\d+</td>)+)', table))
    assert re.findall(r"\d+", rows["Stamps about to expire"]) == ["1", "0", "0", "0", "0"]
    assert re.findall(r"\d+", rows["We miss you"]) == ["0", "1", "0", "0", "0"]
    manager = signed_in(server, MANAGER)
    assert "messages-counts" not in manager.get("/dashboard?period=today", EN).text
