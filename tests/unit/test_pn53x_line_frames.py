"""The reader's own PN53x frames (kiosk.adapters.pn53x_line): what it sends is what the chip
reads, and what the chip sends is read back whole, whatever preamble or split comes around
it; noise and bad checksums are refused, never taken for an answer."""

from __future__ import annotations

import errno

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.adapters.pn53x_line import ACK, command_frame, first_frame
from sim import hsu


@given(st.integers(0, 255), st.binary(max_size=252))
def test_a_command_frame_is_read_by_the_chip_as_that_command(code: int, data: bytes) -> None:
    events = list(hsu.Splitter().feed(command_frame(code, data)))
    assert events == [hsu.Frame(hsu.HOST, bytes([code]) + data)]


@given(st.binary(min_size=1, max_size=250), st.integers(0, 20), st.integers(0, 400))
def test_an_answer_is_read_whole_after_its_preamble_and_not_before_its_last_byte(
    data: bytes, preamble: int, cut: int
) -> None:
    framed = bytes(preamble) + hsu.frame(hsu.CHIP, data)
    cut %= len(framed) - 1  # up to its checksum: the postamble is not waited for
    assert first_frame(framed[:cut]) == (None, 0)
    body, used = first_frame(framed + ACK)
    assert (body, used) == (bytes([hsu.CHIP]) + data, len(framed))


def test_the_ack_is_told_apart_from_an_answer() -> None:
    stream = hsu.ACK + hsu.frame(hsu.CHIP, b"\x4b\x00")
    body, used = first_frame(stream)
    assert body == ACK
    assert first_frame(stream[used:])[0] == b"\xd5\x4b\x00"


@pytest.mark.parametrize(
    "garbled",
    [
        b"\x17\x42" + hsu.ACK,  # noise before the frame
        bytes.fromhex("0000ff03fcd54b00e000"),  # length checksum wrong
        bytes.fromhex("0000ff03fdd54b00e100"),  # data checksum wrong
        hsu.NACK,
    ],
    ids=["noise", "length checksum", "data checksum", "a NACK from the chip"],
)
def test_noise_and_bad_checksums_are_an_input_output_error(garbled: bytes) -> None:
    with pytest.raises(OSError) as raised:
        first_frame(garbled)
    assert raised.value.errno == errno.EIO


def test_a_command_too_long_for_a_normal_frame_is_refused_before_sending() -> None:
    with pytest.raises(ValueError, match="do not fit"):
        command_frame(0x40, bytes(253))
