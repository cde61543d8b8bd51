"""A poll round on a PN53x reader (PN532, PN533, RC-S956) in one chip command per technology.

nfcpy's `sense()` spends seven chip commands on a round of 106A, 106B and 212F with nobody
there (the RF field switched off before and after, a CIU register read after each of
106A and 212F to tell "no card" from "a Type 1 tag"). Over a serial line each command costs
the host a write, two reads and their wake-ups, and that is most of an idle kiosk's CPU.
This lists the targets with InListPassiveTarget alone (three commands) and gives nfcpy's
own `RemoteTarget` for what it found, identity and all; the field is reset only after a
round that found a card, so a selected card answers the next round again.

Type 1 (Jewel/Topaz) tags are not found this way; the kiosk does not poll for them.
"""

from __future__ import annotations

from typing import Any

# InListPassiveTarget's BrTy and initiator data per technology
LISTING = {
    "106A": (0, b""),
    "106B": (3, b"\x00"),  # AFI 00: every family
    "212F": (1, bytes.fromhex("00ffff0100")),  # SENSF_REQ: any system, ask its system code
}


def chipset_of(clf: Any) -> Any | None:
    """The PN53x chipset behind an opened ContactlessFrontend, or None for other readers."""
    from nfc.clf import pn53x

    device = getattr(clf, "device", None)
    return device.chipset if isinstance(device, pn53x.Device) else None


def list_targets(chipset: Any, technologies: tuple[str, ...]) -> list[Any]:
    """One round: nfcpy RemoteTargets of the cards found, at most one per technology.
    Malformed answers raise (IndexError, nfcpy's errors): the reader is then reopened."""
    from nfc.clf import RemoteTarget

    found = []
    for brty in technologies:
        code, initiator = LISTING[brty]
        answer = chipset.in_list_passive_target(1, code, initiator)
        if answer is None:
            continue
        if brty == "106A":  # SENS_RES (MSB first), SEL_RES, NFCID length, NFCID1
            size = answer[3]
            if len(answer) < 4 + size:
                raise IndexError("short InListPassiveTarget answer")
            found.append(RemoteTarget(brty, sens_res=bytes(answer[1::-1][:2]),
                                      sel_res=bytes(answer[2:3]), sdd_res=bytes(answer[4:4 + size])))
        elif brty == "106B":  # ATQB (12 bytes), ATTRIB_RES length, ATTRIB_RES
            found.append(RemoteTarget(brty, sensb_res=bytes(answer[:12])))
        else:  # POL_RES with its length byte first
            found.append(RemoteTarget(brty, sensf_res=bytes(answer[1:answer[0]])))
    if found:
        chipset.rf_configuration(0x01, b"\x02")  # field off: the cards forget their selection
    return found
