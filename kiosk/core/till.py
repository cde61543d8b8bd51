"""The shop till's basket, as it POSTs it to the kiosk before a tap: parsed and checked.

    >>> parse_basket(b'{"amount": 1250, "promo_amount": 300, "uses_reward": false}')
    Basket(amount=1250, promo_amount=300, uses_reward=False)

Amounts are whole cents. Every problem raises BasketError naming the field, so the
listener can answer 400 with the message and the till's operator knows what to fix.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kiosk.core.perks import Basket

MAX_AMOUNT = 10_000_00  # 10 000 euros: anything above is a typo at a counter
MAX_BODY = 4096
MAX_ITEMS = 1000  # items in one basket: anything above is a typo at a counter
FIELDS = frozenset({"amount", "promo_amount", "uses_reward", "items"})


class BasketError(ValueError):
    """A basket the kiosk cannot use; the message says which field and why."""


def _cents(data: Mapping[str, Any], key: str, default: int | None = None) -> int:
    value = data.get(key, default)
    if value is None:
        raise BasketError(f"{key}: missing (whole cents, e.g. 1250 for 12.50)")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BasketError(f"{key}: must be a number of cents, not {type(value).__name__}")
    if isinstance(value, float) and not value.is_integer():
        raise BasketError(f"{key}: must be whole cents (e.g. 1250 for 12.50), not {value}")
    cents = int(value)
    if not 0 <= cents <= MAX_AMOUNT:
        raise BasketError(f"{key}: must be between 0 and {MAX_AMOUNT} cents, not {cents}")
    return cents


def basket_from_mapping(data: Any) -> Basket:
    """A Basket from decoded JSON; raises BasketError naming the field."""
    if not isinstance(data, dict):
        raise BasketError('the body must be a JSON object like {"amount": 1250}')
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        raise BasketError(f"{unknown[0]}: unknown field (known: {', '.join(sorted(FIELDS))})")
    amount = _cents(data, "amount")
    promo = _cents(data, "promo_amount", 0)
    if promo > amount:
        raise BasketError(f"promo_amount: {promo} is more than the amount {amount}")
    uses_reward = data.get("uses_reward", False)
    if not isinstance(uses_reward, bool):
        raise BasketError("uses_reward: must be true or false")
    items = data.get("items", 0)
    if isinstance(items, bool) or not isinstance(items, int) or not 0 <= items <= MAX_ITEMS:
        raise BasketError(f"items: must be a whole number of items from 0 to {MAX_ITEMS}")
    return Basket(amount=amount, promo_amount=promo, uses_reward=uses_reward, items=items)


def parse_basket(body: bytes | str) -> Basket:
    """A Basket from the body the till POSTed; raises BasketError with a clear message."""
    if len(body) > MAX_BODY:
        raise BasketError(f"the body is too long ({len(body)} bytes, at most {MAX_BODY})")
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        data = json.loads(text)
    except UnicodeDecodeError:
        raise BasketError("the body is not UTF-8 text") from None
    except RecursionError:
        raise BasketError("the body is nested too deeply to be a basket") from None
    except json.JSONDecodeError as error:
        raise BasketError(f"the body is not valid JSON: {error.msg} at character {error.pos}") from None
    return basket_from_mapping(data)


def basket_to_mapping(basket: Basket) -> dict[str, Any]:
    """The basket as the till sends it (what `GET /v1/basket` answers)."""
    return {
        "amount": basket.amount,
        "promo_amount": basket.promo_amount,
        "uses_reward": basket.uses_reward,
        "items": basket.items,
    }


@dataclass(frozen=True)
class HeldBasket:
    """A basket waiting for the next customer tap until `until` (the shell's monotonic
    seconds): one basket, one tap; a newer basket replaces it; past `until` it is gone."""

    basket: Basket
    until: float

    def live(self, now: float) -> bool:
        return now < self.until


def hold(basket: Basket, now: float, seconds: float) -> HeldBasket:
    """Hold `basket` for the tap that comes within `seconds` of `now`."""
    return HeldBasket(basket, now + seconds)


def basket_for_tap(held: HeldBasket | None, now: float) -> Basket | None:
    """The basket a tap at `now` earns on: the held one while it is live, else none.
    Either way the shell then holds nothing (one basket, one tap; expired is dropped)."""
    return held.basket if held is not None and held.live(now) else None
