"""The NFC reader: nfcpy's poll loop, one `CardRead` per physical tap, reopen when lost.

Identity comes from anticollision (Type A UID, Type B NFCID0, FeliCa IDm), so cards nfcpy
cannot read further (MIFARE Classic, bank cards) count too. The tap is handed on as soon as
anticollision gave the identity: nothing else is read from the card (on a PN532 each card
command is four chip commands, and an NDEF read cost 50-140 ms per tap that nothing used),
except the originality signature of an NTAG when `originality_check` asks for it.

One tap is one read: the card nfcpy found is remembered until a poll round finds the
field empty, so a card left lying on the reader is reported once, however often nfcpy
re-selects it (tags it cannot hold on to, like a MIFARE Classic, are found again at every
round). A reader that fails (unplugged USB, a PN532 that stops answering, garbled frames)
is closed and reopened with capped exponential backoff; `on_status` hears about each
change between online and offline, once.

    >>> reader = Reader(config.reader, on_card=print)      # doctest: +SKIP
    >>> threading.Thread(target=reader.run, args=(stop,)).start()
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from kiosk.adapters.pn53x_line import SerialExchange
from kiosk.adapters.pn53x_probe import AUTO_POLL_WINDOW, auto_poll, chipset_of, is_pn532, list_targets
from kiosk.adapters.pn532_speed import back_to_115200
from kiosk.config import ReaderSection

log = logging.getLogger(__name__)

# Tags are held by nfcpy's presence loop while they stay on the reader; while one is held
# the loop still calls `terminate` every 0.1 s, so stopping stays prompt.
BACKOFF_SLICE = 1.0  # seconds: a long backoff is waited in slices so `last_alive` keeps moving
# A serial port that vanished (a USB-serial bridge unplugged) is looked for this often, so
# the reader is back within a second of its return whatever the backoff had grown to.
PORT_WATCH = 0.25
# An InAutoPoll lasts at most this long with nobody there (the chip then answers "none" and
# the next one is sent), so that `last_alive` moves and a stop is seen within it.
AUTO_POLL_SECONDS = 0.5

CLASSIC_SAK = {0x08: "mifare-classic-1k", 0x88: "mifare-classic-1k", 0x18: "mifare-classic-4k",
               0x09: "mifare-mini"}


@dataclass(frozen=True)
class CardRead:
    """One physical tap, identity from anticollision."""

    uid: bytes  # Type A sdd_res / FeliCa IDm / Type B NFCID0
    technology: str  # "106A" | "106B" | "212F"
    kind: str  # from the SAK: "type2", "mifare-classic-1k", "iso-dep", "felica", "type-b", ...
    seen_at: float  # time.monotonic() when anticollision completed
    # READ_SIG's answer when the originality check asked this card (a NAK byte when it
    # refused); None when it was not asked
    signature: bytes | None = None
    # asked for its signature, the card left or went silent first: nothing is known of it
    lost: bool = False


def identify(target: Any) -> tuple[bytes, str] | None:
    """(identity, technology) of an nfcpy RemoteTarget, or None for a target without one."""
    brty = str(target.brty)
    if brty.endswith("A") and target.sdd_res:
        return bytes(target.sdd_res), brty
    if brty.endswith("B") and target.sensb_res and len(target.sensb_res) >= 5:
        return bytes(target.sensb_res[1:5]), brty
    if brty.endswith("F") and target.sensf_res and len(target.sensf_res) >= 9:
        return bytes(target.sensf_res[1:9]), brty
    return None


def card_kind(target: Any) -> str:
    """A short name for the kind of card, from its technology and SAK."""
    brty = str(target.brty)
    if brty.endswith("F"):
        return "felica"
    if brty.endswith("B"):
        return "type-b"
    if not target.sel_res:
        return "unknown"
    sak = target.sel_res[0]
    if sak & 0x20:
        return "iso-dep"
    if sak in CLASSIC_SAK:
        return CLASSIC_SAK[sak]
    if sak & 0x60 == 0:  # Type 2: NTAG, Ultralight (only GET_VERSION would tell which)
        return "type2"
    return "unknown"


def serial_port(path: str) -> str | None:
    """The /dev node of a `tty:NAME[:driver]` path, by nfcpy's own naming rule (`tty:AMA0` is
    /dev/ttyAMA0, any other single name is taken as is); None for other paths and globs."""
    parts = path.split(":")
    if parts[0] != "tty" or len(parts) < 2 or not parts[1]:
        return None
    name = parts[1]
    if re.fullmatch(r"(S|ACM|AMA|USB)\d+", name):
        return f"/dev/tty{name}"
    if re.fullmatch(r"S|ACM|AMA|USB|usbserial.*", name):
        return None  # nfcpy tries every port of that kind
    return f"/dev/{name}"


def _is_peer_device(target: Any) -> bool:
    """NFC-DEP (peer-to-peer) devices: identified, but not activated as tags (nfcpy's rule)."""
    if target.sel_res and target.sel_res[0] & 0x40:
        return True
    return bool(target.sensf_res) and bytes(target.sensf_res[1:3]) == b"\x01\xfe"


def _name(error: BaseException) -> str:
    kind = type(error)
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"


def is_ntag_candidate(uid: bytes, target: Any) -> bool:
    """A Type 2 tag with NXP's 7-byte UID: an NTAG21x would answer READ_SIG."""
    sak = target.sel_res[0] if target.sel_res else 0xFF
    return len(uid) == 7 and uid[0] == 0x04 and sak & 0x60 == 0 and sak not in CLASSIC_SAK


def _read_signature(tag: Any) -> bytes | None:
    """READ_SIG's answer (a one-byte NAK from an Ultralight or many clones), or None when
    the card left or went silent before answering."""
    try:
        return bytes(tag.transceive(b"\x3c\x00"))  # READ_SIG, address 00
    except Exception as error:  # a timeout, a card lifted, a garbled answer
        log.debug("event=read signature=none error=%r", error.__class__.__name__)
        return None


class LinkWriter(Protocol):
    """Writes a new card's page link once its tap was handled (kiosk.adapters.card_link)."""

    def wants_write(self, uid: bytes) -> bool: ...

    def write(self, uid: bytes, tag: Any) -> bool: ...


@dataclass
class _Pending:
    uid: bytes
    technology: str
    target: Any
    seen_at: float


class Reader:
    """Polls one nfcpy reader and reports each tap once, while the card is on the reader."""

    def __init__(
        self,
        section: ReaderSection,
        on_card: Callable[[CardRead], None],
        on_status: Callable[[bool], None] = lambda online: None,
        writer: LinkWriter | None = None,
    ) -> None:
        self._section = section
        self._writer = writer
        self._on_card = on_card
        self._on_status = on_status
        self._online: bool | None = None
        self._last_alive = time.monotonic()
        self._stop = threading.Event()
        # the tap being tracked, kept across reopens so a card lying there is counted once
        self._present: tuple[bytes, str] | None = None
        self._pending: _Pending | None = None
        self._discovered = False
        self._holding = False
        self._fresh = True
        self._chipset: Any = None  # a PN53x's, polled directly between nfcpy's rounds
        self._chip_polls = False  # InAutoPoll asked for, and the reader is a PN532
        self._line: SerialExchange | None = None  # the idle rounds' commands on a serial port

    @property
    def last_alive(self) -> float:
        """time.monotonic() of the loop's latest iteration (for a watchdog)."""
        return self._last_alive

    @property
    def online(self) -> bool | None:
        """True once a poll round completed, False after a failure, None before either."""
        return self._online

    def run(self, stop: threading.Event) -> None:
        """Poll until `stop` is set (returns soon after); never raises for a reader fault."""
        import nfc  # the reader's library stays out of `import kiosk`

        self._stop = stop
        delay = self._section.retry_initial
        while not stop.is_set():
            self._last_alive = time.monotonic()
            clf = nfc.ContactlessFrontend()
            problem = self._open(clf)
            if problem is None:
                problem = self._poll(clf)
                self._close(clf)
                if problem is None:  # stopped
                    break
                if self._online:
                    delay = self._section.retry_initial  # it worked for a while: start over
            self._set_online(False, self._missing_port() or problem)
            self._wait(delay)
            delay = min(2 * delay, self._section.retry_max)

    def _open(self, clf: Any) -> str | None:
        problem = self._try_open(clf)
        port = serial_port(self._section.path)
        if problem is None or port is None:
            return problem
        if not os.path.exists(port):
            return self._missing_port() or problem
        if self._section.path.endswith(":pn532") and back_to_115200(port) is not None:
            problem = self._try_open(clf)  # it was only left at a higher speed
        return problem

    def _missing_port(self) -> str | None:
        port = serial_port(self._section.path)
        if port is None or os.path.exists(port):
            return None
        return f"{port} is missing: check the reader's cable (and the UART in the boot config)"

    def _try_open(self, clf: Any) -> str | None:
        try:
            if clf.open(self._section.path):
                return None
            return f"no reader found on {self._section.path}"
        except Exception as error:  # IOError from the driver, a diagnose that failed, ...
            return f"cannot open {self._section.path}: {error or type(error).__name__}"

    @staticmethod
    def _close(clf: Any) -> None:
        try:
            clf.close()  # nfcpy's PN532 driver talks to the chip while closing
        except Exception as error:  # a line that just broke: nothing left to close cleanly
            log.debug("event=reader_close error=%r", error.__class__.__name__)

    def _poll(self, clf: Any) -> str | None:
        """Run nfcpy's connect loop; None when stopped, else why the reader failed."""
        self._fresh, self._holding, self._discovered = True, False, False
        self._chipset = chipset_of(clf)
        self._line = SerialExchange.of(self._chipset) if self._chipset is not None else None
        # a PN532 watches an empty field by itself (InAutoPoll) instead of the host every
        # poll_interval; a card lying there is still watched by the host's rounds
        self._chip_polls = self._section.auto_poll and is_pn532(clf)
        options = {
            "targets": list(self._section.targets),
            "on-discover": self._on_discover,
            "on-connect": self._on_connect,
            "on-release": self._on_release,
            "iterations": 1,  # one round per call; the pause between rounds is ours
            "interval": self._section.poll_interval,
            "beep-on-connect": False,  # the lights adapter owns the sound
        }
        try:
            result = clf.connect(rdwr=options, terminate=self._terminate)
        except Exception as error:  # nfcpy let an error through: the device state is unknown
            return f"{_name(error)}: {error}"
        finally:
            if self._pending is not None:  # identified, then the reader failed: still a tap
                pending, self._pending = self._pending, None
                self._emit(pending, None, lost=True)
        if self._stop.is_set():
            return None
        if result is False:
            return "the reader stopped answering (I/O error)"
        return "the poll loop ended unexpectedly"

    # -- nfcpy's callbacks, all on this thread ------------------------------------------
    def _terminate(self) -> bool:
        self._last_alive = time.monotonic()
        if self._stop.is_set():
            return True
        if self._holding:
            return False
        if self._fresh:  # connect() asks once before its first round
            self._fresh = False
            return False
        self._end_of_round()
        while True:
            if self._chip_polls and self._present is None:
                if self._stop.is_set():
                    return True
                if not self._found(self._auto_round()):
                    return False
            else:
                if self._stop.wait(self._section.poll_interval):
                    return True
                if self._chipset is None or not self._found(self._quick_round()):
                    return False  # nfcpy's own round: other readers, or a card to activate
            self._end_of_round()
            self._last_alive = time.monotonic()

    def _quick_round(self) -> list[Any]:
        """A PN53x round in one command per technology (pn53x_probe)."""
        return list_targets(self._chipset, tuple(self._section.targets), self._line)

    def _auto_round(self) -> list[Any]:
        """The chip polls by itself for up to AUTO_POLL_SECONDS (pn53x_probe.auto_poll)."""
        technologies = tuple(self._section.targets)
        pollings = max(1, int(AUTO_POLL_SECONDS / (AUTO_POLL_WINDOW * len(technologies))))
        return auto_poll(self._chipset, technologies, pollings)

    def _found(self, targets: list[Any]) -> bool:
        """Hand on what a round found; False when a card was found that nfcpy must
        activate (an NTAG whose signature is wanted)."""
        for target in targets:
            identity = identify(target)
            if identity is not None and identity == self._present and self._to_write(identity, target):
                return False  # nfcpy's round activates it, so its link can be written
            if (
                self._section.originality_check
                and identity is not None
                and identity != self._present
                and is_ntag_candidate(identity[0], target)
            ):
                return False
            self._on_discover(target)
        return True

    def _end_of_round(self) -> None:
        self._set_online(True)
        if self._pending is not None:  # found, but nfcpy could not activate it as a tag
            pending, self._pending = self._pending, None
            self._emit(pending, None, lost=True)
        if not self._discovered:
            self._present = None  # the field was empty: the next card is a new tap
        self._discovered = False

    def _on_discover(self, target: Any) -> bool:
        seen_at = time.monotonic()
        self._set_online(True)  # it found a card: the reader works
        self._discovered = True
        identity = identify(target)
        if identity is None:
            return False
        if identity == self._present:
            # still lying there: already counted; activated only for its page link
            return self._to_write(identity, target)
        self._present = identity
        pending = _Pending(identity[0], identity[1], target, seen_at)
        if self._section.originality_check and is_ntag_candidate(pending.uid, target):
            self._pending = pending
            return True  # activate it: READ_SIG needs a selected tag
        self._emit(pending, None)
        # the tap was handled (and shown) inside _emit: only a new card's link is left
        return self._to_write(identity, target)

    def _on_connect(self, tag: Any) -> bool:
        pending, self._pending = self._pending, None
        if pending is not None:
            signature = _read_signature(tag)
            self._emit(pending, signature, lost=signature is None)
        if self._writer is not None and self._present is not None and self._to_write(self._present):
            self._writer.write(self._present[0], tag)
        self._holding = True
        return True  # hold the tag until it is lifted

    def _to_write(self, identity: tuple[bytes, str], target: Any = None) -> bool:
        """Whether a new card's page link waits for this card; only a Type 2 tag (an NTAG)
        is activated for it: nfcpy cannot write NDEF on the others."""
        if self._writer is None or target is not None and card_kind(target) != "type2":
            return False
        return self._writer.wants_write(identity[0])

    def _on_release(self, tag: Any) -> bool:
        self._holding = False
        return False  # keep polling inside the same connect()

    def _emit(self, pending: _Pending, signature: bytes | None, lost: bool = False) -> None:
        kind = card_kind(pending.target)
        read = CardRead(pending.uid, pending.technology, kind, pending.seen_at, signature, lost)
        log.debug("event=read tech=%s kind=%s", read.technology, read.kind)
        try:
            self._on_card(read)
        except Exception:  # the loop outlives a failing handler
            log.exception("event=read handler=failed kind=%s", read.kind)

    # -- status -------------------------------------------------------------------------
    def _set_online(self, online: bool, why: str = "") -> None:
        if online == self._online:
            return
        self._online = online
        if online:
            log.info("event=reader online=True path=%s", self._section.path)
        else:
            log.warning("event=reader online=False problem=%r", why)
        try:
            self._on_status(online)
        except Exception:
            log.exception("event=reader handler=failed")

    def _wait(self, seconds: float) -> None:
        """Wait out a backoff; a serial port that was missing and reappears ends it at once."""
        deadline = time.monotonic() + seconds
        port = serial_port(self._section.path)
        missing = port is not None and not os.path.exists(port)
        while not self._stop.is_set():
            self._last_alive = time.monotonic()
            left = deadline - self._last_alive
            if left <= 0:
                return
            if missing:
                if os.path.exists(port or ""):
                    log.info("event=reader_port port=%s back=true", port)
                    return
                self._stop.wait(min(left, PORT_WATCH))
            else:
                self._stop.wait(min(left, BACKOFF_SLICE))
