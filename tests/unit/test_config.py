"""Configuration: defaults run the kiosk; every bad field is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk import config
from kiosk.core import program as program_bounds
from kiosk.core.program import Program
from kiosk.core.wire import Whole
from kiosk.errors import ConfigError


def test_the_shipped_defaults_alone_make_a_valid_config():
    loaded = config.load(None)
    assert loaded.program.goal == 10
    assert loaded.reader.path == "usb"


def test_a_file_overrides_only_the_fields_it_names(tmp_path: Path):
    path = tmp_path / "kiosk.toml"
    path.write_text('[program]\ngoal = 8\nreward = "free croissant"\n')
    loaded = config.load(str(path))
    assert loaded.program.goal == 8
    assert loaded.program.to_program().reward_name == "free croissant"
    assert loaded.program.welcome_bonus == 2


def test_the_environment_variable_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "k.toml"
    path.write_text('[kiosk]\nid = "counter-2"\n')
    monkeypatch.setenv(config.ENV_VAR, str(path))
    assert config.load(None).kiosk.id == "counter-2"


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('[reader]\npath = "pn532"\n', "reader.path"),
        ('[kiosk]\nlocale = "de"\n', "kiosk.locale"),
        ('[display]\nheight = 48\n', "display.height"),
        ('[lights]\ngreen_pin = 40\n', "lights.green_pin"),
        ('[central]\nurl = "ftp://x"\n', "central.url"),
        ('[program]\ntimezone = "Mars/Base"\n', "program.timezone"),
        ('[program]\ngoal = "ten"\n', "program.goal"),
        ('[program]\nwelcome_bonus = 12\n', "program"),
        ('[[program.tiers]]\nname = "S"\nthreshold = 0\n', "program.tiers[0].threshold"),
        ('[kiosk]\nstate_dri = "/tmp"\n', "kiosk.state_dri"),
        ('[kiosk]\nretention_days = 7\n', "kiosk.retention_days"),
        ('[kiosk]\nretention_days = 5000\n', "kiosk.retention_days"),
        ('[printer]\nport = 1\n', "printer"),
    ],
)
def test_a_bad_field_is_refused_with_its_name(tmp_path: Path, text: str, field: str):
    path = tmp_path / "kiosk.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        config.load(str(path))
    assert any(p.startswith(field + ":") for p in raised.value.problems), raised.value.problems


def test_every_problem_is_reported_at_once(tmp_path: Path):
    path = tmp_path / "kiosk.toml"
    path.write_text('[kiosk]\nlocale = "de"\n[reader]\npath = "x"\n')
    with pytest.raises(ConfigError) as raised:
        config.load(str(path))
    assert len(raised.value.problems) == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"[kiosk\n", "not valid TOML"), (b"\xff\xfe[k]", "not")],
)
def test_an_unreadable_file_is_refused_clearly(tmp_path: Path, content: bytes, message: str):
    path = tmp_path / "kiosk.toml"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=message):
        config.load(str(path))


def test_a_missing_named_file_is_an_error_not_the_defaults(tmp_path: Path):
    with pytest.raises(ConfigError, match="file not found"):
        config.load(str(tmp_path / "absent.toml"))


BOUNDED = [
    ("goal", program_bounds.GOAL), ("tier_months", program_bounds.TIER_MONTHS),
    ("tier_warn_days", program_bounds.TIER_WARN_DAYS),
    ("expiry_days", program_bounds.EXPIRY_DAYS),
    ("birthday_bonus", program_bounds.BIRTHDAY_BONUS),
    ("points_per_euro", program_bounds.POINTS_PER_EURO),
]


@pytest.mark.parametrize(("name", "bound"), BOUNDED)
def test_the_config_file_and_the_program_itself_refuse_the_same_numbers(
    name: str, bound: Whole
) -> None:
    for value in (bound.minimum - 1, bound.maximum + 1):
        with pytest.raises(ValueError, match=f"^{name} must be between"):
            Program(**{name: value})
        with pytest.raises(ConfigError) as refused:
            config.from_mapping({"program": {name: value}})
        assert any(p.startswith(f"program.{name}:") for p in refused.value.problems)
    config.from_mapping({"program": {name: bound.maximum}})  # the edge itself is fine


def test_a_booster_day_must_be_a_weekday_and_the_list_says_which() -> None:
    with pytest.raises(ConfigError) as refused:
        config.from_mapping({"program": {"boosters": [{"days": ["mon", "monday"]}]}})
    assert refused.value.problems == [
        "program.boosters[0].days[1]: unknown day 'monday': use mon, tue, wed, thu, fri, sat, sun"
    ]


def test_a_staff_card_that_is_not_a_card_ref_is_named_by_its_place() -> None:
    with pytest.raises(ConfigError) as refused:
        config.from_mapping({"staff": {"cards": ["ab" * 32, "AB" * 32]}})
    assert refused.value.problems == [
        "staff.cards[1]: not a card_ref (64 lowercase hex characters)"
    ]


def test_a_kiosk_id_the_central_would_refuse_is_refused_in_plain_words() -> None:
    with pytest.raises(ConfigError) as refused:
        config.from_mapping({"kiosk": {"id": "counter 2"}})
    assert refused.value.problems == [
        "kiosk.id: the kiosk id must be 1 to 64 letters, digits, '.', '_' or '-'"
    ]
