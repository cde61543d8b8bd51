"""Finding a customer: by a consenting customer's first name, or by a card ref's end."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from central import store
from central.customer_search import MAX_QUERY, BadSearch, search
from central.db import Database, open_database
from central.testing import Client, add_kiosk, event_dict, running_server
from kiosk.core.events import EventKind
from tests.support.databases import BACKENDS, database_url
from tests.support.postgres import Cluster

ORG = 1  # the only organisation of a new server
CLAIRE = "c1" * 30 + "a1b2"
CLAUDE = "c2" * 30 + "99b2"
NOBODY = "d3" * 30 + "77b2"
HIDDEN = "e4" * 30 + "5555"


@pytest.fixture(scope="module", params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
       pg_cluster: Cluster | str) -> Iterator[Database]:
    """Four cards and three customers, on SQLite and on PostgreSQL in turn."""
    path = database_url(request.param, tmp_path_factory.mktemp("search"), pg_cluster)
    with running_server(path) as url:
        client = Client(url, add_kiosk(path, "counter-1"))
        now = datetime.now(UTC)
        batch = [event_dict("counter-1", ref, n, now, kind=EventKind.ENROLLED, delta=0)
                 for n, ref in enumerate((CLAIRE, CLAUDE, NOBODY, HIDDEN), 1)]
        answer = client.post_events(batch).json()
        assert {r["status"] for r in answer["results"]} == {"accepted"}
    found = open_database(path)
    store.set_customer(found, ORG, CLAIRE, {"first_name": "Claire", "consent": True}, now)
    store.set_customer(found, ORG, CLAUDE, {"first_name": "claude", "consent": True}, now)
    # details kept without consent are never searchable (nor shown to kiosks)
    store.set_customer(found, ORG, HIDDEN, {"first_name": "Clarisse", "consent": False}, now)
    yield found
    found.dispose()


def refs(db: Database, query: str) -> list[str]:
    return [found.card_ref for found in search(db, ORG, query)]


def test_a_first_name_is_found_by_its_start_whatever_the_case(db: Database) -> None:
    assert refs(db, "cla") == [CLAIRE, CLAUDE]
    assert refs(db, "CLAI") == [CLAIRE]
    assert search(db, ORG, "Claire")[0].first_name == "Claire"


def test_a_customer_who_did_not_consent_is_not_found_by_name(db: Database) -> None:
    assert HIDDEN not in refs(db, "Clar")


def test_a_card_is_found_by_the_end_of_its_ref(db: Database) -> None:
    assert refs(db, "77b2") == [NOBODY]
    assert refs(db, "B2") == []  # too short: it would match a crowd
    assert refs(db, "9b2") == []
    assert set(refs(db, "b2")) == set()
    assert refs(db, "a1b2") == [CLAIRE]


def test_a_card_found_by_ref_shows_only_a_consented_name(db: Database) -> None:
    [found] = search(db, ORG, "5555")
    assert found.card_ref == HIDDEN and found.first_name is None


def test_wildcards_typed_are_taken_literally(db: Database) -> None:
    assert refs(db, "%") == [] and refs(db, "_") == [] and refs(db, "c%") == []


def test_an_empty_search_finds_nothing_and_a_long_one_says_how_long_is_allowed(db: Database) -> None:
    assert refs(db, "   ") == []
    with pytest.raises(BadSearch, match=str(MAX_QUERY)):
        search(db, ORG, "x" * (MAX_QUERY + 1))
