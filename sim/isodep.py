"""Virtual ISO-DEP (ISO 14443-4) cards: a phone with a random UID and a Type B card.

Neither carries an NDEF application: every APDU is answered "file not found", which is
what nfcpy meets on most bank cards and on phones without a tag-emulation app.
"""

from __future__ import annotations

import os

from sim.cards import TypeACard, VirtualCard

FILE_NOT_FOUND = b"\x6a\x82"
INS_NOT_SUPPORTED = b"\x6d\x00"


class IsoDep:
    """Block protocol of ISO 14443-4 (no chaining from the card: answers are short)."""

    def __init__(self) -> None:
        self.apdus: list[bytes] = []

    def block(self, data: bytes) -> tuple[bytes | None, bool]:
        """Answer one block; the flag says the card was deselected. A block carrying a CID
        (bit 0x08, as a PN532's firmware sends after its own ATTRIB) is answered with it."""
        pcb = data[0]
        cid = data[1:2] if pcb & 0x08 else b""
        body = data[1 + len(cid) :]
        pcb &= ~0x08
        if pcb & 0xE2 == 0x02:  # I-block
            if pcb & 0x10:  # the reader chains: acknowledge and wait for the rest
                return bytes([0xA2 | (pcb & 1) | len(cid) << 3]) + cid, False
            apdu = bytes(body)
            self.apdus.append(apdu)
            return bytes([0x02 | (pcb & 1) | len(cid) << 3]) + cid + self.apdu(apdu), False
        if pcb & 0xE6 == 0xA2:  # R(ACK)/R(NAK): nfcpy's presence check is an R(NAK)
            return bytes([0xA2 | (pcb & 1) | len(cid) << 3]) + cid, False
        if pcb == 0xC2:  # S(DESELECT)
            return bytes([0xC2 | len(cid) << 3]) + cid, True
        return None, False

    def apdu(self, apdu: bytes) -> bytes:
        if apdu[:2] == b"\x00\xa4":  # SELECT: no NDEF application, no file
            return FILE_NOT_FOUND
        return INS_NOT_SUPPORTED


class RandomIdPhone(TypeACard):
    """A phone in card-emulation mode: 4-byte UID 08 xx xx xx, drawn again at every tap."""

    kind = "random-id"
    atqa = b"\x04\x00"
    sak = 0x20
    ATS = bytes.fromhex("0578808002")  # FSCI 8 (256 bytes), FWI 8 (~77 ms): a slow handset

    def __init__(self) -> None:
        super().__init__(self._draw())
        self.isodep = IsoDep()
        self._layer4 = False

    @staticmethod
    def _draw() -> bytes:
        return b"\x08" + os.urandom(3)

    def arrive(self) -> None:
        self.uid = self._draw()
        super().arrive()

    def power_off(self) -> None:
        super().power_off()
        self._layer4 = False

    def command(self, data: bytes) -> bytes | None:
        if data[0] == 0xE0 and len(data) == 2 and not self._layer4:  # RATS
            self._layer4 = True
            return self.ATS
        if self._layer4:
            reply, deselected = self.isodep.block(data)
            if deselected:
                self.power_off()
            return reply
        return super().command(data)


class TypeBCard(VirtualCard):
    """An ISO 14443-3B card (many transport and ID cards): identity is the 4-byte NFCID0."""

    technology = "106B"
    kind = "type-b"
    APP_DATA = b"\x00\x00\x00\x00"
    # bit rates 106 only; FSCI 8 + ISO 14443-4; FWI 8 (~77 ms), no ADC, no CID/NAD
    PROTOCOL_INFO = b"\x00\x81\x80"

    def __init__(self, nfcid0: bytes) -> None:
        super().__init__()
        if len(nfcid0) != 4:
            raise ValueError("a Type B NFCID0 has 4 bytes")
        self.nfcid0 = bytes(nfcid0)
        self.isodep = IsoDep()
        self._state = "idle"

    @property
    def identity(self) -> bytes:
        return self.nfcid0

    def power_off(self) -> None:
        self._state = "idle"

    @property
    def sensb_res(self) -> bytes:
        return b"\x50" + self.nfcid0 + self.APP_DATA + self.PROTOCOL_INFO

    def answer(self, data: bytes) -> bytes | None:
        if not data:
            return None
        if data[0] == 0x05 and len(data) == 3:  # SENSB_REQ / ALLB_REQ
            allb = bool(data[2] & 0x08)
            if self._state in ("idle", "ready") or (allb and self._state == "halt"):
                self._state = "ready"
                self._mark_identified()
                return self.sensb_res
            return None
        if data[0] == 0x1D and data[1:5] == self.nfcid0 and self._state == "ready":  # ATTRIB
            self._state = "active"
            return b"\x00"  # MBLI 0, CID 0
        if data[0] == 0x50 and data[1:5] == self.nfcid0:  # HLTB
            self._state = "halt"
            return b"\x00"
        if self._state == "active":
            reply, deselected = self.isodep.block(data)
            if deselected:
                self._state = "halt"
            return reply
        return None
