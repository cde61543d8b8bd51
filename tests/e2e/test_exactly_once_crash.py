"""SIGKILL a tapping, syncing kiosk process at random points; nothing acknowledged is lost."""

from __future__ import annotations

import os
import random
from pathlib import Path

from tests.support import central_server
from tests.support.crash import (
    KioskSpawner,
    check,
    drain,
    kiosk_kill_loop,
    load_config,
    write_kiosk_toml,
)

# dozens in the normal suite; `make soak` runs the long version
KILLS = int(os.environ.get("KIOSK_CRASH_KILLS", "60"))


def test_a_kiosk_killed_at_random_points_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    rng = random.Random(int(os.environ.get("KIOSK_CRASH_SEED", "5")))
    with central_server(tmp_path / "central") as central:
        config_file = write_kiosk_toml(
            tmp_path / "kiosk.toml", tmp_path / "state", central.url,
            central.token_file("kiosk-crash"), "kiosk-crash",
        )
        ack_file = tmp_path / "acked.txt"
        with KioskSpawner(config_file, ack_file) as kiosks:
            kills, _ = kiosk_kill_loop(kiosks, KILLS, rng, max_delay=0.3)
        config = load_config(config_file)
        drain(config)
        verdict = check(config, ack_file, central.db, kills)
    assert verdict.kills == KILLS and verdict.acked > 0, verdict
    assert verdict.ok, verdict
