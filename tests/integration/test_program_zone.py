"""Stamp days are counted in the running program's time zone: the ledger's fold follows a
program served live, and one held in the ledger from an earlier sync at boot (a daily cap
compares the card's stamp day with today in the program's zone)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from central.program import from_toml
from kiosk.adapters.ledger import Ledger
from kiosk.config import Config, from_mapping
from kiosk.core.staff import StaffPolicy
from kiosk.served import FROM_CENTRAL, PROGRAM_JSON, Running, parse_served
from kiosk.service import Counter

LATE = datetime(2026, 5, 31, 23, 30, tzinfo=UTC)  # already 1 June in Paris
UID = bytes.fromhex("04a1b2c3d4e5f6")
PARIS = from_toml('version = "paris"\ntimezone = "Europe/Paris"\ncooldown_minutes = 0\n')


def utc_kiosk(state: Path) -> Config:
    return from_mapping({"kiosk": {"state_dir": str(state)},
                         "program": {"timezone": "UTC", "cooldown_minutes": 0}})


def test_a_program_served_live_moves_the_next_stamp_day_to_its_zone(tmp_path: Path) -> None:
    counter = Counter.open(utc_kiosk(tmp_path))
    try:
        counter.tap(UID, LATE)
        ref = counter.card_ref(UID)
        assert counter.ledger.card(ref).stamp_day == date(2026, 5, 31)
        counter.use_program(Running(parse_served(PARIS).program, StaffPolicy(), FROM_CENTRAL))
        counter.tap(UID, LATE + timedelta(minutes=10))
        assert counter.ledger.card(ref).stamp_day == date(2026, 6, 1)
    finally:
        counter.close()


def test_a_served_program_held_in_the_ledger_sets_the_zone_at_boot(tmp_path: Path) -> None:
    config = utc_kiosk(tmp_path)
    with Ledger.open(config.kiosk.ledger_path) as ledger:
        ledger.set_meta({PROGRAM_JSON: json.dumps(PARIS)})
    counter = Counter.open(config)
    try:
        assert counter.program.version == "paris"
        counter.tap(UID, LATE)
        assert counter.ledger.card(counter.card_ref(UID)).stamp_day == date(2026, 6, 1)
    finally:
        counter.close()
