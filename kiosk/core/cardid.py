"""Card identity: raw UIDs are turned into a keyed hash before anything stores them.

    >>> ref = card_ref(b"site-key-32-bytes...............", bytes.fromhex("04a1b2c3d4e5f6"))
    >>> len(ref)
    64
"""

from __future__ import annotations

import hashlib
import hmac
import re

from kiosk.core.wire import Text

_HEX = re.compile(r"^[0-9a-fA-F]+$")
UID_LENGTHS = (4, 7, 8, 10)  # ISO 14443-A single/double/triple size, FeliCa IDm
NFCID0_LENGTH = 4  # ISO 14443-B
# what the kiosk stores and sends for a card: HMAC-SHA256 in lowercase hex
CARD_REF = Text(64, 64, "[0-9a-f]{64}", "64 lowercase hex characters")


def parse_uid(text: str) -> bytes:
    """Parse a UID typed as hex, with or without ':' or ' ' separators."""
    cleaned = re.sub(r"[\s:\-]", "", text)
    if not cleaned or not _HEX.match(cleaned) or len(cleaned) % 2:
        raise ValueError(f"UID {text!r} is not hex (expected e.g. 04A1B2C3D4E5F6)")
    uid = bytes.fromhex(cleaned)
    if len(uid) not in UID_LENGTHS:
        raise ValueError(
            f"UID {text!r} has {len(uid)} bytes; a card UID has "
            + ", ".join(str(n) for n in UID_LENGTHS[:-1])
            + f" or {UID_LENGTHS[-1]} bytes"
        )
    return uid


def is_random_uid(uid: bytes) -> bool:
    """A 4-byte UID starting with 0x08 is re-drawn at every tap (ISO 14443-3)."""
    return len(uid) == 4 and uid[0] == 0x08


def is_blank_uid(uid: bytes) -> bool:
    """All bits 0 or all 1 (00000000, FFFFFFFFFFFFFFFFFFFF): no card's own number but a
    reader's or an emulator's placeholder, the same for every such card."""
    return len(set(uid)) == 1 and uid[0] in (0x00, 0xFF)


def card_ref(site_key: bytes, uid: bytes) -> str:
    """The only name a card has outside the reader: HMAC-SHA256(site key, UID), hex."""
    return hmac.new(site_key, uid, hashlib.sha256).hexdigest()


def is_card_ref(text: object) -> bool:
    return CARD_REF.fits(text)
