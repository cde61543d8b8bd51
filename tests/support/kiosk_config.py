"""A valid kiosk configuration on simulated hardware, rooted in a given state directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kiosk import config
from kiosk.config import Config


def make_config(state_dir: Path, **sections: dict[str, Any]) -> Config:
    """A valid simulated-hardware config; override any section field by keyword."""
    data: dict[str, dict[str, Any]] = {
        "kiosk": {"state_dir": str(state_dir), "locale": "en"},
        "reader": {"path": "udp:127.0.0.1:54321"},
        "display": {"driver": "none"},
        "lights": {"factory": "mock"},
    }
    for name, fields in sections.items():
        data.setdefault(name, {}).update(fields)
    return config.from_mapping(data, "test")
