"""The Overview's figures for one period, all shops or one, read from `central.tallies`'
tables (a few hundred rows whatever the number of events).

    with reading(db) as conn:
        figures = read(conn, org=1, shop=None, period=period("7", today))

Adoption rate = visits with a card ÷ till tickets × 100 (needs a till that reports every
ticket). ROI estimate = (extra revenue − rewards' cost) ÷ rewards' cost × 100, where extra
revenue = tickets with a card × (average basket with a card − average basket without) and
rewards' cost = vouchers redeemed × the cost of one reward, which the owner types in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import bindparam, func, select
from sqlalchemy.engine import Connection

from central.db import card_activity, hour_figures, shop_totals, till_hours
from central.tallies import ALL_SHOPS, COLUMNS

PERIODS = {"today": 1, "7": 7, "30": 30}  # the periods the page offers, in days
DEFAULT_PERIOD = "7"
ACTIVE_DAYS = 90  # a cardholder is active with a visit in the last 90 days
MAX_REWARD_COST = 100_000  # cents: a reward's cost above 1,000 is a typo


@dataclass(frozen=True)
class Period:
    name: str
    first: date
    last: date

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]


def period(name: str | None, today: date) -> Period:
    """The period a page asks for (`today`, `7` or `30` days up to today); 7 days else."""
    chosen = name if name in PERIODS else DEFAULT_PERIOD
    return Period(chosen, today - timedelta(days=PERIODS[chosen] - 1), today)


@dataclass(frozen=True)
class Overview:
    period: Period
    visits: int
    new_cards: int
    return_visits: int
    earned: int
    redeemed: int
    vouchers_outstanding: int
    active_cardholders: int
    tickets: int
    card_tickets: int
    card_amount: int  # cents
    other_amount: int  # cents
    per_day: list[tuple[date, int]]
    heat: list[list[int]]  # [weekday 0=Monday][hour] visits

    @property
    def adoption(self) -> float | None:
        """Visits with a card per 100 till tickets; None without till reports."""
        return None if not self.tickets else 100.0 * self.visits / self.tickets

    @property
    def basket_with_card(self) -> float | None:
        return None if not self.card_tickets else self.card_amount / self.card_tickets

    @property
    def basket_without_card(self) -> float | None:
        others = self.tickets - self.card_tickets
        return None if others <= 0 else self.other_amount / others

    def roi(self, reward_cost: int) -> Roi | None:
        """The ROI estimate for a reward costing `reward_cost` cents; None when the till's
        reports do not give both average baskets."""
        if self.basket_with_card is None or self.basket_without_card is None:
            return None
        extra = self.card_tickets * (self.basket_with_card - self.basket_without_card)
        return Roi(round(extra), self.redeemed * reward_cost)


@dataclass(frozen=True)
class Roi:
    extra_revenue: int  # cents
    rewards_cost: int  # cents

    @property
    def net(self) -> int:
        return self.extra_revenue - self.rewards_cost

    @property
    def percent(self) -> float | None:
        return None if not self.rewards_cost else 100.0 * self.net / self.rewards_cost


# Built once, with parameters: building a statement costs SQLAlchemy more than running
# these (each reads a few hundred rows on an index).
_HOURS = select(hour_figures.c.day, hour_figures.c.hour, *(hour_figures.c[c] for c in COLUMNS)
                ).where(hour_figures.c.org_id == bindparam("org"),
                        hour_figures.c.shop_id == bindparam("shop"),
                        hour_figures.c.day >= bindparam("first"),
                        hour_figures.c.day <= bindparam("last"))
_OWED = select(func.coalesce(func.sum(shop_totals.c.earned - shop_totals.c.redeemed), 0)).where(
    shop_totals.c.org_id == bindparam("org"), shop_totals.c.shop_id == bindparam("shop"))
_ACTIVE = select(func.count()).select_from(card_activity).where(
    card_activity.c.org_id == bindparam("org"), card_activity.c.shop_id == bindparam("shop"),
    card_activity.c.last_day >= bindparam("since"))
_TILL_COLUMNS = ("tickets", "card_tickets", "card_amount", "other_amount")
_TILL = select(*(func.coalesce(func.sum(till_hours.c[c]), 0) for c in _TILL_COLUMNS)).where(
    till_hours.c.org_id == bindparam("org"), till_hours.c.day >= bindparam("first"),
    till_hours.c.day <= bindparam("last"))
_SHOP_TILL = _TILL.where(till_hours.c.shop_id == bindparam("shop"))


def read(conn: Connection, org: int, shop: int | None, chosen: Period) -> Overview:
    """The figures of `chosen` for one shop, or every shop of the organisation (None)."""
    asked = {"org": org, "shop": ALL_SHOPS if shop is None else shop,
             "first": chosen.first.isoformat(), "last": chosen.last.isoformat(),
             "since": (chosen.last - timedelta(days=ACTIVE_DAYS - 1)).isoformat()}
    hours = conn.execute(_HOURS, asked).all()
    sums = dict.fromkeys(COLUMNS, 0)
    by_day: dict[str, int] = {}
    heat = [[0] * 24 for _ in range(7)]
    weekday = {day.isoformat(): day.weekday() for day in chosen.days}
    for row in hours:
        for column in COLUMNS:
            sums[column] += row._mapping[column]
        by_day[row.day] = by_day.get(row.day, 0) + row.visits
        heat[weekday[row.day]][row.hour] += row.visits
    owed = conn.execute(_OWED, asked).scalar_one()
    active = conn.execute(_ACTIVE, asked).scalar_one()
    till = conn.execute(_TILL if shop is None else _SHOP_TILL, asked).one()
    return Overview(
        period=chosen, visits=sums["visits"], new_cards=sums["new_cards"],
        return_visits=sums["return_visits"], earned=sums["earned"], redeemed=sums["redeemed"],
        vouchers_outstanding=int(owed), active_cardholders=int(active),
        tickets=int(till[0]), card_tickets=int(till[1]), card_amount=int(till[2]),
        other_amount=int(till[3]),
        per_day=[(day, by_day.get(day.isoformat(), 0)) for day in chosen.days], heat=heat)
