"""A card state's JSON text, as the kiosk's card cache stores it. Pure.

The text is `json.dumps(state.to_dict(), sort_keys=True)`, byte for byte; `card_json`
writes it field by field instead. json.dumps built the 26-entry dict, then sorted it
and every map in it, at every tap: about a fifth of a tap's instructions. The fields are
listed here in key order; a field added to `CardState` (and to its `to_dict`) makes
the property test comparing both texts fail until it is written here too.

    >>> from kiosk.core.events import CardState
    >>> state = CardState(card_ref="ab", enrolled=True, stamps=2, earned={"coffee": 1})
    >>> card_json(state) == json.dumps(state.to_dict(), sort_keys=True)
    True
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime

from kiosk.core.events import CardState

_text = json.encoder.encode_basestring_ascii  # json.dumps' own string writer (ensure_ascii)


def _str(value: str | None) -> str:
    return "null" if value is None else _text(value)


def _time(value: datetime | date | None) -> str:
    return "null" if value is None else f'"{value.isoformat()}"'


def _counts(counts: Mapping[str, int]) -> str:
    return "{" + ", ".join(
        f"{_text(key)}: {int.__repr__(count)}" for key, count in sorted(counts.items())
    ) + "}"


def _names(names: frozenset[str]) -> str:
    return "[" + ", ".join(_text(name) for name in sorted(names)) + "]"


def card_json(s: CardState) -> str:
    """`json.dumps(s.to_dict(), sort_keys=True)`, written directly. The common values
    (no time, an empty map, a count) are written inline: a call per field cost as much
    as json.dumps saved."""
    # ints through int.__repr__, as json.dumps writes them (a bool never reaches these)
    whole = int.__repr__
    return (
        f'{{"birthday_at": {"null" if s.birthday_at is None else _time(s.birthday_at)}, '
        f'"blocked": {"true" if s.blocked else "false"}, '
        f'"card_ref": {_text(s.card_ref)}, '
        f'"converted": {_names(s.converted) if s.converted else "[]"}, '
        f'"day_stamps": {_counts(s.day_stamps) if s.day_stamps else "{}"}, '
        f'"earned": {_counts(s.earned) if s.earned else "{}"}, '
        f'"enrolled": {"true" if s.enrolled else "false"}, '
        f'"first_seen": {"null" if s.first_seen is None else _time(s.first_seen)}, '
        f'"last_visit": {"null" if s.last_visit is None else _time(s.last_visit)}, '
        f'"link_at": {"null" if s.link_at is None else _time(s.link_at)}, '
        f'"links": {whole(s.links)}, '
        f'"links_revoked": {"null" if s.links_revoked is None else whole(s.links_revoked)}, '
        f'"month_visits": {_counts(s.month_visits) if s.month_visits else "{}"}, '
        f'"moved_in": {_counts(s.moved_in) if s.moved_in else "{}"}, '
        f'"moved_out": {_counts(s.moved_out) if s.moved_out else "{}"}, '
        f'"redeemed": {_counts(s.redeemed) if s.redeemed else "{}"}, '
        f'"revoked": {_counts(s.revoked) if s.revoked else "{}"}, '
        f'"stamp_day": {"null" if s.stamp_day is None else _time(s.stamp_day)}, '
        f'"stamps": {whole(s.stamps)}, "stamps_that_day": {whole(s.stamps_that_day)}, '
        f'"tier": {_str(s.tier)}, '
        f'"tier_at": {"null" if s.tier_at is None else _time(s.tier_at)}, '
        f'"versions": {_names(s.versions) if s.versions else "[]"}, '
        f'"visits": {whole(s.visits)}, "welcome": {whole(s.welcome)}, '
        f'"welcome_day": {_str(s.welcome_day)}}}'
    )
