"""The originality check end to end: the App over the simulator with `originality_check`
on; virtual NTAGs sign their UID with the simulator's test key, whose public half the
config names; a magic clone answers zeros or refuses READ_SIG."""

from __future__ import annotations

from pathlib import Path

from kiosk.core.outcome import Outcome, OutcomeKind, RefusalReason, Refused
from sim.cards import MagicNtag, Ntag21x, VirtualCard, originality_public_key
from sim.nfc import make_card
from tests.support.app_runner import EMPTY_POLLS, RunningApp, running_sim_app

UID = bytes.fromhex("04A1B2C3D4E5F6")
CHECK = f'originality_check = true\noriginality_key = "{originality_public_key().hex()}"'


def tap(run: RunningApp, card: VirtualCard) -> Outcome:
    """The card stays until its outcome is decided (its signature takes a moment), then goes."""
    count = len(run.outcomes)
    run.field.place(card)
    outcome = run.wait_outcome(count + 1)
    run.field.remove()
    assert run.field.wait_polls(EMPTY_POLLS, timeout=10)
    return outcome


def test_a_genuine_ntag_is_stamped_and_its_clone_is_refused_with_its_own_screen(tmp_path: Path) -> None:
    with running_sim_app(tmp_path, reader=CHECK) as run:
        assert tap(run, Ntag21x(UID)).kind is OutcomeKind.WELCOME
        for clone in (MagicNtag(UID), MagicNtag(UID, signature=None)):
            refused = tap(run, clone)
            assert refused == Refused(reason=RefusalReason.NOT_ORIGINAL)
            assert not refused.changes  # nothing recorded for the clone
        assert run.parts.counter.known_card(UID).visits == 1


def test_cards_without_a_signature_are_not_asked_and_count_as_before(tmp_path: Path) -> None:
    with running_sim_app(tmp_path, reader=CHECK) as run:
        assert tap(run, make_card("mifare-classic-1k", name="paul")).kind is OutcomeKind.WELCOME
        assert tap(run, make_card("felica", name="yuki")).kind is OutcomeKind.WELCOME


def test_a_genuine_ntag_lifted_before_its_signature_is_read_is_asked_to_tap_again(
    tmp_path: Path,
) -> None:
    with running_sim_app(tmp_path, reader=CHECK) as run:
        run.field.place(Ntag21x(UID))
        run.field.remove_when(lambda frame: frame[:1] == b"\x3c")  # gone before READ_SIG
        lifted = run.wait_outcome(1)
        assert lifted == Refused(reason=RefusalReason.UNREADABLE)
        assert not lifted.changes
        assert run.field.wait_polls(EMPTY_POLLS, timeout=10)
        assert tap(run, Ntag21x(UID)).kind is OutcomeKind.WELCOME


def test_without_the_check_a_clone_counts_as_its_original(tmp_path: Path) -> None:
    with running_sim_app(tmp_path) as run:
        assert tap(run, Ntag21x(UID)).kind is OutcomeKind.WELCOME
        assert not isinstance(tap(run, MagicNtag(UID)), Refused)
