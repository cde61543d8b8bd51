"""Merging the central's card states into the ledger's cache: whatever the central answers
(an upload's answer or a page of changed cards), the cached card is the server's state
with every event of this kiosk the server has not acknowledged yet folded on top."""

from __future__ import annotations

import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from functools import reduce
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.adapters.ledger import Ledger
from kiosk.core.events import CardState, Event, EventKind, apply, fold

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
CARD = "ab" * 32

# (kind, delta) of one event; stamps and staff undos, the events a card's balance is made of
moves = st.sampled_from([(EventKind.STAMP, 1), (EventKind.STAMP, 2), (EventKind.ADJUSTMENT, -1),
                         (EventKind.ENROLLED, 2)])


def _events(kiosk: str, made: list[tuple[EventKind, int]], start: int) -> list[Event]:
    return [Event(id=str(uuid.uuid4()), kiosk_id=kiosk, seq=start + n, card_ref=CARD, kind=kind,
                  delta=delta, reward_id=None, program_version="1",
                  occurred_at=T0 + timedelta(minutes=start + n))
            for n, (kind, delta) in enumerate(made)]


@settings(max_examples=60, deadline=None)
@given(
    ours=st.lists(moves, max_size=8),
    theirs=st.lists(moves, max_size=8),
    acknowledged=st.integers(0, 8),
    rejected=st.integers(0, 2),
    answered_twice=st.booleans(),
)
def test_the_cache_after_any_answer_is_the_server_state_with_every_pending_event_on_top(
    ours: list[tuple[EventKind, int]], theirs: list[tuple[EventKind, int]], acknowledged: int,
    rejected: int, answered_twice: bool,
) -> None:
    local = _events("here", ours, 1)
    other = _events("there", theirs, 100)
    acked = local[:acknowledged]
    refused = local[acknowledged:acknowledged + rejected]
    pending = local[acknowledged + rejected:]
    # the server holds the other counter's events and the ones of ours it acknowledged
    server = fold(CARD, [*other, *acked], UTC)
    with tempfile.TemporaryDirectory() as tmp, Ledger.open(Path(tmp) / "ledger.sqlite3") as ledger:
        if local:
            ledger.append(local)
        answers = 2 if answered_twice else 1  # an answer heard again changes nothing
        for _ in range(answers):
            ledger.settle([e.id for e in acked], {e.id: "refused" for e in refused}, [server],
                          T0 + timedelta(hours=1))
        assert ledger.card(CARD) == reduce(lambda state, e: apply(state, e, UTC), pending, server)
        # a later page of changed cards: the same rule, with nothing newly acknowledged
        ledger.settle((), {}, [server], T0 + timedelta(hours=2))
        assert ledger.card(CARD) == reduce(lambda state, e: apply(state, e, UTC), pending, server)


def test_a_pulled_card_unknown_here_is_cached_as_the_server_has_it(tmp_path: Path) -> None:
    server = fold(CARD, _events("there", [(EventKind.ENROLLED, 2), (EventKind.STAMP, 1)], 1), UTC)
    with Ledger.open(tmp_path / "ledger.sqlite3") as ledger:
        assert ledger.card(CARD) == CardState(card_ref=CARD)
        ledger.settle((), {}, [server], T0)
        assert ledger.card(CARD) == server and ledger.card(CARD).stamps == 3
