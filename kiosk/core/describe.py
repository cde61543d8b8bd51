"""An outcome as one line staff read at a terminal (`kiosk tap`, `kiosk redeem`). Pure.

In the kiosk's language, times in the program's zone: the OLED has its own screens.

    >>> from datetime import UTC, datetime
    >>> from kiosk.core.events import CardState
    >>> from kiosk.core.program import Program
    >>> from kiosk.core.rules import decide_tap
    >>> tap = decide_tap(Program(goal=4), CardState(card_ref="ab"), datetime(2026, 1, 5, tzinfo=UTC))
    >>> describe(tap, "en", UTC)
    "welcome: new card, 2 bonus stamps + today's; stamps 3/4 (1 more to a free coffee); vouchers: none"
"""

from __future__ import annotations

from datetime import tzinfo
from typing import assert_never

from kiosk.core.i18n import STAFF_NEXT, UNDO_REFUSALS, Locale, shipped, short_date, text
from kiosk.core.outcome import (
    Adjusted,
    Blocked,
    CardOutcome,
    Cooldown,
    DailyCap,
    Donated,
    Expired,
    Figures,
    NothingToUndo,
    NoVoucher,
    Outcome,
    Redeemed,
    Refused,
    Replaced,
    RewardEarned,
    ShowLink,
    StaffMode,
    Stamped,
    Undone,
    Visit,
    Welcome,
)


def describe(outcome: Outcome, locale: Locale, tz: tzinfo) -> str:
    """What `outcome` did and where its card now stands, on one line."""

    def t(key: str, n: int | None = None, **values: object) -> str:
        return text(locale, key, n, **values)

    match outcome:
        case Refused(reason=reason):
            return t(f"cli_refused_{reason.value}")
        case StaffMode(action=action):
            return t("staff_mode") + " \u2014 " + t(STAFF_NEXT[action])
        case Figures(figures=day):
            return "; ".join((
                t("figures") + f" {short_date(locale, day.day)}",
                t("figures_visits", n=day.visits, new=day.new_cards),
                t("figures_rewards", n=day.rewards_redeemed),
                t("figures_pending", n=day.pending_sync),
            ))
        case Welcome(bonus=bonus):
            line = t("cli_welcome", n=bonus)
        case RewardEarned(rewards_earned=rewards):
            line = t("cli_reward_earned", rewards=", ".join(shipped(locale, r.name) for r in rewards))
        case Stamped(multiplier=multiplier):
            line = t("cli_stamped") + (f" \u00d7{multiplier}" if multiplier > 1 else "")
        case Cooldown(until=until):
            line = t("cli_cooldown", time=f"{until.astimezone(tz):%H:%M}")
        case ShowLink():
            line = t("cli_show_link")
        case DailyCap():
            line = t("cli_daily_cap")
        case Donated(reward=reward, cause=cause):
            line = t("cli_donated", reward=shipped(locale, reward.name), cause=cause)
        case Redeemed(reward=reward):
            line = t("cli_redeemed", reward=shipped(locale, reward.name))
        case NoVoucher():
            line = t("cli_no_voucher")
        case Expired(expired=expired):
            line = t("expired", n=expired)
        case Undone():
            line = t("cli_undone")
        case NothingToUndo(refusal=refusal):
            line = t(UNDO_REFUSALS[refusal])
        case Adjusted(delta=delta, reason=reason):
            line = t("cli_adjusted", delta=f"{delta:+d}", reason=reason)
        case Replaced(old_ref=old, stamps_moved=moved, vouchers_moved=vouchers):
            line = t("cli_replaced", n=moved, old=f"{old[:12]}…", vouchers=vouchers)
        case Blocked():
            line = t("cli_blocked")
        case _:
            assert_never(outcome)
    return "; ".join([line, *_extras(outcome, locale), _card(outcome, locale)])


def _extras(outcome: CardOutcome, locale: Locale) -> list[str]:
    extras = []
    if isinstance(outcome, Visit):
        if outcome.surprise:
            extras.append(text(locale, "surprise", n=outcome.surprise))
        if outcome.birthday:
            extras.append(text(locale, "birthday"))
    progress = outcome.progress
    if progress.tier is not None and progress.tier.tier:
        extras.append(text(locale, "cli_tier", tier=progress.tier.tier))
    if progress.expiring and progress.expiring_on is not None:
        on = short_date(locale, progress.expiring_on)
        extras.append(text(locale, "expiring", n=progress.expiring, date=on))
    return extras


def _card(outcome: CardOutcome, locale: Locale) -> str:
    progress = outcome.progress
    held = ", ".join(f"{n}\u00d7 {shipped(locale, r.name)}" for r, n in progress.vouchers)
    return text(
        locale, "cli_card", outcome.stamps_left, stamps=outcome.stamps, goal=progress.goal,
        reward=shipped(locale, progress.reward_name), vouchers=held or text(locale, "cli_none"),
    )
