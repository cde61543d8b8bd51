"""One exception root for the kiosk; each error also subclasses the built-in it resembles."""

from __future__ import annotations


class KioskError(Exception):
    """Base class of every error the kiosk raises on purpose."""


class ConfigError(KioskError, ValueError):
    """The configuration is unreadable or a field is wrong; `problems` names each field."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))


class BadUid(KioskError, ValueError):
    """A UID that is not a card UID (not hex, wrong length)."""


class UnknownCard(KioskError, LookupError):
    """A card the kiosk has never seen."""


class StorageError(KioskError, OSError):
    """The ledger cannot be written or read: disk full, read-only, damaged file."""


class SchemaTooNew(StorageError):
    """The ledger was written by a newer kiosk; refusing to touch it."""


class LedgerMismatch(StorageError):
    """The ledger and the site key do not belong together: refusing to start over silently."""


class LedgerDamaged(StorageError):
    """SQLite's quick_check found damage in the ledger file."""


class DisplayUnavailable(KioskError, IOError):
    """The OLED does not answer on its bus."""
