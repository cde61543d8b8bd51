"""Customers reach the kiosks through card answers, erasure too; kiosk and central fold alike.

One real central server on loopback for the module; every test has its own kiosks (own
ids and tokens) and its own site key, so their cards never meet.
"""

from __future__ import annotations

import logging
import secrets
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from central import cli as central_cli
from central import store
from central.db import open_database
from central.orgs import DEFAULT_ORG
from central.testing import Client
from kiosk.adapters.ledger import Ledger
from kiosk.adapters.sync_client import SyncFailure, check_customer
from kiosk.core.events import CardState, EventKind, fold
from kiosk.core.perks import Customer
from kiosk.errors import KioskError
from kiosk.service import Counter
from tests.support import Central, central_server, kiosk_setup, uid, worker_for

BIRTHDAY_PROGRAM = {"birthday_bonus": 3, "goal": 20}
T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
_kiosks = iter(range(10**6))


@pytest.fixture(scope="module")
def central(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Central]:
    with central_server(tmp_path_factory.mktemp("central")) as server:
        yield server


def new_kiosk(central: Central, root: Path, key: Path, **program: Any) -> Any:
    kiosk_id = f"kiosk-c{next(_kiosks)}"
    return kiosk_setup(root / kiosk_id, central.url, central.token_file(kiosk_id), kiosk_id,
                       site_key_file=key, program={**BIRTHDAY_PROGRAM, **program})


def shop_key(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    key = root / "site.key"
    key.write_bytes(secrets.token_bytes(32))
    return key


def kiosk_central(central: Central, *args: str) -> int:
    return central_cli.main([*args, "--db", str(central.db)])


def test_a_customer_set_at_the_central_is_greeted_by_name_and_erased_everywhere(
    central: Central, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    config = new_kiosk(central, tmp_path, shop_key(tmp_path))
    worker = worker_for(config)
    card = uid(0xB1D)
    counter = Counter.open(config)
    try:
        ref = counter.card_ref(card)
        assert counter.tap(card, now=T0).first_name is None  # enrolled, nobody known yet
        assert worker.sync_once().ok
        born = (T0 + timedelta(days=10)).date().replace(year=1990)
        assert kiosk_central(central, "set-customer", ref, "--first-name", "Zoé",
                             "--birthday", born.isoformat(), "--consent") == 0
        assert worker.sync_once(refresh=True).ok
        assert counter.ledger.customer(ref) == Customer("Zoé", born, consent=True)

        before = counter.ledger.card(ref).stamps
        outcome = counter.tap(card, now=T0 + timedelta(days=9))  # in the birthday week
        assert outcome.first_name == "Zoé" and outcome.birthday
        assert counter.ledger.card(ref).stamps == before + 1 + 3
        birthdays = [e for e in counter.ledger.events(ref) if e.kind is EventKind.BIRTHDAY]
        assert len(birthdays) == 1

        assert kiosk_central(central, "erase-customer", ref) == 0
        assert worker.sync_once(refresh=True).ok
        assert counter.ledger.customer(ref) is None
        assert counter.tap(card, now=T0 + timedelta(days=40)).first_name is None
    finally:
        counter.close()
        worker.close()
    with closing(sqlite3.connect(config.kiosk.ledger_path)) as raw:
        assert raw.execute("SELECT COUNT(*) FROM customers").fetchone()[0] == 0
    messages = "\n".join(r.getMessage() for r in caplog.records)
    assert "Zoé" not in messages and born.isoformat() not in messages


def test_an_erasure_reaches_a_kiosk_the_customer_never_comes_back_to_and_leaves_no_trace(
    central: Central, tmp_path: Path
) -> None:
    kiosk_id = f"kiosk-c{next(_kiosks)}"
    config = kiosk_setup(tmp_path / kiosk_id, central.url, central.token_file(kiosk_id),
                         kiosk_id, site_key_file=shop_key(tmp_path), refresh_cards=1)
    worker = worker_for(config)
    counter = Counter.open(config)
    try:
        ref = counter.card_ref(uid(0xE2A5E))
        counter.tap(uid(0xE2A5E), now=T0)
        assert worker.sync_once().ok
        assert kiosk_central(central, "set-customer", ref, "--first-name", "Quentinelle",
                             "--consent") == 0
        assert worker.sync_once(refresh=True).ok
        assert counter.ledger.customer(ref) is not None
        # other customers come and go: the named card drops out of the recent cards
        for n in range(3):
            counter.tap(uid(0xF00 + n), now=T0 + timedelta(hours=n + 1))
        assert kiosk_central(central, "erase-customer", ref) == 0
        assert worker.sync_once(refresh=True).ok
        assert counter.ledger.customer(ref) is None
        # while the kiosk runs, not only once it closes the file: neither the main file
        # nor its write-ahead log keeps the name
        on_disk = b"".join(p.read_bytes() for p in config.kiosk.ledger_path.parent.glob("*"))
        assert b"Quentinelle" not in on_disk
    finally:
        counter.close()
        worker.close()


def test_card_answers_carry_first_name_and_birthday_only_with_consent(
    central: Central, tmp_path: Path
) -> None:
    config = new_kiosk(central, tmp_path, shop_key(tmp_path))
    counter = Counter.open(config)
    card = uid(0xC0)
    try:
        ref = counter.card_ref(card)
        counter.tap(card, now=T0)
    finally:
        counter.close()
    worker = worker_for(config)
    assert worker.sync_once().ok
    db = open_database(str(central.db))
    token = central.token_file("kiosk-reader-" + ref[:6]).read_text().strip()
    client = Client(central.url, token)
    try:
        assert client.get(f"/v1/cards/{ref}").json()["customer"] is None
        store.set_customer(db, DEFAULT_ORG, ref, {"consent": False}, T0)
        assert client.get(f"/v1/cards/{ref}").json()["customer"] is None
        store.set_customer(db, DEFAULT_ORG, ref, {"first_name": "Ana", "birthday": "1980-02-29",
                                     "consent": True}, T0)
        answer = client.get(f"/v1/cards/{ref}").json()["customer"]
        assert answer == {"first_name": "Ana", "birthday": "1980-02-29"}
        # a kiosk told "no customer" by a card answer forgets the one it held
        assert worker.sync_once(refresh=True).ok
        with Ledger.open(config.kiosk.ledger_path) as ledger:
            assert ledger.customer(ref) == Customer("Ana", date(1980, 2, 29), consent=True)
        store.set_customer(db, DEFAULT_ORG, ref, {"consent": False}, T0)
        assert worker.sync_once(refresh=True).ok
        with Ledger.open(config.kiosk.ledger_path) as ledger:
            assert ledger.customer(ref) is None
    finally:
        client.close()
        db.dispose()
        worker.close()


@pytest.mark.parametrize(
    "value",
    [[], "Zoé", {"first_name": 3}, {"first_name": ""}, {"first_name": "x" * 61},
     {"first_name": "a\nb"}, {"birthday": "1990-13-01"}, {"birthday": "19900101"},
     {"birthday": 19900101}, {"first_name": "Zoé", "consent": True}],
)
def test_a_garbage_customer_in_a_card_answer_is_refused_with_a_message(value: object) -> None:
    with pytest.raises(SyncFailure, match="garbage answer: customer"):
        check_customer(value)


def test_a_customer_answer_implies_consent_and_null_means_none() -> None:
    assert check_customer(None) is None
    found = check_customer({"first_name": "Zoé", "birthday": "1990-04-05"})
    assert found == Customer("Zoé", date(1990, 4, 5), consent=True)


def test_the_set_customer_command_wants_consent_and_a_real_birthday(
    central: Central, capsys: pytest.CaptureFixture[str]
) -> None:
    ref = "ab" * 32
    assert kiosk_central(central, "set-customer", ref, "--first-name", "Zoé") == 1
    assert "--consent" in capsys.readouterr().err
    assert kiosk_central(central, "set-customer", ref, "--first-name", "Zoé",
                         "--birthday", "1990-02-30", "--consent") == 1
    assert "--birthday" in capsys.readouterr().err
    assert kiosk_central(central, "set-customer", ref, "--first-name", "Zoé", "--consent") == 0
    assert "Zoé" not in capsys.readouterr().out


# --- the same balances at kiosks and central ------------------------------------------

taps = st.lists(
    st.tuples(
        st.integers(0, 2),  # kiosk
        st.integers(0, 3),  # card
        st.integers(1, 60 * 30),  # minutes after the previous action at that kiosk
        st.sampled_from(["tap", "tap", "tap", "redeem", "undo"]),
        st.booleans(),  # sync that kiosk afterwards
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=taps)
def test_central_card_states_equal_every_kiosks_fold_of_the_same_events(
    central: Central, history: list[tuple[int, int, int, str, bool]]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        key = shop_key(root)
        configs = [new_kiosk(central, root, key, goal=3, welcome_bonus=1) for _ in range(3)]
        counters = [Counter.open(config) for config in configs]
        workers = [worker_for(config) for config in configs]
        clocks = [T0] * 3
        try:
            for kiosk, card, minutes, action, sync in history:
                clocks[kiosk] += timedelta(minutes=minutes)
                counter, moment = counters[kiosk], clocks[kiosk]
                try:
                    if action == "tap":
                        counter.tap(uid(card), now=moment)
                    elif action == "redeem":
                        counter.redeem(uid(card), now=moment, staff_ref="staff")
                    else:
                        counter.undo(uid(card), now=moment, staff_ref="staff")
                except KioskError:
                    pass  # a card this kiosk has not seen: nothing recorded
                if sync:
                    assert workers[kiosk].sync_once().ok
            for worker in workers:
                assert worker.sync_once().ok
            for worker in workers:  # now every kiosk hears of the others' events
                assert worker.sync_once(refresh=True).ok
            everything = [e for counter in counters for e in counter.ledger.events()]
            refs = sorted({e.card_ref for e in everything})
            token = configs[0].central.token_file
            client = Client(central.url, Path(token).read_text().strip())
            try:
                for ref in refs:
                    expected = fold(ref, [e for e in everything if e.card_ref == ref], UTC)
                    served = CardState.from_dict(client.get(f"/v1/cards/{ref}").json())
                    assert served == expected
                    for counter in counters:
                        if any(e.card_ref == ref for e in counter.ledger.events()):
                            assert counter.ledger.card(ref) == expected
            finally:
                client.close()
        finally:
            for counter in counters:
                counter.close()
            for worker in workers:
                worker.close()


def test_the_ledger_keeps_no_customer_without_consent_and_migrates_an_old_file(
    tmp_path: Path,
) -> None:
    from kiosk.adapters import ledger as ledger_module

    path = tmp_path / "ledger.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(ledger_module.MIGRATIONS[0] + "; PRAGMA user_version = 1;")
    old.execute("INSERT INTO meta (key, value) VALUES ('kept', 'yes')")
    old.commit()
    old.close()
    with Ledger.open(path) as ledger:
        assert ledger.get_meta("kept") == "yes"
        ref = "cd" * 32
        ledger.settle([], {}, [], T0, {ref: Customer("Noé", date(1990, 1, 1), consent=False)})
        assert ledger.customer(ref) is None
        ledger.settle([], {}, [], T0, {ref: Customer("Noé", None, consent=True)})
        assert ledger.customer(ref) == Customer("Noé", None, consent=True)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == ledger_module.SCHEMA_VERSION
