"""Checking what kiosks send, before anything is written. Pure: `now` is passed in.

An upload is judged at two levels. The envelope (JSON object with an `events` list of
1..500 objects, each with a string `id`) is all-or-nothing: a bad one is a 4xx for the
whole request. Each event is then judged alone, so one bad event never sinks a batch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from kiosk.core.events import (
    EVENT_FIELDS,
    EVENT_NAMES,
    EVENT_SCHEMA,
    NEEDED_BY_KIND,
    Event,
    EventKind,
)

MAX_EVENTS = 500
EARLIEST = datetime(2020, 1, 1, tzinfo=UTC)
MAX_AHEAD = timedelta(days=1)

FIELDS = frozenset(EVENT_NAMES)
REQUIRED_FIELDS = EVENT_SCHEMA.required
_ID = next(spec.rule for spec in EVENT_FIELDS if spec.name == "id")
# The fields of the first schema are always in an event's fingerprint; a field added since
# counts only when it is set, so an event stored before the field existed keeps its print.
_FIRST_SCHEMA = 10


class BadEnvelope(ValueError):
    """The request as a whole is unusable; the message says why."""


@dataclass(frozen=True)
class Checked:
    """One event of a batch after checking: either `event` or a `reason` it was rejected."""

    id: str
    event: Event | None = None
    body_sha256: str = ""
    reason: str | None = None
    wire: tuple[Any, ...] = ()  # event.to_row(), worked out once for the fingerprint


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
        problem = _ID.problem("id", item.get("id"))
        if problem is not None:
            raise BadEnvelope(f"events[{index}].{problem}")
    return items


def body_sha256(event: Event) -> str:
    """A fingerprint of an event's content, to tell a retry from a clash of ids."""
    return _fingerprint(event.to_row())


def _fingerprint(wire: tuple[Any, ...]) -> str:
    kept = wire[:_FIRST_SCHEMA]
    if any(value is not None for value in wire[_FIRST_SCHEMA:]):
        kept += tuple(
            (name, value)
            for name, value in zip(EVENT_NAMES[_FIRST_SCHEMA:], wire[_FIRST_SCHEMA:], strict=True)
            if value is not None
        )
    # repr() of a tuple of str/int/None is unambiguous ('None' vs None) and cheap
    return hashlib.sha256(repr(kept).encode()).hexdigest()


def _needs(kind: EventKind, data: Mapping[str, Any]) -> str | None:
    missing = sorted(name for name in NEEDED_BY_KIND.get(kind, ()) if data.get(name) is None)
    return f"a {kind.value} event needs {', '.join(missing)}" if missing else None


def why_refused(data: Mapping[str, Any], kiosk_id: str) -> str | None:
    """Why an event object is refused for `kiosk_id` (its time aside), or None: the full
    check, field by field, for the events the quick look did not pass."""
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        return f"unknown field(s): {', '.join(unknown)}"
    missing = sorted(REQUIRED_FIELDS - set(data))
    if missing:
        return f"missing field(s): {', '.join(missing)}"
    for spec in EVENT_FIELDS:
        value = data.get(spec.name)
        problem = None if value is None and spec.optional else spec.rule.problem(spec.name, value)
        if problem is not None:
            return problem
    if data["kiosk_id"] != kiosk_id:
        return "kiosk_id is not the kiosk this token belongs to"
    return _needs(EventKind(data["kind"]), data)


# (name, quick check, may be null) of every field, for the quick look
_QUICK = tuple((spec.name, spec.rule.fits, spec.optional) for spec in EVENT_FIELDS)
_KIND_OF = {kind.value: kind for kind in EventKind}


def plainly_valid(data: Mapping[str, Any], kiosk_id: str) -> EventKind | None:
    """The event's kind when the event is well formed by a quick look, else None.

    Nearly every event a kiosk sends is; this answers those without composing reasons.
    It passes only events `why_refused` passes too: None sends the caller there, for the
    reason to give.
    """
    if not REQUIRED_FIELDS <= data.keys() <= FIELDS:
        return None
    for name, fits, optional in _QUICK:
        value = data.get(name)
        if not (fits(value) or value is None and optional):
            return None
    if data["kiosk_id"] != kiosk_id:
        return None
    kind = _KIND_OF[data["kind"]]
    needed = NEEDED_BY_KIND.get(kind)
    if needed and any(data.get(name) is None for name in needed):
        return None
    return kind


def _implausible(occurred: datetime, now: datetime) -> str | None:
    if occurred < EARLIEST:
        return "occurred_at is before 2020: the kiosk clock is wrong"
    if occurred > now + MAX_AHEAD:
        return "occurred_at is more than a day in the future: the kiosk clock is wrong"
    return None


def check_event(data: Mapping[str, Any], kiosk_id: str, now: datetime) -> Checked:
    """Judge one event object (whose `id` the envelope already checked) for `kiosk_id`."""
    event_id = str(data["id"])
    if plainly_valid(data, kiosk_id) is None:
        reason = why_refused(data, kiosk_id)
        if reason is not None:
            return Checked(event_id, reason=reason)
    try:
        # every field has passed its rule: only the time's text can still fail to read
        event = Event(**EVENT_SCHEMA.checked_values(data))
    except ValueError as error:
        return Checked(event_id, reason=str(error))
    reason = _implausible(event.occurred_at, now)
    if reason is not None:
        return Checked(event_id, reason=reason)
    wire = event.to_row()
    return Checked(event_id, event=event, body_sha256=_fingerprint(wire), wire=wire)


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
