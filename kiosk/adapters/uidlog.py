"""Raw card UIDs out of nfcpy's own log lines.

At DEBUG nfcpy logs what it reads ("found 106A sdd_res=04A1B2C3D4E5F6", "connected to
Type2Tag ID=...", the frames of anticollision and the first pages, which hold the UID
in parts of three and four bytes). A UID must never reach disk: the journal keeps the
log. A filter on each of nfcpy's loggers replaces every run of three or more hex bytes
with its length, so frames and times stay readable while no UID, or part of one, does.

    >>> redact("found 106A sdd_res=04A1B2C3D4E5F6 sel_res=00 sens_res=4400")
    'found 106A sdd_res=<7 bytes> sel_res=00 sens_res=4400'
"""

from __future__ import annotations

import importlib.util
import logging
import pkgutil
import re

# three bytes: anticollision sends a double-size UID in parts of three (CT, uid0-2, BCC)
_HEX_RUN = re.compile(r"\b[0-9A-Fa-f]{6,}\b")
ROOT = "nfc"


def redact(text: str) -> str:
    return _HEX_RUN.sub(lambda found: f"<{len(found.group()) // 2} bytes>", text)


class RedactUids(logging.Filter):
    """Rewrites a record's message with every long hex run replaced by its length."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        hidden = redact(text)
        if hidden != text:
            record.msg, record.args = hidden, None
        return True


def _nfc_logger_names() -> list[str]:
    """The logger of every nfcpy module (each logs as its module name), none imported."""
    spec = importlib.util.find_spec(ROOT)
    if spec is None or spec.submodule_search_locations is None:
        return []
    found = [ROOT]
    walk = [(ROOT, list(spec.submodule_search_locations))]
    while walk:
        prefix, paths = walk.pop()
        for module in pkgutil.iter_modules(paths):
            name = f"{prefix}.{module.name}"
            found.append(name)
            if module.ispkg:
                walk.append((name, [f"{p}/{module.name}" for p in paths]))
    return found


def install() -> int:
    """Put the filter on nfcpy's loggers (a logger's filter sees only its own records, so
    each gets one); returns how many. Safe to call again."""
    names = set(_nfc_logger_names())
    names.update(n for n in logging.Logger.manager.loggerDict if n.startswith(ROOT + "."))
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactUids) for f in logger.filters):
            logger.addFilter(RedactUids())
    return len(names)
