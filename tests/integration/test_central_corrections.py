"""Corrections and program changes at the central, over real HTTP on SQLite and PostgreSQL:
a card enrolled at two kiosks offline counts one welcome bonus, staff corrections made by
the kiosk's rules are accepted, and a switch to points must say how balances convert."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from central.cli import main
from central.program import from_toml, section
from central.testing import Client
from kiosk.core.corrections import decide_adjust, decide_replace
from kiosk.core.events import Change, Event, EventKind, fold
from kiosk.core.outcome import Replaced
from kiosk.core.rules import decide_tap
from tests.support.program_central import serving
from tests.support.replacements import NEW, NOW, OLD, recorded

PROGRAM = from_toml('version = "v1"\ngoal = 5\nwelcome_bonus = 2\n')
RULES = section(PROGRAM).to_program()


@pytest.fixture
def kiosks(central_db: str) -> Iterator[tuple[Client, Client]]:
    with serving(central_db, PROGRAM, NOW, "k1", "k2") as (first, second):
        yield first, second


def tap(events: list[Event], card: str, kiosk: str, at: datetime) -> list[Event]:
    """The events of one tap at `kiosk`, decided on what that kiosk knows (`events`)."""
    mine = [e for e in events if e.card_ref == card]
    outcome = decide_tap(RULES, fold(card, mine), at)
    return recorded(outcome.changes, card, kiosk, at, len(events) + 1)


def statuses(reply: Any) -> set[str]:
    return {r["status"] for r in reply.json()["results"]}


def test_a_card_enrolled_offline_at_two_kiosks_gets_one_welcome_bonus_at_the_central(
    kiosks: tuple[Client, Client],
) -> None:
    first, second = kiosks
    at_one = tap([], OLD, "k1", NOW - timedelta(hours=3))
    at_one += tap(at_one, OLD, "k1", NOW - timedelta(hours=2))
    at_two = tap([], OLD, "k2", NOW - timedelta(hours=1))  # never heard of it: enrols it too
    assert statuses(first.post_events([e.to_dict() for e in at_one])) == {"accepted"}
    reply = second.post_events([e.to_dict() for e in at_two])
    assert statuses(reply) == {"accepted"}
    assert reply.json()["cards"][OLD]["stamps"] == 2 + 3  # one bonus, three visits
    assert first.get(f"/v1/cards/{OLD}").json()["stamps"] == 5


def test_an_adjustment_and_a_replacement_are_accepted_and_move_the_balance(
    kiosks: tuple[Client, Client],
) -> None:
    kiosk, _ = kiosks
    events = tap([], OLD, "k1", NOW - timedelta(hours=3))  # 3 stamps
    adjusted = decide_adjust(RULES, fold(OLD, events), 1, "stamp forgotten", NOW - timedelta(hours=2))
    events += recorded(adjusted.changes, OLD, "k1", NOW - timedelta(hours=2), len(events) + 1, "staff-1")
    moved = decide_replace(RULES, fold(OLD, events), fold(NEW, []), NOW - timedelta(hours=1))
    assert isinstance(moved, Replaced)
    at = NOW - timedelta(hours=1)
    events += recorded(moved.old_changes, OLD, "k1", at, len(events) + 1, "staff-1")
    events += recorded(moved.changes, NEW, "k1", at, len(events) + 1, "staff-1")
    reply = kiosk.post_events([e.to_dict() for e in events])
    assert statuses(reply) == {"accepted"}, reply.json()
    cards = reply.json()["cards"]
    assert (cards[OLD]["stamps"], cards[NEW]["stamps"]) == (0, 4)


def test_an_adjustment_below_zero_is_held_at_the_central(kiosks: tuple[Client, Client]) -> None:
    kiosk, _ = kiosks
    events = tap([], OLD, "k1", NOW - timedelta(hours=3))  # 3 stamps
    taken = recorded([Change(EventKind.MANUAL_ADJUSTMENT, -4, "typo")], OLD, "k1",
                     NOW - timedelta(hours=2), len(events) + 1, "staff-1")
    reply = kiosk.post_events([e.to_dict() for e in [*events, *taken]])
    held = [r for r in reply.json()["results"] if r["status"] == "held"]
    assert [r["id"] for r in held] == [taken[0].id]
    assert reply.json()["cards"][OLD]["stamps"] == 3


def test_setting_a_points_version_without_a_conversion_is_refused_and_changes_nothing(
    central_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    stamps, points = tmp_path / "stamps.toml", tmp_path / "points.toml"
    stamps.write_text('[program]\nversion = "1"\ngoal = 10\n')
    points.write_text('[program]\nversion = "2"\ngoal = 500\npoints_per_euro = 2\n')
    assert main(["program", "set", str(stamps), "--db", central_db]) == 0
    assert main(["program", "set", str(points), "--db", central_db]) != 0
    assert "points_per_stamp" in capsys.readouterr().err
    points.write_text('[program]\nversion = "2"\ngoal = 500\npoints_per_euro = 2\npoints_per_stamp = 50\n')
    assert main(["program", "set", str(points), "--db", central_db]) == 0
    capsys.readouterr()
    assert main(["program", "show", "--db", central_db]) == 0
    served = json.loads(capsys.readouterr().out)
    assert (served["switched_in"], served["unit_versions"]) == ("2", ["2"])
