"""A central database with a program, cards visited on given days through the real
upload path, and customers who gave (or did not give) their consent on their card's page."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime

from sqlalchemy import insert, select, update

from central import store
from central.consent import Purpose, column
from central.db import Database, customers, open_database, reading, writing
from central.program import from_toml
from central.testing import add_kiosk, event_dict
from central.validate import check_event
from central.writer import BatchWriter
from kiosk.core.events import EventKind


def card(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


class Shop:
    """One shop's central: `visit` uploads taps as a kiosk would, `agree` stores consent."""

    def __init__(self, db: Database, db_url: str, kiosk: str = "k1") -> None:
        self.db, self.url, self.kiosk = db, db_url, kiosk
        identity = store.authenticate(db, add_kiosk(db_url, kiosk))
        assert identity is not None
        self.identity, self.org, self.shop = identity, identity.org_id, identity.shop_id
        self._writer = BatchWriter(db)
        self._seq = 0

    def visit(self, card_ref: str, moments: Iterable[datetime]) -> None:
        """An enrolment at the first moment, then one stamp per moment."""
        kiosk = self.kiosk
        items = []
        for n, moment in enumerate(sorted(moments)):
            if n == 0:
                self._seq += 1
                items.append(event_dict(kiosk, card_ref, self._seq, moment,
                                        kind=EventKind.ENROLLED, delta=0))
            self._seq += 1
            items.append(event_dict(kiosk, card_ref, self._seq, moment))
        received = max(i["occurred_at"] for i in items)
        now = datetime.fromisoformat(received)
        checked = [check_event(item, kiosk, now) for item in items]
        done = self._writer.submit(self.identity, checked, now).result(timeout=30)
        assert all(r.status == "accepted" for r in done.results), done.results

    def agree(self, card_ref: str, now: datetime, *, email: str | None = None,
              purposes: Iterable[Purpose] = (), first_name: str | None = None,
              birthday: date | None = None, lang: str | None = None) -> None:
        """What a customer gives on their card's page: each detail and each purpose only
        when given (the customers table's columns, central.consent); `lang`: the language
        they chose for their e-mails."""
        chosen = set(purposes)
        values = {"first_name": first_name,
                  "birthday": None if birthday is None else birthday.isoformat(),
                  "consent": first_name is not None or birthday is not None,
                  "email": email, "updated_at": now.isoformat(), "consent_at": now.isoformat(),
                  "lang": lang,
                  **{column(p): p in chosen for p in Purpose}}
        where = (customers.c.org_id == self.org, customers.c.card_ref == card_ref)
        with writing(self.db) as conn:
            if not conn.execute(update(customers).where(*where).values(values)).rowcount:
                conn.execute(insert(customers).values(org_id=self.org, card_ref=card_ref,
                                                      **values))

    def purposes(self, card_ref: str) -> frozenset[Purpose]:
        """What the customer behind the card agreed to, as stored now."""
        with reading(self.db) as conn:
            row = conn.execute(select(customers).where(
                customers.c.org_id == self.org, customers.c.card_ref == card_ref)).first()
        return frozenset() if row is None else frozenset(
            p for p in Purpose if row._mapping[column(p)])

    def close(self) -> None:
        self._writer.close()


@contextmanager
def shop(db_url: str, program_toml: str, since: datetime) -> Iterator[Shop]:
    """A central database at `db_url` running the program (set at `since`)."""
    db = open_database(db_url)
    store.set_program(db, from_toml(program_toml), since)
    found = Shop(db, db_url)
    try:
        yield found
    finally:
        found.close()
        db.dispose()
