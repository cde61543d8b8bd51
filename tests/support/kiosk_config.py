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


UNPAIRED = """\
# the counter by the door
[kiosk]
id = "unpaired"
state_dir = "{state}"
locale = "en"
[reader]
path = "{reader}"
poll_interval = 0.05
[display]
{display}
[lights]
factory = "mock"
[central]
interval = 0.5
refresh_interval = 0.5
[program]
cooldown_minutes = 0
daily_cap = 0
timezone = "UTC"
"""


def unpaired_config(root: Path, reader: str = "udp:127.0.0.1:54321",
                    display: str = 'driver = "none"') -> Path:
    """A kiosk configuration file in a new folder `root`, ready for `kiosk pair` (no
    [central] url nor token yet; every tap stamps); returns its path."""
    root.mkdir(parents=True)
    path = root / "kiosk.toml"
    path.write_text(UNPAIRED.format(state=root / "state", reader=reader, display=display),
                    encoding="utf-8")
    return path
