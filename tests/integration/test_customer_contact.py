"""A customer's contact and consent per purpose: kept only as given, withdrawn one by one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from central import card_actions, contact, ingest, links, made, store
from central.consent import Purpose
from central.contact import Contact, ContactError
from central.db import Database, open_database
from central.orgs import DEFAULT_ORG, Kiosk
from central.program import from_toml
from central.referral import Refusal
from central.testing import event_dict
from central.validate import check_event
from central.writer import BatchWriter
from kiosk.core.events import EventKind

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
CARD = "ab" * 32
OTHER = "cd" * 32


@pytest.fixture
def db(central_db: str) -> Iterator[Database]:
    database = open_database(central_db)
    yield database
    database.dispose()


def test_a_customer_who_ticks_nothing_is_written_to_for_no_purpose(db: Database) -> None:
    contact.set_contact(db, DEFAULT_ORG, CARD, Contact(first_name="Zoé"), T0)
    for purpose in Purpose:
        assert contact.recipients(db, DEFAULT_ORG, purpose) == []
    assert contact.contact_of(db, DEFAULT_ORG, CARD) == Contact(first_name="Zoé")


def test_an_address_is_listed_for_exactly_the_purposes_ticked(db: Database) -> None:
    contact.set_contact(db, DEFAULT_ORG, CARD, Contact(email="Zoe@Example.FR",
                                          purposes=frozenset({Purpose.REMINDERS})), T0)
    contact.set_contact(db, DEFAULT_ORG, OTHER, Contact(first_name="Ann", email="ann@example.fr",
                                           purposes=frozenset(Purpose)), T0)
    assert contact.recipients(db, DEFAULT_ORG, Purpose.REMINDERS) == [
        {"card_ref": CARD, "email": "Zoe@example.fr", "first_name": None},
        {"card_ref": OTHER, "email": "ann@example.fr", "first_name": "Ann"}]
    assert [r["card_ref"] for r in contact.recipients(db, DEFAULT_ORG, Purpose.OFFERS)] == [OTHER]
    assert [r["card_ref"] for r in contact.recipients(db, DEFAULT_ORG, Purpose.WEEK)] == [OTHER]


@pytest.mark.parametrize(("given", "named"), [
    (Contact(email="zoe@example.fr"), "tick one"),
    (Contact(purposes=frozenset({Purpose.OFFERS})), "give your e-mail address"),
    (Contact(email="zoe at example", purposes=frozenset({Purpose.OFFERS})), "name@example.com"),
    (Contact(purposes=frozenset({Purpose.WEEK})), "give your first name"),
    (Contact(birthday=date(2999, 1, 1)), "birthday"),
    (Contact(first_name="Zo\x1be"), "first name"),
])
def test_details_that_cannot_be_kept_are_refused_naming_why_and_nothing_is_written(
    db: Database, given: Contact, named: str
) -> None:
    contact.set_contact(db, DEFAULT_ORG, CARD, Contact(first_name="Zoé"), T0)
    with pytest.raises(ContactError, match=named):
        contact.set_contact(db, DEFAULT_ORG, CARD, given, T0)
    assert contact.contact_of(db, DEFAULT_ORG, CARD) == Contact(first_name="Zoé")


def test_withdrawing_the_last_e_mail_purpose_erases_the_address(db: Database) -> None:
    both = frozenset({Purpose.REMINDERS, Purpose.OFFERS})
    contact.set_contact(db, DEFAULT_ORG, CARD, Contact(email="zoe@example.fr", purposes=both), T0)
    assert contact.withdraw(db, DEFAULT_ORG, CARD, Purpose.OFFERS, T0)
    assert contact.contact_of(db, DEFAULT_ORG, CARD).email == "zoe@example.fr"
    assert not contact.withdraw(db, DEFAULT_ORG, CARD, Purpose.OFFERS, T0)
    assert contact.withdraw(db, DEFAULT_ORG, CARD, Purpose.REMINDERS, T0)
    assert contact.contact_of(db, DEFAULT_ORG, CARD) == Contact()
    assert contact.recipients(db, DEFAULT_ORG, Purpose.REMINDERS) == []


def test_the_export_holds_the_address_and_every_consent_and_erasure_forgets_them(
    db: Database,
) -> None:
    contact.set_contact(db, DEFAULT_ORG, CARD, Contact(first_name="Zoé", email="zoe@example.fr",
                                          purposes=frozenset({Purpose.OFFERS})), T0)
    held = store.export_customer(db, DEFAULT_ORG, CARD)
    assert held is not None and held["customer"]["email"] == "zoe@example.fr"
    assert held["customer"]["consent_offers"] and not held["customer"]["consent_week"]
    assert store.erase_customer(db, DEFAULT_ORG, CARD)
    assert store.export_customer(db, DEFAULT_ORG, CARD) is None
    assert contact.recipients(db, DEFAULT_ORG, Purpose.OFFERS) == []


def test_the_owner_setting_a_name_leaves_the_customers_own_consent_alone(db: Database) -> None:
    contact.set_contact(db, DEFAULT_ORG, CARD, Contact(email="zoe@example.fr",
                                          purposes=frozenset({Purpose.REMINDERS})), T0)
    record = store.set_customer(db, DEFAULT_ORG, CARD, {"first_name": "Zoé", "consent": True}, T0)
    assert record["email"] == "zoe@example.fr" and record["consent_reminders"]



PROGRAM = ('[program]\nversion = "c1"\ngoal = 3\nwelcome_bonus = 2\ntimezone = "UTC"\n'
           'referral_bonus = 1\ncause = "the food bank"\n')


def _enrol(db: Database, ref: str, seq: int, *, voucher: bool = False) -> None:
    """A kiosk's upload: the card enrolled and stamped (and its reward earned)."""
    changes = [(EventKind.ENROLLED, 2, None), (EventKind.STAMP, 1, None)]
    if voucher:
        changes.append((EventKind.REWARD_EARNED, -3, "reward"))
    batch = [event_dict("k1", ref, seq + n, T0, kind=kind, delta=delta, reward_id=rid,
                        program_version="c1") for n, (kind, delta, rid) in enumerate(changes)]
    writer = BatchWriter(db)
    try:
        checked = [check_event(e, "k1", T0) for e in batch]
        done = writer.submit(Kiosk("k1", 1, DEFAULT_ORG), checked, T0).result()
    finally:
        writer.close()
    assert {r.status for r in done.results} == {"accepted"}


def test_a_referral_and_a_gift_are_written_once_on_either_database(db: Database) -> None:
    store.set_program(db, from_toml(PROGRAM), T0)
    _enrol(db, CARD, 1, voucher=True)
    _enrol(db, OTHER, 10)
    code = links.referral_code(db, DEFAULT_ORG, CARD)
    assert card_actions.take_referral(db, DEFAULT_ORG, OTHER, code, T0 + timedelta(days=1)) == 1
    with pytest.raises(Refusal, match="one referral per card"):
        card_actions.take_referral(db, DEFAULT_ORG, OTHER, code, T0 + timedelta(days=1))
    card_actions.give_voucher(db, DEFAULT_ORG, CARD, "reward", T0 + timedelta(days=2))
    with pytest.raises(Refusal, match="no such voucher"):
        card_actions.give_voucher(db, DEFAULT_ORG, CARD, "reward", T0 + timedelta(days=2))
    states = ingest.cards(db, DEFAULT_ORG, [CARD, OTHER])
    assert states[CARD]["stamps"] == 2 + 1 - 3 + 1 and states[CARD]["vouchers"] == {}
    # the referral's bonus takes OTHER to its goal: the voucher is made at once
    assert states[OTHER]["stamps"] == 2 + 1 + 1 - 3 and states[OTHER]["vouchers"] == {"reward": 1}
    assert made.donations_total(db, DEFAULT_ORG) == 1
    assert card_actions.card_donations(db, DEFAULT_ORG, CARD) == 1
    central_made = [e for e in ingest.card_events(db, DEFAULT_ORG, CARD)
                    if e["kiosk_id"] == "central"]
    assert [e["kind"] for e in central_made] == ["referral", "donated"]
    # the central's own sequence: 1 and 2 went to OTHER (its referral and its voucher)
    assert [e["seq"] for e in central_made] == [3, 4]
