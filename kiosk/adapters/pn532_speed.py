"""Bring a PN532 on a serial line back to 115200 baud, the only speed nfcpy opens it at.

nfcpy raises the line's speed when it opens a PN532 (921600 where the port allows) and sets
it back to 115200 when it closes. A close that failed halfway (the line garbled at that
moment, the process killed) leaves the chip at the high speed, and every later open at
115200 meets a chip that hears noise: the reader stays offline until it is powered off.
This tries the high speeds one by one and asks the chip to return to 115200.

    >>> back_to_115200("/dev/ttyAMA0")   # doctest: +SKIP
    460800
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

SPEEDS = (921600, 460800, 230400)  # the speeds nfcpy's pn532 driver raises the line to
WAKE_UP = bytes(10)  # the preamble nfcpy itself sends: a sleeping chip loses the first bytes
# SetSerialBaudRate(BR=4, 115200): 00 00 FF LEN LCS D4 10 04 DCS 00
SET_115200 = bytes.fromhex("0000ff03fdd4100418" "00")
ACK = bytes.fromhex("0000ff00ff00")
ANSWER = bytes.fromhex("0000ff02fed5111a00")


def back_to_115200(port: str, timeout: float = 0.1) -> int | None:
    """The speed at which the chip answered and agreed to go back to 115200, or None."""
    import serial  # pyserial: nfcpy's own serial transport

    for speed in SPEEDS:
        try:
            with serial.Serial(port, speed, timeout=timeout) as line:
                line.reset_input_buffer()
                line.write(WAKE_UP + SET_115200)
                heard = line.read(len(ACK) + len(ANSWER))
                if heard != ACK + ANSWER:
                    continue
                line.write(ACK)  # the chip changes speed once the host acknowledged
                line.flush()
        except (OSError, ValueError) as error:  # serial.SerialException is an OSError
            log.debug("event=reader_speed port=%s baud=%d error=%r", port, speed, str(error))
            return None
        log.info("event=reader_speed port=%s left_at=%d set_to=115200", port, speed)
        return speed
    return None
