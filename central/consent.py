"""What a customer may agree to, purpose by purpose, and the e-mail address's bounds. Pure.

Each purpose is one column of `customers` (`consent_<purpose>`), false until the customer
ticks it on their card's page; the first name and the birthday are kept only when given
(each with its own box), and the e-mail address only beside at least one e-mail purpose.
"""

from __future__ import annotations

import re
from enum import StrEnum


class Purpose(StrEnum):
    """What the shop may do with a customer's details, each agreed to on its own."""

    # e-mails about the card itself: stamps about to expire, a tier about to be lost
    REMINDERS = "reminders"
    # e-mails with offers: birthday, win-back after a long absence, booster hours
    OFFERS = "offers"
    # the first name shown as the shop's customer of the week
    WEEK = "week"


# the languages a customer may read their messages (and the pages they lead to) in
LANGUAGES = ("fr", "en")

# the purposes that send e-mail: an address is kept only beside one of them
EMAIL_PURPOSES = frozenset({Purpose.REMINDERS, Purpose.OFFERS})


def column(purpose: Purpose) -> str:
    """The customers table's column holding a purpose's consent."""
    return f"consent_{purpose.value}"


MAX_EMAIL = 254  # RFC 5321's longest forward path
# one @, no spaces or control characters, a dot in the domain: what a form can check;
# whether the box exists only a message can tell
_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$")


def email_problem(email: str) -> str | None:
    """Why `email` cannot be kept as an address, or None.

    >>> email_problem("marie@example.fr") is None
    True
    >>> email_problem("marie at example")
    'e-mail: write it as name@example.com'
    """
    if len(email) > MAX_EMAIL:
        return f"e-mail: at most {MAX_EMAIL} characters"
    if not _EMAIL.match(email):
        return "e-mail: write it as name@example.com"
    return None


def normal_email(email: str) -> str:
    """The address as kept: trimmed, its domain in lower case (the local part is the
    mailbox's own business)."""
    local, _, domain = email.strip().rpartition("@")
    return f"{local}@{domain.lower()}"
