"""The sync worker against the real central server on loopback, through the fault proxy."""

from __future__ import annotations

import json
import logging
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from central import store
from central.db import open_database
from central.program import from_toml
from kiosk.adapters.ledger import Ledger
from kiosk.adapters.sync import SyncStatus, sync_status
from kiosk.adapters.sync_client import parse_retry_after
from kiosk.config import Config
from kiosk.core.events import Event, EventKind
from kiosk.served import PROGRAM_ETAG, PROGRAM_JSON
from sim.harness import wait_until
from tests.support import (
    Central,
    central_server,
    kiosk_setup,
    local_event_ids,
    tap_cards,
    uid,
    worker_for,
)
from tests.support.faultproxy import GARBAGE_BODIES, Fault, FaultProxy


@pytest.fixture(scope="module")
def central(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Central]:
    with central_server(tmp_path_factory.mktemp("central")) as server:
        yield server


@pytest.fixture
def proxy(central: Central) -> Iterator[FaultProxy]:
    with FaultProxy(central.url) as running:
        yield running


_kiosks = iter(range(10**6))


@pytest.fixture
def kiosk(central: Central, proxy: FaultProxy, tmp_path: Path) -> Config:
    """A fresh kiosk (own id, own token) syncing through the proxy."""
    kiosk_id = f"kiosk-{next(_kiosks)}-{tmp_path.name[-12:]}".replace("_", "-")
    return kiosk_setup(tmp_path / "state", proxy.url, central.token_file(kiosk_id), kiosk_id)


def outbox(config: Config) -> tuple[int, int, int]:
    with Ledger.open(config.kiosk.ledger_path) as ledger:
        box = ledger.outbox()
    return box.pending, box.synced, box.rejected


def snapshot(config: Config) -> tuple[object, ...]:
    """Everything a sync could change, except the status notes it keeps about itself."""
    with Ledger.open(config.kiosk.ledger_path) as ledger:
        return (
            ledger.outbox(),
            list(ledger.cards()),
            ledger.rejected(),
            ledger.get_meta(PROGRAM_JSON),
            ledger.get_meta(PROGRAM_ETAG),
        )


def test_pending_events_reach_the_server_in_batches_and_are_marked_synced(
    central: Central, proxy: FaultProxy, kiosk: Config, tmp_path: Path
) -> None:
    config = kiosk_setup(tmp_path / "state", proxy.url, kiosk.central.token_file, kiosk.kiosk.id,
                         batch_size=3)
    ids = tap_cards(config, [uid(n % 4) for n in range(7)])
    report = worker_for(config).sync_once()
    assert report.ok and report.sent == len(ids) == report.accepted
    assert report.batches == -(-len(ids) // 3)
    assert sorted(central.event_ids(config.kiosk.id)) == sorted(ids)
    assert outbox(config) == (0, len(ids), 0)


@pytest.mark.parametrize(
    "fault",
    [
        Fault.reset(),
        Fault.status_code(500),
        Fault.status_code(503, retry_after="1"),
        Fault.too_many(retry_after="1"),
        Fault.slow(1.5),
        Fault.garbage(),
        Fault.lost(),
    ],
    ids=lambda f: f"{f.kind}-{f.status}" if f.status else str(f.kind),
)
def test_after_a_fault_the_server_holds_every_event_exactly_once(
    central: Central, proxy: FaultProxy, kiosk: Config, fault: Fault
) -> None:
    ids = tap_cards(kiosk, [uid(1), uid(2), uid(1)])
    worker = worker_for(kiosk)
    proxy.inject(fault)
    failed = worker.sync_once()
    assert not failed.ok
    assert outbox(kiosk)[0] == len(ids), "nothing is marked synced without an answer naming it"
    healed = worker.sync_once()
    assert healed.ok, healed.error
    stored = central.event_ids(kiosk.kiosk.id)
    assert sorted(stored) == sorted(ids) == sorted(local_event_ids(kiosk))
    assert outbox(kiosk) == (0, len(ids), 0)


def test_when_the_server_commits_and_the_answer_is_lost_the_retry_is_a_duplicate(
    central: Central, proxy: FaultProxy, kiosk: Config
) -> None:
    ids = tap_cards(kiosk, [uid(7), uid(8)])
    worker = worker_for(kiosk)
    proxy.inject(Fault.lost())
    assert not worker.sync_once().ok
    assert sorted(central.event_ids(kiosk.kiosk.id)) == sorted(ids), "the server did commit"
    assert outbox(kiosk)[0] == len(ids), "the kiosk never heard so"
    retry = worker.sync_once()
    assert (retry.duplicate, retry.accepted) == (len(ids), 0)
    assert sorted(central.event_ids(kiosk.kiosk.id)) == sorted(ids)


def test_refused_connections_change_nothing_and_sync_resumes_when_the_server_is_back(
    central: Central, proxy: FaultProxy, kiosk: Config
) -> None:
    ids = tap_cards(kiosk, [uid(3)])
    worker = worker_for(kiosk)
    with proxy.refusing():
        report = worker.sync_once()
        assert "unreachable" in (report.error or "")
        with Ledger.open(kiosk.kiosk.ledger_path) as ledger:
            status = sync_status(ledger)
        assert status.online is False and status.pending == len(ids)
        assert status.last_error == report.error
    assert worker.sync_once().ok
    assert sorted(central.event_ids(kiosk.kiosk.id)) == sorted(ids)


@pytest.mark.parametrize("body", GARBAGE_BODIES, ids=range(len(GARBAGE_BODIES)))
def test_a_garbage_answer_changes_nothing_and_counts_as_a_failure(
    proxy: FaultProxy, kiosk: Config, body: bytes
) -> None:
    tap_cards(kiosk, [uid(4), uid(5)])
    before = snapshot(kiosk)
    proxy.inject(Fault.garbage(body))
    report = worker_for(kiosk).sync_once()
    assert report.error is not None and "garbage" in report.error
    assert snapshot(kiosk) == before


def test_a_429_retry_after_in_seconds_is_honoured_by_the_worker_thread(
    proxy: FaultProxy, kiosk: Config
) -> None:
    tap_cards(kiosk, [uid(6)])
    proxy.inject(Fault.too_many(retry_after="1"))
    worker = worker_for(kiosk)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    try:
        wait_until(lambda: outbox(kiosk)[0] == 0, 15, step=0.05)
    finally:
        stop.set()
        thread.join(timeout=10)
    posts = [t for t, method, path, _ in proxy.log if method == "POST"]
    assert outbox(kiosk)[0] == 0
    assert len(posts) >= 2 and posts[1] - posts[0] >= 1.0, "the retry waited for Retry-After"


def test_retry_after_is_read_as_seconds_or_as_an_http_date() -> None:
    now = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120
    assert parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now) == 30
    assert parse_retry_after(format_datetime(now - timedelta(hours=1), usegmt=True), now) == 0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after("\u00b2", now) is None  # a digit to str.isdigit, not to float()
    assert parse_retry_after(None, now) is None


def test_a_long_retry_after_is_cut_to_retry_after_max(kiosk: Config) -> None:
    from kiosk.adapters.sync import SyncReport

    worker = worker_for(kiosk)
    delay = worker.next_delay(SyncReport(error="429", retry_after=10_000))
    assert delay == kiosk.central.retry_after_max


def test_rejected_events_are_kept_aside_with_their_reason_and_never_sent_again(
    central: Central, proxy: FaultProxy, kiosk: Config
) -> None:
    good = tap_cards(kiosk, [uid(9)])
    clock_wrong = Event(
        id="0d0c1f6e-0000-4000-8000-000000000001", kiosk_id=kiosk.kiosk.id, seq=99,
        card_ref="ab" * 32, kind=EventKind.STAMP, delta=1, reward_id=None,
        program_version="1", occurred_at=datetime(2019, 6, 1, tzinfo=UTC),
    )
    with Ledger.open(kiosk.kiosk.ledger_path) as ledger:
        ledger.append([clock_wrong])
    worker = worker_for(kiosk)
    report = worker.sync_once()
    assert (report.ok, report.accepted, report.rejected) == (True, len(good), 1)
    with Ledger.open(kiosk.kiosk.ledger_path) as ledger:
        [(event, reason)] = ledger.rejected()
        assert event.id == clock_wrong.id and "2020" in reason
        assert sync_status(ledger).rejected == 1
    posts = proxy.posts()
    assert worker.sync_once().sent == 0
    assert proxy.posts() == posts, "a rejected event is not sent again"
    assert sorted(central.event_ids(kiosk.kiosk.id)) == sorted(good)


def test_an_event_the_central_holds_for_review_is_settled_and_never_sent_again(
    central: Central, proxy: FaultProxy, kiosk: Config
) -> None:
    good = tap_cards(kiosk, [uid(10)])
    with Ledger.open(kiosk.kiosk.ledger_path) as ledger:
        last = ledger.pending(100)[-1]
        minted = Event(
            id="0d0c1f6e-0000-4000-8000-000000000002", kiosk_id=kiosk.kiosk.id,
            seq=last.seq + 1, card_ref=last.card_ref, kind=EventKind.ADJUSTMENT, delta=1000,
            reward_id=None, program_version=last.program_version, occurred_at=last.occurred_at,
        )
        ledger.append([minted])
    worker = worker_for(kiosk)
    report = worker.sync_once()
    assert (report.ok, report.rejected) == (True, 0)
    assert outbox(kiosk) == (0, len(good) + 1, 0)
    posts = proxy.posts()
    assert worker.sync_once().sent == 0
    assert proxy.posts() == posts, "a held event is settled, not sent again"
    assert minted.id in central.event_ids(kiosk.kiosk.id)


@pytest.mark.parametrize("content", [None, "", "  \n"], ids=["missing", "empty", "blank"])
def test_an_unusable_token_file_is_a_clear_status_message_not_a_crash(
    proxy: FaultProxy, tmp_path: Path, content: str | None
) -> None:
    token_file = tmp_path / "token"
    if content is not None:
        token_file.write_text(content)
    config = kiosk_setup(tmp_path / "state", proxy.url, token_file)
    ids = tap_cards(config, [uid(1)])
    report = worker_for(config).sync_once()
    assert report.error is not None and str(token_file) in report.error
    assert proxy.posts() == 0
    with Ledger.open(config.kiosk.ledger_path) as ledger:
        status = sync_status(ledger)
    assert status.online is False and status.last_error == report.error
    assert status.pending == len(ids)


def test_a_token_the_server_does_not_know_is_reported_and_nothing_is_marked(
    proxy: FaultProxy, tmp_path: Path
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("not-a-real-token")
    config = kiosk_setup(tmp_path / "state", proxy.url, token_file)
    ids = tap_cards(config, [uid(1)])
    report = worker_for(config).sync_once()
    assert report.error is not None and "401" in report.error
    assert outbox(config) == (len(ids), 0, 0)


def test_a_tap_commits_while_the_worker_waits_on_a_stalled_server(
    proxy: FaultProxy, kiosk: Config, tmp_path: Path
) -> None:
    config = kiosk_setup(tmp_path / "state", proxy.url, kiosk.central.token_file, kiosk.kiosk.id,
                         read_timeout=5.0)
    first = tap_cards(config, [uid(1)])
    proxy.inject(Fault.slow(6.0))
    worker = worker_for(config)
    done = threading.Event()
    thread = threading.Thread(target=lambda: (worker.sync_once(), done.set()))
    thread.start()
    try:
        assert proxy.holding.wait(10), "the upload reached the proxy"
        second = tap_cards(config, [uid(2)])
        assert not done.is_set(), "the tap committed while the upload was still in flight"
        assert outbox(config)[0] == len(first) + len(second)
    finally:
        proxy.close()  # lets go of the held answer
        thread.join(timeout=15)


def test_the_worker_thread_syncs_soon_after_a_wake_and_reports_its_status(
    central: Central, proxy: FaultProxy, kiosk: Config, tmp_path: Path
) -> None:
    config = kiosk_setup(tmp_path / "state", proxy.url, kiosk.central.token_file, kiosk.kiosk.id,
                         interval=3600)
    statuses: list[SyncStatus] = []
    reported = threading.Event()
    worker = worker_for(config, on_status=lambda s: (statuses.append(s), reported.set()))
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    try:
        assert reported.wait(10), "the worker reported its status after its first round"
        ids = tap_cards(config, [uid(11)])
        worker.wake()
        assert wait_until(lambda: outbox(config)[0] == 0, 10), "synced soon after the wake"
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert sorted(central.event_ids(config.kiosk.id)) == sorted(ids)
    last = statuses[-1]
    assert (last.online, last.pending, last.synced, last.last_error) == (True, 0, len(ids), None)
    assert last.last_success is not None


def test_status_shows_pending_count_and_oldest_pending_age(kiosk: Config) -> None:
    ids = tap_cards(kiosk, [uid(1), uid(2)])
    later = datetime.now(UTC) + timedelta(minutes=5)
    with Ledger.open(kiosk.kiosk.ledger_path) as ledger:
        status = sync_status(ledger, later)
    assert status.pending == len(ids) and status.online is None
    assert status.oldest_pending_age is not None
    assert timedelta(minutes=4) < status.oldest_pending_age < timedelta(minutes=6)


def test_the_program_is_stored_with_its_etag_and_then_asked_for_conditionally(
    tmp_path: Path,
) -> None:
    # its own server: a published program would change what the other tests' server says
    with central_server(tmp_path / "central") as own, FaultProxy(own.url) as proxy:
        db = open_database(str(own.db))
        try:
            fields = from_toml('[program]\nversion = "spring-7"\ngoal = 8\n')
            store.set_program(db, fields, datetime.now(UTC))
        finally:
            db.dispose()
        config = kiosk_setup(tmp_path / "state", proxy.url, own.token_file("kiosk-1"))
        worker = worker_for(config)
        assert worker.sync_once().program_updated
        with Ledger.open(config.kiosk.ledger_path) as ledger:
            assert json.loads(ledger.get_meta(PROGRAM_JSON) or "{}")["goal"] == 8
            assert ledger.get_meta(PROGRAM_ETAG) == '"spring-7"'
        assert not worker.sync_once().program_updated
        program_gets = [(m, p) for _, m, p, _ in proxy.log if p == "/v1/program"]
        assert len(program_gets) == 2


def test_syncing_without_a_central_url_says_so(tmp_path: Path) -> None:
    config = kiosk_setup(tmp_path / "state", "", tmp_path / "token")
    report = worker_for(config).sync_once()
    assert report.error is not None and "central.url" in report.error


def _self_signed(tmp_path: Path) -> ssl.SSLContext:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
@pytest.mark.parametrize("verify", [True, False])
def test_tls_certificates_are_verified_unless_verify_tls_is_off(
    central: Central, tmp_path: Path, verify: bool
) -> None:
    with FaultProxy(central.url, tls=_self_signed(tmp_path)) as https:
        config = kiosk_setup(tmp_path / "state", https.url, central.token_file(f"kiosk-tls-{verify}"),
                             f"kiosk-tls-{verify}", verify_tls=verify)
        ids = tap_cards(config, [uid(1)])
        report = worker_for(config).sync_once()
    if verify:
        assert report.error is not None and "TLS" in report.error
        assert outbox(config)[0] == len(ids)
    else:
        assert report.ok and outbox(config)[0] == 0


def test_sync_logs_carry_no_card_uid_and_no_card_ref(
    proxy: FaultProxy, kiosk: Config, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    card = uid(0xC0FFEE)
    tap_cards(kiosk, [card])
    worker = worker_for(kiosk)
    proxy.inject(Fault.garbage(), Fault.status_code(503))
    for _ in range(3):
        worker.sync_once(refresh=True)
    with Ledger.open(kiosk.kiosk.ledger_path) as ledger:
        # the card tapped here (other kiosks' cards were pulled too)
        [ref] = {e.card_ref for e in ledger.events()}
    assert caplog.records, "sync did log"
    everything = "\n".join(r.getMessage() for r in caplog.records)
    assert card.hex() not in everything.lower()
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("kiosk"))
    assert ref not in ours and ref[:16] not in ours
