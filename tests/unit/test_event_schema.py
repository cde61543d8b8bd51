"""One definition of an event: every database that stores events has a column for each of
its fields, wide enough for what the central accepts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Integer, String

from central.db import events
from kiosk.core.events import EVENT_FIELDS, Event, EventKind
from kiosk.core.wire import Text, Whole


def test_the_central_events_table_holds_every_field_of_an_event() -> None:
    for spec in EVENT_FIELDS:
        assert spec.name in events.c, f"add a migration creating events.{spec.name}"
        column = events.c[spec.name]
        assert column.nullable is spec.optional, spec.name
        if isinstance(spec.rule, Text):
            assert isinstance(column.type, String)
            assert column.type.length is None or column.type.length >= spec.rule.max_length
        elif isinstance(spec.rule, Whole):
            assert isinstance(column.type, Integer)


def test_an_event_read_back_from_its_wire_form_is_the_same_event() -> None:
    paris = timezone(timedelta(hours=1))
    event = Event("e1", "k1", 3, "ab" * 32, EventKind.REWARD_REDEEMED, 0, "coffee", "2",
                  datetime(2026, 1, 5, 9, 30, tzinfo=paris), staff_ref="cd" * 32)
    wire = event.to_dict()
    assert list(wire) == [spec.name for spec in EVENT_FIELDS]
    assert wire["occurred_at"] == "2026-01-05T08:30:00+00:00" and wire["kind"] == "reward_redeemed"
    assert Event.from_dict(wire) == event == Event.from_row(event.to_row())
    assert Event.from_dict(wire).occurred_at.tzinfo is UTC


@pytest.mark.parametrize(
    ("change", "message"),
    [({"seq": None}, "seq is missing"), ({"kind": "gift"}, "kind "),
     ({"occurred_at": "2026-01-05T09:30"}, "occurred_at must carry a UTC offset"),
     ({"delta": "two"}, "delta ")],
)
def test_a_wire_form_that_is_no_event_is_refused_naming_the_field(
    change: dict[str, object], message: str
) -> None:
    wire = Event("e1", "k1", 3, "ab" * 32, EventKind.STAMP, 1, None, "2",
                 datetime(2026, 1, 5, tzinfo=UTC)).to_dict()
    with pytest.raises(ValueError, match=f"^{message}"):
        Event.from_dict({**wire, **change})
