"""The loyalty program the server hands to kiosks: the [program] section of kiosk TOML.

A program file is layered over the kiosk's shipped defaults, so it names only what it
changes, but it must name its `version`: that tag is the ETag kiosks poll with.
"""

from __future__ import annotations

import tomllib
from datetime import timedelta
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kiosk.core.rules import Program, Reward

_TEXT_LIMITS = {"name": 60, "version": 40, "reward_id": 40, "reward": 60, "timezone": 60}
_INTEGERS = ("goal", "welcome_bonus", "daily_cap")
FIELDS = frozenset({*_TEXT_LIMITS, *_INTEGERS, "cooldown_minutes", "milestones"})


class BadProgram(ValueError):
    """A program file or body that kiosks could not run; the message names the field."""


def shipped_defaults() -> dict[str, Any]:
    """The [program] section of kiosk/defaults.toml (data only: no kiosk module runs)."""
    text = resources.files("kiosk").joinpath("defaults.toml").read_text(encoding="utf-8")
    return dict(tomllib.loads(text)["program"])


def _check_milestones(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise BadProgram("milestones: must be a list of {id, name, stamps} tables")
    checked = []
    for index, item in enumerate(value):
        where = f"milestones[{index}]"
        if not isinstance(item, dict) or set(item) != {"id", "name", "stamps"}:
            raise BadProgram(f"{where}: must have exactly id, name and stamps")
        if not all(isinstance(item[k], str) and 1 <= len(item[k]) <= 60 for k in ("id", "name")):
            raise BadProgram(f"{where}: id and name must be short non-empty strings")
        if not isinstance(item["stamps"], int) or isinstance(item["stamps"], bool):
            raise BadProgram(f"{where}.stamps: must be an integer")
        checked.append({"id": item["id"], "name": item["name"], "stamps": item["stamps"]})
    return checked


def check(fields: dict[str, Any]) -> dict[str, Any]:
    """A complete, valid program as JSON-ready fields; raises BadProgram naming the field."""
    unknown = sorted(set(fields) - FIELDS)
    if unknown:
        raise BadProgram(f"{unknown[0]}: unknown field")
    missing = sorted(FIELDS - set(fields))
    if missing:
        raise BadProgram(f"{missing[0]}: missing")
    for key, limit in _TEXT_LIMITS.items():
        value = fields[key]
        if not isinstance(value, str) or not 1 <= len(value) <= limit:
            raise BadProgram(f"{key}: must be a string of 1 to {limit} characters")
    for key in _INTEGERS:
        value = fields[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise BadProgram(f"{key}: must be a whole number, 0 or more")
    cooldown = fields["cooldown_minutes"]
    if not isinstance(cooldown, int | float) or isinstance(cooldown, bool) or not (
        0 <= cooldown <= 7 * 24 * 60
    ):
        raise BadProgram("cooldown_minutes: must be a number of minutes between 0 and 10080")
    try:
        ZoneInfo(fields["timezone"])
    except (ZoneInfoNotFoundError, ValueError):
        raise BadProgram(f"timezone: unknown time zone {fields['timezone']!r}") from None
    checked = {**fields, "milestones": _check_milestones(fields["milestones"])}
    try:
        to_program(checked)
    except ValueError as error:
        raise BadProgram(f"program: {error}") from None
    return checked


def to_program(fields: dict[str, Any]) -> Program:
    """The core's Program for checked fields."""
    return Program(
        name=fields["name"],
        version=fields["version"],
        goal=fields["goal"],
        reward_id=fields["reward_id"],
        reward_name=fields["reward"],
        welcome_bonus=fields["welcome_bonus"],
        milestones=tuple(Reward(m["id"], m["name"], m["stamps"]) for m in fields["milestones"]),
        cooldown=timedelta(minutes=fields["cooldown_minutes"]),
        daily_cap=fields["daily_cap"] or None,
        timezone=fields["timezone"],
    )


def from_toml(text: str) -> dict[str, Any]:
    """A program from TOML text: a [program] table, or its fields at the top level."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise BadProgram(f"not valid TOML: {error}") from None
    section: Any = data
    if "program" in data:
        section = data["program"] if set(data) == {"program"} else None
    if not isinstance(section, dict):
        raise BadProgram("put the fields in a [program] table (or all at the top level)")
    if "version" not in section:
        raise BadProgram("version: missing (kiosks notice a new program by its version)")
    return check({**shipped_defaults(), **section})
