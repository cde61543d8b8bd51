"""`kiosk backup DEST`: a copy of the ledger and the site key that a kiosk can be restored
from, taken while the daemon runs.

The ledger is copied with SQLite's online backup API (one consistent moment; taps go on
meanwhile), checked (quick_check, its events counted), made a single self-contained file
(rollback journal: no WAL beside it to forget), synced to disk, and only then put in
place of an older copy. The site key goes with it: a ledger is useless without its key.
Both are mode 0600 in a 0700 directory, since the key links card UIDs to their history.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from kiosk.adapters.ledger import Ledger
from kiosk.adapters.ledger_base import FINGERPRINT
from kiosk.adapters.ledger_binding import open_bound, write_private
from kiosk.adapters.ledger_tables import storage_error
from kiosk.core.binding import fingerprint
from kiosk.errors import StorageError


@dataclass(frozen=True)
class Backup:
    """What a backup holds, and where."""

    ledger: Path
    site_key: Path
    events: int
    pending: int


def backup(key_path: Path, ledger_path: Path, dest: Path) -> Backup:
    """Copy the ledger and its site key into the directory `dest` (made if missing).

    Refused, like every command, when the ledger and the key do not belong together."""
    live = {ledger_path.parent.resolve(), key_path.parent.resolve()}
    if dest.resolve() in live:  # the copy would replace the very files it copies
        raise StorageError(f"backup {dest} is where the kiosk keeps its ledger or site key: "
                           "name another directory (best on another disk)")
    key, ledger = open_bound(key_path, ledger_path, check=False)
    try:
        _private_dir(dest)
        copy = dest / ledger_path.name
        draft = dest / f".{ledger_path.name}.{os.getpid()}.partial"
        draft.unlink(missing_ok=True)
        os.close(os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        try:
            events, pending = _copy_checked(ledger, draft, fingerprint(key))
            os.replace(draft, copy)
        finally:
            draft.unlink(missing_ok=True)
        write_private(dest / key_path.name, key, replace=True)
        _sync_dir(dest)
    finally:
        ledger.close()
    return Backup(copy, dest / key_path.name, events, pending)


def _private_dir(dest: Path) -> None:
    try:
        dest.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as error:
        raise StorageError(f"backup {dest}: cannot make the directory: {error.strerror}") from None
    if not dest.is_dir():
        raise StorageError(f"backup {dest} is not a directory: name a directory to copy into")


def _copy_checked(ledger: Ledger, draft: Path, key_print: str) -> tuple[int, int]:
    target = sqlite3.connect(draft, isolation_level=None)
    try:
        ledger.copy_to(target)
        # one file that opens on its own; the kiosk turns WAL back on when it opens it
        target.execute("PRAGMA journal_mode=DELETE")
        found = [str(r[0]) for r in target.execute("PRAGMA quick_check(3)")]
        if found != ["ok"]:
            raise StorageError(f"backup: the copy fails SQLite's quick_check ({'; '.join(found)}): "
                               "run `kiosk doctor`; the ledger itself may be damaged")
        row = target.execute("SELECT value FROM meta WHERE key = ?", (FINGERPRINT,)).fetchone()
        if row is None or row[0] != key_print:
            raise StorageError("backup: the copy is not bound to the site key: retry the backup")
        events, pending = target.execute(
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE synced_at IS NULL AND rejected_reason IS NULL) "
            "FROM events"
        ).fetchone()
    except sqlite3.Error as error:
        raise storage_error(error, draft) from None
    finally:
        target.close()
    with open(draft, "rb") as written:
        os.fsync(written.fileno())
    return int(events), int(pending)


def _sync_dir(path: Path) -> None:
    """The renames into `path` survive a power cut once its directory entry is synced."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
