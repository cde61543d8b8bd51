"""The till's basket in the pure core: parsing never lets anything but BasketError out,
what GET answers parses back to the same basket, and a held basket serves one window."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.core.perks import Basket
from kiosk.core.till import (
    MAX_AMOUNT,
    BasketError,
    basket_for_tap,
    basket_to_mapping,
    hold,
    parse_basket,
)

baskets = st.integers(0, MAX_AMOUNT).flatmap(
    lambda amount: st.builds(Basket, st.just(amount), st.integers(0, amount), st.booleans())
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=8,
)


@given(baskets)
def test_what_get_shows_parses_back_to_the_same_basket(basket: Basket) -> None:
    assert parse_basket(json.dumps(basket_to_mapping(basket))) == basket


@given(st.binary(max_size=200))
def test_any_bytes_give_a_basket_or_a_basket_error(body: bytes) -> None:
    try:
        parse_basket(body)
    except BasketError as error:
        assert str(error)


@given(json_values)
def test_any_json_gives_a_basket_or_a_basket_error(value: object) -> None:
    try:
        basket = parse_basket(json.dumps(value))
    except BasketError:
        return
    assert 0 <= basket.promo_amount <= basket.amount <= MAX_AMOUNT


@given(baskets, st.floats(0, 1e6), st.floats(0.001, 3600), st.floats(0, 7200))
def test_a_held_basket_serves_a_tap_within_its_seconds_only(
    basket: Basket, now: float, seconds: float, after: float
) -> None:
    held = hold(basket, now, seconds)
    expected = basket if now + after < now + seconds else None
    assert basket_for_tap(held, now + after) == expected


def test_nothing_held_serves_nothing() -> None:
    assert basket_for_tap(None, 0.0) is None


def test_a_body_over_the_cap_is_refused_before_parsing() -> None:
    with pytest.raises(BasketError, match="too long"):
        parse_basket(b" " * 5000 + b'{"amount": 1}')


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[" * 4000, "nested too deeply"),
        (b'{"amount": NaN}', "whole cents"),
        (b'{"amount": Infinity}', "whole cents"),
        (b'{"amount": 1e999}', "whole cents"),
    ],
)
def test_json_oddities_are_basket_errors(body: bytes, reason: str) -> None:
    with pytest.raises(BasketError, match=reason):
        parse_basket(body)
