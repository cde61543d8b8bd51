"""Program changes that never strand a card. Pure: no I/O, no clock.

Each event carries the program version it was decided under, and a new version carries
what the kiosk must know of the older ones (`Program.retired_rewards`, `switched_in`,
`unit_versions`), so a tap under a new program never waits on the network:

- a lowered goal: a card holding more stamps than the new goal turns them into a
  voucher at its next tap (`rules._reward_changes` counts full cards, not crossings);
- a raised goal: the card keeps its stamps;
- a removed reward: its vouchers stay redeemable under their old name;
- stamps to points (or back): refused unless the program says how many points a stamp
  is worth; a card's old balance converts once, at its next tap.

    >>> old = Program(version="1", reward_id="coffee", reward_name="coffee")
    >>> new = Program(version="2", reward_id="tea", reward_name="tea")
    >>> [r.name for r in carried(old, new).retired_rewards]
    ['coffee']
"""

from __future__ import annotations

import dataclasses

from kiosk.core.events import MAX_DELTA, CardState, Change, EventKind
from kiosk.core.program import MAX_RETIRED, MAX_UNIT_VERSIONS, Program, Reward


class UnconvertedSwitch(ValueError):
    """A new version counts points where the old one counted stamps (or back) and does
    not say how a card's balance converts."""


def switch_problem(old: Program, new: Program) -> str | None:
    """Why `new` cannot follow `old`, or None."""
    if old.uses_points != new.uses_points and not new.points_per_stamp:
        way = "stamps to points" if new.uses_points else "points to stamps"
        return (
            f"points_per_stamp: this version switches from {way}; say how many points one "
            "stamp is worth (points_per_stamp = 50, say) so every card's balance converts"
        )
    # a card's conversion is one event: a full card's stamps must fit in it as points
    if new.uses_points and not old.uses_points and (old.goal - 1) * new.points_per_stamp > MAX_DELTA:
        most = MAX_DELTA // max(1, old.goal - 1)
        return (
            f"points_per_stamp: at most {most} for cards of {old.goal} stamps (a conversion "
            f"carries at most {MAX_DELTA} points)"
        )
    return None


def _retired(old: Program, new: Program) -> tuple[Reward, ...]:
    """Rewards `old` honoured that `new` no longer offers, newest kept when too many."""
    offered = {r.id for r in new.voucher_rewards if r not in new.retired_rewards}
    kept: dict[str, Reward] = {}
    for reward in (*old.retired_rewards, *old.rewards, *_gift(old)):
        if reward.id not in offered:
            kept.pop(reward.id, None)
            kept[reward.id] = reward
    return tuple(kept.values())[-MAX_RETIRED:]


def _gift(program: Program) -> tuple[Reward, ...]:
    return () if program.birthday_gift is None else (program.birthday_gift,)


def carried(old: Program | None, new: Program) -> Program:
    """`new` as it must be served after `old`: with the rewards whose vouchers cards still
    hold and, across a switch of unit, what converts a card's balance. Raises
    UnconvertedSwitch when the switch does not say how."""
    if old is None:
        return new
    problem = switch_problem(old, new)
    if problem is not None:
        raise UnconvertedSwitch(problem)
    history: dict[str, object] = {"retired_rewards": _retired(old, new)}
    if old.uses_points != new.uses_points:
        history.update(switched_in=new.version, unit_versions=(new.version,))
    elif old.switched_in is not None:
        since = (*[v for v in old.unit_versions if v != new.version], new.version)
        if len(since) <= MAX_UNIT_VERSIONS:
            history.update(
                switched_in=old.switched_in,
                unit_versions=since,
                points_per_stamp=new.points_per_stamp or old.points_per_stamp,
            )
        # past that many versions, every card has long had its chance to convert
    return dataclasses.replace(new, **history)  # type: ignore[arg-type]


def conversion_changes(program: Program, card: CardState) -> tuple[Change, ...]:
    """The one conversion of a card whose balance is in the unit of a version before the
    switch (stamps times `points_per_stamp` into points, or points divided back into
    whole stamps); nothing for a card converted already or enrolled since."""
    switched = program.switched_in
    if switched is None or switched in card.converted or not card.enrolled:
        return ()
    if not card.versions - set(program.unit_versions):
        return ()
    rate = program.points_per_stamp
    balance = max(0, card.stamps)
    converted = balance * rate if program.uses_points else balance // rate
    delta = max(-MAX_DELTA, min(MAX_DELTA, converted - balance))
    return (Change(EventKind.CONVERTED, delta, switched),)
