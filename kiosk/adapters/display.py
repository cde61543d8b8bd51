"""The OLED: luma.oled driver from [display], only changed frames sent, burn-in care.

    >>> from kiosk.config import from_mapping
    >>> section = from_mapping({"display": {"driver": "none"}}).display
    >>> Display.from_config(section, "en", "Café Lune").show_outcome  # doctest: +ELLIPSIS
    <bound method NullDisplay.show_outcome of <...NullDisplay object at ...>>

Seam for the simulator: luma.core's `i2c(bus=...)` takes any object with
`write_i2c_block_data(address, control, data)`. `Display.from_config(..., bus=...)` hands
such an object to luma's real driver; with `driver = "virtual"` and no bus given, the
bus comes from the `kiosk.display_buses` entry point named "virtual" (the simulator's
sim.oled registers it), so the daemon runs from its config alone while kiosk/ never
imports sim/. Without that plug-in installed, a bus that only counts bytes stands in.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import replace
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Protocol

from PIL import Image

from kiosk.config import DisplaySection
from kiosk.core.i18n import LOCALES, Locale
from kiosk.core.lanes import Drawing, Frame
from kiosk.core.layout import Fonts
from kiosk.core.rules import Outcome
from kiosk.core.screens import Screens, idle_face
from kiosk.core.status import KioskStatus
from kiosk.errors import DisplayUnavailable

if TYPE_CHECKING:
    from kiosk.adapters.panels import SH1106, SSD1306

    Panel = SSD1306 | SH1106

log = logging.getLogger(__name__)

BUS_ENTRY_POINTS = "kiosk.display_buses"
# the idle screen walks around a small square, one step per shift period
SHIFT_PATH = ((0, 0), (1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1))
# the customer of the week takes the idle screen's place for the last WEEK_FOR_SECONDS of
# every WEEK_EVERY_SECONDS of idleness
WEEK_EVERY_SECONDS = 60.0
WEEK_FOR_SECONDS = 8.0
# idle screens kept drawn (status badges, burn-in shifts, boosters, the week's customer)
IDLE_KEPT = 16


class I2CBus(Protocol):
    """The part of smbus2's SMBus that luma.core's i2c interface uses on a bus it is given."""

    def write_i2c_block_data(self, address: int, control: int, data: Sequence[int]) -> None: ...


class _CountingSerial:
    """Wraps luma's serial interface to count the payload bytes each update costs."""

    def __init__(self, serial: Any) -> None:
        self._serial = serial
        self.bytes = 0

    def command(self, *cmd: int) -> None:
        self._serial.command(*cmd)
        self.bytes += len(cmd)

    def data(self, data: Sequence[int]) -> None:
        self._serial.data(data)
        self.bytes += len(data)

    def cleanup(self) -> None:
        self._serial.cleanup()


def virtual_bus(section: DisplaySection) -> I2CBus:
    """The simulator's controller, found through its entry point."""
    found = [ep for ep in entry_points(group=BUS_ENTRY_POINTS) if ep.name == "virtual"]
    if not found:
        raise DisplayUnavailable(
            "display.driver = virtual needs the simulator's controller, which is not "
            "installed: reinstall the kiosk package, or set display.driver to your panel"
        )
    factory = found[0].load()
    bus: I2CBus = factory(
        chip=section.virtual_chip,
        width=section.width,
        height=section.height,
        address=section.i2c_address,
        frames_dir=section.frames_dir,
    )
    return bus


def open_device(section: DisplaySection, bus: I2CBus | None = None) -> tuple[Panel, _CountingSerial]:
    """luma's driver for [display], over `bus` when given (the virtual controller's, from
    `virtual_bus`), else the configured port."""
    from luma.core.error import Error as LumaError
    from luma.core.interface.serial import i2c, spi

    from kiosk.adapters.panels import PANELS

    chip = section.virtual_chip if section.driver == "virtual" else section.driver
    driver = PANELS[chip]
    try:
        if bus is not None:
            serial = i2c(bus=bus, address=section.i2c_address)
        elif section.interface == "i2c":
            serial = i2c(port=section.i2c_port, address=section.i2c_address)
        else:
            serial = spi(port=section.spi_port, device=section.spi_device)
        counting = _CountingSerial(serial)
        device = driver(counting, width=section.width, height=section.height, rotate=section.rotate)
    except (LumaError, OSError, ImportError) as error:
        where = (
            f"I2C port {section.i2c_port} address 0x{section.i2c_address:02X}"
            if section.interface == "i2c"
            else f"SPI {section.spi_port}.{section.spi_device}"
        )
        raise DisplayUnavailable(f"display.driver {chip} on {where}: {error}") from error
    return device, counting


class NullDisplay:
    """driver = "none": a kiosk with no screen (the lights still react)."""

    def render_outcome(self, outcome: Outcome, first_name: str | None = None) -> None:
        """Nothing to draw."""

    def show_outcome(
        self,
        outcome: Outcome,
        now: float,
        first_name: str | None = None,
        image: Frame | Image.Image | None = None,
    ) -> None:
        """Nothing to show."""

    def set_status(self, status: KioskStatus, now: float) -> None:
        """Nothing to show."""

    def set_booster(self, multiplier: int, now: float) -> None:
        """Nothing to announce."""

    def set_program_name(self, name: str, now: float) -> None:
        """Nothing to name."""

    def set_week(self, champion: tuple[str, int] | None, now: float) -> None:
        """Nobody to show."""

    def tick(self, now: float) -> None:
        """Nothing to refresh."""

    def close(self) -> None:
        """Nothing to blank."""


class Display:
    """One OLED panel: outcome screens, then the idle screen, dimmed, moved, blanked."""

    def __init__(
        self,
        device: Panel,
        serial: _CountingSerial,
        section: DisplaySection,
        screens: Screens,
        bus: I2CBus | None = None,
    ) -> None:
        self._device = device
        self._serial = serial
        self._section = section
        self.screens = screens
        self.bus = bus
        # one drawing at a time: an outcome may be drawn on the app's render thread while
        # the main loop redraws the idle screen, and the fonts are shared
        self._drawing = threading.Lock()
        self._status = KioskStatus()
        self._booster = 1  # the stamp multiplier running now, announced on the idle screen
        # (first name, visits) of the customer of the week, shown now and then when idle
        self._week: tuple[str, int] | None = None
        self._outcome_until: float | None = None
        self._idle_since: float | None = None  # set by the first tick: `now` is the app's clock
        self._panel: Frame | None = None  # what the panel holds, native orientation
        # idle screens drawn and made frames once: (what the screen shows) -> its frame.
        # The same few come back after every tap.
        self._idle_kept: dict[tuple[object, ...], Frame] = {}
        # (screens, panel, status, shift, booster) of the idle screen last put on the panel
        self._idle_shown: tuple[object, ...] | None = None
        self._contrast = section.contrast
        self._on = True
        self.frames_sent = 0
        self.bytes_sent = 0
        self.last_frame_bytes = 0
        device.contrast(section.contrast)
        serial.bytes = 0
        self._send(self._frame(screens.idle(self._status)))

    @classmethod
    def from_config(
        cls,
        section: DisplaySection,
        locale: str,
        program_name: str,
        *,
        bus: I2CBus | None = None,
        fonts: Fonts | None = None,
    ) -> Display | NullDisplay:
        """The display [display] describes; raises DisplayUnavailable if it does not answer."""
        if section.driver == "none":
            return NullDisplay()
        from kiosk.fonts import load

        if section.driver == "virtual" and bus is None:
            bus = virtual_bus(section)
        device, serial = open_device(section, bus)
        screens = Screens(fonts or load(), device.size, _locale(locale), program_name)
        return cls(device, serial, section, screens, bus)

    # -- the adapter contract ------------------------------------------------------------

    def render_outcome(self, outcome: Outcome, first_name: str | None = None) -> Frame:
        """The outcome's frame, made but not sent: a caller may make it on another thread
        while the tap is being committed, then hand it to `show_outcome`."""
        with self._drawing:
            drawing = self.screens.outcome_drawing(outcome, first_name)
        frame = self._frame(drawing)
        frame.pages  # noqa: B018 - its bytes made here too, off the path to the first pixel
        return frame

    def show_outcome(
        self,
        outcome: Outcome,
        now: float,
        first_name: str | None = None,
        image: Frame | Image.Image | None = None,
    ) -> None:
        """Show what a tap did (`image`: its frame from `render_outcome`, or a screen
        drawn already), waking the panel; it stays `outcome_seconds`."""
        self._wake()
        self._outcome_until = now + self._section.outcome_seconds
        if image is None:
            frame = self.render_outcome(outcome, first_name)
        else:
            frame = image if isinstance(image, Frame) else self._frame(image)
        self._send(frame)

    def set_status(self, status: KioskStatus, now: float) -> None:
        """New kiosk status; a reader going offline or back wakes the idle screen."""
        woke = status.reader_online != self._status.reader_online
        self._status = status
        if woke:
            self._wake()
            self._idle_since = now
        if self._outcome_until is None:
            self._refresh_idle(now)

    def set_booster(self, multiplier: int, now: float) -> None:
        """The booster running now (1: none); the idle screen announces it. The app calls
        this every tick: only a start or an end of a booster redraws anything."""
        if multiplier == self._booster:
            return
        self._booster = multiplier
        # a blank panel announces nothing: the change wakes it, like the reader's status
        self._wake()
        self._idle_since = now
        if self._outcome_until is None:
            self._refresh_idle(now)

    def set_week(self, champion: tuple[str, int] | None, now: float) -> None:
        """The customer of the week (first name, visits; None: nobody), from the central.
        The idle screen gives way to theirs for WEEK_FOR_SECONDS each WEEK_EVERY_SECONDS."""
        if champion == self._week:
            return
        self._week = champion
        if self._outcome_until is None:
            self._refresh_idle(now)

    def set_program_name(self, name: str, now: float) -> None:
        """A new program (served by the central API): its name heads the idle screen."""
        with self._drawing:
            if name == self.screens.program_name:
                return
            self.screens = replace(self.screens, program_name=name)
        if self._outcome_until is None:
            self._refresh_idle(now)

    def tick(self, now: float) -> None:
        """Called often: back to idle after an outcome, then dim, move, blank."""
        if self._outcome_until is not None:
            if now < self._outcome_until:
                return
            self._outcome_until = None
            self._idle_since = now
        self._refresh_idle(now)

    def close(self) -> None:
        """Blank the panel and let go of its bus."""
        try:
            self._device.cleanup()
        except Exception as error:  # noqa: BLE001 - closing must not raise at shutdown
            log.warning("event=display close=failed error=%r", str(error))
        self._end_frame()

    # -- internals -----------------------------------------------------------------------

    def _refresh_idle(self, now: float) -> None:
        if self._idle_since is None:
            self._idle_since = now
        idle_for = now - self._idle_since
        section = self._section
        if idle_for >= section.blank_after_seconds:
            if self._on:
                self._call(self._device.hide)
                self._on = False
            return
        if idle_for >= section.dim_after_seconds and self._contrast != section.dim_contrast:
            self._set_contrast(section.dim_contrast)
        shift = (0, 0)
        if section.shift_pixels and section.shift_every_seconds:
            step = SHIFT_PATH[int(idle_for // section.shift_every_seconds) % len(SHIFT_PATH)]
            shift = (step[0] * section.shift_pixels, step[1] * section.shift_pixels)
        # the main loop calls this every tick: the same idle screen still on the panel is
        # not drawn again (drawing and comparing it cost more than the rest of a tick)
        # the customer of the week closes each round of WEEK_EVERY_SECONDS, never right
        # after a tap (the customer at the counter reads their own screen first)
        week = self._week if (self._status.reader_online and idle_for % WEEK_EVERY_SECONDS
                              >= WEEK_EVERY_SECONDS - WEEK_FOR_SECONDS) else None
        shown = self._idle_shown
        if (shown is not None and self._panel is not None and shown[0] is self.screens
                and shown[1] is self._panel
                and shown[2:] == (self._status, shift, self._booster, week)):
            return
        key = (self.screens, idle_face(self._status), shift, self._booster, week)
        kept = self._idle_kept.get(key)
        if kept is None:
            with self._drawing:
                idle = (self.screens.idle(self._status, shift, self._booster) if week is None
                        else self.screens.customer_of_week(week[0], week[1], shift))
            if len(self._idle_kept) >= IDLE_KEPT:
                self._idle_kept.clear()
            kept = self._idle_kept[key] = self._frame(idle)
        self._send(kept)
        self._idle_shown = (self.screens, self._panel, self._status, shift, self._booster, week)

    def _wake(self) -> None:
        if not self._on:
            self._call(self._device.show)
            self._on = True
        if self._contrast != self._section.contrast:
            self._set_contrast(self._section.contrast)

    def _set_contrast(self, level: int) -> None:
        self._call(self._device.contrast, level)
        self._contrast = level

    def _call(self, method: Any, *args: Any) -> None:
        try:
            method(*args)
        except (OSError, RuntimeError) as error:
            log.warning("event=display call=%s error=%r", getattr(method, "__name__", "?"), str(error))
        self._end_frame()

    def _frame(self, screen: Drawing | Image.Image) -> Frame:
        """`screen` in the panel's orientation, as the controller holds it. Upright or
        half a turn, a drawing's marks go straight to lanes; a quarter turn goes through
        an image and luma's rotation."""
        rotate = self._section.rotate
        if isinstance(screen, Drawing) and rotate in (0, 2):
            frame = Frame(screen.lanes(), screen.size)
            return frame.turned() if rotate == 2 else frame
        image = screen.image() if isinstance(screen, Drawing) else screen
        return Frame.of(self._device.preprocess(image))

    def _send(self, panel: Frame) -> None:
        """Send `panel` unless the panel already shows it; only the changed columns and
        pages when partial updates are on."""
        previous = self._panel
        box = (0, 0, *panel.size)
        if previous is not None:
            if panel is previous:
                return
            # one XOR tells both whether anything changed and where
            changed = panel.changed(previous)
            if changed is None:
                return
            if self._section.partial_updates:
                box = changed
        before = self._serial.bytes
        try:
            self._device.display_frame(panel, box)
        except (OSError, RuntimeError) as error:
            # the next changed frame goes out whole, whatever the panel kept
            log.warning("event=display frame=not_sent error=%r", str(error))
            self._panel = None
            return
        self._panel = panel
        self.frames_sent += 1
        self.last_frame_bytes = self._serial.bytes - before
        self.bytes_sent += self.last_frame_bytes
        self._end_frame()

    def _end_frame(self) -> None:
        end_frame = getattr(self.bus, "end_frame", None)
        if end_frame is not None:
            end_frame()


def _locale(value: str) -> Locale:
    for locale in LOCALES:
        if value == locale:
            return locale
    raise ValueError(f"kiosk.locale must be fr or en, not {value!r}")
