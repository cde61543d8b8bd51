"""Retention: synced events older than the retention age leave the kiosk, and nothing a
card's state depends on, nothing unsynced, and nothing the next tap needs goes with them."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.adapters.ledger import Ledger
from kiosk.core.events import Event, EventKind, apply, fold
from kiosk.service import RETENTION_PAUSE, RETENTION_SLICE, Counter
from tests.support.kiosk_config import make_config

T0 = datetime(2024, 1, 1, 8, 0, tzinfo=UTC)
CARDS = ("aa" * 32, "bb" * 32, "cc" * 32)

# (kind, delta, reward_id) as the rules record them
CHANGES = st.one_of(
    st.tuples(st.just(EventKind.ENROLLED), st.integers(0, 2), st.none()),
    st.tuples(st.just(EventKind.STAMP), st.integers(1, 3), st.none()),
    st.tuples(st.just(EventKind.REWARD_EARNED), st.just(0), st.just("coffee")),
    st.tuples(st.just(EventKind.REWARD_REDEEMED), st.just(0), st.just("coffee")),
    st.tuples(st.just(EventKind.REWARD_REVOKED), st.just(0), st.just("coffee")),
    st.tuples(st.just(EventKind.ADJUSTMENT), st.integers(-3, -1), st.none()),
    st.tuples(st.just(EventKind.EXPIRED), st.integers(-5, -1), st.none()),
    st.tuples(st.just(EventKind.TIER_CHANGED), st.just(0), st.sampled_from(["Gold", None])),
    st.tuples(st.just(EventKind.BIRTHDAY), st.just(1), st.none()),
    st.tuples(st.just(EventKind.BONUS), st.just(2), st.just("visit-4")),
)
# (card, change, hours after the previous event, synced?, rejected?)
HISTORY = st.lists(
    st.tuples(st.sampled_from(CARDS), CHANGES, st.integers(0, 900), st.booleans(), st.booleans()),
    min_size=1, max_size=30,
)


def _events(history: list) -> list[tuple[Event, bool, bool]]:
    at, recorded = T0, []
    for seq, (card, (kind, delta, reward), gap, synced, rejected) in enumerate(history, 1):
        at += timedelta(hours=gap)
        event = Event(f"e{seq}", "kiosk-1", seq, card, kind, delta, reward, "1", at)
        recorded.append((event, synced, rejected and not synced))
    return recorded


@settings(max_examples=40, deadline=None)
@given(HISTORY, st.integers(0, 30 * 24 * 30), st.integers(1, 7))
def test_folding_the_kept_events_from_the_base_equals_folding_every_event(
    history: list, cutoff_hours: int, slice_size: int
):
    recorded = _events(history)
    cutoff = T0 + timedelta(hours=cutoff_hours)
    with tempfile.TemporaryDirectory() as tmp, Ledger.open(Path(tmp) / "ledger.sqlite3") as ledger:
        for event, _synced, _rejected in recorded:
            ledger.append([event])
        ledger.settle(
            [e.id for e, synced, _ in recorded if synced],
            {e.id: "held for review" for e, _, rejected in recorded if rejected},
            (), T0,
        )
        cache = {ref: ledger.card(ref) for ref in CARDS}
        synced_before = ledger.outbox().synced

        resume: int | None = 0
        while resume is not None:
            resume = ledger.forget_synced(cutoff, resume, slice_size).resume

        kept = {e.id for e in ledger.events()}
        newest = recorded[-1][0]
        gone = {
            e.id for e, synced, _ in recorded
            if synced and e.occurred_at < cutoff and e is not newest
        }
        # exactly the old synced events went: never a pending or rejected one, nor the newest
        assert kept == {e.id for e, _, _ in recorded} - gone
        for ref in CARDS:
            everything = fold(ref, [e for e, _, _ in recorded if e.card_ref == ref])
            from_base = functools.reduce(apply, ledger.events(ref), ledger.base(ref))
            assert from_base == everything
            assert ledger.card(ref) == cache[ref]
        ledger.rebuild_cards()
        assert {ref: ledger.card(ref) for ref in CARDS} == cache
        assert ledger.outbox().synced == synced_before  # the central still has them
        assert ledger.span().forgotten == len(gone)
        assert ledger.next_seq() == newest.seq + 1


def _open_a_year_of_taps(tmp_path: Path, days: int) -> Counter:
    counter = Counter.open(make_config(
        tmp_path, kiosk={"retention_days": 30}, program={"cooldown_minutes": 0}
    ))
    for n in range(days * 4):
        counter.tap(bytes.fromhex(f"04{n % 50:012x}"), T0 + timedelta(hours=6 * n))
    return counter


def test_the_counter_forgets_old_synced_events_in_slices_and_gives_the_space_back(tmp_path):
    counter = _open_a_year_of_taps(tmp_path, days=150)
    ledger = counter.ledger
    everything = ledger.events()
    unsynced = {e.id for e in everything[-40:]}
    ledger.settle([e.id for e in everything if e.id not in unsynced], {}, (), T0)
    ledger.checkpoint()
    size_before = os.path.getsize(ledger.path)
    cards_before = list(ledger.cards())
    now = everything[-1].occurred_at + timedelta(days=1)

    slices = [counter.forget_due(now + n * RETENTION_PAUSE) for n in range(400)]
    now += 400 * RETENTION_PAUSE

    cutoff = now - timedelta(days=30)
    kept = ledger.events()
    assert all(e.occurred_at >= cutoff or e.id in unsynced for e in kept)
    assert unsynced <= {e.id for e in kept}
    assert sum(slices) == len(everything) - len(kept)
    assert max(slices) <= RETENTION_SLICE
    assert list(ledger.cards()) == cards_before
    ledger.checkpoint()
    assert os.path.getsize(ledger.path) < size_before * 0.75  # pages given back to the disk
    assert counter.forget_due(now + RETENTION_PAUSE) == 0  # once a day: done for today
    counter.close()


def test_slices_of_retention_are_spaced_so_that_taps_seldom_wait_for_one(tmp_path):
    counter = _open_a_year_of_taps(tmp_path, days=30)
    everything = counter.ledger.events()
    counter.ledger.settle([e.id for e in everything], {}, (), T0)
    later = everything[-1].occurred_at + timedelta(days=100)

    assert counter.forget_due(later) == RETENTION_SLICE
    assert counter.forget_due(later + RETENTION_PAUSE / 2) == 0  # too soon: nothing done
    assert counter.forget_due(later + RETENTION_PAUSE) == RETENTION_SLICE
    counter.close()


def test_a_kiosk_that_never_synced_forgets_nothing(tmp_path):
    counter = _open_a_year_of_taps(tmp_path, days=60)
    before = [e.id for e in counter.ledger.events()]
    later = T0 + timedelta(days=1000)
    assert [counter.forget_due(later + n * RETENTION_PAUSE) for n in range(5)] == [0] * 5
    assert [e.id for e in counter.ledger.events()] == before
    counter.close()


def test_kiosk_export_says_which_range_it_covers_and_where_the_older_events_are(tmp_path):
    counter = _open_a_year_of_taps(tmp_path / "state", days=60)
    everything = counter.ledger.events()
    counter.ledger.settle([e.id for e in everything], {}, (), T0)
    last = now = everything[-1].occurred_at
    while counter.forget_due(now):
        now += RETENTION_PAUSE
    kept = counter.ledger.events()
    counter.close()
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[kiosk]\nstate_dir = "{tmp_path / "state"}"\nretention_days = 30\n')

    done = subprocess.run(
        [sys.executable, "-m", "kiosk.cli", "--config", str(config), "export", "--csv"],
        capture_output=True, text=True, timeout=60,
    )

    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 1 + len(kept)  # the header, then plain CSV
    first, forgotten = kept[0].occurred_at, len(everything) - len(kept)
    assert f"events from {first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC" in done.stderr
    assert f"{forgotten} older events" in done.stderr
    assert "export those from the central API" in done.stderr
