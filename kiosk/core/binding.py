"""Whether a ledger and a site key belong together: (key, ledger, bound record) -> verdict.

Pure: no I/O. Every card_ref in a ledger is an HMAC under one site key, so a ledger with
another key (or none), or a key whose ledger is gone, must never be run as if new: that
is a kiosk starting over silently. The ledger keeps its key's fingerprint (an HMAC of a
fixed label under the key, never the key); a record beside the ledger says that one was
bound here, so an emptied or deleted ledger is told from a first start.

    >>> key = b"k" * 32
    >>> verdict(fingerprint(key), Holding(fingerprint=fingerprint(key), holds_data=True), None)
    <Verdict.AGREE: 'agree'>
    >>> verdict(None, Holding(fingerprint=None, holds_data=False), None)
    <Verdict.FRESH: 'fresh'>
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from enum import Enum

# what the fingerprint is an HMAC of: fixed, so it names the key and reveals nothing of it
FINGERPRINT_LABEL = b"loyalty-kiosk: the site key this ledger was recorded under"
FINGERPRINT_HEX = 32


def fingerprint(key: bytes) -> str:
    """The site key's fingerprint, as the ledger and its bound record keep it.

    >>> len(fingerprint(b"k" * 32))
    32
    """
    return hmac.new(key, FINGERPRINT_LABEL, hashlib.sha256).hexdigest()[:FINGERPRINT_HEX]


@dataclass(frozen=True)
class Holding:
    """What a ledger holds that ties it to a key: the fingerprint it keeps (None: none),
    and whether it holds events or cards (a ledger from before fingerprints has data only)."""

    fingerprint: str | None
    holds_data: bool


BLANK = Holding(fingerprint=None, holds_data=False)  # missing, 0 bytes, or tables only


class Verdict(Enum):
    AGREE = "agree"  # the ledger is bound to this key
    FRESH = "fresh"  # nothing held anywhere: a first start (make the key if none)
    ADOPT = "adopt"  # a ledger made before fingerprints: bind it to the key it runs with
    LEDGER_LOST = "ledger_lost"  # a key whose bound ledger is now empty or gone
    KEY_MISSING = "key_missing"  # a ledger (or its record) whose key is gone
    KEY_OTHER = "key_other"  # a ledger recorded under another key

    @property
    def runs(self) -> bool:
        """Whether the kiosk may run on this pair."""
        return self in (Verdict.AGREE, Verdict.FRESH, Verdict.ADOPT)


def verdict(key: str | None, ledger: Holding, record: str | None) -> Verdict:
    """Judge a pair: `key` is the site key's fingerprint (None: no key file), `record`
    the fingerprint in the record left beside the ledger when it was bound (None: none)."""
    if ledger.fingerprint is not None:
        if key is None:
            return Verdict.KEY_MISSING
        return Verdict.AGREE if key == ledger.fingerprint else Verdict.KEY_OTHER
    if ledger.holds_data:
        if key is None:
            return Verdict.KEY_MISSING
        return Verdict.ADOPT if record in (None, key) else Verdict.KEY_OTHER
    if record is None:
        return Verdict.FRESH
    return Verdict.KEY_MISSING if key is None else Verdict.LEDGER_LOST
