"""Writer threads that commit the uploads waiting at that moment in one transaction.

Every commit costs an fsync (synchronous=FULL), so with fifty kiosks syncing at once the
server would spend most of its time waiting on the disk one batch after another. Here the
batches that queued up meanwhile share a transaction. Each batch stays whole: a group
commits all of its batches or none, and an upload is answered only after its commit. If
one batch of a group fails, the others are written again one by one, so a bad batch
never sinks its neighbours.

On PostgreSQL a process has several writer threads, and a group holds its cards' locks
until its commit. A writer therefore leaves out of its group the uploads that name a card
another writer of the same process is writing (or an upload left out before it names):
they wait in the queue, in their order, for a later group instead of for the other
group's commit inside the database, and the writer meanwhile writes the uploads it can.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime

from central.cardcache import CardCache
from central.db import Database, writing
from central.ingest import Ingested, write_batch
from central.orgs import Kiosk
from central.validate import Checked

log = logging.getLogger("central.writer")

# PostgreSQL's answers when two server processes wrote the same thing at once: a unique
# key (the same event id from a kiosk's retry), a deadlock, a serialization failure.
# Written again, the transaction sees the other's commit (a duplicate, not an error).
RACES = frozenset({"23505", "40P01", "40001"})
RETRIES = 5
POSTGRESQL_WRITERS = 4  # writer threads per server process on PostgreSQL
# psycopg warns when it closes the batch (pipeline) such a lost race aborted; the writer
# writes the batch again, so that is no news for the operator
logging.getLogger("psycopg").setLevel(logging.ERROR)


def _lost_a_race(error: BaseException) -> bool:
    return getattr(getattr(error, "orig", None), "sqlstate", None) in RACES


Key = tuple[int, str]  # (organisation id, card ref), as central.cardcache keys a card


@dataclass
class _Job:
    kiosk: Kiosk
    checked: Sequence[Checked]
    now: datetime
    future: Future[Ingested] = field(default_factory=Future)
    cards: frozenset[Key] = field(init=False)  # the cards its events name

    def __post_init__(self) -> None:
        self.cards = frozenset((self.kiosk.org_id, item.event.card_ref)
                               for item in self.checked if item.event is not None)


class BatchWriter:
    """Queue checked batches; `submit` returns a future resolved after the commit."""

    # up to one batch from each of fifty kiosks per commit: a card touched by several
    # of them is written once, and one fsync covers them all
    def __init__(self, db: Database, max_group: int = 50) -> None:
        self.db = db
        self.max_group = max_group
        # used by the writer thread only; PostgreSQL has other writers: no cache there
        self.cards = CardCache(shared=not db.is_sqlite)
        self._queued: deque[_Job] = deque()
        self._writing: set[Key] = set()  # the cards of the groups being written
        self._closing = False
        self._changed = threading.Condition()  # a job queued, a group done, closing
        # SQLite takes one writer at a time. PostgreSQL takes several: while one group
        # waits on the database (each statement is a round trip), another is worked on.
        count = 1 if db.is_sqlite else POSTGRESQL_WRITERS
        self._threads = [threading.Thread(target=self._run, name=f"central-writer-{n}",
                                          daemon=True) for n in range(count)]
        for thread in self._threads:
            thread.start()

    def submit(self, kiosk: Kiosk, checked: Sequence[Checked], now: datetime
               ) -> Future[Ingested]:
        job = _Job(kiosk, checked, now)
        with self._changed:
            self._queued.append(job)
            self._changed.notify()
        return job.future

    def close(self) -> None:
        """Finish the queued batches, then stop the threads."""
        with self._changed:
            self._closing = True
            self._changed.notify_all()
        for thread in self._threads:
            thread.join(timeout=30)

    def _run(self) -> None:
        while (group := self._take_group()) is not None:
            try:
                self._write(group)
            except Exception as error:  # never a silent end of a writer: answer and go on
                log.exception("a group of uploads could not be answered")
                for job in group:
                    if not job.future.done():
                        job.future.set_exception(error)
            finally:
                with self._changed:
                    self._writing.difference_update(card for job in group for card in job.cards)
                    self._changed.notify_all()

    def _take_group(self) -> list[_Job] | None:
        """The next group (up to max_group queued uploads, in their order, none naming a
        card another group is being written with); None once closing and nothing is left."""
        with self._changed:
            while True:
                group = self._free_jobs()
                if group:
                    for job in group:
                        self._writing.update(job.cards)
                    return group
                if self._closing and not self._queued:
                    return None
                self._changed.wait()

    def _free_jobs(self) -> list[_Job]:
        # under self._changed. A job left out keeps its place at the queue's head, and its
        # cards stay out of this group too: each card's uploads are written in their order.
        group: list[_Job] = []
        left_out: list[_Job] = []
        waiting: set[Key] = set()  # the cards of the jobs left out
        while self._queued and len(group) < self.max_group:
            job = self._queued.popleft()
            if self._writing.isdisjoint(job.cards) and waiting.isdisjoint(job.cards):
                # an upload whose request went away meanwhile is not written (its kiosk
                # sends it again); once running, its answer can no longer be cancelled
                if job.future.set_running_or_notify_cancel():
                    group.append(job)
            else:
                waiting.update(job.cards)
                left_out.append(job)
        self._queued.extendleft(reversed(left_out))
        return group

    def _write(self, group: list[_Job], attempt: int = 1) -> None:
        try:
            with writing(self.db) as conn:
                cards = self.cards.session(conn)
                # every card of the group at once, in one sorted order: two processes'
                # groups then wait for each other at worst, never deadlock batch by batch
                # (the uploads of one process's groups name no card in common: see
                # _free_jobs; a held move released mid-way may still lock another card,
                # and a deadlock that makes is written again as a lost race)
                wanted = sorted(set().union(*(job.cards for job in group)))
                for org in sorted({org for org, _ref in wanted}):
                    cards.get(org, [ref for owner, ref in wanted if owner == org])
                answers = [write_batch(conn, j.kiosk, j.checked, j.now, cards) for j in group]
                cards.flush()
            self.cards.committed(cards)
        except Exception as error:  # the group is retried one batch at a time
            # not needed for correctness (the cache takes folds only after a commit, and the
            # generation tag tells if a commit that raised landed): a cheap fresh start
            self.cards.clear()
            if len(group) == 1 and attempt < RETRIES and _lost_a_race(error):
                # another process wrote the same event or card first: read again
                self._write(group, attempt + 1)
                return
            if len(group) == 1:
                log.error("an upload could not be written: %s", error.__class__.__name__)
                group[0].future.set_exception(error)
                return
            for job in group:
                self._write([job])
            return
        for job, answer in zip(group, answers, strict=True):
            job.future.set_result(answer)

