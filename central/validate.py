"""Checking what kiosks send, before anything is written. Pure: `now` is passed in.

An upload is judged at two levels. The envelope (JSON object with an `events` list of
1..500 objects, each with a string `id`) is all-or-nothing: a bad one is a 4xx for the
whole request. Each event is then judged alone, so one bad event never sinks a batch.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from kiosk.core.cardid import is_card_ref
from kiosk.core.events import Event, EventKind

MAX_EVENTS = 500
MAX_DELTA = 1000
EARLIEST = datetime(2020, 1, 1, tzinfo=UTC)
MAX_AHEAD = timedelta(days=1)

EVENT_FIELDS = frozenset(
    {"id", "kiosk_id", "seq", "card_ref", "kind", "delta", "reward_id",
     "program_version", "occurred_at", "staff_ref"}
)
REQUIRED_FIELDS = EVENT_FIELDS - {"reward_id", "staff_ref"}
_NAME = re.compile(r"^[A-Za-z0-9._:-]+$")
_REWARD_KINDS = (EventKind.REWARD_EARNED, EventKind.REWARD_REDEEMED)


class BadEnvelope(ValueError):
    """The request as a whole is unusable; the message says why."""


@dataclass(frozen=True)
class Checked:
    """One event of a batch after checking: either `event` or a `reason` it was rejected."""

    id: str
    event: Event | None = None
    body_sha256: str = ""
    reason: str | None = None


def envelope(data: Any) -> list[Mapping[str, Any]]:
    """The batch's event objects; raises BadEnvelope when the request shape is wrong."""
    if not isinstance(data, dict):
        raise BadEnvelope('the body must be a JSON object {"events": [...]}')
    extra = sorted(set(data) - {"events"})
    if extra:
        raise BadEnvelope(f"unknown field(s) in the body: {', '.join(map(repr, extra))}")
    items = data.get("events")
    if not isinstance(items, list):
        raise BadEnvelope('"events" must be a list of event objects')
    if not 1 <= len(items) <= MAX_EVENTS:
        raise BadEnvelope(f'"events" must hold 1 to {MAX_EVENTS} events, not {len(items)}')
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise BadEnvelope(f"events[{index}] is not a JSON object")
        event_id = item.get("id")
        if not isinstance(event_id, str) or not 1 <= len(event_id) <= 100:
            raise BadEnvelope(f'events[{index}].id must be a string of 1 to 100 characters')
    return items


def body_sha256(event: Event) -> str:
    """A fingerprint of an event's content, to tell a retry from a clash of ids."""
    # repr() of a tuple of str/int/None is unambiguous ('None' vs None) and cheap
    canonical = repr((
        event.id, event.kiosk_id, event.seq, event.card_ref, event.kind.value, event.delta,
        event.reward_id, event.program_version, event.occurred_at.isoformat(), event.staff_ref,
    ))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _text(data: Mapping[str, Any], key: str, limit: int, *, pattern: bool = False) -> str | None:
    value = data.get(key)
    if not isinstance(value, str) or not 1 <= len(value) <= limit:
        return f"{key} must be a string of 1 to {limit} characters"
    if pattern and not _NAME.match(value):
        return f"{key} may hold only letters, digits and . _ : -"
    return None


def _optional_text(data: Mapping[str, Any], key: str, limit: int) -> str | None:
    # any text: the kiosk config lets a shop name a reward "café" or "free coffee"
    return None if data.get(key) is None else _text(data, key, limit)


def _integer(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    # bool is an int in Python but never a count on the wire
    if not isinstance(value, int) or isinstance(value, bool):
        return f"{key} must be an integer"
    return None


def _problem(data: Mapping[str, Any], kiosk_id: str) -> str | None:
    unknown = sorted(set(data) - EVENT_FIELDS)
    if unknown:
        return f"unknown field(s): {', '.join(unknown)}"
    missing = sorted(REQUIRED_FIELDS - set(data))
    if missing:
        return f"missing field(s): {', '.join(missing)}"
    problem = (
        _text(data, "kiosk_id", 64, pattern=True)
        or _integer(data, "seq")
        or _integer(data, "delta")
        or _text(data, "program_version", 40)
        or _optional_text(data, "reward_id", 40)
        or _optional_text(data, "staff_ref", 64)
    )
    if problem:
        return problem
    if data["kiosk_id"] != kiosk_id:
        return "kiosk_id is not the kiosk this token belongs to"
    if not isinstance(data["card_ref"], str) or not is_card_ref(data["card_ref"]):
        return "card_ref must be 64 lowercase hex characters"
    if data["kind"] not in EventKind.__members__.values():
        return f"unknown kind {str(data['kind'])[:40]!r}"
    if data["seq"] < 0 or data["seq"] >= 2**62:
        return "seq must be between 0 and 2**62"
    if abs(data["delta"]) > MAX_DELTA:
        return f"delta must be between -{MAX_DELTA} and {MAX_DELTA}"
    if EventKind(data["kind"]) in _REWARD_KINDS and data.get("reward_id") is None:
        return f"a {data['kind']} event needs a reward_id"
    return None


def _occurred(value: Any, now: datetime) -> datetime | str:
    """The event's time in UTC, or the reason it is not believable."""
    if not isinstance(value, str) or len(value) > 40:
        return "occurred_at must be an ISO 8601 date-time string with an offset"
    try:
        occurred = datetime.fromisoformat(value)
    except ValueError:
        return "occurred_at is not an ISO 8601 date-time"
    if occurred.tzinfo is None:
        return "occurred_at must carry a UTC offset"
    try:
        occurred = occurred.astimezone(UTC)
    except OverflowError:
        return "occurred_at is out of range"
    if occurred < EARLIEST:
        return "occurred_at is before 2020: the kiosk clock is wrong"
    if occurred > now + MAX_AHEAD:
        return "occurred_at is more than a day in the future: the kiosk clock is wrong"
    return occurred


_KIND_OF = {kind.value: kind for kind in EventKind}


@functools.lru_cache(maxsize=256)
def _good_kiosk_id(kiosk_id: str) -> bool:
    return _text({"kiosk_id": kiosk_id}, "kiosk_id", 64, pattern=True) is None


def _short_or_none(value: Any, limit: int) -> bool:
    return value is None or type(value) is str and 1 <= len(value) <= limit


def _plainly_valid(data: Mapping[str, Any], kiosk_id: str) -> EventKind | None:
    """The event's kind when the event is well formed by a quick look, else None.

    Nearly every event a kiosk sends is; this answers those without the field-by-field
    walk. It passes only events `_problem` passes too: None sends the caller there, for
    the reason to give.
    """
    keys = data.keys()
    if not REQUIRED_FIELDS <= keys <= EVENT_FIELDS:
        return None
    seq, delta, card_ref, kind = data["seq"], data["delta"], data["card_ref"], data["kind"]
    version, reward_id = data["program_version"], data.get("reward_id")
    ok = (
        type(seq) is int and 0 <= seq < 2**62
        and type(delta) is int and -MAX_DELTA <= delta <= MAX_DELTA
        and data["kiosk_id"] == kiosk_id and _good_kiosk_id(kiosk_id)
        and type(version) is str and 1 <= len(version) <= 40
        and _short_or_none(reward_id, 40) and _short_or_none(data.get("staff_ref"), 64)
        and type(card_ref) is str and is_card_ref(card_ref)
        and type(kind) is str
    )
    found = _KIND_OF.get(kind) if ok else None
    if found is None or found in _REWARD_KINDS and reward_id is None:
        return None
    return found


def check_event(data: Mapping[str, Any], kiosk_id: str, now: datetime) -> Checked:
    """Judge one event object (whose `id` the envelope already checked) for `kiosk_id`."""
    event_id = str(data["id"])
    kind = _plainly_valid(data, kiosk_id)
    if kind is None:
        reason = _problem(data, kiosk_id)
        if reason is not None:
            return Checked(event_id, reason=reason)
        kind = EventKind(data["kind"])
    occurred = _occurred(data["occurred_at"], now)
    if isinstance(occurred, str):
        return Checked(event_id, reason=occurred)
    # built field by field (not Event.from_dict): every field is already checked above
    event = Event(
        id=event_id,
        kiosk_id=data["kiosk_id"],
        seq=data["seq"],
        card_ref=data["card_ref"],
        kind=kind,
        delta=data["delta"],
        reward_id=data.get("reward_id"),
        program_version=data["program_version"],
        occurred_at=occurred,
        staff_ref=data.get("staff_ref"),
    )
    return Checked(event_id, event=event, body_sha256=body_sha256(event))


OLDEST_BIRTHDAY = date(1900, 1, 1)
MAX_FIRST_NAME = 60


def customer_problem(
    first_name: str | None, birthday: date | None, consent: bool, today: date
) -> str | None:
    """Why customer details cannot be kept, or None (the API and the CLI both ask)."""
    if not consent and (first_name or birthday):
        return "first name and birthday are kept only with the customer's consent"
    # kiosks show the first name on their screen: no control characters
    if first_name is not None and not (
        1 <= len(first_name) <= MAX_FIRST_NAME and first_name.isprintable()
    ):
        return f"first name: 1 to {MAX_FIRST_NAME} printable characters"
    if birthday is not None and not OLDEST_BIRTHDAY <= birthday <= today:
        return f"birthday must fall between {OLDEST_BIRTHDAY} and today"
    return None
