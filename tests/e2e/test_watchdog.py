"""WATCHDOG=1 is said only while the reader loop is alive, even when the rest of the kiosk
runs on (tests/e2e/test_daemon.py stalls the whole daemon on the ledger's lock; here only
the reader's thread is stuck, so nothing but the reader's liveness can stop the pets).

The whole App in-process over the simulator, its notifier talking to a systemd-like
datagram socket with a 1 s watchdog timeout (pets while the reader moved in the last 0.5 s).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from kiosk.notify import Notifier
from sim.nfc import make_card
from sim.notify import NotifyListener
from tests.support.app_runner import running_sim_app

TIMEOUT = 1.0  # the watchdog timeout systemd would set; the kiosk pets while alive in TIMEOUT / 2


def test_the_watchdog_stops_being_petted_while_only_the_reader_thread_is_stuck(
    tmp_path: Path,
) -> None:
    with NotifyListener(tmp_path / "notify.sock") as notify, running_sim_app(
        tmp_path, "[program]\ncooldown_minutes = 0",
        notifier=Notifier(str(tmp_path / "notify.sock"), watchdog_timeout=TIMEOUT),
    ) as run:
        assert notify.wait("WATCHDOG=1", 10) is not None
        # the next tap's screen never finishes drawing: the reader thread waits for it
        # (up to 5 s) while the main loop, the display and the locks stay free
        entered, release = threading.Event(), threading.Event()
        display = run.parts.display
        real_render = display.render_outcome

        def stuck(outcome: object, first_name: str | None = None) -> object:
            entered.set()
            release.wait(10)
            return real_render(outcome, first_name)  # type: ignore[arg-type]

        display.render_outcome = stuck  # type: ignore[method-assign]
        run.field.place(make_card("ntag213", name="stuck"))
        assert entered.wait(10)
        stuck_since = time.monotonic() + TIMEOUT / 2 + 0.1  # pets allowed until then
        run.wait_ticks(int(TIMEOUT / 0.25) + 6)  # the main loop goes on ticking meanwhile
        assert time.monotonic() > stuck_since
        assert notify.times("WATCHDOG=1", since=stuck_since) == []
        release.set()
        assert notify.wait("WATCHDOG=1", 10, since=time.monotonic()) is not None
        assert run.wait_outcome(1).kind.value == "welcome"
        run.field.remove()
