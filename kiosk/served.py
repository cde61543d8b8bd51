"""The program a kiosk runs: the one the central API served, else the config's [program].

The sync worker stores a served program in the ledger's meta table only once this module
has parsed it (`parse_served`); the counter reads it back at boot and whenever a sync
round reports a new one (`running_program`). No I/O here beyond the `get_meta` callable.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from kiosk.config import Config, ProgramSection, field_path
from kiosk.core.rules import Program
from kiosk.core.staff import STAFF_CARDS, StaffPolicy, staff_cards

log = logging.getLogger("kiosk.program")

# ledger meta keys
PROGRAM_JSON = "program.json"
PROGRAM_ETAG = "program.etag"
PROGRAM_REFUSED = "program.refused"  # "<etag> <reason>" of the last served program refused
FROM_CENTRAL, FROM_CONFIG = "central", "config"


class BadServedProgram(ValueError):
    """A served program this kiosk cannot run; the message names the field."""


@dataclass(frozen=True)
class Served:
    """A parsed served program and the staff cards it lists."""

    program: Program
    staff_cards: frozenset[str]


@dataclass(frozen=True)
class Running:
    """The program the counter runs, its staff policy, and where it came from."""

    program: Program
    staff: StaffPolicy
    source: str  # FROM_CENTRAL or FROM_CONFIG


def parse_served(fields: Any) -> Served:
    """Parse a served program document; BadServedProgram when this kiosk cannot run it."""
    if not isinstance(fields, Mapping):
        raise BadServedProgram("program: not an object")
    try:
        cards = staff_cards(fields.get(STAFF_CARDS, []), STAFF_CARDS)
    except ValueError as error:
        raise BadServedProgram(str(error)) from None
    try:
        section = ProgramSection.model_validate({k: v for k, v in fields.items() if k != STAFF_CARDS})
        return Served(section.to_program(), cards)
    except ValidationError as error:
        first = error.errors()[0]
        raise BadServedProgram(f"{field_path(first['loc'], 'program')}: {first['msg']}") from None
    except (ValueError, TypeError, RecursionError) as error:
        raise BadServedProgram(f"program: {error.__class__.__name__}") from None


def parse_served_json(text: str) -> Served:
    try:
        return parse_served(json.loads(text))
    except (ValueError, RecursionError) as error:
        if isinstance(error, BadServedProgram):
            raise
        raise BadServedProgram("program: stored text is not JSON") from None


def running_program(config: Config, get_meta: Callable[[str], str | None]) -> Running:
    """The served program held in the ledger (it wins), else the config's [program].

    Served staff cards are added to the config's `[staff] cards`. A stored program this
    kiosk cannot parse (after a software downgrade, say) is logged and the config's used.
    """
    policy = config.staff.to_policy()
    text = get_meta(PROGRAM_JSON)
    if text:
        try:
            served = parse_served_json(text)
        except BadServedProgram as error:
            log.warning("event=program source=central refused=true problem=%r", str(error))
        else:
            staff = StaffPolicy(policy.cards | served.staff_cards, policy.undo_window)
            return Running(served.program, staff, FROM_CENTRAL)
    return Running(config.program.to_program(), policy, FROM_CONFIG)
