"""The virtual PN532's InAutoPoll and the reader's own frame exchange, frame by frame on the
serial line: the chip polls by itself, technology by technology in windows of 150 ms,
answers when a card comes, and an ACK from the host ends it without an answer."""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Iterator

import pytest

from kiosk.adapters.pn53x_line import ACK, SerialExchange, command_frame
from sim.harness import wait_until
from sim.nfc import make_card
from sim.pn532 import AUTO_POLL_UNIT
from sim.serial_line import PN532Line
from tests.support.pn532 import host_port, pn532_line

NTAG = bytes.fromhex("04A1B2C3D4E5F6")
IDM = bytes.fromhex("012E4C1A23456789")
MIFARE, TYPE_B, FELICA = 0x10, 0x03, 0x11


@pytest.fixture
def line() -> Iterator[PN532Line]:
    with pn532_line() as started:
        yield started


@pytest.fixture
def exchange(line: PN532Line) -> Iterator[SerialExchange]:
    with host_port(line) as fd:
        exchange = SerialExchange(fd)
        # one retry per activation, as nfcpy sets it (the chip's default is to retry for ever)
        exchange.command(0x32, b"\x05\x01\x00\x01", timeout=1.0)
        yield exchange


def test_listing_through_the_readers_own_frames_finds_the_card_and_an_empty_field(
    line: PN532Line, exchange: SerialExchange
) -> None:
    assert exchange.command(0x4A, b"\x01\x00", timeout=1.0) == b"\x00"
    line.place(make_card("ntag213", NTAG))
    answer = exchange.command(0x4A, b"\x01\x00", timeout=1.0)
    assert answer[:2] == b"\x01\x01" and answer[-7:] == NTAG


def test_a_chip_that_stays_silent_is_a_timeout_and_the_command_is_cancelled(
    line: PN532Line, exchange: SerialExchange
) -> None:
    line.tamper(lambda frame: frame, lambda frame: b"")  # the ACK comes, the answer never
    with pytest.raises(OSError) as raised:
        exchange.command(0x4A, b"\x01\x00", timeout=0.3)
    assert raised.value.errno == errno.ETIMEDOUT
    assert exchange.command(0x02, b"", timeout=1.0)[:1] == b"\x32"  # the line works on


def test_a_syntax_error_frame_is_an_input_output_error(exchange: SerialExchange) -> None:
    with pytest.raises(OSError) as raised:
        exchange.command(0x4A, b"\x07\x09", timeout=1.0)  # MaxTg 7: not a PN532's
    assert raised.value.errno == errno.EIO


def test_the_chip_answers_inautopoll_with_the_card_that_came_in_its_target_data_format(
    line: PN532Line, exchange: SerialExchange
) -> None:
    line.place(make_card("ntag213", NTAG))
    answer = exchange.command(0x60, bytes([1, 1, MIFARE, TYPE_B, FELICA]), timeout=1.0)
    # NbTg, Type, length, Tg, SENS_RES, SEL_RES, NFCID length, NFCID1
    assert answer[:2] == bytes([1, MIFARE]) and answer[2] == len(answer) - 3
    assert answer[3] == 1 and answer[7] == 7 and answer[8:] == NTAG


def test_each_technology_waits_for_its_own_window_of_150_ms(
    line: PN532Line, exchange: SerialExchange
) -> None:
    line.place(make_card("felica", IDM))
    started = time.monotonic()
    answer = exchange.command(0x60, bytes([1, 1, MIFARE, FELICA]), timeout=1.0)
    assert answer[:2] == bytes([1, FELICA]) and IDM in answer
    assert time.monotonic() - started >= AUTO_POLL_UNIT  # the 106A window came first


def test_with_nobody_there_the_chip_answers_none_after_its_pollings(
    line: PN532Line, exchange: SerialExchange
) -> None:
    started = time.monotonic()
    assert exchange.command(0x60, bytes([2, 1, MIFARE]), timeout=2.0) == b"\x00"
    assert time.monotonic() - started >= 2 * AUTO_POLL_UNIT
    assert 0x4A not in line.chip.commands  # the host sent one command, the chip did the rest


def poll_for_ever(line: PN532Line, fd: int) -> None:
    """Send InAutoPoll (endless, 106A) without waiting for its answer."""
    os.write(fd, command_frame(0x60, bytes([0xFF, 1, MIFARE])))
    assert line.wait_auto_polling(timeout=5)


def test_a_card_placed_while_the_chip_polls_by_itself_is_answered_at_once(
    line: PN532Line, exchange: SerialExchange
) -> None:
    with host_port(line) as fd:
        poll_for_ever(line, fd)
        sent = line.frames_sent  # its ACK is out; the answer is not
        line.place(make_card("ntag213", NTAG))
        assert wait_until(lambda: line.frames_sent == sent + 1 and not line.auto_polling, timeout=5)
        assert 0x4A not in line.chip.commands


def test_an_ack_from_the_host_ends_the_polling_without_an_answer(
    line: PN532Line, exchange: SerialExchange
) -> None:
    with host_port(line) as fd:
        poll_for_ever(line, fd)
        sent, ended = line.frames_sent, line.auto_polls
        os.write(fd, ACK)
        assert wait_until(lambda: line.auto_polls == ended + 1, timeout=5)
        assert line.frames_sent == sent  # no answer after the abort
    line.place(make_card("ntag213", NTAG))
    assert exchange.command(0x4A, b"\x01\x00", timeout=1.0)[-7:] == NTAG  # the chip listens on


@pytest.mark.parametrize(
    "parameters",
    [bytes([1, 0, MIFARE]), bytes([1, 0x10, MIFARE]), bytes([1, 1, 0x99]), bytes([0, 1, MIFARE])],
    ids=["period 0", "period above 15", "an unknown type", "no polling"],
)
def test_inautopoll_with_parameters_out_of_the_manuals_range_is_a_syntax_error(
    exchange: SerialExchange, parameters: bytes
) -> None:
    with pytest.raises(OSError, match="syntax error"):
        exchange.command(0x60, parameters, timeout=1.0)
