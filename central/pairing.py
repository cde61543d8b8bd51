"""Pairing a kiosk with a short one-time code instead of copying a token and a key by hand.

`kiosk-central add-kiosk ID --shop S` (or `pair-code ID` for a kiosk already added)
prints a code of CODE_LENGTH characters from an alphabet without look-alikes (no 0/O,
1/I/L, U/V). Only its hash is stored; it pairs once, within CODE_LIFETIME. The kiosk
sends it (`kiosk pair URL CODE`) and receives a new token for itself and its
organisation's site key, so every kiosk of the organisation names a card alike.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select, update

from central.db import Database, kiosks, organisations, pairing_codes, shops, writing
from central.ingest import iso
from central.orgs import StoreError, token_sha256

ALPHABET = "23456789ABCDEFGHJKMNPQRSTWXYZ"  # no 0/O, 1/I/L, U/V: read aloud and typed
CODE_LENGTH = 10  # 29**10 codes: guessing one within its day, at the pairing rate, is hopeless
CODE_LIFETIME = timedelta(hours=24)


class PairingRefused(Exception):
    """A code that pairs nothing: unknown, used or expired; the message says which."""


@dataclass(frozen=True)
class Paired:
    """What a kiosk receives for its code."""

    kiosk_id: str
    token: str
    site_key: str  # hex
    shop: str

    def to_dict(self) -> dict[str, str]:
        return {"kiosk_id": self.kiosk_id, "token": self.token, "site_key": self.site_key,
                "shop": self.shop}


def normal(code: str) -> str | None:
    """The code as stored: capitals, no dashes or spaces; None when it cannot be a code."""
    plain = code.upper().replace("-", "").replace(" ", "")
    if len(plain) != CODE_LENGTH or any(ch not in ALPHABET for ch in plain):
        return None
    return plain


def shown(code: str) -> str:
    """ABCDE-FGHJK: two halves are easier to read out and type."""
    half = CODE_LENGTH // 2
    return f"{code[:half]}-{code[half:]}"


def add_kiosk(db: Database, kiosk_id: str, now: datetime, *, shop: str | None = None,
              org: str | None = None) -> str:
    """Register a kiosk in a shop, to be paired; returns its pairing code (shown once)."""
    from central.orgs import add_kiosk as register

    register(db, kiosk_id, now, shop=shop, org=org)  # its token is replaced at pairing
    return issue(db, kiosk_id, now)


def issue(db: Database, kiosk_id: str, now: datetime) -> str:
    """A new pairing code for a live kiosk (any older unused one stops working)."""
    code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    with writing(db) as conn:
        live = conn.execute(select(kiosks.c.id).where(kiosks.c.id == kiosk_id,
                                                      kiosks.c.revoked_at.is_(None))).first()
        if live is None:
            raise StoreError(f"no live kiosk named {kiosk_id!r} (kiosk-central add-kiosk)")
        conn.execute(delete(pairing_codes).where(pairing_codes.c.kiosk_id == kiosk_id))
        conn.execute(insert(pairing_codes).values(
            code_sha256=token_sha256(code), kiosk_id=kiosk_id, created_at=iso(now),
            expires_at=iso(now + CODE_LIFETIME), used_at=None))
    return shown(code)


def redeem(db: Database, code: str, now: datetime) -> Paired:
    """Pair the kiosk a code names: a new token for it, and its organisation's site key.
    PairingRefused (nothing changed) for a code that pairs nothing."""
    plain = normal(code)
    if plain is None:
        raise PairingRefused(f"a pairing code is {CODE_LENGTH} letters and digits "
                             "(like ABCDE-FGHJK): check what was typed")
    with writing(db) as conn:
        row = conn.execute(
            select(pairing_codes, shops.c.name.label("shop"), organisations.c.site_key)
            .join(kiosks, kiosks.c.id == pairing_codes.c.kiosk_id)
            .join(shops, shops.c.id == kiosks.c.shop_id)
            .join(organisations, organisations.c.id == shops.c.org_id)
            .where(pairing_codes.c.code_sha256 == token_sha256(plain),
                   kiosks.c.revoked_at.is_(None))
        ).first()
        if row is None:
            raise PairingRefused("unknown pairing code: check it, or ask for a new one "
                                 "(kiosk-central pair-code KIOSK)")
        if row.used_at is not None:
            raise PairingRefused("this pairing code was used already: ask for a new one "
                                 "(kiosk-central pair-code KIOSK)")
        if row.expires_at <= iso(now):
            raise PairingRefused("this pairing code has expired (a code lasts 24 hours): ask "
                                 "for a new one (kiosk-central pair-code KIOSK)")
        if row.site_key is None:
            raise PairingRefused(
                "the organisation has no site key yet: on the server, import the one the "
                "kiosks already use (kiosk-central set-site-key FILE), then pair again")
        token = secrets.token_urlsafe(32)
        taken = conn.execute(update(pairing_codes).where(
            pairing_codes.c.code_sha256 == row.code_sha256, pairing_codes.c.used_at.is_(None)
        ).values(used_at=iso(now)))
        if taken.rowcount != 1:  # another request took it meanwhile
            raise PairingRefused("this pairing code was used already: ask for a new one "
                                 "(kiosk-central pair-code KIOSK)")
        conn.execute(update(kiosks).where(kiosks.c.id == row.kiosk_id)
                     .values(token_sha256=token_sha256(token)))
    return Paired(str(row.kiosk_id), token, str(row.site_key), str(row.shop))


def set_site_key(db: Database, key: bytes, *, org: str | None = None) -> None:
    """Give an organisation the site key its kiosks already use (a database from before
    organisations); a key once set is never replaced: every card ref depends on it."""
    from central.orgs import SITE_KEY_BYTES, org_id

    if len(key) != SITE_KEY_BYTES:
        raise StoreError(f"a site key is {SITE_KEY_BYTES} bytes, this file holds {len(key)}: "
                         "give the kiosk's site.key itself")
    with writing(db) as conn:
        owner = org_id(conn, org)
        held = conn.execute(select(organisations.c.site_key)
                            .where(organisations.c.id == owner)).scalar()
        if held is not None and held != key.hex():
            raise StoreError("the organisation has another site key already; it is never "
                             "replaced (every card ref depends on it)")
        conn.execute(update(organisations).where(organisations.c.id == owner)
                     .values(site_key=key.hex()))

