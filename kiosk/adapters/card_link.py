"""A card's own page link drawn here: kept for a while in memory, written on the card, drawn
as a QR.

At enrolment (or when a card's link is drawn anew: kiosk.core.cardlink.draws_link) the
counter draws the token and records only its digest; the link itself stays here, in
memory, for KEEP_SECONDS: long enough to write it on the card the moment the tap's
feedback is out, and to show it as a QR code on a second tap. It is never written to disk
on the kiosk (a stolen Pi holds no more than the links it drew lately); after a restart,
a card's link is on the card only.

Writing: the reader adapter asks `wants_write(uid)` once the tap was handled (the screen
already shows it) and, if so, hands the activated tag to `write(uid, tag)`, which puts one
NDEF URI record on it through nfcpy's own NDEF support. A card that cannot be written (not
NDEF, read-only, full, lifted too soon) keeps working: the failure is logged and dropped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

KEEP_SECONDS = 12 * 3600.0  # a card's link stays here this long after its enrolment
KEEP_CARDS = 500  # at most this many links are held (the oldest go first)
WRITE_SECONDS = 30.0  # a link not written by then (the card was lifted) is not tried again


@dataclass(frozen=True)
class _Kept:
    card_ref: str
    uid: bytes
    url: str
    at: float  # time.monotonic()


class LinkBook:
    """The page links drawn here lately, and those still to write."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._by_card: OrderedDict[str, _Kept] = OrderedDict()
        self._to_write: dict[bytes, _Kept] = {}
        self._lock = threading.Lock()

    def remember(self, card_ref: str, uid: bytes, url: str, write: bool = True) -> None:
        """A card's new link `url` was just drawn (its card_link event is committed)."""
        kept = _Kept(card_ref, uid, url, self._clock())
        with self._lock:
            self._by_card[card_ref] = kept
            self._by_card.move_to_end(card_ref)
            while len(self._by_card) > KEEP_CARDS:
                self._by_card.popitem(last=False)
            if write:
                self._to_write[uid] = kept

    def url_for(self, card_ref: str) -> str | None:
        """The card's page link, if this kiosk drew it lately."""
        with self._lock:
            kept = self._by_card.get(card_ref)
        if kept is None or self._clock() - kept.at > KEEP_SECONDS:
            return None
        return kept.url

    def wants_write(self, uid: bytes) -> bool:
        """Whether the card on the reader still has its link to receive."""
        with self._lock:
            kept = self._to_write.get(uid)
            if kept is not None and self._clock() - kept.at > WRITE_SECONDS:
                del self._to_write[uid]
                return False
            return kept is not None

    def write(self, uid: bytes, tag: Any) -> bool:
        """Write the card's link on `tag` (nfcpy's activated tag); True when written. Tried
        once: a card that refuses is not asked again."""
        with self._lock:
            kept = self._to_write.pop(uid, None)
        if kept is None:
            return False
        written = write_uri(tag, kept.url)
        log.info("event=card_link written=%s card=%s", written, kept.card_ref[:8])
        return written


def write_uri(tag: Any, url: str) -> bool:
    """Put one NDEF URI record on an nfcpy tag; False (never raises) when it cannot."""
    import ndef  # nfcpy's NDEF library: imported only where a link is written

    try:
        found = tag.ndef
        if found is None or not found.is_writeable:
            return False
        record = ndef.UriRecord(url)
        if len(b"".join(ndef.message_encoder([record]))) > found.capacity:
            return False
        found.records = [record]
        return True
    except Exception as error:  # a card lifted half way, a timeout, a NAK: the tap stands
        log.info("event=card_link error=%r", error.__class__.__name__)
        return False


def qr_modules(url: str) -> tuple[tuple[bool, ...], ...]:
    """The QR code of `url` as rows of modules (True = dark), smallest version, error
    correction L (the panel shows it still and sharp, not printed and scuffed)."""
    import segno  # pure Python, imported only when a code is drawn

    code = segno.make(url, error="l", micro=False, boost_error=False)
    return tuple(tuple(bool(m) for m in row) for row in code.matrix)
