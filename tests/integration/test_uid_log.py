"""At log_level DEBUG nfcpy's own loggers say what they read: no UID may reach the log."""

from __future__ import annotations

import io
import logging
from pathlib import Path

from kiosk.logs import apply_log_level, configure_logging
from sim.harness import ReaderRig
from sim.nfc import make_card
from tests.support import make_config

NTAG = "04A1B2C3D4E5F6"
CLASSIC = "5A6B7C8D"


def fragments(uid: str) -> list[str]:
    """Every three-byte run of the UID, as nfcpy may print it (frames split a UID)."""
    text = uid.lower()
    return [text[i:i + 6] for i in range(0, len(text) - 4, 2)]


def test_nfcpys_debug_lines_carry_no_uid_nor_part_of_one(tmp_path: Path):
    journal = io.StringIO()
    handler = configure_logging("DEBUG", journal)  # the daemon's own handler and its filter
    for name in ("nfc", "nfc.clf"):  # below INFO nfcpy logs the frames it exchanges
        logging.getLogger(name).setLevel(logging.DEBUG)
    section = make_config(tmp_path, reader={"poll_interval": 0.02, "retry_initial": 0.05}).reader
    with ReaderRig(section) as rig:
        assert rig.wait_for(lambda: rig.statuses == [True])
        rig.field.place(make_card("ntag213", bytes.fromhex(NTAG)))
        assert rig.wait_for(lambda: len(rig.reads) == 1)
        rig.field.remove()
        rig.field.place(make_card("mifare-classic-1k", bytes.fromhex(CLASSIC)))
        assert rig.wait_for(lambda: len(rig.reads) == 2)
    logging.getLogger().removeHandler(handler)
    apply_log_level("INFO")
    lines = [line.lower() for line in journal.getvalue().splitlines() if "logger=nfc" in line]
    assert any("sdd_res=<7 bytes>" in line for line in lines)  # nfcpy did log the reads
    leaks = [line for line in lines for part in fragments(NTAG) + fragments(CLASSIC) if part in line]
    assert leaks == []
