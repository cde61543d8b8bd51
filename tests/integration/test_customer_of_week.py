"""The customer of the week: the most visits this week among customers who agreed to be
shown, served to kiosks over real HTTP (as documented), and fetched by the sync worker."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jsonschema
import pytest

# the customers' e-mail address and consent per purpose come with the card page's schema
pytest.importorskip("central.consent", reason="central.consent (the customers' consent "
                    "columns) is not in this tree")

from central.consent import Purpose  # noqa: E402
from central.testing import Client, add_kiosk, running_server  # noqa: E402
from central.week import customer_of_the_week, week_start  # noqa: E402
from tests.support import kiosk_setup, worker_for  # noqa: E402
from tests.support.shop_data import Shop, card, shop  # noqa: E402

NOW = datetime(2026, 3, 20, 15, tzinfo=UTC)  # a Friday; the week began Monday 16 (Paris)
HOUR = timedelta(hours=1)
PROGRAM = 'version = "1"\nname = "Café Lune"\ngoal = 50\nwelcome_bonus = 0\n'
ANA, BOB, CLO = card("ana"), card("bob"), card("clo")
MONDAY = week_start(NOW, ZoneInfo("Europe/Paris"))


def visits(n: int, start: datetime = MONDAY + 9 * HOUR) -> list[datetime]:
    return [start + i * 3 * HOUR for i in range(n)]


def shown(cafe: Shop, who: str, name: str) -> None:
    cafe.agree(who, NOW - 10 * 24 * HOUR, first_name=name, purposes={Purpose.WEEK})


@pytest.fixture
def cafe(central_db: str) -> Iterator[Shop]:
    with shop(central_db, PROGRAM, NOW - 30 * 24 * HOUR) as found:
        yield found


def test_the_most_regular_customer_who_agreed_wins_and_one_who_did_not_is_passed_over(
    cafe: Shop
):
    cafe.visit(ANA, visits(3))
    cafe.visit(BOB, visits(5))  # more visits, but never agreed to be shown
    cafe.visit(CLO, visits(2))
    shown(cafe, ANA, "Ana")
    shown(cafe, CLO, "Clo")
    cafe.agree(BOB, NOW, first_name="Bob")  # a name for the greeting, not for the week
    found = customer_of_the_week(cafe.db, cafe.org, NOW)
    assert found is not None and (found.first_name, found.visits, found.week) == (
        "Ana", 3, "2026-W12")


def test_last_weeks_visits_do_not_count(cafe: Shop):
    cafe.visit(ANA, visits(6, MONDAY - 3 * 24 * HOUR))
    cafe.visit(CLO, visits(1))
    shown(cafe, ANA, "Ana")
    shown(cafe, CLO, "Clo")
    found = customer_of_the_week(cafe.db, cafe.org, NOW)
    assert found is not None and (found.first_name, found.visits) == ("Clo", 1)


def test_with_nobody_who_agreed_there_is_no_customer_of_the_week(cafe: Shop):
    cafe.visit(BOB, visits(5))
    assert customer_of_the_week(cafe.db, cafe.org, NOW) is None


def _served_schema(document: dict[str, Any]) -> dict[str, Any]:
    answer = document["paths"]["/v1/customer-of-the-week"]["get"]["responses"]["200"]
    schema = answer["content"]["application/json"]["schema"]
    return {**schema, "components": document["components"]}


def test_kiosks_get_it_over_http_as_documented_and_the_sync_worker_hands_it_on(
    cafe: Shop, tmp_path: Path
):
    cafe.visit(ANA, visits(3))
    with running_server(cafe.url, clock=lambda: NOW) as url:
        token = add_kiosk(cafe.url, "k2")
        client = Client(url, token)
        document = Client(url).get("/openapi.json").json()
        nobody = client.get("/v1/customer-of-the-week")
        assert nobody.status == 200
        assert nobody.json() == {"first_name": None, "visits": None, "week": "2026-W12"}
        jsonschema.validate(nobody.json(), _served_schema(document))
        shown(cafe, ANA, "Ana")
        answer = client.get("/v1/customer-of-the-week").json()
        jsonschema.validate(answer, _served_schema(document))
        assert answer == {"first_name": "Ana", "visits": 3, "week": "2026-W12"}
        assert Client(url, "not-a-token").get("/v1/customer-of-the-week").status == 401

        token_file = tmp_path / "k2.token"
        token_file.write_text(token + "\n")
        got: list[tuple[str, int] | None] = []
        worker = worker_for(kiosk_setup(tmp_path / "kiosk", url, token_file, "k2"),
                            on_week=got.append)
        try:
            report = worker.sync_once()
        finally:
            worker.close()
    assert report.error is None and got == [("Ana", 3)]
