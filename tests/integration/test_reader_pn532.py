"""The reader adapter through nfcpy's own PN532 driver, over a virtual PN532 on a serial line:
every card kind is read as over the UDP field, and a line that misbehaves (noise, a NACK
storm, a frame cut halfway, the cable pulled) takes the reader offline and back, never down."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kiosk.config import ReaderSection
from sim import hsu
from sim.harness import ReaderRig, wait_until
from sim.nfc import make_card
from sim.serial_line import PN532Line
from tests.support.kiosk_config import make_config
from tests.support.pn532 import pn532_line

NTAG = bytes.fromhex("04A1B2C3D4E5F6")
CLASSIC = bytes.fromhex("5A6B7C8D")
IDM = bytes.fromhex("012E4C1A23456789")
NFCID0 = bytes.fromhex("11223344")


def section(tmp_path: Path, line: PN532Line) -> ReaderSection:
    reader = {"path": line.path, "poll_interval": 0.02, "retry_initial": 0.05, "retry_max": 30.0}
    return make_config(tmp_path, reader=reader).reader


@pytest.fixture
def line() -> Iterator[PN532Line]:
    with pn532_line() as started:
        yield started


@pytest.fixture
def rig(tmp_path: Path, line: PN532Line) -> Iterator[ReaderRig]:
    with ReaderRig(section(tmp_path, line), field=line) as running:
        assert running.wait_for(lambda: running.statuses == [True])
        yield running


def test_nfcpy_drives_the_virtual_chip_through_its_pn532_driver(rig: ReaderRig, line: PN532Line) -> None:
    # init as nfcpy does it: firmware, SAM, speed raised through stty, line diagnose
    # (an extended frame both ways), analog settings; then polling with InListPassiveTarget
    assert {0x02, 0x14, 0x10, 0x00, 0x12, 0x32, 0x4A} <= set(line.chip.commands)
    assert line.chip.baud == 921600  # nfcpy raised the speed: the line follows both ends


@pytest.mark.parametrize(
    ("kind", "uid", "technology", "read_kind"),
    [
        ("ntag213", NTAG, "106A", "type2"),
        ("mifare-classic-1k", CLASSIC, "106A", "mifare-classic-1k"),
        ("felica", IDM, "212F", "felica"),
        ("type-b", NFCID0, "106B", "type-b"),
    ],
)
def test_each_card_kind_is_read_by_its_identity(
    rig: ReaderRig, kind: str, uid: bytes, technology: str, read_kind: str
) -> None:
    rig.field.place(make_card(kind, uid))
    assert rig.wait_for(lambda: len(rig.reads) == 1)
    read = rig.reads[0]
    assert (read.uid, read.technology, read.kind) == (uid, technology, read_kind)


def test_a_phone_with_a_random_id_is_read_as_iso_dep(rig: ReaderRig) -> None:
    rig.field.place(make_card("random-id"))
    assert rig.wait_for(lambda: len(rig.reads) == 1)
    assert rig.reads[0].uid[0] == 0x08 and rig.reads[0].kind == "iso-dep"


def test_a_card_left_on_the_reader_counts_once_then_again_after_it_was_lifted(rig: ReaderRig) -> None:
    card = make_card("ntag213", NTAG)
    rig.field.place(card)
    assert rig.wait_for(lambda: len(rig.reads) == 1)
    assert isinstance(rig.field, PN532Line) and rig.field.wait_sent(60, timeout=20)  # presence checks
    assert len(rig.reads) == 1
    rig.field.remove()
    assert rig.settle()
    rig.field.place(card)
    assert rig.wait_for(lambda: len(rig.reads) == 2)


def noise(frame: bytes) -> bytes:
    return os.urandom(7) + frame


def nack(frame: bytes) -> bytes:
    return hsu.NACK


def cut(frame: bytes) -> bytes:
    return frame[: len(frame) // 2]


@pytest.mark.parametrize(
    "fault", [[noise], [nack] * 8, [cut]], ids=["noise bytes", "a NACK storm", "a frame cut halfway"]
)
def test_a_garbled_line_takes_the_reader_offline_and_back_and_the_next_tap_counts(
    rig: ReaderRig, line: PN532Line, fault: list[Callable[[bytes], bytes]]
) -> None:
    line.tamper(*fault)
    assert rig.wait_for(lambda: rig.statuses == [True, False, True], timeout=20)
    rig.field.place(make_card("mifare-classic-1k", CLASSIC))
    assert rig.wait_for(lambda: len(rig.reads) == 1)


def test_an_unplugged_reader_is_reported_offline_and_is_back_within_5_s_of_the_line(
    rig: ReaderRig, line: PN532Line
) -> None:
    line.unplug()
    assert rig.wait_for(lambda: rig.statuses == [True, False])
    # long enough for the backoff to grow past 5 s (0.05 s doubling: 6.4 s after 8 tries)
    assert not wait_until(lambda: len(rig.statuses) > 2, timeout=7)
    line.replug()
    back = time.monotonic()
    assert rig.wait_for(lambda: rig.statuses == [True, False, True], timeout=5)
    assert time.monotonic() - back < 5
    rig.field.place(make_card("ntag213", NTAG))
    assert rig.wait_for(lambda: len(rig.reads) == 1)


def test_a_card_lying_there_while_the_cable_is_pulled_counts_once(rig: ReaderRig, line: PN532Line) -> None:
    rig.field.place(make_card("mifare-classic-1k", CLASSIC))
    assert rig.wait_for(lambda: len(rig.reads) == 1)
    line.unplug()
    assert rig.wait_for(lambda: rig.statuses[-1] is False)
    line.replug()
    assert rig.wait_for(lambda: rig.statuses[-1] is True)
    assert rig.settle(rounds=5)
    assert len(rig.reads) == 1


def test_a_chip_left_at_a_higher_speed_by_an_interrupted_close_is_brought_back(
    tmp_path: Path, line: PN532Line
) -> None:
    line.chip.baud = 460800  # an earlier run died before nfcpy set it back to 115200
    with ReaderRig(section(tmp_path, line), field=line) as rig:
        assert rig.wait_for(lambda: rig.statuses == [True])
        rig.field.place(make_card("felica", IDM))
        assert rig.wait_for(lambda: len(rig.reads) == 1)


@pytest.fixture
def auto_rig(tmp_path: Path, line: PN532Line) -> Iterator[ReaderRig]:
    chip_polls = section(tmp_path, line).model_copy(update={"auto_poll": True})
    with ReaderRig(chip_polls, field=line) as running:
        assert running.wait_for(lambda: running.statuses == [True])
        yield running


@pytest.mark.parametrize(
    ("kind", "uid", "technology"),
    [("ntag213", NTAG, "106A"), ("felica", IDM, "212F"), ("type-b", NFCID0, "106B")],
)
def test_with_the_chip_polling_by_itself_each_card_kind_is_read_and_the_host_stays_quiet(
    auto_rig: ReaderRig, line: PN532Line, kind: str, uid: bytes, technology: str
) -> None:
    assert line.wait_auto_polling(timeout=5)
    listed = line.polls
    auto_rig.field.place(make_card(kind, uid))
    assert auto_rig.wait_for(lambda: len(auto_rig.reads) == 1)
    assert (auto_rig.reads[0].uid, auto_rig.reads[0].technology) == (uid, technology)
    assert line.polls == listed  # found by the chip's own polling, not by a host round


def test_with_the_chip_polling_by_itself_a_card_left_there_counts_once_and_again_after_lifting(
    auto_rig: ReaderRig, line: PN532Line
) -> None:
    card = make_card("mifare-classic-1k", CLASSIC)
    auto_rig.field.place(card)
    assert auto_rig.wait_for(lambda: len(auto_rig.reads) == 1)
    assert auto_rig.settle(rounds=5)  # the host's rounds watch the card lying there
    assert len(auto_rig.reads) == 1
    auto_rig.field.remove()
    assert line.wait_auto_polling(timeout=5)  # the empty field is the chip's to watch again
    auto_rig.field.place(card)
    assert auto_rig.wait_for(lambda: len(auto_rig.reads) == 2)


def test_with_the_chip_polling_by_itself_a_pulled_cable_takes_the_reader_offline_and_back(
    auto_rig: ReaderRig, line: PN532Line
) -> None:
    assert line.wait_auto_polling(timeout=5)
    line.unplug()
    assert auto_rig.wait_for(lambda: auto_rig.statuses == [True, False])
    line.replug()
    assert auto_rig.wait_for(lambda: auto_rig.statuses == [True, False, True], timeout=5)
    auto_rig.field.place(make_card("ntag213", NTAG))
    assert auto_rig.wait_for(lambda: len(auto_rig.reads) == 1)
