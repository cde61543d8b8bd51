"""Virtual cards through nfcpy's own stack over its UDP device (no kiosk code involved)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import ndef
import nfc
import nfc.clf
import nfc.tag
import pytest

from kiosk.adapters.reader import card_kind, identify
from sim.cards import Ntag21x
from sim.nfc import VirtualField, make_card

TARGETS = ("106A", "106B", "212F")


@pytest.fixture
def field() -> Iterator[VirtualField]:
    with VirtualField() as running:
        yield running


@pytest.fixture
def clf(field: VirtualField) -> Iterator[Any]:
    frontend = nfc.ContactlessFrontend(field.path)
    yield frontend
    frontend.close()


def sense(clf: Any) -> Any:
    return clf.sense(*(nfc.clf.RemoteTarget(brty) for brty in TARGETS))


def test_an_empty_virtual_field_is_reported_as_no_target(clf: Any) -> None:
    assert sense(clf) is None


@pytest.mark.parametrize(
    ("kind", "uid", "technology", "expected_kind"),
    [
        ("ntag213", "04A1B2C3D4E5F6", "106A", "type2"),
        ("ntag215", "04112233445566", "106A", "type2"),
        ("ntag216", "04998877665544", "106A", "type2"),
        ("mifare-classic-1k", "5A6B7C8D", "106A", "mifare-classic-1k"),
        ("felica", "012E4C1A23456789", "212F", "felica"),
        ("type-b", "CAFE0042", "106B", "type-b"),
    ],
)
def test_each_virtual_card_is_identified_by_nfcpy_with_its_own_identity(
    field: VirtualField, clf: Any, kind: str, uid: str, technology: str, expected_kind: str
) -> None:
    field.place(make_card(kind, bytes.fromhex(uid)))
    target = sense(clf)
    assert target is not None
    tag = nfc.tag.activate(clf, target)
    assert identify(target) == (bytes.fromhex(uid), technology)
    assert card_kind(target) == expected_kind
    if kind.startswith("ntag"):  # nfcpy tells the model from the card's GET_VERSION
        assert type(tag).__name__.lower() == kind


def test_nfcpy_reads_get_version_and_the_capability_container_of_an_ntag216(
    field: VirtualField, clf: Any
) -> None:
    field.place(make_card("ntag216", bytes.fromhex("04998877665544")))
    tag = nfc.tag.activate(clf, sense(clf))
    assert tag.product == "NXP NTAG216"
    assert tag.ndef is not None and tag.ndef.capacity >= 800


def test_an_ndef_message_written_by_nfcpy_reads_back_through_nfcpy(
    field: VirtualField, clf: Any
) -> None:
    card = field.place(make_card("ntag213", bytes.fromhex("04A1B2C3D4E5F6")))
    assert isinstance(card, Ntag21x)
    tag = nfc.tag.activate(clf, sense(clf))
    records = [ndef.UriRecord("https://cafe.example/loyalty"), ndef.TextRecord("10 stamps")]
    tag.ndef.records = records

    field.remove()
    field.place(card)  # lifted and tapped again: a fresh session reads the card's memory
    again = nfc.tag.activate(clf, sense(clf))
    assert again.ndef.records == records
    assert card.read_ndef() == again.ndef.octets


def test_a_message_longer_than_one_read_survives_the_round_trip_on_an_ntag215(
    field: VirtualField, clf: Any
) -> None:
    card = field.place(make_card("ntag215", bytes.fromhex("04112233445566")))
    tag = nfc.tag.activate(clf, sense(clf))
    text = "café " * 80  # 400+ bytes: many READs, a 3-byte TLV length
    tag.ndef.records = [ndef.TextRecord(text)]
    field.remove()
    field.place(card)
    assert nfc.tag.activate(clf, sense(clf)).ndef.records[0].text == text


def test_a_random_id_card_draws_a_new_uid_at_each_tap(field: VirtualField, clf: Any) -> None:
    phone = make_card("random-id")
    uids = []
    for _ in range(3):
        field.place(phone)
        uid, _technology = identify(sense(clf)) or (b"", "")
        uids.append(uid)
        field.remove()
    assert all(len(uid) == 4 and uid[0] == 0x08 for uid in uids)
    assert len(set(uids)) == 3


def test_a_lifted_card_is_no_longer_present_for_nfcpy(field: VirtualField, clf: Any) -> None:
    field.place(make_card("ntag213", bytes.fromhex("04A1B2C3D4E5F6")))
    tag = nfc.tag.activate(clf, sense(clf))
    assert tag.is_present
    field.remove()
    assert not tag.is_present
    assert sense(clf) is None


def test_a_mifare_classic_refuses_to_be_read_without_its_keys(
    field: VirtualField, clf: Any
) -> None:
    field.place(make_card("mifare-classic-1k", bytes.fromhex("5A6B7C8D")))
    tag = nfc.tag.activate(clf, sense(clf))
    assert tag is None or tag.ndef is None


def test_the_field_ignores_datagrams_that_are_not_frames(field: VirtualField, clf: Any) -> None:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rogue:
        rogue.sendto(b"\xff\xfe not a frame", ("127.0.0.1", field.port))
        rogue.sendto(b"106A zz", ("127.0.0.1", field.port))
    field.place(make_card("ntag213", bytes.fromhex("04A1B2C3D4E5F6")))
    assert identify(sense(clf)) == (bytes.fromhex("04A1B2C3D4E5F6"), "106A")


def test_unknown_card_kinds_and_bad_uids_are_refused_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match="unknown card kind"):
        make_card("ntag999")
    with pytest.raises(ValueError, match="7-byte UID"):
        make_card("ntag213", bytes.fromhex("04A1B2C3"))
    with pytest.raises(ValueError, match="8 bytes"):
        make_card("felica", bytes.fromhex("0102"))
