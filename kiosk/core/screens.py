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
from typing import assert_never

from PIL import Image, ImageDraw

from kiosk.core.i18n import (
    STAFF_NEXT,
    STAFF_REFUSALS,
    UNDO_REFUSALS,
    Locale,
    shipped,
    short_date,
    text,
)
from kiosk.core.lanes import Drawing
from kiosk.core.layout import (
    MARGIN,
    Block,
    Contactless,
    Fonts,
    Stamps,
    Text,
    compose,
    draw_text,
    sketch,
    text_width,
)
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
    Progress,
    Redeemed,
    RefusalReason,
    Refused,
    Replaced,
    RewardEarned,
    ShowLink,
    StaffMode,
    Stamped,
    TodayFigures,
    Undone,
    Visit,
    Welcome,
)
from kiosk.core.status import KioskStatus

BIG = ("title", "body", "small")  # a headline shrinks before a word of it is ever dropped
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

    def _line(self, key: str, fonts: tuple[str, ...] = SMALL) -> Text:
        return Text(self._t(key), fonts=fonts)

    def _fitted(self, ranked: list[tuple[int, Block]]) -> list[Block]:
        """The blocks that fit the panel's height, in their order: the most important
        (lowest rank) kept first, the others while room is left."""
        width, height = self.size
        kept: set[int] = set()
        used = 0
        for index, (_, block) in sorted(enumerate(ranked), key=lambda item: item[1][0]):
            block_height = block.height(self.fonts, width)
            if used + block_height <= height:
                kept.add(index)
                used += block_height
        return [block for index, (_, block) in enumerate(ranked) if index in kept]

    def _render(self, blocks: list[Block], inverted: bool = False) -> Drawing:
        return sketch(blocks, self.size, self.fonts, inverted)

    # -- idle and staff status -------------------------------------------------------

    def idle(
        self,
        status: KioskStatus | None = None,
        shift: tuple[int, int] = (0, 0),
        booster: int = 1,
    ) -> Image.Image:
        """"Tap your card" under the program's name; the staff badge when sync lags; a
        running booster (`booster` > 1, from rules.active_booster) announced below."""
        reader_online, offline, pending = idle_face(status or KioskStatus())
        if not reader_online:
            image = self.reader_offline()
        else:
            badge = self._badge(offline, pending)
            name_width = self.size[0] - 2 * MARGIN - (badge.width + 3 if badge else 0)
            align = "left" if badge else "center"
            program = shipped(self.locale, self.program_name)
            name = Text(program, fonts=("small",), width=name_width, align=align)
            tap = self._line("tap_your_card", BIG)
            blocks: list[Block] = [name, tap] if self.compact else [name, Contactless(16), tap]
            if booster > 1:
                announce = Text(self._t("booster_idle", n=booster), BIG if self.compact else SMALL)
                blocks = [name, announce] if self.compact else [name, tap, announce]
            image = self._render(blocks).image()
            if badge is not None:
                image.paste(badge, (self.size[0] - badge.width, 0))
        return _shifted(image, shift)

    def customer_of_week(self, first_name: str, visits: int,
                         shift: tuple[int, int] = (0, 0)) -> Image.Image:
        """The shop's customer of the week, shown now and then in place of the idle
        screen: only a first name its holder agreed to show (the central sends no other)."""
        title = self._line("week_title", SMALL)
        name = Text("{name}", BIG, {"name": first_name.strip()}, squeeze="name", stars=True)
        count = Text(self._t("week_visits", n=visits), SMALL)
        blocks: list[Block] = [title, name] if self.compact else [title, name, count]
        return _shifted(self._render(blocks).image(), shift)

    def reader_offline(self) -> Image.Image:
        """The reader is unplugged or broken: tell the customer to ask staff."""
        detail = Text(self._t("reader_offline_detail"), fonts=SMALL, max_lines=1 if self.compact else 2)
        return self._render([self._line("reader_offline", BIG), detail]).image()

    def _badge(self, offline: bool, pending: int) -> Image.Image | None:
        """A small inverted tag for staff: "OFF" when the central API is unreachable,
        and the number of events still waiting to sync."""
        parts = []
        if offline:
            parts.append(self._t("badge_offline"))
        if pending:
            parts.append(f"\u2191{min(pending, 9999)}")
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
        return self.outcome_drawing(outcome, first_name).image()

    def outcome_drawing(self, outcome: Outcome, first_name: str | None = None) -> Drawing:
        """`outcome`'s screen as marks: a display makes the panel's frame from them
        without drawing an image."""
        match outcome:
            case Figures(figures=figures):
                return self._figures(figures)
            case StaffMode(action=action):
                lines: list[Block] = [self._line("staff_mode", BIG), self._line(STAFF_NEXT[action])]
                if not self.compact:
                    lines.append(self._line("staff_again"))
                return self._render(lines, True)
            case Refused(reason=reason):
                return self._refused(reason)
            case ShowLink(qr=qr, fresh=fresh):
                return Drawing.of(self._show_link(qr, fresh))
            case RewardEarned() | Welcome(rewards_earned=(_, *_)):
                return self._reward_earned(outcome, first_name or outcome.first_name)
            case Welcome():
                headline = self._line("welcome", BIG)
            case Stamped():
                headline = self._greeting(first_name or outcome.first_name, outcome)
            case Cooldown():
                headline = self._line("cooldown", BIG)
            case DailyCap():
                headline = self._line("daily_cap", BIG)
            case Donated():
                headline = self._line("donated", BIG)
            case Redeemed():
                headline = self._line("redeemed", BIG)
            case NoVoucher():
                headline = self._line("no_voucher", BIG)
            case Expired():
                headline = self._line("stamp_added", BIG)
            case Undone():
                headline = self._line("undone", BIG)
            case NothingToUndo(refusal=refusal):
                headline = self._line(UNDO_REFUSALS[refusal], BIG)
            case Adjusted():
                headline = self._line("adjusted", BIG)
            case Replaced():
                headline = self._line("balance_moved", BIG)
            case Blocked():
                return self._render([self._line("card_replaced", BIG), self._line("use_new_card")])
            case _:
                assert_never(outcome)
        return self._render(self._card_blocks(outcome, headline))

    def _show_link(self, qr: tuple[tuple[bool, ...], ...], fresh: bool = False) -> Image.Image:
        """The card's page as a QR code at the left, lit background and quiet zone, the
        words beside it; a panel too short for the code says how else to open the page.
        A link drawn at this tap says so: the old one stops, the new one opens once synced."""
        placed = qr_image(qr, self.size[1])
        if placed is None:
            key = "new_link_short" if fresh else "scan_card_short"
            return self._render([Text(self._t(key), BIG, max_lines=2 if fresh else 3)]).image()
        image = Image.new("1", self.size, 0)
        image.paste(placed, (0, (self.size[1] - placed.height) // 2))
        width = self.size[0] - placed.width
        said: list[Block] = [Text(self._t("scan_card"), BIG, max_lines=4)]
        if fresh:
            said = [Text(self._t("new_link"), BIG, max_lines=2),
                    Text(self._t("new_link_when"), SMALL, max_lines=4)]
        words = compose(said, (width, self.size[1]), self.fonts)
        image.paste(words, (placed.width, 0))
        return image

    def _greeting(self, first_name: str | None, outcome: Visit) -> Text:
        if first_name and first_name.strip():
            template = text(self.locale, "hello", name="{name}")
            # a long name is shortened at the body face rather than the greeting shrunk
            return Text(template, BIG[:2], {"name": first_name.strip()}, squeeze="name")
        if not outcome.progress.points:
            return self._line("stamp_added", BIG)
        return self._line("points_added" if outcome.stamps_added else "visit_counted", BIG)

    def _card_blocks(self, outcome: CardOutcome, headline: Text) -> list[Block]:
        """Headline, the stamp row, then the most useful line(s) below it."""
        stamps = Stamps(outcome.stamps, outcome.progress.goal, size=8 if self.compact else 10)
        lines = [*self._details(outcome), *self._progress(outcome.progress)]
        if self.compact:
            # two rows only: the stamps row carries the count; a stamp's second row says
            # what's next, any other outcome keeps its headline
            if isinstance(outcome, Stamped) and lines:
                return [stamps, lines[0]]
            return [headline, stamps]
        return self._fitted([(0, headline), (1, stamps), *((2 + i, line) for i, line in enumerate(lines))])

    def _details(self, outcome: CardOutcome) -> list[Text]:
        """The program extras of this outcome, most surprising first, then its own detail."""
        lines = self._visit_extras(outcome) if isinstance(outcome, Visit) else []
        expired = outcome.expired if isinstance(outcome, Visit | Expired) else 0
        lines += self._card_extras(outcome.progress, expired)
        match outcome:
            case Welcome(bonus=bonus) if bonus:
                lines.append(Text(self._t("bonus", n=bonus), SMALL))
            case Cooldown():
                lines.append(self._line("cooldown_detail"))
            case DailyCap():
                lines.append(self._line("daily_cap_detail"))
            case Donated(reward=reward, cause=cause):
                lines.append(self._wrapped(self._t(
                    "donated_detail", reward=shipped(self.locale, reward.name), cause=cause)))
            case Redeemed(reward=reward):
                lines.append(self._reward_line("{reward}", reward.name))
            case Adjusted(delta=delta, reason=reason):
                lines.append(self._wrapped(self._t("adjusted_detail", delta=f"{delta:+d}", reason=reason)))
            case Replaced(stamps_moved=moved):
                lines.append(Text(self._t("moved", n=moved), SMALL))
        return lines

    def _visit_extras(self, visit: Visit) -> list[Text]:
        lines = []
        if visit.discount is not None:  # what the till deducts: the customer sees it first
            lines.append(Text(self._t("discount", percent=visit.discount.percent), SMALL))
        if visit.birthday:
            lines.append(self._line("birthday"))
        if visit.surprise:
            lines.append(Text(self._t("surprise", n=visit.surprise), SMALL))
        if visit.booster > 1:
            lines.append(Text(self._t("boosted", n=visit.booster), SMALL))
        if visit.progress.points and visit.stamps_added:
            lines.append(Text(self._t("points", n=visit.stamps_added), SMALL))
        elif visit.progress.points and isinstance(visit, Stamped | Welcome):
            # a visit with no basket from the till (or a ticket that earns nothing)
            lines.append(self._line("points_none"))
        return lines

    def _card_extras(self, progress: Progress, expired: int) -> list[Text]:
        lines = []
        tier = progress.tier
        if tier is not None and tier.tier:
            if tier.changed:
                lines.append(self._named("tier_reached", tier.tier))
            elif tier.keep and tier.keep_by is not None:
                key = ("tier_keep" if tier.by_visits else "tier_keep_stamps") + (
                    "_short" if self.compact else ""
                )
                by = short_date(self.locale, tier.keep_by)
                lines.append(self._wrapped(self._t(key, n=tier.keep, tier=tier.tier, date=by)))
        if expired:
            lines.append(Text(self._t("expired", n=expired), SMALL))
        if progress.expiring and progress.expiring_on is not None:
            on = short_date(self.locale, progress.expiring_on)
            lines.append(Text(self._t("expiring", n=progress.expiring, date=on), SMALL))
        return lines

    def _named(self, key: str, tier: str) -> Text:
        template = text(self.locale, key, tier="{tier}")
        return Text(template, SMALL, {"tier": tier}, squeeze="tier")

    def _wrapped(self, line: str) -> Text:
        """A detail line that may take two lines on the full panel (one on the compact)."""
        return Text(line, SMALL, max_lines=1 if self.compact else 2)

    def _progress(self, progress: Progress) -> list[Text]:
        """Rewards waiting at the counter first, then how far the next one is."""
        lines = []
        if progress.vouchers:
            template = text(self.locale, "reward_ready", reward="{reward}")
            lines.append(self._reward_line(template, progress.vouchers[0][0].name))
        if progress.next_reward is not None and progress.stamps_to_next > 0:
            template = text(self.locale, "more_to", progress.stamps_to_next, reward="{reward}")
            lines.append(self._reward_line(template, progress.next_reward.name))
        return lines

    def _figures(self, figures: TodayFigures) -> Drawing:
        """Today's figures for staff: visits and new cards, rewards given, events to sync."""
        visits = self._t("figures_visits", n=figures.visits, new=figures.new_cards)
        blocks: list[Block] = [self._line("figures", BIG), Text(visits, SMALL)]
        if not self.compact:
            blocks.append(Text(self._t("figures_rewards", n=figures.rewards_redeemed), SMALL))
            blocks.append(Text(self._t("figures_pending", n=figures.pending_sync), SMALL))
        return self._render(blocks)

    def _reward_line(self, template: str, reward: str) -> Text:
        """A line naming a reward: whole words on one line, else two on the full panel."""
        return self._wrapped(template.format(reward=shipped(self.locale, reward)))

    def _reward_earned(self, outcome: Visit, first_name: str | None) -> Drawing:
        """The celebration: an inverted (all lit) screen, sparkles, the reward's name; on a
        birthday the wish and the customer's name; a tier the same tap reached."""
        names = [shipped(self.locale, r.name) for r in outcome.rewards_earned]
        reward = Text(
            " + ".join(names) or shipped(self.locale, outcome.progress.reward_name),
            BIG,
            max_lines=2 if self.compact else 3,
        )
        headline = self._celebration(outcome.birthday, first_name)
        if self.compact:
            fits_one_line = len(reward.lines(self.fonts, self.size[0])[1]) == 1
            return self._render([headline, reward] if fits_one_line else [reward], inverted=True)
        tier = outcome.progress.tier
        reached = (
            [(2, self._named("tier_reached", tier.tier))]
            if tier is not None and tier.changed and tier.tier else []
        )
        ranked: list[tuple[int, Block]] = [
            (1, headline), (4, self._line("earned")), (0, reward), *reached,
            (3, self._line("ask_staff_reward")),
        ]
        return self._render(self._fitted(ranked), inverted=True)

    def _celebration(self, birthday: bool, first_name: str | None) -> Text:
        """"Well done!", or the birthday wish with the customer's first name."""
        name = (first_name or "").strip()
        if not birthday:
            return Text(self._t("congrats"), BIG, stars=True)
        if not name:
            return Text(self._t("birthday"), BIG, stars=True)
        # no sparkles: they would leave the name too little room
        template = text(self.locale, "birthday_name", name="{name}")
        return Text(template, BIG, {"name": name}, squeeze="name")

    def _refused(self, reason: RefusalReason) -> Drawing:
        if reason in STAFF_REFUSALS:  # the card is fine: the staff correction is not done
            why = Text(self._t(f"refused_{reason.value}"), ("small",), max_lines=1 if self.compact else 2)
            return self._render([self._line("not_done", BIG), why], True)
        if reason is RefusalReason.UNREADABLE:
            return self._render([self._line("unreadable", BIG), self._line("unreadable_detail")])
        if reason is RefusalReason.NOT_ORIGINAL:
            if self.compact:
                return self._render([self._line("not_original", BIG), self._line("not_original_detail")])
            why = Text(self._t("refused_not_original"), ("small",), max_lines=2)
            return self._render([self._line("refused", BIG), why])
        if self.compact:
            return self._render([self._line("refused", BIG), self._line("use_loyalty_card")])
        why = Text(self._t(f"refused_{reason.value}"), ("small",), max_lines=2)
        return self._render([self._line("refused", BIG), why, self._line("use_loyalty_card")])


def idle_face(status: KioskStatus) -> tuple[bool, bool, int]:
    """All of the kiosk's status the idle screen shows: reader online, central offline,
    events waiting (not the times of the last tap or sync). The same face is the same
    screen, so a display may keep it drawn."""
    return status.reader_online, status.offline, status.pending_events


def _shifted(image: Image.Image, shift: tuple[int, int]) -> Image.Image:
    """`image` moved by a few pixels (burn-in care); the layout's margin absorbs it."""
    if shift == (0, 0):
        return image
    moved = Image.new(image.mode, image.size, 0)
    moved.paste(image, shift)
    return moved


QR_QUIET = 2  # modules of lit margin around the code (decoders ask for 4, read 2 fine)


def qr_image(qr: tuple[tuple[bool, ...], ...], height: int) -> Image.Image | None:
    """The code at the largest whole number of pixels per module that fits `height`,
    dark modules unlit on a lit ground; None when even one pixel a module is too big."""
    size = len(qr) + 2 * QR_QUIET
    scale = height // size
    if scale < 1:
        return None
    image = Image.new("1", (size * scale, size * scale), 1)
    draw = ImageDraw.Draw(image)
    for y, row in enumerate(qr):
        for x, dark in enumerate(row):
            if dark:
                left, top = (x + QR_QUIET) * scale, (y + QR_QUIET) * scale
                draw.rectangle((left, top, left + scale - 1, top + scale - 1), fill=0)
    return image

