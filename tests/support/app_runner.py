"""The whole App in-process over the simulator, for end-to-end tests.

nfcpy over its UDP device to a VirtualField, the real ledger, the virtual OLED, gpiozero's
MockFactory; the App's main loop in a thread. The runner only listens: every outcome the
App logs, and every housekeeping tick, are counted so a test can wait for them on a
condition instead of sleeping.

    with running_sim_app(tmp_path, "[program]\ngoal = 4") as run:
        outcome = run.tap(make_card("ntag213"))
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from gpiozero.pins.mock import MockFactory, MockPWMPin

from kiosk.app import App
from kiosk.core.outcome import Outcome
from kiosk.notify import Notifier
from kiosk.parts import Parts
from sim import harness
from sim.cards import VirtualCard
from sim.nfc import VirtualField

EMPTY_POLLS = 2 * 3  # a full round of empty polls: the next card counts as a new tap


@dataclass
class RunningApp:
    field: VirtualField
    factory: MockFactory
    app: App = field(init=False)  # told of each outcome shown and each tick, once built
    outcomes: list[tuple[str, Outcome]] = field(default_factory=list)  # (source, outcome)
    changed: threading.Condition = field(default_factory=threading.Condition)
    ticks: int = 0

    @property
    def parts(self) -> Parts:
        assert self.app.parts is not None, "the app is not running"
        return self.app.parts

    def tap(self, card: VirtualCard) -> Outcome:
        """One customer: the card is held a moment and lifted; its outcome, once logged."""
        count = len(self.outcomes)
        assert self.field.tap(card, hold=0.05)
        self.wait_outcome(count + 1)
        # between two customers the reader sees an empty field (a card counts again only then)
        assert self.field.wait_polls(EMPTY_POLLS, timeout=10)
        return self.outcomes[-1][1]

    def wait_outcome(self, count: int) -> Outcome:
        """The `count`-th outcome since start, waiting for it if need be."""
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.outcomes) >= count, timeout=10)
        return self.outcomes[count - 1][1]

    def wait_ticks(self, n: int = 2) -> None:
        """Let the app's main loop run its housekeeping `n` more times."""
        with self.changed:
            target = self.ticks + n
            assert self.changed.wait_for(lambda: self.ticks >= target, timeout=10)

    def outcome_shown(self, source: str, outcome: Outcome) -> None:
        with self.changed:
            self.outcomes.append((source, outcome))
            self.changed.notify_all()

    def ticked(self) -> None:
        with self.changed:
            self.ticks += 1
            self.changed.notify_all()


@contextmanager
def running_sim_app(
    tmp_path: Path,
    toml: str = "",
    *,
    clock: Callable[[], datetime] | None = None,
    notifier: Notifier | None = None,
    **lines: str,
) -> Iterator[RunningApp]:
    """The App on a new virtual field, the virtual OLED and mock pins.

    Its config is written to `tmp_path`/kiosk.toml and its state goes in `tmp_path`/state.
    `toml` adds whole sections ([program], [central], ...); `lines` adds lines to the
    simulator's own sections, e.g. `lights="button_pin = 22"`. The glass holds still (an
    outcome stays 30 s, the idle screen never moves), so a test can compare it with a screen.
    """
    state = tmp_path / "state"
    with VirtualField() as nfc_field:
        sections = {
            "kiosk": [f'state_dir = "{state}"', 'locale = "en"'],
            "reader": [f'path = "{nfc_field.path}"', "poll_interval = 0.05"],
            "display": ['driver = "virtual"', "outcome_seconds = 30", "shift_every_seconds = 0"],
            "lights": ['factory = "mock"'],
        }
        for name, more in lines.items():
            sections[name].append(more)
        config = tmp_path / "kiosk.toml"
        config.write_text(
            "".join(f"[{name}]\n" + "\n".join(body) + "\n" for name, body in sections.items())
            + toml
        )
        with running_app(config, nfc_field, clock=clock, notifier=notifier) as run:
            yield run


@contextmanager
def running_app(
    config: Path,
    nfc_field: VirtualField,
    *,
    factory: MockFactory | None = None,
    clock: Callable[[], datetime] | None = None,
    notifier: Notifier | None = None,
) -> Iterator[RunningApp]:
    """Boot the App on `config` (which points at `nfc_field`), run its loop, stop it after.
    `notifier`: where it says READY=1 and pets the watchdog (by default, nowhere)."""
    factory = factory or MockFactory(pin_class=MockPWMPin)
    run = RunningApp(nfc_field, factory)
    run.app = App(
        str(config), notifier=notifier or Notifier(None), pin_factory=factory, clock=clock,
        on_outcome=run.outcome_shown, on_tick=run.ticked,
    )
    with harness.running_app(run.app):
        yield run
