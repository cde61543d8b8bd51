"""When the sync worker writes its status notes to the ledger: at once when they say
something new, otherwise at most every STATUS_EVERY."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from kiosk.adapters.sync import LAST_ERROR, LAST_SUCCESS, ONLINE, STATUS_EVERY, status_worth_writing

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

# a round: seconds since the previous one, its error (None: success), whether it sent events
_ROUNDS = st.lists(
    st.tuples(st.integers(1, 1800), st.sampled_from([None, None, None, "refused", "timeout"]),
              st.booleans()),
    min_size=1, max_size=100,
)


@given(_ROUNDS)
def test_what_another_process_reads_is_current_but_for_a_last_success_at_most_status_every_old(
    rounds,
):
    now = T0
    notes: dict[str, str] = {}
    written: dict[str, str] = {}
    written_at = None
    for seconds, error, sent in rounds:
        now += timedelta(seconds=seconds)
        notes |= {ONLINE: "0" if error else "1", LAST_ERROR: error or ""}
        if error is None:
            notes[LAST_SUCCESS] = now.isoformat()
        if status_worth_writing(written, notes, written_at, now, sent and error is None):
            written, written_at = dict(notes), now
        assert written[ONLINE] == notes[ONLINE] and written[LAST_ERROR] == notes[LAST_ERROR]
        if LAST_SUCCESS in notes:
            behind = datetime.fromisoformat(notes[LAST_SUCCESS]) - datetime.fromisoformat(
                written.get(LAST_SUCCESS, T0.isoformat()))
            assert behind < STATUS_EVERY


@given(st.lists(st.integers(1, 600), min_size=1, max_size=300))
def test_an_idle_kiosk_writes_its_status_once_then_once_per_status_every(gaps):
    now = T0
    written: dict[str, str] = {}
    written_at = None
    writes = 0
    for gap in gaps:
        now += timedelta(seconds=gap)
        notes = {ONLINE: "1", LAST_ERROR: "", LAST_SUCCESS: now.isoformat()}
        if status_worth_writing(written, notes, written_at, now, wrote_events=False):
            written, written_at, writes = notes, now, writes + 1
    assert writes <= 1 + (now - T0) / STATUS_EVERY
