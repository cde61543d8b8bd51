"""The Program page's pure parts: the form's text, the TOML the editor shows, every
problem named by its field path, and what a draft changes."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from central import program as programs
from central.web.program_page import FORM_FIELDS, changes, form_fields


def default(**changed: Any) -> dict[str, Any]:
    return programs.check({**programs.shipped_defaults(), "version": "v1", **changed})


def form_of(fields: dict[str, Any], **typed: str) -> dict[str, str]:
    return {name: str(fields[name]) for name in FORM_FIELDS} | typed


def test_a_form_changes_its_fields_and_keeps_the_rest_of_the_program() -> None:
    base = default(tiers=[{"name": "Gold", "threshold": 10, "multiplier": 2}])
    fields, wrong = form_fields(form_of(base, goal="8", reward=" tea "), base)
    assert wrong == []
    assert fields["goal"] == 8 and fields["reward"] == "tea"
    assert fields["tiers"] == base["tiers"]


def test_a_number_field_with_text_in_it_is_named_with_what_to_type() -> None:
    base = default()
    _, wrong = form_fields(form_of(base, goal="ten", cooldown_minutes="1,5"), base)
    assert wrong == ["goal: must be a whole number, not 'ten'",
                     "cooldown_minutes: must be a number, not '1,5'"]


def test_every_wrong_field_is_named_by_its_path_not_just_the_first() -> None:
    found = programs.problems({**default(), "goal": 5000, "welcome_bonus": -1})
    assert len(found) == 2
    assert found[0].startswith("goal: ") and "1000" in found[0]
    assert found[1].startswith("welcome_bonus: ")


def test_a_problem_inside_a_list_names_the_item() -> None:
    found = programs.problems({**default(), "tiers": [
        {"name": "Silver", "threshold": 5}, {"name": "Gold", "threshold": 0}]})
    assert found and found[0].startswith("tiers[1].threshold: ")


def test_a_rule_across_fields_is_named_too() -> None:
    found = programs.problems({**default(), "goal": 5, "welcome_bonus": 5})
    assert found and "welcome" in found[0]


def test_a_valid_program_has_no_problems() -> None:
    assert programs.problems(default()) == []


texts = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=60).filter(
    lambda s: s.strip() == s and s.strip())


@given(name=texts, reward=texts, goal=st.integers(2, 100), bonus=st.integers(0, 1),
       cooldown=st.floats(0, 600, allow_nan=False), tiers=st.lists(
           st.tuples(st.integers(1, 1000), st.integers(1, 10)), max_size=3, unique_by=lambda t: t[0]))
def test_the_toml_shown_reads_back_to_the_same_program(
        name: str, reward: str, goal: int, bonus: int, cooldown: float,
        tiers: list[tuple[int, int]]) -> None:
    try:
        fields = default(name=name, reward=reward, goal=goal, welcome_bonus=bonus,
                         cooldown_minutes=cooldown,
                         tiers=[{"name": f"T{n}", "threshold": n, "multiplier": m}
                                for n, m in sorted(tiers)])
    except programs.BadProgram:
        return  # a name the core refuses: nothing to show
    assert programs.from_toml(programs.to_toml(fields)) == fields


def test_the_toml_names_every_list_even_empty_so_no_default_comes_back() -> None:
    text = programs.to_toml(default(milestones=[]))
    assert "milestones = []" in text


def test_staff_cards_go_in_their_own_table() -> None:
    ref = "ab" * 32
    fields = default() | {"staff_cards": [ref]}
    text = programs.to_toml(programs.check(fields))
    assert f'[staff]\ncards = ["{ref}"]' in text
    assert programs.from_toml(text)["staff_cards"] == [ref]


def test_a_draft_lists_each_changed_field_with_its_old_and_new_value() -> None:
    before, after = default(), default(goal=8, version="v2")
    assert changes(before, after) == [("goal", "10", "8"), ("version", '"v1"', '"v2"')]
    assert changes(None, after) == []


def test_quotes_backslashes_and_control_characters_survive_the_toml() -> None:
    fields = default(reward='a "big" \\ café\x7f\t')
    assert programs.from_toml(programs.to_toml(fields)) == fields
