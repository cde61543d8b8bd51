"""Stopping must always work: `kiosk run` processes over the simulator (cards coming and
going, the virtual OLED) get SIGHUPs in bursts at random moments, then one SIGTERM at a
random moment (during a reload, right after one, or in a quiet tick). Every process must
exit 0 within a second of its SIGTERM. `make soak-signals` runs the long version.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

from tests.support.signals import STOP_LIMIT, storm

PROCESSES = 5
SIGHUPS_EACH = 200  # about a thousand signals in all


def test_every_sigterm_stops_the_kiosk_within_a_second_whatever_the_sighups_before(tmp_path: Path):
    seed = int(os.environ.get("KIOSK_STORM_SEED", random.randrange(1 << 30)))
    report = storm(tmp_path, PROCESSES, SIGHUPS_EACH, seed)
    said = f"seed {seed}: {report.as_dict()}"
    assert report.hung == [], said + "\n" + "\n---\n".join(report.hung)
    assert report.exit_codes == {0}, said
    assert report.late_stops == [], f"stops over {STOP_LIMIT} s; {said}"
    assert report.terms == PROCESSES and report.hups >= PROCESSES * SIGHUPS_EACH
    assert report.reloads_seen >= PROCESSES, said  # the SIGHUPs did reload, not only wake
    assert report.clean_stops == PROCESSES, said  # each said event=stop: it shut down itself
