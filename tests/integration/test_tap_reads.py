"""A tap reads what it decides on in one statement and its card again inside the write
transaction: whatever another connection (the sync worker's, a `kiosk` command's) wrote
before or while the tap was decided is seen, never lost, never numbered twice."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from kiosk.adapters import timekeeper
from kiosk.adapters.ledger import Ledger
from kiosk.core.clock import AGREE, Reading
from kiosk.core.events import Event, EventKind, fold
from kiosk.core.outcome import Outcome
from kiosk.core.perks import Customer
from kiosk.service import Counter
from tests.support.kiosk_config import make_config

UID = bytes.fromhex("04a1b2c3d4e5f6")
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def _by_hand(ref: str, seq: int, at: datetime) -> Event:
    """Five stamps a staff member added from a `kiosk` command in another process."""
    return Event(f"by-hand-{seq}", "kiosk-1", seq, ref, EventKind.MANUAL_ADJUSTMENT, 5,
                 "found an old paper card", "1", at, "staff-1")


def test_events_another_connection_records_while_a_tap_is_decided_count_and_keep_their_numbers(
    tmp_path: Path,
) -> None:
    counter = Counter.open(make_config(tmp_path))
    counter.tap(UID, T0)
    ref = counter.card_ref(UID)
    other = Ledger.open(counter.ledger.path)

    def meanwhile(_decided: Outcome) -> None:  # decided, not yet committed
        other.append([_by_hand(ref, other.next_seq(), T0 + timedelta(hours=1))])

    counter.tap(UID, T0 + timedelta(hours=2), on_decided=meanwhile)
    events = counter.ledger.events()
    seqs = [e.seq for e in events]
    assert seqs == sorted(set(seqs)), "two events share a sequence number"
    assert [e.kind for e in events[-2:]] == [EventKind.MANUAL_ADJUSTMENT, EventKind.STAMP]
    # the card cache holds both: the tap's stamp did not overwrite the adjustment
    assert counter.ledger.card(ref) == fold(ref, events)
    assert counter.ledger.card(ref).stamps == fold(ref, events[:-2]).stamps + 5 + 1
    other.close()
    counter.close()


def test_a_tap_sees_a_card_another_connection_changed_since_the_last_tap(tmp_path: Path) -> None:
    counter = Counter.open(make_config(tmp_path))
    first = counter.tap(UID, T0)
    ref = counter.card_ref(UID)
    with Ledger.open(counter.ledger.path) as other:
        other.append([_by_hand(ref, other.next_seq(), T0 + timedelta(minutes=40))])
    second = counter.tap(UID, T0 + timedelta(hours=1))
    assert second.card.stamps == first.card.stamps + 5 + 1
    counter.close()


def test_a_tap_greets_the_customer_and_dates_its_events_by_what_other_connections_stored(
    tmp_path: Path,
) -> None:
    now = T0 + timedelta(hours=3)
    counter = Counter.open(make_config(tmp_path), clock=lambda: now)
    counter.tap(UID, T0)
    ref = counter.card_ref(UID)
    with Ledger.open(counter.ledger.path) as other:  # the sync worker's connection
        other.set_customers({ref: Customer("Inès", date(1990, 5, 1), consent=True)})
        # the central's clock, read AGREE times: this kiosk's clock runs 2 hours ahead
        timekeeper.note(other, [Reading(now, now - timedelta(hours=2))] * AGREE)
    outcome = counter.tap(UID)
    assert outcome.first_name == "Inès"  # type: ignore[union-attr]
    assert counter.ledger.events()[-1].occurred_at == now - timedelta(hours=2)
    with Ledger.open(counter.ledger.path) as other:
        other.set_customers({ref: None})  # the customer withdrew their consent
    assert counter.tap(UID, now + timedelta(hours=1)).first_name is None  # type: ignore[union-attr]
    counter.close()


def test_a_card_never_seen_reads_as_a_blank_card_without_customer(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "ledger.sqlite3") as ledger:
        view = ledger.card_view("ab" * 32, timekeeper.READINGS)
    assert view.card.card_ref == "ab" * 32 and not view.card.enrolled
    assert view.customer is None and view.meta is None
