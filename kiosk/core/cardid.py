"""Card identity: raw UIDs are turned into a keyed hash before anything stores them.

    >>> ref = card_ref(b"site-key-32-bytes...............", bytes.fromhex("04a1b2c3d4e5f6"))
    >>> len(ref)
    64
"""

from __future__ import annotations

import hmac
import re
from functools import lru_cache
from typing import Any

from kiosk.core.wire import Text

_HEX = re.compile(r"^[0-9a-fA-F]+$")
UID_LENGTHS = (4, 7, 8, 10)  # ISO 14443-A single/double/triple size, FeliCa IDm
NFCID0_LENGTH = 4  # ISO 14443-B
# what the kiosk stores and sends for a card: HMAC-SHA256 in lowercase hex
CARD_REF = Text(64, 64, "[0-9a-f]{64}", "64 lowercase hex characters")
# NXP's public key for NTAG21x originality signatures (secp128r1, uncompressed point), as
# AN11350 gives it and several independent open-source verifiers reproduce it; the unit
# tests check it against a published tag's signature.
NXP_NTAG21X_KEY = bytes.fromhex("04494E1A386D3D3CFE3DC10E5DE68A499B1C202DB5B132393E89ED19FE5BE8BC61")
SIGNATURE_LENGTH = 32  # READ_SIG: r and s, 16 bytes each


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
    return hmac.digest(site_key, uid, "sha256").hex()  # hmac.new's hexdigest, in one C call


def is_card_ref(text: object) -> bool:
    return CARD_REF.fits(text)


def is_public_key(text: str) -> bool:
    """An uncompressed secp128r1 point in hex: 04, then x and y (16 bytes each)."""
    if len(text) != 66 or not _HEX.match(text) or text[:2] != "04":
        return False
    return _key(bytes.fromhex(text)) is not None


@lru_cache(maxsize=4)
def _key(public_key: bytes) -> Any:
    # ecdsa is pure Python arithmetic (no I/O): the check stays a pure function
    from ecdsa import SECP128r1, VerifyingKey
    from ecdsa.errors import MalformedPointError

    try:
        return VerifyingKey.from_string(public_key, curve=SECP128r1)
    except (MalformedPointError, ValueError):
        return None


def is_original(uid: bytes, signature: bytes, public_key: bytes = NXP_NTAG21X_KEY) -> bool:
    """Whether `signature` (an NTAG21x's READ_SIG answer, r || s) is the chip maker's ECDSA
    signature of `uid` on secp128r1, the UID itself being the message (no hash). A clone's
    zeros, an error (b"") or a signature of another UID: False.

    >>> is_original(bytes.fromhex("04a1b2c3d4e5f6"), bytes(32))
    False
    """
    if len(signature) != SIGNATURE_LENGTH or not any(signature):
        return False
    key = _key(public_key)
    if key is None:
        return False
    from ecdsa import BadSignatureError
    from ecdsa.util import sigdecode_string

    try:
        return bool(key.verify_digest(signature, uid, sigdecode=sigdecode_string, allow_truncate=True))
    except BadSignatureError:
        return False
