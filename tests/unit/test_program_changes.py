"""What a new program version does to existing cards, as the draft page words it."""

from __future__ import annotations

from typing import Any

from central import program as programs
from central.web.program_changes import Consequence, consequences


def fields(**changed: Any) -> dict[str, Any]:
    return programs.check({**programs.shipped_defaults(), "version": "v1", **changed})


def test_the_first_program_changes_no_card() -> None:
    assert consequences(None, fields()) == []


def test_a_lowered_goal_and_a_raised_one_are_told_apart() -> None:
    assert consequences(fields(goal=10), fields(goal=8)) == [
        Consequence("change_goal_lowered", {"old": 10, "new": 8})]
    assert consequences(fields(goal=8), fields(goal=10)) == [
        Consequence("change_goal_raised", {"old": 8, "new": 10})]
    assert consequences(fields(), fields(name="Other name")) == []


def test_a_switch_to_points_names_what_a_stamp_is_worth() -> None:
    served = {**fields(points_per_euro=1, goal=100), "points_per_stamp": 10}
    assert consequences(fields(), served) == [Consequence("change_to_points", {"n": 10})]
    assert consequences(served, {**fields(), "points_per_stamp": 10}) == [
        Consequence("change_to_stamps", {"n": 10})]


def test_each_newly_retired_reward_is_named_once() -> None:
    before = {**fields(), "retired_rewards": [{"id": "tea", "name": "tea", "stamps": 5}]}
    served = {**fields(reward_id="cake", reward="cake"), "retired_rewards": [
        {"id": "tea", "name": "tea", "stamps": 5}, {"id": "reward", "name": "free coffee", "stamps": 10}]}
    assert consequences(before, served) == [
        Consequence("change_reward_retired", {"name": "free coffee"})]
