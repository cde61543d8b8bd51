"""What the owner sees of the messages: how many of each kind went out, failed or were
skipped (the dashboard shows them with central.web.messages.counts_table)."""

from __future__ import annotations

from datetime import datetime

from central.db import Database, reading
from central.messages import outbox
from central.messages.rules import counts_by_kind


def counts_per_kind(db: Database, org: int, since: datetime | None = None
                    ) -> dict[str, dict[str, int]]:
    """{kind: {status: messages}} for the organisation's messages queued since `since`
    (all when None); every
    kind is present, statuses only when counted. "sending" and "unknown" count as pending
    and failed for the owner (both are rare: a sender at work, or one that died)."""
    with reading(db) as conn:
        rows = outbox.counts(conn, org, since)
    folded = {outbox.SENDING: outbox.PENDING, outbox.UNKNOWN: outbox.FAILED,
              outbox.STALE: outbox.FAILED}
    return counts_by_kind((kind, folded.get(status, status)) for kind, status in rows)
