"""A poll round on a PN53x reader (PN532, PN533, RC-S956) in one chip command per technology.

nfcpy's `sense()` spends seven chip commands on a round of 106A, 106B and 212F with nobody
there (the RF field switched off before and after, a CIU register read after each of
106A and 212F to tell "no card" from "a Type 1 tag"). Over a serial line each command costs
the host a write, two reads and their wake-ups, and that is most of an idle kiosk's CPU.
This lists the targets with InListPassiveTarget alone (three commands) and gives nfcpy's
own `RemoteTarget` for what it found, identity and all; the field is reset only after a
round that found a card, so a selected card answers the next round again.

`auto_poll` leaves the polling to a PN532 itself (InAutoPoll): one command, answered when a
card comes or after the pollings asked for, so the host sleeps on the serial line meanwhile.
The chip gives each technology a window of 150 ms (the command's unit) in turn, so a card
of the technology whose window just ended waits for the others' windows.

Type 1 (Jewel/Topaz) tags are not found this way; the kiosk does not poll for them.
"""

from __future__ import annotations

from typing import Any

from kiosk.adapters.pn53x_line import SerialExchange

# InListPassiveTarget's BrTy and initiator data per technology
LISTING = {
    "106A": (0, b""),
    "106B": (3, b"\x00"),  # AFI 00: every family
    "212F": (1, bytes.fromhex("00ffff0100")),  # SENSF_REQ: any system, ask its system code
}


# InAutoPoll's target types (UM0701 7.3.13), the ones libnfc polls with: "Mifare card" (any
# ISO/IEC 14443 type A card), ISO/IEC 14443-4B, FeliCa at 212 kbps
AUTO_POLL_TYPES = {"106A": 0x10, "106B": 0x03, "212F": 0x11}
AUTO_POLL_TECHNOLOGY = {0x00: "106A", 0x10: "106A", 0x20: "106A", 0x03: "106B", 0x23: "106B",
                        0x01: "212F", 0x11: "212F"}
AUTO_POLL_WINDOW = 0.150  # seconds per technology per polling (Period = 1, the shortest)
AUTO_POLL_MAX = 0xFE  # pollings in one command; 0xFF would be endless


def chipset_of(clf: Any) -> Any | None:
    """The PN53x chipset behind an opened ContactlessFrontend, or None for other readers."""
    from nfc.clf import pn53x

    device = getattr(clf, "device", None)
    return device.chipset if isinstance(device, pn53x.Device) else None


def is_pn532(clf: Any) -> bool:
    """The opened reader is a PN532, the one PN53x with InAutoPoll."""
    from nfc.clf import pn532

    return isinstance(getattr(clf, "device", None), pn532.Device)


def list_targets(chipset: Any, technologies: tuple[str, ...],
                 line: SerialExchange | None = None) -> list[Any]:
    """One round: nfcpy RemoteTargets of the cards found, at most one per technology; the
    commands go through `line` when given (a serial port), else through nfcpy's chipset.
    Malformed answers raise (IndexError, OSError, nfcpy's errors): the reader is then
    reopened."""
    found = []
    for brty in technologies:
        code, initiator = LISTING[brty]
        if line is None:
            answer = chipset.in_list_passive_target(1, code, initiator)
        else:  # NbTg, Tg, target data
            listed = line.command(0x4A, bytes([1, code]) + initiator, timeout=1.0)
            answer = listed[2:] if listed[:1] != b"\x00" else None
        if answer is not None:
            found.append(remote_target(brty, bytes(answer)))
    if found:  # field off: the cards forget their selection
        if line is None:
            chipset.rf_configuration(0x01, b"\x02")
        else:
            line.command(0x32, b"\x01\x02", timeout=0.1)
    return found


def remote_target(brty: str, answer: bytes) -> Any:
    """nfcpy's RemoteTarget from one target's data as InListPassiveTarget and InAutoPoll
    give it (after Tg). Malformed data raise IndexError."""
    from nfc.clf import RemoteTarget

    if brty == "106A":  # SENS_RES (MSB first), SEL_RES, NFCID length, NFCID1
        size = answer[3]
        if len(answer) < 4 + size:
            raise IndexError("short 106A target data")
        return RemoteTarget(brty, sens_res=answer[1::-1][:2], sel_res=answer[2:3],
                            sdd_res=answer[4:4 + size])
    if brty == "106B":  # ATQB (12 bytes), ATTRIB_RES length, ATTRIB_RES
        if len(answer) < 12:
            raise IndexError("short 106B target data")
        return RemoteTarget(brty, sensb_res=answer[:12])
    if len(answer) < 18 or answer[0] > len(answer):  # POL_RES with its length byte first
        raise IndexError("short 212F target data")
    return RemoteTarget(brty, sensf_res=answer[1:answer[0]])


def auto_poll_seconds(technologies: tuple[str, ...], pollings: int) -> float:
    """How long an InAutoPoll of `pollings` over `technologies` lasts with nobody there."""
    return pollings * len(technologies) * AUTO_POLL_WINDOW


def auto_poll(chipset: Any, technologies: tuple[str, ...], pollings: int) -> list[Any]:
    """Let the chip poll `technologies` in turn, `pollings` times (1..254), and wait for its
    answer: the card found (nfcpy RemoteTargets, at most two), or [] when none came.
    Malformed answers raise (IndexError, nfcpy's errors): the reader is then reopened."""
    if not 1 <= pollings <= AUTO_POLL_MAX:
        raise ValueError(f"pollings {pollings} is outside 1..{AUTO_POLL_MAX}")
    command = bytes([pollings, 1]) + bytes(AUTO_POLL_TYPES[brty] for brty in technologies)
    # the chip's own time, plus the line and a margin: a chip that stays silent longer is lost
    answer = chipset.command(0x60, command, timeout=auto_poll_seconds(technologies, pollings) + 0.5)
    found, at = [], 1
    for _ in range(answer[0]):  # NbTg, then per target: Type, length, target data (Tg first)
        kind, size = answer[at], answer[at + 1]
        data = bytes(answer[at + 2:at + 2 + size])
        if len(data) != size or size < 2:
            raise IndexError("short InAutoPoll answer")
        found.append(remote_target(AUTO_POLL_TECHNOLOGY[kind], data[1:]))
        at += 2 + size
    if found:
        chipset.rf_configuration(0x01, b"\x02")  # as after a listing: a fresh field next time
    return found
