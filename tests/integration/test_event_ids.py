"""Every event a kiosk records is named by a random UUID (version 4), as the central expects."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kiosk.service import Counter
from tests.support.kiosk_config import make_config

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def test_each_recorded_event_has_its_own_version_4_uuid_in_the_usual_text_form(
    tmp_path: Path,
) -> None:
    counter = Counter.open(make_config(tmp_path))
    for n in range(40):
        counter.tap(bytes([4, n, 2, 3, 4, 5, 6]), T0 + timedelta(minutes=n))
    ids = [event.id for event in counter.ledger.events()]
    counter.close()
    assert len(ids) == 80 and len(set(ids)) == 80  # an enrolment and a stamp per card
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
