"""The reader adapter over nfcpy's real stack and the virtual field: one read per tap."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.adapters.reader import CardRead, Reader
from kiosk.config import ReaderSection
from kiosk.errors import ConfigError
from sim.harness import ReaderRig, wait_until
from sim.nfc import make_card
from tests.support.kiosk_config import make_config

NTAG = bytes.fromhex("04A1B2C3D4E5F6")
CLASSIC = bytes.fromhex("5A6B7C8D")
IDM = bytes.fromhex("012E4C1A23456789")


def reader_section(tmp_path: Path, **fields: object) -> ReaderSection:
    settings = {"poll_interval": 0.02, "retry_initial": 0.05, "retry_max": 1.0, **fields}
    return make_config(tmp_path, reader=settings).reader


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[ReaderRig]:
    with ReaderRig(reader_section(tmp_path)) as running:
        assert running.wait_for(lambda: running.statuses == [True])
        yield running


def test_a_tap_is_handed_on_from_anticollision_without_reading_the_card_further(
    rig: ReaderRig,
) -> None:
    card = rig.field.place(make_card("ntag213", NTAG, ndef=b"\xd1\x01\x04T\x02enA"))
    assert rig.wait_for(lambda: len(rig.reads) == 1)
    read = rig.reads[0]
    assert (read.uid, read.technology, read.kind, read.signature) == (NTAG, "106A", "type2", None)
    assert card.identified_at is not None and read.seen_at >= card.identified_at


def test_an_ntag_left_on_the_reader_is_read_once(rig: ReaderRig) -> None:
    rig.field.place(make_card("ntag213", NTAG))
    assert rig.wait_for(lambda: len(rig.reads) == 1)
    assert rig.field.wait_answers(15, timeout=20)  # ~1.5 s of presence checks
    assert len(rig.reads) == 1


def test_a_mifare_classic_left_on_the_reader_is_read_once(rig: ReaderRig) -> None:
    # nfcpy cannot hold a Classic: it finds it again at every round, and it must not count
    rig.field.place(make_card("mifare-classic-1k", CLASSIC))
    assert rig.wait_for(lambda: len(rig.reads) == 1)
    assert rig.settle(rounds=10)
    assert [(r.uid, r.kind) for r in rig.reads] == [(CLASSIC, "mifare-classic-1k")]


def test_a_card_counts_again_after_it_was_lifted_and_tapped_again(rig: ReaderRig) -> None:
    card = make_card("mifare-classic-1k", CLASSIC)
    for taps in (1, 2):
        rig.field.place(card)
        assert rig.wait_for(lambda n=taps: len(rig.reads) == n)  # type: ignore[misc]
        rig.field.remove()
        assert rig.settle()
    assert [r.uid for r in rig.reads] == [CLASSIC, CLASSIC]


def test_two_cards_in_a_row_are_two_reads(rig: ReaderRig) -> None:
    rig.field.place(make_card("ntag213", NTAG))
    assert rig.wait_for(lambda: len(rig.reads) == 1)
    rig.field.place(make_card("felica", IDM))
    assert rig.wait_for(lambda: len(rig.reads) == 2)
    assert [(r.uid, r.technology) for r in rig.reads] == [(NTAG, "106A"), (IDM, "212F")]


def test_nothing_but_anticollision_is_asked_of_a_card(rig: ReaderRig) -> None:
    card = make_card("ntag216", bytes.fromhex("04998877665544"), ndef=bytes(600))
    rig.field.place(card)
    # GET_VERSION, READ or FAST_READ would lift it: it must still lie there after the tap
    rig.field.remove_when(lambda frame: frame[:1] in (b"\x60", b"\x30", b"\x3a"))
    assert rig.wait_for(lambda: len(rig.reads) == 1)
    assert rig.settle(rounds=3)
    assert rig.reads[0].uid == card.identity and rig.field.card is card
    assert len(rig.reads) == 1


def test_a_reader_that_fails_goes_offline_and_comes_back_by_itself(rig: ReaderRig) -> None:
    rig.field.fail()
    assert rig.wait_for(lambda: rig.statuses == [True, False])
    rig.field.recover()
    assert rig.wait_for(lambda: rig.statuses == [True, False, True])
    rig.field.place(make_card("ntag213", NTAG))
    assert rig.wait_for(lambda: len(rig.reads) == 1)


def test_a_card_lying_on_a_reader_that_fails_and_recovers_is_read_once(rig: ReaderRig) -> None:
    rig.field.place(make_card("mifare-classic-1k", CLASSIC))
    assert rig.wait_for(lambda: len(rig.reads) == 1)
    rig.field.fail()
    assert rig.wait_for(lambda: rig.statuses[-1] is False)
    rig.field.recover()
    assert rig.wait_for(lambda: rig.statuses[-1] is True)
    assert rig.settle(rounds=5)
    assert len(rig.reads) == 1


def test_a_failing_tap_handler_does_not_stop_the_reader(tmp_path: Path) -> None:
    def handler(read: CardRead) -> None:
        if read.uid == NTAG:
            raise RuntimeError("ledger on fire")

    with ReaderRig(reader_section(tmp_path), on_card=handler) as rig:
        rig.field.place(make_card("ntag213", NTAG))
        assert rig.field.wait_answers(20, timeout=10)  # read, handler failed, now held
        rig.field.place(make_card("mifare-classic-1k", CLASSIC))
        assert rig.wait_for(lambda: len(rig.reads) == 1)
        assert rig.reads[0].uid == CLASSIC


def test_stopping_ends_the_loop_while_a_card_is_held(tmp_path: Path) -> None:
    rig = ReaderRig(reader_section(tmp_path)).start()
    rig.field.place(make_card("ntag213", NTAG))
    assert rig.wait_for(lambda: len(rig.reads) == 1)
    assert rig.close()


def test_a_reader_that_cannot_be_opened_is_retried_and_reported_offline_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    statuses: list[bool] = []
    changed = threading.Condition()

    def on_status(online: bool) -> None:
        with changed:
            statuses.append(online)
            changed.notify_all()

    caplog.set_level(logging.INFO, logger="nfc.clf")
    section = reader_section(tmp_path, path="tty:NOSUCHPORT9:pn532", retry_max=1.0)
    reader = Reader(section, on_card=lambda read: None, on_status=on_status)
    stop = threading.Event()
    thread = threading.Thread(target=reader.run, args=(stop,))
    thread.start()
    assert wait_until(lambda: caplog.text.count("searching for reader on path") >= 3, 20)
    stop.set()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert statuses == [False]


def test_a_first_retry_longer_than_the_longest_is_refused_naming_the_field(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"reader: retry_initial must not be longer"):
        make_config(tmp_path, reader={"retry_initial": 50.0, "retry_max": 10.0})
