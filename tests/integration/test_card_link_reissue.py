"""A card's page link made anew at a counter, over real HTTP: it replaces a week-old link
(the old one stops), at most once a week per card and so many a week per kiosk; made for a
card that holds a customer's details, it shows the card but not the details; a revoked
link is known to kiosks from the card's state, and the owner's full link shows it all."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest

from central import links
from central.db import open_database, writing
from central.testing import Client, event_dict
from kiosk.core.cardlink import REISSUE_AFTER, TOKEN_BYTES, link_digest, token_from
from kiosk.core.events import CardState, Event, EventKind
from tests.support import cardpage
from tests.support.cardpage import Shop, enrol_with_link, kiosk_of, new_card_ref, shop_serving

PROGRAM = """[program]
version = "rl1"
goal = 5
welcome_bonus = 2
timezone = "UTC"
"""
_kiosks, _seq = count(), count(1)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    with shop_serving(tmp_path_factory.mktemp("relink"), PROGRAM) as serving:
        yield serving


@pytest.fixture
def kiosk(shop: Shop) -> Iterator[tuple[Client, str]]:
    with kiosk_of(shop, f"counter-{next(_kiosks)}") as found:
        yield found


def now() -> datetime:
    return datetime.now(UTC)


def relink(kiosk: tuple[Client, str], ref: str, at: datetime) -> str:
    """A counter's new link for a card it already knows, as a second tap sends it."""
    token = token_from(secrets.token_bytes(TOKEN_BYTES))
    answer = kiosk[0].post_events([event_dict(kiosk[1], ref, next(_seq), at,
                                              kind=EventKind.CARD_LINK, delta=0,
                                              reward_id=link_digest(token))])
    assert answer.status == 200 and answer.json()["results"][0]["status"] == "accepted"
    return token


def page(shop: Shop, path: str, fields: dict[str, str] | None = None) -> tuple[int, str]:
    return cardpage.page(shop.url, path, fields)


def state(kiosk: tuple[Client, str], ref: str) -> CardState:
    return CardState.from_dict(kiosk[0].get(f"/v1/cards/{ref}").json())


def test_a_counters_new_link_replaces_a_week_old_one_and_the_old_one_stops(
    shop: Shop, kiosk: tuple[Client, str]
) -> None:
    ref = new_card_ref()
    old = enrol_with_link(kiosk[0], kiosk[1], ref, now() - REISSUE_AFTER - timedelta(hours=1))
    new = relink(kiosk, ref, now())
    assert page(shop, f"/c/{old}")[0] == 404
    status, text = page(shop, f"/c/{new}")
    assert status == 200 and 'action="/c/' + new + '/details"' in text  # nothing to hide
    assert state(kiosk, ref).links == 2


def test_a_second_new_link_within_the_week_opens_nothing(
    shop: Shop, kiosk: tuple[Client, str]
) -> None:
    ref = new_card_ref()
    enrol_with_link(kiosk[0], kiosk[1], ref, now() - REISSUE_AFTER - timedelta(days=1))
    first = relink(kiosk, ref, now() - timedelta(hours=2))
    second = relink(kiosk, ref, now())
    assert page(shop, f"/c/{first}")[0] == 200 and page(shop, f"/c/{second}")[0] == 404


def test_a_new_link_dated_more_than_a_week_before_it_arrives_takes_nothing_over(
    shop: Shop, kiosk: tuple[Client, str]
) -> None:
    ref = new_card_ref()
    live = enrol_with_link(kiosk[0], kiosk[1], ref, now() - 30 * REISSUE_AFTER)
    stale = relink(kiosk, ref, now() - REISSUE_AFTER - timedelta(hours=1))
    assert page(shop, f"/c/{live}")[0] == 200 and page(shop, f"/c/{stale}")[0] == 404


def test_a_new_link_for_a_card_with_details_hides_them_until_the_owner_gives_a_full_link(
    shop: Shop, kiosk: tuple[Client, str], capsys: pytest.CaptureFixture[str]
) -> None:
    from central import cli

    ref = new_card_ref()
    own = enrol_with_link(kiosk[0], kiosk[1], ref, now() - REISSUE_AFTER - timedelta(days=1))
    assert page(shop, f"/c/{own}/details", {
        "first_name": "Zoé", "keep_first_name": "on", "email": "zoe@example.fr",
        "offers": "on"})[0] == 200
    copied = relink(kiosk, ref, now())  # a copy of the card's UID, tapped twice
    status, text = page(shop, f"/c/{copied}")
    assert status == 200 and "2 stamps of 5" in text  # the card itself shows
    assert "Zoé" not in text and "zoe@example.fr" not in text
    assert "ask the shop for a full link" in text and f"/c/{copied}/export" not in text
    assert page(shop, f"/c/{copied}/export")[0] == 403
    assert page(shop, f"/c/{copied}/erase", {})[0] == 403
    assert page(shop, f"/c/{copied}/details", {"first_name": "Eve",
                                                "keep_first_name": "on"})[0] == 403
    assert cli.main(["card-link", ref, "--base-url", "/c/", "--db", shop.db]) == 0
    full = capsys.readouterr().out.strip()
    status, text = page(shop, full)
    assert status == 200 and "Hello Zoé!" in text and "zoe@example.fr" in text
    assert page(shop, f"/c/{copied}")[0] == 404
    assert not state(kiosk, ref).link_due  # the owner's link counts: no kiosk writes another


def test_a_revoked_link_is_due_again_in_the_cards_state_and_the_next_counter_link_opens(
    shop: Shop, kiosk: tuple[Client, str]
) -> None:
    ref = new_card_ref()
    token = enrol_with_link(kiosk[0], kiosk[1], ref, now())
    assert not state(kiosk, ref).link_due
    assert page(shop, f"/c/{token}/revoke", {})[0] == 200
    revoked = state(kiosk, ref)
    assert revoked.link_due and revoked.links_revoked == 1
    again = relink(kiosk, ref, now())  # the card's next tap, the same hour
    assert not state(kiosk, ref).link_due
    status, text = page(shop, f"/c/{again}")
    assert status == 200 and page(shop, f"/c/{token}")[0] == 404


def test_a_kiosk_files_no_more_than_its_weekly_share_of_new_links(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(links, "REPLACEMENTS_PER_KIOSK", 2)
    db, at = open_database(shop.db), now()
    try:
        refs = [new_card_ref() for _ in range(3)]

        def link_event(ref: str, when: datetime) -> Event:
            return Event(id=secrets.token_hex(8), kiosk_id="stolen", seq=next(_seq),
                         card_ref=ref, kind=EventKind.CARD_LINK, delta=0,
                         reward_id=secrets.token_hex(20), program_version="rl1",
                         occurred_at=when)

        with writing(db) as conn:
            first = [link_event(r, at - 3 * REISSUE_AFTER) for r in refs]
            assert links.take_links(conn, 1, first, at) == 3  # first links: not counted
            again = [link_event(r, at) for r in refs]
            assert links.take_links(conn, 1, again, at) == 2
            assert links.take_links(conn, 1, [link_event(refs[2], at)], at) == 0
            honest = dataclasses.replace(link_event(refs[2], at), kiosk_id="honest")
            assert links.take_links(conn, 1, [honest], at) == 1  # another kiosk's share
    finally:
        db.dispose()
