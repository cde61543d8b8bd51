"""The dashboard in a real browser (Chromium) over figures made the real way: a kiosk on
simulated hardware taps cards and takes the till's baskets, syncs to a real central, and
the owner reads the Overview, the Kiosks page and the Export page, on a phone and a laptop.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Page

from sim.harness import wait_until
from sim.nfc import make_card
from tests.support import Central, central_server
from tests.support.accounts import add_owner, sign_in
from tests.support.app_runner import running_sim_app
from tests.support.ledger_files import event_ids
from tests.support.browser import keep_local, screenshot

OWNER = "owner@example.org"


@pytest.fixture(scope="module")
def central(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Central]:
    """A central that heard from one simulated kiosk: three cards, five visits (one card
    came back twice), six till tickets of which five had a card tapped."""
    root = tmp_path_factory.mktemp("dash")
    with central_server(root / "central") as server:
        add_owner(str(server.db), OWNER)
        token = server.token_file("counter-1")
        toml = f"""
[central]
url = "{server.url}"
token_file = "{token}"
interval = 0.2
read_timeout = 30
[till]
enabled = true
port = 0
[program]
name = "Café de la Gare"
version = "spring-1"
cooldown_minutes = 0
goal = 10
welcome_bonus = 0
timezone = "UTC"
"""
        cards = [make_card("ntag213", name=f"customer-{n}") for n in range(3)]
        (root / "kiosk").mkdir()
        with running_sim_app(root / "kiosk", toml, kiosk='id = "counter-1"') as run:
            till = run.parts.till
            assert till is not None
            host, port = till.address
            basket = f"http://{host}:{port}/v1/basket"
            requests.post(basket, json={"amount": 900}, timeout=10)  # paid without a card
            for card in (cards[0], cards[1], cards[2], cards[0], cards[0]):
                assert requests.post(basket, json={"amount": 1500}, timeout=10).status_code == 202
                run.tap(card)
            sync = run.parts.sync
            assert sync is not None
            ledger = root / "kiosk" / "state" / "ledger.sqlite3"
            # every event the kiosk recorded (enrolments and stamps) is at the central
            assert wait_until(lambda: sorted(server.event_ids("counter-1"))
                              == sorted(event_ids(ledger)), 30)
            assert wait_until(lambda: _tickets(server) == 6, 30)
        yield server


def _tickets(server: Central) -> int:
    import sqlite3

    with sqlite3.connect(server.db) as db:
        return int(db.execute("SELECT COALESCE(SUM(tickets), 0) FROM till_hours").fetchone()[0])


def tile(page: Page, name: str) -> str:
    return page.locator(f"#fig-{name} .value").inner_text()


def test_the_overview_counts_the_taps_made_at_the_kiosk(central: Central, desktop: Page) -> None:
    refused = keep_local(desktop, central.url)
    sign_in(desktop, central.url, OWNER)
    desktop.goto(central.url + "/dashboard?period=today&lang=en")
    assert tile(desktop, "visits") == "5"
    assert tile(desktop, "new-cards") == "3"
    assert tile(desktop, "return-visits") == "0"  # the second visits were the same day
    assert tile(desktop, "active") == "3"
    assert tile(desktop, "adoption") == "83 %"  # 5 visits with a card, 6 tickets
    assert tile(desktop, "basket-card") == "15.00 €"
    assert tile(desktop, "basket-other") == "9.00 €"
    assert desktop.locator("svg.chart").count() == 2
    desktop.get_by_label("Cost of one reward (€)").fill("2.50")
    desktop.get_by_label("Cost of one reward (€)").press("Enter")
    desktop.wait_for_url("**reward_cost=2.50**")
    assert "Extra revenue = tickets with a card" in desktop.locator("#roi-formula").inner_text()
    assert refused == []
    screenshot(desktop, "dashboard-overview-desktop-en")


def test_the_overview_on_a_phone_fits_its_width(central: Central, phone: Page) -> None:
    sign_in(phone, central.url, OWNER)
    phone.goto(central.url + "/dashboard?period=7")
    assert tile(phone, "visits") == "5"
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(phone, "dashboard-overview-phone-fr")


def test_the_kiosks_page_shows_the_kiosk_that_synced(central: Central, phone: Page) -> None:
    sign_in(phone, central.url, OWNER)
    phone.goto(central.url + "/dashboard/kiosks?lang=en")
    card = phone.locator("#kiosk-counter-1")
    assert card.locator(".reader").inner_text() == "online"
    assert card.locator(".program").inner_text() == "spring-1"
    assert card.locator(".pending").inner_text() == "0"
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(phone, "dashboard-kiosks-phone-en")


def test_the_export_page_downloads_the_events_as_csv(central: Central, desktop: Page,
                                                     tmp_path: Path) -> None:
    sign_in(desktop, central.url, OWNER)
    desktop.goto(central.url + "/dashboard/export?lang=en")
    screenshot(desktop, "dashboard-export-desktop-en")
    with desktop.expect_download() as started:
        desktop.get_by_role("button", name="Download the events (CSV)").click()
    saved = tmp_path / "events.csv"
    started.value.save_as(saved)
    lines = saved.read_text().splitlines()
    assert lines[0].startswith("id,kiosk_id,seq,card_ref,kind")
    assert sum(",stamp," in line for line in lines) == 5


def test_the_menu_reaches_every_page_with_the_keyboard(central: Central, desktop: Page) -> None:
    sign_in(desktop, central.url, OWNER)
    desktop.goto(central.url + "/dashboard?lang=en")
    desktop.get_by_role("link", name="Kiosks").focus()
    with desktop.expect_navigation():
        desktop.keyboard.press("Enter")
    assert desktop.url.endswith("/dashboard/kiosks")
    assert desktop.get_by_role("link", name="Kiosks").get_attribute("aria-current") == "page"
