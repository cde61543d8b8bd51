"""The line `systemctl status kiosk` shows names the taps and the local time of the last one."""

from __future__ import annotations

import time
from pathlib import Path

from sim.nfc import make_card
from tests.support.app_runner import running_sim_app


def test_the_status_line_counts_the_taps_and_names_the_last_ones_local_time(tmp_path: Path) -> None:
    with running_sim_app(tmp_path, "[program]\ncooldown_minutes = 0") as run:
        assert run.app.status_line().endswith(", 0 taps, last tap none")
        before = time.time()
        run.tap(make_card("ntag213", name="status"))
        after = time.time()
        line = run.app.status_line()
        # the second the outcome was shown lies between these two, whatever the zone
        seconds = {time.strftime("%H:%M:%S", time.localtime(at))
                   for at in range(int(before), int(after) + 1)}
        assert any(line.endswith(f", 1 taps, last tap {shown}") for shown in seconds), line
        run.tap(make_card("ntag213", name="status"))
        assert ", 2 taps, last tap " in run.app.status_line()
