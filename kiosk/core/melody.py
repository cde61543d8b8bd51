"""Buzzer melodies as config text: "C6:0.12 E6:0.12 R:0.05 G6:0.3". Pure.

    >>> parse_melody("C6:0.12 R:0.05 A#4:0.2")
    (Note(pitch='C6', seconds=0.12), Note(pitch=None, seconds=0.05), Note(pitch='A#4', seconds=0.2))
"""

from __future__ import annotations

import re
from typing import NamedTuple

_NOTE = re.compile(r"^(?P<name>[A-G])(?P<sharp>#?)(?P<octave>[0-9])$")
_SEMITONES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
# what a TonalBuzzer with mid_tone A5 and 2 octaves can play (MIDI A3..A7)
LOWEST, HIGHEST = 57, 105
MAX_NOTE_SECONDS = 2.0
MAX_MELODY_SECONDS = 6.0


class Note(NamedTuple):
    pitch: str | None  # None: a rest
    seconds: float


def midi(pitch: str) -> int:
    """MIDI number of a note name such as "A4" (69) or "C#6"."""
    match = _NOTE.match(pitch)
    if match is None:
        raise ValueError(f"{pitch!r} is not a note (e.g. C6, A#4)")
    semitone = _SEMITONES[match["name"]] + (1 if match["sharp"] else 0)
    return 12 * (int(match["octave"]) + 1) + semitone


def parse_melody(text: str) -> tuple[Note, ...]:
    """Notes of a melody string; raises ValueError naming the first bad item."""
    notes = []
    for item in text.split():
        pitch, sep, seconds_text = item.partition(":")
        try:
            seconds = float(seconds_text)
        except ValueError:
            raise ValueError(f"{item!r}: expected NOTE:SECONDS, e.g. C6:0.12") from None
        if not sep or not 0 < seconds <= MAX_NOTE_SECONDS:
            raise ValueError(f"{item!r}: a note lasts between 0 and {MAX_NOTE_SECONDS} s")
        if pitch.upper() == "R":
            notes.append(Note(None, seconds))
            continue
        if not LOWEST <= midi(pitch) <= HIGHEST:
            raise ValueError(f"{item!r}: the buzzer plays A3 to A7")
        notes.append(Note(pitch, seconds))
    if sum(n.seconds for n in notes) > MAX_MELODY_SECONDS:
        raise ValueError(f"a melody lasts at most {MAX_MELODY_SECONDS} s")
    return tuple(notes)
