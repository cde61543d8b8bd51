"""A card's page link at the kiosk: drawn at enrolment, only its digest recorded; a second
tap inside the cooldown shows it as a QR code a phone can read off the panel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image, ImageChops

from kiosk.adapters.card_link import qr_modules
from kiosk.core.cardlink import (
    REISSUE_AFTER,
    TOKEN_BYTES,
    draws_link,
    is_token,
    link_digest,
    on_second_tap,
    page_url,
    token_from,
    with_link,
)
from kiosk.core.events import CardState, Change, Event, EventKind, fold, record
from kiosk.core.outcome import Cooldown, ShowLink
from kiosk.core.program import Program
from kiosk.core.rules import decide_tap
from kiosk.core.screens import Screens
from kiosk.fonts import load

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
FRAMES = Path(__file__).resolve().parents[2] / "test-output" / "frames"
BASE = "https://loyalty.example.com/c/"
zxingcpp = pytest.importorskip("zxingcpp", reason="pip install zxing-cpp (a dev dependency)")


@given(st.binary(min_size=TOKEN_BYTES, max_size=TOKEN_BYTES))
def test_every_token_is_url_safe_and_its_digest_gives_nothing_of_it_back(raw: bytes) -> None:
    token = token_from(raw)
    assert is_token(token) and page_url(BASE, token).endswith("/c/" + token)
    digest = link_digest(token)
    assert len(digest) == 40 and token not in digest and set(digest) <= set("0123456789abcdef")


def test_an_enrolment_records_the_links_digest_and_a_later_stamp_draws_none() -> None:
    program = Program(cooldown=timedelta(minutes=30))
    token = token_from(bytes(range(TOKEN_BYTES)))
    first = decide_tap(program, CardState(card_ref="ab" * 32), T0)
    assert draws_link(first, T0, known=False)
    welcome = with_link(first, token)
    links = [c for c in welcome.changes if c.kind is EventKind.CARD_LINK]
    assert [(c.delta, c.reward_id) for c in links] == [(0, link_digest(token))]
    card = fold("ab" * 32, _recorded(welcome.changes, T0))
    assert card.links == 1 and card.link_at == T0 and not card.link_due
    again = decide_tap(program, card, T0 + timedelta(hours=2))
    assert not draws_link(again, T0 + timedelta(hours=2), known=False)


def test_a_second_tap_inside_the_cooldown_shows_the_link_and_records_nothing() -> None:
    program = Program(cooldown=timedelta(minutes=30))
    card = decide_tap(program, CardState(card_ref="ab" * 32), T0).card
    second = decide_tap(program, card, T0 + timedelta(minutes=1))
    assert isinstance(second, Cooldown)
    shown = on_second_tap(second, qr_modules(BASE + "x" * 43))
    assert isinstance(shown, ShowLink) and shown.changes == () and shown.until == second.until
    assert not shown.fresh
    assert on_second_tap(second, None) == second  # a link this kiosk does not know


def _recorded(changes: tuple[Change, ...] | list[Change], at: datetime, kiosk: str = "k1"
              ) -> tuple[Event, ...]:
    ids = iter(range(10**6))
    return record(changes, card_ref="ab" * 32, kiosk_id=kiosk, program_version="1", now=at,
                  new_id=lambda: f"{kiosk}-{at.isoformat()}-{next(ids)}", first_seq=1)


def _cooldown(card: CardState, at: datetime) -> Cooldown:
    return Cooldown(card=card, progress=_progress(), until=at + timedelta(minutes=5))


def test_a_second_tap_draws_a_new_link_only_where_none_is_held_and_at_most_once_a_week() -> None:
    linked = CardState(card_ref="ab" * 32, enrolled=True, links=1, link_at=T0)
    soon, later = T0 + REISSUE_AFTER - timedelta(minutes=1), T0 + REISSUE_AFTER
    assert not draws_link(_cooldown(linked, soon), soon, known=False)
    assert draws_link(_cooldown(linked, later), later, known=False)
    assert not draws_link(_cooldown(linked, later), later, known=True)  # its QR is shown
    never = CardState(card_ref="ab" * 32, enrolled=True)  # enrolled before card pages
    assert draws_link(_cooldown(never, T0), T0, known=False)


def test_a_revoked_link_is_drawn_anew_at_the_next_tap_of_any_kind_but_never_for_a_replaced_card(
) -> None:
    program = Program(cooldown=timedelta(minutes=30))
    revoked = CardState(card_ref="ab" * 32, enrolled=True, links=2, link_at=T0, links_revoked=2)
    assert revoked.link_due
    stamped = decide_tap(program, revoked, T0 + timedelta(hours=1))
    assert draws_link(stamped, T0 + timedelta(hours=1), known=True)
    blocked = CardState(card_ref="ab" * 32, enrolled=True, blocked=True, links_revoked=0)
    assert not draws_link(decide_tap(program, blocked, T0), T0, known=False)
    assert not draws_link(_cooldown(blocked, T0), T0, known=False)


@given(st.permutations(range(5)))
def test_whether_a_link_is_due_does_not_depend_on_the_order_events_arrive_in(
    order: list[int]
) -> None:
    digest = "a" * 40
    happened = [
        *_recorded([Change(EventKind.ENROLLED, 0)], T0),
        *_recorded([Change(EventKind.CARD_LINK, 0, digest)], T0, "k2"),
        *_recorded([Change(EventKind.LINK_REVOKED, 0, "1")], T0 + timedelta(days=1), "central"),
        *_recorded([Change(EventKind.CARD_LINK, 0, digest)], T0 - timedelta(days=9), "k3"),
        *_recorded([Change(EventKind.LINK_REVOKED, 0, "2")], T0 + timedelta(days=2), "c2"),
    ]
    card = fold("ab" * 32, [happened[i] for i in order])
    assert card.links == 2 and card.links_revoked == 2 and card.link_due and card.link_at == T0
    assert not fold("ab" * 32, [happened[i] for i in order if i != 4]).link_due


def _decoded(frame: Image.Image) -> list[str]:
    # a phone sees the panel much larger than one pixel per module: enlarge it the same way
    big = frame.convert("L").resize((frame.width * 6, frame.height * 6), Image.Resampling.NEAREST)
    return [found.text for found in zxingcpp.read_barcodes(big)]


@pytest.mark.parametrize("locale", ["en", "fr"])
def test_the_qr_code_on_the_128x64_panel_decodes_to_the_cards_page(locale: str) -> None:
    url = page_url(BASE, token_from(bytes(range(1, TOKEN_BYTES + 1))))
    card = CardState(card_ref="ab" * 32)
    shown = on_second_tap(Cooldown(card=card, progress=_progress(), until=T0), qr_modules(url))
    frame = Screens(load(), (128, 64), locale, "Café Lune").outcome(shown)  # type: ignore[arg-type]
    FRAMES.mkdir(parents=True, exist_ok=True)
    frame.save(FRAMES / f"show_link_128x64_{locale}.png")
    assert _decoded(frame) == [url]


def test_the_128x32_panel_is_too_short_for_the_code_and_says_how_else_to_open_the_page() -> None:
    url = page_url(BASE, token_from(bytes(TOKEN_BYTES)))
    shown = ShowLink(card=CardState(card_ref="ab" * 32), progress=_progress(), until=T0,
                     qr=qr_modules(url))
    frame = Screens(load(), (128, 32), "en", "Café Lune").outcome(shown)
    frame.save(FRAMES / "show_link_128x32_en.png")
    # 33 modules and a quiet zone need 37 rows at one pixel each: the panel has 32
    assert len(shown.qr) + 4 > 32 and _decoded(frame) == []
    assert frame.getbbox() is not None  # the words are there instead


def _progress():  # type: ignore[no-untyped-def]
    from kiosk.core.rules import progress

    return progress(Program(), CardState(card_ref="ab" * 32), T0)


@pytest.mark.parametrize(("kind", "delta", "reward_id", "held"), [
    (EventKind.CARD_LINK, 0, "a" * 40, None),
    (EventKind.CARD_LINK, 1, "a" * 40, "no stamps"),
    (EventKind.CARD_LINK, 0, "A" * 40, "lowercase hex"),
    (EventKind.CARD_LINK, 0, "a" * 39, "40 lowercase hex"),
    (EventKind.REFERRAL, 3, "referred", "only the central makes referral events"),
    (EventKind.LINK_REVOKED, 0, "1", "only the central makes link_revoked events"),
    (EventKind.DONATED, 0, "reward", "names no cause to give a voucher to"),
])
def test_the_central_counts_a_kiosks_card_link_and_holds_what_only_it_may_make(
    kind: EventKind, delta: int, reward_id: str, held: str | None
) -> None:
    from central.plausible import implausible
    from kiosk.core.events import Event

    event = Event(id="e1", kiosk_id="k1", seq=1, card_ref="ab" * 32, kind=kind, delta=delta,
                  reward_id=reward_id, program_version="1", occurred_at=T0)
    reason = implausible(Program(), CardState(card_ref="ab" * 32), event)
    assert reason == held if held is None else held in (reason or "")


@pytest.mark.parametrize("locale", ["en", "fr"])
def test_a_new_link_drawn_at_this_tap_still_decodes_and_says_the_old_one_stops(locale: str) -> None:
    url = page_url(BASE, token_from(bytes(range(2, TOKEN_BYTES + 2))))
    card = CardState(card_ref="ab" * 32)
    shown = on_second_tap(Cooldown(card=card, progress=_progress(), until=T0), qr_modules(url),
                          fresh=True)
    screens = {size: Screens(load(), size, locale, "Café Lune") for size in ((128, 64), (128, 32))}
    tall, short = (screens[size].outcome(shown) for size in screens)  # type: ignore[arg-type]
    FRAMES.mkdir(parents=True, exist_ok=True)
    tall.save(FRAMES / f"new_link_128x64_{locale}.png")
    short.save(FRAMES / f"new_link_128x32_{locale}.png")
    assert _decoded(tall) == [url]
    plain = Screens(load(), (128, 64), locale, "Café Lune").outcome(
        on_second_tap(Cooldown(card=card, progress=_progress(), until=T0), qr_modules(url)))
    assert ImageChops.difference(tall, plain).getbbox() is not None  # other words
    assert short.getbbox() is not None and _decoded(short) == []


def test_the_central_counts_a_voucher_given_at_the_counter_only_when_the_card_holds_it() -> None:
    from dataclasses import replace

    from central.plausible import implausible
    from kiosk.core.events import Event

    program = replace(Program(), cause="Les Restos du Cœur")
    gift = Event(id="e1", kiosk_id="k1", seq=1, card_ref="ab" * 32, kind=EventKind.DONATED,
                 delta=0, reward_id="reward", program_version="1", occurred_at=T0)
    holding = CardState(card_ref="ab" * 32, enrolled=True, earned={"reward": 1})
    assert implausible(program, holding, gift) is None
    empty = CardState(card_ref="ab" * 32, enrolled=True)
    assert implausible(program, empty, gift) is not None
