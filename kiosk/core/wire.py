"""How a record's fields travel: each field's JSON type and bounds, declared once beside
the field itself (dataclass metadata). The ledger's columns, the CSV export, the central's
checks and its API model all read that one declaration. Pure: stdlib only.

    >>> Text(1, 5).problem("name", "too long")
    'name must be a string of 1 to 5 characters'
    >>> Whole(0, 9).fits(True)   # a bool is an int in Python, never a count on the wire
    False
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import cached_property
from operator import attrgetter
from typing import Any

WIRE = "wire"  # the dataclass metadata key holding a field's (rule, may be null)


def digits_only(text: str) -> bool:
    """Whether a number typed or sent as text is ASCII digits alone: str.isdigit also says
    yes to '¹' or '²', which int() refuses.

    >>> digits_only("42"), digits_only("²"), digits_only(""), digits_only("-1")
    (True, False, False, False)
    """
    return text.isascii() and text.isdigit()


class Rule:
    """What values one field takes on the wire, and how it turns into the Python value."""

    sql_type = "TEXT"

    def fits(self, value: Any) -> bool:
        """A quick yes for a well-formed wire value (never None)."""
        raise NotImplementedError

    def problem(self, name: str, value: Any) -> str | None:
        """Why `value` is no value for field `name`, or None."""
        raise NotImplementedError

    def to_wire(self, value: Any) -> Any:
        return value

    def from_wire(self, value: Any) -> Any:
        """The Python value; ValueError (its message follows the field's name) if none."""
        return value

    def reader(self) -> Callable[[Any], Any]:
        """`from_wire`, or a builtin that does the same faster."""
        return self.from_wire

    def writer(self) -> Callable[[Any], Any] | None:
        """`to_wire`, or None where the wire value is the Python value."""
        return self.to_wire


class Plain(Rule):
    """A rule whose wire value is the Python value itself (a string, an integer)."""

    python_type: type = object

    def reader(self) -> Callable[[Any], Any]:
        return self.python_type

    def writer(self) -> None:
        return None


@dataclass(frozen=True)
class Text(Plain):
    """A string of `min_length` to `max_length` characters, whole of `pattern` if given."""

    min_length: int
    max_length: int
    pattern: str | None = None
    hint: str = ""  # what the pattern asks for, in words: "64 lowercase hex characters"
    python_type = str

    @cached_property
    def compiled(self) -> re.Pattern[str] | None:
        return None if self.pattern is None else re.compile(self.pattern)

    @property
    def json_pattern(self) -> str | None:
        """The pattern as JSON Schema and pydantic read it (they search): anchored."""
        return None if self.pattern is None else f"^(?:{self.pattern})$"

    def fits(self, value: Any) -> bool:
        compiled = self.compiled
        return (
            type(value) is str
            and self.min_length <= len(value) <= self.max_length
            and (compiled is None or compiled.fullmatch(value) is not None)
        )

    def problem(self, name: str, value: Any) -> str | None:
        if self.fits(value):
            return None
        if self.hint:
            return f"{name} must be {self.hint}"
        return f"{name} must be a string of {self.min_length} to {self.max_length} characters"



@dataclass(frozen=True)
class Whole(Plain):
    """An integer from `minimum` to `maximum`, both included."""

    minimum: int
    maximum: int
    sql_type = "INTEGER"
    python_type = int

    def fits(self, value: Any) -> bool:
        return type(value) is int and self.minimum <= value <= self.maximum

    def problem(self, name: str, value: Any) -> str | None:
        if type(value) is not int:
            return f"{name} must be an integer"
        if not self.minimum <= value <= self.maximum:
            return f"{name} must be between {self.minimum} and {self.maximum}"
        return None



@dataclass(frozen=True)
class Choice(Rule):
    """One of an enumeration's values, sent as its string."""

    kinds: type[StrEnum]

    @cached_property
    def names(self) -> frozenset[str]:
        return frozenset(kind.value for kind in self.kinds)

    def fits(self, value: Any) -> bool:
        return type(value) is str and value in self.names

    def problem(self, name: str, value: Any) -> str | None:
        return None if self.fits(value) else f"unknown {name} {str(value)[:40]!r}"

    def to_wire(self, value: Any) -> str:
        return str(value.value)

    def from_wire(self, value: Any) -> StrEnum:
        return self.kinds(value)


@dataclass(frozen=True)
class Moment(Rule):
    """An instant, sent as ISO 8601 text with a UTC offset; held in UTC."""

    max_length: int = 40

    def fits(self, value: Any) -> bool:
        return type(value) is str and len(value) <= self.max_length

    def problem(self, name: str, value: Any) -> str | None:
        if self.fits(value):
            return None  # the text itself is read by from_wire
        return f"{name} must be an ISO 8601 date-time string with an offset"

    def to_wire(self, value: Any) -> str:
        return str((value if value.tzinfo is UTC else value.astimezone(UTC)).isoformat())

    def from_wire(self, value: Any) -> datetime:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            raise ValueError("is not an ISO 8601 date-time") from None
        if moment.tzinfo is None:
            raise ValueError("must carry a UTC offset")
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            raise ValueError("is out of range") from None


@dataclass(frozen=True)
class Spec:
    """One field of a record as it travels: its name, its rule, whether it may be null."""

    name: str
    rule: Rule
    optional: bool = False

    @cached_property
    def read(self) -> Callable[[Any], Any]:
        return self.rule.reader()

    @cached_property
    def write(self) -> Callable[[Any], Any] | None:
        return self.rule.writer()


def wire(rule: Rule, *, optional: bool = False) -> dict[str, Any]:
    """Metadata for `dataclasses.field`: how the field travels."""
    return {WIRE: (rule, optional)}


class Schema:
    """The wire specs of a dataclass's fields (declared with `wire`), in declaration order,
    and the conversions between its records and their JSON-ready values."""

    def __init__(self, record: type) -> None:
        fields = []
        for item in dataclasses.fields(record):
            rule, optional = item.metadata[WIRE]
            fields.append(Spec(item.name, rule, optional))
        self.fields: tuple[Spec, ...] = tuple(fields)
        self.names: tuple[str, ...] = tuple(spec.name for spec in fields)
        self.required = frozenset(spec.name for spec in fields if not spec.optional)
        self._get_all = attrgetter(*self.names)
        # only these change on the way out (an enum, a time); the rest go as they are
        self._writers = tuple(
            (index, spec.write) for index, spec in enumerate(fields) if spec.write is not None
        )
        self._readers = tuple((spec.name, spec.read) for spec in fields if spec.write is not None)

    def row(self, record: Any) -> tuple[Any, ...]:
        """A record's JSON-ready values, in declaration order."""
        values = list(self._get_all(record))
        for index, write in self._writers:
            if values[index] is not None:
                values[index] = write(values[index])
        return tuple(values)

    def values(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Constructor arguments from JSON-ready fields; ValueError naming the field."""
        values = {}
        for spec in self.fields:
            value = data.get(spec.name)
            if value is not None:
                try:
                    value = spec.read(value)
                except (ValueError, TypeError) as error:
                    raise ValueError(f"{spec.name} {error}") from None
            elif not spec.optional:
                raise ValueError(f"{spec.name} is missing")
            values[spec.name] = value
        return values

    def checked_values(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """`values` of data whose every field is known to pass its rule: only the fields
        whose wire form differs from their value (an enum, a time) are read; ValueError
        naming the field if one of those cannot be."""
        values = {name: data.get(name) for name in self.names}
        for name, read in self._readers:
            if values[name] is not None:
                try:
                    values[name] = read(values[name])
                except (ValueError, TypeError) as error:
                    raise ValueError(f"{name} {error}") from None
        return values
