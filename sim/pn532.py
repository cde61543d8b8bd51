"""A virtual NXP PN532 behind its serial line (HSU): the commands nfcpy's pn532 driver sends,
answered with the datasheet's framing and timings, over the simulator's virtual cards.

The chip reads host frames (`sim.hsu`), acknowledges each good one, runs it and answers.
Cards answer the same frames they answer on the UDP field (`sim.cards`, `sim.felica`,
`sim.isodep`); the chip does what its firmware does around them: anticollision and ATTRIB
inside InListPassiveTarget, the RF field, CRC_A handed to the host when nfcpy turned the
CIU's CRC check off for a Type 2 tag, status byte 0x01 when a card stays silent.

`PN532Line` (`sim.serial_line`) puts this chip on a pseudo-terminal that nfcpy opens as
``tty:<name>:pn532``.

InAutoPoll (UM0701-02 7.3.13) is the chip polling by itself: ``PollNr`` pollings (0xFF:
until a card comes), one polling being each listed target type in turn, each type tried for
``Period`` x 150 ms (libnfc's reading of the manual: "if Period = 10 it polls each type
during 1.5 s"); the answer comes as soon as a card is found, ``NbTg = 0`` after the last
polling. The host aborts it with an ACK frame (UM0701 6.2.1.3), and then gets no answer.

Timings: the ACK's bound is UM0701-02's (15 ms); the others are round figures of the
order boards show, so that a poll round with nobody there costs tens of milliseconds, as on
a real reader, and not the UDP device's second. The serial line adds each byte's time at
the line's speed (`sim.serial_line`).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sim import hsu
from sim.nfc import VirtualField

ACK_DELAY = 0.001  # a valid frame is acknowledged within 15 ms (UM0701); boards: ~1 ms
COMMAND_DELAY = 0.001  # firmware time to run a command that does not touch the field
EMPTY_ATTEMPT = 0.005  # one activation attempt with nobody in the field (REQ, slots, timeout)
FIELD_SETTLE = 0.001  # per frame exchanged with a card: the air time of short frames
FIRMWARE = bytes([0x32, 0x01, 0x06, 0x07])  # IC PN532, version 1.6, ISO18092+14443A/B
BAUDS = (9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600, 1288000)

# CIU registers the firmware itself changes (nfcpy reads and writes the others freely)
CIU_TX_MODE, CIU_RX_MODE, CIU_TX_CONTROL, CIU_FIFO_DATA = 0x6302, 0x6303, 0x6304, 0x6339
CRC_ON = 0x80
FRAMING = {"106A": 0x00, "106B": 0x03, "212F": 0x02 | 0x10}  # low bits framing, 0x10 212 kbps
TECHNOLOGY = {0x00: "106A", 0x03: "106B", 0x02: "212F"}
BRTY = {0: "106A", 1: "212F", 3: "106B"}  # InListPassiveTarget's BrTy values we carry

STATUS_OK, STATUS_TIMEOUT, STATUS_BAD_PARAMETER = 0x00, 0x01, 0x10

AUTO_POLL_UNIT = 0.150  # InAutoPoll's Period counts in 150 ms (UM0701 7.3.13)
AUTO_POLL_ENDLESS = 0xFF
# InAutoPoll's target types we carry: technology and what the type accepts of a 106A card
# (SAK bit 0x20: ISO/IEC 14443-4). 0x00/0x01 are the generic types, 0x10 "Mifare card",
# 0x20 "passive 106 kbps ISO/IEC 14443-4A", 0x03/0x23 "ISO/IEC 14443-4B", 0x11 "FeliCa 212".
AUTO_POLL_TYPES = {0x00: "106A", 0x10: "106A", 0x20: "106A", 0x01: "212F", 0x11: "212F",
                   0x03: "106B", 0x23: "106B"}
AUTO_POLL_INITIATOR = {"106A": b"", "106B": b"\x00", "212F": bytes.fromhex("00ffff0100")}


def crc_a(data: bytes) -> bytes:
    """ISO 14443-3 CRC_A (initial 0x6363, reflected polynomial 0x8408), low byte first."""
    crc = 0x6363
    for byte in data:
        byte ^= crc & 0xFF
        byte = (byte ^ (byte << 4)) & 0xFF
        crc = (crc >> 8) ^ (byte << 8) ^ (byte << 3) ^ (byte >> 4)
    return bytes([crc & 0xFF, crc >> 8])


@dataclass(frozen=True)
class Reply:
    """What the chip sends for one command, and how long it works before sending it."""

    data: bytes | None  # response data after the response code; None: syntax error frame
    seconds: float


class VirtualPn532:
    """The PN532's firmware: `handle(command, data)` → `Reply`. One card field, one target."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        # the cards lie on a VirtualField used only as their holder (place, remove, lift
        # mid-exchange): the chip carries the frames, not UDP
        self.field = VirtualField()
        self.registers: dict[int, int] = {}
        self.field_on = False
        self.asleep = False
        self.baud = 115200
        self.pending_baud: int | None = None  # switched after the host's ACK (UM0701 7.2.13)
        self.rf_timeout = 0.0512  # RFConfiguration item 2, byte 3 (index 0x0A here)
        self.activation_retries = 0xFF  # RFConfiguration item 5, MxRtyPassiveActivation
        self.commands: list[int] = []  # every command code run, for tests
        self._target: str | None = None  # technology of the target listed last

    def _field(self, on: bool) -> None:
        card = self.field.card
        if not on and card is not None:
            card.power_off()
        self.field_on = on
        control = self.registers.get(CIU_TX_CONTROL, 0x80)
        self.registers[CIU_TX_CONTROL] = control | 0x03 if on else control & ~0x03

    def _air(self, technology: str, data: bytes) -> bytes | None:
        """One frame to the card in the field, its answer or None (silence)."""
        card = self.field.card
        if card is None or card.technology != technology or not self.field_on:
            return None
        return card.answer(data)

    # -- commands ----------------------------------------------------------------------
    def handle(self, command: int, data: bytes) -> Reply:
        with self._lock:
            self.commands.append(command)
            run = self._COMMANDS.get(command)
            if run is None:
                return Reply(None, COMMAND_DELAY)
            try:
                return run(self, data)
            except IndexError:  # parameters missing: the firmware's syntax error
                return Reply(None, COMMAND_DELAY)

    def _diagnose(self, data: bytes) -> Reply:
        if data[0] == 0x00:  # communication line test: echo
            return Reply(data, COMMAND_DELAY)
        return Reply(b"\x00", COMMAND_DELAY)

    def _firmware(self, data: bytes) -> Reply:
        return Reply(FIRMWARE, COMMAND_DELAY)

    def _general_status(self, data: bytes) -> Reply:
        listed = 1 if self._target else 0
        return Reply(bytes([0x00, int(self.field_on), listed, 0x00]), COMMAND_DELAY)

    def _read_register(self, data: bytes) -> Reply:
        if len(data) % 2:
            return Reply(None, COMMAND_DELAY)
        values = [self.registers.get(data[i] << 8 | data[i + 1], 0) for i in range(0, len(data), 2)]
        return Reply(bytes(values), COMMAND_DELAY)

    def _write_register(self, data: bytes) -> Reply:
        if len(data) % 3:
            return Reply(None, COMMAND_DELAY)
        for i in range(0, len(data), 3):
            self.registers[data[i] << 8 | data[i + 1]] = data[i + 2]
        return Reply(b"", COMMAND_DELAY)

    def _set_serial_baudrate(self, data: bytes) -> Reply:
        if data[0] >= len(BAUDS):
            return Reply(None, COMMAND_DELAY)
        self.pending_baud = BAUDS[data[0]]
        return Reply(b"", COMMAND_DELAY)

    def _nothing(self, data: bytes) -> Reply:  # SetParameters, SAMConfiguration
        return Reply(b"", COMMAND_DELAY)

    def _power_down(self, data: bytes) -> Reply:
        self._field(False)
        self.asleep = True  # the line wakes it (sim.serial_line drops the wake-up bytes)
        return Reply(b"\x00", COMMAND_DELAY)

    def _rf_configuration(self, data: bytes) -> Reply:
        item = data[0]
        if item == 0x01:
            self._field(bool(data[1] & 0x01))
        elif item == 0x02:
            index = data[3]
            self.rf_timeout = 0.0 if index == 0 else 100e-6 * 2 ** (index - 1)
        elif item == 0x05:
            self.activation_retries = data[3]
        return Reply(b"", COMMAND_DELAY)

    def _in_list_passive_target(self, data: bytes) -> Reply:
        max_tg, brty = data[0], data[1]
        technology = BRTY.get(brty)
        if max_tg not in (1, 2) or technology is None:
            return Reply(None, COMMAND_DELAY)
        found = self._activate(technology, data[2:])
        if found is None:
            # MxRtyPassiveActivation = FF retries for ever; nfcpy sets 1 (one retry)
            attempts = 1 + min(self.activation_retries, 0xFE)
            return Reply(b"\x00", attempts * EMPTY_ATTEMPT)
        return Reply(b"\x01\x01" + found, COMMAND_DELAY + 4 * FIELD_SETTLE)

    def _activate(self, technology: str, initiator: bytes) -> bytes | None:
        """One activation attempt: the target data after Tg, or None when nobody answered."""
        self._field(True)
        self._target = None
        framing = FRAMING[technology]
        self.registers[CIU_TX_MODE] = CRC_ON | framing
        self.registers[CIU_RX_MODE] = CRC_ON | framing
        self.registers[CIU_FIFO_DATA] = 0x26 if technology == "106A" else 0x00
        found = {"106A": self._activate_a, "106B": self._activate_b, "212F": self._activate_f}[
            technology
        ](initiator)
        if found is not None:
            self._target = technology
        return found

    def in_auto_poll(self, data: bytes, wait: Callable[[float], bool]) -> Reply | None:
        """InAutoPoll: poll the listed types until a card answers or the pollings are done.
        `wait(seconds)` passes the time between attempts on the line and says True when the
        host aborted the command: then there is no answer (None)."""
        with self._lock:
            self.commands.append(0x60)
        if len(data) < 3 or not 1 <= data[1] <= 0x0F or len(data) > 2 + 15:
            return Reply(None, COMMAND_DELAY)  # PollNr, Period, Type1 .. Type15
        if data[0] == 0 or any(kind not in AUTO_POLL_TYPES for kind in data[2:]):
            return Reply(None, COMMAND_DELAY)
        window = data[1] * AUTO_POLL_UNIT
        pollings: Iterable[int] = itertools.count() if data[0] == AUTO_POLL_ENDLESS else range(data[0])
        for _ in pollings:
            for kind in data[2:]:
                ends = time.monotonic() + window
                while True:
                    found = self._auto_attempt(kind)
                    if found is not None:
                        return Reply(b"\x01" + found, COMMAND_DELAY + 4 * FIELD_SETTLE)
                    left = ends - time.monotonic()
                    if left <= 0:
                        break
                    if wait(min(EMPTY_ATTEMPT, left)):
                        return None
        return Reply(b"\x00", COMMAND_DELAY)

    def _auto_attempt(self, kind: int) -> bytes | None:
        """Type, length and target data (Tg first) of a card of `kind` in the field, or None."""
        technology = AUTO_POLL_TYPES[kind]
        with self._lock:
            found = self._activate(technology, AUTO_POLL_INITIATOR[technology])
            if found is None:
                return None
            answered = kind
            if technology == "106A":
                iso_dep = bool(found[2] & 0x20)  # SEL_RES
                if kind == 0x20 and not iso_dep:
                    self._field(False)  # not the kind asked for: let it go
                    self._target = None
                    return None
                if kind == 0x00:
                    answered = 0x20 if iso_dep else 0x10
            elif kind == 0x01:
                answered = 0x11
            target = b"\x01" + found
            return bytes([answered, len(target)]) + target

    def _activate_a(self, initiator: bytes) -> bytes | None:
        atqa = self._air("106A", b"\x26")  # REQA, left in the CIU FIFO when nobody answers
        if atqa is None or len(atqa) != 2:
            return None
        uid = b""
        for cascade in (0x93, 0x95, 0x97):
            part = self._air("106A", bytes([cascade, 0x20]))
            if part is None or len(part) != 5:
                return None
            sak_frame = self._air("106A", bytes([cascade, 0x70]) + part)
            if sak_frame is None or len(sak_frame) != 1:
                return None
            uid += part[1:4] if part[0] == 0x88 else part[:4]
            if not sak_frame[0] & 0x04:  # UID complete
                self.registers[CIU_FIFO_DATA] = 0x00
                # SENS_RES goes to the host most significant byte first
                return atqa[::-1] + sak_frame + bytes([len(uid)]) + uid
        return None

    def _activate_b(self, initiator: bytes) -> bytes | None:
        afi = initiator[:1] or b"\x00"
        atqb = self._air("106B", b"\x05" + afi + b"\x00")  # REQB
        if atqb is None or len(atqb) != 12:
            return None
        # the firmware sends ATTRIB itself: 64-byte frames, 106 kbps, no DID (nfcpy undoes it)
        attrib = self._air("106B", b"\x1d" + atqb[1:5] + b"\x00\x08\x01\x00")
        if attrib is None:
            return None
        return atqb + bytes([len(attrib)]) + attrib

    def _activate_f(self, initiator: bytes) -> bytes | None:
        if len(initiator) != 5:
            return None
        answer = self._air("212F", bytes([len(initiator) + 1]) + initiator)
        if answer is None or len(answer) < 18:
            return None
        return answer  # POL_RES with its own length byte first

    def _in_exchange(self, payload: bytes) -> Reply:
        """InCommunicateThru's body: the raw frame to the listed target's technology."""
        modes = self.registers.get(CIU_TX_MODE, 0)
        technology = TECHNOLOGY.get(modes & 0x03, self._target or "106A")
        answer = self._air(technology, payload)
        if answer is None:
            return Reply(bytes([STATUS_TIMEOUT]), COMMAND_DELAY + self.rf_timeout)
        if technology == "106A" and len(answer) > 1 and not self.registers.get(CIU_RX_MODE, 0) & CRC_ON:
            answer += crc_a(answer)  # nfcpy checks Type 2 CRCs itself
        return Reply(bytes([STATUS_OK]) + answer, COMMAND_DELAY + 2 * FIELD_SETTLE)

    def _in_communicate_thru(self, data: bytes) -> Reply:
        if not data:
            return Reply(None, COMMAND_DELAY)
        return self._in_exchange(data)

    def _in_data_exchange(self, data: bytes) -> Reply:
        if data[0] & 0x3F != 0x01 or self._target is None:
            return Reply(bytes([0x27]), COMMAND_DELAY)  # no such target in this context
        return self._in_exchange(data[1:])

    def _in_release(self, data: bytes) -> Reply:
        self._target = None
        return Reply(b"\x00", COMMAND_DELAY)

    _COMMANDS: dict[int, Callable[[VirtualPn532, bytes], Reply]] = {
        0x00: _diagnose,
        0x02: _firmware,
        0x04: _general_status,
        0x06: _read_register,
        0x08: _write_register,
        0x10: _set_serial_baudrate,
        0x12: _nothing,
        0x14: _nothing,
        0x16: _power_down,
        0x32: _rf_configuration,
        0x4A: _in_list_passive_target,
        0x40: _in_data_exchange,
        0x42: _in_communicate_thru,
        0x44: _in_release,  # InDeselect
        0x52: _in_release,
    }


def response(command: int, reply: Reply) -> bytes:
    """The frame the chip sends for `reply` to `command`."""
    if reply.data is None:
        return hsu.ERROR
    return hsu.frame(hsu.CHIP, bytes([command + 1]) + reply.data)
