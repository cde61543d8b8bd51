"""The shop till's basket, as it POSTs it to the kiosk before a tap: parsed and checked.

    >>> parse_basket(b'{"amount": 1250, "promo_amount": 300, "uses_reward": false}')
    Basket(amount=1250, promo_amount=300, uses_reward=False, items=0)

Amounts are whole cents. Every problem raises BasketError naming the field, so the
listener can answer 400 with the message and the till's operator knows what to fix.

A basket may carry the till's own ticket number (`"ticket": "T-1042"`), by which the
till asks what the tap did with it; without one the kiosk gives it one.

    >>> parse_order(b'{"amount": 1250, "ticket": "T-1042"}')
    Order(basket=Basket(amount=1250, promo_amount=0, uses_reward=False, items=0), ticket='T-1042')
    >>> parse_wait("wait=15")
    15.0
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from kiosk.core.perks import Basket
from kiosk.core.wire import Text

MAX_AMOUNT = 10_000_00  # 10 000 euros: anything above is a typo at a counter
MAX_BODY = 4096
MAX_ITEMS = 1000  # items in one basket: anything above is a typo at a counter
FIELDS = frozenset({"amount", "promo_amount", "uses_reward", "items", "ticket"})
# the till's number for a basket: what it asks the tap's answer by, in a URL path
TICKET = Text(1, 64, r"[A-Za-z0-9._-]+", "1 to 64 letters, digits, '.', '_' or '-'")
MAX_WAIT = 60.0  # seconds a till may wait for the tap on one request


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


@dataclass(frozen=True)
class Order:
    """A basket as the till sent it, with the till's ticket number if it gave one."""

    basket: Basket
    ticket: str | None = None


def parse_order(body: bytes | str) -> Order:
    """The basket and the till's ticket number; raises BasketError naming the field."""
    basket = parse_basket(body)
    data = json.loads(body)  # parse_basket checked it is a JSON object
    ticket = data.get("ticket")
    if ticket is not None and TICKET.problem("ticket", ticket) is not None:
        raise BasketError(f"ticket: must be {TICKET.hint}, e.g. \"T-1042\"")
    return Order(basket, ticket)


def parse_wait(query: str) -> float:
    """Seconds a request's `?wait=` asks to wait for the tap (0: answer at once)."""
    values = parse_qs(query, keep_blank_values=True).get("wait")
    if not values:
        return 0.0
    try:
        seconds = float(values[-1])
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= MAX_WAIT:  # NaN fails too
        raise BasketError(f"wait: must be seconds from 0 to {MAX_WAIT:g}, e.g. ?wait=30")
    return seconds


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


# --- tickets: every basket the till sent is a ticket, paid with a card tapped or not ------

MAX_TICKETS = 100_000  # tickets one till can ring up in an hour, at most
MAX_HOURS = 240  # hours of tickets a kiosk keeps and reports (ten days)


@dataclass(frozen=True)
class TicketHour:
    """One local hour of the till's tickets: all of them, those a card was tapped for,
    and the amounts (cents) of each kind. The central stores each hour as sent."""

    day: str  # YYYY-MM-DD, local
    hour: int
    tickets: int = 0
    card_tickets: int = 0
    card_amount: int = 0
    other_amount: int = 0

    COUNTS = ("tickets", "card_tickets", "card_amount", "other_amount")

    def to_mapping(self) -> dict[str, Any]:
        return {"day": self.day, "hour": self.hour,
                **{name: getattr(self, name) for name in self.COUNTS}}


@dataclass(frozen=True)
class Ticket:
    """A ticket the till rang up at `at`, and whether a customer's card was tapped for it."""

    basket: Basket
    with_card: bool
    at: datetime


def count_ticket(hours: Mapping[tuple[str, int], TicketHour], basket: Basket, with_card: bool,
                 at: datetime) -> dict[tuple[str, int], TicketHour]:
    """`hours` with one more ticket rung up at `at` (local time); the oldest hours past
    MAX_HOURS are dropped. An hour stops counting at MAX_TICKETS. Pure."""
    key = (at.date().isoformat(), at.hour)
    old = hours.get(key) or TicketHour(*key)
    counted = dict(hours)
    if old.tickets < MAX_TICKETS:
        counted[key] = replace(
            old, tickets=old.tickets + 1,
            card_tickets=old.card_tickets + with_card,
            card_amount=old.card_amount + (basket.amount if with_card else 0),
            other_amount=old.other_amount + (0 if with_card else basket.amount))
    return dict(sorted(counted.items())[-MAX_HOURS:])


def hours_from_mapping(data: Any) -> dict[tuple[str, int], TicketHour]:
    """Ticket hours as the ledger keeps them (a JSON list); anything unreadable is skipped."""
    found: dict[tuple[str, int], TicketHour] = {}
    for item in data if isinstance(data, list) else []:
        try:
            hour = TicketHour(**item)
        except TypeError:
            continue
        found[(hour.day, hour.hour)] = hour
    return found
