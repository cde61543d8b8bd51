"""SIGKILL a real `kiosk-central serve` mid-upload, restart it, and count every event.

`make soak` runs the same check with many more kills (central.crashcheck.crash_run).
"""

from __future__ import annotations

from pathlib import Path

from central.crashcheck import crash_run


def test_a_server_killed_mid_upload_keeps_every_acknowledged_event_exactly_once(
    tmp_path: Path, central_db: str
) -> None:
    report = crash_run(tmp_path, kills=3, seed=20260601, db=central_db)
    assert report.kills == 3
    assert report.events_acknowledged >= 2 * 50  # at least the last life's two batches
    assert report.lost == 0 and report.duplicated == 0 and report.altered == 0
    assert report.partial_batches == 0, "a killed upload was found half-written"
    assert report.rejected == 0, report.problems
    assert report.integrity == "ok"
    # every event the kiosk sent was acknowledged in the end (the in-flight ones on retry)
    assert report.events_stored == report.events_acknowledged
