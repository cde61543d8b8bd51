"""Pairing a kiosk with a one-time code over real HTTP (`kiosk-central add-kiosk`, then
`kiosk pair URL CODE`), and a second counter of the same shop knowing a card by the CLI
alone (`kiosk tap`, `kiosk sync`, `kiosk card` at both kiosks)."""

from __future__ import annotations

import io
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from central import pairing, store
from central.db import open_database
from central.orgs import DEFAULT_ORG
from central.testing import running_server
from kiosk.cli import main as kiosk
from kiosk.config import load
from tests.support.kiosk_config import unpaired_config


@pytest.fixture
def central(tmp_path: Path) -> Iterator[tuple[str, str]]:
    db_url = str(tmp_path / "central.sqlite3")
    with running_server(db_url) as url:
        yield url, db_url


def _code(db_url: str, kiosk_id: str, *, shop: str | None = None) -> str:
    db = open_database(db_url)
    try:
        return pairing.add_kiosk(db, kiosk_id, datetime.now(UTC), shop=shop)
    finally:
        db.dispose()


def _org_key(db_url: str) -> bytes | None:
    db = open_database(db_url)
    try:
        return store.site_key(db, DEFAULT_ORG)
    finally:
        db.dispose()


def _kiosk_config(root: Path) -> Path:
    return unpaired_config(root)


def run(capsys: pytest.CaptureFixture[str], config: Path, *argv: str) -> tuple[int, str, str]:
    out = io.StringIO()
    code = kiosk(["--config", str(config), *argv], out)
    return code, out.getvalue().strip(), capsys.readouterr().err.strip()


def _files(root: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_paired_kiosk_holds_its_token_and_the_organisations_key_privately_and_syncs(
    capsys: pytest.CaptureFixture[str], central: tuple[str, str], tmp_path: Path,
) -> None:
    url, db_url = central
    config_file = _kiosk_config(tmp_path / "door")
    code = _code(db_url, "door")
    status, out, err = run(capsys, config_file, "pair", url, code.lower())  # case is forgiven
    assert status == 0, err
    assert "paired as kiosk 'door' of shop 'main'" in out
    config = load(str(config_file))
    assert (config.kiosk.id, config.central.url) == ("door", url)
    assert config_file.read_text().startswith("# the counter by the door")  # the rest kept
    key_path, token_path = config.kiosk.site_key_path, Path(config.central.token_file)
    assert key_path.read_bytes() == _org_key(db_url)
    for secret in (key_path, token_path):
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert run(capsys, config_file, "tap", "04A1B2C3D4E5F6")[0] == 0
    status, out, _ = run(capsys, config_file, "sync")
    assert status == 0 and "2 accepted" in out  # the enrolment and the stamp


@pytest.mark.parametrize("how", ["used", "wrong", "expired", "malformed"])
def test_a_code_that_pairs_nothing_is_one_line_and_nothing_is_written(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, how: str,
) -> None:
    db_url = str(tmp_path / "central.sqlite3")
    later = datetime.now(UTC) + timedelta(hours=25)
    with running_server(db_url, clock=(lambda: later) if how == "expired" else None) as url:
        code = _code(db_url, "door")
        if how == "used":
            assert run(capsys, _kiosk_config(tmp_path / "first"), "pair", url, code)[0] == 0
        sent = {"used": code, "expired": code, "wrong": "ABCDE-FGHJK", "malformed": "0000"}[how]
        config_file = _kiosk_config(tmp_path / "door")
        before = _files(tmp_path / "door")
        status, _, err = run(capsys, config_file, "pair", url, sent)
    assert status == 1 and err.count("\n") == 0 and "nothing was written" in err
    assert {"used": "used already", "wrong": "unknown pairing code", "expired": "expired",
            "malformed": "10 letters and digits"}[how] in err
    assert _files(tmp_path / "door") == before


def test_pairing_over_plain_http_to_another_machine_is_refused_before_sending_anything(
    capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    config_file = _kiosk_config(tmp_path / "door")
    status, _, err = run(capsys, config_file, "pair", "http://192.0.2.7:8080", "ABCDE-FGHJK")
    assert status == 1 and "use https://" in err


def test_a_kiosk_whose_ledger_holds_cards_under_another_key_is_refused_and_told_how_to_start_over(
    capsys: pytest.CaptureFixture[str], central: tuple[str, str], tmp_path: Path,
) -> None:
    url, db_url = central
    config_file = _kiosk_config(tmp_path / "door")
    assert run(capsys, config_file, "tap", "04A1B2C3D4E5F6")[0] == 0  # its own key, a card
    before = _files(tmp_path / "door")
    status, _, err = run(capsys, config_file, "pair", url, _code(db_url, "door"))
    assert status == 1 and "holds cards under another site key" in err
    assert "kiosk backup" in err and "pair-code" in err
    assert _files(tmp_path / "door") == before


def test_pairing_attempts_from_one_address_are_limited(
    capsys: pytest.CaptureFixture[str], central: tuple[str, str], tmp_path: Path,
) -> None:
    url, _ = central
    config_file = _kiosk_config(tmp_path / "door")
    errors = [run(capsys, config_file, "pair", url, "ABCDE-FGHJK")[2] for _ in range(12)]
    assert "unknown pairing code" in errors[0]
    assert "too many pairing attempts" in errors[-1]


def test_a_card_tapped_at_one_counter_shows_the_same_balance_at_the_other_after_sync(
    capsys: pytest.CaptureFixture[str], central: tuple[str, str], tmp_path: Path,
) -> None:
    url, db_url = central
    db = open_database(db_url)
    try:
        store.add_shop(db, "Gare", datetime.now(UTC))
    finally:
        db.dispose()
    door, bar = _kiosk_config(tmp_path / "door"), _kiosk_config(tmp_path / "bar")
    assert run(capsys, door, "pair", url, _code(db_url, "door", shop="main"))[0] == 0
    assert run(capsys, bar, "pair", url, _code(db_url, "bar", shop="Gare"))[0] == 0
    card = "04A1B2C3D4E5F6"
    for _ in range(2):
        assert run(capsys, door, "tap", card)[0] == 0
    assert run(capsys, door, "sync")[0] == 0
    assert run(capsys, bar, "sync")[0] == 0
    at_door, at_bar = run(capsys, door, "card", card)[1], run(capsys, bar, "card", card)[1]
    # the same ref (one site key), the same stamps: the welcome bonus and two stamps
    assert at_door == at_bar and "4/10" in at_bar
    assert run(capsys, bar, "tap", card)[0] == 0  # known here: no second welcome
    assert run(capsys, bar, "sync")[0] == 0 and run(capsys, door, "sync")[0] == 0
    assert run(capsys, door, "card", card)[1] == run(capsys, bar, "card", card)[1]
    assert "5/10" in run(capsys, door, "card", card)[1]
