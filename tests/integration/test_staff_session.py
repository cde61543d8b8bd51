"""The staff session on a real Counter and SQLite ledger, without the App's threads: the
time is passed in, so the staff and button windows are exact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kiosk.adapters.ledger import Ledger
from kiosk.core.cardid import card_ref
from kiosk.core.events import EventKind
from kiosk.core.outcome import OutcomeKind
from kiosk.core.perks import Basket
from kiosk.core.program import Program
from kiosk.core.staff import StaffAction, StaffPolicy
from kiosk.service import Counter
from kiosk.session import BUTTON_STAFF_REF, StaffSession

KEY = b"k" * 32
STAFF = bytes.fromhex("04aa0000000001")
CUSTOMER = bytes.fromhex("04bb0000000002")
STRANGER = bytes.fromhex("04cc0000000003")
PHONE = bytes.fromhex("08123456")  # a random ID: drawn anew at every tap
PROGRAM = Program(goal=4, welcome_bonus=2, cooldown=timedelta(0))
T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


@pytest.fixture
def counter(tmp_path: Path) -> Counter:
    moments = iter(T0 + timedelta(seconds=s) for s in range(10_000))
    return Counter(
        PROGRAM, Ledger.open(tmp_path / "ledger.sqlite3", PROGRAM.tz), KEY, "kiosk-1",
        clock=lambda: next(moments), staff=StaffPolicy(frozenset({card_ref(KEY, STAFF)})),
    )


def with_a_voucher(session: StaffSession, counter: Counter, now: float) -> None:
    assert session.tap(counter, CUSTOMER, now).kind is OutcomeKind.WELCOME  # 3 of 4
    assert session.tap(counter, CUSTOMER, now).kind is OutcomeKind.REWARD_EARNED


def staff_events(counter: Counter) -> list[tuple[EventKind, str | None]]:
    return [(e.kind, e.staff_ref) for e in counter.ledger.events() if e.staff_ref is not None]


def test_a_staff_card_then_a_customer_card_within_the_window_redeems_its_voucher(counter):
    session = StaffSession(staff_window=20.0)
    with_a_voucher(session, counter, 0.0)
    armed = session.tap(counter, STAFF, 100.0)
    assert armed.kind is OutcomeKind.STAFF_MODE
    assert session.armed(119.9) is StaffAction.REDEEM
    assert session.tap(counter, CUSTOMER, 119.9).kind is OutcomeKind.REDEEMED
    assert staff_events(counter) == [(EventKind.REWARD_REDEEMED, card_ref(KEY, STAFF))]
    assert session.armed(119.9) is None  # one customer card per staff tap


def test_a_customer_card_after_the_staff_window_is_an_ordinary_tap(counter):
    session = StaffSession(staff_window=20.0)
    with_a_voucher(session, counter, 0.0)
    session.tap(counter, STAFF, 100.0)
    assert session.armed(120.0) is None
    assert session.tap(counter, CUSTOMER, 120.0).kind is OutcomeKind.STAMPED
    assert staff_events(counter) == []


def test_each_staff_tap_moves_on_to_the_next_action_and_figures_show_at_once(counter):
    session = StaffSession()
    assert session.tap(counter, STAFF, 0.0).kind is OutcomeKind.STAFF_MODE
    assert session.armed(0.0) is StaffAction.REDEEM
    session.tap(counter, STAFF, 1.0)
    assert session.armed(1.0) is StaffAction.UNDO
    assert session.tap(counter, STAFF, 2.0).kind is OutcomeKind.FIGURES
    assert session.armed(2.0) is None
    session.tap(counter, STAFF, 3.0)
    assert session.armed(3.0) is StaffAction.ADD_STAMP
    session.tap(counter, STAFF, 4.0)
    assert session.armed(4.0) is StaffAction.REPLACE
    session.tap(counter, STAFF, 5.0)
    assert session.armed(5.0) is StaffAction.REDEEM  # round again


def test_a_staff_tap_long_after_the_figures_starts_over_at_redeem(counter):
    session = StaffSession(staff_window=20.0)
    for moment in (0.0, 1.0, 2.0):
        session.tap(counter, STAFF, moment)  # redeem, undo, figures
    session.tap(counter, STAFF, 100.0)
    assert session.armed(100.0) is StaffAction.REDEEM


def test_undo_armed_by_a_staff_card_takes_back_the_customers_last_stamp(counter):
    session = StaffSession()
    session.tap(counter, CUSTOMER, 0.0)
    session.tap(counter, STAFF, 1.0)
    session.tap(counter, STAFF, 2.0)  # redeem, then undo
    assert session.tap(counter, CUSTOMER, 3.0).kind is OutcomeKind.UNDONE
    assert staff_events(counter) == [(EventKind.ADJUSTMENT, card_ref(KEY, STAFF))]


def test_a_card_never_seen_here_gets_nothing_to_redeem_and_nothing_is_recorded(counter):
    session = StaffSession()
    session.tap(counter, STAFF, 0.0)
    assert session.tap(counter, STRANGER, 1.0).kind is OutcomeKind.NO_VOUCHER
    assert counter.ledger.events() == []
    assert not counter.card(STRANGER).enrolled


def test_a_phone_is_refused_ends_the_staff_action_and_leaves_the_button_nothing(counter):
    session = StaffSession()
    with_a_voucher(session, counter, 0.0)
    session.tap(counter, STAFF, 1.0)
    refused = session.tap(counter, PHONE, 2.0)
    assert refused.kind is OutcomeKind.REFUSED
    assert session.armed(2.0) is None
    assert session.button(counter, StaffAction.REDEEM, 3.0) is None
    assert staff_events(counter) == []
    # and the next customer card is an ordinary tap again
    assert session.tap(counter, CUSTOMER, 4.0).kind is OutcomeKind.STAMPED


def test_the_button_redeems_on_the_card_shown_last_within_its_window_only(counter):
    session = StaffSession(button_window=60.0)
    with_a_voucher(session, counter, 0.0)
    assert session.button(counter, StaffAction.REDEEM, 60.0) is None  # too late
    session.tap(counter, CUSTOMER, 100.0)  # shown again (a stamp towards the next reward)
    redeemed = session.button(counter, StaffAction.REDEEM, 159.0)
    assert redeemed is not None and redeemed.kind is OutcomeKind.REDEEMED
    assert staff_events(counter) == [(EventKind.REWARD_REDEEMED, BUTTON_STAFF_REF)]


def test_the_button_held_undoes_the_last_stamp_of_the_card_shown(counter):
    session = StaffSession()
    session.tap(counter, CUSTOMER, 0.0)
    undone = session.button(counter, StaffAction.UNDO, 1.0)
    assert undone is not None and undone.kind is OutcomeKind.UNDONE


def test_the_till_basket_is_taken_only_for_a_customers_stamp(counter):
    session = StaffSession()
    asked: list[str] = []

    def basket() -> Basket | None:
        asked.append("asked")
        return None

    session.tap(counter, PHONE, 0.0, basket=basket)  # a refused phone leaves it for the card
    session.tap(counter, STAFF, 1.0, basket=basket)
    assert asked == []
    session.tap(counter, CUSTOMER, 2.0, basket=basket)  # the armed redeem: no stamp either
    assert asked == []
    session.tap(counter, CUSTOMER, 3.0, basket=basket)
    assert asked == ["asked"]


def test_the_counter_alone_decides_that_a_random_uid_is_not_a_card(counter):
    assert counter.identify(PHONE) is None
    assert counter.identify(CUSTOMER) == card_ref(KEY, CUSTOMER)
    assert counter.tap(PHONE).kind is OutcomeKind.REFUSED
    # a phone's UID is no staff card even if its hash were listed as one
    listed = Counter(
        PROGRAM, counter.ledger, KEY, "kiosk-1", staff=StaffPolicy(frozenset({card_ref(KEY, PHONE)})))
    assert StaffSession().tap(listed, PHONE, 0.0).kind is OutcomeKind.REFUSED
    assert counter.ledger.events() == []


def staff_taps(session: StaffSession, counter: Counter, count: int, start: float) -> float:
    """`count` staff card taps, one second apart; the time of the last."""
    for i in range(count):
        session.tap(counter, STAFF, start + i)
    return start + count - 1


def test_a_staff_card_armed_for_a_stamp_by_hand_adds_one_stamp_with_the_staff_cards_ref(counter):
    session = StaffSession()
    session.tap(counter, CUSTOMER, 0.0)  # welcome: 3 of 4
    at = staff_taps(session, counter, 4, 10.0)  # redeem, undo, figures, one stamp by hand
    assert session.armed(at) is StaffAction.ADD_STAMP
    outcome = session.tap(counter, CUSTOMER, at + 1)
    assert outcome.kind is OutcomeKind.ADJUSTED
    assert counter.card(CUSTOMER).stamps == 4
    assert staff_events(counter) == [(EventKind.MANUAL_ADJUSTMENT, card_ref(KEY, STAFF))]


def test_a_staff_card_armed_for_a_replacement_moves_the_old_cards_balance_to_the_next_card(counter):
    session = StaffSession()
    session.tap(counter, CUSTOMER, 0.0)  # welcome: 3 of 4
    at = staff_taps(session, counter, 5, 10.0)
    assert session.armed(at) is StaffAction.REPLACE
    assert session.tap(counter, CUSTOMER, at + 1).kind is OutcomeKind.STAFF_MODE  # the old card
    assert session.armed(at + 1) is StaffAction.REPLACE_WITH
    assert session.tap(counter, STRANGER, at + 2).kind is OutcomeKind.REPLACED
    assert counter.card(STRANGER).stamps == 3 and counter.card(CUSTOMER).stamps == 0
    # the old card is blocked: its own screen, and no stamp
    assert session.tap(counter, CUSTOMER, at + 3).kind is OutcomeKind.BLOCKED
    kinds = {kind for kind, ref in staff_events(counter) if ref == card_ref(KEY, STAFF)}
    assert kinds == {EventKind.CARD_REPLACED, EventKind.BALANCE_MOVED_IN, EventKind.ENROLLED}


def test_with_a_cause_the_staff_card_offers_a_gift_last_and_the_next_card_gives_its_voucher(
    tmp_path: Path,
):
    from dataclasses import replace

    giving = replace(PROGRAM, cause="the food bank")
    moments = iter(T0 + timedelta(seconds=s) for s in range(10_000))
    counter = Counter(
        giving, Ledger.open(tmp_path / "ledger.sqlite3", giving.tz), KEY, "kiosk-1",
        clock=lambda: next(moments), staff=StaffPolicy(frozenset({card_ref(KEY, STAFF)})),
    )
    session = StaffSession(staff_window=20.0)
    with_a_voucher(session, counter, 0.0)
    actions = []
    for n in range(6):  # redeem, undo, figures, +1 stamp, replace, then the gift
        session.tap(counter, STAFF, 100.0 + n)
        actions.append(session.armed(100.0 + n))
    assert actions[-1] is StaffAction.DONATE and StaffAction.DONATE not in actions[:-1]
    given = session.tap(counter, CUSTOMER, 110.0)
    assert given.kind is OutcomeKind.DONATED
    assert staff_events(counter) == [(EventKind.DONATED, card_ref(KEY, STAFF))]
    assert counter.ledger.card(card_ref(KEY, CUSTOMER)).vouchers("reward") == 0
    counter.close()
