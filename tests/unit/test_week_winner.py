"""Who is customer of the week: never a card whose holder did not agree to be shown."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from central.week import winner

refs = st.text("abcdef0123456789", min_size=1, max_size=4)


@given(st.dictionaries(refs, st.integers(-2, 30)), st.dictionaries(refs, st.sampled_from(
    ["Ana", "Léo", "Zoé", ""])))
def test_the_winner_agreed_to_be_shown_and_nobody_who_agreed_visited_more(
    visits: dict[str, int], names: dict[str, str]
):
    found = winner(visits, names)
    agreeing = {ref: n for ref, n in visits.items() if n > 0 and names.get(ref)}
    if found is None:
        assert agreeing == {}
        return
    ref, count = found
    assert names.get(ref), "a card shown without its holder's consent"
    assert count == visits[ref] == max(agreeing.values())


def test_a_tie_goes_to_the_same_card_whatever_the_order():
    assert winner({"b": 4, "a": 4}, {"a": "Ana", "b": "Bob"}) == ("a", 4)
    assert winner({"a": 4, "b": 4}, {"b": "Bob", "a": "Ana"}) == ("a", 4)
