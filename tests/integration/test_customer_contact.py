"""A customer's contact and consent per purpose: kept only as given, withdrawn one by one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

from central import contact, store
from central.consent import Purpose
from central.contact import Contact, ContactError
from central.db import Database, open_database

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
CARD = "ab" * 32
OTHER = "cd" * 32


@pytest.fixture
def db(central_db: str) -> Iterator[Database]:
    database = open_database(central_db)
    yield database
    database.dispose()


def test_a_customer_who_ticks_nothing_is_written_to_for_no_purpose(db: Database) -> None:
    contact.set_contact(db, CARD, Contact(first_name="Zoé"), T0)
    for purpose in Purpose:
        assert contact.recipients(db, purpose) == []
    assert contact.contact_of(db, CARD) == Contact(first_name="Zoé")


def test_an_address_is_listed_for_exactly_the_purposes_ticked(db: Database) -> None:
    contact.set_contact(db, CARD, Contact(email="Zoe@Example.FR",
                                          purposes=frozenset({Purpose.REMINDERS})), T0)
    contact.set_contact(db, OTHER, Contact(first_name="Ann", email="ann@example.fr",
                                           purposes=frozenset(Purpose)), T0)
    assert contact.recipients(db, Purpose.REMINDERS) == [
        {"card_ref": CARD, "email": "Zoe@example.fr", "first_name": None},
        {"card_ref": OTHER, "email": "ann@example.fr", "first_name": "Ann"}]
    assert [r["card_ref"] for r in contact.recipients(db, Purpose.OFFERS)] == [OTHER]
    assert [r["card_ref"] for r in contact.recipients(db, Purpose.WEEK)] == [OTHER]


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
    contact.set_contact(db, CARD, Contact(first_name="Zoé"), T0)
    with pytest.raises(ContactError, match=named):
        contact.set_contact(db, CARD, given, T0)
    assert contact.contact_of(db, CARD) == Contact(first_name="Zoé")


def test_withdrawing_the_last_e_mail_purpose_erases_the_address(db: Database) -> None:
    both = frozenset({Purpose.REMINDERS, Purpose.OFFERS})
    contact.set_contact(db, CARD, Contact(email="zoe@example.fr", purposes=both), T0)
    assert contact.withdraw(db, CARD, Purpose.OFFERS, T0)
    assert contact.contact_of(db, CARD).email == "zoe@example.fr"
    assert not contact.withdraw(db, CARD, Purpose.OFFERS, T0)
    assert contact.withdraw(db, CARD, Purpose.REMINDERS, T0)
    assert contact.contact_of(db, CARD) == Contact()
    assert contact.recipients(db, Purpose.REMINDERS) == []


def test_the_export_holds_the_address_and_every_consent_and_erasure_forgets_them(
    db: Database,
) -> None:
    contact.set_contact(db, CARD, Contact(first_name="Zoé", email="zoe@example.fr",
                                          purposes=frozenset({Purpose.OFFERS})), T0)
    held = store.export_customer(db, CARD)
    assert held is not None and held["customer"]["email"] == "zoe@example.fr"
    assert held["customer"]["consent_offers"] and not held["customer"]["consent_week"]
    assert store.erase_customer(db, CARD)
    assert store.export_customer(db, CARD) is None
    assert contact.recipients(db, Purpose.OFFERS) == []


def test_the_owner_setting_a_name_leaves_the_customers_own_consent_alone(db: Database) -> None:
    contact.set_contact(db, CARD, Contact(email="zoe@example.fr",
                                          purposes=frozenset({Purpose.REMINDERS})), T0)
    record = store.set_customer(db, CARD, {"first_name": "Zoé", "consent": True}, T0)
    assert record["email"] == "zoe@example.fr" and record["consent_reminders"]
