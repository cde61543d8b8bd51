"""The Program and Customers pages in a real browser (Chromium through Playwright): a
program edit with a mistake, its preview and its publication picked up by a real kiosk's
sync worker; a customer found and erased on a phone; the keyboard alone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Page

from central import program as programs
from central import store
from central.db import open_database
from central.testing import Client, add_kiosk, event_dict
from kiosk.adapters.ledger import Ledger
from kiosk.core.events import EventKind
from kiosk.served import PROGRAM_ETAG, PROGRAM_JSON
from tests.support import Central, central_server, kiosk_setup, worker_for
from tests.support.accounts import add_owner, sign_in
from tests.support.browser import keep_local, screenshot

OWNER = "owner@cafe.example"
LEA = "5e" * 30 + "1ea5"


@pytest.fixture(scope="module")
def central(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Central]:
    with central_server(tmp_path_factory.mktemp("owner-browser")) as server:
        add_owner(str(server.db), OWNER)
        now = datetime.now(UTC)
        token = add_kiosk(str(server.db), "counter-1")
        batch = [event_dict("counter-1", LEA, 1, now, kind=EventKind.ENROLLED, delta=0),
                 event_dict("counter-1", LEA, 2, now)]
        assert Client(server.url, token).post_events(batch).status == 200
        db = open_database(str(server.db))
        store.set_customer(db, 1, LEA, {"first_name": "Léa", "consent": True}, now)
        store.set_program(db, programs.check({**programs.shipped_defaults(), "version": "autumn-1",
                                              "name": "Café Lune"}), now)
        db.dispose()
        yield server


def no_sideways_scroll(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_a_program_edit_with_a_mistake_then_a_publish_that_a_kiosk_picks_up(
        central: Central, desktop: Page, tmp_path: Path) -> None:
    config = kiosk_setup(tmp_path / "state", central.url, central.token_file("kiosk-pick"),
                         "kiosk-pick")
    worker = worker_for(config)
    assert worker.sync_once().program_updated  # the kiosk runs autumn-1
    refused = keep_local(desktop, central.url)
    sign_in(desktop, central.url, OWNER)
    desktop.goto(central.url + "/program?lang=en")
    desktop.get_by_label("Stamps for the reward").fill("5000")
    desktop.get_by_label("Version", exact=True).fill("winter-1")
    desktop.locator("#f-goal").press("Enter")  # the form is sent from the keyboard
    error = desktop.locator("#e-goal")
    assert error.inner_text() == "goal: Input should be less than or equal to 1000"
    assert desktop.locator("#f-goal").get_attribute("aria-invalid") == "true"
    screenshot(desktop, "program-error-desktop-en")

    desktop.get_by_label("Stamps for the reward").fill("8")
    with desktop.expect_navigation():
        desktop.locator("form[action='/program/form'] button[type=submit]").click()
    assert "/program/drafts/" in desktop.url
    changed = desktop.locator("table").first.inner_text()
    assert "goal\t10\t8" in changed and 'version\t"autumn-1"\t"winter-1"' in changed
    images = desktop.locator("img.oled")
    assert images.count() == 16
    # every preview is loaded at the panel's own size and drawn 2x without smoothing
    for index in range(images.count()):
        image = images.nth(index)
        natural = image.evaluate("i => [i.complete, i.naturalWidth, i.naturalHeight]")
        assert natural[0] and natural[1] == 128 and natural[2] in (32, 64)
        assert image.evaluate("i => getComputedStyle(i).imageRendering") == "pixelated"
    screenshot(desktop, "program-preview-desktop-en")
    with desktop.expect_navigation():
        desktop.get_by_role("button", name="Publish version winter-1").click()
    assert desktop.locator("[role=status]").first.inner_text() == "Version winter-1 published."
    screenshot(desktop, "program-published-desktop-en")
    assert refused == []

    report = worker.sync_once()
    worker.close()
    assert report.ok and report.program_updated
    with Ledger.open(config.kiosk.ledger_path) as ledger:
        assert ledger.get_meta(PROGRAM_ETAG) == '"winter-1"'
        assert json.loads(ledger.get_meta(PROGRAM_JSON) or "{}")["goal"] == 8


def test_a_customer_found_and_erased_on_a_phone(central: Central, phone: Page) -> None:
    refused = keep_local(phone, central.url)
    sign_in(phone, central.url, OWNER)
    phone.goto(central.url + "/customers")
    phone.get_by_label("Chercher un client").fill("lé")
    phone.get_by_label("Chercher un client").press("Enter")
    phone.wait_for_url("**/customers?q=*")
    assert no_sideways_scroll(phone)
    screenshot(phone, "customers-search-phone-fr")
    with phone.expect_navigation():
        phone.get_by_role("link", name="Léa").click()
    assert phone.locator("h1").inner_text().startswith("Léa")
    assert no_sideways_scroll(phone)
    screenshot(phone, "customer-card-phone-fr")
    erase = phone.get_by_role("button", name="Effacer les données personnelles")
    with phone.expect_navigation():
        erase.click()  # not confirmed: refused, nothing erased
    assert phone.get_by_role("alert").inner_text() == "Cochez la case pour confirmer l'effacement."
    # confirmed from the keyboard: Space ticks the box, Tab reaches the button, Enter sends
    phone.get_by_label("Je confirme : cet effacement est définitif.").focus()
    phone.keyboard.press("Space")
    phone.keyboard.press("Tab")
    with phone.expect_navigation():
        phone.keyboard.press("Enter")
    assert "effacées" in phone.locator("[role=status]").inner_text()
    assert "Léa" not in phone.locator("main").inner_text()
    screenshot(phone, "customer-erased-phone-fr")
    assert refused == []


def test_the_program_page_on_a_phone_and_by_keyboard(central: Central, phone: Page) -> None:
    sign_in(phone, central.url, OWNER)
    phone.goto(central.url + "/program")
    assert no_sideways_scroll(phone)
    screenshot(phone, "program-phone-fr")
    # from the top, Tab reaches the skip link first, then every field in reading order
    phone.keyboard.press("Tab")
    assert phone.evaluate("document.activeElement.className") == "skip"
    phone.locator("#f-name").focus()
    seen = []
    for _ in range(8):
        seen.append(phone.evaluate("document.activeElement.id"))
        phone.keyboard.press("Tab")
    assert seen == ["f-name", "f-version", "f-reward", "f-goal", "f-welcome_bonus",
                    "f-cooldown_minutes", "f-daily_cap", "f-timezone"]
    # then the form's button, with a visible focus ring
    assert phone.evaluate("document.activeElement.tagName") == "BUTTON"
    assert phone.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
