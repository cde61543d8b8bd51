"""The loyalty program the server hands to kiosks: the [program] section of kiosk TOML.

A program file is layered over the kiosk's shipped defaults, so it names only what it
changes, but it must name its `version`: that tag is the ETag kiosks poll with. It is
checked by the kiosk's own `ProgramSection` (kiosk/config.py), so the server accepts
exactly what a kiosk can run, extras included, and every error names its field path
(``tiers[1].threshold: ...``).

The served document is the section's JSON form, plus `staff_cards`: card refs of staff
cards that every kiosk adds to its own `[staff] cards` (set from the file's
`[staff] cards` list).
"""

from __future__ import annotations

import json
import tomllib
from datetime import tzinfo
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from kiosk.config import ProgramSection, field_path
from kiosk.core.staff import STAFF_CARDS, staff_cards
from kiosk.core.versions import UnconvertedSwitch, carried

MAX_ITEMS = 50  # tiers, boosters, milestones, surprises: more is a mistake, not a program
MAX_TEXT = 200  # any string value; the section's own limits are tighter for most fields
MAX_TOML = 64 * 1024
_LISTS = ("milestones", "tiers", "boosters", "surprises")


class BadProgram(ValueError):
    """A program file or body that kiosks could not run; the message names the field."""


def shipped_defaults() -> dict[str, Any]:
    """The [program] section of kiosk/defaults.toml (data only: no kiosk module runs)."""
    text = resources.files("kiosk").joinpath("defaults.toml").read_text(encoding="utf-8")
    return dict(tomllib.loads(text)["program"])


def _problem(error: ValidationError) -> str:
    first = error.errors()[0]
    message = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown field"
    elif first["type"] == "missing":
        message = "missing"
    return f"{field_path(first['loc'], 'program')}: {message}"


def _guard(fields: dict[str, Any]) -> None:
    """Size limits checked before pydantic sees the data: a hostile body stays cheap."""
    for key, value in fields.items():
        if isinstance(value, str) and len(value) > MAX_TEXT:
            raise BadProgram(f"{key}: longer than {MAX_TEXT} characters")
        if key in _LISTS and isinstance(value, list | tuple) and len(value) > MAX_ITEMS:
            raise BadProgram(f"{key}: more than {MAX_ITEMS} items")


def _staff_cards(value: Any) -> list[str]:
    try:
        return sorted(staff_cards(value, STAFF_CARDS))
    except ValueError as error:
        raise BadProgram(str(error)) from None


def section(fields: dict[str, Any]) -> ProgramSection:
    """The kiosk's ProgramSection for program fields (`staff_cards` left out); BadProgram
    naming the field path when kiosks could not run them."""
    if not isinstance(fields, dict):
        raise BadProgram("program: must be a table of fields")
    program_fields = {k: v for k, v in fields.items() if k != STAFF_CARDS}
    _guard(program_fields)
    try:
        body = json.dumps(program_fields)
    except (TypeError, ValueError, RecursionError):
        raise BadProgram("program: values must be text, numbers, booleans, lists or tables") from None
    try:
        # strict JSON mode: a list is fine for a tuple, but `true` is no number of stamps
        return ProgramSection.model_validate_json(body, strict=True)
    except ValidationError as error:
        raise BadProgram(_problem(error)) from None
    except (ValueError, TypeError, RecursionError) as error:  # a core check outside pydantic
        raise BadProgram(f"program: {error}") from None


def check(fields: dict[str, Any]) -> dict[str, Any]:
    """A complete, valid program as JSON-ready fields (the served document); raises
    BadProgram naming the field. `staff_cards`, when given, must be card refs."""
    checked = section(fields).model_dump(mode="json")
    if STAFF_CARDS in fields:
        checked[STAFF_CARDS] = _staff_cards(fields[STAFF_CARDS])
    return checked


def timezone(fields: dict[str, Any]) -> tzinfo:
    """The time zone of checked fields, without checking them all again (every upload
    needs it: stamp days are counted in the program's zone). ZoneInfo caches its zones."""
    return ZoneInfo(str(fields["timezone"]))


def from_toml(text: str) -> dict[str, Any]:
    """A program from TOML text: a [program] table (and optionally a [staff] table with
    `cards`), or the program's fields at the top level."""
    if len(text) > MAX_TOML:
        raise BadProgram(f"the file is larger than {MAX_TOML} characters")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise BadProgram(f"not valid TOML: {error}") from None
    program: Any = data
    extra: dict[str, Any] = {}
    if "program" in data:
        program = data["program"] if set(data) <= {"program", "staff"} else None
        staff = data.get("staff", {})
        if not isinstance(staff, dict) or not set(staff) <= {"cards"}:
            raise BadProgram("staff: only `cards` (a list of card refs) is served to kiosks")
        if "cards" in staff:
            extra[STAFF_CARDS] = staff["cards"]
    if not isinstance(program, dict):
        raise BadProgram(
            "put the fields in a [program] table (and staff cards in [staff] cards), "
            "or all program fields at the top level"
        )
    if STAFF_CARDS in program:
        raise BadProgram(f"{STAFF_CARDS}: list staff cards in a [staff] table as `cards`")
    if "version" not in program:
        raise BadProgram("version: missing (kiosks notice a new program by its version)")
    return check({**shipped_defaults(), **program, **extra})


# what a version carries of the versions before it (kiosk.core.versions.carried fills them)
HISTORY = ("retired_rewards", "points_per_stamp", "switched_in", "unit_versions")


def following(previous: dict[str, Any] | None, fields: dict[str, Any]) -> dict[str, Any]:
    """Checked `fields` as they are served after the `previous` program: with the rewards
    whose vouchers cards still hold, and what converts a balance across a switch between
    stamps and points. BadProgram when a switch does not say how balances convert."""
    if previous is None:
        return fields
    if previous.get("version") == fields.get("version"):
        return previous if _without_history(previous) == _without_history(fields) else fields
    try:
        served = carried(section(previous).to_program(), section(fields).to_program())
    except UnconvertedSwitch as error:
        raise BadProgram(str(error)) from None
    history = {
        "retired_rewards": [
            {"id": r.id, "name": r.name, "stamps": r.stamps} for r in served.retired_rewards
        ],
        "points_per_stamp": served.points_per_stamp,
        "switched_in": served.switched_in or "",
        "unit_versions": list(served.unit_versions),
    }
    return check({**fields, **history})


def _without_history(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if k not in HISTORY}
