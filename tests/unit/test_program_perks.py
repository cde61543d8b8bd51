"""Boosters, birthdays and surprises: extra stamps at the right moments, applied once."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.core.events import EventKind
from kiosk.core.perks import Customer, active_booster, birthday_week
from kiosk.core.program import Booster, Program, Reward, Surprise, Tier
from tests.unit.program_support import T0, Shell

DAY = timedelta(days=1)
TUESDAY_AFTERNOON = Booster(frozenset({1}), time(14), time(17), multiplier=3)
MARIE = Customer("Marie", date(1990, 3, 12), consent=True)


def test_a_booster_is_active_only_on_its_days_and_hours_in_local_time() -> None:
    program = Program(boosters=(TUESDAY_AFTERNOON,), timezone="Europe/Paris")
    tuesday = datetime(2026, 3, 3, 13, 30, tzinfo=T0.tzinfo)  # 14:30 in Paris
    assert active_booster(program, tuesday) == TUESDAY_AFTERNOON
    assert active_booster(program, tuesday.replace(hour=16)) is None  # 17:00 in Paris
    assert active_booster(program, tuesday - DAY) is None


def test_a_booster_multiplies_the_stamp_and_the_tier_multiplies_on_top_once() -> None:
    program = Program(
        boosters=(TUESDAY_AFTERNOON,), tiers=(Tier("Gold", 1, multiplier=2),), goal=30
    )
    shell = Shell(program)
    shell.tap(T0)  # Monday: reaches Gold
    boosted = shell.tap(datetime(2026, 3, 3, 15, tzinfo=T0.tzinfo))
    assert boosted.stamps_added == 6 and boosted.multiplier == 6 and boosted.booster == 3
    assert [c.delta for c in boosted.changes if c.kind is EventKind.STAMP] == [6]


def test_the_birthday_bonus_comes_once_in_the_birthday_week_with_the_first_name() -> None:
    program = Program(birthday_bonus=2, birthday_gift=Reward("cake", "cake", 0), goal=20)
    shell = Shell(program)
    shell.tap(datetime(2026, 3, 1, 9, tzinfo=T0.tzinfo), MARIE)
    party = shell.tap(datetime(2026, 3, 10, 9, tzinfo=T0.tzinfo), MARIE)
    assert party.birthday and party.first_name == "Marie"
    assert shell.card.vouchers("cake") == 1
    again = shell.tap(datetime(2026, 3, 13, 9, tzinfo=T0.tzinfo), MARIE)
    assert not again.birthday
    next_year = shell.tap(datetime(2027, 3, 12, 9, tzinfo=T0.tzinfo), MARIE)
    assert next_year.birthday


def test_without_consent_there_is_no_birthday_and_no_name() -> None:
    shell = Shell(Program(birthday_bonus=2))
    shy = Customer("Marie", date(1990, 3, 2), consent=False)
    outcome = shell.tap(T0, shy)
    assert not outcome.birthday and outcome.first_name is None


def test_a_leap_day_birthday_is_kept_on_the_28th_in_other_years() -> None:
    assert birthday_week(date(2000, 2, 29), date(2026, 3, 3)) == (date(2026, 2, 25), date(2026, 3, 3))
    assert birthday_week(date(2000, 2, 29), date(2026, 3, 4)) is None


def test_a_hidden_milestone_gives_its_bonus_on_that_visit_only() -> None:
    program = Program(surprises=(Surprise(4, 3),), goal=30)
    shell = Shell(program)
    outcomes = shell.taps(T0 + i * DAY for i in range(5))
    assert [o.surprise for o in outcomes] == [0, 0, 0, 3, 0]
    assert shell.card.stamps == 2 + 5 + 3


def test_a_surprise_bonus_can_complete_the_card() -> None:
    shell = Shell(Program(surprises=(Surprise(2, 8),), goal=10, welcome_bonus=0))
    _, second = shell.taps([T0, T0 + DAY])
    assert second.rewards_earned and shell.card.stamps == 0


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(0, 72), min_size=1, max_size=25))
def test_multipliers_apply_once_and_balances_equal_the_sum_of_deltas(hours: list[int]) -> None:
    program = Program(
        boosters=(TUESDAY_AFTERNOON, Booster(frozenset({1, 2}), time(15), time(16), 2)),
        tiers=(Tier("Silver", 2), Tier("Gold", 4, multiplier=2)),
        surprises=(Surprise(3, 2),),
        goal=12,
        cooldown=timedelta(0),
    )
    shell = Shell(program)
    moment = T0
    for h in hours:
        moment += timedelta(hours=h)
        booster = active_booster(program, moment)
        tier = program.tier_named(shell.card.tier)
        outcome = shell.tap(moment)
        expected = (booster.multiplier if booster else 1) * (tier.multiplier if tier else 1)
        assert [c.delta for c in outcome.changes if c.kind is EventKind.STAMP] == [expected]
    assert shell.card.stamps == sum(e.delta for e in shell.events)
