"""The virtual RF field: a UDP peer for nfcpy's ``udp:HOST:PORT`` reader device.

nfcpy's UDP device sends each frame as an ASCII datagram, ``<brty> <hex bytes>`` (for
example ``106A 26``), and ``RFOFF`` when it switches its field off. The field hands each
frame to the card lying on it and sends the card's answer back to the sender.

    >>> with VirtualField() as field:           # doctest: +SKIP
    ...     field.tap(make_card("ntag213"), hold=1.0)

Two properties of this field are choices, both kept here in sim/ (the kiosk cannot tell):

* **An empty field answers at once.** nfcpy's UDP device waits a full second for an answer
  to each sense request, so a round of 106A+106B+212F with nothing present would take 3 s,
  where a real reader says "no card" in tens of milliseconds. When no card answers a sense
  request the field sends a frame that nfcpy's driver itself reads as "no target": a frame
  with no payload for SENSB_REQ/SENSF_REQ (a TransmissionError, which ``sense_ttb`` and
  ``sense_ttf`` turn into None); for Type A, where ``sense_tta`` only forgives silence at
  the SENS_REQ step, a placeholder ATQA followed by an empty SDD/SEL answer, which
  ``sense_tta`` catches and turns into None. Commands other than sense requests still get
  plain silence, as from a card that was lifted (nfcpy then times out, as with real cards).
  ``quick_empty=False`` gives the slow, literal behaviour. With ``quick_lifted=True``
  (benchmarks) a frame sent to a card no longer on the field also gets that empty frame at
  once, as a real reader reports its RF timeout in milliseconds, not nfcpy's UDP timeout.
* **A broken reader garbles frames.** Linux does not report ICMP "port unreachable" to an
  unconnected UDP socket, so nfcpy cannot notice that the field vanished: a stopped field
  looks like an empty one. ``fail()`` instead answers every frame with an undecodable one
  (odd hex digits), the way a reader with a failing link returns rubbish: nfcpy's driver
  raises out of ``connect()`` and the kiosk's reader adapter must reopen the device.
"""

from __future__ import annotations

import hashlib
import logging
import select
import socket
import threading
from collections.abc import Callable

from sim.cards import MagicNtag, MifareClassic1k, Ntag21x, VirtualCard
from sim.felica import FelicaCard
from sim.isodep import RandomIdPhone, TypeBCard

log = logging.getLogger(__name__)

KINDS = (
    "ntag213", "ntag215", "ntag216", "mifare-classic-1k", "felica", "type-b", "random-id",
    "ntag213-clone",
)


def make_card(kind: str, uid: bytes | None = None, ndef: bytes = b"", name: str = "") -> VirtualCard:
    """A virtual card of `kind`; without a UID, one is derived from `name` (stable per name)."""
    if kind not in KINDS:
        raise ValueError(f"unknown card kind {kind!r}; choose one of {', '.join(KINDS)}")
    if kind == "random-id":
        return RandomIdPhone()
    if uid is None:
        digest = hashlib.sha256(f"{kind}:{name}".encode()).digest()
        uid = {
            "mifare-classic-1k": lambda: bytes([digest[0] | 0x01]) + digest[1:4],
            "felica": lambda: b"\x01\x2e" + digest[:6],
            "type-b": lambda: digest[:4],
        }.get(kind, lambda: b"\x04" + digest[:6])()
    if kind == "ntag213-clone":
        return MagicNtag(uid, ndef)
    if kind.startswith("ntag"):
        return Ntag21x(uid, kind, ndef)
    if kind == "mifare-classic-1k":
        return MifareClassic1k(uid)
    if kind == "felica":
        return FelicaCard(uid)
    return TypeBCard(uid)


def _is_sense(brty: str, data: bytes) -> bool:
    """Frames by which a reader asks "is anybody there?" (and Type A anticollision)."""
    if not data:
        return False
    if brty == "106A":
        return (len(data) == 1 and data[0] in (0x26, 0x52)) or (
            len(data) >= 2 and data[0] in (0x93, 0x95, 0x97) and data[1] in (0x20, 0x70)
        )
    if brty == "106B":
        return data[0] == 0x05
    if brty == "212F":
        return len(data) >= 2 and data[1] == 0x00
    return False


class VirtualField:
    """A reader's RF field with at most one card on it, served on a UDP port."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1", quick_empty: bool = True,
                 quick_lifted: bool = False) -> None:
        self.host = host
        self.quick_empty = quick_empty
        self.quick_lifted = quick_lifted
        self._port = port
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._running = False
        self._lock = threading.Lock()
        self._card: VirtualCard | None = None
        self._broken = False
        self._vanish: Callable[[bytes], bool] | None = None
        self._polls = 0
        self._answers = 0  # frames a card answered
        self._polled = threading.Condition(self._lock)

    # -- life cycle -------------------------------------------------------------------
    def start(self) -> VirtualField:
        """Bind the port (the same one again after a stop) and serve frames in a thread."""
        if self._running:
            return self
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((self.host, self._port))
        self._port = sock.getsockname()[1]
        self._sock, self._running = sock, True
        self._thread = threading.Thread(target=self._serve, name=f"field:{self._port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop answering and free the port; the card stays where it lies."""
        self._running = False
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> VirtualField:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def path(self) -> str:
        """The nfcpy device path a reader uses to reach this field."""
        return f"udp:{self.host}:{self._port}"

    # -- what lies on the field -------------------------------------------------------
    @property
    def card(self) -> VirtualCard | None:
        return self._card

    def place(self, card: VirtualCard) -> VirtualCard:
        """Put a card on the reader (a card already there is lifted first)."""
        with self._lock:
            card.arrive()
            self._card, self._vanish = card, None
        log.info("placed %r", card)
        return card

    def remove(self) -> VirtualCard | None:
        """Lift the card off the reader."""
        with self._lock:
            card, self._card, self._vanish = self._card, None, None
        if card is not None:
            log.info("removed %r", card)
        return card

    def remove_when(self, predicate: Callable[[bytes], bool]) -> None:
        """Lift the card just before it would answer the first frame matching `predicate`."""
        with self._lock:
            self._vanish = predicate

    def tap(self, card: VirtualCard, hold: float, read_timeout: float = 5.0) -> bool:
        """Place a card, keep it there until the reader identified it, then `hold` seconds.

        Returns False when the reader never identified it within `read_timeout`."""
        self.place(card)
        seen = card.identified.wait(read_timeout)
        threading.Event().wait(max(0.0, hold))  # the customer's hand, not a synchronisation
        if self._card is card:
            self.remove()
        return seen

    # -- faults -----------------------------------------------------------------------
    def fail(self) -> None:
        """From now on answer every frame with rubbish, like a reader whose link broke."""
        self._broken = True
        log.info("field %d broken", self._port)

    def recover(self) -> None:
        self._broken = False
        log.info("field %d working again", self._port)

    @property
    def broken(self) -> bool:
        return self._broken

    # -- observing the reader ---------------------------------------------------------
    @property
    def polls(self) -> int:
        """How many sense requests (REQA/WUPA, SENSB_REQ, SENSF_REQ) arrived so far."""
        return self._polls

    def wait_polls(self, count: int, timeout: float) -> bool:
        """Wait until `count` more sense requests arrived; False on timeout."""
        with self._polled:
            target = self._polls + count
            return self._polled.wait_for(lambda: self._polls >= target, timeout)

    def wait_answers(self, count: int, timeout: float) -> bool:
        """Wait until cards answered `count` more frames (a held card answers presence checks)."""
        with self._polled:
            target = self._answers + count
            return self._polled.wait_for(lambda: self._answers >= target, timeout)

    # -- the frames -------------------------------------------------------------------
    def _serve(self) -> None:
        sock = self._sock
        assert sock is not None
        while self._running:
            if not select.select([sock], [], [], 0.1)[0]:
                continue
            try:
                datagram, sender = sock.recvfrom(4096)
            except OSError:
                continue
            reply = self.answer(datagram)
            if reply is not None:
                try:
                    sock.sendto(reply, sender)
                except OSError as error:
                    log.debug("cannot answer %s: %s", sender, error)

    def answer(self, datagram: bytes) -> bytes | None:
        """What the field sends back for one datagram of nfcpy's UDP driver (None: silence)."""
        if datagram.startswith(b"RFOFF"):
            with self._lock:
                if self._card is not None:
                    self._card.power_off()
            return None
        head, _, payload = datagram.partition(b" ")
        try:
            brty = head.decode("ascii")
            data = bytes.fromhex(payload.decode("ascii"))
        except ValueError:
            log.warning("ignoring a frame that is not '<brty> <hex>': %r", datagram[:40])
            return None
        with self._lock:
            sense = _is_sense(brty, data)
            if sense and data[0] in (0x26, 0x52, 0x05) or (brty == "212F" and sense):
                self._polls += 1
                self._polled.notify_all()
            if self._broken:
                return head + b" 0"
            card = self._card
            if card is not None and self._vanish is not None and self._vanish(data):
                log.info("%r lifted in the middle of an exchange", card)
                self._card = self._vanish = card = None
            answer = card.answer(data) if card is not None and card.technology == brty else None
            if answer is not None:
                self._answers += 1
                self._polled.notify_all()
        if answer is not None:
            return head + b" " + answer.hex().encode()
        if sense and self.quick_empty:
            if brty == "106A" and len(data) == 1:
                return head + b" 0400"  # placeholder ATQA; the SDD/SEL that follows is empty
            return head
        if card is None and self.quick_lifted:
            return head
        return None
