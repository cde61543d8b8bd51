"""Events a kiosk's rules could not make are stored but held, not counted: over real HTTP,
on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from central.cli import main
from central.program import from_toml, section
from central.testing import Client, event_dict
from kiosk.core.events import Event, EventKind, fold, record
from kiosk.core.rules import decide_redeem, decide_tap
from tests.support.program_central import serving

NOW = datetime(2026, 6, 1, 18, 0, tzinfo=UTC)
CARD = hashlib.sha256(b"a regular").hexdigest()
PROGRAM = from_toml('version = "v1"\ngoal = 5\nwelcome_bonus = 1\npoints_per_euro = 0\n'
                    '[[milestones]]\nid = "cookie"\nname = "a cookie"\nstamps = 3\n'
                    '[[tiers]]\nname = "Gold"\nthreshold = 4\nmultiplier = 2\n')


@pytest.fixture
def kiosk(central_db: str) -> Iterator[Client]:
    with serving(central_db, PROGRAM, NOW, "k1") as (client,):
        yield client


def day_of_taps(count: int) -> list[Event]:
    """A card's taps as the kiosk's rules record them, an hour apart, and one redemption."""
    program = section(PROGRAM).to_program()
    events: list[Event] = []
    for n in range(count):
        moment = NOW - timedelta(hours=count + 1 - n)
        outcome = decide_tap(program, fold(CARD, events), moment)
        events += record(outcome.changes, card_ref=CARD, kiosk_id="k1", program_version="v1",
                         now=moment, new_id=lambda: str(uuid.uuid4()), first_seq=len(events))
    redeemed = decide_redeem(program, fold(CARD, events), NOW - timedelta(minutes=30))
    return events + list(record(redeemed.changes, card_ref=CARD, kiosk_id="k1",
                                program_version="v1", now=NOW - timedelta(minutes=30),
                                new_id=lambda: str(uuid.uuid4()), first_seq=len(events)))


def results(reply: Any) -> list[tuple[str, str | None]]:
    return [(r["status"], r["reason"]) for r in reply.json()["results"]]


def test_a_normal_day_of_taps_from_the_kiosk_rules_is_all_accepted(kiosk: Client) -> None:
    events = day_of_taps(12)
    assert any(e.kind is EventKind.REWARD_REDEEMED for e in events)
    reply = kiosk.post_events([e.to_dict() for e in events])
    assert {status for status, _ in results(reply)} == {"accepted"}
    assert reply.json()["cards"][CARD]["stamps"] == fold(CARD, events).stamps


def test_an_adjustment_of_a_thousand_stamps_is_held_and_the_card_unchanged(
    kiosk: Client, central_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    taps = day_of_taps(2)
    kiosk.post_events([e.to_dict() for e in taps])
    minted = event_dict("k1", CARD, 100, NOW - timedelta(minutes=5), kind=EventKind.ADJUSTMENT,
                        delta=1000, program_version="v1")
    reply = kiosk.post_events([minted])
    [(status, reason)] = results(reply)
    assert status == "held" and reason is not None and "adjustment of 1000" in reason
    assert reply.json()["cards"][CARD]["stamps"] == fold(CARD, taps).stamps
    assert results(kiosk.post_events([minted])) == [("duplicate", None)]
    assert kiosk.get(f"/v1/cards/{CARD}").json()["stamps"] == fold(CARD, taps).stamps
    assert main(["held", "--db", central_db]) == 0
    listed = capsys.readouterr().out
    assert minted["id"] in listed and "adjustment\t1000" in listed and reason in listed


def test_a_reward_earned_without_the_stamps_is_held(kiosk: Client) -> None:
    kiosk.post_events([e.to_dict() for e in day_of_taps(1)])
    minted = event_dict("k1", CARD, 100, NOW - timedelta(minutes=5),
                        kind=EventKind.REWARD_EARNED, delta=-5, reward_id="reward",
                        program_version="v1")
    reply = kiosk.post_events([minted])
    assert results(reply)[0][0] == "held"
    assert reply.json()["cards"][CARD]["vouchers"] == {}


def test_a_redemption_with_no_voucher_is_held_and_a_stamp_after_it_counts(kiosk: Client) -> None:
    kiosk.post_events([e.to_dict() for e in day_of_taps(1)])
    redeemed = event_dict("k1", CARD, 100, NOW - timedelta(minutes=5),
                          kind=EventKind.REWARD_REDEEMED, delta=0, reward_id="reward",
                          program_version="v1")
    later = event_dict("k1", CARD, 101, NOW - timedelta(minutes=4), program_version="v1")
    reply = kiosk.post_events([redeemed, later])
    assert [status for status, _ in results(reply)] == ["held", "accepted"]
    card = reply.json()["cards"][CARD]
    assert card["redeemed"] == {} and card["overdrawn"] is False


def test_a_stamp_beyond_the_largest_basket_is_held(kiosk: Client) -> None:
    # plain stamps (no points): one tap earns one stamp, twice that for Gold
    kiosk.post_events([e.to_dict() for e in day_of_taps(1)])
    big = event_dict("k1", CARD, 100, NOW - timedelta(minutes=5), delta=3, program_version="v1")
    assert results(kiosk.post_events([big]))[0][0] == "held"
