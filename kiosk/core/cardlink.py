"""A card's own page link: a long random token, only its digest leaves the kiosk. Pure.

The kiosk draws TOKEN_BYTES random bytes at enrolment (the shell draws them: nothing
random here), writes the link on the card and records a `card_link` event carrying the
token's digest; the central keeps that digest only, so neither its database nor its logs
can give the link back.

A card already enrolled gets a new link (`draws_link`) when its links were revoked (the
next tap, at any kiosk), or on a second tap inside the cooldown at a kiosk that holds no
link for it, at most once per REISSUE_AFTER: the new link replaces the old one at the
central, and the central opens the customer's details only on a first link (see
central.links). A replaced card never gets one.

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
from datetime import datetime, timedelta

from kiosk.core.events import LINK_DIGEST, Change, EventKind
from kiosk.core.outcome import Blocked, CardOutcome, Cooldown, Outcome, ShowLink, Welcome

TOKEN_BYTES = 32  # 256 bits: guessing one among a million live links stays hopeless
TOKEN_LENGTH = 43  # its URL-safe base64 form, without padding
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")
# a card's link is drawn anew on a second tap at most this often (a copied UID gets at most
# one new link a week; the central refuses a replacement sooner, whichever kiosk asks)
REISSUE_AFTER = timedelta(days=7)


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


def draws_link(outcome: Outcome, now: datetime, known: bool) -> bool:
    """Whether the tap that decided `outcome` draws a new page link for its card; `known`:
    this kiosk holds the card's link already (it drew it lately).

    >>> from kiosk.core.events import CardState
    >>> from kiosk.core.rules import progress
    >>> from kiosk.core.program import Program
    >>> card = CardState(card_ref="ab" * 32, enrolled=True, links=1, links_revoked=1)
    >>> t = datetime(2026, 3, 2)
    >>> draws_link(Cooldown(card=card, progress=progress(Program(), card, t), until=t), t, True)
    True
    """
    if isinstance(outcome, Welcome):
        return True
    if not isinstance(outcome, CardOutcome) or isinstance(outcome, Blocked):
        return False
    card = outcome.card
    if card.blocked or not card.enrolled:
        return False
    if card.link_due:
        return True
    last = card.link_at
    return (isinstance(outcome, Cooldown) and not known
            and (last is None or now - last >= REISSUE_AFTER))


def with_link(outcome: Outcome, token: str | None) -> Outcome:
    """A tap that drew `token` records its digest too; without a token, the outcome as is."""
    if token is None or not isinstance(outcome, CardOutcome):
        return outcome
    return dataclasses.replace(outcome, changes=(*outcome.changes, link_change(token)))


def on_second_tap(outcome: Outcome, qr: tuple[tuple[bool, ...], ...] | None,
                  fresh: bool = False) -> Outcome:
    """A tap inside the cooldown shows the card's page as a QR code, when it is known;
    `fresh`: the link was drawn at this tap (its change stays with the outcome)."""
    if qr is None or not isinstance(outcome, Cooldown):
        return outcome
    return ShowLink(card=outcome.card, progress=outcome.progress, until=outcome.until, qr=qr,
                    changes=outcome.changes, fresh=fresh)

