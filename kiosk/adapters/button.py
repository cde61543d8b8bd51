"""The optional staff button (gpiozero `Button`): a press and a long press.

Wiring: a momentary push button between the BCM pin named by `[lights] button_pin` and
GND; the Pi's internal pull-up is used, so no resistor is needed.

    button = StaffButton.from_config(section, on_press=redeem, on_hold=undo)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from kiosk.config import LightsSection

log = logging.getLogger(__name__)

HOLD_SECONDS = 2.0  # a long press, deliberate enough not to happen by accident


class StaffButton:
    """Calls `on_press` on a short press and `on_hold` once on a long press."""

    def __init__(self, button: Any, on_press: Callable[[], None], on_hold: Callable[[], None]) -> None:
        self._button = button
        self._on_press = on_press
        self._on_hold = on_hold
        self._held = False
        if button is not None:
            button.when_held = self._hold
            button.when_released = self._release

    @classmethod
    def from_config(
        cls,
        section: LightsSection,
        pin_factory: object | None,
        on_press: Callable[[], None],
        on_hold: Callable[[], None],
    ) -> StaffButton:
        """No button fitted (`button_pin = 0`) gives a button that never fires."""
        if not section.button_pin:
            return cls(None, on_press, on_hold)
        from gpiozero import Button

        button = Button(
            section.button_pin, pull_up=True, bounce_time=0.05, hold_time=HOLD_SECONDS,
            pin_factory=pin_factory,
        )
        return cls(button, on_press, on_hold)

    def _hold(self) -> None:
        self._held = True
        self._safely(self._on_hold)

    def _release(self) -> None:
        if not self._held:
            self._safely(self._on_press)
        self._held = False

    @staticmethod
    def _safely(action: Callable[[], None]) -> None:
        # gpiozero calls us from its own thread: an error must not kill that thread
        try:
            action()
        except Exception:
            log.exception("event=button error=true")

    def close(self) -> None:
        if self._button is not None:
            self._button.close()
