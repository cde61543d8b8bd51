"""A virtual PN532 on its serial line for tests, or one line saying why there is none."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from sim.serial_line import LinkUnavailable, PN532Line

NEEDS = "needs root: nfcpy finds serial ports only under /dev, where the test links its pseudo-terminal"


@contextmanager
def pn532_line() -> Iterator[PN532Line]:
    """A started PN532Line, stopped after; skips the test when /dev is not writable."""
    line = PN532Line()
    try:
        line.start()
    except LinkUnavailable:
        pytest.skip(NEEDS)
    try:
        yield line
    finally:
        line.stop()
