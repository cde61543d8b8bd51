"""The server checks a program with the kiosk's own ProgramSection: extras, field paths, limits."""

from __future__ import annotations

import json

import pytest

from central.program import BadProgram, check, from_toml, timezone
from kiosk.config import ProgramSection, from_mapping
from kiosk.core.program import Expiry, Mode
from kiosk.served import BadServedProgram, parse_served

STAFF = "5" * 64

EXTRAS = """
[program]
version = "2026-summer"
mode = "ladder"
milestones = [{ id = "biscuit", name = "biscuit", stamps = 5 }]
tiers = [{ name = "Silver", threshold = 10 }, { name = "Gold", threshold = 25, multiplier = 2 }]
tier_basis = "stamps"
expiry = "per_stamp"
expiry_days = 180
boosters = [{ days = ["tue", "wed"], start = "14:00", end = "17:00", multiplier = 3 }]
birthday_bonus = 2
birthday_gift_id = "cake"
birthday_gift = "a slice of cake"
surprises = [{ visit = 4, bonus = 2 }]
points_per_euro = 10
promo_earns = false

[staff]
cards = ["STAFF"]
""".replace("STAFF", STAFF)


def test_a_program_with_every_extra_is_served_as_the_kiosk_would_run_it() -> None:
    served = from_toml(EXTRAS)
    assert json.loads(json.dumps(served)) == served  # stored and served as JSON
    # what a kiosk does with the served document (kiosk.served)
    kiosk_runs = parse_served(served)
    program = kiosk_runs.program
    assert program.mode is Mode.LADDER and program.expiry is Expiry.PER_STAMP
    assert [t.multiplier for t in program.tiers] == [1, 2]
    assert program.boosters[0].multiplier == 3 and program.surprises[0].visit == 4
    assert program.birthday_gift is not None and program.birthday_gift.id == "cake"
    assert kiosk_runs.staff_cards == {STAFF}
    # the kiosk's own config takes the served fields as its [program] section, unchanged
    kiosk_side = {k: v for k, v in served.items() if k != "staff_cards"}
    assert from_mapping({"program": kiosk_side}).program.to_program() == program


def test_a_kiosk_names_a_bad_served_field_as_the_central_api_does() -> None:
    served = from_toml(EXTRAS)
    served["tiers"][1]["threshold"] = 0
    with pytest.raises(BadProgram, match=r"^tiers\[1\]\.threshold: "):
        check(served)
    with pytest.raises(BadServedProgram, match=r"^tiers\[1\]\.threshold: "):
        parse_served(served)


def test_a_checked_program_is_a_fixed_point_of_the_check() -> None:
    served = from_toml(EXTRAS)
    assert check(served) == served
    assert str(timezone(served)) == "Europe/Paris"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ('tiers = [{ name = "S", threshold = 10 }, { name = "G", threshold = 0 }]',
         "tiers[1].threshold: "),
        ('boosters = [{ days = ["tue"], start = "25:00" }]', "boosters[0].start: "),
        ('boosters = [{ days = ["someday"] }]', "boosters[0].days[0]: "),
        ('surprises = [{ visit = 4, bonus = 2, hidden = true }]', "surprises[0].hidden: unknown"),
        ('expiry = "sometimes"', "expiry: "),
        ('birthday_gift = "cake"', "birthday_gift_id and birthday_gift go together"),
        ("daily_cap = true", "daily_cap: "),
        ('mode = "ladder"\nmilestones = [{ id = "x", name = "x", stamps = 50 }]', "program: "),
        ("colour = 3", "colour: unknown field"),
        ('timezone = "%s"' % ("x" * 500), "timezone: longer than"),
        ("when = 2026-01-01T10:00:00Z", "values must be"),
    ],
)
def test_a_program_kiosks_could_not_run_is_refused_naming_the_field_path(
    body: str, problem: str
) -> None:
    with pytest.raises(BadProgram) as refused:
        from_toml(f'version = "3"\n{body}\n')
    assert problem in str(refused.value)


def test_too_many_tiers_are_refused_before_anything_else_is_checked() -> None:
    tiers = ", ".join(f'{{ name = "t{i}", threshold = {i + 1} }}' for i in range(60))
    with pytest.raises(BadProgram, match="tiers: more than"):
        from_toml(f'version = "3"\ntiers = [{tiers}]\n')


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('[program]\nversion = "3"\n[staff]\ncards = ["nope"]\n', "staff_cards[0]: not a card_ref"),
        ('[program]\nversion = "3"\n[staff]\nundo_minutes = 3\n', "only `cards`"),
        (f'[program]\nversion = "3"\nstaff_cards = ["{STAFF}"]\n', "[staff] table"),
        ('[program]\nversion = "3"\n[till]\nenabled = true\n', "[program] table"),
    ],
)
def test_staff_cards_come_only_from_a_staff_table_of_card_refs(text: str, problem: str) -> None:
    with pytest.raises(BadProgram) as refused:
        from_toml(text)
    assert problem in str(refused.value)


def test_every_field_a_kiosk_accepts_in_program_the_server_accepts() -> None:
    every = set(ProgramSection.model_fields)
    assert set(from_toml('version = "1"\n')) == every
