"""The owner's correction forms, as typed: the adjustment's two fields and the end of a
new card's number are checked by field, with the events' own bounds."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from central.web.corrections import AdjustForm, adjust_form, card_end_problem
from kiosk.core.corrections import adjustment_problem
from kiosk.core.events import MAX_DELTA


def test_a_signed_whole_number_and_a_reason_are_taken_as_typed() -> None:
    assert adjust_form(" +2 ", " stamp  forgotten ") == AdjustForm(2, "stamp forgotten")
    assert adjust_form("\u22121", "typo").delta == -1  # the minus sign a phone may type


def test_each_field_names_its_own_problem() -> None:
    assert adjust_form("0", "").problems == {"delta": "fix_delta_bad",
                                             "reason": "fix_reason_missing"}
    assert adjust_form("two", "x").problems == {"delta": "fix_delta_bad"}
    assert adjust_form("+-2", "x").problems == {"delta": "fix_delta_bad"}
    assert adjust_form("\u00b9", "x").problems == {"delta": "fix_delta_bad"}  # a digit to
    assert adjust_form("-\u0663", "x").problems == {"delta": "fix_delta_bad"}  # Python, not to us
    assert adjust_form(str(MAX_DELTA + 1), "x").problems == {"delta": "fix_delta_bad"}
    assert adjust_form("1", "x" * 41).problems == {"reason": "fix_reason_long"}


@given(st.text(max_size=8), st.text(max_size=60))
def test_whatever_is_typed_a_form_without_problems_is_one_the_kiosks_rules_accept(
        delta: str, reason: str) -> None:
    checked = adjust_form(delta, reason)
    if not checked.problems:
        assert -MAX_DELTA <= checked.delta <= MAX_DELTA
        assert adjustment_problem(checked.delta, checked.reason) is None


def test_the_end_of_a_card_number_is_4_to_64_hex_characters() -> None:
    assert card_end_problem("A1B2") is None
    assert card_end_problem("a1b") == "fix_new_end_bad"
    assert card_end_problem("a1g2") == "fix_new_end_bad"
    assert card_end_problem("%a1b") == "fix_new_end_bad"  # never a wildcard
    assert card_end_problem("a" * 65) == "fix_new_end_bad"
