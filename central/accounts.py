"""Dashboard accounts: owners and shop managers, their passwords, sessions and throttling.

An owner sees every shop of the organisation; a manager one shop. Passwords are kept as
Argon2id hashes (argon2-cffi). Signing in gives a session: a random secret in the
browser's cookie, only its SHA-256 here, with the session's own form token (CSRF) and its
end. Failed sign-ins are counted per account and per client address; past the limit, the
next try is refused with how long to wait, before any password is checked.

Every function takes `now`: the rules (`throttle_wait`, `session_end`) are pure, the
rest reads and writes the database.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from central.db import Database, accounts, login_failures, reading, sessions, writing
from central.ingest import iso

ROLES = ("owner", "manager")
# bounds of what a person types (one source: the CLI, the pages and the tests read these)
MIN_PASSWORD = 10
MAX_PASSWORD = 256
MAX_EMAIL = 254
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
# throttling: this many failures within WINDOW stop further tries until WINDOW has passed
# since the first of them
ACCOUNT_FAILURES = 5
ADDRESS_FAILURES = 20
WINDOW = timedelta(minutes=15)
# a session ends SESSION_IDLE after its last use, and SESSION_MAX after it began at most
SESSION_IDLE = timedelta(hours=12)
SESSION_MAX = timedelta(days=7)

_hasher = PasswordHasher()  # argon2-cffi's defaults: Argon2id, RFC 9106's low-memory profile
# verified when the email is unknown, so an unknown email takes as long as a wrong password
_UNKNOWN = _hasher.hash(secrets.token_hex(16))


class AccountError(ValueError):
    """A request about accounts that is refused; the message names the fix."""


class Throttled(Exception):
    """Too many failed sign-ins: `minutes` to wait."""

    def __init__(self, minutes: int) -> None:
        super().__init__(f"too many attempts, wait {minutes} minutes")
        self.minutes = minutes


@dataclass(frozen=True)
class Account:
    """Who a live session belongs to; `csrf` is that session's form token."""

    id: int
    email: str
    role: str  # owner | manager
    org_id: int
    shop_id: int | None  # a manager's one shop; None for an owner (all shops)
    csrf: str

    @property
    def is_owner(self) -> bool:
        return self.role == "owner"

    def may_see_shop(self, shop_id: int) -> bool:
        """A shop of the account's organisation (the caller checked that): every one for an
        owner, only their own for a manager."""
        return self.is_owner or self.shop_id == shop_id


# --- the rules (pure) ---------------------------------------------------------------------


def normal_email(text: str) -> str:
    """An account's email as stored (trimmed, lower case); AccountError when it is none."""
    email = text.strip().lower()
    if len(email) > MAX_EMAIL or not EMAIL.match(email):
        raise AccountError(f"{text[:80]!r} is not an email address (name@example.org)")
    return email


def password_problem(password: str) -> str | None:
    """Why a new password is refused, or None."""
    if len(password) < MIN_PASSWORD:
        return f"the password needs at least {MIN_PASSWORD} characters"
    if len(password) > MAX_PASSWORD:
        return f"the password has more than {MAX_PASSWORD} characters"
    return None


def throttle_wait(failures: int, first_at: datetime, limit: int, now: datetime) -> int:
    """Whole minutes to wait before the next try (0: go ahead)."""
    if failures < limit:
        return 0
    left = first_at + WINDOW - now
    if left <= timedelta(0):
        return 0
    return max(1, -(-int(left.total_seconds()) // 60))


def session_end(created_at: datetime, now: datetime) -> datetime:
    """When a session used at `now` ends, unless used again."""
    return min(now + SESSION_IDLE, created_at + SESSION_MAX)


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# --- accounts -----------------------------------------------------------------------------


def add_account(db: Database, email: str, password: str, role: str, org_id: int,
                shop_id: int | None, now: datetime) -> int:
    """A new owner (shop_id None) or manager of one shop; returns its id."""
    email = normal_email(email)
    if role not in ROLES:
        raise AccountError(f"role {role!r}: use owner or manager")
    if (role == "manager") != (shop_id is not None):
        raise AccountError("a manager has one shop, an owner none")
    problem = password_problem(password)
    if problem:
        raise AccountError(problem)
    hashed = _hasher.hash(password)
    with writing(db) as conn:
        if conn.execute(select(accounts.c.id).where(accounts.c.email == email)).first():
            raise AccountError(f"an account {email} already exists")
        done = conn.execute(insert(accounts).values(
            email=email, password_hash=hashed, role=role, org_id=org_id, shop_id=shop_id,
            created_at=iso(now), password_changed_at=iso(now)))
        key = done.inserted_primary_key
        if key is None:  # every dialect here returns it; a clear error if one ever does not
            raise AccountError(f"the account {email} was not given an id")
        return int(key[0])


def list_accounts(db: Database, org_id: int) -> list[dict[str, Any]]:
    with reading(db) as conn:
        rows = conn.execute(select(accounts.c.email, accounts.c.role, accounts.c.shop_id)
                            .where(accounts.c.org_id == org_id).order_by(accounts.c.email))
        return [dict(row._mapping) for row in rows]


def _verified(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _UNKNOWN, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


# --- signing in and out ---------------------------------------------------------------------


def sign_in(db: Database, email: str, password: str, address: str, now: datetime) -> str | None:
    """A new session's secret (for the cookie), or None for a wrong email or password.

    Raises Throttled, without checking the password, when the account or the address
    failed too often lately. A success clears the account's failures."""
    try:
        email = normal_email(email)
    except AccountError:
        email = email.strip().lower()[:MAX_EMAIL]
    keys = {f"account:{email}": ACCOUNT_FAILURES, f"address:{address[:200]}": ADDRESS_FAILURES}
    with reading(db) as conn:
        waits = [_wait(conn, key, limit, now) for key, limit in keys.items()]
        row = conn.execute(select(accounts.c.id, accounts.c.password_hash)
                           .where(accounts.c.email == email)).first()
    if max(waits):
        raise Throttled(max(waits))
    if not _verified(row.password_hash if row else None, password) or row is None:
        with writing(db) as conn:
            for key in keys:
                _fail(conn, key, now)
        return None
    secret = secrets.token_urlsafe(32)
    with writing(db) as conn:
        conn.execute(delete(login_failures).where(login_failures.c.key == f"account:{email}"))
        conn.execute(delete(sessions).where(sessions.c.expires_at < iso(now)))
        conn.execute(insert(sessions).values(
            id_sha256=_sha256(secret), account_id=row.id, csrf=secrets.token_urlsafe(24),
            created_at=iso(now), expires_at=iso(session_end(now, now))))
        if _hasher.check_needs_rehash(row.password_hash):
            conn.execute(update(accounts).where(accounts.c.id == row.id)
                         .values(password_hash=_hasher.hash(password)))
    return secret


def _wait(conn: Connection, key: str, limit: int, now: datetime) -> int:
    row = conn.execute(select(login_failures).where(login_failures.c.key == key)).first()
    if row is None:
        return 0
    return throttle_wait(row.failures, datetime.fromisoformat(row.first_at), limit, now)


def _fail(conn: Connection, key: str, now: datetime) -> None:
    row = conn.execute(select(login_failures).where(login_failures.c.key == key)).first()
    if row is None:
        conn.execute(insert(login_failures).values(key=key, failures=1, first_at=iso(now)))
    elif datetime.fromisoformat(row.first_at) + WINDOW <= now:  # a new window begins
        conn.execute(update(login_failures).where(login_failures.c.key == key)
                     .values(failures=1, first_at=iso(now)))
    else:
        conn.execute(update(login_failures).where(login_failures.c.key == key)
                     .values(failures=login_failures.c.failures + 1))


def session_account(db: Database, secret: str, now: datetime) -> Account | None:
    """The account a live session secret belongs to (its end pushed back), else None."""
    if not secret or len(secret) > 100:
        return None
    digest = _sha256(secret)
    with reading(db) as conn:
        row = conn.execute(
            select(sessions.c.id_sha256, sessions.c.csrf, sessions.c.created_at,
                   sessions.c.expires_at, accounts.c.id, accounts.c.email, accounts.c.role,
                   accounts.c.org_id, accounts.c.shop_id)
            .join(accounts, accounts.c.id == sessions.c.account_id)
            .where(sessions.c.id_sha256 == digest)).first()
    if row is None or not hmac.compare_digest(row.id_sha256, digest):
        return None
    if datetime.fromisoformat(row.expires_at) <= now:
        return None
    end = session_end(datetime.fromisoformat(row.created_at), now)
    # written at most once a minute per session: a page view is not a write
    if end - datetime.fromisoformat(row.expires_at) > timedelta(minutes=1):
        with writing(db) as conn:
            conn.execute(update(sessions).where(sessions.c.id_sha256 == digest)
                         .values(expires_at=iso(end)))
    return Account(row.id, row.email, row.role, row.org_id, row.shop_id, row.csrf)


def sign_out(db: Database, secret: str) -> None:
    with writing(db) as conn:
        conn.execute(delete(sessions).where(sessions.c.id_sha256 == _sha256(secret)))


def change_password(db: Database, account: Account, current: str, new: str, keep: str,
                    now: datetime) -> None:
    """Replace the password (the current one must be right); every other session of the
    account ends, the one whose secret is `keep` stays."""
    with reading(db) as conn:
        stored = conn.execute(select(accounts.c.password_hash)
                              .where(accounts.c.id == account.id)).scalar_one()
    if not _verified(stored, current):
        raise AccountError("the current password is not right")
    problem = password_problem(new)
    if problem:
        raise AccountError(problem)
    with writing(db) as conn:
        conn.execute(update(accounts).where(accounts.c.id == account.id).values(
            password_hash=_hasher.hash(new), password_changed_at=iso(now)))
        conn.execute(delete(sessions).where(sessions.c.account_id == account.id,
                                            sessions.c.id_sha256 != _sha256(keep)))


def set_password(db: Database, email: str, password: str, now: datetime) -> None:
    """The operator's reset (`kiosk-central set-password`): every session of the account ends."""
    email = normal_email(email)
    problem = password_problem(password)
    if problem:
        raise AccountError(problem)
    with writing(db) as conn:
        found = conn.execute(select(accounts.c.id).where(accounts.c.email == email)).first()
        if found is None:
            raise AccountError(f"no account {email}")
        conn.execute(update(accounts).where(accounts.c.id == found.id).values(
            password_hash=_hasher.hash(password), password_changed_at=iso(now)))
        conn.execute(delete(sessions).where(sessions.c.account_id == found.id))
        conn.execute(delete(login_failures).where(login_failures.c.key == f"account:{email}"))
