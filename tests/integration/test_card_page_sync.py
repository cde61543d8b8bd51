"""The card page and the kiosks together: a link drawn offline at enrolment opens the page
once synced; a referral's bonuses made at the central reach each kiosk's cards exactly
once; details given then erased on the page reach the kiosk, then leave it."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from central import store
from central.db import open_database
from central.program import from_toml
from central.testing import Client
from kiosk.adapters.card_link import LinkBook
from kiosk.adapters.sync import SyncWorker
from kiosk.config import Config
from kiosk.core.perks import Customer
from kiosk.service import Counter
from tests.support import Central, central_server, kiosk_setup, uid, worker_for
from tests.support.cardpage import form

PROGRAM = ('[program]\nversion = "ref-1"\ntimezone = "UTC"\ncooldown_minutes = 0\n'
           'daily_cap = 0\nreferral_bonus = 3\n'
           'cause = "the food bank"\n')


@pytest.fixture(scope="module")
def central(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Central]:
    with central_server(tmp_path_factory.mktemp("central")) as server:
        db = open_database(str(server.db))
        store.set_program(db, from_toml(PROGRAM), datetime.now(UTC))
        db.dispose()
        yield server


def a_kiosk(central: Central, root: Path, key: Path, name: str) -> Config:
    return kiosk_setup(root / name, central.url, central.token_file(name), name,
                       site_key_file=key, read_timeout=10.0)


def shared_key(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    key = root / "site.key"
    key.write_bytes(secrets.token_bytes(32))
    return key


@contextmanager
def linked_kiosk(central: Central, root: Path, name: str, write: bool = False
                 ) -> Iterator[tuple[Counter, SyncWorker, LinkBook, Config]]:
    """A kiosk of the central giving cards their page links, with its sync worker."""
    config = a_kiosk(central, root, shared_key(root), name)
    counter, worker, book = Counter.open(config), worker_for(config), LinkBook()
    counter.use_card_page(central.url + "/c/", book, write=write)
    try:
        yield counter, worker, book, config
    finally:
        counter.close()
        worker.close()


def post(central: Central, path: str, fields: dict[str, str]) -> int:
    browser = Client(central.url)
    body, headers = form(fields)
    status = browser.request("POST", path, body, headers).status
    browser.close()
    return status


def test_a_referral_made_at_the_central_reaches_both_kiosks_cards_exactly_once(
    central: Central, tmp_path: Path
) -> None:
    base = central.url + "/c/"
    key = shared_key(tmp_path)
    configs = [a_kiosk(central, tmp_path, key, f"ref-kiosk-{n}") for n in (1, 2)]
    counters = [Counter.open(c) for c in configs]
    workers = [worker_for(c) for c in configs]
    books = [LinkBook(), LinkBook()]
    try:
        for counter, book in zip(counters, books, strict=True):
            counter.use_card_page(base, book, write=False)
        old, new = uid(0x0A), uid(0x0B)
        counters[0].tap(old)  # offline: the link exists before the central knows it
        counters[1].tap(new)
        old_ref, new_ref = counters[0].card_ref(old), counters[1].card_ref(new)
        old_url, new_url = books[0].url_for(old_ref), books[1].url_for(new_ref)
        assert old_url is not None and new_url is not None
        browser = Client(central.url)
        assert browser.get(old_url.removeprefix(central.url)).status == 404  # not synced yet
        assert all(w.sync_once().ok for w in workers)
        page = browser.get(old_url.removeprefix(central.url)).body.decode()
        browser.close()
        code = page.split("Votre code : ")[1][:8]
        assert post(central, new_url.removeprefix(central.url) + "/referral", {"code": code}) == 200
        before = [c.ledger.card(r).stamps for c, r in zip(counters, (old_ref, new_ref), strict=True)]
        for _ in range(2):  # a second refresh changes nothing: each bonus counts once
            assert all(w.sync_once(refresh=True).ok for w in workers)
            after = [c.ledger.card(r).stamps
                     for c, r in zip(counters, (old_ref, new_ref), strict=True)]
            assert after == [n + 3 for n in before]
        # a tap after the bonus adds to it, at either kiosk
        counters[0].tap(old)
        assert counters[0].ledger.card(old_ref).stamps == before[0] + 3 + 1
    finally:
        for each in (*counters, *workers):
            each.close()


def test_details_given_then_erased_on_the_page_reach_the_kiosk_then_leave_it(
    central: Central, tmp_path: Path
) -> None:
    with linked_kiosk(central, tmp_path, "page-kiosk") as (counter, worker, book, _):
        card = uid(0xCA)
        counter.tap(card)
        ref = counter.card_ref(card)
        path = (book.url_for(ref) or "").removeprefix(central.url)
        assert worker.sync_once().ok
        assert post(central, path + "/details",
                    {"first_name": "Zoé", "keep_first_name": "on"}) == 303
        assert worker.sync_once(refresh=True).ok
        assert counter.ledger.customer(ref) == Customer("Zoé", None, consent=True)
        assert counter.tap(card).first_name == "Zoé"  # type: ignore[union-attr]
        assert post(central, path + "/erase", {}) == 303
        assert worker.sync_once(refresh=True).ok
        assert counter.ledger.customer(ref) is None


def test_a_voucher_given_at_the_counter_reaches_the_central_and_counts_in_the_totals(
    central: Central, tmp_path: Path
) -> None:
    from central import made
    from kiosk.core.outcome import Donated

    db = open_database(str(central.db))
    with linked_kiosk(central, tmp_path, "giving-kiosk") as (counter, worker, book, config):
        assert worker.sync_once().ok  # the central's program, with its cause
        counter.use_served_program(config)
        card = uid(0xD0)
        ref = counter.card_ref(card)
        for _ in range(12):  # no cooldown, no daily cap: to the goal
            if counter.ledger.card(ref).vouchers("reward"):
                break
            counter.tap(card)
        assert counter.ledger.card(ref).vouchers("reward") == 1
        before = made.donations_total(db, 1)
        given = counter.donate(ref, "staff-card")
        assert isinstance(given, Donated) and given.cause == "the food bank"
        assert worker.sync_once().ok
        assert made.donations_total(db, 1) == before + 1
        browser = Client(central.url)
        path = (book.url_for(ref) or "").removeprefix(central.url)
        text = browser.get(path, headers={"Accept-Language": "en"}).body.decode()
        browser.close()
        assert "No reward to take yet." in text
        assert counter.ledger.card(ref).vouchers("reward") == 0
        assert worker.sync_once(refresh=True).ok  # the central's fold agrees: still none
        assert counter.ledger.card(ref).vouchers("reward") == 0
    db.dispose()


def test_a_link_revoked_on_the_page_is_drawn_anew_at_the_cards_next_tap_and_opens_once_synced(
    central: Central, tmp_path: Path
) -> None:
    browser = Client(central.url)
    with linked_kiosk(central, tmp_path, "relink-kiosk", write=True) as (counter, worker, book, _):
        card = uid(0xE1)
        counter.tap(card)
        ref = counter.card_ref(card)
        old = (book.url_for(ref) or "").removeprefix(central.url)
        assert book.wants_write(card)  # the enrolment's link, for the reader to write
        assert worker.sync_once().ok
        assert post(central, old + "/revoke", {}) == 200
        assert not counter.ledger.card(ref).link_due  # not known here yet
        assert worker.sync_once(refresh=True).ok
        assert counter.ledger.card(ref).link_due  # the changed card, pulled
        counter.tap(card)  # a plain stamp: the link is drawn anew all the same
        new = (book.url_for(ref) or "").removeprefix(central.url)
        assert new != old and book.wants_write(card)
        assert not counter.ledger.card(ref).link_due
        assert browser.get(new).status == 404  # until this counter's events arrive
        assert worker.sync_once().ok
        assert browser.get(new).status == 200 and browser.get(old).status == 404
        counter.tap(card)
        assert book.url_for(ref) == central.url + new  # once only
    browser.close()
