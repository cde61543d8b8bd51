"""The Overview's figures as ingest counts them (central.tallies.count): pure, so checked
against the kiosk's own fold over generated histories."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from central.tallies import ALL_SHOPS, COLUMNS, Counts, count, is_overdrawn
from kiosk.core.events import CardState, Event, EventKind, fold

START = datetime(2026, 3, 2, 8, tzinfo=UTC)
CARDS = ["a" * 64, "b" * 64, "c" * 64]
KINDS = [EventKind.STAMP, EventKind.STAMP, EventKind.ADJUSTMENT, EventKind.REWARD_EARNED,
         EventKind.REWARD_REDEEMED, EventKind.REWARD_REVOKED]

events = st.lists(st.tuples(st.sampled_from(CARDS), st.sampled_from(KINDS),
                            st.integers(0, 4 * 24 * 60), st.sampled_from(["k1", "k2"])),
                  max_size=40)


def history(drawn: list[tuple[str, EventKind, int, str]]) -> list[Event]:
    made = []
    for n, (card, kind, minute, kiosk) in enumerate(drawn):
        delta = {EventKind.STAMP: 1, EventKind.ADJUSTMENT: -1,
                 EventKind.REWARD_EARNED: -10}.get(kind, 0)
        reward = "coffee" if kind.value.startswith("reward") else None
        made.append(Event(id=f"e{n}", kiosk_id=kiosk, seq=n, card_ref=card, kind=kind,
                          delta=delta, reward_id=reward, program_version="1",
                          occurred_at=START + timedelta(minutes=minute)))
    # the order the counting walks a batch in, so that a cut splits it where counting would
    return sorted(made, key=lambda e: (e.occurred_at, e.kiosk_id, e.seq))


def totals(counts: Counts) -> Counter[str]:
    found: Counter[str] = Counter()
    for n in counts.hours.values():
        found.update(n)
    return found


def both(first: Counts, second: Counts) -> dict[tuple[int, str, int], Counter[str]]:
    merged: dict[tuple[int, str, int], Counter[str]] = {}
    for part in (first, second):
        for key, n in part.hours.items():
            merged.setdefault(key, Counter()).update(n)
    return {k: +n for k, n in merged.items() if +n}


SHOPS = {"k1": 1, "k2": 2}


@given(events)
def test_the_visits_counted_are_the_folds_visits_and_every_card_is_new_once(drawn) -> None:
    batch = history(drawn)
    counted = totals(count(batch, {}, UTC, SHOPS))
    folds = {card: fold(card, [e for e in batch if e.card_ref == card]) for card in CARDS}
    assert counted["visits"] == sum(state.visits for state in folds.values())
    assert counted["new_cards"] == len({e.card_ref for e in batch})
    assert counted["redeemed"] == sum(sum(s.redeemed.values()) for s in folds.values())
    assert counted["earned"] == sum(sum(s.earned.values()) - sum(s.revoked.values())
                                    for s in folds.values())


@given(events, st.integers(0, 40))
def test_counting_in_two_uploads_gives_what_one_upload_gives(drawn, cut: int) -> None:
    batch = history(drawn)
    early, late = batch[:cut], batch[cut:]
    before = {card: fold(card, [e for e in early if e.card_ref == card])
              for card in {e.card_ref for e in early}}
    whole = count(batch, {}, UTC, SHOPS)
    first, second = count(early, {}, UTC, SHOPS), count(late, before, UTC, SHOPS)
    assert both(first, second) == {k: +n for k, n in whole.hours.items() if +n}
    assert {**first.last_day, **{k: max(v, first.last_day.get(k, ""))
                                 for k, v in second.last_day.items()}} == whole.last_day
    overdrawn = {**first.overdrawn, **second.overdrawn}
    assert {r for r, k in overdrawn.items() if k} == {r for r, k in whole.overdrawn.items() if k}


@given(events)
def test_a_cards_last_day_is_kept_for_its_shop_and_for_all_shops(drawn) -> None:
    batch = history(drawn)
    counted = count(batch, {}, UTC, SHOPS)
    for (shop, card), day in counted.last_day.items():
        mine = [e for e in batch if e.card_ref == card and e.kind is EventKind.STAMP
                and (shop == ALL_SHOPS or SHOPS[e.kiosk_id] == shop)]
        assert day == max(e.occurred_at.date().isoformat() for e in mine)


def test_a_visit_on_a_later_day_is_a_return_and_the_same_day_is_not() -> None:
    card = CARDS[0]
    make = lambda n, minutes: Event(  # noqa: E731
        id=f"e{n}", kiosk_id="k1", seq=n, card_ref=card, kind=EventKind.STAMP, delta=1,
        reward_id=None, program_version="1", occurred_at=START + timedelta(minutes=minutes))
    counted = totals(count([make(1, 0), make(2, 60), make(3, 24 * 60)], {}, UTC, 1))
    assert (counted["visits"], counted["return_visits"], counted["new_cards"]) == (3, 1, 1)
    assert set(COLUMNS) >= set(counted)
    assert not is_overdrawn(CardState(card_ref=card))
