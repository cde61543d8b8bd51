"""What the central counts: each event checked against what the program lets a kiosk do. Pure.

A kiosk token can post any event for any card, so a stolen kiosk could mint rewards. The
central counts an event only when the kiosk's own rules could have made it: a stamp no
bigger than one tap earns under the program, a reward only when the card's fold has the
stamps it costs, a redemption only of a voucher the card held (an offline double
redemption, one voucher redeemed at two kiosks, is counted and flagged as an overdraft).
Anything else is held for the owner's review: stored, answered `held`, never folded.

The bounds come from the kiosk's own modules (the program, its perks, the till's basket
cap), so the kiosk's limits and the central's are the same numbers.
"""

from __future__ import annotations

from kiosk.core.discount import parse_label
from kiosk.core.events import LINK_DIGEST, MAX_DELTA, CardState, Event, EventKind
from kiosk.core.perks import Basket, points_for
from kiosk.core.program import Mode, Program
from kiosk.core.till import MAX_AMOUNT, MAX_ITEMS
from kiosk.core.versions import conversion_changes


def largest_stamp(program: Program) -> int:
    """The most stamps (or points) one tap's `stamp` event can carry under `program`:
    its base (one stamp, or the points of the largest basket a till may send) times the
    highest tier multiplier times the strongest booster."""
    largest = Basket(amount=MAX_AMOUNT, items=MAX_ITEMS)
    base = points_for(program, largest) if program.uses_points else 1
    tier = max((t.multiplier for t in program.tiers), default=1)
    boost = max((b.multiplier for b in program.boosters), default=1)
    return base * tier * boost


def largest_undo(program: Program) -> int:
    """The most stamps a staff undo (`adjustment`) takes off: a tap's stamp and its
    surprise bonus."""
    return largest_stamp(program) + max((s.bonus for s in program.surprises), default=0)


def _reward_earned(program: Program | None, card: CardState, event: Event) -> str | None:
    cost = -event.delta
    if cost < 0:
        return f"a reward_earned adds {event.delta} stamps; earning a reward never adds any"
    if card.stamps < cost:
        return f"the card has {card.stamps} stamps, the reward costs {cost}"
    if program is None:
        return None
    reward = program.reward_by_id(event.reward_id or "")
    if reward is None:
        return f"{event.reward_id!r} is not a reward of program {program.version}"
    if reward in program.tier_vouchers:
        holder = next(t for t in program.tiers if t.voucher == reward)
        if cost or card.tier != holder.name:
            return f"{reward.id!r} comes free on reaching {holder.name}, and the card is not there"
        return None
    if reward in program.retired_rewards:
        return f"{reward.id!r} is retired in program {program.version}: its vouchers are redeemed, not earned"
    if reward == program.birthday_gift:
        if cost or card.birthday_at is None:
            return "a birthday gift comes free with a birthday bonus, and the card has none"
        return None
    milestone = program.mode is Mode.CARD and reward in program.milestones
    if cost == reward.stamps or (milestone and cost == 0):
        return None if card.stamps >= reward.stamps else (
            f"the card has {card.stamps} stamps, {reward.id!r} needs {reward.stamps}")
    return f"{reward.id!r} costs {reward.stamps} stamps, not {cost}"


def _voucher_taken(program: Program | None, card: CardState, event: Event) -> str | None:
    """A redemption or a revocation: only of a voucher the card earned."""
    rid = event.reward_id or ""
    if program is not None and program.reward_by_id(rid) is None:
        return f"{rid!r} is not a reward of program {program.version}"
    ever = card.earned.get(rid, 0) - card.revoked.get(rid, 0)
    if event.kind is EventKind.REWARD_REVOKED:
        reward = None if program is None else program.reward_by_id(rid)
        if event.delta < 0 or reward is not None and event.delta not in (0, reward.stamps):
            return f"revoking {rid!r} gives back {event.delta} stamps, not what it cost"
        return None if ever > 0 else f"the card never earned {rid!r}"
    if event.delta:
        return f"a redemption moves no stamps, this one moves {event.delta}"
    held = card.vouchers(rid)
    # one voucher redeemed offline at two kiosks is counted: the card shows the overdraft
    if held > 0 or (held == 0 and ever > 0):
        return None
    return f"the card holds no {rid!r} voucher"


_CORRECTIONS = frozenset({
    EventKind.MANUAL_ADJUSTMENT, EventKind.CARD_REPLACED, EventKind.BALANCE_MOVED_IN,
    EventKind.VOUCHER_MOVED_OUT, EventKind.VOUCHER_MOVED_IN, EventKind.CONVERTED,
})


def _correction(program: Program | None, card: CardState, event: Event) -> str | None:
    """Staff corrections and conversions: never more than the card holds, never a
    conversion the program does not say. (A balance or voucher moved in is checked
    against what its old card gave, by central.moves: the old card is folded apart.)"""
    kind, delta = event.kind, event.delta
    if kind is EventKind.MANUAL_ADJUSTMENT:
        if card.stamps + delta < 0:
            return f"an adjustment of {delta} leaves the card at {card.stamps + delta} stamps"
        return _bounded("a manual adjustment", delta, -MAX_DELTA, MAX_DELTA)
    if kind is EventKind.CARD_REPLACED:
        return _bounded("a replaced card's balance", -delta, 0, max(0, card.stamps))
    if kind is EventKind.BALANCE_MOVED_IN:
        return _bounded("a balance moved in", delta, 0, MAX_DELTA)
    if kind is EventKind.VOUCHER_MOVED_OUT and card.vouchers(event.reward_id or "") <= 0:
        return f"the card holds no {event.reward_id!r} voucher to move"
    if kind in (EventKind.VOUCHER_MOVED_OUT, EventKind.VOUCHER_MOVED_IN):
        return _bounded("a voucher move", delta, 0, 0)
    if program is None:
        return _bounded("a conversion", delta, -MAX_DELTA, MAX_DELTA)
    expected = conversion_changes(program, card)
    if expected and expected[0].delta == delta and expected[0].reward_id == event.reward_id:
        return None
    return f"program {program.version} converts no balance of this card by {delta}"


def _bounded(name: str, delta: int, low: int, high: int) -> str | None:
    if low <= delta <= high:
        return None
    return f"{name} of {delta} stamps, the program allows {low} to {high}"


def _card_link(event: Event) -> str | None:
    digest = event.reward_id or ""
    if event.delta or not (len(digest) == LINK_DIGEST and all(c in HEX for c in digest)):
        return (f"a card_link event carries {LINK_DIGEST} lowercase hex characters and no "
                "stamps")
    return None


HEX = frozenset("0123456789abcdef")


def _discount(program: Program | None, event: Event) -> str | None:
    """A till's discount: no stamps, a percent one of the program's tiers gives, and no
    more cents than that percent of the largest basket a till may send."""
    found = parse_label(event.reward_id)
    if event.delta or found is None:
        return 'a discount event carries "PERCENT%:CENTS" (e.g. "10%:125") and no stamps'
    percent, cents = found
    if cents > MAX_AMOUNT * percent // 100:
        return f"a discount of {cents} cents is more than {percent} % of the largest basket"
    if program is not None and percent not in {t.discount_percent for t in program.tiers}:
        return f"no tier of program {program.version} gives {percent} % off"
    return None


def implausible(program: Program | None, card: CardState, event: Event) -> str | None:
    """Why `event` cannot come from the kiosk's rules under `program`, given `card` (the
    card's fold before it); None when it is counted. Without a program (none set at the
    central) only what the fold alone shows is checked."""
    kind, delta = event.kind, event.delta
    if kind in (EventKind.REFERRAL, EventKind.LINK_REVOKED):
        return f"only the central makes {kind.value} events, never a kiosk"
    if kind is EventKind.DONATED:  # given at the counter: a redemption, to the shop's cause
        if program is not None and program.cause is None:
            return f"program {program.version} names no cause to give a voucher to"
        return _voucher_taken(program, card, event)
    if kind is EventKind.CARD_LINK:
        return _card_link(event)
    if kind is EventKind.DISCOUNT:
        return _discount(program, event)
    if kind is EventKind.REWARD_EARNED:
        return _reward_earned(program, card, event)
    if kind in (EventKind.REWARD_REDEEMED, EventKind.REWARD_REVOKED):
        return _voucher_taken(program, card, event)
    if kind is EventKind.EXPIRED:
        return _bounded("an expiry", delta, -MAX_DELTA, 0)
    if kind is EventKind.TIER_CHANGED:
        return _bounded("a tier change", delta, 0, 0)
    if kind in _CORRECTIONS:
        return _correction(program, card, event)
    if program is None:
        return _bounded("an adjustment", delta, -MAX_DELTA, 0) if kind is EventKind.ADJUSTMENT else None
    if kind is EventKind.STAMP:
        return _bounded("a stamp", delta, 0, largest_stamp(program))
    if kind is EventKind.ADJUSTMENT:
        return _bounded("an adjustment", delta, -largest_undo(program), 0)
    if kind is EventKind.ENROLLED:
        return _bounded("a welcome bonus", delta, 0, program.welcome_bonus)
    if kind is EventKind.BIRTHDAY:
        return _bounded("a birthday bonus", delta, 0, program.birthday_bonus)
    # a surprise bonus: exactly the bonus of the visit it names
    if any(event.reward_id == f"visit-{s.visit}" and delta == s.bonus for s in program.surprises):
        return None
    return f"no surprise of the program gives {delta} stamps as {event.reward_id!r}"
