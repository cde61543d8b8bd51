"""The sync client trusts nothing it is sent: cards checked before they are cached, a whole
answer bounded in time, the central's Date read as a clock, refusals for time retried."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kiosk.adapters import timekeeper
from kiosk.adapters.ledger import Ledger
from kiosk.config import Config
from kiosk.core.clock import AGREE, MAX_AHEAD, TIME_REFUSED
from kiosk.core.events import CardState
from kiosk.service import Counter
from tests.support import central_server, kiosk_setup, worker_for
from tests.support.scripted_central import ScriptedCentral

UID = bytes.fromhex("04A1B2C3D4E5F6")
OTHER = bytes.fromhex("04A1B2C3D4E5F7")


@pytest.fixture
def token(tmp_path: Path) -> Path:
    path = tmp_path / "kiosk.token"
    path.write_text("secret-token\n")
    return path


def kiosk(tmp_path: Path, central: ScriptedCentral, token: Path, **fields: Any) -> Config:
    return kiosk_setup(tmp_path / "state", central.url, token, **fields)


def tap(config: Config, uid: bytes = UID, clock: Any = None) -> str:
    counter = Counter.open(config, **({"clock": clock} if clock else {}))
    try:
        counter.tap(uid)
        return counter.card_ref(uid)
    finally:
        counter.close()


def cached(config: Config, ref: str) -> CardState:
    with Ledger.open(config.kiosk.ledger_path) as ledger:
        return ledger.card(ref)


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("last_visit", "2026-01-05T09:00:00", "last_visit has no time zone"),
        ("last_visit", "9999-12-31T23:50:00+00:00", "last_visit is more than 1 day ahead"),
        ("stamps", 10**15, "stamps is not a whole number"),
        ("earned", {"coffee\x1b[2J": 1}, "control characters"),
    ],
)
def test_a_served_card_out_of_bounds_is_logged_and_never_reaches_the_card_cache(
    tmp_path: Path, token: Path, caplog: pytest.LogCaptureFixture, field: str, value: Any,
    problem: str,
) -> None:
    def card(ref: str) -> dict[str, Any]:
        body = CardState(ref, enrolled=True, stamps=7, visits=7).to_dict()
        return {**body, field: value}

    with ScriptedCentral(card=card) as central:
        config = kiosk(tmp_path, central, token)
        ref = tap(config)
        own = cached(config, ref)
        with caplog.at_level(logging.WARNING, logger="kiosk.adapters.sync_client"):
            report = worker_for(config).sync_once()
        assert report.ok and report.accepted == report.sent  # the events' results still count
        assert cached(config, ref) == own  # the kiosk's own fold, not the server's card
        refused = [r.getMessage() for r in caplog.records if "card_refused" in r.getMessage()]
        # once per answer that served it: the batch's and the changed cards' page
        assert len(refused) == 2 and all(problem in found for found in refused)
        assert "\x1b" not in refused[0]
        tap(config)  # the card's next tap works, on the kiosk's own state
        assert cached(config, ref).visits == own.visits + 1


def test_a_server_dripping_its_answer_cannot_hold_a_sync_past_the_deadline(
    tmp_path: Path, token: Path
) -> None:
    # one byte every 0.3 s keeps each read inside read_timeout; the whole answer takes > 30 s
    with ScriptedCentral(drip=0.3) as central:
        config = kiosk(tmp_path, central, token, connect_timeout=0.5, read_timeout=1.0)
        tap(config)
        started = time.monotonic()
        report = worker_for(config).sync_once()
        elapsed = time.monotonic() - started
    assert report.error is not None and "no whole answer within 1.5 s" in report.error
    assert elapsed < 15  # the deadline (1.5 s) plus slack for a loaded machine, not the drip
    with Ledger.open(config.kiosk.ledger_path) as ledger:
        assert ledger.outbox().synced == 0  # nothing was settled from half an answer


def test_a_kiosk_clock_two_hours_fast_dates_its_events_by_the_centrals_once_readings_agree(
    tmp_path: Path, token: Path
) -> None:
    with ScriptedCentral(clock=lambda: datetime.now(UTC) - timedelta(hours=2)) as central:
        config = kiosk(tmp_path, central, token)
        worker = worker_for(config)
        for _ in range(AGREE):
            worker.sync_once()
        counter = Counter.open(config)
        try:
            corrected = counter.now()
        finally:
            counter.close()
    expected = datetime.now(UTC) - timedelta(hours=2)
    assert abs(corrected - expected) < timedelta(minutes=1)
    with Ledger.open(config.kiosk.ledger_path) as ledger:
        assert timekeeper.verdict(ledger).describe() == "ahead by 2h 00m (central clock)"


def test_after_one_forward_jump_later_events_are_taken_and_the_jumped_one_is_retried_when_due(
    tmp_path: Path, token: Path
) -> None:
    now = datetime.now(UTC)
    central_now = [now]

    def refuse(event: dict[str, Any]) -> str | None:
        ahead = datetime.fromisoformat(event["occurred_at"]) > central_now[0] + MAX_AHEAD
        return "occurred_at is more than a day in the future: the kiosk clock is wrong" if ahead else None

    jumped = now + timedelta(days=400)
    with ScriptedCentral(refuse=refuse, clock=lambda: central_now[0]) as central:
        config = kiosk(tmp_path, central, token)
        jumped_ref = tap(config, UID, clock=lambda: jumped)  # the clock jumped, then NTP fixed it
        worker = worker_for(config)
        for _ in range(AGREE):
            worker.sync_once()
        with Ledger.open(config.kiosk.ledger_path) as ledger:
            aside = ledger.rejected()
        assert {e.card_ref for e, _ in aside} == {jumped_ref}  # enrolled + stamp, kept aside
        assert all(reason.startswith(TIME_REFUSED) for _, reason in aside)

        tap(config, OTHER)  # dated now, not held at the jumped event's time
        report = worker.sync_once()
        assert (report.accepted, report.rejected) == (report.sent, 0)

        # the central's time reaches the jumped event's: it is sent again and taken
        central_now[0] = jumped
        later = worker_for(config, clock=lambda: jumped)
        for _ in range(AGREE):
            later.sync_once()
        with Ledger.open(config.kiosk.ledger_path) as ledger:
            assert ledger.rejected() == []
            assert ledger.outbox().pending == 0
        sent = [e["id"] for e in central.received]
        assert all(sent.count(e.id) == 2 for e, _ in aside)  # refused once, then taken


def test_a_served_program_with_control_characters_is_refused_and_not_run(
    tmp_path: Path, token: Path
) -> None:
    program = {"name": "Café", "version": "v2\x1b[2J", "goal": 8, "reward_id": "coffee",
               "reward": "free coffee", "welcome_bonus": 0, "cooldown_minutes": 0,
               "daily_cap": 0, "timezone": "UTC"}
    with ScriptedCentral(program=program) as central:
        config = kiosk(tmp_path, central, token)
        report = worker_for(config).sync_once()
    assert report.error == "garbage answer: the program holds control characters"
    assert not report.program_updated


def test_the_real_centrals_answers_give_the_kiosk_readings_of_its_clock(tmp_path: Path) -> None:
    with central_server(tmp_path / "central") as central:
        config = kiosk_setup(tmp_path / "state", central.url, central.token_file("kiosk-1"))
        tap(config)
        worker = worker_for(config)
        for _ in range(AGREE):
            assert worker.sync_once().ok
    with Ledger.open(config.kiosk.ledger_path) as ledger:
        kept = timekeeper.readings(ledger)
        assert len(kept) >= AGREE
        assert timekeeper.verdict(ledger).describe() == "ok (central clock)"
