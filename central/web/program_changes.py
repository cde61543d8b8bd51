"""What a new program version does to the cards customers already hold, in words an
owner reads before publishing. Pure: the program in use and the draft as they are
served (`central.program.following` carries the older versions' rewards and a switch
between stamps and points); the rules themselves live in `kiosk.core.versions`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Consequence:
    """One thing that happens to existing cards: a text key and its values."""

    key: str
    values: dict[str, object]


def _uses_points(fields: dict[str, Any]) -> bool:
    return bool(fields.get("points_per_euro") or fields.get("points_per_item"))


def consequences(before: dict[str, Any] | None, served: dict[str, Any]) -> list[Consequence]:
    """The consequences of serving `served` after `before` (None: the first program)."""
    if before is None:
        return []
    found: list[Consequence] = []
    switched = _uses_points(before) != _uses_points(served)
    if switched:
        found.append(Consequence(
            "change_to_points" if _uses_points(served) else "change_to_stamps",
            {"n": served.get("points_per_stamp", 0)}))
    elif served["goal"] < before["goal"]:
        found.append(Consequence("change_goal_lowered",
                                 {"old": before["goal"], "new": served["goal"]}))
    elif served["goal"] > before["goal"]:
        found.append(Consequence("change_goal_raised",
                                 {"old": before["goal"], "new": served["goal"]}))
    already = {r["id"] for r in before.get("retired_rewards", [])}
    for reward in served.get("retired_rewards", []):
        if reward["id"] not in already:
            found.append(Consequence("change_reward_retired", {"name": reward["name"]}))
    return found
