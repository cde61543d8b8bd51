"""What the customer sees: an outcome or the kiosk's status -> a 1-bit image. Pure.

    >>> from kiosk.fonts import load
    >>> screens = Screens(load(), (128, 64), "en", "Café Lune")
    >>> screens.idle().size
    (128, 64)

Each screen is a short list of layout blocks (kiosk.core.layout); the same list serves
128x64 and 128x32, with the compact panel keeping only what matters most.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, ImageDraw

from kiosk.core.i18n import Locale, short_date, text
from kiosk.core.layout import (
    MARGIN,
    Block,
    Contactless,
    Fonts,
    Stamps,
    Text,
    compose,
    draw_text,
    text_width,
)
from kiosk.core.outcome import TodayFigures, UndoRefusal
from kiosk.core.rules import Outcome, OutcomeKind, RefusalReason
from kiosk.core.status import KioskStatus

BIG = ("title", "body")  # a headline shrinks to body size before it is ever cut
SMALL = ("body", "small")


@dataclass(frozen=True)
class Screens:
    """Renders every screen for one panel size, language and program."""

    fonts: Fonts
    size: tuple[int, int]
    locale: Locale
    program_name: str

    @property
    def compact(self) -> bool:
        return self.size[1] < 64

    def _t(self, key: str, n: int | None = None, **values: object) -> str:
        return text(self.locale, key, n, **values)

    def _line(self, key: str, fonts: tuple[str, ...] = SMALL, **extra: object) -> Text:
        return Text(self._t(key), fonts=fonts, **extra)  # type: ignore[arg-type]

    def _render(self, blocks: list[Block], inverted: bool = False) -> Image.Image:
        return compose(blocks, self.size, self.fonts, inverted)

    # -- idle and staff status -------------------------------------------------------

    def idle(
        self,
        status: KioskStatus | None = None,
        shift: tuple[int, int] = (0, 0),
        booster: int = 1,
    ) -> Image.Image:
        """"Tap your card" under the program's name; the staff badge when sync lags; a
        running booster (`booster` > 1, from rules.active_booster) announced below."""
        status = status or KioskStatus()
        if not status.reader_online:
            image = self.reader_offline()
        else:
            badge = self._badge(status)
            name_width = self.size[0] - 2 * MARGIN - (badge.width + 3 if badge else 0)
            align = "left" if badge else "center"
            name = Text(self.program_name, fonts=("small",), width=name_width, align=align)
            tap = self._line("tap_your_card", BIG)
            blocks: list[Block] = [name, tap] if self.compact else [name, Contactless(16), tap]
            if booster > 1:
                announce = Text(self._t("booster_idle", n=booster), BIG if self.compact else SMALL)
                blocks = [name, announce] if self.compact else [name, tap, announce]
            image = self._render(blocks)
            if badge is not None:
                image.paste(badge, (self.size[0] - badge.width, 0))
        return _shifted(image, shift)

    def reader_offline(self) -> Image.Image:
        """The reader is unplugged or broken: tell the customer to ask staff."""
        detail = Text(self._t("reader_offline_detail"), fonts=SMALL, max_lines=1 if self.compact else 2)
        return self._render([self._line("reader_offline", BIG), detail])

    def _badge(self, status: KioskStatus) -> Image.Image | None:
        """A small inverted tag for staff: "OFF" when the central API is unreachable,
        and the number of events still waiting to sync."""
        parts = []
        if status.offline:
            parts.append(self._t("badge_offline"))
        if status.pending_events:
            parts.append(f"\u2191{min(status.pending_events, 9999)}")
        if not parts:
            return None
        label = " ".join(parts)
        font = self.fonts.small
        width = text_width(font, label) + 4
        badge = Image.new("1", (width, 11), 1)
        draw_text(ImageDraw.Draw(badge), (2, 0), label, font, 0, "la")
        return badge

    # -- outcomes --------------------------------------------------------------------

    def outcome(self, outcome: Outcome, first_name: str | None = None) -> Image.Image:
        """The screen for what a tap (or a redemption) just did."""
        kind = outcome.kind
        first_name = first_name or outcome.first_name
        if kind is OutcomeKind.FIGURES and outcome.figures is not None:
            return self._figures(outcome.figures)
        if kind is OutcomeKind.STAFF_MODE:
            action = {"redeem": "staff_redeem", "undo": "staff_undo"}.get(
                outcome.staff_action or "", "staff_next"
            )
            lines: list[Block] = [self._line("staff_mode", BIG), self._line(action)]
            if not self.compact:
                lines.append(self._line("staff_again"))
            return self._render(lines, True)
        if kind is OutcomeKind.REWARD_EARNED or (
            kind is OutcomeKind.WELCOME and outcome.rewards_earned
        ):
            return self._reward_earned(outcome)
        if kind is OutcomeKind.REFUSED:
            return self._refused(outcome.refusal)
        headline = {
            OutcomeKind.WELCOME: self._line("welcome", BIG),
            OutcomeKind.STAMPED: self._greeting(first_name, outcome),
            OutcomeKind.COOLDOWN: self._line("cooldown", BIG),
            OutcomeKind.DAILY_CAP: self._line("daily_cap", BIG),
            OutcomeKind.REDEEMED: self._line("redeemed", BIG),
            OutcomeKind.NO_VOUCHER: self._line("no_voucher", BIG),
            OutcomeKind.EXPIRED: self._line("stamp_added", BIG),
            OutcomeKind.UNDONE: self._line("undone", BIG),
            OutcomeKind.NOTHING_TO_UNDO: self._line(_UNDO_REFUSALS[outcome.undo_refusal], BIG),
        }[kind]
        if outcome.birthday and kind is OutcomeKind.STAMPED:
            headline = self._greeting(first_name, outcome)  # the wish is the line below
        return self._render(self._card_blocks(outcome, headline))

    def _greeting(self, first_name: str | None, outcome: Outcome) -> Text:
        if first_name and first_name.strip():
            template = text(self.locale, "hello", name="{name}")
            return Text(template, BIG, {"name": first_name.strip()}, squeeze="name")
        if not outcome.points:
            return self._line("stamp_added", BIG)
        return self._line("points_added" if outcome.stamps_added else "visit_counted", BIG)

    def _card_blocks(self, outcome: Outcome, headline: Text) -> list[Block]:
        """Headline, the stamp row, then the most useful line(s) below it."""
        stamps = Stamps(outcome.stamps, outcome.goal, size=8 if self.compact else 10)
        lines = [*self._details(outcome), *self._progress(outcome)]
        if self.compact:
            # two rows only: the stamps row carries the count; a stamp's second row says
            # what's next, any other outcome keeps its headline
            if outcome.kind is OutcomeKind.STAMPED and lines:
                return [stamps, lines[0]]
            return [headline, stamps]
        return [headline, stamps, *lines[:2]]

    def _details(self, outcome: Outcome) -> list[Text]:
        extras = self._extras(outcome)
        return [*extras, *self._kind_details(outcome)] if extras else self._kind_details(outcome)

    def _extras(self, outcome: Outcome) -> list[Text]:
        """The program extras of this tap, most surprising first; empty when all are off."""
        lines = []
        if outcome.birthday:
            lines.append(self._line("birthday"))
        if outcome.surprise:
            lines.append(Text(self._t("surprise", n=outcome.surprise), SMALL))
        if outcome.booster > 1:
            lines.append(Text(self._t("boosted", n=outcome.booster), SMALL))
        if outcome.points and outcome.stamps_added:
            lines.append(Text(self._t("points", n=outcome.stamps_added), SMALL))
        elif outcome.points and outcome.kind in (OutcomeKind.STAMPED, OutcomeKind.WELCOME):
            # a visit with no basket from the till (or a ticket that earns nothing)
            lines.append(self._line("points_none"))
        tier = outcome.tier
        if tier is not None and tier.tier:
            if tier.changed:
                lines.append(self._named("tier_reached", tier.tier))
            elif tier.keep:
                lines.append(self._named("tier_keep", tier.tier, tier.keep))
        if outcome.expired:
            lines.append(Text(self._t("expired", n=outcome.expired), SMALL))
        if outcome.expiring and outcome.expiring_on is not None:
            on = short_date(self.locale, outcome.expiring_on)
            lines.append(Text(self._t("expiring", n=outcome.expiring, date=on), SMALL))
        return lines

    def _named(self, key: str, tier: str, n: int | None = None) -> Text:
        template = text(self.locale, key, n, tier="{tier}")
        return Text(template, SMALL, {"tier": tier}, squeeze="tier")

    def _kind_details(self, outcome: Outcome) -> list[Text]:
        kind = outcome.kind
        if kind is OutcomeKind.WELCOME and outcome.bonus:
            return [Text(self._t("bonus", n=outcome.bonus), SMALL)]
        if kind is OutcomeKind.COOLDOWN:
            return [self._line("cooldown_detail")]
        if kind is OutcomeKind.DAILY_CAP:
            return [self._line("daily_cap_detail")]
        if kind is OutcomeKind.REDEEMED and outcome.rewards_redeemed:
            return [self._reward_line("{reward}", outcome.rewards_redeemed[0].name)]
        return []

    def _progress(self, outcome: Outcome) -> list[Text]:
        """Rewards waiting at the counter first, then how far the next one is."""
        lines = []
        if outcome.vouchers:
            template = text(self.locale, "reward_ready", reward="{reward}")
            lines.append(self._reward_line(template, outcome.vouchers[0][0].name))
        if outcome.next_reward is not None and outcome.stamps_to_next > 0:
            template = text(self.locale, "more_to", outcome.stamps_to_next, reward="{reward}")
            lines.append(self._reward_line(template, outcome.next_reward.name))
        return lines

    def _figures(self, figures: TodayFigures) -> Image.Image:
        """Today's figures for staff: visits and new cards, rewards given, events to sync."""
        visits = self._t("figures_visits", n=figures.visits, new=figures.new_cards)
        blocks: list[Block] = [self._line("figures", BIG), Text(visits, SMALL)]
        if not self.compact:
            blocks.append(Text(self._t("figures_rewards", n=figures.rewards_redeemed), SMALL))
            blocks.append(Text(self._t("figures_pending", n=figures.pending_sync), SMALL))
        return self._render(blocks)

    def _reward_line(self, template: str, reward: str) -> Text:
        return Text(template, SMALL, {"reward": reward}, squeeze="reward")

    def _reward_earned(self, outcome: Outcome) -> Image.Image:
        """The celebration: an inverted (all lit) screen, sparkles, the reward's name."""
        names = " + ".join(r.name for r in outcome.rewards_earned) or outcome.reward_name
        congrats = Text(self._t("congrats"), BIG, stars=True)
        reward = Text("{reward}", BIG, {"reward": names}, squeeze="reward")
        if self.compact:
            return self._render([congrats, reward], inverted=True)
        blocks: list[Block] = [congrats, self._line("earned"), reward, self._line("ask_staff_reward")]
        return self._render(blocks, inverted=True)

    def _refused(self, reason: RefusalReason | None) -> Image.Image:
        if reason is RefusalReason.UNREADABLE:
            return self._render([self._line("unreadable", BIG), self._line("unreadable_detail")])
        if reason is RefusalReason.NOT_ORIGINAL:
            if self.compact:
                return self._render([self._line("not_original", BIG), self._line("not_original_detail")])
            why = Text(self._t("refused_not_original"), ("small",), max_lines=2)
            return self._render([self._line("refused", BIG), why])
        if self.compact:
            return self._render([self._line("refused", BIG), self._line("use_loyalty_card")])
        why = Text(self._t("refused_random_id"), ("small",), max_lines=2)
        return self._render([self._line("refused", BIG), why, self._line("use_loyalty_card")])


_UNDO_REFUSALS = {
    None: "nothing_to_undo",
    UndoRefusal.NO_STAMP: "nothing_to_undo",
    UndoRefusal.ALREADY_UNDONE: "nothing_to_undo",
    UndoRefusal.TOO_LATE: "undo_too_late",
    UndoRefusal.REWARD_GIVEN: "undo_reward_given",
}


def _shifted(image: Image.Image, shift: tuple[int, int]) -> Image.Image:
    """`image` moved by a few pixels (burn-in care); the layout's margin absorbs it."""
    if shift == (0, 0):
        return image
    moved = Image.new(image.mode, image.size, 0)
    moved.paste(image, shift)
    return moved
