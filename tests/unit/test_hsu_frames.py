"""PN532 host frames (sim.hsu): what the virtual chip reads back is what was framed, whatever
noise, wake-up preamble or split reads come around it."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sim import hsu


def events(*chunks: bytes) -> list[hsu.Event]:
    splitter = hsu.Splitter()
    return [event for chunk in chunks for event in splitter.feed(chunk)]


@given(st.binary(min_size=1, max_size=300), st.integers(0, 400))
def test_a_frame_comes_back_whole_even_when_read_in_two_pieces(data: bytes, cut: int) -> None:
    framed = bytes(10) + hsu.frame(hsu.HOST, data)  # nfcpy's wake-up preamble first
    cut %= len(framed)
    assert events(framed[:cut], framed[cut:]) == [hsu.Frame(hsu.HOST, data)]


def test_frames_longer_than_254_bytes_are_extended() -> None:
    assert hsu.frame(hsu.CHIP, bytes(254))[3:5] == b"\xff\xff"
    assert hsu.frame(hsu.CHIP, bytes(253))[3] == 254


def test_ack_and_nack_are_told_apart_from_frames() -> None:
    assert events(hsu.ACK + hsu.NACK + hsu.frame(hsu.HOST, b"\x02")) == [
        hsu.Ack(), hsu.Nack(), hsu.Frame(hsu.HOST, b"\x02")]


@given(st.binary(max_size=40).filter(lambda noise: b"\x00\xff" not in noise))
def test_noise_before_a_frame_is_skipped(noise: bytes) -> None:
    assert events(noise + b"\x00" + hsu.frame(hsu.HOST, b"\x4a\x01\x00"))[-1:] == [
        hsu.Frame(hsu.HOST, b"\x4a\x01\x00")]


def test_a_bad_checksum_is_reported_garbled_and_the_next_frame_still_read() -> None:
    bad = bytearray(hsu.frame(hsu.HOST, b"\x02"))
    bad[-2] ^= 0x01
    assert events(bytes(bad) + hsu.frame(hsu.HOST, b"\x14\x01")) == [
        hsu.Garbled("data checksum"), hsu.Frame(hsu.HOST, b"\x14\x01")]
