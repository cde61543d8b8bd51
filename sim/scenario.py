"""Scripted scenarios: who taps when and for how long, from a small TOML file.

    name = "A quiet morning"
    [cards]
    marie = { kind = "ntag213", uid = "04A1B2C3D4E5F6" }
    [[steps]]
    at = 0.0          # seconds from the start, scenario time
    tap = "marie"
    hold = 1.2        # seconds the card stays after the reader identified it

A step does exactly one thing: ``tap`` (place, hold, lift), ``place`` (left on the
reader), ``remove`` (lift whatever lies there) or ``fail`` (the reader is broken for
that many seconds). Times are divided by the speed factor; a card is always held at
least until the reader identified it, as a customer waits for the beep.
"""

from __future__ import annotations

import threading
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from sim.cards import VirtualCard
from sim.nfc import VirtualField, make_card

ACTIONS = ("tap", "place", "remove", "fail")
STEP_KEYS = {"at", "hold", "note", *ACTIONS}
READ_TIMEOUT = 5.0  # real seconds a customer waits for the reader before giving up
EMPTY_POLLS = 6  # sense requests: two whole rounds of 106A, 106B and 212F


@dataclass(frozen=True)
class Step:
    at: float
    action: str
    card: str = ""
    seconds: float = 0.0  # hold for a tap, broken time for a failure
    note: str = ""


@dataclass
class Scenario:
    name: str
    cards: dict[str, VirtualCard]
    steps: tuple[Step, ...]
    description: str = ""
    kinds: dict[str, str] = field(default_factory=dict)

    @property
    def expected_taps(self) -> int:
        """How many reads a reader should report: one per tap or placement."""
        return sum(step.action in ("tap", "place") for step in self.steps)

    def taps_of_kind(self, kind: str) -> int:
        return sum(
            step.action in ("tap", "place") and self.kinds[step.card] == kind for step in self.steps
        )


@dataclass(frozen=True)
class StepResult:
    step: Step
    ok: bool
    note: str = ""


def parse_scenario(data: dict[str, Any], source: str = "<scenario>") -> Scenario:
    """Check a scenario mapping; ValueError names the source and the faulty entry."""

    def fail(message: str) -> ValueError:
        return ValueError(f"{source}: {message}")

    cards: dict[str, VirtualCard] = {}
    kinds: dict[str, str] = {}
    for name, spec in dict(data.get("cards", {})).items():
        if not isinstance(spec, dict) or "kind" not in spec:
            raise fail(f"cards.{name}: needs a kind, e.g. {{ kind = \"ntag213\" }}")
        try:
            uid = bytes.fromhex(spec["uid"]) if "uid" in spec else None
            ndef = bytes.fromhex(spec.get("ndef", ""))
            cards[name] = make_card(spec["kind"], uid, ndef=ndef, name=name)
        except (ValueError, TypeError) as error:
            raise fail(f"cards.{name}: {error}") from None
        kinds[name] = spec["kind"]
    steps = []
    for number, raw in enumerate(data.get("steps", []), start=1):
        where = f"steps[{number}]"
        if not isinstance(raw, dict):
            raise fail(f"{where}: a step is a table ([[steps]])")
        unknown = set(raw) - STEP_KEYS
        actions = [key for key in ACTIONS if key in raw]
        if unknown:
            raise fail(f"{where}: unknown key {sorted(unknown)[0]!r}")
        if len(actions) != 1:
            raise fail(f"{where}: needs exactly one of {', '.join(ACTIONS)}")
        at, hold = raw.get("at"), raw.get("hold", 0.5)
        if not isinstance(at, int | float) or at < 0:
            raise fail(f"{where}: 'at' must be seconds from the start (>= 0)")
        if not isinstance(hold, int | float) or hold < 0:
            raise fail(f"{where}: 'hold' must be seconds (>= 0)")
        action = actions[0]
        card, seconds = "", float(hold)
        if action in ("tap", "place"):
            card = str(raw[action])
            if card not in cards:
                raise fail(f"{where}: no card named {card!r} in [cards]")
        elif action == "fail":
            seconds = raw["fail"]
            if not isinstance(seconds, int | float) or seconds <= 0:
                raise fail(f"{where}: 'fail' must be how many seconds the reader is broken")
        steps.append(Step(float(at), action, card, float(seconds), str(raw.get("note", ""))))
    steps.sort(key=lambda step: step.at)
    name = str(data.get("name", source))
    return Scenario(name, cards, tuple(steps), str(data.get("description", "")), kinds)


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A shipped scenario by name (``morning``) or any TOML file by path."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        text, source = path.read_text(encoding="utf-8"), str(path)
    else:
        shipped = resources.files("sim").joinpath("scenarios", f"{name_or_path}.toml")
        if not shipped.is_file():
            raise ValueError(f"no scenario {str(name_or_path)!r} (a path or a shipped name)")
        text, source = shipped.read_text(encoding="utf-8"), f"{name_or_path}.toml"
    try:
        return parse_scenario(tomllib.loads(text), source)
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{source}: not valid TOML: {error}") from None


def run_scenario(
    scenario: Scenario,
    field: VirtualField,
    speed: float = 1.0,
    stop: threading.Event | None = None,
    report: Callable[[StepResult], None] = lambda result: None,
) -> list[StepResult]:
    """Play the steps on `field`, `speed` times faster than written; stops early on `stop`."""
    if speed <= 0:
        raise ValueError("speed must be positive")
    stop = stop or threading.Event()
    started = time.monotonic()
    results = []
    for step in scenario.steps:
        if stop.wait(max(0.0, started + step.at / speed - time.monotonic())):
            break
        result = _play(step, scenario, field, speed, stop)
        results.append(result)
        report(result)
    return results


def _play(
    step: Step, scenario: Scenario, field: VirtualField, speed: float, stop: threading.Event
) -> StepResult:
    if step.action == "remove":
        lifted = field.remove()
        return StepResult(step, True, f"lifted {lifted!r}" if lifted else "nothing to lift")
    if step.action == "fail":
        field.fail()
        noticed = field.wait_polls(1, READ_TIMEOUT)  # the reader met the fault at least once
        stop.wait(step.seconds / speed)
        field.recover()
        return StepResult(step, noticed, "reader broken" if noticed else "reader never polled")
    card = scenario.cards[step.card]
    field.place(card)
    seen = card.identified.wait(READ_TIMEOUT)
    note = f"{step.card} {card!r}" + ("" if seen else " was never read")
    if step.action == "tap":
        stop.wait(step.seconds / speed)
        if field.card is card:
            field.remove()
            # the customer steps away: the reader sees an empty field before anyone else
            # taps (a card counts again only after that, however fast the scenario plays)
            field.wait_polls(EMPTY_POLLS, READ_TIMEOUT)
    return StepResult(step, seen, note)
