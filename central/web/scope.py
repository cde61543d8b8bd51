"""Which shops a dashboard account sees, and the one a page asks for (`?shop=ID`)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from starlette.exceptions import HTTPException

from central.accounts import Account
from central.db import Database, kiosks, reading, shops
from central.web.accounts import see_shop
from kiosk.core.wire import digits_only


@dataclass(frozen=True)
class Shop:
    id: int
    name: str


def shops_of(db: Database, account: Account) -> list[Shop]:
    """The organisation's shops the account may see (a manager: theirs alone)."""
    query = select(shops.c.id, shops.c.name).where(shops.c.org_id == account.org_id)
    if not account.is_owner:
        query = query.where(shops.c.id == account.shop_id)
    with reading(db) as conn:
        return [Shop(int(row.id), str(row.name)) for row in conn.execute(query.order_by(shops.c.name))]


def chosen_shop(account: Account, visible: list[Shop], asked: str | None) -> int | None:
    """The shop a page shows: the one asked for (403 for a manager's other shop, 404 for
    none of the organisation's), else a manager's own, else None (all shops)."""
    if asked in (None, "", "all"):
        return account.shop_id
    if not digits_only(asked) or len(asked) > 9:
        raise HTTPException(404)
    wanted = int(asked)
    see_shop(account, wanted)
    if wanted not in {s.id for s in visible}:
        raise HTTPException(404)
    return wanted


def kiosks_of(db: Database, shop: int) -> list[str]:
    """The ids of the shop's kiosks."""
    with reading(db) as conn:
        return [row.id for row in conn.execute(select(kiosks.c.id).where(kiosks.c.shop_id == shop))]
