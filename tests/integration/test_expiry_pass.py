"""The daily expiry pass through Counter.expire_due, on a real SQLite ledger."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.adapters.ledger import Ledger
from kiosk.core.events import EventKind
from kiosk.core.expiry import expirable
from kiosk.core.program import Expiry, Program
from kiosk.service import EXPIRY_COMMITS, EXPIRY_DAY_KEY, Counter

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)
DAY = timedelta(days=1)
INACTIVE = Program(expiry=Expiry.INACTIVITY, expiry_days=30, timezone="Europe/Paris")
AGEING = Program(expiry=Expiry.PER_STAMP, expiry_days=30, cooldown=timedelta(0),
                 timezone="Europe/Paris")


def uid(n: int) -> bytes:
    return bytes([0x04, n, 0xA1, 0xB2, 0xC3, 0xD4, 0xE5])


def open_counter(path: Path, program: Program = INACTIVE) -> Counter:
    return Counter(program, Ledger.open(path, program.tz), b"k" * 32, "k1")


def run_pass(counter: Counter, now: datetime, limit: int) -> tuple[int, int]:
    """(cards whose stamps expired, slices it took); no slice records more than
    EXPIRY_COMMITS expirations (each is an fsync a tap might wait for)."""
    expired = slices = 0
    while counter.expiry_due(now):
        found = counter.expire_due(now, limit)
        assert found <= EXPIRY_COMMITS
        expired += found
        slices += 1
        assert slices < 1000
    return expired, slices


def test_the_pass_expires_each_due_card_once_a_few_cards_per_slice(tmp_path: Path) -> None:
    counter = open_counter(tmp_path / "l.sqlite3")
    for n in range(7):
        counter.tap(uid(n), T0)
    for n in (7, 8):
        counter.tap(uid(n), T0 + 25 * DAY)  # seen recently: kept
    expired, slices = run_pass(counter, T0 + 35 * DAY, limit=3)
    assert expired == 7 and slices >= 4  # 9 cards, 3 (or 2 expired) a slice, an empty look
    gone = [e for e in counter.ledger.events() if e.kind is EventKind.EXPIRED]
    assert len(gone) == 7 and {e.delta for e in gone} == {-3}
    assert all(counter.ledger.card(counter.card_ref(uid(n))).stamps == 3 for n in (7, 8))
    # the same day again: nothing to do, nothing recorded
    assert not counter.expiry_due(T0 + 35 * DAY + timedelta(hours=2))
    assert counter.expire_due(T0 + 35 * DAY + timedelta(hours=2)) == 0
    # the next day the pass runs again and finds nothing new
    assert run_pass(counter, T0 + 36 * DAY, limit=3)[0] == 0
    assert len([e for e in counter.ledger.events() if e.kind is EventKind.EXPIRED]) == 7


def test_a_restart_the_same_day_does_not_run_the_pass_again(tmp_path: Path) -> None:
    counter = open_counter(tmp_path / "l.sqlite3")
    counter.tap(uid(1), T0)
    run_pass(counter, T0 + 40 * DAY, limit=5)
    counter.close()
    again = open_counter(tmp_path / "l.sqlite3")
    assert again.ledger.get_meta(EXPIRY_DAY_KEY) == "2026-02-14"
    assert not again.expiry_due(T0 + 40 * DAY + timedelta(hours=3))
    # at boot on a later day it is due: the kiosk was off when the day turned
    assert again.expiry_due(T0 + 41 * DAY)


def test_a_pass_cut_short_by_a_restart_starts_over_and_counts_nothing_twice(tmp_path: Path) -> None:
    counter = open_counter(tmp_path / "l.sqlite3")
    for n in range(6):
        counter.tap(uid(n), T0)
    assert counter.expire_due(T0 + 40 * DAY, limit=2) == 2
    assert counter.expiry_due(T0 + 40 * DAY)  # the walk is under way
    counter.close()
    again = open_counter(tmp_path / "l.sqlite3")
    assert run_pass(again, T0 + 40 * DAY, limit=2)[0] == 4
    assert len([e for e in again.ledger.events() if e.kind is EventKind.EXPIRED]) == 6


def test_no_pass_when_expiry_is_off(tmp_path: Path) -> None:
    counter = open_counter(tmp_path / "l.sqlite3", Program())
    counter.tap(uid(1), T0)
    assert not counter.expiry_due(T0 + 4000 * DAY)
    assert counter.expire_due(T0 + 4000 * DAY) == 0
    assert counter.ledger.get_meta(EXPIRY_DAY_KEY) is None


@settings(max_examples=25, deadline=None)
@given(
    visits=st.lists(st.lists(st.integers(0, 80), min_size=1, max_size=4), min_size=1, max_size=6),
    later=st.integers(0, 120),
    limit=st.integers(1, 5),
)
def test_the_pass_takes_exactly_the_stamps_whose_time_is_up_and_never_newer_ones(
    visits: list[list[int]], later: int, limit: int
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        counter = open_counter(Path(tmp) / "l.sqlite3", AGEING)
        last = T0
        for n, days in enumerate(visits):
            for day in sorted(set(days)):
                last = max(last, T0 + day * DAY + timedelta(minutes=n))
                counter.tap(uid(n), last)
        now = last + later * DAY
        before = {ref: counter.ledger.card(ref) for ref in counter.ledger.card_refs(limit=100)}
        run_pass(counter, now, limit)
        for ref, card in before.items():
            after = counter.ledger.card(ref)
            assert after.stamps == card.stamps - expirable(AGEING, card, now)
            # stamps earned within expiry_days before now are all still there
            assert expirable(AGEING, after, now) == 0
        counter.close()


def test_a_slice_records_at_most_a_couple_of_expirations_and_resumes_after_them(
    tmp_path: Path,
) -> None:
    counter = open_counter(tmp_path / "l.sqlite3")
    for n in range(5):
        counter.tap(uid(n), T0)
    now = T0 + 40 * DAY
    assert [counter.expire_due(now, limit=10) for _ in range(3)] == [2, 2, 1]
    assert not counter.expiry_due(now)
