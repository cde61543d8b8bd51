"""Pydantic fields built from the core's rules, so the config file, a served program and
the central's API model check a value against the bound the core itself holds.

    >>> from pydantic import BaseModel
    >>> class Goal(BaseModel):
    ...     goal: int = within(Whole(1, 100))
    >>> Goal(goal=100).goal
    100
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, Field

from kiosk.core.cardid import is_card_ref
from kiosk.core.events import KIOSK_ID
from kiosk.core.program import WEEKDAYS
from kiosk.core.staff import NOT_A_CARD_REF
from kiosk.core.wire import Text, Whole


def within(rule: Whole, **kwargs: Any) -> Any:
    """A pydantic integer field bounded by a core bound."""
    return Field(ge=rule.minimum, le=rule.maximum, **kwargs)


def text(rule: Text, **kwargs: Any) -> Any:
    """A pydantic text field bounded by a core text rule (its pattern shown in JSON Schema)."""
    return Field(min_length=rule.min_length, max_length=rule.max_length,
                 pattern=rule.json_pattern, **kwargs)


def _kiosk_id(value: str) -> str:
    problem = KIOSK_ID.problem("the kiosk id", value)  # the central checks the same
    if problem is not None:
        raise ValueError(problem)
    return value


def _weekday(value: str) -> str:
    if value not in WEEKDAYS:
        raise ValueError(f"unknown day {value[:20]!r}: use {', '.join(WEEKDAYS)}")
    return value


def _card_ref(value: str) -> str:
    if not is_card_ref(value):
        raise ValueError(NOT_A_CARD_REF)
    return value


# checked with the rule's own words, e.g. "the kiosk id must be 1 to 64 letters, ..."
KioskId = Annotated[str, AfterValidator(_kiosk_id)]
Weekday = Annotated[str, AfterValidator(_weekday)]
CardRef = Annotated[str, AfterValidator(_card_ref)]
