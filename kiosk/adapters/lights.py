"""LEDs and buzzer through gpiozero: a pattern per outcome, never blocking the caller.

Wiring (BCM numbers from [lights], 0 = not fitted): each LED's anode through ~330 ohm to
its pin, cathode to ground; a passive piezo (`buzzer_kind = "tonal"`, plays notes) or an
active buzzer (`"active"`, beeps) between its pin and ground.

    >>> from gpiozero.pins.mock import MockFactory, MockPWMPin
    >>> from kiosk.config import from_mapping
    >>> section = from_mapping({"lights": {"factory": "mock"}}).lights
    >>> lights = Lights.from_config(section, MockFactory(pin_class=MockPWMPin))
    >>> lights.close()

Each device plays its own *track*: a list of (value, seconds) steps in a background
thread, then the idle loop (heartbeat, or a slow red blink while the reader is offline).
A new outcome replaces the running track at once. One small class serves LEDs and the
buzzer alike, which also lets the celebration's blinking and melody run side by side.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, assert_never

from kiosk.config import LightsSection
from kiosk.core.melody import Note, parse_melody
from kiosk.core.outcome import (
    Adjusted,
    Blocked,
    Cooldown,
    DailyCap,
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
    Welcome,
)
from kiosk.core.status import KioskStatus

log = logging.getLogger(__name__)

Step = tuple[Any, float]  # (value for the device, seconds)


def _blinks(n: int, on: float, off: float) -> list[Step]:
    steps: list[Step] = []
    for _ in range(n):
        steps += [(True, on), (False, off)]
    return steps


GLIMPSE = _blinks(1, 0.1, 0.0)  # shown, nothing changed
STAMP = _blinks(2, 0.25, 0.15)
WELCOME = _blinks(3, 0.25, 0.15)
CELEBRATION = [*_blinks(8, 0.1, 0.1), (True, 0.8), (False, 0.0)]
REDEEMED = [(True, 1.0), (False, 0.0)]
UNDONE = [(True, 0.6), (False, 0.0)]
STAFF = _blinks(4, 0.05, 0.05)
RED_REFUSED = _blinks(2, 0.3, 0.2)
RED_ERROR = _blinks(3, 0.1, 0.1)
HEARTBEAT = [(True, 0.05), (False, 2.95)]
READER_OFFLINE = [(True, 0.2), (False, 1.8)]


class Track:
    """One device playing steps, then looping its idle steps, on a thread of its own.

    The thread lives as long as the track: `play` only hands it the steps and returns, so
    a tap never waits for a thread to stop or to start (under load that handover took
    milliseconds). Every change bumps `_version` and releases `_poked`, on which the
    thread times each step: a bare lock's timed acquire, done in C, where a Condition's
    timed wait ran some forty lines of Python per step.
    """

    def __init__(self, name: str, apply: Callable[[Any], None], speed: float = 1.0) -> None:
        self.name = name
        self._apply = apply
        self._speed = speed
        self._state = threading.Lock()  # guards what follows
        self._idle: list[Step] = []
        self._pattern: list[Step] | None = None  # handed over by play(), not started yet
        self._version = 0
        self._closed = False
        self._poked = threading.Lock()  # released: something changed; the thread takes it
        self._poked.acquire()
        self._done = threading.Event()
        self._done.set()
        self._thread = threading.Thread(target=self._run, name=f"lights-{name}", daemon=True)
        self._thread.start()

    def play(self, steps: Sequence[Step]) -> None:
        """Replace whatever plays now with `steps`, then the idle loop."""
        with self._state:
            self._pattern = list(steps)
            self._done.clear()
            self._bump()

    def set_idle(self, steps: Sequence[Step]) -> None:
        """The loop to play when no pattern runs; restarts it only when it changed."""
        with self._state:
            if list(steps) == self._idle:
                return
            self._idle = list(steps)
            if self._done.is_set():  # the idle loop runs now: restart it; a pattern plays on
                self._bump()

    def wait(self, timeout: float) -> bool:
        """Wait until the current pattern (not the idle loop) has finished."""
        return self._done.wait(timeout)

    def close(self) -> None:
        with self._state:
            self._closed = True
            self._bump()
        # the thread only ever waits on `_poked`, so this returns at once
        self._thread.join(timeout=1.0)
        self._safe_apply(None)

    def _bump(self) -> None:
        self._version += 1
        # released already and not taken yet: the thread sees this change too
        with contextlib.suppress(RuntimeError):
            self._poked.release()

    def _run(self) -> None:
        while True:
            with self._state:
                if self._closed:
                    return
                version = self._version
                steps, self._pattern = self._pattern, None
                idle = self._idle
            if steps is not None:
                if self._steps(steps, version):
                    self._safe_apply(None)
                    self._done.set()
            elif idle:
                self._steps(idle, version)
            else:
                self._safe_apply(None)
                self._wait(version, None)

    def _steps(self, steps: list[Step], version: int) -> bool:
        """Play `steps`; False when cut short by a change."""
        for value, seconds in steps:
            self._safe_apply(value)
            if self._wait(version, seconds * self._speed):
                return False
        return True

    def _wait(self, version: int, seconds: float | None) -> bool:
        """Wait `seconds` (None: for ever); True as soon as anything changed after
        `version` (a release left from an earlier change only shortens nothing)."""
        deadline = None if seconds is None else time.monotonic() + seconds
        while self._version == version:
            if deadline is None:
                self._poked.acquire()
            else:
                left = deadline - time.monotonic()
                # positional: parsing `timeout=` by name cost more than the rest of the wait
                if left <= 0 or not self._poked.acquire(True, left):
                    return self._version != version
        return True

    def _safe_apply(self, value: Any) -> None:
        try:
            self._apply(value)
        except Exception as error:  # noqa: BLE001 - a flaky pin must not kill the kiosk
            log.warning("event=lights light=%s error=%r", self.name, str(error))


class Lights:
    """Green and red LEDs and an optional buzzer, each optional."""

    def __init__(
        self,
        green: Any | None,
        red: Any | None,
        buzzer: Any | None,
        melodies: dict[str, tuple[Note, ...]] | None = None,
        heartbeat: bool = False,
        speed: float = 1.0,
    ) -> None:
        self.devices = [d for d in (green, red, buzzer) if d is not None]
        self._melodies = melodies or {}
        self._heartbeat = heartbeat
        self._status = KioskStatus()
        self._green = Track("green", _led_apply(green), speed) if green else None
        self._red = Track("red", _led_apply(red), speed) if red else None
        self._buzzer = Track("buzzer", _buzzer_apply(buzzer), speed) if buzzer else None
        self.set_status(self._status)

    @classmethod
    def from_config(
        cls, section: LightsSection, pin_factory: object | None = None, *, speed: float = 1.0
    ) -> Lights:
        """The LEDs and buzzer [lights] names, on `pin_factory` or the configured one;
        `speed` scales every duration (tests and the demo play patterns faster)."""
        from gpiozero import LED, Buzzer, TonalBuzzer

        factory = pin_factory if pin_factory is not None else make_pin_factory(section.factory)
        green = LED(section.green_pin, pin_factory=factory) if section.green_pin else None
        red = LED(section.red_pin, pin_factory=factory) if section.red_pin else None
        buzzer: Any = None
        if section.buzzer_pin and section.buzzer_kind == "tonal":
            buzzer = TonalBuzzer(section.buzzer_pin, mid_tone="A5", octaves=2, pin_factory=factory)
        elif section.buzzer_pin:
            buzzer = Buzzer(section.buzzer_pin, pin_factory=factory)
        melodies = {
            "reward": parse_melody(section.reward_melody),
            "stamp": parse_melody(section.stamp_melody),
            "refused": parse_melody(section.refused_melody),
        }
        return cls(green, red, buzzer, melodies, section.heartbeat, speed)

    def react(self, outcome: Outcome) -> None:
        """Play the outcome's pattern in the background and return at once."""
        steps, melody = _response(outcome)
        self._play(self._red if isinstance(outcome, Refused | Blocked) else self._green, steps)
        if melody is not None:
            self._melody(melody)

    def error(self) -> None:
        """Something went wrong on the kiosk's side (storage, reader): a quick red flicker."""
        self._play(self._red, RED_ERROR)
        self._melody("refused")

    def set_status(self, status: KioskStatus) -> None:
        """Idle loops follow the kiosk's status: red while the reader is offline."""
        self._status = status
        if self._red is not None:
            self._red.set_idle([] if status.reader_online else READER_OFFLINE)
        if self._green is not None:
            self._green.set_idle(HEARTBEAT if self._heartbeat and status.reader_online else [])

    def wait(self, timeout: float = 10.0) -> bool:
        """Wait until every running pattern has finished (tests, demo); idle loops go on."""
        tracks = [t for t in (self._green, self._red, self._buzzer) if t is not None]
        return all(track.wait(timeout) for track in tracks)

    def close(self) -> None:
        """Stop every pattern, switch everything off, release the pins."""
        for track in (self._green, self._red, self._buzzer):
            if track is not None:
                track.close()
        for device in self.devices:
            device.close()

    def _play(self, track: Track | None, steps: list[Step]) -> None:
        if track is not None:
            track.play(steps)

    def _melody(self, name: str) -> None:
        notes = self._melodies.get(name, ())
        if self._buzzer is not None and notes:
            self._buzzer.play([(note.pitch, note.seconds) for note in notes])


def _led_apply(led: Any) -> Callable[[Any], None]:
    # A write through the device (`led.value`) reads the pin back twice and stops a blink
    # thread the kiosk never starts: the pin's own `state` (gpiozero's public pin API,
    # lgpio's write on a Pi) costs less than half. An LED already in the state asked (off
    # at a pattern's end, then again when the idle loop takes over) is left be.
    pin, high = led.pin, bool(led.active_high)
    shown: list[bool | None] = [None]

    def apply(value: Any) -> None:
        lit = bool(value)
        if lit != shown[0]:
            pin.state = lit == high
            shown[0] = lit

    return apply


def _buzzer_apply(buzzer: Any) -> Callable[[Any], None]:
    from gpiozero import TonalBuzzer

    tonal = isinstance(buzzer, TonalBuzzer)

    def apply(pitch: Any) -> None:
        if pitch is None:
            buzzer.stop() if tonal else buzzer.off()
        elif tonal:
            buzzer.play(pitch)
        else:
            buzzer.on()

    return apply


def make_pin_factory(name: str) -> object | None:
    """gpiozero's pin factory for [lights] factory; None lets gpiozero choose."""
    if name == "mock":
        from gpiozero.pins.mock import MockFactory, MockPWMPin

        factory: object = MockFactory(pin_class=MockPWMPin)
        return factory
    if name == "lgpio":
        from gpiozero.pins.lgpio import LGPIOFactory

        lgpio: object = LGPIOFactory()
        return lgpio
    if name == "rpigpio":
        from gpiozero.pins.rpigpio import RPiGPIOFactory

        rpigpio: object = RPiGPIOFactory()
        return rpigpio
    return None


def _response(outcome: Outcome) -> tuple[list[Step], str | None]:
    """The LED's pattern (the red LED's for a refusal, else the green's) and the melody
    (by its [lights] name) for `outcome`."""
    match outcome:
        case RewardEarned() | Welcome(rewards_earned=(_, *_)):
            return CELEBRATION, "reward"
        case Welcome():
            return WELCOME, "stamp"
        case Stamped():
            return STAMP, "stamp"
        case Redeemed():
            return REDEEMED, "stamp"
        case Undone() | Adjusted() | Replaced():
            return UNDONE, None
        case StaffMode():
            return STAFF, None
        case Refused() | Blocked():
            return RED_REFUSED, "refused"
        case (Cooldown() | DailyCap() | NoVoucher() | Expired() | NothingToUndo() | Figures()
              | ShowLink()):
            return GLIMPSE, None
        case _:
            assert_never(outcome)
