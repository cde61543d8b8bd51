"""A virtual PN532 on its serial line for tests, or one line saying why there is none."""

from __future__ import annotations

import os
import termios
import tty
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


@contextmanager
def host_port(line: PN532Line) -> Iterator[int]:
    """The host's end of `line` opened raw at 115200 baud, as a driver opens a UART."""
    fd = os.open(line.device, os.O_RDWR | os.O_NOCTTY)
    try:
        tty.setraw(fd)
        attributes = termios.tcgetattr(fd)
        attributes[4] = attributes[5] = termios.B115200
        termios.tcsetattr(fd, termios.TCSANOW, attributes)
        yield fd
    finally:
        os.close(fd)
