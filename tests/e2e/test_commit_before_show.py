"""A tap's screen is drawn while its commit waits for the disk, and sent only after it.

The whole App over the simulator; the virtual OLED's end-of-frame probe reads the ledger
file through its own SQLite connection, so it sees exactly what a power cut would leave.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from kiosk.core.outcome import OutcomeKind
from sim.nfc import make_card
from tests.support.app_runner import running_sim_app


def test_a_stamp_reaches_the_screen_only_after_it_is_on_disk_and_is_drawn_during_the_commit(
    tmp_path: Path,
) -> None:
    with running_sim_app(tmp_path, "[program]\ncooldown_minutes = 0") as run:
        parts = run.parts
        ledger_path = parts.config.kiosk.ledger_path
        seen_on_disk: list[int] = []

        def on_frame(_at: float, _sent: int) -> None:
            with sqlite3.connect(f"file:{ledger_path}?mode=ro", uri=True) as db:
                seen_on_disk.append(db.execute("SELECT COUNT(*) FROM events").fetchone()[0])

        drawn_on: list[str] = []
        display = parts.display
        real_render = display.render_outcome  # type: ignore[attr-defined]

        def render(outcome: object, first_name: str | None = None) -> object:
            drawn_on.append(threading.current_thread().name)
            return real_render(outcome, first_name)

        display.render_outcome = render  # type: ignore[attr-defined]
        display.bus.on_frame = on_frame  # type: ignore[attr-defined]

        card = make_card("ntag213", bytes.fromhex("04C0FFEE000001"))
        first, second = run.tap(card), run.tap(card)

        assert [first.kind, second.kind] == [OutcomeKind.WELCOME, OutcomeKind.STAMPED]  # type: ignore[attr-defined]
        # enrolment + stamp, then a stamp: each outcome frame found its events already there
        assert seen_on_disk == [2, 3], seen_on_disk
        assert drawn_on and all(name.startswith("render") for name in drawn_on), drawn_on
