"""A card state as the central answers it, checked as strictly as the central checks events.

(JSON body, now) -> CardState or the reason it is refused. Pure: `now` is passed in.

`CardState.from_dict` reads what this kiosk itself wrote; a server's answer is outside
input, so every field is checked here first: exact JSON types (no "3" for 3), instants
with a time zone inside `kiosk.core.clock`'s bounds (the same bounds the kiosk's own
events keep), counts inside `MAX_COUNT`, names of printable text. A refused card never
reaches the card cache, so one bad answer cannot break a card's later taps.

    >>> t = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    >>> body = CardState("a" * 64, enrolled=True, stamps=3, visits=3).to_dict()
    >>> served_card(body, t).stamps
    3
    >>> card_problem({**body, "last_visit": "2026-03-01T09:00:00"}, t)
    'last_visit has no time zone (give an offset, e.g. +00:00)'
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from kiosk.core.cardid import is_card_ref
from kiosk.core.clock import EARLIEST, MAX_AHEAD, instant_problem
from kiosk.core.events import REWARD_ID, CardState

# No real card comes near: a billion stamps is a thousand years of a busy shop's taps.
MAX_COUNT = 10**9
MAX_ENTRIES = 20_000  # keys of one count table (a day bucket per day is 55 years)
MAX_NAME = REWARD_ID.max_length  # a reward id, or a tier name (it travels as one)
MAX_TEXT = 200  # any other text of an answer (flags, event ids)

_INSTANTS = ("first_seen", "last_visit", "tier_at", "birthday_at", "link_at")
_COUNT_TABLES = ("earned", "redeemed", "revoked")  # reward id -> events: never below 0
_BUCKETS = {"month_visits": 7, "day_stamps": 10}  # key length of "YYYY-MM", "YYYY-MM-DD"


class CardRefused(ValueError):
    """The answer's card cannot be taken; the message names the field."""


def plain_text(value: str, limit: int = MAX_TEXT) -> bool:
    """Text fit to show staff: 1 to `limit` characters, none of them control or escape."""
    return 1 <= len(value) <= limit and value.isprintable()


def hidden_characters(value: Any, depth: int = 0) -> bool:
    """Whether any text in a JSON value (keys too) is not plain: control, escape, too long."""
    if depth > 20:
        return True
    if isinstance(value, str):
        return not (value == "" or plain_text(value, MAX_TEXT))
    if isinstance(value, dict):
        return any(hidden_characters(k, depth + 1) or hidden_characters(v, depth + 1)
                   for k, v in value.items())
    if isinstance(value, list):
        return any(hidden_characters(v, depth + 1) for v in value)
    return False


def _count(value: Any, lowest: int) -> bool:
    return type(value) is int and lowest <= value <= MAX_COUNT


def _instant(name: str, value: Any, now: datetime) -> str | None:
    if value is None:
        return None
    if type(value) is not str or len(value) > 40:
        return f"{name} is not an ISO 8601 date-time"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return f"{name} is not an ISO 8601 date-time"
    problem = instant_problem(moment, now)
    return None if problem is None else f"{name} {problem}"


def _day(name: str, value: Any, now: datetime) -> str | None:
    if value is None:
        return None
    try:
        day = date.fromisoformat(value) if type(value) is str and len(value) == 10 else None
    except ValueError:
        day = None
    if day is None:
        return f"{name} is not a YYYY-MM-DD day"
    if not EARLIEST.date() <= day <= (now + MAX_AHEAD).date():
        return f"{name} is outside {EARLIEST:%Y-%m-%d} to tomorrow"
    return None


def _table(name: str, value: Any, key_ok: Callable[[str], bool], lowest: int) -> str | None:
    if type(value) is not dict or len(value) > MAX_ENTRIES:
        return f"{name} is not a table of at most {MAX_ENTRIES} counts"
    for key, count in value.items():
        if not key_ok(key):
            return f"{name} has a key that is no name: {key[:20]!r}"
        if not _count(count, lowest):
            return f"{name}[{key}] is not a whole number from {lowest} to {MAX_COUNT}"
    return None


def _reward_id(key: str) -> bool:
    return plain_text(key, MAX_NAME)


def _bucket_key(length: int) -> Callable[[str], bool]:
    def ok(key: str) -> bool:
        try:
            return len(key) == length and bool(date.fromisoformat(key + "-01"[: 10 - length]))
        except ValueError:
            return False

    return ok


def card_problem(body: Any, now: datetime) -> str | None:
    """Why a served card state cannot be taken at `now`, or None."""
    if type(body) is not dict:
        return "the card is not a JSON object"
    if hidden_characters(body):
        return "the card holds control characters or overlong text"
    ref = body.get("card_ref")
    if type(ref) is not str or not is_card_ref(ref):
        return "card_ref is not 64 lowercase hex characters"
    if type(body.get("enrolled")) is not bool:
        return "enrolled is not true or false"
    for name, lowest in (("stamps", -MAX_COUNT), ("visits", -MAX_COUNT),
                         ("stamps_that_day", -MAX_COUNT)):
        value = body.get(name, 0) if name == "stamps_that_day" else body.get(name)
        if not _count(value, lowest):
            return f"{name} is not a whole number from {lowest} to {MAX_COUNT}"
    if not _count(body.get("links", 0), 0):
        return f"links is not a whole number from 0 to {MAX_COUNT}"
    revoked_links = body.get("links_revoked")
    if revoked_links is not None and not _count(revoked_links, 0):
        return f"links_revoked is not null or a whole number from 0 to {MAX_COUNT}"
    checks = [_instant(name, body.get(name), now) for name in _INSTANTS]
    checks.append(_day("stamp_day", body.get("stamp_day"), now))
    for name in _COUNT_TABLES:
        value = body.get(name, {}) if name == "revoked" else body.get(name)
        checks.append(_table(name, value, _reward_id, 0))
    for name, length in _BUCKETS.items():
        checks.append(_table(name, body.get(name, {}), _bucket_key(length), -MAX_COUNT))
    tier = body.get("tier")
    if tier is not None and (type(tier) is not str or not plain_text(tier, MAX_NAME)):
        checks.append(f"tier is not a name of 1 to {MAX_NAME} characters")
    return next((problem for problem in checks if problem), None)


def served_card(body: Any, now: datetime) -> CardState:
    """The card state of a served body; CardRefused naming the field when it is not one."""
    problem = card_problem(body, now)
    if problem is not None:
        raise CardRefused(problem)
    state = CardState.from_dict(body)
    # held in UTC like the kiosk's own fold, whatever offset the server wrote
    utc = {name: getattr(state, name) for name in _INSTANTS if getattr(state, name) is not None}
    return dataclasses.replace(state, **{name: t.astimezone(UTC) for name, t in utc.items()})
