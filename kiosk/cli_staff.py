"""`kiosk adjust`, `kiosk replace` and `kiosk donate`: staff actions typed at the terminal.

The commands open the counter the way every `kiosk` command does (`kiosk.cli`, imported
when a command runs: that module registers these commands while it loads).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime
from typing import TextIO

from kiosk.core.cardid import is_card_ref
from kiosk.core.corrections import adjustment_problem
from kiosk.core.describe import describe
from kiosk.core.i18n import Locale
from kiosk.core.outcome import Donated, Outcome, Refused
from kiosk.errors import BadUid, KioskError
from kiosk.service import Counter

CLI_STAFF_REF = "cli"  # recorded as the staff ref of a correction typed at the terminal
EXIT_OK, EXIT_ERROR = 0, 1

Handler = Callable[[argparse.Namespace, TextIO], int]
Add = Callable[[str, Handler, str], argparse.ArgumentParser]


def named_card(counter: Counter, name: str) -> str:
    """The card_ref of a card named by its UID (hex) or by its card_ref (64 hex
    characters, as `kiosk card-ref` or the central print it: a lost card is not at hand)."""
    from kiosk.cli import _uid

    if is_card_ref(name.lower()):
        return name.lower()
    ref = counter.identify(_uid(name))
    if ref is None:
        raise BadUid(f"{name}: this UID cannot name a card (a phone's random ID or a blank ID)")
    return ref


def _report(outcome: Outcome, counter: Counter, locale: Locale, out: TextIO) -> int:
    from kiosk.cli import shown

    out.write(shown(describe(outcome, locale, counter.program.tz)) + "\n")
    return EXIT_ERROR if isinstance(outcome, Refused) else EXIT_OK


def cmd_adjust(args: argparse.Namespace, out: TextIO) -> int:
    from kiosk.cli import _opened

    problem = adjustment_problem(args.delta, args.reason)
    if problem is not None:
        raise KioskError(f"{problem}; nothing recorded")
    with _opened(args) as (counter, locale):
        ref = named_card(counter, args.card)
        outcome = counter.adjust(ref, args.delta, args.reason, args.staff, args.at)
        return _report(outcome, counter, locale, out)


def cmd_replace(args: argparse.Namespace, out: TextIO) -> int:
    from kiosk.cli import _opened

    with _opened(args) as (counter, locale):
        old, new = named_card(counter, args.old), named_card(counter, args.new)
        outcome = counter.replace(old, new, args.staff, args.at, merge=args.merge)
        return _report(outcome, counter, locale, out)


def cmd_donate(args: argparse.Namespace, out: TextIO) -> int:
    from kiosk.cli import _opened

    with _opened(args) as (counter, locale):
        ref = named_card(counter, args.card)
        outcome = counter.donate(ref, args.staff, args.reward, args.at)
        code = _report(outcome, counter, locale, out)
        return code if isinstance(outcome, Donated) else EXIT_ERROR


def add_staff_commands(add: Add, when: Callable[[str], datetime]) -> None:
    """Register `adjust`, `replace` and `donate` with the `kiosk` command's parser."""
    adjust = add("adjust", cmd_adjust, "add or take stamps (points) by hand, saying why")
    adjust.add_argument("card", help="card UID in hex, or its card_ref")
    adjust.add_argument("delta", type=int, help="stamps to add (e.g. 2) or take off (e.g. -1)")
    adjust.add_argument("--reason", required=True, help='why, e.g. "stamp forgotten on Monday"')
    adjust.add_argument("--staff", default=CLI_STAFF_REF, help="staff ref recorded with it")
    adjust.add_argument("--at", type=when, help="time of the adjustment (ISO 8601)")

    replace = add("replace", cmd_replace, "move a lost card's stamps and vouchers to a new "
                  "card and block the old one")
    replace.add_argument("old", help="the lost card: its UID in hex, or its card_ref")
    replace.add_argument("new", help="the new card: its UID in hex, or its card_ref")
    replace.add_argument("--merge", action="store_true",
                         help="the new card already holds stamps: add both balances together")
    replace.add_argument("--staff", default=CLI_STAFF_REF, help="staff ref recorded with it")
    replace.add_argument("--at", type=when, help="time of the replacement (ISO 8601)")

    donate = add("donate", cmd_donate, "give one of the card's vouchers to the program's cause")
    donate.add_argument("card", help="card UID in hex, or its card_ref")
    donate.add_argument("--reward", help="the reward id of the voucher to give (default: the "
                        "most valuable one the card holds)")
    donate.add_argument("--staff", default=CLI_STAFF_REF, help="staff ref recorded with it")
    donate.add_argument("--at", type=when, help="time of the gift (ISO 8601)")
