"""Program drafts and published versions, kept in the central's database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from central import program as programs
from central import published, store
from central.db import Database, open_database

NOW = datetime(2026, 12, 2, 1, 30, tzinfo=UTC)
ORG = 1


@pytest.fixture
def db(central_db: str) -> Iterator[Database]:
    """A new central database, SQLite and PostgreSQL in turn."""
    opened = open_database(central_db)
    yield opened
    opened.dispose()


def fields(**changed: Any) -> dict[str, Any]:
    return programs.check({**programs.shipped_defaults(), "version": "v1", **changed})


def test_checking_the_same_program_twice_keeps_one_draft(db: Database) -> None:
    first = published.save_draft(db, ORG, fields(), "a@shop.fr", NOW)
    again = published.save_draft(db, ORG, fields(), "a@shop.fr", NOW + timedelta(minutes=1))
    assert first == again
    assert published.draft(db, ORG, first) == fields()
    assert published.save_draft(db, ORG, fields(goal=8), "a@shop.fr", NOW) != first


def test_another_organisations_draft_is_not_found(db: Database) -> None:
    found = published.save_draft(db, ORG, fields(), "a@shop.fr", NOW)
    assert published.draft(db, ORG + 1, found) is None
    with pytest.raises(store.StoreError, match="no longer kept"):
        published.publish(db, ORG + 1, found, "b@other.fr", NOW)


def test_publishing_makes_the_draft_current_and_records_who_and_when(db: Database) -> None:
    found = published.save_draft(db, ORG, fields(goal=8), "a@shop.fr", NOW)
    published.publish(db, ORG, found, "a@shop.fr", NOW + timedelta(minutes=5))
    assert store.current_program(db, ORG) == ("v1", fields(goal=8))
    [version] = published.history(db, ORG)
    assert (version.version, version.published_by, version.current) == ("v1", "a@shop.fr", True)
    assert version.set_at.startswith("2026-12-02T01:35")


def test_the_history_is_newest_first_and_names_the_command_line(db: Database) -> None:
    store.set_program(db, fields(), NOW)
    found = published.save_draft(db, ORG, fields(version="v2", goal=9), "a@shop.fr", NOW)
    published.publish(db, ORG, found, "a@shop.fr", NOW + timedelta(hours=1))
    history = published.history(db, ORG)
    assert [(v.version, v.published_by, v.current) for v in history] == [
        ("v2", "a@shop.fr", True), ("v1", published.BY_COMMAND_LINE, False)]


def test_a_version_tag_that_names_another_program_is_refused(db: Database) -> None:
    store.set_program(db, fields(), NOW)
    found = published.save_draft(db, ORG, fields(goal=7), "a@shop.fr", NOW)
    with pytest.raises(store.StoreError, match="new version"):
        published.publish(db, ORG, found, "a@shop.fr", NOW)
    assert store.current_program(db, ORG) == ("v1", fields())
    assert [v.published_by for v in published.history(db, ORG)] == [published.BY_COMMAND_LINE]


def test_publishing_the_current_program_again_records_nothing_new(db: Database) -> None:
    found = published.save_draft(db, ORG, fields(), "a@shop.fr", NOW)
    published.publish(db, ORG, found, "a@shop.fr", NOW)
    published.publish(db, ORG, found, "b@shop.fr", NOW + timedelta(hours=1))
    assert [(v.version, v.published_by) for v in published.history(db, ORG)] == [("v1", "a@shop.fr")]


def test_only_the_newest_drafts_are_kept(db: Database) -> None:
    ids = [published.save_draft(db, ORG, fields(goal=3 + n), "a@shop.fr", NOW + timedelta(seconds=n))
           for n in range(published.KEPT_DRAFTS + 2)]
    assert published.draft(db, ORG, ids[0]) is None and published.draft(db, ORG, ids[1]) is None
    assert published.draft(db, ORG, ids[2]) is not None and published.draft(db, ORG, ids[-1]) is not None


def test_an_earlier_version_can_be_published_again_under_its_own_tag(db: Database) -> None:
    first = published.publish(db, ORG, published.save_draft(db, ORG, fields(), "a@shop.fr", NOW),
                              "a@shop.fr", NOW)
    published.publish(db, ORG, published.save_draft(db, ORG, fields(version="v2", goal=6),
                                                    "a@shop.fr", NOW), "a@shop.fr", NOW)
    older = published.history(db, ORG)[1]
    assert published.version(db, ORG, older.number) == first
    again = published.save_draft(db, ORG, first, "b@shop.fr", NOW + timedelta(hours=2))
    published.publish(db, ORG, again, "b@shop.fr", NOW + timedelta(hours=2))
    assert store.current_program(db, ORG) == ("v1", first)
    assert [(v.version, v.published_by) for v in published.history(db, ORG)] == [
        ("v1", "b@shop.fr"), ("v2", "a@shop.fr")]
