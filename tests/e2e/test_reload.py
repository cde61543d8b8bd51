"""A reload refused part-way through building the new parts lets go of what it had built,
so the old config starts again on the same pins and ledger (in-process App over the
simulator, gpiozero's MockFactory, which refuses a pin that is still in use)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from sim.harness import wait_until
from sim.nfc import make_card
from tests.support.app_runner import running_sim_app


def test_a_reload_refused_late_in_the_build_keeps_the_old_config_on_the_same_pins(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="kiosk")
    with running_sim_app(tmp_path, "[program]\ncooldown_minutes = 0",
                         lights="green_pin = 17\nbutton_pin = 22") as run:
        config = tmp_path / "kiosk.toml"
        # the till is built last, after the counter, display, lights and button: its token
        # file is missing, so the build fails once all of those hold their pins and files
        config.write_text(config.read_text()
                          + f'\n[till]\nenabled = true\ntoken_file = "{tmp_path / "missing"}"\n')
        run.app.request_reload()
        assert wait_until(lambda: "event=reload refused=true" in caplog.text, 10), caplog.text
        assert "till.token_file" in caplog.text
        assert run.tap(make_card("ntag213", name="after")).kind.value == "welcome"
        assert wait_until(lambda: run.factory.pin(17).state, 5)  # the green LED still blinks
        assert run.app.parts is not None and run.app.parts.button is not None
