"""A card's own page link: a long random token, only its digest leaves the kiosk. Pure.

The kiosk draws TOKEN_BYTES random bytes at enrolment (the shell draws them: nothing
random here), writes the link on the card and records a `card_link` event carrying the
token's digest; the central keeps that digest only, so neither its database nor its logs
can give the link back.

    >>> token = token_from(bytes(range(32)))
    >>> token, len(link_digest(token))
    ('AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8', 40)
    >>> page_url("https://shop.example/c/", token)
    'https://shop.example/c/AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8'
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import re

from kiosk.core.events import LINK_DIGEST, Change, EventKind
from kiosk.core.outcome import Cooldown, Outcome, ShowLink, Welcome

TOKEN_BYTES = 32  # 256 bits: guessing one among a million live links stays hopeless
TOKEN_LENGTH = 43  # its URL-safe base64 form, without padding
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")


def token_from(raw: bytes) -> str:
    """The token (URL-safe text) for TOKEN_BYTES random bytes."""
    if len(raw) != TOKEN_BYTES:
        raise ValueError(f"a card link token takes {TOKEN_BYTES} random bytes")
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def is_token(text: str) -> bool:
    """Whether `text` has a token's shape (a quick refusal before any lookup)."""
    return bool(_TOKEN.match(text))


def link_digest(token: str) -> str:
    """What is kept of a token: the first LINK_DIGEST hex characters of its SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()[:LINK_DIGEST]


def link_change(token: str) -> Change:
    """The change recorded beside an enrolment that drew `token`."""
    return Change(EventKind.CARD_LINK, 0, link_digest(token))


def page_url(base: str, token: str) -> str:
    """The card's page: the configured base (ending in '/') and the token."""
    return base + token


def with_link(outcome: Outcome, token: str | None) -> Outcome:
    """An enrolment that drew `token` records its digest too; any other outcome is as is."""
    if token is None or not isinstance(outcome, Welcome):
        return outcome
    return dataclasses.replace(outcome, changes=(*outcome.changes, link_change(token)))


def on_second_tap(outcome: Outcome, qr: tuple[tuple[bool, ...], ...] | None) -> Outcome:
    """A tap inside the cooldown shows the card's page as a QR code, when it is known."""
    if qr is None or not isinstance(outcome, Cooldown):
        return outcome
    return ShowLink(card=outcome.card, progress=outcome.progress, until=outcome.until, qr=qr)

