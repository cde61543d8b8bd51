"""A customer's own card page over real HTTP: the link a kiosk drew at enrolment opens it;
consent, export and erasure; a referral; a gift to the cause; bad tokens are 404s."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path

import pytest

from central.testing import Client, running_server
from central.web.card_page import MISS_BURST
from tests.support import cardpage
from tests.support.accounts import WebSession, add_owner
from tests.support.cardpage import Shop, enrol_with_link, kiosk_of, new_card_ref, shop_serving, stamp

PROGRAM = """[program]
version = "cp1"
goal = 5
welcome_bonus = 2
reward = "free coffee"
timezone = "UTC"
referral_bonus = 3
referral_days = 14
referral_cap = 2
cause = "the food bank"
"""
_kiosks = count()


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    with shop_serving(tmp_path_factory.mktemp("cardpage"), PROGRAM) as serving:
        yield serving


@pytest.fixture
def kiosk(shop: Shop) -> Iterator[tuple[Client, str]]:
    with kiosk_of(shop, f"till-{next(_kiosks)}") as found:
        yield found


def now() -> datetime:
    return datetime.now(UTC)


def page(shop: Shop, path: str, fields: dict[str, str] | None = None) -> tuple[int, str]:
    return cardpage.page(shop.url, path, fields)


def card_answer(kiosk: tuple[Client, str], ref: str) -> dict[str, object]:
    found = kiosk[0].get(f"/v1/cards/{ref}")
    assert found.status == 200
    return found.json()  # type: ignore[no-any-return]


def test_the_link_a_kiosk_drew_at_enrolment_opens_the_cards_page(
    shop: Shop, kiosk: tuple[Client, str]
) -> None:
    ref = new_card_ref()
    token = enrol_with_link(kiosk[0], kiosk[1], ref, now())
    stamp(kiosk[0], kiosk[1], ref, now())
    browser = Client(shop.url)
    answer = browser.get(f"/c/{token}", headers={"Accept-Language": "en"})
    browser.close()
    text = answer.body.decode()
    assert answer.status == 200
    assert "3 stamps of 5" in text and "2 more to: free coffee" in text
    assert '<meta name="robots" content="noindex, nofollow">' in text
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert answer.headers["cache-control"] == "no-store"
    assert ref not in text  # the card ref never appears on the page


def test_a_second_link_for_a_card_with_a_live_one_opens_nothing(
    shop: Shop, kiosk: tuple[Client, str]
) -> None:
    ref = new_card_ref()
    first = enrol_with_link(kiosk[0], kiosk[1], ref, now())
    second = enrol_with_link(kiosk[0], kiosk[1], ref, now())
    assert page(shop, f"/c/{first}")[0] == 200
    assert page(shop, f"/c/{second}")[0] == 404


def test_consent_keeps_only_what_is_ticked_and_erasure_reaches_the_kiosks(
    shop: Shop, kiosk: tuple[Client, str]
) -> None:
    ref = new_card_ref()
    token = enrol_with_link(kiosk[0], kiosk[1], ref, now())
    status, text = page(shop, f"/c/{token}/details", {
        "first_name": "Zoé", "keep_first_name": "on",
        "birthday": "1990-04-05",  # typed, but its box left unticked: not kept
        "email": "zoe@example.fr", "offers": "on"})
    assert status == 200 and "Your choices are saved." in text and "Hello Zoé!" in text
    assert card_answer(kiosk, ref)["customer"] == {"first_name": "Zoé", "birthday": None}
    status, exported = page(shop, f"/c/{token}/export")
    held = json.loads(exported)["customer"]
    assert held["email"] == "zoe@example.fr" and held["consent_offers"]
    assert not held["consent_reminders"] and held["birthday"] is None
    status, text = page(shop, f"/c/{token}/erase", {})
    assert status == 200 and "Your details are erased." in text and "Zoé" not in text
    assert card_answer(kiosk, ref)["customer"] is None
    assert json.loads(page(shop, f"/c/{token}/export")[1])["customer"] is None


def test_an_address_without_an_e_mail_purpose_is_refused_and_what_was_typed_stays(
    shop: Shop, kiosk: tuple[Client, str]
) -> None:
    token = enrol_with_link(kiosk[0], kiosk[1], new_card_ref(), now())
    status, text = page(shop, f"/c/{token}/details", {"email": "zoe@example.fr"})
    assert status == 422 and "tick one" in text and 'value="zoe@example.fr"' in text


def test_a_friends_code_gives_both_cards_the_bonus_once(
    shop: Shop, kiosk: tuple[Client, str]
) -> None:
    referrer, new = new_card_ref(), new_card_ref()
    code = _code(shop, enrol_with_link(kiosk[0], kiosk[1], referrer, now()))
    new_token = enrol_with_link(kiosk[0], kiosk[1], new, now())
    status, text = page(shop, f"/c/{new_token}/referral", {"code": code.lower()})
    assert status == 200 and "3 stamps for you and your friend" in text
    # 2 stamps + 3 reach the goal of 5: the card's voucher is made with the bonus
    for card in (new, referrer):
        assert (card_answer(kiosk, card)["stamps"], card_answer(kiosk, card)["vouchers"]) == (
            0, {"reward": 1})
    status, text = page(shop, f"/c/{new_token}/referral", {"code": code})
    assert status == 422 and "one per card" in text
    assert [card_answer(kiosk, c)["vouchers"] for c in (new, referrer)] == [{"reward": 1}] * 2


def _code(shop: Shop, token: str) -> str:
    text = page(shop, f"/c/{token}")[1]
    return text.split("Your code: ")[1][:8]


@pytest.mark.parametrize(("why", "expected"), [
    ("own", "your own code"), ("old", "first 14 days"), ("unknown", "no card has this code")])
def test_a_referral_that_cannot_count_is_refused_naming_why(
    shop: Shop, kiosk: tuple[Client, str], why: str, expected: str
) -> None:
    friend = enrol_with_link(kiosk[0], kiosk[1], new_card_ref(), now())
    when = now() - timedelta(days=20) if why == "old" else now()
    mine = enrol_with_link(kiosk[0], kiosk[1], new_card_ref(), when)
    code = {"own": _code(shop, mine), "old": _code(shop, friend), "unknown": "ZZZZ2222"}[why]
    status, text = page(shop, f"/c/{mine}/referral", {"code": code})
    assert status == 422 and expected in text


def test_a_referrer_past_the_cap_brings_no_more_bonus(
    shop: Shop, kiosk: tuple[Client, str]
) -> None:
    code = _code(shop, enrol_with_link(kiosk[0], kiosk[1], new_card_ref(), now()))
    answers = [page(shop, f"/c/{enrol_with_link(kiosk[0], kiosk[1], new_card_ref(), now())}"
                          "/referral", {"code": code}) for _ in range(3)]
    assert [status for status, _ in answers] == [200, 200, 422]
    assert "already referred 2 friends" in answers[2][1]


def test_a_voucher_given_to_the_cause_leaves_the_card_and_counts_in_the_totals(
    shop: Shop, kiosk: tuple[Client, str]
) -> None:
    ref = new_card_ref()
    token = enrol_with_link(kiosk[0], kiosk[1], ref, now())
    stamp(kiosk[0], kiosk[1], ref, now(), 3)
    kiosk[0].post_events([_earned(kiosk[1], ref)])
    assert card_answer(kiosk, ref)["vouchers"] == {"reward": 1}
    status, text = page(shop, f"/c/{token}/give", {"reward": "reward"})
    assert status == 200 and "Reward given to the food bank" in text
    assert "You gave 1;" in text
    assert card_answer(kiosk, ref)["vouchers"] == {}
    status, text = page(shop, f"/c/{token}/give", {"reward": "reward"})
    assert status == 422 and "holds no such reward" in text


def _earned(kiosk_id: str, ref: str) -> dict[str, object]:
    from central.testing import event_dict
    from kiosk.core.events import EventKind

    return event_dict(kiosk_id, ref, 10**6 + next(_kiosks), now(),
                      kind=EventKind.REWARD_EARNED, delta=-5, reward_id="reward")


def test_a_revoked_link_is_a_404_like_a_forged_one(shop: Shop, kiosk: tuple[Client, str]) -> None:
    token = enrol_with_link(kiosk[0], kiosk[1], new_card_ref(), now())
    status, text = page(shop, f"/c/{token}/revoke", {})
    assert status == 200 and "no longer opens your card" in text
    assert page(shop, f"/c/{token}")[0] == 404


def test_guessing_tokens_gets_404_pages_then_429(tmp_path: Path) -> None:
    db = str(tmp_path / "central.sqlite3")
    with running_server(db) as url:
        browser = Client(url)
        forged = ["A" * 43, "not-a-token", "B" * 43, "%00", "x" * 200]
        answers = [browser.get(f"/c/{token}") for token in forged[:MISS_BURST]]
        assert {a.status for a in answers} == {404}
        assert b"Page introuvable" in answers[0].body
        late = browser.get("/c/" + "C" * 43)
        assert late.status == 429 and int(late.headers["retry-after"]) > 0
        browser.close()


def test_the_owner_gives_a_card_a_new_link_and_the_old_one_stops(
    shop: Shop, kiosk: tuple[Client, str], capsys: pytest.CaptureFixture[str]
) -> None:
    from central import cli

    ref = new_card_ref()
    old = enrol_with_link(kiosk[0], kiosk[1], ref, now())
    assert cli.main(["card-link", ref, "--base-url", "/c/", "--db", shop.db]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed.startswith("/c/") and page(shop, printed)[0] == 200
    assert page(shop, f"/c/{old}")[0] == 404
    assert cli.main(["card-link", ref, "--revoke", "--db", shop.db]) == 0
    assert capsys.readouterr().out.strip() == "1 live link(s) revoked"
    assert page(shop, printed)[0] == 404


@pytest.fixture(scope="module")
def owner(shop: Shop) -> WebSession:
    add_owner(shop.db, "owner@example.org")
    web = WebSession(shop.url)
    assert web.sign_in("owner@example.org").status_code == 303
    return web


def tiles(owner: WebSession) -> dict[str, int]:
    text = owner.get("/dashboard/giving", headers={"Accept-Language": "en"}).text
    return {label: int(value) for label, value in re.findall(
        r'<span class="label">([^<]+)</span><span class="value">(\d+)</span>', text)}


def test_the_owners_dashboard_shows_what_customers_gave_and_how_many_cards_have_a_page(
    shop: Shop, kiosk: tuple[Client, str], owner: WebSession
) -> None:
    before = tiles(owner)
    ref = new_card_ref()
    token = enrol_with_link(kiosk[0], kiosk[1], ref, now())
    stamp(kiosk[0], kiosk[1], ref, now(), 3)
    kiosk[0].post_events([_earned(kiosk[1], ref)])
    assert page(shop, f"/c/{token}/give", {"reward": "reward"})[0] == 200
    after = tiles(owner)
    given = "Rewards given to the food bank"
    assert after[given] == before[given] + 1
    assert after["Cards with their own page"] == before["Cards with their own page"] + 1
    assert WebSession(shop.url).get("/dashboard/giving").status_code == 303  # to sign in


def test_the_language_of_the_customers_e_mails_is_theirs_to_pick_and_starts_as_the_pages(
    shop: Shop, kiosk: tuple[Client, str]
) -> None:
    from central import contact
    from central.db import open_database

    ref = new_card_ref()
    token = enrol_with_link(kiosk[0], kiosk[1], ref, now())
    status, text = page(shop, f"/c/{token}")  # shown in English
    assert status == 200 and re.search(r'value="en" checked', text)
    assert not re.search(r'value="fr" checked', text)
    status, text = page(shop, f"/c/{token}/details", {"email": "zoe@example.fr",
                                                      "reminders": "on", "lang": "fr"})
    assert status == 200 and re.search(r'value="fr" checked', text)
    db = open_database(shop.db)
    try:
        assert contact.contact_of(db, 1, ref).lang == "fr"
    finally:
        db.dispose()
    status, text = page(shop, f"/c/{token}/details", {"lang": "de"})
    assert status == 422 and "choose français or English" in text
