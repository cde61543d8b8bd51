"""Exactly once, end to end: kiosks, the fault proxy and the real central server."""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.adapters.ledger import Ledger
from kiosk.config import Config
from kiosk.core.events import Event, EventKind, fold
from kiosk.core.rules import Outcome, OutcomeKind
from kiosk.service import Counter, load_site_key
from tests.support import (
    Central,
    central_server,
    kiosk_setup,
    local_event_ids,
    local_synced_ids,
    tap_cards,
    uid,
    worker_for,
)
from tests.support.crash import drain
from tests.support.faultproxy import GARBAGE_BODIES, Fault, FaultProxy


@pytest.fixture(scope="module")
def central(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Central]:
    with central_server(tmp_path_factory.mktemp("central")) as server:
        yield server


@pytest.fixture(scope="module")
def proxy(central: Central) -> Iterator[FaultProxy]:
    with FaultProxy(central.url) as running:
        yield running


def cached_stamps(config: Config, card_ref: str) -> int:
    with Ledger.open(config.kiosk.ledger_path) as ledger:
        return ledger.card(card_ref).stamps


@pytest.mark.parametrize("order", ["AB", "BA"])
def test_two_kiosks_offline_stamp_one_card_and_agree_on_its_balance_whatever_the_sync_order(
    tmp_path: Path, order: str
) -> None:
    with central_server(tmp_path / "central") as central:
        site_key = tmp_path / "site.key"
        load_site_key(site_key)  # one shop, one key: the same card has the same card_ref
        kiosks = {
            name: kiosk_setup(tmp_path / name, central.url, central.token_file(f"kiosk-{name}"),
                              f"kiosk-{name}", site_key_file=site_key)
            for name in "AB"
        }
        card = uid(42)
        tap_cards(kiosks["A"], [card, card, card])  # offline: nothing synced yet
        tap_cards(kiosks["B"], [card, card])
        with Ledger.open(kiosks["A"].kiosk.ledger_path) as ledger:
            [ref] = [c.card_ref for c in ledger.cards()]
        first, second = (kiosks[name] for name in order)
        assert worker_for(first).sync_once().ok
        assert worker_for(second).sync_once().ok
        # the first kiosk hears of the other's stamps when it re-reads its recent cards
        assert worker_for(first).sync_once(refresh=True).ok
        expected = central.stamps(ref)
        every = [e for config in kiosks.values() for e in _events(config)]
        # both kiosks enrolled the card offline: its welcome bonus counts once
        welcomes = [e.delta for e in every if e.kind is EventKind.ENROLLED]
        assert len(welcomes) == 2
        assert expected == sum(e.delta for e in every) - min(welcomes) == fold(ref, every).stamps
        assert cached_stamps(kiosks["A"], ref) == cached_stamps(kiosks["B"], ref) == expected


def _events(config: Config) -> list[Event]:
    with Ledger.open(config.kiosk.ledger_path) as ledger:
        return ledger.events()


FAULTS = st.sampled_from(
    [
        Fault.reset(),
        Fault.status_code(500),
        Fault.status_code(503, retry_after="0"),
        Fault.too_many(retry_after="0"),
        Fault.slow(0.6),
        Fault.lost(),
        *(Fault.garbage(body) for body in GARBAGE_BODIES),
    ]
)
ACTIONS = st.lists(
    st.one_of(
        st.tuples(st.just("tap"), st.integers(0, 3)),
        st.tuples(st.just("fault"), FAULTS),
        st.tuples(st.just("sync"), st.none()),
        st.tuples(st.just("sync while refused"), st.none()),
    ),
    min_size=1,
    max_size=14,
)
_examples = itertools.count()


@settings(max_examples=40)
@given(actions=ACTIONS, batch_size=st.integers(1, 5))
def test_any_mix_of_taps_faults_and_sync_rounds_stores_each_event_exactly_once(
    central: Central, proxy: FaultProxy, actions: list[tuple[str, object]], batch_size: int
) -> None:
    proxy.clear()
    kiosk_id = f"kiosk-h{next(_examples)}"
    with tempfile.TemporaryDirectory() as scratch:
        config = kiosk_setup(Path(scratch) / "state", proxy.url, central.token_file(kiosk_id),
                             kiosk_id, batch_size=batch_size, read_timeout=0.3)
        worker = worker_for(config)
        for action, arg in actions:
            if action == "tap":
                assert isinstance(arg, int)
                tap_cards(config, [uid(arg)])
            elif action == "fault":
                assert isinstance(arg, Fault)
                proxy.inject(arg)
            elif action == "sync":
                worker.sync_once()
            else:
                with proxy.refusing():
                    assert not worker.sync_once().ok
            _assert_synced_only_what_the_server_holds(config, central)
        proxy.clear()
        drain(config)
        stored = central.event_ids(kiosk_id)
        assert len(stored) == len(set(stored))
        assert sorted(stored) == sorted(local_event_ids(config))
        with Ledger.open(config.kiosk.ledger_path) as ledger:
            for card in ledger.cards():
                assert card.stamps == central.stamps(card.card_ref)


def _assert_synced_only_what_the_server_holds(config: Config, central: Central) -> None:
    assert local_synced_ids(config) <= set(central.event_ids(config.kiosk.id))


def test_one_voucher_redeemed_offline_at_two_kiosks_keeps_both_and_the_server_flags_it(
    tmp_path: Path,
) -> None:
    with central_server(tmp_path / "central") as central:
        site_key = tmp_path / "site.key"
        load_site_key(site_key)
        program = {"goal": 3, "welcome_bonus": 0}
        a, b = (
            kiosk_setup(tmp_path / name, central.url, central.token_file(f"kiosk-{name}"),
                        f"kiosk-{name}", site_key_file=site_key, program=program)
            for name in "AB"
        )
        card = uid(77)
        tap_cards(a, [card] * 3)  # the third stamp earns the voucher
        assert worker_for(a).sync_once().ok
        tap_cards(b, [card])  # B meets the card and hears its state from the server
        assert worker_for(b).sync_once().ok
        # both offline now: staff at each counter redeem the one voucher
        outcomes = [_redeem(config, card) for config in (a, b)]
        assert all(o.kind is OutcomeKind.REDEEMED for o in outcomes)
        for config in (a, b, a):
            report = worker_for(config).sync_once(refresh=True)
            assert report.ok and report.rejected == 0
        with Ledger.open(a.kiosk.ledger_path) as ledger:
            ref = next(iter(ledger.cards())).card_ref
            cached_a = ledger.card(ref)
        with Ledger.open(b.kiosk.ledger_path) as ledger:
            cached_b = ledger.card(ref)
        token = a.central.token_file
        answer = requests.get(f"{central.url}/v1/cards/{ref}", timeout=5, headers={
            "Authorization": f"Bearer {Path(token).read_text().strip()}"}).json()
    assert answer["overdrawn"] is True and "overdraft" in answer["flags"]
    assert cached_a == cached_b
    assert sum(cached_a.redeemed.values()) == 2 and cached_a.all_vouchers() == answer["vouchers"]
    assert min(cached_a.all_vouchers().values()) < 0, "the overdraft shows, nothing was dropped"


def _redeem(config: Config, card: bytes) -> Outcome:
    counter = Counter.open(config)
    try:
        return counter.redeem(card)
    finally:
        counter.close()
