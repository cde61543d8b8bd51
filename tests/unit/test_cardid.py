"""Card identity: UIDs parse strictly, random IDs are recognised, refs are keyed hashes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.core.cardid import card_ref, is_card_ref, is_random_uid, parse_uid


@pytest.mark.parametrize(
    "text", ["04A1B2C3D4E5F6", "04:a1:b2:c3:d4:e5:f6", "04 A1 B2 C3 D4 E5 F6", "01020304"]
)
def test_a_uid_parses_with_or_without_separators(text: str):
    assert len(parse_uid(text)) in (4, 7)


@pytest.mark.parametrize("text", ["", "zz", "04A", "0102", "0102030405", "04A1B2C3D4E5F6A7B8C9D0E1"])
def test_a_malformed_uid_is_refused(text: str):
    with pytest.raises(ValueError):
        parse_uid(text)


def test_a_four_byte_uid_starting_with_08_is_random():
    assert is_random_uid(bytes.fromhex("08123456"))
    assert not is_random_uid(bytes.fromhex("04123456"))
    assert not is_random_uid(bytes.fromhex("08123456789abc"))


@given(st.binary(min_size=4, max_size=10))
def test_a_card_ref_never_contains_the_uid(uid: bytes):
    ref = card_ref(b"k" * 32, uid)
    assert is_card_ref(ref)
    assert uid.hex() not in ref or len(uid) < 4


def test_the_same_card_at_another_site_has_another_ref():
    uid = bytes.fromhex("04a1b2c3d4e5f6")
    assert card_ref(b"a" * 32, uid) != card_ref(b"b" * 32, uid)
    assert card_ref(b"a" * 32, uid) == card_ref(b"a" * 32, uid)
