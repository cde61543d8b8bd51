"""A tap's screen drawn ahead while its commit syncs: shown only for the outcome it was
drawn for. The executor here draws at once, so no thread is involved."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any

from kiosk.core.outcome import RefusalReason, Refused
from kiosk.early_screen import EarlyScreen


class AtOnce(Executor):
    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        done: Future[Any] = Future()
        try:
            done.set_result(fn(*args, **kwargs))
        except Exception as error:
            done.set_exception(error)
        return done


def drawing(outcome: object) -> str:
    return f"screen of {id(outcome)}"


def test_the_screen_drawn_for_an_outcome_is_given_for_that_outcome_once():
    early: EarlyScreen[str] = EarlyScreen(AtOnce())
    outcome = Refused(reason=RefusalReason.RANDOM_ID)
    early.start(drawing, outcome)
    assert early.take(outcome) == drawing(outcome)
    assert early.take(outcome) is None


def test_a_screen_drawn_for_another_outcome_is_never_shown():
    early: EarlyScreen[str] = EarlyScreen(AtOnce())
    drawn_for = Refused(reason=RefusalReason.RANDOM_ID)
    shown = Refused(reason=RefusalReason.RANDOM_ID)  # equal, but another tap's
    early.start(drawing, drawn_for)
    assert early.take(shown) is None
    assert early.take(drawn_for) is None  # dropped on the way


def test_a_dropped_drawing_is_never_shown():
    early: EarlyScreen[str] = EarlyScreen(AtOnce())
    outcome = Refused(reason=RefusalReason.RANDOM_ID)
    early.start(drawing, outcome)
    early.drop()
    assert early.take(outcome) is None


def test_a_drawing_that_failed_leaves_the_display_to_draw_it_again():
    early: EarlyScreen[str] = EarlyScreen(AtOnce())
    outcome = Refused(reason=RefusalReason.RANDOM_ID)

    def broken(_: object) -> str:
        raise OSError("font file gone")

    early.start(broken, outcome)
    assert early.take(outcome) is None
