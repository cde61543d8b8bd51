"""The `kiosk-central` command: kiosks, tokens, program, customers; errors as one line.
On SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from central import store
from central.cli import main
from central.db import metadata, open_database
from central.orgs import DEFAULT_ORG
from central.testing import Client, event_dict, running_server

CARD = hashlib.sha256(b"a card").hexdigest()


@pytest.fixture
def db(central_db: str) -> str:
    return central_db


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out.strip(), err.strip()


def test_add_kiosk_prints_a_token_once_and_stores_only_its_hash(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    code, token, _ = run(capsys, "add-kiosk", "shop-1", "--db", db)
    assert code == 0 and len(token) >= 40
    database = open_database(db)
    assert store.authenticate(database, token) == store.Kiosk("shop-1", 1, DEFAULT_ORG)
    assert store.authenticate(database, token + "x") is None
    if database.is_sqlite:  # every byte the server wrote: the file and its WAL
        stored = b"".join(part.read_bytes() for part in Path(db).parent.iterdir())
    else:  # every row of every table, as PostgreSQL gives them back
        with database.engine.connect() as conn:
            stored = "".join(
                str(conn.execute(select(table)).all()) for table in metadata.sorted_tables
            ).encode()
    database.dispose()
    assert token.encode() not in stored
    assert hashlib.sha256(token.encode()).hexdigest().encode() in stored


def test_adding_a_kiosk_twice_is_one_clear_error(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    run(capsys, "add-kiosk", "shop-1", "--db", db)
    code, out, err = run(capsys, "add-kiosk", "shop-1", "--db", db)
    assert code == 1 and out == ""
    assert err.count("\n") == 0 and "already exists and is live; revoke it first" in err


def test_a_revoked_kiosk_is_refused_and_can_be_given_a_new_token(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    _, old, _ = run(capsys, "add-kiosk", "shop-1", "--db", db)
    assert run(capsys, "revoke-kiosk", "shop-1", "--db", db)[0] == 0
    _, new, _ = run(capsys, "add-kiosk", "shop-1", "--db", db)
    event = event_dict("shop-1", CARD, 1, datetime.now(UTC) - timedelta(minutes=1))
    with running_server(db) as url:
        assert Client(url, old).post_events([event]).status == 401
        assert Client(url, new).post_events([event]).status == 200
    assert "revoked" not in run(capsys, "list-kiosks", "--db", db)[1]


def test_revoking_an_unknown_kiosk_fails(capsys: pytest.CaptureFixture[str], db: str) -> None:
    code, _, err = run(capsys, "revoke-kiosk", "ghost", "--db", db)
    assert code == 1 and "ghost" in err


def test_program_set_stores_a_versioned_program_and_refuses_a_reused_tag(
    capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path
) -> None:
    good = tmp_path / "program.toml"
    good.write_text('[program]\nversion = "2026-spring"\ngoal = 8\n')
    code, out, _ = run(capsys, "program", "set", str(good), "--db", db)
    assert code == 0 and "2026-spring" in out
    assert json.loads(run(capsys, "program", "show", "--db", db)[1])["goal"] == 8
    good.write_text('[program]\nversion = "2026-spring"\ngoal = 9\n')
    code, _, err = run(capsys, "program", "set", str(good), "--db", db)
    assert code == 1 and "new version" in err


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('[program]\ngoal = 8\n', "version"),
        ('[program]\nversion = "3"\ngoal = "ten"\n', "goal"),
        ('[program]\nversion = "3"\ncolour = "red"\n', "colour"),
        ('[program]\nversion = "3"\ntimezone = "Mars/Base"\n', "timezone"),
        ('[program]\nversion = "3"\nwelcome_bonus = 20\n', "welcome_bonus"),
        ("[program\n", "TOML"),
    ],
)
def test_a_bad_program_file_is_refused_naming_the_field(
    capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path, text: str, problem: str
) -> None:
    path = tmp_path / "program.toml"
    path.write_text(text)
    code, _, err = run(capsys, "program", "set", str(path), "--db", db)
    assert code == 1 and problem in err and err.count("\n") == 0


def test_export_and_erase_a_customer_from_the_command_line(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    database = open_database(db)
    store.set_customer(database, DEFAULT_ORG, CARD, {"first_name": "Zoé", "birthday": "1991-04-05",
                                        "consent": True}, datetime.now(UTC))
    database.dispose()
    code, out, _ = run(capsys, "export-customer", CARD, "--db", db)
    assert code == 0 and json.loads(out)["customer"]["first_name"] == "Zoé"
    assert run(capsys, "erase-customer", CARD, "--db", db)[1] == "customer details erased"
    code, _, err = run(capsys, "export-customer", CARD, "--db", db)
    assert code == 1 and "nothing stored" in err
    assert run(capsys, "erase-customer", "NOT-A-REF", "--db", db)[0] == 1


def test_a_missing_database_option_or_directory_is_one_clear_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("KIOSK_CENTRAL_DB", raising=False)
    code, _, err = run(capsys, "list-kiosks")
    assert code == 1 and "--db" in err
    code, _, err = run(capsys, "list-kiosks", "--db", str(tmp_path / "no" / "such.sqlite3"))
    assert code == 1 and "no directory" in err


def test_serve_on_a_port_in_use_fails_with_one_line(db: str) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "central.cli", "serve", "--db", db, "--port", str(port)],
            capture_output=True, text=True, timeout=60,
        )
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0 and "cannot listen" in done.stderr
