"""Whether a ledger and a site key belong together (kiosk.core.binding), over every case."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kiosk.core.binding import BLANK, Holding, Verdict, fingerprint, verdict

keys = st.binary(min_size=32, max_size=32)
prints = st.none() | keys.map(fingerprint)
holdings = st.builds(Holding, fingerprint=prints, holds_data=st.booleans())


@given(ledger=holdings, record=prints)
def test_a_ledger_holding_anything_never_runs_without_its_key(ledger: Holding, record: str | None) -> None:
    if ledger != BLANK:
        assert verdict(None, ledger, record) is Verdict.KEY_MISSING


@given(key=prints, ledger=holdings, record=prints)
def test_only_a_blank_ledger_with_no_record_of_an_earlier_one_is_a_first_start(
    key: str | None, ledger: Holding, record: str | None
) -> None:
    assert (verdict(key, ledger, record) is Verdict.FRESH) == (ledger == BLANK and record is None)


@given(key=keys, ledger=keys, data=st.booleans(), record=prints)
def test_a_ledger_with_a_fingerprint_runs_only_with_the_key_it_names(
    key: bytes, ledger: bytes, data: bool, record: str | None
) -> None:
    judged = verdict(fingerprint(key), Holding(fingerprint(ledger), data), record)
    assert judged.runs == (key == ledger)


@given(key=keys, record=prints)
def test_a_key_whose_ledger_was_bound_and_is_now_blank_is_a_lost_ledger(
    key: bytes, record: str | None
) -> None:
    judged = verdict(fingerprint(key), BLANK, record)
    assert judged is (Verdict.FRESH if record is None else Verdict.LEDGER_LOST)


@given(key=keys, other=keys)
def test_the_fingerprint_names_one_key_and_does_not_hold_it(key: bytes, other: bytes) -> None:
    assert (fingerprint(key) == fingerprint(other)) == (key == other)
    assert key.hex() not in fingerprint(key)


def test_a_ledger_from_before_fingerprints_is_adopted_by_the_key_it_runs_with() -> None:
    key = fingerprint(b"k" * 32)
    assert verdict(key, Holding(None, holds_data=True), None) is Verdict.ADOPT
    assert verdict(key, Holding(None, holds_data=True), fingerprint(b"o" * 32)) is Verdict.KEY_OTHER
