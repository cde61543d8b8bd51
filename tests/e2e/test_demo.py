"""`make demo` plays its scenario to the end: enrolled, stamped to the reward, redeemed,
synced; then a second counter is paired and knows the first card."""

from __future__ import annotations

import io
import re
from pathlib import Path

from central.testing import running_server
from sim import demo
from tests.support.accounts import WebSession


def test_the_demo_enrols_stamps_rewards_redeems_and_syncs_everything(tmp_path: Path):
    out = io.StringIO()
    state = tmp_path / "demo-state"
    assert demo.main(["--plain", "--speed", "3", "--state-dir", str(state)], out=out) == 0
    text = out.getvalue()
    assert "marie    0/10 stamps, 8 visits, vouchers: none, redeemed: 1" in text
    assert "lea      3/10 stamps, 1 visit," in text  # left on the reader: counted once
    assert "pending: 0, rejected: 0" in text
    assert "still pending" not in text
    # a second counter, in another shop, paired with a code: marie is known there
    second = text.split("Second counter (shop Terrasse)", 1)[1]
    assert "pulled 3 cards" in second and "marie taps there" in second
    assert "stamps 1/10" in second and "welcome" not in second.lower()
    assert len(list((state / "frames").glob("*.png"))) >= 10
    log = (state / "kiosk.log").read_text()
    assert "outcome=refused" in log and "event=reader online=False" in log
    # it ends with a login to the owner's dashboard on the demo's own figures
    login = re.search(r"sign in as (\S+), password (\S+)", text)
    assert login and f"kiosk-central serve --db {state / 'central.sqlite3'}" in text
    with running_server(str(state / "central.sqlite3")) as base:
        web = WebSession(base)
        assert web.sign_in(login.group(1), login.group(2)).status_code == 303
        overview = web.get("/dashboard?period=today").text
    assert re.search(r'id="fig-visits"><span class="label">[^<]*</span>\s*'
                     r'<span class="value">(\d+)</span>', overview).group(1) != "0"
