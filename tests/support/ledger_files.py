"""A kiosk's state files as an operator finds them: a config file naming a state
directory, a ledger with events, and a page of that ledger damaged in place."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from kiosk import config as config_module
from kiosk.config import Config


def config_file(root: Path, state: str = "state") -> tuple[Path, Config]:
    """A config file for a kiosk whose state lives in `root`/`state`, and its Config."""
    path = root / f"{state}.toml"
    path.write_text(f'[kiosk]\nstate_dir = "{root / state}"\nlocale = "en"\n')
    return path, config_module.load(str(path))


def event_ids(ledger_path: Path) -> list[str]:
    """Every event id in a ledger file, in the order recorded (read straight from SQLite)."""
    with sqlite3.connect(ledger_path) as db:
        return [str(r[0]) for r in db.execute("SELECT id FROM events ORDER BY rowid_")]


def damage_a_middle_page(path: Path) -> int:
    """Overwrite one page in the middle of a closed SQLite file with garbage, as a failing
    SD card leaves it; the file keeps its size and its header. Returns the page number."""
    with sqlite3.connect(path) as db:
        page_size = int(db.execute("PRAGMA page_size").fetchone()[0])
        pages = int(db.execute("PRAGMA page_count").fetchone()[0])
        assert int(db.execute("PRAGMA freelist_count").fetchone()[0]) == 0, "a page in use"
    page = max(3, pages // 2)  # past the header page and the first pointer-map page
    with path.open("r+b") as file:
        file.seek((page - 1) * page_size)
        file.write(bytes((i * 37 + 11) % 256 for i in range(page_size)))
    return page
