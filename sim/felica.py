"""A virtual FeliCa Standard card (212 kbps, Type F): identity is its 8-byte IDm.

Frames start with their own length byte, as on the air. The card holds one system
(0x0003, the common area of transport cards) and no NDEF system (0x12FC), so nfcpy
identifies it and finds no NDEF, like most FeliCa cards in a wallet.
"""

from __future__ import annotations

from sim.cards import VirtualCard

# PMm: ROM type, IC type 0x01 (RC-S915, a FeliCa Standard chip nfcpy knows), then the
# maximum response time parameters. Byte 3 rules Request Response: e=2, a=b=7 gives
# nfcpy ~77 ms to wait, room for a simulator answering over UDP on a busy machine.
PMM = bytes.fromhex("0301BF024F4993FF")
SYSTEM_CODE = b"\x00\x03"


class FelicaCard(VirtualCard):
    technology = "212F"
    kind = "felica"

    def __init__(self, idm: bytes, system_code: bytes = SYSTEM_CODE) -> None:
        super().__init__()
        if len(idm) != 8:
            raise ValueError("a FeliCa IDm has 8 bytes")
        if idm[:2] == b"\x01\xfe":
            raise ValueError("IDm 01 FE .. marks an NFC-DEP device, not a card")
        self.idm = bytes(idm)
        self.system_code = bytes(system_code)

    @property
    def identity(self) -> bytes:
        return self.idm

    def _frame(self, code: int, body: bytes) -> bytes:
        return bytes([len(body) + 2, code]) + body

    def answer(self, data: bytes) -> bytes | None:
        if len(data) < 2 or data[0] != len(data):
            return None  # a garbled frame: a FeliCa card keeps quiet
        code, body = data[1], data[2:]
        if code == 0x00 and len(body) == 4:  # Polling (SENSF_REQ)
            wanted, request = body[0:2], body[2]
            if not all(w in (0xFF, s) for w, s in zip(wanted, self.system_code, strict=True)):
                return None
            self._mark_identified()
            extra = self.system_code if request == 1 else b"\x00\x83" if request == 2 else b""
            return self._frame(0x01, self.idm + PMM + extra)
        if body[:8] != self.idm:
            return None  # addressed to another card
        if code == 0x04:  # Request Response: mode 0
            return self._frame(0x05, self.idm + b"\x00")
        if code == 0x0C:  # Request System Code
            return self._frame(0x0D, self.idm + b"\x01" + self.system_code)
        if code == 0x06:  # Read Without Encryption: no service readable without a key
            return self._frame(0x07, self.idm + b"\xff\xa1")
        return None
