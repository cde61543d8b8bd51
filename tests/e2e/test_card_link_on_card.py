"""A new card gets its page link written on it, over nfcpy's real stack and the virtual
NTAG, once its tap was handled; a phone reads the record back; a card that cannot hold it
still works."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import ndef
import nfc
import pytest

from kiosk.adapters.card_link import LinkBook
from kiosk.adapters.reader import CardRead
from kiosk.config import Config
from kiosk.core.cardlink import is_token, link_digest
from kiosk.core.events import EventKind
from kiosk.core.rules import OutcomeKind
from kiosk.service import Counter
from sim.cards import Ntag21x
from sim.harness import ReaderRig, wait_until
from sim.nfc import VirtualField, make_card
from tests.support.kiosk_config import make_config

BASE = "https://loyalty.example.com/c/"
NTAG = bytes.fromhex("04A1B2C3D4E5F6")
CLASSIC = bytes.fromhex("5A6B7C8D")


class Counters(threading.local):
    """One Counter per thread (a SQLite connection belongs to its thread), one LinkBook."""

    def __init__(self, config: Config, book: LinkBook) -> None:
        self.counter = Counter.open(config)
        self.counter.use_card_page(BASE, book)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    reader = {"poll_interval": 0.02, "retry_initial": 0.05, "retry_max": 1.0}
    return make_config(tmp_path / "state", reader=reader, program={"cooldown_minutes": 0})


@pytest.fixture
def book() -> LinkBook:
    return LinkBook()


@pytest.fixture
def counters(config: Config, book: LinkBook) -> Counters:
    return Counters(config, book)


@pytest.fixture
def kiosk(config: Config, counters: Counters, book: LinkBook) -> Iterator[ReaderRig]:
    seen_on_card: list[bytes | None] = []

    def tap(read: CardRead) -> object:
        outcome = counters.counter.tap(read.uid)
        on_field = rig.field.card
        # what the card held when the tap was handled (the screen shows it from here on)
        seen_on_card.append(on_field.read_ndef() if isinstance(on_field, Ntag21x) else None)
        return outcome

    rig = ReaderRig(config.reader, on_card=tap, writer=book)
    rig.seen_on_card = seen_on_card  # type: ignore[attr-defined]
    with rig:
        assert rig.wait_for(lambda: rig.statuses == [True])
        yield rig


def phone_reads(card: Ntag21x) -> list[ndef.Record]:
    """What a phone held to the card reads: its NDEF records, through nfcpy."""
    found: list[ndef.Record] = []
    with VirtualField() as field:
        field.place(card)
        clf = nfc.ContactlessFrontend(field.path)
        try:
            def read(tag: nfc.tag.Tag) -> bool:
                found.extend(tag.ndef.records if tag.ndef else [])
                return False

            clf.connect(rdwr={"on-connect": read, "beep-on-connect": False})
        finally:
            clf.close()
    return found


def test_a_new_card_gets_its_link_after_its_tap_and_a_phone_reads_it(
    kiosk: ReaderRig, counters: Counters
) -> None:
    card = kiosk.field.place(make_card("ntag213", NTAG))
    assert isinstance(card, Ntag21x)
    assert kiosk.wait_for(lambda: len(kiosk.results) == 1)
    assert kiosk.results[0].kind is OutcomeKind.WELCOME
    assert wait_until(lambda: card.read_ndef() not in (None, b""), timeout=10)
    assert kiosk.seen_on_card == [b""]  # type: ignore[attr-defined]  # written after the tap
    kiosk.field.remove()
    records = phone_reads(card)
    assert len(records) == 1 and isinstance(records[0], ndef.UriRecord)
    url = records[0].iri
    assert url.startswith(BASE) and is_token(url.removeprefix(BASE))
    # the ledger holds the digest only: the link itself is on the card
    events = counters.counter.ledger.events(counters.counter.card_ref(NTAG))
    digests = [e.reward_id for e in events if e.kind is EventKind.CARD_LINK]
    assert digests == [link_digest(url.removeprefix(BASE))]
    assert all(url.removeprefix(BASE) not in str(e.to_dict()) for e in events)


def test_a_card_that_cannot_hold_a_link_is_enrolled_and_stamped_all_the_same(
    kiosk: ReaderRig, counters: Counters, book: LinkBook
) -> None:
    kiosk.field.place(make_card("mifare-classic-1k", CLASSIC))
    assert kiosk.wait_for(lambda: len(kiosk.results) == 1)
    kiosk.field.remove()
    assert kiosk.settle()
    kiosk.field.place(make_card("mifare-classic-1k", CLASSIC))
    assert kiosk.wait_for(lambda: len(kiosk.results) == 2)
    assert [r.kind for r in kiosk.results] == [OutcomeKind.WELCOME, OutcomeKind.STAMPED]
    assert counters.counter.known_card(CLASSIC).visits == 2


def test_a_second_tap_inside_the_cooldown_shows_the_link_as_a_qr_code(
    tmp_path: Path, book: LinkBook
) -> None:
    config = make_config(tmp_path / "state", program={"cooldown_minutes": 30})
    counter = Counter.open(config)
    counter.use_card_page(BASE, book, write=False)
    try:
        assert counter.tap(NTAG).kind is OutcomeKind.WELCOME
        assert counter.tap(NTAG).kind is OutcomeKind.SHOW_LINK
        assert counter.tap(bytes.fromhex("04A1B2C3D4E5F7")).kind is OutcomeKind.WELCOME
        assert not book.wants_write(NTAG)  # write=False: nothing queued for the reader
    finally:
        counter.close()
    later = Counter.open(config)  # a restart: the link is on the card only
    later.use_card_page(BASE, LinkBook())
    try:
        assert later.tap(NTAG).kind is OutcomeKind.COOLDOWN
    finally:
        later.close()


def test_through_a_pn532_a_new_card_gets_its_link_too(tmp_path: Path, book: LinkBook) -> None:
    from tests.support.pn532 import pn532_line

    with pn532_line() as line:
        reader = {"path": line.path, "poll_interval": 0.02, "retry_initial": 0.05,
                  "retry_max": 30.0}
        config = make_config(tmp_path / "state", reader=reader)
        counters = Counters(config, book)
        with ReaderRig(config.reader, field=line,
                       on_card=lambda read: counters.counter.tap(read.uid), writer=book) as rig:
            assert rig.wait_for(lambda: rig.statuses == [True])
            card = rig.field.place(make_card("ntag213", NTAG))
            assert isinstance(card, Ntag21x)
            assert rig.wait_for(lambda: len(rig.results) == 1)
            assert wait_until(lambda: card.read_ndef() not in (None, b""), timeout=20)
            assert [r.kind for r in rig.results] == [OutcomeKind.WELCOME]  # counted once
        records = list(ndef.message_decoder(card.read_ndef() or b""))
        assert isinstance(records[0], ndef.UriRecord) and records[0].iri.startswith(BASE)


class WatchedBook(LinkBook):
    """The kiosk's LinkBook, telling when no write is owed or under way (the card may go)."""

    def __init__(self) -> None:
        super().__init__()
        self._writing = 0
        self._count_lock = threading.Lock()

    def write(self, uid: bytes, tag: object) -> bool:
        with self._count_lock:
            self._writing += 1
        try:
            return super().write(uid, tag)
        finally:
            with self._count_lock:
                self._writing -= 1

    def settled(self, uid: bytes) -> bool:
        with self._count_lock:
            writing = self._writing
        return writing == 0 and not self.wants_write(uid)


def test_a_second_tap_where_no_link_is_held_writes_a_new_one_on_the_card_a_week_on(
    tmp_path: Path
) -> None:
    from datetime import UTC, datetime, timedelta

    from kiosk.core.cardlink import REISSUE_AFTER

    reader = {"poll_interval": 0.02, "retry_initial": 0.05, "retry_max": 1.0}
    config = make_config(tmp_path / "state", reader=reader, program={"cooldown_minutes": 30})
    t0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
    clock = [t0]
    card = make_card("ntag213", NTAG)
    assert isinstance(card, Ntag21x)

    def kiosk_run(*taps: datetime) -> list[object]:
        """The kiosk started afresh (no link held), the card tapped and lifted at each time."""
        book = WatchedBook()

        class Timed(threading.local):
            def __init__(self) -> None:
                self.counter = Counter.open(config, clock=lambda: clock[0])
                self.counter.use_card_page(BASE, book)

        counters = Timed()
        rig = ReaderRig(config.reader, on_card=lambda read: counters.counter.tap(read.uid),
                        writer=book)
        with rig:
            assert rig.wait_for(lambda: rig.statuses == [True])
            for n, at in enumerate(taps, 1):
                clock[0] = at
                rig.field.place(card)
                assert rig.wait_for(lambda n=n: len(rig.results) == n)  # type: ignore[misc]
                assert wait_until(lambda: book.settled(NTAG), timeout=10)
                rig.field.remove()
                assert rig.settle()
        return list(rig.results)

    assert [r.kind for r in kiosk_run(t0)] == [OutcomeKind.WELCOME]  # type: ignore[attr-defined]
    first = phone_reads(card)[0].iri
    soon = t0 + REISSUE_AFTER - timedelta(hours=1)
    again = kiosk_run(soon, soon + timedelta(minutes=1))
    assert [r.kind for r in again] == [OutcomeKind.STAMPED, OutcomeKind.COOLDOWN]  # type: ignore[attr-defined]
    assert phone_reads(card)[0].iri == first  # too soon for a new link: the card keeps its own
    later = t0 + REISSUE_AFTER + timedelta(hours=1)
    shown = kiosk_run(later, later + timedelta(minutes=1))[-1]
    assert shown.kind is OutcomeKind.SHOW_LINK and shown.fresh  # type: ignore[attr-defined]
    second = phone_reads(card)[0].iri
    assert second != first and second.startswith(BASE)
    counter = Counter.open(config, clock=lambda: clock[0])
    try:
        events = counter.ledger.events(counter.card_ref(NTAG))
    finally:
        counter.close()
    assert [e.reward_id for e in events if e.kind is EventKind.CARD_LINK] == [
        link_digest(first.removeprefix(BASE)), link_digest(second.removeprefix(BASE))]
