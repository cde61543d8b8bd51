"""The owner's corrections as the central makes them, on SQLite and PostgreSQL: an
adjustment and a replacement decided by the kiosk's rules on the central's fold, stored
as CENTRAL events carrying the account, in the card's history, the export and the pull
kiosks make; refusals write nothing; the central's sequence never repeats a number."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from central import made, store
from central.changes import changed_cards
from central.db import Database, open_database
from central.ingest import card_events
from central.store import CENTRAL
from central.web import corrections
from kiosk.core.events import EventKind
from kiosk.core.outcome import Adjusted, RefusalReason, Refused, Replaced
from tests.support.central_cards import stored_fold, stored_state
from tests.support.shop_data import Shop, card, shop

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PROGRAM = '[program]\nversion = "v1"\ngoal = 10\nwelcome_bonus = 0\ntimezone = "UTC"\n'
LOST, NEW, ANOTHER = card("lost"), card("new"), card("another")
ACCOUNT = 7


@pytest.fixture
def cafe(central_db: str) -> Iterator[Shop]:
    with shop(central_db, PROGRAM, T0 - timedelta(days=30)) as found:
        found.visit(LOST, [T0 - timedelta(days=n) for n in (3, 2, 1)])  # 3 stamps
        yield found


def kinds(db: Database, org: int, ref: str) -> list[str]:
    return [e["kind"] for e in card_events(db, org, ref)]


def test_an_adjustment_is_a_central_event_carrying_the_account_in_the_history_and_pull(
        cafe: Shop) -> None:
    outcome = corrections.adjust(cafe.db, cafe.org, LOST, 2, "stamp forgotten", ACCOUNT, T0)
    assert isinstance(outcome, Adjusted) and outcome.card.stamps == 5
    made_here = [e for e in card_events(cafe.db, cafe.org, LOST) if e["kiosk_id"] == CENTRAL]
    assert [(e["kind"], e["delta"], e["reward_id"], e["staff_ref"]) for e in made_here] == [
        ("manual_adjustment", 2, "stamp forgotten", made.account_ref(ACCOUNT))]
    assert stored_state(cafe.db, LOST) == stored_fold(cafe.db, LOST)
    assert stored_state(cafe.db, LOST).stamps == 5
    assert changed_cards(cafe.db, cafe.org, 0).cards[LOST]["stamps"] == 5  # what kiosks pull
    exported = store.export_customer(cafe.db, cafe.org, LOST)
    assert exported is not None and "manual_adjustment" in str(exported)


def test_an_adjustment_below_zero_is_refused_and_writes_nothing(cafe: Shop) -> None:
    before = kinds(cafe.db, cafe.org, LOST)
    outcome = corrections.adjust(cafe.db, cafe.org, LOST, -4, "typo", ACCOUNT, T0)
    assert outcome == Refused(reason=RefusalReason.NEGATIVE_BALANCE)
    assert kinds(cafe.db, cafe.org, LOST) == before
    assert stored_state(cafe.db, LOST).stamps == 3
    taken = corrections.adjust(cafe.db, cafe.org, LOST, -3, "typo", ACCOUNT, T0)
    assert isinstance(taken, Adjusted) and stored_state(cafe.db, LOST).stamps == 0


def test_a_replacement_moves_the_balance_and_blocks_the_lost_card(cafe: Shop) -> None:
    outcome = corrections.replace(cafe.db, cafe.org, LOST, NEW, False, ACCOUNT, T0)
    assert isinstance(outcome, Replaced) and outcome.stamps_moved == 3
    old, new = stored_state(cafe.db, LOST), stored_state(cafe.db, NEW)
    assert (old.blocked, old.stamps, new.enrolled, new.stamps) == (True, 0, True, 3)
    assert (old, new) == (stored_fold(cafe.db, LOST), stored_fold(cafe.db, NEW))
    pulled = changed_cards(cafe.db, cafe.org, 0).cards
    assert pulled[LOST]["blocked"] is True and pulled[NEW]["stamps"] == 3
    assert {e["staff_ref"] for e in card_events(cafe.db, cafe.org, NEW)} == {
        made.account_ref(ACCOUNT)}
    again = corrections.replace(cafe.db, cafe.org, LOST, ANOTHER, False, ACCOUNT, T0)
    assert again == Refused(reason=RefusalReason.CARD_BLOCKED)


def test_a_new_card_holding_stamps_is_refused_unless_the_owner_asks_to_merge(
        cafe: Shop) -> None:
    cafe.visit(NEW, [T0 - timedelta(hours=1)])  # its first tap gave it a stamp
    before = kinds(cafe.db, cafe.org, NEW)
    refused = corrections.replace(cafe.db, cafe.org, LOST, NEW, False, ACCOUNT, T0)
    assert refused == Refused(reason=RefusalReason.CARD_IN_USE)
    assert kinds(cafe.db, cafe.org, NEW) == before
    assert not stored_state(cafe.db, LOST).blocked
    merged = corrections.replace(cafe.db, cafe.org, LOST, NEW, True, ACCOUNT, T0)
    assert isinstance(merged, Replaced) and stored_state(cafe.db, NEW).stamps == 1 + 3


def test_the_replacement_form_lists_cards_enrolled_lately_and_finds_one_by_its_end(
        cafe: Shop) -> None:
    cafe.visit(NEW, [T0 - timedelta(hours=2)])
    cafe.visit(ANOTHER, [T0 - timedelta(days=3)])  # too old to be the new card
    listed = corrections.new_cards(cafe.db, cafe.org, None, LOST, T0)
    assert [c.card_ref for c in listed] == [NEW]
    assert corrections.cards_ending(cafe.db, cafe.org, None, NEW[-6:].upper()) == [NEW]
    other_shop = cafe.shop + 1
    assert corrections.new_cards(cafe.db, cafe.org, other_shop, LOST, T0) == []
    assert corrections.cards_ending(cafe.db, cafe.org, other_shop, NEW[-6:]) == []


def test_the_central_never_gives_one_sequence_number_twice_when_processes_write_at_once(
        cafe: Shop, central_db: str) -> None:
    """Several writers (separate engines, as separate server processes have) adjusting
    different cards at the same moment."""
    cards = [card(f"busy-{n}") for n in range(4)]
    for ref in cards:
        cafe.visit(ref, [T0 - timedelta(days=1)])
    start = threading.Barrier(len(cards))
    failures: list[BaseException] = []

    def writer(ref: str) -> None:
        db = open_database(central_db)
        try:
            start.wait(timeout=30)
            for n in range(8):
                corrections.adjust(db, cafe.org, ref, 1, f"round {n}", ACCOUNT, T0)
        except BaseException as error:  # noqa: BLE001 - reported by the test below
            failures.append(error)
        finally:
            db.dispose()

    threads = [threading.Thread(target=writer, args=(ref,)) for ref in cards]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    seqs = [e["seq"] for ref in cards for e in card_events(cafe.db, cafe.org, ref)
            if e["kiosk_id"] == CENTRAL]
    assert len(seqs) == 4 * 8 and len(set(seqs)) == len(seqs)
    assert all(e["kind"] == EventKind.MANUAL_ADJUSTMENT.value
               for ref in cards for e in card_events(cafe.db, cafe.org, ref)
               if e["kiosk_id"] == CENTRAL)
