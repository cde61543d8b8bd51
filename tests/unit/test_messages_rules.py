"""Which message is due for whom: consent, the monthly cap, quiet hours, each occasion once."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from central.messages.rules import Due, Kind, Policy, Recipient, Sent, counts_by_kind, due
from kiosk.core.events import CardState
from kiosk.core.program import Booster, Expiry, Program, Tier
from tests.unit.program_support import REF, Shell

NOON = datetime(2026, 3, 20, 12, tzinfo=UTC)
DAY = timedelta(days=1)
EVERYTHING = frozenset(Kind)
PROGRAM = Program(
    goal=20, welcome_bonus=0, expiry=Expiry.INACTIVITY, expiry_days=90, expiry_warn_days=14,
    tiers=(Tier("Silver", 3), Tier("Gold", 6)), tier_warn_days=20, birthday_bonus=2,
    boosters=(Booster(frozenset({1}), time(14), time(17)),),
)
POLICY = Policy(monthly_cap=3, winback_days=30, quiet_from=20, quiet_until=9)


def card_with_visits(days_ago: list[int], now: datetime = NOON, program: Program = PROGRAM
                     ) -> CardState:
    shell = Shell(program)
    for ago in sorted(set(days_ago), reverse=True):
        shell.tap(now - ago * DAY)
    return shell.card


def everyone(card: CardState, **changes: object) -> Recipient:
    values: dict[str, object] = {"address": "ana@example.org", "allowed": EVERYTHING,
                                 "birthday": date(1990, 3, 21), **changes}
    return Recipient(card.card_ref, **values)  # type: ignore[arg-type]


def kinds(found: list[Due]) -> list[Kind]:
    return [d.kind for d in found]


def test_a_card_whose_stamps_expire_soon_gets_the_expiry_reminder_with_count_and_date():
    card = card_with_visits([80])  # the inactivity expiry is due in 10 days
    found = due(PROGRAM, Policy(monthly_cap=9), [(card, everyone(card))], [], NOON)
    expiry = next(d for d in found if d.kind is Kind.EXPIRY)
    assert expiry.facts == {"stamps": 1, "on": "2026-03-30"}


def test_a_customer_who_agreed_to_nothing_gets_nothing_though_every_occasion_is_due():
    card = card_with_visits([80])
    who = everyone(card, allowed=frozenset())
    assert kinds(due(PROGRAM, Policy(monthly_cap=9), [(card, everyone(card))], [], NOON)) == [
        Kind.EXPIRY, Kind.BIRTHDAY, Kind.WINBACK, Kind.BOOSTER]
    assert due(PROGRAM, POLICY, [(card, who)], [], NOON) == []


def test_a_customer_without_an_address_or_whose_address_bounced_gets_nothing():
    card = card_with_visits([80])
    assert due(PROGRAM, POLICY, [(card, everyone(card, address=None))], [], NOON) == []
    assert due(PROGRAM, POLICY, [(card, everyone(card, bounced=True))], [], NOON) == []


def test_the_tier_warning_names_the_tier_and_the_visits_that_keep_it():
    # three visits in April 2025 made Silver; they leave the window when March 2026 ends
    program = Program(goal=50, welcome_bonus=0, tiers=(Tier("Silver", 3),), tier_warn_days=20)
    start = datetime(2025, 4, 1, 12, tzinfo=UTC)
    shell = Shell(program)
    for i in range(3):
        shell.tap(start + i * DAY)
    shell.tap(NOON)
    found = due(program, POLICY, [(shell.card, everyone(shell.card, birthday=None))], [], NOON)
    assert [(d.kind, d.facts["tier"], d.facts["keep"], d.facts["by"]) for d in found] == [
        (Kind.TIER, "Silver", 2, "2026-03-31")]


def test_nothing_is_due_in_quiet_hours_and_the_same_messages_are_due_when_they_end():
    card = card_with_visits([80])
    night = datetime(2026, 3, 20, 22, tzinfo=UTC)
    assert due(PROGRAM, POLICY, [(card, everyone(card))], [], night) == []
    morning = datetime(2026, 3, 21, 9, tzinfo=UTC)
    assert due(PROGRAM, POLICY, [(card, everyone(card))], [], morning) != []


def test_quiet_hours_may_stay_within_one_day():
    lunch = Policy(quiet_from=12, quiet_until=14)
    assert lunch.quiet(NOON) and not lunch.quiet(NOON + timedelta(hours=2))


@pytest.mark.parametrize("field,value", [("monthly_cap", 0), ("monthly_cap", 32),
                                         ("winback_days", 6), ("quiet_from", 24)])
def test_a_policy_outside_its_bounds_is_refused_naming_the_field(field: str, value: int):
    with pytest.raises(ValueError, match=field):
        Policy(**{field: value})


def test_a_policy_whose_quiet_hours_start_and_end_together_is_refused():
    with pytest.raises(ValueError, match="must differ"):
        Policy(quiet_from=9, quiet_until=9)


def test_the_most_useful_messages_win_when_the_cap_is_near():
    card = card_with_visits([80])
    found = due(PROGRAM, Policy(monthly_cap=2), [(card, everyone(card))], [], NOON)
    assert kinds(found) == [Kind.EXPIRY, Kind.BIRTHDAY]


def test_a_win_back_goes_once_per_absence_and_again_after_the_next_visit_and_absence():
    card = card_with_visits([40])
    who = everyone(card, allowed=frozenset({Kind.WINBACK}))
    first = due(PROGRAM, POLICY, [(card, who)], [], NOON)
    assert kinds(first) == [Kind.WINBACK]
    sent = [Sent(d.card_ref, d.kind, d.occasion, NOON) for d in first]
    assert due(PROGRAM, POLICY, [(card, who)], sent, NOON + 5 * DAY) == []
    later = NOON + 80 * DAY
    back = card_with_visits([40, 0], now=later - 40 * DAY)
    assert kinds(due(PROGRAM, POLICY, [(back, who)], sent, later)) == [Kind.WINBACK]


def test_a_card_never_enrolled_gets_nothing():
    assert due(PROGRAM, POLICY, [(CardState(REF), everyone(CardState(REF)))], [], NOON) == []


def test_counts_by_kind_lists_every_kind_even_with_nothing_sent():
    table = counts_by_kind([("expiry", "sent"), ("expiry", "sent"), ("winback", "failed")])
    assert table["expiry"] == {"sent": 2} and table["winback"] == {"failed": 1}
    assert table["booster"] == {} and set(table) == {k.value for k in Kind}


# --- properties over many cards, customers and days ------------------------------------

visit_days = st.lists(st.integers(0, 400), min_size=0, max_size=8)
consents = st.frozensets(st.sampled_from(list(Kind)))
recipients = st.tuples(visit_days, consents, st.booleans(), st.booleans(),
                       st.dates(date(1950, 1, 1), date(2008, 12, 31)))


def _policy(cap: int, winback: int, quiet: tuple[int, int]) -> Policy:
    start, end = quiet
    return Policy(monthly_cap=cap, winback_days=winback, quiet_from=start,
                  quiet_until=end if end != start else (start + 1) % 24)


def _population(drawn: list[tuple[list[int], frozenset[Kind], bool, bool, date]], now: datetime
                ) -> list[tuple[CardState, Recipient]]:
    people = []
    for index, (days, allowed, has_address, bounced, born) in enumerate(drawn):
        card = replace(card_with_visits(days, now), card_ref=f"{index:064x}")
        people.append((card, Recipient(card.card_ref, "x@example.org" if has_address else None,
                                       allowed, birthday=born, bounced=bounced)))
    return people


@settings(max_examples=60)
@given(st.lists(recipients, min_size=1, max_size=5), st.integers(1, 4), st.integers(7, 90),
       st.tuples(st.integers(0, 23), st.integers(0, 23)), st.integers(0, 23))
def test_over_two_months_of_hourly_runs_no_rule_is_ever_broken(
    drawn: list[tuple[list[int], frozenset[Kind], bool, bool, date]],
    cap: int, winback: int, quiet: tuple[int, int], hour: int,
):
    policy = _policy(cap, winback, quiet)
    start = datetime(2026, 3, 1, hour, tzinfo=UTC)
    people = _population(drawn, start)
    by_ref = {card.card_ref: who for card, who in people}
    sent: list[Sent] = []
    # a run every 7 hours for 60 days: every hour of the day is visited
    for step in range(0, 60 * 24, 7):
        now = start + timedelta(hours=step)
        found = due(PROGRAM, policy, people, sent, now)
        if found:
            assert not policy.quiet(now), "a message queued in quiet hours"
        for message in found:
            who = by_ref[message.card_ref]
            assert who.address and not who.bounced and message.kind in who.allowed, (
                f"a {message.kind} message without consent")
        sent.extend(Sent(d.card_ref, d.kind, d.occasion, now) for d in found)
    keys = [(s.card_ref, s.kind, s.occasion) for s in sent]
    assert len(keys) == len(set(keys)), "one occasion sent twice"
    per_month: dict[tuple[str, str], int] = {}
    for message in sent:
        month = (message.card_ref, message.queued_at.strftime("%Y-%m"))
        per_month[month] = per_month.get(month, 0) + 1
    assert max(per_month.values(), default=0) <= policy.monthly_cap


@settings(max_examples=40)
@given(st.sampled_from(list(Kind)), visit_days, st.integers(0, 24 * 40))
def test_no_kind_of_message_is_ever_due_without_its_own_consent(
    kind: Kind, days: list[int], hours: int
):
    now = NOON + timedelta(hours=hours)
    card = card_with_visits([*days, 40], now=now)
    others = everyone(card, allowed=EVERYTHING - {kind})
    assert kind not in kinds(due(PROGRAM, Policy(monthly_cap=31, quiet_from=3, quiet_until=4),
                                 [(card, others)], [], now.replace(hour=12)))


def test_the_consent_property_would_see_a_kind_sent_with_consent():
    """The property above is not vacuous: with consent, each kind is due somewhere."""
    card = card_with_visits([80])
    seen = set(kinds(due(PROGRAM, Policy(monthly_cap=31), [(card, everyone(card))], [], NOON)))
    program = Program(goal=50, welcome_bonus=0, tiers=(Tier("Silver", 3),), tier_warn_days=20)
    shell = Shell(program)
    for i in range(3):
        shell.tap(datetime(2025, 4, 1, 12, tzinfo=UTC) + i * DAY)
    seen |= set(kinds(due(program, POLICY, [(shell.card, everyone(shell.card))], [], NOON)))
    assert seen == EVERYTHING
