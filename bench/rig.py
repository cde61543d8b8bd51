"""The real App in this process over the simulator, with probes on the virtual wires.

Everything between the probes is the shipped kiosk: nfcpy over its UDP device to the
virtual field, Reader, App, Counter (rules, SQLite commit with fsync), Display (screens,
luma.oled's SSD1306 driver), Lights (gpiozero). The timestamps come from the simulated
devices only:

- the card notes when it answered the last anticollision step (sim.cards, `identified_at`);
- the virtual I2C controller notes when the last byte of a frame arrived (sim.oled, `on_frame`);
- the mock GPIO pin notes when the LED was told "on" (sim.pins, `on_write`).

Bench-side knobs, none in kiosk/: a short `outcome_seconds` and a faster display tick
(kiosk.app.TICK_SECONDS) so the idle screen is back before the next customer, and a short
poll interval so 1,000 taps take a minute rather than ten.
"""

from __future__ import annotations

import argparse
import json
import threading
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kiosk.app
from kiosk.app import App
from kiosk.notify import Notifier
from sim.cards import VirtualCard
from sim.harness import running_app
from sim.nfc import VirtualField
from sim.pins import probed_factory

GREEN, RED = 17, 27
CARD_KINDS = ("ntag213", "ntag215", "mifare-classic-1k", "felica")


def write_config(path: Path, state: Path, reader: str, *, partial_updates: bool = True,
                 poll_interval: float = 0.01, outcome_seconds: float = 0.05,
                 central: str = "", token_file: str = "", frames_dir: str = "") -> Path:
    """A kiosk config for the simulator: virtual OLED, mock pins, no cooldown."""
    central_section = f'[central]\nurl = "{central}"\ntoken_file = "{token_file}"\n' if central else ""
    path.write_text(
        f"""[kiosk]
id = "bench-kiosk"
state_dir = "{state}"
locale = "en"
log_level = "WARNING"
[reader]
path = "{reader}"
poll_interval = {poll_interval}
[display]
driver = "virtual"
frames_dir = "{frames_dir}"
outcome_seconds = {outcome_seconds}
shift_every_seconds = 0
partial_updates = {"true" if partial_updates else "false"}
[lights]
factory = "mock"
green_pin = {GREEN}
red_pin = {RED}
buzzer_pin = 0
{central_section}[program]
name = "Bench Café"
cooldown_minutes = 0
""",
        encoding="utf-8",
    )
    return path


@dataclass(frozen=True)
class TapTiming:
    """What the probes saw for one tap (time.monotonic() seconds)."""

    kind: str
    identified_at: float
    frame_at: float  # last byte of the outcome frame on the I2C bus
    frame_bytes: int
    led_at: float  # the LED told "on" for this outcome
    idle_bytes: int  # the frame that put the idle screen back

    @property
    def feedback_ms(self) -> float:
        return 1000 * (max(self.frame_at, self.led_at) - self.identified_at)


class KioskRig:
    """App + VirtualField + probes; `tap(card)` times one customer's tap."""

    def __init__(self, root: Path, *, partial_updates: bool = True, tick: float = 0.02,
                 poll_interval: float = 0.01) -> None:
        self.root = root
        self.partial_updates = partial_updates
        self.tick = tick
        self.poll_interval = poll_interval
        self.field = VirtualField(quick_lifted=True)
        self.factory = probed_factory()
        self.app: App | None = None
        self._seen = threading.Condition()
        self._frames: list[tuple[float, int]] = []
        self._leds: list[float] = []
        self._running = ExitStack()
        self._saved_tick = kiosk.app.TICK_SECONDS

    def start(self) -> KioskRig:
        self.field.start()
        config = write_config(self.root / "kiosk.toml", self.root / "state", self.field.path,
                              partial_updates=self.partial_updates,
                              poll_interval=self.poll_interval)
        kiosk.app.TICK_SECONDS = self.tick  # restored in close()
        app = self._running.enter_context(
            running_app(App(str(config), notifier=Notifier(None), pin_factory=self.factory)))
        self.app = app
        assert app.parts is not None
        bus = app.parts.display.bus  # type: ignore[attr-defined]
        if not hasattr(bus, "on_frame"):
            raise RuntimeError("the virtual OLED (sim.oled) is not installed as kiosk.display_buses")
        bus.on_frame = self._on_frame
        for number in (GREEN, RED):
            self.factory.pin(number).on_write = self._on_led
        if not self.field.wait_polls(6, 30):
            raise RuntimeError("the reader never polled the field")
        return self

    def close(self) -> None:
        self._running.close()
        self.field.stop()
        kiosk.app.TICK_SECONDS = self._saved_tick

    def __enter__(self) -> KioskRig:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- probes (called on the kiosk's threads) -----------------------------------------
    def _on_frame(self, at: float, sent: int) -> None:
        with self._seen:
            self._frames.append((at, sent))
            self._seen.notify_all()

    def _on_led(self, at: float, value: float) -> None:
        if value > 0:
            with self._seen:
                self._leds.append(at)
                self._seen.notify_all()

    # -- one tap ------------------------------------------------------------------------
    def tap(self, card: VirtualCard, kind: str, timeout: float = 10.0) -> TapTiming:
        """Place `card`, wait for the outcome frame and the LED, lift it, wait for idle."""
        with self._seen:
            self._frames.clear()
            self._leds.clear()
        self.field.place(card)
        if not card.identified.wait(timeout):
            raise RuntimeError(f"the reader never identified the {kind}")
        start = card.identified_at
        assert start is not None

        def outcome() -> tuple[float, int] | None:
            return next(((at, n) for at, n in self._frames if at > start), None)

        def led_after(frame_at: float) -> float | None:
            # the App shows the frame, then tells the lights: an LED write after the frame
            # belongs to this outcome, not to the previous pattern still blinking
            return next((at for at in self._leds if at >= frame_at), None)

        with self._seen:
            if not self._seen.wait_for(
                lambda: (f := outcome()) is not None and led_after(f[0]) is not None, timeout
            ):
                raise RuntimeError(f"no feedback for the {kind} within {timeout} s")
            frame = outcome()
            assert frame is not None
            led = led_after(frame[0])
            assert led is not None
        self.field.remove()
        with self._seen:
            if not self._seen.wait_for(
                lambda: any(at > frame[0] for at, _ in self._frames), timeout
            ):
                raise RuntimeError("the idle screen did not come back")
            idle_bytes = next(n for at, n in self._frames if at > frame[0])
        # a full empty poll round, so the same card placed again is a new tap
        self.field.wait_polls(6, timeout)
        return TapTiming(kind, start, frame[0], frame[1], led, idle_bytes)


def size_arguments(prog: str, doc: str | None, argv: list[str] | None) -> argparse.Namespace:
    """The options of a bench that measures ledgers of several sizes: --quick, --out."""
    parser = argparse.ArgumentParser(prog=prog, description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small ledgers, a few seconds")
    parser.add_argument("--out", type=Path, help="also write the JSON to this file")
    return parser.parse_args(argv)


def publish(document: dict[str, Any], out: Path | None) -> None:
    """Print a bench's JSON document, and write it to `out` too when given."""
    text = json.dumps(document, indent=2, default=str)
    print(text)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n", encoding="utf-8")


def percentiles(values: list[float], digits: int = 2) -> dict[str, Any]:
    """p50, p90, p99 and max of `values` (nearest-rank)."""
    ordered = sorted(values)
    if not ordered:
        return {"n": 0}

    def rank(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], digits)

    return {"n": len(ordered), "p50": rank(0.5), "p90": rank(0.9), "p99": rank(0.99),
            "max": round(ordered[-1], digits)}
