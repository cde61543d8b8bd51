"""The daemon's log: one line per event, `key=value`, for the journal.

Every kiosk module logs through `logging.getLogger(__name__)` with a message that is
itself `event=<what> key=value ...` (a value with spaces is written with `%r`). The
formatter puts the level and the logger in front, quotes the prose of the libraries
(nfcpy, urllib3) as one `message=` value, and writes a traceback on the same line, so
one line is one event:

    level=info logger=kiosk.app event=tap card=3c44dd30 tech=106A outcome=stamped ...
    level=warning logger=nfc.clf message='no reader found on usb'

A card appears only as the first 8 hex digits of its ref, never as a UID or a name.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import TextIO

FORMAT_STYLE = "key=value"


class KeyValueFormatter(logging.Formatter):
    """`level=… logger=… <message>` on one line; prose from libraries quoted as one value."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if not ours(record.name):
            message = f"message={message!r}"
        elif "\n" in message:  # a %s value that spans lines must not start a line of its own
            message = message.replace("\n", "\\n")
        line = f"level={record.levelname.lower()} logger={record.name} {message}"
        if record.exc_info:
            line += f" traceback={self.formatException(record.exc_info)!r}"
        return line


# three bytes: anticollision sends a double-size UID in parts of three (CT, uid0-2, BCC)
_HEX_RUN = re.compile(r"\b[0-9A-Fa-f]{6,}\b")


def redact(text: str) -> str:
    """Every run of three or more hex bytes replaced by its length.

    >>> redact("found 106A sdd_res=04A1B2C3D4E5F6 sel_res=00 sens_res=4400")
    'found 106A sdd_res=<7 bytes> sel_res=00 sens_res=4400'
    """
    return _HEX_RUN.sub(lambda found: f"<{len(found.group()) // 2} bytes>", text)


class RedactUids(logging.Filter):
    """On the journal's handler: nfcpy logs what it reads (UIDs whole, and the frames of
    anticollision and the first pages, which hold a UID in parts) at DEBUG, and a UID must
    never reach disk. Its lines keep their frames and times, with no UID or part of one."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "nfc" or record.name.startswith("nfc."):
            text = record.getMessage()
            hidden = redact(text)
            if hidden != text:
                record.msg, record.args = hidden, None
        return True


def ours(logger_name: str) -> bool:
    """Whether the logger is one of the kiosk's own (their messages are key=value)."""
    return logger_name == "kiosk" or logger_name.startswith("kiosk.")


def configure_logging(level: str = "INFO", stream: TextIO | None = None) -> logging.Handler:
    """One handler on the root logger, writing key=value lines to stderr (the journal)."""
    # No line names the file, line or function that logged it: without the caller's
    # lookup (a walk up the stack for every record) a tap's log line costs half as much.
    # The Logging HOWTO's "Optimization" section names this switch for it.
    logging._srcfile = None
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(KeyValueFormatter())
    handler.addFilter(RedactUids())
    logging.getLogger().addHandler(handler)
    apply_log_level(level)
    return handler


def apply_log_level(level: str) -> None:
    """`[kiosk] log_level` for the whole process. nfcpy's frontend (`nfc.clf`) says
    "searching for reader on path" and "using ..." at INFO on every open, that is on every
    retry while a reader is unplugged; the reader adapter logs going offline and coming
    back once each, so those lines are kept for DEBUG. Below INFO nfcpy logs the frames it
    exchanges, UIDs included: nfcpy never says more than INFO here, whatever the level.
    (Not only "nfc.clf": nfcpy sets "nfc" to INFO itself when it is imported.)"""
    logging.getLogger().setLevel(level)
    debug = level == "DEBUG"
    logging.getLogger("nfc").setLevel(logging.INFO)
    logging.getLogger("nfc.clf").setLevel(logging.INFO if debug else logging.WARNING)
