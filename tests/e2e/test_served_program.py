"""The program served by the central API runs at the kiosk: live in the daemon without a
restart, at boot ahead of the file's [program], and a garbage one is ignored.

The whole App in-process over nfcpy's UDP device to a virtual field, with a real central
server on loopback (one for the module) and the real ledger and display.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert

from central import cli as central_cli
from central.db import open_database, programs
from central.orgs import DEFAULT_ORG
from central.program import from_toml
from kiosk import cli as kiosk_cli
from kiosk import config as config_module
from kiosk.adapters.ledger import Ledger
from kiosk.core import cardid
from kiosk.served import PROGRAM_ETAG, PROGRAM_JSON, PROGRAM_REFUSED, running_program
from kiosk.service import Counter, load_site_key
from sim.harness import wait_until
from sim.nfc import make_card
from tests.support import Central, central_server, kiosk_setup, worker_for
from tests.support.app_runner import running_sim_app

EVERY_DAY = '["mon", "tue", "wed", "thu", "fri", "sat", "sun"]'


@pytest.fixture(scope="module")
def central(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Central]:
    with central_server(tmp_path_factory.mktemp("central")) as server:
        yield server


def publish(central: Central, tmp_path: Path, text: str) -> None:
    path = tmp_path / "program.toml"
    path.write_text(text)
    assert central_cli.main(["program", "set", str(path), "--db", str(central.db)]) == 0


def test_the_daemon_runs_a_newly_served_program_from_the_next_tap_without_a_restart(
    central: Central, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    customer, staff = make_card("ntag213", name="customer"), make_card("ntag213", name="staff")
    staff_ref = cardid.card_ref(load_site_key(state / "site.key"), staff.uid)  # type: ignore[attr-defined]
    token = central.token_file("kiosk-live")
    toml = f"""
[central]
url = "{central.url}"
token_file = "{token}"
interval = 0.2
[program]
name = "House card"
version = "file-1"
cooldown_minutes = 0
goal = 10
welcome_bonus = 0
timezone = "UTC"
"""
    with running_sim_app(tmp_path, toml, kiosk='id = "kiosk-live"') as run:
        tap = run.tap
        parts = run.parts
        assert parts.counter.program_source == "config"
        first = tap(customer)
        assert first.progress.goal == 10 and first.stamps == 1
        publish(central, tmp_path, f"""
[program]
name = "Summer card"
version = "summer-1"
goal = 6
welcome_bonus = 0
cooldown_minutes = 0
timezone = "UTC"
boosters = [{{ days = {EVERY_DAY}, multiplier = 3 }}]
[staff]
cards = ["{staff_ref}"]
""")
        parts.sync.wake()  # type: ignore[union-attr]
        assert wait_until(lambda: parts.counter.program.version == "summer-1", 10)
        assert parts.counter.program_source == "central"
        assert parts.display.screens.program_name == "Summer card"  # type: ignore[union-attr]
        second = tap(customer)
        assert second.progress.goal == 6 and second.stamps == 1 + 3  # the booster, once
        assert tap(staff).kind.value == "staff_mode"  # a staff card listed by the central
    out = io.StringIO()
    assert kiosk_cli.main(["--config", str(run.app.config_path), "status"], out) == 0
    assert "summer-1 (from central)" in out.getvalue()
    # after a restart with the central out of reach, the program held in the ledger runs
    # and the idle screen names it, not the file's [program]
    offline = toml.split("[program]")[1]
    with running_sim_app(tmp_path, "[program]" + offline, kiosk='id = "kiosk-live"') as again:
        assert again.parts.counter.program.version == "summer-1"
        assert again.parts.display.screens.program_name == "Summer card"  # type: ignore[union-attr]


def test_a_served_program_the_kiosk_cannot_parse_is_ignored_and_the_old_one_kept(
    central: Central, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    publish(central, tmp_path, '[program]\nversion = "good-2"\ngoal = 7\n')
    config = kiosk_setup(tmp_path / "state", central.url, central.token_file("kiosk-garbage"),
                         "kiosk-garbage")
    worker = worker_for(config)
    assert worker.sync_once().program_updated
    # a program the central's own check would refuse, written behind its back
    db = open_database(str(central.db))
    try:
        with db.engine.begin() as conn:
            conn.execute(insert(programs).values(
                org_id=DEFAULT_ORG,
                version="garbage-3", body=json.dumps({**from_toml('version = "garbage-3"'), "goal": "lots"}),
                set_at=datetime.now(UTC).isoformat()))
    finally:
        db.dispose()
    caplog.set_level(logging.WARNING)
    for _ in range(2):
        report = worker.sync_once()
        assert report.ok and not report.program_updated
    worker.close()
    refusals = [r for r in caplog.records if "refused=true" in r.getMessage()]
    assert len(refusals) == 1  # said once, not every round
    with Ledger.open(config.kiosk.ledger_path) as ledger:
        assert json.loads(ledger.get_meta(PROGRAM_JSON) or "{}")["version"] == "good-2"
        assert ledger.get_meta(PROGRAM_ETAG) == '"good-2"'
        assert (ledger.get_meta(PROGRAM_REFUSED) or "").startswith('"garbage-3" goal')
    counter = Counter.open(config)
    try:
        assert counter.program.version == "good-2" and counter.program.goal == 7
    finally:
        counter.close()


def test_a_stored_program_this_kiosk_cannot_run_falls_back_to_the_files(tmp_path: Path) -> None:
    config = config_module.from_mapping({"kiosk": {"state_dir": str(tmp_path)}})
    stored = {PROGRAM_JSON: json.dumps({"version": "9", "goal": 0})}
    running = running_program(config, stored.get)
    assert running.source == "config" and running.program.version == "1"
