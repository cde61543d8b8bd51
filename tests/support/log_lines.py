"""What a line of the kiosk's log looks like (kiosk.logs): `level=… logger=… key=value …`,
a value being one word or a quoted repr."""

from __future__ import annotations

import re

KEY_VALUE_LINE = re.compile(
    r"""^level=[a-z]+ logger=[\w.]+( [a-z_]+=('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^\s'"]+))+$"""
)


def uid_spellings(uid: bytes) -> list[str]:
    """Every way a log line could spell a UID: hex either case, with or without separators."""
    plain = uid.hex()
    pairs = [plain[i:i + 2] for i in range(0, len(plain), 2)]
    spelled = [plain, ":".join(pairs), " ".join(pairs), "-".join(pairs)]
    return [form for text in spelled for form in (text, text.upper())]
