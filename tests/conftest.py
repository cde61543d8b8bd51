"""Shared fixtures: a kiosk configuration rooted in a temporary state directory."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from kiosk import config
from kiosk.config import Config
from tests.support.kiosk_config import make_config

# `central_db` (SQLite and PostgreSQL), the session's PostgreSQL cluster, and a real browser
pytest_plugins = ["tests.support.databases", "tests.support.browser"]

settings.register_profile(
    "default", deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture
def kiosk_config(tmp_path: Path) -> Config:
    return make_config(tmp_path / "state")


@pytest.fixture(autouse=True)
def _no_system_config(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests never read /etc/kiosk or the developer's KIOSK_CONFIG."""
    monkeypatch.delenv(config.ENV_VAR, raising=False)
    monkeypatch.setattr(config, "DEFAULT_PATH", Path("/nonexistent/kiosk.toml"))
    yield
