"""Every screen the kiosk can show, built from real rules outcomes (shared by the golden
tests and `make golden`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

from PIL import Image

from kiosk.core.corrections import decide_adjust, decide_replace
from kiosk.core.events import CardState, record
from kiosk.core.giving import decide_donate
from kiosk.core.outcome import Blocked, Replaced, TodayFigures
from kiosk.core.perks import Basket, Customer
from kiosk.core.program import Booster, Expiry, Program, Reward, Surprise, Tier
from kiosk.core.rules import RefusalReason, Refused, decide_redeem, decide_tap
from kiosk.core.screens import Screens
from kiosk.core.staff import StaffAction, decide_undo, figures, staff_mode
from kiosk.core.status import KioskStatus

PROGRAM = Program(name="Café de la Gare", reward_name="café offert", goal=10, welcome_bonus=2)
LONG = Program(
    name="Boulangerie-Pâtisserie des Trois Frères Lumière",
    reward_name="grand chocolat chaud à la chantilly maison",
    goal=20,
    welcome_bonus=0,
)
NOON = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
CARD = "ab" * 32


def sample_card(program: Program, taps: int) -> CardState:
    """A card after `taps` taps a day apart."""
    card = CardState(card_ref=CARD)
    for day in range(taps):
        outcome = decide_tap(program, card, NOON + timedelta(days=day))
        assert outcome.card is not None
        card = outcome.card
    return card


def sample_tap(program: Program, taps_before: int, later: timedelta = timedelta(days=1)):  # noqa: ANN202
    when = NOON + timedelta(days=max(taps_before - 1, 0)) + later
    return decide_tap(program, sample_card(program, taps_before), when)


def _extras(**fields: object) -> Program:
    fields.setdefault("welcome_bonus", 2)
    fields.setdefault("reward_name", "café offert")
    return Program(name=PROGRAM.name, **fields)  # type: ignore[arg-type]


MONDAY_BOOST = _extras(boosters=(Booster(frozenset({0}), time(10), time(12), 2),))
GOLD = _extras(tiers=(Tier("Silver", 2), Tier("Gold", 4, multiplier=2)), goal=20)
AGEING = _extras(expiry=Expiry.PER_STAMP, expiry_days=30, expiry_warn_days=14)
POINTS = _extras(points_per_euro=10, goal=100, welcome_bonus=0)
MARIE = Customer("Marie", date(1990, 3, 6), consent=True)
GIVING = _extras(goal=4, cause="Les Restos du Cœur")  # a voucher given at the counter
BIRTHDAY_GIFT = _extras(birthday_gift=Reward("birthday", "part de gâteau", 0))
# two rewards reached by one boosted tap, with names longer than a line
CAKE_AND_VOUCHER = _extras(
    reward_name="chèque cadeau de 5 € à valoir en boutique",
    milestones=(Reward("cake", "part de gâteau maison", 9),),
    boosters=(Booster(frozenset({0}), time(10), time(12), 2),),
)
SHIPPED = Program()  # the shipped defaults: names that follow the kiosk's language


def _undone():  # noqa: ANN202
    card = sample_card(PROGRAM, 3)
    stamp = decide_tap(PROGRAM, card, NOON + timedelta(days=3))

    events = record(stamp.changes, card_ref=CARD, kiosk_id="k", program_version="1",
                    now=NOON + timedelta(days=3), new_id=lambda: "e", first_seq=1)
    assert stamp.card is not None
    return decide_undo(PROGRAM, stamp.card, events, NOON + timedelta(days=3, minutes=1))


def _gold_on_a_reward_tap():  # noqa: ANN202
    program = _extras(tiers=(Tier("Gold", 4, multiplier=1),), goal=5, welcome_bonus=1)
    return sample_tap(program, 3)


def _keep_gold():  # noqa: ANN202
    card = CardState(card_ref=CARD)
    for day in range(4):
        card = decide_tap(GOLD, card, datetime(2025, 4, 1, 11, tzinfo=UTC) + timedelta(days=day)).card
    return decide_tap(GOLD, card, datetime(2026, 3, 25, 11, tzinfo=UTC))


def _replaced():  # noqa: ANN202
    moved = decide_replace(PROGRAM, sample_card(PROGRAM, 4), CardState(card_ref="cd" * 32), NOON)
    assert isinstance(moved, Replaced)
    return moved


# a Gold card takes 10 % off the till's basket: the screen says so first
GOLD_DISCOUNT = _extras(tiers=(Tier("Gold", 2, discount_percent=10),))


def _discounted():  # noqa: ANN202
    card = sample_card(GOLD_DISCOUNT, 3)
    return decide_tap(GOLD_DISCOUNT, card, NOON + timedelta(days=3), basket=Basket(1250))


FIVE_EUROS = _extras(points_per_euro=2, goal=500, welcome_bonus=0,
                     reward_name="bon de 5 €")


Sample = Callable[[Screens], Image.Image]

SAMPLES: dict[str, Sample] = {
    "idle": lambda s: s.idle(),
    "idle_pending_sync": lambda s: s.idle(KioskStatus(central_online=False, pending_events=12)),
    "reader_offline": lambda s: s.idle(KioskStatus(reader_online=False)),
    "welcome": lambda s: s.outcome(sample_tap(PROGRAM, 0)),
    "stamped": lambda s: s.outcome(sample_tap(PROGRAM, 3), first_name="Marie"),
    "stamped_no_name": lambda s: s.outcome(sample_tap(PROGRAM, 3)),
    "stamped_long_names": lambda s: s.outcome(
        sample_tap(LONG, 4), first_name="Maximilienne-Éléonore"
    ),
    "reward_earned": lambda s: s.outcome(sample_tap(PROGRAM, 7)),
    "reward_available": lambda s: s.outcome(sample_tap(PROGRAM, 8), first_name="Marie"),
    "redeemed": lambda s: s.outcome(decide_redeem(PROGRAM, sample_card(PROGRAM, 8), NOON)),
    "no_voucher": lambda s: s.outcome(decide_redeem(PROGRAM, sample_card(PROGRAM, 3), NOON)),
    "cooldown": lambda s: s.outcome(sample_tap(PROGRAM, 3, later=timedelta(minutes=5))),
    "daily_cap": lambda s: s.outcome(
        sample_tap(
            Program(name=PROGRAM.name, reward_name="café offert", daily_cap=1,
                    cooldown=timedelta(0)),
            3,
            later=timedelta(hours=1),
        )
    ),
    "refused": lambda s: s.outcome(Refused(reason=RefusalReason.RANDOM_ID)),
    "unreadable": lambda s: s.outcome(Refused(reason=RefusalReason.UNREADABLE)),
    "not_original": lambda s: s.outcome(Refused(reason=RefusalReason.NOT_ORIGINAL)),
    "idle_booster": lambda s: s.idle(booster=2),
    "boosted": lambda s: s.outcome(sample_tap(MONDAY_BOOST, 1, later=timedelta(days=7))),  # a Monday
    "tier_reached": lambda s: s.outcome(sample_tap(GOLD, 3)),
    "tier_keep": lambda s: s.outcome(_keep_gold()),
    "expiring": lambda s: s.outcome(sample_tap(AGEING, 1, later=timedelta(days=20))),
    "expired": lambda s: s.outcome(sample_tap(AGEING, 1, later=timedelta(days=40))),
    "birthday": lambda s: s.outcome(
        decide_tap(_extras(birthday_bonus=2), sample_card(PROGRAM, 3), NOON + timedelta(days=3), MARIE)
    ),
    "surprise": lambda s: s.outcome(sample_tap(_extras(surprises=(Surprise(4, 3),)), 3)),
    "points": lambda s: s.outcome(
        decide_tap(POINTS, sample_card(POINTS, 1), NOON + timedelta(days=1), basket=Basket(450))
    ),
    "points_none": lambda s: s.outcome(decide_tap(POINTS, sample_card(POINTS, 1), NOON + timedelta(days=1))),
    "staff_mode": lambda s: s.outcome(staff_mode()),
    "staff_mode_undo": lambda s: s.outcome(staff_mode(StaffAction.UNDO)),
    "undone": lambda s: s.outcome(_undone()),
    "birthday_gift": lambda s: s.outcome(
        decide_tap(BIRTHDAY_GIFT, sample_card(PROGRAM, 3), NOON + timedelta(days=3), MARIE)
    ),
    "reward_long_names": lambda s: s.outcome(sample_tap(CAKE_AND_VOUCHER, 5, later=timedelta(days=3))),
    "stamped_long_reward": lambda s: s.outcome(sample_tap(CAKE_AND_VOUCHER, 2)),
    "reward_tier_reached": lambda s: s.outcome(_gold_on_a_reward_tap()),
    "shipped_idle": lambda s: replace(s, program_name=SHIPPED.name).idle(),
    "shipped_stamped": lambda s: s.outcome(sample_tap(SHIPPED, 3)),
    "adjusted": lambda s: s.outcome(
        decide_adjust(PROGRAM, sample_card(PROGRAM, 3), 2, "tampon oublié lundi", NOON)
    ),
    "replaced": lambda s: s.outcome(_replaced()),
    "blocked": lambda s: s.outcome(Blocked(card=CardState(card_ref=CARD, blocked=True),
                                           progress=_replaced().progress)),
    "not_done": lambda s: s.outcome(Refused(reason=RefusalReason.NEGATIVE_BALANCE)),
    "staff_mode_replace": lambda s: s.outcome(staff_mode(StaffAction.REPLACE_WITH)),
    "staff_mode_donate": lambda s: s.outcome(staff_mode(StaffAction.DONATE)),
    "donated": lambda s: s.outcome(decide_donate(
        GIVING, sample_card(GIVING, 5), NOON + timedelta(days=5))),
    "points_goal_500": lambda s: s.outcome(
        decide_tap(FIVE_EUROS, sample_card(FIVE_EUROS, 1), NOON + timedelta(days=1),
                   basket=Basket(12_350))
    ),
    "discounted": lambda s: s.outcome(_discounted(), first_name="Marie"),
    "figures_one": lambda s: s.outcome(
        figures(TodayFigures(NOON.date(), visits=1, new_cards=1))
    ),
    "figures": lambda s: s.outcome(
        figures(TodayFigures(NOON.date(), visits=42, new_cards=5, rewards_redeemed=4,
                                      pending_sync=12))
    ),
}
SIZES = ((128, 64), (128, 32))
LOCALES = ("fr", "en")


def golden_name(name: str, size: tuple[int, int], locale: str) -> str:
    return f"{name}-{locale}-{size[0]}x{size[1]}.png"
