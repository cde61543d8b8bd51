"""The ledger on real SQLite files: durable, atomic per tap, honest about bad storage."""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from contextlib import closing
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kiosk.adapters.checkpoint import Checkpointer
from kiosk.adapters.ledger import SCHEMA_VERSION, Ledger
from kiosk.core.events import EVENT_FIELDS, fold
from kiosk.errors import SchemaTooNew, StorageError
from kiosk.service import Counter, load_site_key
from tests.support import sqlite_integrity
from tests.support.kiosk_config import make_config

UID = bytes.fromhex("04a1b2c3d4e5f6")
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def test_a_tap_is_committed_before_the_outcome_is_returned(tmp_path: Path):
    counter = Counter.open(make_config(tmp_path))
    outcome = counter.tap(UID, T0)
    # a second, independent connection sees the events: they are committed, not buffered
    with Ledger.open(tmp_path / "ledger.sqlite3") as other:
        events = other.events()
    assert [e.kind.value for e in events] == ["enrolled", "stamp"]
    # the same card, which the fold of recorded events also knows by program version
    committed = fold(outcome.card.card_ref, events)
    assert other is not None and outcome.card == replace(committed, versions=frozenset())
    assert committed.versions == {"1"}
    counter.close()


def test_the_ledger_runs_in_wal_mode_with_full_sync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[sqlite3.Connection] = []
    connect = sqlite3.connect

    def keep(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        opened.append(connect(*args, **kwargs))
        return opened[-1]

    # the ledger's own connection, seen from outside: synchronous is set per connection
    monkeypatch.setattr(sqlite3, "connect", keep)
    with Ledger.open(tmp_path / "l.sqlite3"):
        [connection] = opened
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert connection.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def _wal_frames_after_taps(tmp_path: Path, taps: int) -> int:
    """Taps through a Counter (one card each), then how many frames its WAL holds."""
    counter = Counter.open(make_config(tmp_path))
    try:
        for n in range(taps):
            counter.tap(n.to_bytes(4, "big") + bytes(3), T0 + timedelta(minutes=n))
        logged, _copied = counter.ledger.checkpoint()
    finally:
        counter.close()
    return logged


def test_a_tap_never_pays_for_a_checkpoint_the_checkpointer_does_it_between_taps(
    tmp_path: Path,
) -> None:
    # past SQLite's 1,000-page mark: with autocheckpoint on, a commit would have copied the
    # WAL into the main file (and restarted it), so far fewer frames would be waiting
    assert _wal_frames_after_taps(tmp_path / "taps", 300) > 1000

    counter = Counter.open(make_config(tmp_path / "daemon"))
    stop = threading.Event()
    checkpointer = Checkpointer(counter.ledger.path, interval=0.02)
    worker = threading.Thread(target=checkpointer.run, args=(stop,))
    worker.start()
    try:
        counter.tap(UID, T0)
        deadline = time.monotonic() + 10
        while checkpointer.runs < 2 and time.monotonic() < deadline:
            time.sleep(0.01)  # polling a counter the worker thread moves
        logged, copied = counter.ledger.checkpoint()
        assert checkpointer.runs >= 2 and logged == copied  # nothing left to copy
    finally:
        stop.set()
        worker.join(timeout=5)
        counter.close()


def test_no_raw_uid_is_ever_written_to_disk(tmp_path: Path):
    counter = Counter.open(make_config(tmp_path))
    for i in range(3):
        counter.tap(UID, T0 + timedelta(hours=i))
    counter.close()
    for path in tmp_path.iterdir():
        data = path.read_bytes()
        assert UID not in data and UID.hex().encode() not in data, path.name
        assert UID.hex().upper().encode() not in data, path.name


def test_the_site_key_is_made_once_with_owner_only_permissions(tmp_path: Path):
    first = load_site_key(tmp_path / "site.key")
    assert load_site_key(tmp_path / "site.key") == first
    assert (tmp_path / "site.key").stat().st_mode & 0o777 == 0o600


def test_a_damaged_site_key_is_refused_not_replaced(tmp_path: Path):
    (tmp_path / "site.key").write_bytes(b"short")
    with pytest.raises(StorageError, match="damaged"):
        load_site_key(tmp_path / "site.key")
    assert (tmp_path / "site.key").read_bytes() == b"short"


def test_a_ledger_from_a_newer_schema_is_refused_and_left_untouched(tmp_path: Path):
    path = tmp_path / "ledger.sqlite3"
    Ledger.open(path).close()
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    before = path.read_bytes()
    with pytest.raises(SchemaTooNew, match="upgrade the kiosk"):
        Ledger.open(path)
    assert path.read_bytes() == before


def test_a_state_dir_that_cannot_be_created_is_a_clear_error(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StorageError, match="cannot create"):
        Ledger.open(blocker / "state" / "ledger.sqlite3")


READ_ONLY_SCRIPT = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from kiosk.adapters.ledger import Ledger
    from kiosk.errors import StorageError
    try:
        Ledger.open(Path(sys.argv[1]) / "ledger.sqlite3")
    except StorageError as error:
        print(error)
        sys.exit(3)
    """
)


def test_a_read_only_state_dir_is_a_clear_error(tmp_path: Path):
    """Under root (CI) the child runs without the capabilities that let root write through
    file permissions, so the check runs there too."""
    state = tmp_path / "ro"
    state.mkdir()
    state.chmod(0o555)
    command = [sys.executable, "-c", READ_ONLY_SCRIPT, str(state)]
    if os.geteuid() == 0:
        command = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--", *command]
    child = subprocess.run(
        command, cwd=Path(__file__).parents[2], capture_output=True, text=True, timeout=60
    )
    assert child.returncode == 3, child.stderr
    assert "cannot" in child.stdout, child.stdout


def test_a_damaged_ledger_file_is_a_clear_error(tmp_path: Path):
    path = tmp_path / "ledger.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StorageError, match="damaged"):
        Ledger.open(path)


FULL_DISK_SCRIPT = textwrap.dedent(
    """
    import resource, signal, sys
    from datetime import UTC, datetime, timedelta
    from tests.support.kiosk_config import make_config
    from kiosk.service import Counter
    from kiosk.errors import StorageError
    from pathlib import Path
    counter = Counter.open(make_config(Path(sys.argv[1])))
    counter.tap(bytes.fromhex("04000000000001"), datetime(2026, 1, 1, tzinfo=UTC))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    # from here on, no file may grow: the disk is "full"
    limit = max(p.stat().st_size for p in Path(sys.argv[1]).iterdir())
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    for i in range(2, 400):
        try:
            counter.tap(bytes.fromhex("04%012x" % i), datetime(2026, 1, 1, tzinfo=UTC))
        except StorageError as error:
            print("refused:", error)
            break
    else:
        print("never refused")
    """
)


def test_a_full_disk_refuses_the_tap_and_loses_nothing_recorded(tmp_path: Path):
    result = subprocess.run(
        [sys.executable, "-c", FULL_DISK_SCRIPT, str(tmp_path)],
        capture_output=True, text=True, timeout=60, cwd=Path(__file__).parents[2],
    )
    assert "refused:" in result.stdout, result.stdout + result.stderr
    assert "nothing was recorded" in result.stdout
    assert sqlite_integrity(tmp_path / "ledger.sqlite3") == "ok"
    with Ledger.open(tmp_path / "ledger.sqlite3") as ledger:
        events = ledger.events()
        cards = list(ledger.cards())
    # every committed tap is whole: each enrolled card has both of its events
    assert len(events) == 2 * len(cards) >= 2
    assert all(c.stamps == 3 for c in cards)


WRITER_SCRIPT = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime, timedelta
    from pathlib import Path
    from tests.support.kiosk_config import make_config
    from kiosk.service import Counter
    counter = Counter.open(make_config(Path(sys.argv[1]), program={"cooldown_minutes": 0}))
    moment = counter.ledger.last_event_time() or datetime(2026, 1, 1, tzinfo=UTC)
    i = counter.ledger.next_seq()
    while True:
        i += 1
        moment += timedelta(minutes=1)
        outcome = counter.tap(bytes.fromhex("04%012x" % (i % 7)), moment)
        print(moment.isoformat(), flush=True)  # acknowledged: the customer saw it
    """
)


def test_killing_the_kiosk_mid_write_loses_no_acknowledged_tap(tmp_path: Path):
    rng = random.Random(7)
    acknowledged: list[str] = []
    for _ in range(8):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER_SCRIPT, str(tmp_path)],
            stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2],
        )
        assert proc.stdout is not None
        for _ in range(rng.randint(5, 60)):
            acknowledged.append(proc.stdout.readline().strip())
        proc.kill()
        proc.wait()
        acknowledged.extend(line.strip() for line in proc.stdout if line.strip())
    assert sqlite_integrity(tmp_path / "ledger.sqlite3") == "ok"
    with Ledger.open(tmp_path / "ledger.sqlite3") as ledger:
        events = ledger.events()
        stamp_times = {e.occurred_at.isoformat() for e in events if e.kind.value == "stamp"}
        assert set(acknowledged) <= stamp_times
        # the cache agrees with the journal for every card
        for card in ledger.cards():
            assert card == fold(card.card_ref, [e for e in events if e.card_ref == card.card_ref])
        ids = [e.id for e in events]
        assert len(ids) == len(set(ids))
        seqs = [e.seq for e in events]
        assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))


def test_the_wall_clock_going_back_never_fools_the_cooldown(tmp_path: Path):
    now = [T0]
    counter = Counter(
        make_config(tmp_path).program.to_program(),
        Ledger.open(tmp_path / "l.sqlite3"),
        b"k" * 32,
        "k1",
        clock=lambda: now[0],
    )
    counter.tap(UID)
    now[0] = T0 - timedelta(days=30)  # power cut, clock restarts in the past
    outcome = counter.tap(UID)
    assert counter.clock_behind
    assert outcome.kind.value == "cooldown"
    assert all(e.occurred_at >= T0 for e in counter.ledger.events())


def test_the_events_table_holds_every_field_of_an_event(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite3"
    Ledger.open(path).close()
    with closing(sqlite3.connect(path)) as raw:
        columns = {row[1]: row for row in raw.execute("PRAGMA table_info(events)")}
    for spec in EVENT_FIELDS:
        assert spec.name in columns, f"add a ledger migration creating events.{spec.name}"
        _cid, _name, sql_type, not_null, _default, _pk = columns[spec.name]
        assert sql_type == spec.rule.sql_type and bool(not_null) is not spec.optional
