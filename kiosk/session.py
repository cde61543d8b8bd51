"""Staff at the counter, over a few seconds: what a card on the reader means now.

A staff card arms an action (redeem, then undo, then today's figures at the next staff
tap) that the next customer card gets, if it comes within the staff window. The staff
button acts on the customer card shown last, within the button window. Neither needs a
thread: the caller passes the time (`time.monotonic()`) and keeps taps in order.

    session = StaffSession()
    outcome = session.tap(counter, uid, time.monotonic())
    outcome = session.button(counter, StaffAction.REDEEM, time.monotonic())  # None: no card
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kiosk.core.outcome import Outcome
from kiosk.core.perks import Basket
from kiosk.core.rules import decide_redeem
from kiosk.core.staff import StaffAction, next_staff_action, staff_mode
from kiosk.errors import UnknownCard
from kiosk.service import Counter

STAFF_WINDOW_SECONDS = 20.0  # how long a staff card's action waits for the customer's card
BUTTON_WINDOW_SECONDS = 60.0  # the staff button acts on the card shown this recently
BUTTON_STAFF_REF = "button"  # recorded as the staff ref of what the button did


STAFF_STAMP_REASON = "staff card: one stamp by hand"  # an ADD_STAMP adjustment's reason


@dataclass(frozen=True)
class Armed:
    """A staff card was tapped: the next customer card gets `action` (for a replacement,
    the card tapped after the old one, `old_ref`, is its new card)."""

    staff_ref: str
    action: StaffAction
    until: float
    old_ref: str | None = None


def no_basket() -> Basket | None:
    return None


class StaffSession:
    """The staff action a staff card armed, and the customer card the button acts on."""

    def __init__(
        self,
        staff_window: float = STAFF_WINDOW_SECONDS,
        button_window: float = BUTTON_WINDOW_SECONDS,
    ) -> None:
        self.staff_window = staff_window
        self.button_window = button_window
        self._armed: Armed | None = None
        self._figures_until: float | None = None  # a staff tap before then moves on past figures
        self._shown: tuple[bytes, float] | None = None  # a customer card, until when it counts

    def armed(self, now: float) -> StaffAction | None:
        """The action waiting for a customer card at `now`, if any."""
        return self._armed.action if self._armed is not None and now < self._armed.until else None

    def tap(
        self,
        counter: Counter,
        uid: bytes,
        now: float,
        basket: Callable[[], Basket | None] = no_basket,
        on_decided: Callable[[Outcome], object] | None = None,
    ) -> Outcome:
        """A card on the reader: a customer's tap, a staff card, or the customer card a
        staff card is waiting for. `basket` is asked only for a customer's stamp (a refused
        phone leaves the till's basket to the loyalty card that follows it)."""
        armed = self._armed if self._armed is not None and now < self._armed.until else None
        self._armed = None
        ref = counter.identify(uid)
        if ref is None:  # not a card: refused, and the button has nothing to act on
            self._shown = None
            return counter.tap(uid, on_decided=on_decided)
        if counter.staff.is_staff_card(ref):
            current = armed.action if armed else None
            if current is None and self._figures_until is not None and now < self._figures_until:
                current = StaffAction.FIGURES  # the figures were shown: the cycle goes on
            self._figures_until = None
            action = next_staff_action(current, giving=counter.program.cause is not None)
            if action is StaffAction.FIGURES:
                self._figures_until = now + self.staff_window
                return counter.todays_figures()
            self._armed = Armed(ref, action, now + self.staff_window)
            return staff_mode(action)
        self._figures_until = None
        if armed is not None and armed.action is StaffAction.REPLACE:
            # the old card: its replacement is the next card
            self._armed = Armed(armed.staff_ref, StaffAction.REPLACE_WITH, now + self.staff_window, ref)
            return staff_mode(StaffAction.REPLACE_WITH)
        if armed is not None and armed.action is StaffAction.REPLACE_WITH and armed.old_ref:
            return counter.replace(armed.old_ref, ref, armed.staff_ref)
        if armed is not None and armed.action is StaffAction.ADD_STAMP:
            return counter.adjust(ref, 1, STAFF_STAMP_REASON, armed.staff_ref)
        if armed is not None and armed.action is StaffAction.DONATE:
            return counter.donate(ref, armed.staff_ref)
        if armed is not None:
            return self._staff_action(counter, uid, armed.action, armed.staff_ref)
        self._shown = (uid, now + self.button_window)
        return counter.tap(uid, basket=basket(), on_decided=on_decided)

    def button(self, counter: Counter, action: StaffAction, now: float) -> Outcome | None:
        """The staff button: `action` on the customer card shown last; None when no card
        was shown within the button window."""
        if self._shown is None or now >= self._shown[1]:
            return None
        return self._staff_action(counter, self._shown[0], action, BUTTON_STAFF_REF)

    @staticmethod
    def _staff_action(counter: Counter, uid: bytes, action: StaffAction, staff_ref: str) -> Outcome:
        try:
            if action is StaffAction.REDEEM:
                return counter.redeem(uid, staff_ref=staff_ref)
            return counter.undo(uid, staff_ref=staff_ref)
        except UnknownCard:
            # a card never seen here has nothing to redeem or undo: say so, record nothing
            return decide_redeem(counter.program, counter.card(uid), counter.now())
