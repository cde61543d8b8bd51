"""The site key file, and opening the ledger only together with the key it belongs to.

The ledger keeps its site key's fingerprint in its meta table; when a ledger is bound, a
small record is left beside it (`ledger.sqlite3.bound`: the ledger's id, the key's
fingerprint, when). `kiosk.core.binding.verdict` judges the three; this module reads
them without changing anything, refuses a pair that disagrees with a message naming the
fix, and only then makes what a first start needs (the key, the ledger, the record).
"""

from __future__ import annotations

import os
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from kiosk.adapters.ledger import Ledger
from kiosk.core.binding import BLANK, Holding, Verdict, fingerprint, verdict
from kiosk.errors import LedgerDamaged, LedgerMismatch, StorageError

SITE_KEY_BYTES = 32
RECORD_SUFFIX = ".bound"
ASIDE = ".set-aside-"  # a ledger `kiosk start-over` moved out of the way: name + this + time


def load_site_key(path: Path, create: bool = True) -> bytes:
    """Read the site key, creating it (mode 0600) when `create` and there is none.

    A damaged key is never silently replaced: every card_ref depends on it.
    """
    key = _read_site_key(path)
    if key is not None:
        return key
    if not create:
        raise StorageError(f"site key {path} is missing")
    return _create_site_key(path)


def _read_site_key(path: Path) -> bytes | None:
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise StorageError(f"site key {path}: {error.strerror}") from None
    if len(key) != SITE_KEY_BYTES:
        raise StorageError(
            f"site key {path} is damaged ({len(key)} bytes, expected {SITE_KEY_BYTES}): "
            "restore it from a backup (`kiosk backup` copies it); a new key would make "
            "every card unknown"
        )
    return key


def write_private(path: Path, data: bytes, replace: bool) -> None:
    """Write `data` whole under a private name, fsync it, then move it into place (mode
    0600): a reader sees no file or the whole file, never half of one. Without `replace`
    an existing file wins (FileExistsError)."""
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        if replace:
            os.replace(draft, path)
        else:
            os.link(draft, path)
    finally:
        draft.unlink(missing_ok=True)


def _create_site_key(path: Path) -> bytes:
    key = secrets.token_bytes(SITE_KEY_BYTES)
    try:
        write_private(path, key, replace=False)
    except FileExistsError:
        return load_site_key(path, create=False)  # another process made it first
    except OSError as error:
        raise StorageError(f"site key {path}: cannot create it: {error.strerror}") from None
    return key


# --- the record left beside a bound ledger -----------------------------------------------


@dataclass(frozen=True)
class Record:
    """What `ledger.sqlite3.bound` says: a ledger was bound here, to which key, when."""

    fingerprint: str
    ledger_id: str
    bound_at: str

    def text(self) -> str:
        return f"ledger_id={self.ledger_id}\nsite_key={self.fingerprint}\nbound_at={self.bound_at}\n"


def record_path(ledger_path: Path) -> Path:
    return ledger_path.with_name(ledger_path.name + RECORD_SUFFIX)


def read_record(ledger_path: Path) -> Record | None:
    """The record beside the ledger; one that cannot be read still says a ledger was here."""
    path = record_path(ledger_path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return None
    except OSError as error:
        raise StorageError(f"{path}: {error.strerror}") from None
    fields = dict(line.partition("=")[::2] for line in text.splitlines())
    return Record(fields.get("site_key", ""), fields.get("ledger_id", "?"), fields.get("bound_at", "?"))


def _blank(path: Path) -> bool:
    """A ledger file that holds nothing at all: missing, or 0 bytes with no WAL beside it."""
    try:
        if path.stat().st_size:
            return False
    except FileNotFoundError:
        return True
    wal = path.with_name(path.name + "-wal")
    return not wal.exists() or wal.stat().st_size == 0


# --- opening the pair ------------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    """The key, the ledger (None: blank, left unopened) and the record, as found."""

    key: bytes | None
    ledger: Ledger | None
    record: Record | None

    @property
    def holding(self) -> Holding:
        return BLANK if self.ledger is None else self.ledger.holding()

    def judge(self) -> Verdict:
        key = None if self.key is None else fingerprint(self.key)
        return verdict(key, self.holding, None if self.record is None else self.record.fingerprint)


def find(key_path: Path, ledger_path: Path, autocheckpoint: bool = True) -> Pair:
    """Read the key, the record and (unless blank) the ledger; create nothing."""
    # read in the reverse order of a first start's writes (key, then the ledger's bind,
    # then the record): a process starting at the same moment that sees one of them
    # also sees those written before it
    record = read_record(ledger_path)
    ledger = None if _blank(ledger_path) else Ledger.open(ledger_path, autocheckpoint=autocheckpoint)
    try:
        key = _read_site_key(key_path)
    except BaseException:
        if ledger is not None:
            ledger.close()
        raise
    return Pair(key, ledger, record)


def open_bound(key_path: Path, ledger_path: Path, *, check: bool, autocheckpoint: bool = True
               ) -> tuple[bytes, Ledger]:
    """The site key and the ledger, only when they belong together (LedgerMismatch
    otherwise, with nothing written); a first start makes the key and binds the ledger.
    `check` runs SQLite's quick_check first (LedgerDamaged when it finds damage)."""
    pair = find(key_path, ledger_path, autocheckpoint)
    ledger = pair.ledger
    try:
        judged = pair.judge()
        if not judged.runs:
            raise LedgerMismatch(refusal(judged, pair, key_path, ledger_path))
        if check and ledger is not None:
            damage = ledger.damage()
            if damage is not None:
                raise LedgerDamaged(damaged(key_path, ledger_path, damage))
        key = pair.key or load_site_key(key_path)
        if ledger is None:
            ledger = Ledger.open(ledger_path, autocheckpoint=autocheckpoint)
        if judged is not Verdict.AGREE or pair.record is None:
            _bind(ledger, key, ledger_path, pair.record)
        return key, ledger
    except BaseException:
        if ledger is not None:
            ledger.close()
        raise


def _bind(ledger: Ledger, key: bytes, ledger_path: Path, record: Record | None) -> None:
    bound, ledger_id = ledger.bind(fingerprint(key), str(uuid.uuid4()))
    if bound != fingerprint(key):  # another process bound another key in between
        raise LedgerMismatch(f"ledger {ledger_path} was just bound to another site key: stop "
                             "every kiosk process and start one")
    if record is None or (record.fingerprint, record.ledger_id) != (bound, ledger_id):
        now = datetime.now(UTC).isoformat(timespec="seconds")
        try:
            write_private(record_path(ledger_path), Record(bound, ledger_id, now).text().encode(),
                           replace=True)
        except OSError as error:
            raise StorageError(f"{record_path(ledger_path)}: cannot write it: {error.strerror}") from None


# --- what the operator reads -------------------------------------------------------------


def _restore(ledger_path: Path, key_path: Path) -> str:
    return (f"To restore: stop the kiosk (sudo systemctl stop kiosk), copy {ledger_path.name} "
            f"and {key_path.name} from your latest `kiosk backup` copy to {ledger_path} and "
            f"{key_path}, then start it")


def _held(ledger: Ledger | None) -> str:
    if ledger is None:
        return "no events"
    return f"events ({ledger.outbox().pending} not yet sent to the central API)"


def refusal(judged: Verdict, pair: Pair, key_path: Path, ledger_path: Path) -> str:
    """Why the kiosk will not run on this pair, how to restore, how to start over."""
    restore = _restore(ledger_path, key_path)
    bound = f" (bound {pair.record.bound_at})" if pair.record else ""
    if judged is Verdict.LEDGER_LOST:
        return (f"ledger {ledger_path} is empty or missing, but a ledger was bound here to site "
                f"key {key_path}{bound}: it was lost or emptied, and its events not yet sent "
                f"to the central API with it; nothing was written. {restore}. To start over on "
                "purpose: `kiosk start-over` (a new empty ledger under the same site key: cards "
                "keep their refs)")
    if judged is Verdict.KEY_MISSING:
        return (f"site key {key_path} is missing, but ledger {ledger_path}{bound} holds "
                f"{_held(pair.ledger)} recorded under it: a new key would make every card "
                f"unknown; nothing was written. {restore}. To start over on purpose: `kiosk "
                "start-over` (sets the ledger aside, makes a new site key: every card starts "
                "again)")
    return (f"ledger {ledger_path}{bound} holds {_held(pair.ledger)} recorded under another "
            f"site key than {key_path}: every card would be unknown; nothing was written. Put "
            f"back the site key that belongs to this ledger; {restore}. To start over on purpose: "
            "`kiosk start-over` (sets the ledger aside, keeps this site key)")


def damaged(key_path: Path, ledger_path: Path, damage: str) -> str:
    return (f"ledger {ledger_path} is damaged (SQLite quick_check: {damage}); nothing was "
            f"written. {_restore(ledger_path, key_path)}. To start "
            "over on purpose: `kiosk start-over` (sets the damaged file aside, begins a new "
            "empty ledger under the same site key)")


@dataclass(frozen=True)
class Health:
    """The ledger as `kiosk doctor` finds it: sound or not, what was found, the fix."""

    sound: bool
    detail: str
    fix: str = ""


def health(key_path: Path, ledger_path: Path) -> Health:
    """Judge the pair and quick_check the ledger, creating nothing (a first start makes them)."""
    try:
        pair = find(key_path, ledger_path)
    except StorageError as error:
        return Health(False, "cannot be opened", str(error))
    try:
        return _judged(pair, key_path, ledger_path)
    except StorageError as error:  # a damaged file can fail the very first query
        return Health(False, "cannot be read", str(error))
    finally:
        if pair.ledger is not None:
            pair.ledger.close()


def _judged(pair: Pair, key_path: Path, ledger_path: Path) -> Health:
    judged = pair.judge()
    if not judged.runs:
        return Health(False, "the ledger and the site key do not belong together",
                      refusal(judged, pair, key_path, ledger_path))
    if pair.ledger is None:
        return Health(True, f"no ledger yet at {ledger_path}: the first start makes it")
    damage = pair.ledger.damage()
    if damage is not None:
        return Health(False, f"{ledger_path} is damaged (quick_check)",
                      damaged(key_path, ledger_path, damage))
    return Health(True, f"{ledger_path} passes quick_check; it holds {_held(pair.ledger)}")


def start_over(key_path: Path, ledger_path: Path, now: datetime) -> list[str]:
    """Set aside (rename, never delete) a ledger that disagrees with the key, is damaged
    or cannot be opened, with its WAL and record; then bind a new empty one, making a key
    if none. Refused when the pair is sound. Returns what was done."""
    made_key = _read_site_key(key_path) is None  # a damaged key is restored, never replaced
    if health(key_path, ledger_path).sound:
        raise StorageError(f"ledger {ledger_path} and site key {key_path} belong together and "
                           "the ledger is sound: nothing to start over (to retire this kiosk's "
                           "data, stop it and move both files away by hand)")
    done = []
    aside = ledger_path.with_name(f"{ledger_path.name}{ASIDE}{now:%Y%m%dT%H%M%SZ}")
    for name in ("", "-wal", "-shm", RECORD_SUFFIX):
        source = ledger_path.with_name(ledger_path.name + name)
        if source.exists():
            target = Path(f"{aside}{name}")
            source.rename(target)
            done.append(f"set aside {source} as {target}")
    _key, ledger = open_bound(key_path, ledger_path, check=False)
    ledger.close()
    done.append(f"made a new site key {key_path}: every card starts again" if made_key
                else f"kept site key {key_path}: cards keep their refs")
    done.append(f"began a new empty ledger {ledger_path}")
    return done
