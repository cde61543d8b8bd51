"""The questions asked during opening hours (today's figures, the outbox, the cards to
refresh) give the same answers as counting the whole journal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from kiosk.core.staff import todays_figures
from kiosk.service import Counter
from tests.support.kiosk_config import make_config

PARIS = ZoneInfo("Europe/Paris")
# the night the clocks go forward in Paris: the local day of 29 March has 23 hours
DST_DAY_START = datetime(2026, 3, 28, 23, 0, tzinfo=UTC)  # 00:00 in Paris
DST_DAY_END = datetime(2026, 3, 29, 22, 0, tzinfo=UTC)  # 00:00 the next day in Paris


def _uid(n: int) -> bytes:
    return bytes.fromhex(f"04{n:012x}")


def _counter(tmp_path: Path) -> Counter:
    return Counter.open(make_config(
        tmp_path, program={"cooldown_minutes": 0, "timezone": "Europe/Paris"}
    ))


def test_todays_figures_count_the_shops_local_day_across_midnight_and_a_clock_change(tmp_path):
    counter = _counter(tmp_path)
    second = timedelta(seconds=1)
    moments = [
        DST_DAY_START - timedelta(days=3),
        DST_DAY_START - second,  # 23:59:59 the day before, in Paris
        DST_DAY_START,
        DST_DAY_START + timedelta(hours=2, minutes=30),  # just after the clocks jumped
        DST_DAY_END - second,
    ]
    for n, moment in enumerate(moments):
        counter.tap(_uid(n % 3), moment)

    on_the_day = counter.todays_figures(DST_DAY_END - second).figures
    counter.tap(_uid(0), DST_DAY_END)  # already the next local day
    next_day = counter.todays_figures(DST_DAY_END).figures

    pending = counter.ledger.outbox().pending
    every = counter.ledger.events()
    assert next_day == todays_figures(every, DST_DAY_END, PARIS, pending)
    assert on_the_day == todays_figures(every, DST_DAY_END - second, PARIS, pending - 1)
    assert on_the_day is not None and on_the_day.visits == 3
    assert next_day is not None and next_day.visits == 1
    counter.close()


def test_the_outbox_counts_pending_rejected_and_synced_events_as_the_journal_does(tmp_path):
    counter = _counter(tmp_path)
    start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    for n in range(12):
        counter.tap(_uid(n % 4), start + timedelta(hours=n))
    events = counter.ledger.events()
    synced = [e.id for e in events[:10]]
    rejected = {e.id: "held for review" for e in events[10:13]}
    counter.ledger.settle(synced, rejected, (), start)
    counter.ledger.settle(synced[:4], {}, (), start)  # an answer repeated changes nothing

    box = counter.ledger.outbox()

    pending = [e for e in events if e.id not in synced and e.id not in rejected]
    assert (box.pending, box.rejected, box.synced) == (len(pending), 3, 10)
    assert box.oldest_pending == min(e.occurred_at for e in pending)
    assert [e.id for e, _ in counter.ledger.rejected(newest=2)] == list(rejected)[1:]
    counter.close()


def test_the_cards_to_refresh_are_those_of_the_newest_events_from_a_bounded_read(tmp_path):
    counter = _counter(tmp_path)
    start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    for n, card in enumerate([1, 2, 3, 2, 4, 4, 1]):
        counter.tap(_uid(card), start + timedelta(hours=n))
    refs = {card: counter.card_ref(_uid(card)) for card in (1, 2, 3, 4)}

    assert counter.ledger.recent_card_refs(3, scan=100) == [refs[1], refs[4], refs[2]]
    # each tap of a known card is one stamp event: the newest 3 events hold 2 cards
    assert counter.ledger.recent_card_refs(3, scan=3) == [refs[1], refs[4]]
    counter.close()
