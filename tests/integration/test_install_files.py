"""The files install.sh ships: example config, udev rules and module blacklist stay true."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import nfc.clf.device

from kiosk import config

REPO = Path(__file__).resolve().parents[2]
FIRMWARE = REPO / "firmware_config"
EXAMPLE = FIRMWARE / "kiosk.example.toml"
DEFAULTS = REPO / "kiosk" / "defaults.toml"
# A commented-out setting: "# key = value" (prose comments never look like this).
COMMENTED_SETTING = re.compile(r"^# ([a-z0-9_]+ = .*)$")


def uncommented(text: str) -> str:
    return "\n".join(COMMENTED_SETTING.sub(r"\1", line) for line in text.splitlines())


def example_fields() -> dict[str, Any]:
    return tomllib.loads(uncommented(EXAMPLE.read_text()))


def test_the_example_config_as_shipped_is_a_valid_config() -> None:
    config.from_mapping(tomllib.loads(EXAMPLE.read_text()), str(EXAMPLE))


def test_the_example_shows_every_default_field_and_no_other() -> None:
    defaults = tomllib.loads(DEFAULTS.read_text())
    shown = example_fields()
    assert shown.keys() == defaults.keys()
    for section, fields in defaults.items():
        missing = fields.keys() - shown[section].keys()
        extra = shown[section].keys() - fields.keys()
        assert not missing, f"firmware_config/kiosk.example.toml lacks [{section}] {missing}"
        assert not extra, f"firmware_config/kiosk.example.toml has unknown [{section}] {extra}"


def test_each_commented_value_in_the_example_is_the_shipped_default() -> None:
    defaults = tomllib.loads(DEFAULTS.read_text())
    shown = example_fields()
    for section, fields in defaults.items():
        for name, value in fields.items():
            assert shown[section][name] == value, f"[{section}] {name}: example shows another value"


def test_the_example_with_every_line_uncommented_is_a_valid_config() -> None:
    config.from_mapping(example_fields(), "example, uncommented")


def udev_rules() -> dict[tuple[int, int], str]:
    """(vendor, product) → the rest of its rule line."""
    rules = {}
    text = (FIRMWARE / "60-kiosk-nfc.rules").read_text()
    for match in re.finditer(
        r'^ATTR\{idVendor\}=="([0-9a-f]{4})", ATTR\{idProduct\}=="([0-9a-f]{4})", (.*)$',
        text, re.MULTILINE,
    ):
        rules[(int(match[1], 16), int(match[2], 16))] = match[3]
    return rules


def test_every_usb_reader_nfcpy_drives_gets_a_udev_rule() -> None:
    assert set(nfc.clf.device.usb_device_map) <= set(udev_rules())


def test_usb_readers_open_to_the_plugdev_group_only() -> None:
    for ids, action in udev_rules().items():
        assert action == 'GROUP="plugdev", MODE="0660"', ids


def test_the_blacklist_names_every_kernel_nfc_driver_that_grabs_a_reader() -> None:
    text = (FIRMWARE / "kiosk-nfc-blacklist.conf").read_text()
    blacklisted = set(re.findall(r"^blacklist (\S+)$", text, re.MULTILINE))
    assert blacklisted == {"nfc", "pn533", "pn533_usb", "port100"}
