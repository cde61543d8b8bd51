"""Bad input on the line: whatever bytes the reader sends, the kiosk's reader keeps running.

Hypothesis rewrites the virtual PN532's next frames (random bytes, bit flips, cuts, and
frames with good checksums around random data, which reach nfcpy's parsing of each answer)
while nfcpy's pn532 driver polls through the reader adapter; after each example the reader
must be polling again, and after all of them a tap must still count."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from sim import hsu
from sim.harness import ReaderRig
from sim.nfc import make_card
from tests.support.kiosk_config import make_config
from tests.support.pn532 import pn532_line


@dataclass(frozen=True)
class Replace:
    data: bytes

    def __call__(self, frame: bytes) -> bytes:
        return self.data


@dataclass(frozen=True)
class Flip:
    at: int
    mask: int

    def __call__(self, frame: bytes) -> bytes:
        i = self.at % len(frame)
        return frame[:i] + bytes([frame[i] ^ self.mask]) + frame[i + 1 :]


@dataclass(frozen=True)
class Cut:
    keep: int

    def __call__(self, frame: bytes) -> bytes:
        return frame[: self.keep % len(frame)]


@dataclass(frozen=True)
class Reframe:
    """The same response code, random data, checksums right: only the content is wrong."""

    data: bytes

    def __call__(self, frame: bytes) -> bytes:
        code = frame[6:7] if len(frame) > 7 and frame[5] == hsu.CHIP else b"\x4b"
        return hsu.frame(hsu.CHIP, code + self.data)


mutations = st.one_of(
    st.binary(max_size=300).map(Replace),
    st.builds(Flip, st.integers(0, 400), st.integers(1, 255)),
    st.builds(Cut, st.integers(0, 400)),
    st.binary(max_size=40).map(Reframe),
)


def test_random_and_mutated_pn532_frames_never_stop_the_reader(tmp_path: Path) -> None:
    with pn532_line() as line:
        reader = {"path": line.path, "poll_interval": 0.02, "retry_initial": 0.05, "retry_max": 1.0}
        section = make_config(tmp_path, reader=reader).reader
        with ReaderRig(section, field=line) as rig:
            assert rig.wait_for(lambda: rig.statuses == [True], timeout=20)

            @settings(max_examples=15, database=None)
            @given(st.lists(mutations, min_size=1, max_size=6))
            def garbled(changes: list[Callable[[bytes], bytes]]) -> None:
                line.tamper(*changes)
                assert line.wait_sent(len(changes), timeout=20)
                assert rig.wait_for(lambda: rig.statuses[-1] is True, timeout=20)
                assert rig.settle(rounds=1)  # a whole clean round: the reader polls again

            garbled()
            # settle counts the chip's commands: the reader may still be reading the answer
            assert rig.wait_for(lambda: rig.reader is not None and rig.reader.online is True)
            rig.field.place(make_card("ntag213", bytes.fromhex("04A1B2C3D4E5F6")))
            assert rig.wait_for(lambda: len(rig.reads) == 1)
