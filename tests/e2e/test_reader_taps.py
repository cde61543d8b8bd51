"""Taps end to end: virtual card → nfcpy's UDP device → reader adapter → Counter → SQLite."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.config import Config
from kiosk.core.rules import OutcomeKind, RefusalReason
from kiosk.errors import UnknownCard
from kiosk.service import Counter
from sim.harness import ReaderRig
from sim.nfc import make_card
from sim.scenario import load_scenario, run_scenario
from tests.support.kiosk_config import make_config

NTAG = bytes.fromhex("04A1B2C3D4E5F6")
CLASSIC = bytes.fromhex("5A6B7C8D")
IDM = bytes.fromhex("012E4C1A23456789")


class Counters(threading.local):
    """One Counter per thread: a SQLite connection belongs to the thread that opened it."""

    def __init__(self, config: Config, opened: list[tuple[int, Counter]]) -> None:
        self.counter = Counter.open(config)
        opened.append((threading.get_ident(), self.counter))


@pytest.fixture
def config(tmp_path: Path) -> Config:
    reader = {"poll_interval": 0.02, "retry_initial": 0.05, "retry_max": 1.0}
    return make_config(tmp_path / "state", reader=reader)


@pytest.fixture
def counters(config: Config) -> Iterator[Counters]:
    opened: list[tuple[int, Counter]] = []
    yield Counters(config, opened)
    for thread, each in opened:
        if thread == threading.get_ident():  # the reader thread's connection ends with it
            each.close()


@pytest.fixture
def counter(counters: Counters) -> Counter:
    """The test thread's view of the ledger the reader thread writes to."""
    return counters.counter


@pytest.fixture
def kiosk(config: Config, counters: Counters) -> Iterator[ReaderRig]:
    with ReaderRig(config.reader, on_card=lambda read: counters.counter.tap(read.uid)) as rig:
        assert rig.wait_for(lambda: rig.statuses == [True])
        yield rig


def kinds(rig: ReaderRig) -> list[OutcomeKind]:
    return [outcome.kind for outcome in rig.results]


def test_a_tap_enrols_a_new_card_with_its_bonus(kiosk: ReaderRig, counter: Counter) -> None:
    kiosk.field.place(make_card("ntag213", NTAG))
    assert kiosk.wait_for(lambda: len(kiosk.results) == 1)
    outcome = kiosk.results[0]
    assert outcome.kind is OutcomeKind.WELCOME
    assert outcome.stamps == counter.program.welcome_bonus + 1
    assert counter.known_card(NTAG).stamps == outcome.stamps


def test_a_held_card_counts_once(kiosk: ReaderRig, counter: Counter) -> None:
    kiosk.field.place(make_card("ntag213", NTAG))
    assert kiosk.wait_for(lambda: len(kiosk.results) == 1)
    assert kiosk.field.wait_answers(15, timeout=20)  # it lies there through presence checks
    assert len(kiosk.results) == 1
    assert counter.known_card(NTAG).stamps == counter.program.welcome_bonus + 1


def test_two_cards_in_a_row_are_two_customers(kiosk: ReaderRig, counter: Counter) -> None:
    kiosk.field.tap(make_card("ntag213", NTAG), hold=0.0)
    kiosk.field.tap(make_card("ntag215", bytes.fromhex("04112233445566")), hold=0.0)
    assert kiosk.wait_for(lambda: len(kiosk.results) == 2)
    assert kinds(kiosk) == [OutcomeKind.WELCOME, OutcomeKind.WELCOME]
    assert counter.card_ref(NTAG) != counter.card_ref(bytes.fromhex("04112233445566"))


def test_a_card_lifted_mid_read_is_counted_once_and_the_kiosk_keeps_going(
    kiosk: ReaderRig, counter: Counter
) -> None:
    card = make_card("ntag216", bytes.fromhex("04998877665544"), ndef=bytes(600))
    kiosk.field.place(card)
    kiosk.field.remove_when(lambda frame: frame[:1] == b"\x30" and frame[1] >= 12)
    assert kiosk.wait_for(lambda: len(kiosk.results) == 1)
    assert kiosk.settle()
    kiosk.field.place(make_card("ntag213", NTAG))
    assert kiosk.wait_for(lambda: len(kiosk.results) == 2)
    assert kinds(kiosk) == [OutcomeKind.WELCOME, OutcomeKind.WELCOME]
    assert counter.known_card(card.identity).stamps == counter.program.welcome_bonus + 1


def test_a_random_id_card_is_refused_and_never_enrolled(kiosk: ReaderRig, counter: Counter) -> None:
    phone = make_card("random-id")
    kiosk.field.place(phone)
    assert kiosk.wait_for(lambda: len(kiosk.results) == 1)
    outcome = kiosk.results[0]
    assert outcome.kind is OutcomeKind.REFUSED and outcome.refusal is RefusalReason.RANDOM_ID
    with pytest.raises(UnknownCard):
        counter.known_card(kiosk.reads[0].uid)


@pytest.mark.parametrize(("kind", "uid"), [("mifare-classic-1k", CLASSIC), ("felica", IDM)])
def test_cards_nfcpy_cannot_read_keep_their_identity_across_taps(
    kiosk: ReaderRig, counter: Counter, kind: str, uid: bytes
) -> None:
    card = make_card(kind, uid)
    for taps in (1, 2):
        kiosk.field.place(card)
        assert kiosk.wait_for(lambda n=taps: len(kiosk.results) == n)  # type: ignore[misc]
        kiosk.field.remove()
        assert kiosk.settle()
    # the second tap is the same customer, inside the cooldown: shown, not enrolled again
    assert kinds(kiosk) == [OutcomeKind.WELCOME, OutcomeKind.COOLDOWN]
    assert kiosk.reads[0].uid == kiosk.reads[1].uid == uid


def test_the_reader_is_lost_and_recovered_while_the_process_keeps_running(
    kiosk: ReaderRig, counter: Counter
) -> None:
    kiosk.field.tap(make_card("ntag213", NTAG), hold=0.0)
    kiosk.field.fail()
    assert kiosk.wait_for(lambda: kiosk.statuses == [True, False])
    kiosk.field.recover()
    assert kiosk.wait_for(lambda: kiosk.statuses == [True, False, True])
    kiosk.field.place(make_card("felica", IDM))
    assert kiosk.wait_for(lambda: len(kiosk.results) == 2)
    assert kinds(kiosk) == [OutcomeKind.WELCOME, OutcomeKind.WELCOME]


def test_a_morning_at_the_cafe_plays_out_through_the_real_stack(
    kiosk: ReaderRig, counter: Counter
) -> None:
    scenario = load_scenario("morning")
    log = run_scenario(scenario, kiosk.field, speed=1000.0)
    assert all(step.ok for step in log), [step for step in log if not step.ok]
    assert kiosk.wait_for(lambda: len(kiosk.results) == scenario.expected_taps)
    by_card = {}
    for read, outcome in zip(kiosk.reads, kiosk.results, strict=True):
        by_card.setdefault(read.uid, []).append(outcome.kind)
    refused = [o for o in kiosk.results if o.kind is OutcomeKind.REFUSED]
    assert len(refused) == scenario.taps_of_kind("random-id")
    left = scenario.cards["forgetful"].identity
    assert by_card[left] == [OutcomeKind.WELCOME]  # left on the reader for minutes: once
    assert kiosk.statuses[0] is True and kiosk.statuses[-1] is True
