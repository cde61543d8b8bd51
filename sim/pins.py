"""A gpiozero mock pin that notes when it was written, like a logic probe on the wire.

gpiozero's MockPin keeps state *changes* only: an LED told "on" while already on leaves no
trace. A benchmark timing "the LED came on for this tap" needs the write itself.

    >>> from gpiozero import LED
    >>> factory = probed_factory()
    >>> seen = []
    >>> factory.pin(17).on_write = lambda at, value: seen.append(value)
    >>> LED(17, pin_factory=factory).on()   # gpiozero drives it low first, then on
    >>> seen
    [0.0, 1.0]
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from gpiozero.pins.mock import MockFactory, MockPWMPin


class ProbedPin(MockPWMPin):  # type: ignore[misc]
    """MockPWMPin that calls `on_write(time.monotonic(), value)` after every output write."""

    on_write: Callable[[float, float], None] | None = None

    def _set_state(self, value: Any) -> None:
        super()._set_state(value)
        listener = self.on_write
        if listener is not None:
            listener(time.monotonic(), float(value))


def probed_factory() -> MockFactory:
    """A MockFactory whose pins are ProbedPins."""
    return MockFactory(pin_class=ProbedPin)
