"""NTAG21x originality signatures: NXP's ECDSA over the UID on secp128r1, checked purely."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.core.cardid import NXP_NTAG21X_KEY, is_original, is_public_key
from sim.cards import originality_public_key, originality_signature

# A genuine NTAG21x's UID and READ_SIG answer, as published with an open-source verifier
PUBLISHED_UID = bytes([4, 171, 135, 242, 202, 17, 144])
PUBLISHED_SIGNATURE = bytes([
    103, 177, 117, 11, 204, 235, 17, 116, 249, 163, 59, 242, 14, 2, 38, 85,
    26, 99, 102, 147, 155, 49, 249, 73, 132, 140, 60, 8, 115, 80, 250, 144,
])
TEST_KEY = originality_public_key()


def test_a_published_genuine_ntag_signature_verifies_against_nxps_key() -> None:
    assert is_original(PUBLISHED_UID, PUBLISHED_SIGNATURE, NXP_NTAG21X_KEY)


def test_the_same_signature_under_another_uid_fails() -> None:
    assert not is_original(bytes.fromhex("04A1B2C3D4E5F6"), PUBLISHED_SIGNATURE, NXP_NTAG21X_KEY)


@pytest.mark.parametrize("answer", [bytes(32), b"", b"\x00", PUBLISHED_SIGNATURE[:31]],
                         ids=["zeros", "refused", "a NAK byte", "short"])
def test_what_a_magic_clone_answers_is_not_original(answer: bytes) -> None:
    assert not is_original(PUBLISHED_UID, answer, NXP_NTAG21X_KEY)


@given(st.binary(min_size=7, max_size=7), st.integers(0, 31), st.integers(1, 255))
def test_any_changed_signature_byte_fails(uid: bytes, at: int, mask: int) -> None:
    signature = bytearray(originality_signature(uid))
    assert is_original(uid, bytes(signature), TEST_KEY)
    signature[at] ^= mask
    assert not is_original(uid, bytes(signature), TEST_KEY)


def test_a_signature_made_with_another_key_fails_against_nxps() -> None:
    uid = bytes.fromhex("04A1B2C3D4E5F6")
    assert is_original(uid, originality_signature(uid), TEST_KEY)
    assert not is_original(uid, originality_signature(uid), NXP_NTAG21X_KEY)


@pytest.mark.parametrize(
    ("text", "valid"),
    [(NXP_NTAG21X_KEY.hex(), True), (TEST_KEY.hex(), True), ("04" + "00" * 32, False),
     (NXP_NTAG21X_KEY.hex()[:-2], False), ("02" + NXP_NTAG21X_KEY.hex()[2:], False)],
)
def test_only_a_point_on_the_curve_is_a_public_key(text: str, valid: bool) -> None:
    assert is_public_key(text) is valid
