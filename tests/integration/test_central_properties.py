"""Hypothesis against the real server: random batches and random bodies.

One server and one database serve every example; a model of what the server should hold
grows with them, so repeats and clashes are judged against everything sent before.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from central.db import Database, open_database
from central.ingest import held_events
from central.moves import KINDS as MOVE_KINDS
from central.orgs import DEFAULT_ORG
from central.serving import Limits
from central.testing import Client, add_kiosk, add_owner_key, event_dict, running_server
from kiosk.core.events import EVENT_NAMES, NEEDED_BY_KIND, Event, EventKind, fold
from tests.support.databases import BACKENDS, database_url

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CARDS = [f"{n:064x}" for n in (1, 2, 3)]
# one kiosk sends every example as fast as it can: no rate limit here
UNLIMITED = Limits(rate=10_000, burst=100_000)
ZONES = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5))])


class Model:
    def __init__(self, client: Client, owner: Client, db: Database) -> None:
        self.client, self.owner, self.db = client, owner, db
        self.stored: dict[str, dict[str, Any]] = {}
        self.held: set[str] = set()  # stored, but held for review: never folded

    def still_held(self) -> set[str]:
        """The events held now: a held move is counted once the old card's events arrive."""
        return {e["id"] for e in held_events(self.db, DEFAULT_ORG)}


@pytest.fixture(scope="module", params=BACKENDS)
def model(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
          pg_cluster: Any) -> Iterator[Model]:
    db = database_url(request.param, Path(tmp_path_factory.mktemp("central")), pg_cluster)
    with running_server(db, clock=lambda: NOW, limits=UNLIMITED) as url:
        opened = open_database(db)
        try:
            yield Model(Client(url, add_kiosk(db, "hk")), Client(url, add_owner_key(db, "script")),
                        opened)
        finally:
            opened.dispose()


@st.composite
def valid_events(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(list(EventKind)))
    # a kind's needed fields are set: a valid event of that kind has them
    needed = NEEDED_BY_KIND.get(kind, frozenset())
    rewarded = "reward_id" in needed
    occurred = draw(st.datetimes(min_value=datetime(2020, 1, 2), max_value=datetime(2026, 6, 2),
                                 timezones=ZONES))
    return {
        "id": str(draw(st.uuids())),
        "kiosk_id": "hk",
        "seq": draw(st.integers(0, 10**6)),
        "card_ref": draw(st.sampled_from(CARDS)),
        "kind": kind.value,
        "delta": draw(st.integers(-1000, 1000)),
        "reward_id": draw(st.sampled_from(["reward", "café crème"])) if rewarded else None,
        "program_version": "1",
        "occurred_at": occurred.isoformat(),
        "staff_ref": "staff-1" if "staff_ref" in needed else draw(st.none() | st.just("staff-1")),
    }


MUTATIONS: list[dict[str, Any]] = [
    {"card_ref": "0" * 63}, {"card_ref": "G" * 64}, {"card_ref": None}, {"kind": "gift"},
    {"kind": 3}, {"delta": 1001}, {"delta": -5000}, {"delta": 1.0}, {"delta": None},
    {"seq": "1"}, {"seq": -1}, {"occurred_at": "2019-06-01T00:00:00+00:00"},
    {"occurred_at": "2026-06-03T00:00:00+00:00"}, {"occurred_at": "2026-05-01T00:00:00"},
    {"occurred_at": 1700000000}, {"kiosk_id": "other"}, {"kiosk_id": ""}, {"x": 1},
    {"program_version": ""}, {"reward_id": 5}, {"reward_id": "r" * 41}, {"staff_ref": ["a"]},
]

# an action: (what, event drawn, a number to pick a stored event with)
actions = st.tuples(
    st.sampled_from(["new", "new", "repeat", "clash", "bad"]),
    valid_events(),
    st.integers(0, 10**6),
    st.sampled_from(MUTATIONS),
)


def expected_batch(model: Model, drawn: list[Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """The batch to send and the status the server must answer for each event."""
    batch: list[dict[str, Any]] = []
    expected: list[str] = []
    pending = dict(model.stored)
    for what, event, pick, mutation in drawn:
        known = list(pending)
        if what in ("repeat", "clash") and known:
            original = pending[known[pick % len(known)]]
            if what == "repeat":
                batch.append(dict(original))
                expected.append("duplicate")
            else:
                batch.append({**original, "delta": (original["delta"] + 1) % 1000})
                expected.append("rejected")
        elif what == "bad":
            batch.append({**event, **mutation})
            expected.append("rejected")
        else:
            batch.append(event)
            # hypothesis may draw an id it drew before: then it is a repeat or a clash
            before = pending.get(event["id"])
            if before is None:
                pending[event["id"]] = event
                expected.append("accepted")
            else:
                same = Event.from_dict(before) == Event.from_dict(event)
                expected.append("duplicate" if same else "rejected")
    return batch, expected


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(drawn=st.lists(actions, min_size=1, max_size=25))
def test_accepted_events_are_exactly_the_valid_new_ones(model: Model, drawn: list[Any]) -> None:
    batch, expected = expected_batch(model, drawn)
    reply = model.client.post_events(batch)
    assert reply.status == 200, reply.body
    answer = reply.json()
    assert [r["id"] for r in answer["results"]] == [e["id"] for e in batch]
    # random events are mostly more than a kiosk's rules make: stored new, but held
    answered = [r["status"] for r in answer["results"]]
    assert [s.replace("held", "accepted") for s in answered] == expected
    assert all(r["reason"] for r in answer["results"] if r["status"] in ("rejected", "held"))
    for event, status in zip(batch, answered, strict=True):
        if status in ("accepted", "held"):
            model.stored[event["id"]] = event
        if status == "held":
            model.held.add(event["id"])
    released = model.held - model.still_held()
    assert all(model.stored[i]["kind"] in MOVE_KINDS for i in released)  # only moves leave
    model.held -= released
    for card_ref, card in answer["cards"].items():
        mine = [Event.from_dict(e) for e in model.stored.values()
                if e["card_ref"] == card_ref and e["id"] not in model.held]
        state = fold(card_ref, mine)
        assert (card["stamps"], card["visits"], card["earned"], card["redeemed"]) == (
            state.stamps, state.visits, dict(state.earned), dict(state.redeemed)
        )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner,
                                                                max_size=5),
    max_leaves=30,
)
event_like = st.dictionaries(
    st.sampled_from([*EVENT_NAMES, "other"]), json_values, max_size=len(EVENT_NAMES) + 1,
)
bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.lists(event_like, max_size=8).map(lambda evs: json.dumps({"events": evs}).encode()),
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies)
def test_no_body_makes_the_server_fail(model: Model, body: bytes) -> None:
    reply = model.client.request("POST", "/v1/events", body)
    assert reply.status in (200, 400, 413, 422), reply.body
    answer = reply.json()
    if reply.status == 200:
        sent = json.loads(body)["events"]
        assert len(answer["results"]) == len(sent)
        assert {r["status"] for r in answer["results"]} <= {"rejected", "duplicate", "accepted"}
    else:
        assert isinstance(answer["detail"], str) and answer["detail"]


def test_a_fresh_uuid_is_accepted_once_between_the_random_runs(model: Model) -> None:
    event = event_dict("hk", CARDS[0], 1, NOW)
    model.stored[event["id"]] = event
    first = model.client.post_events([event]).json()["results"][0]["status"]
    again = model.client.post_events([event]).json()["results"][0]["status"]
    assert (first, again) == ("accepted", "duplicate")


customer_bodies = st.one_of(
    st.binary(max_size=200),
    st.dictionaries(st.sampled_from(["first_name", "birthday", "consent", "x"]), json_values,
                    max_size=4).map(lambda d: json.dumps(d).encode()),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=customer_bodies)
def test_no_customer_body_makes_the_server_fail(model: Model, body: bytes) -> None:
    reply = model.owner.request("PUT", f"/v1/cards/{CARDS[2]}/customer", body)
    assert reply.status in (200, 400, 413, 422), reply.body
    if reply.status == 200:
        assert json.loads(body)["consent"] is True or not (
            reply.json()["first_name"] or reply.json()["birthday"]
        )
