"""Staff corrections typed at the terminal: `kiosk adjust` and `kiosk replace`, recorded
with the staff ref, in the history and the export; `kiosk card` says what a tap says."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

from kiosk import config as config_module
from kiosk.core.perks import Customer
from kiosk.service import Counter
from tests.integration import test_cli
from tests.integration.test_cli import kiosk

config_file = test_cli.config_file  # the same kiosk: goal 4, welcome bonus 1, "free tea"

OLD, NEW = "04A1B2C3D4E5F6", "04A1B2C3D4E5F7"


def test_an_adjustment_is_recorded_with_its_reason_and_staff_ref_and_exported(config_file: Path):
    kiosk(config_file, "tap", OLD, "--at", "2026-01-05T09:00")  # 2 of 4
    done = kiosk(config_file, "adjust", OLD, "+1", "--reason", "stamp forgotten", "--staff", "anna",
                 "--at", "2026-01-05T10:00")
    assert done.returncode == 0, done.stderr
    assert "adjusted +1 (stamp forgotten)" in done.stdout and "stamps 3/4" in done.stdout
    assert "manual_adjustment" in kiosk(config_file, "history", OLD).stdout
    rows = list(csv.DictReader(io.StringIO(kiosk(config_file, "export", "--csv").stdout)))
    assert [(r["kind"], r["delta"], r["reward_id"], r["staff_ref"]) for r in rows][-1] == (
        "manual_adjustment", "1", "stamp forgotten", "anna")


def test_an_adjustment_below_zero_is_refused_and_records_nothing(config_file: Path):
    kiosk(config_file, "tap", OLD, "--at", "2026-01-05T09:00")  # 2 of 4
    refused = kiosk(config_file, "adjust", OLD, "-3", "--reason", "typo")
    assert refused.returncode == 1
    assert "fewer stamps than that takes off" in refused.stdout and "at most its balance" in refused.stdout
    assert "manual_adjustment" not in kiosk(config_file, "history", OLD).stdout


def test_an_adjustment_without_a_reason_says_how_to_give_one(config_file: Path):
    kiosk(config_file, "tap", OLD, "--at", "2026-01-05T09:00")
    blank = kiosk(config_file, "adjust", OLD, "2", "--reason", " ")
    assert blank.returncode == 1 and '--reason "' in blank.stderr and "nothing recorded" in blank.stderr


def test_a_replacement_moves_the_balance_blocks_the_old_card_and_refuses_a_second_time(
    config_file: Path,
):
    kiosk(config_file, "tap", OLD, "--at", "2026-01-05T09:00")
    kiosk(config_file, "tap", OLD, "--at", "2026-01-06T09:00")  # 3 of 4
    old_ref = kiosk(config_file, "card-ref", OLD).stdout.strip()
    moved = kiosk(config_file, "replace", old_ref, NEW, "--at", "2026-01-07T09:00")
    assert moved.returncode == 0, moved.stderr
    assert "3 stamps and 0 voucher(s) moved here" in moved.stdout
    assert "stamps    3/4" in kiosk(config_file, "card", NEW).stdout
    blocked = kiosk(config_file, "tap", OLD, "--at", "2026-01-08T09:00")
    assert "was replaced by another: not stamped" in blocked.stdout
    again = kiosk(config_file, "replace", OLD, NEW)
    assert again.returncode == 1 and "already replaced" in again.stdout
    history = kiosk(config_file, "history", NEW).stdout
    assert "balance_moved_in" in history


def test_replacing_with_a_card_that_has_stamps_needs_an_explicit_merge(config_file: Path):
    kiosk(config_file, "tap", OLD, "--at", "2026-01-05T09:00")  # 2
    kiosk(config_file, "tap", NEW, "--at", "2026-01-05T09:10")  # 2
    refused = kiosk(config_file, "replace", OLD, NEW)
    assert refused.returncode == 1 and "--merge" in refused.stdout
    assert "stamps    2/4" in kiosk(config_file, "card", NEW).stdout  # nothing added
    merged = kiosk(config_file, "replace", OLD, NEW, "--merge", "--at", "2026-01-05T10:00")
    assert merged.returncode == 0 and "stamps 4/4" in merged.stdout  # 2 + 2
    # a full card becomes its voucher at its next tap, as after a lowered goal
    assert "reward earned" in kiosk(config_file, "tap", NEW, "--at", "2026-01-06T09:00").stdout


def test_on_a_ladder_the_card_lists_the_rewards_the_tap_offered(tmp_path: Path):
    path = tmp_path / "kiosk.toml"
    path.write_text(
        f'[kiosk]\nstate_dir = "{tmp_path / "state"}"\nlocale = "en"\n'
        '[program]\ngoal = 6\nwelcome_bonus = 2\nmode = "ladder"\nreward = "lunch"\n'
        'milestones = [{ id = "drink", name = "a drink", stamps = 3 }]\n'
    )
    tap = kiosk(path, "tap", OLD, "--at", "2026-01-05T09:00").stdout  # 3 stamps
    assert "vouchers: 1\u00d7 a drink" in tap
    assert "vouchers  1x a drink" in kiosk(path, "card", OLD).stdout


def test_the_birthday_voucher_is_listed_by_its_name(tmp_path: Path):
    path = tmp_path / "kiosk.toml"
    path.write_text(
        f'[kiosk]\nstate_dir = "{tmp_path / "state"}"\nlocale = "fr"\n'
        '[program]\ngoal = 10\nbirthday_gift_id = "gateau"\nbirthday_gift = "part de gâteau"\n'
    )
    counter = Counter.open(config_module.load(str(path)))
    try:  # what a sync brings: the customer's birthday, with consent
        ref = counter.card_ref(bytes.fromhex(OLD))
        counter.ledger.set_customers({ref: Customer("Léa", date(1990, 1, 6), consent=True)})
    finally:
        counter.close()
    tap = kiosk(path, "tap", OLD, "--at", "2026-01-05T09:00").stdout
    assert "1\u00d7 part de gâteau" in tap
    card = kiosk(path, "card", OLD).stdout
    assert "1x part de gâteau" in card and "gateau" not in card.replace("gâteau", "")


def test_a_voucher_given_to_the_cause_at_the_terminal_leaves_the_card_as_a_donated_event(
    tmp_path: Path,
):
    giving = tmp_path / "giving.toml"
    giving.write_text(
        f'[kiosk]\nstate_dir = "{tmp_path / "state"}"\nlocale = "en"\n'
        '[program]\ngoal = 2\nwelcome_bonus = 1\nreward = "free tea"\ncause = "the food bank"\n'
    )
    nothing = kiosk(giving, "donate", OLD)
    assert nothing.returncode == 1 and "donated" not in kiosk(giving, "history", OLD).stdout
    kiosk(giving, "tap", OLD, "--at", "2026-01-05T09:00")  # 2 of 2: a voucher
    done = kiosk(giving, "donate", OLD, "--staff", "anna", "--at", "2026-01-05T10:00")
    assert done.returncode == 0, done.stderr
    assert "given to the food bank: free tea" in done.stdout
    rows = list(csv.DictReader(io.StringIO(kiosk(giving, "export", "--csv").stdout)))
    assert [(r["kind"], r["reward_id"], r["staff_ref"]) for r in rows][-1] == (
        "donated", "reward", "anna")
    again = kiosk(giving, "donate", OLD)
    assert again.returncode == 1 and "no voucher" in again.stdout.lower()


def test_a_program_without_a_cause_refuses_a_gift_and_says_how_to_name_one(config_file: Path):
    kiosk(config_file, "tap", OLD, "--at", "2026-01-05T09:00")
    refused = kiosk(config_file, "donate", OLD)
    assert refused.returncode == 1 and "names no cause" in refused.stdout
