"""Virtual Type A cards that answer nfcpy's UDP device frame by frame.

A card only sees frames (bytes without CRC, as nfcpy's UDP device carries them) and answers
with bytes, or with ``None`` for silence, exactly where a real card would stay silent. The
state machine is the one of ISO 14443-3: IDLE → READY (after REQA/WUPA) → ACTIVE (after
the last cascade level is selected) → HALT (after HLTA). Losing the field (``RFOFF``)
brings a card back to IDLE, and its memory survives.

    >>> tag = Ntag21x.ntag213(bytes.fromhex("04A1B2C3D4E5F6"))
    >>> tag.answer(b"\\x26").hex()
    '4400'
"""

from __future__ import annotations

import threading
import time
from enum import Enum
from functools import reduce

ACK = b"\x0a"
NAK = b"\x00"  # nfcpy reads any single byte with (b & 0xFA) == 0 as a NAK
# The simulator's stand-in for NXP's private originality key: virtual NTAGs sign their UID
# with it, and tests point the kiosk's reader.originality_key at its public half.
TEST_SIGNING_SECRET = 0x51_4D_55_4C_41_54_4F_52


def originality_signature(uid: bytes, secret: int = TEST_SIGNING_SECRET) -> bytes:
    """What READ_SIG answers: ECDSA on secp128r1 over the UID itself (no hash), r || s."""
    from ecdsa import SECP128r1, SigningKey
    from ecdsa.util import sigencode_string

    key = SigningKey.from_secret_exponent(secret, curve=SECP128r1)
    return bytes(key.sign_digest_deterministic(uid, sigencode=sigencode_string, allow_truncate=True))


def originality_public_key(secret: int = TEST_SIGNING_SECRET) -> bytes:
    """The uncompressed public key (04, x, y) matching `originality_signature`."""
    from ecdsa import SECP128r1, SigningKey

    key = SigningKey.from_secret_exponent(secret, curve=SECP128r1)
    return b"\x04" + bytes(key.get_verifying_key().to_string())


def bcc(data: bytes) -> int:
    """Block check character: XOR of the UID bytes of one cascade level."""
    return reduce(lambda a, b: a ^ b, data, 0)


class VirtualCard:
    """One card that can be placed on a virtual field; subclasses answer its frames."""

    technology = "106A"
    kind = "unknown"

    def __init__(self) -> None:
        # Set when the reader completes anticollision after the card was placed: scenarios
        # hold a card "until the beep", benchmarks time the reader from this instant.
        self.identified = threading.Event()
        self.identified_at: float | None = None

    @property
    def identity(self) -> bytes:
        """What the reader learns at anticollision: UID, NFCID0 or IDm."""
        raise NotImplementedError

    def arrive(self) -> None:
        """The card enters the field: it powers up and has not been identified yet."""
        self.identified.clear()
        self.identified_at = None
        self.power_off()

    def power_off(self) -> None:
        """The field dropped (RFOFF): volatile state is lost, memory stays."""

    def answer(self, data: bytes) -> bytes | None:
        """The card's reply to one frame, or None to stay silent."""
        raise NotImplementedError

    def _mark_identified(self) -> None:
        if not self.identified.is_set():
            self.identified_at = time.monotonic()
            self.identified.set()

    def __repr__(self) -> str:
        return f"<{self.kind} {self.identity.hex().upper()}>"


class _State(Enum):
    IDLE = "idle"
    READY = "ready"
    ACTIVE = "active"
    HALT = "halt"


SENS_REQ = 0x26
WUPA = 0x52
SEL_CMDS = (0x93, 0x95, 0x97)


class TypeACard(VirtualCard):
    """ISO 14443-3 Type A anticollision; `command()` answers frames once the card is selected."""

    technology = "106A"
    atqa = b"\x04\x00"
    sak = 0x00

    def __init__(self, uid: bytes) -> None:
        super().__init__()
        if len(uid) not in (4, 7, 10):
            raise ValueError(f"a Type A UID has 4, 7 or 10 bytes, not {len(uid)}")
        self.uid = bytes(uid)
        self._state = _State.IDLE
        self._level = 0

    @property
    def identity(self) -> bytes:
        return self.uid

    def power_off(self) -> None:
        self._state = _State.IDLE
        self._level = 0

    def _levels(self) -> list[bytes]:
        """The 4 UID bytes each cascade level carries (0x88 = cascade tag)."""
        uid = self.uid
        if len(uid) == 4:
            return [uid]
        if len(uid) == 7:
            return [b"\x88" + uid[:3], uid[3:]]
        return [b"\x88" + uid[:3], b"\x88" + uid[3:6], uid[6:]]

    def answer(self, data: bytes) -> bytes | None:
        if not data:
            return None
        if data[0] in (SENS_REQ, WUPA) and len(data) == 1:
            if self._state is _State.IDLE or (data[0] == WUPA and self._state is _State.HALT):
                self._state, self._level = _State.READY, 0
                return self.atqa
            return None
        if self._state is _State.READY:
            return self._anticollision(data)
        if self._state is _State.ACTIVE:
            if data == b"\x50\x00":  # HLTA: no answer, by definition
                self._state = _State.HALT
                return None
            return self.command(data)
        return None

    def _anticollision(self, data: bytes) -> bytes | None:
        levels = self._levels()
        if len(data) < 2 or data[0] not in SEL_CMDS:
            self._state = _State.IDLE
            return None
        level = SEL_CMDS.index(data[0])
        if level >= len(levels):
            return None
        part = levels[level] + bytes([bcc(levels[level])])
        if data[1] == 0x20:  # SDD_REQ: the whole level, no collision to resolve
            return part
        if data[1] == 0x70 and data[2:] == part:  # SEL_REQ for this UID
            if level + 1 < len(levels):
                return bytes([0x04])  # cascade bit: UID not complete
            self._state = _State.ACTIVE
            self._mark_identified()
            return bytes([self.sak])
        self._state = _State.IDLE
        return None

    def command(self, data: bytes) -> bytes | None:
        """Answer a frame received while selected; unknown commands: NAK and back to IDLE."""
        self._state = _State.IDLE
        return NAK


class Ntag21x(TypeACard):
    """NXP NTAG213/215/216: Type 2 tag memory in 4-byte pages, NDEF from page 4."""

    atqa = b"\x44\x00"
    sak = 0x00
    MODELS = {  # kind: (total pages, capability byte, GET_VERSION storage byte)
        "ntag213": (45, 0x12, 0x0F),
        "ntag215": (135, 0x3E, 0x11),
        "ntag216": (231, 0x6D, 0x13),
    }

    def __init__(self, uid: bytes, model: str = "ntag213", ndef: bytes = b"") -> None:
        if len(uid) != 7:
            raise ValueError("an NTAG21x has a 7-byte UID")
        if uid[0] != 0x04:
            raise ValueError("an NTAG21x UID starts with NXP's manufacturer code 04")
        super().__init__(uid)
        self.kind = model
        self.pages, capability, self._storage = self.MODELS[model]
        self.memory = bytearray(4 * self.pages)
        self.memory[0:4] = uid[:3] + bytes([bcc(b"\x88" + uid[:3])])
        self.memory[4:8] = uid[3:]
        self.memory[8:12] = bytes([bcc(uid[3:]), 0x48, 0x00, 0x00])
        self.memory[12:16] = bytes([0xE1, 0x10, capability, 0x00])
        cfg = 4 * (self.pages - 4)  # CFG0, CFG1, PWD, PACK: the last four pages
        self.memory[cfg : cfg + 4] = b"\x04\x00\x00\xff"  # AUTH0 = FF: no password
        self.password = b"\xff\xff\xff\xff"
        # READ_SIG's answer; None: the command is refused (NAK), as by many magic clones
        self.signature: bytes | None = originality_signature(uid)
        self.write_ndef(ndef)

    @classmethod
    def ntag213(cls, uid: bytes, ndef: bytes = b"") -> Ntag21x:
        return cls(uid, "ntag213", ndef)

    @property
    def user_pages(self) -> range:
        return range(4, self.pages - 5)  # dynamic lock + 4 config pages end the memory

    def write_ndef(self, message: bytes) -> None:
        """Store an NDEF message TLV (03 len ... FE) at page 4, as a phone app would."""
        if len(message) < 0xFF:
            tlv = bytes([0x03, len(message)]) + message + b"\xfe"
        else:
            tlv = b"\x03\xff" + len(message).to_bytes(2, "big") + message + b"\xfe"
        start, end = 4 * self.user_pages.start, 4 * self.user_pages.stop
        if len(tlv) > end - start:
            raise ValueError(f"NDEF message of {len(message)} bytes does not fit a {self.kind}")
        self.memory[start:end] = tlv + bytes(end - start - len(tlv))

    def read_ndef(self) -> bytes | None:
        """The NDEF message stored at page 4, or None when there is no NDEF TLV."""
        offset = 16
        while offset < len(self.memory) and self.memory[offset] == 0x00:
            offset += 1  # NULL TLVs
        if offset >= len(self.memory) or self.memory[offset] != 0x03:
            return None
        length = self.memory[offset + 1]
        if length == 0xFF:
            length = int.from_bytes(self.memory[offset + 2 : offset + 4], "big")
            offset += 2
        return bytes(self.memory[offset + 2 : offset + 2 + length])

    def _page(self, page: int) -> bytes:
        if page >= self.pages - 2:  # PWD and PACK always read as zeros
            return bytes(4)
        return bytes(self.memory[4 * page : 4 * page + 4])

    def command(self, data: bytes) -> bytes | None:
        code = data[0]
        if code == 0x30 and len(data) == 2:  # READ: 4 pages, rolling over at the end
            if data[1] >= self.pages:
                return self._nak()
            return b"".join(self._page((data[1] + i) % self.pages) for i in range(4))
        if code == 0x3A and len(data) == 3:  # FAST_READ start..end
            first, last = data[1], data[2]
            if first > last or last >= self.pages:
                return self._nak()
            return b"".join(self._page(p) for p in range(first, last + 1))
        if code == 0xA2 and len(data) == 6:  # WRITE one page
            return self._write(data[1], data[2:6])
        if code == 0x60 and len(data) == 1:  # GET_VERSION
            return bytes([0x00, 0x04, 0x04, 0x02, 0x01, 0x00, self._storage, 0x03])
        if code == 0x1B and len(data) == 5:  # PWD_AUTH
            return b"\x00\x00" if data[1:] == self.password else self._nak()
        if code == 0x3C and len(data) == 2 and data[1] == 0x00:  # READ_SIG
            return self.signature if self.signature is not None else self._nak()
        if code == 0x39 and len(data) == 2:  # READ_CNT
            return bytes(3)
        return self._nak()

    def _write(self, page: int, data: bytes) -> bytes | None:
        if page < 2 or page >= self.pages:
            return self._nak()
        at = 4 * page
        if page in (2, 3):  # lock bytes and capability container are one-time programmable
            start = at + 2 if page == 2 else at
            for i in range(start, at + 4):
                self.memory[i] |= data[i - at]
        elif page == self.pages - 2:
            self.password = bytes(data)
        else:
            self.memory[at : at + 4] = data
        return ACK

    def _nak(self) -> bytes:
        self.power_off()  # an NTAG answers NAK and falls back to IDLE
        return NAK


class MagicNtag(Ntag21x):
    """A "magic" UID-writable clone of an NTAG213: any UID, but no NXP signature of it (its
    READ_SIG answers zeros, or is refused with `signature=None`)."""

    def __init__(self, uid: bytes, ndef: bytes = b"", signature: bytes | None = bytes(32)) -> None:
        super().__init__(uid, "ntag213", ndef)
        self.kind = "ntag213-clone"
        self.signature = signature


class MifareClassic1k(TypeACard):
    """MIFARE Classic 1K: 4-byte UID, SAK 08. Without its keys (Crypto1) nothing is readable,
    which is why the kiosk identifies it by UID alone."""

    kind = "mifare-classic-1k"
    atqa = b"\x04\x00"
    sak = 0x08

    def __init__(self, uid: bytes) -> None:
        if len(uid) != 4:
            raise ValueError("a MIFARE Classic 1K here has a 4-byte UID")
        super().__init__(uid)

    def command(self, data: bytes) -> bytes | None:
        if data[0] in (0x60, 0x61) and len(data) == 2:  # AUTH with key A/B: the tag nonce
            return b"\x01\x02\x03\x04"
        self.power_off()  # any read without authentication: NAK (0x4) and back to IDLE
        return b"\x04"
