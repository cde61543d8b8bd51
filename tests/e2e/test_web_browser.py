"""The pages in a real browser (Chromium through Playwright): a phone, the keyboard,
nothing fetched from elsewhere."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from central.testing import running_server
from tests.support.browser import keep_local, screenshot


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server(str(tmp_path_factory.mktemp("web") / "central.sqlite3")) as url:
        yield url


def test_the_home_page_on_a_phone_needs_nothing_from_another_site(server: str, phone: Page) -> None:
    refused = keep_local(phone, server)
    phone.goto(server + "/")
    assert phone.locator("h1").inner_text() == "Le serveur de votre programme de fidélité"
    # the stylesheet applied: the skip link is moved off screen until it takes the focus
    assert phone.locator("a.skip").bounding_box()["x"] < 0  # type: ignore[index]
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, "the page scrolls sideways on a phone"
    assert refused == []
    screenshot(phone, "home-phone-fr")


def test_the_reader_switches_language_and_it_sticks(server: str, phone: Page) -> None:
    phone.goto(server + "/")
    phone.get_by_role("link", name="English").click()
    assert phone.locator("html").get_attribute("lang") == "en"
    phone.goto(server + "/")  # no ?lang= any more: the cookie remembers
    assert phone.locator("h1").inner_text() == "Your loyalty program's server"
    screenshot(phone, "home-phone-en")


def test_the_first_tab_offers_to_skip_to_the_content(server: str, desktop: Page) -> None:
    desktop.goto(server + "/")
    desktop.keyboard.press("Tab")
    focused = desktop.evaluate("document.activeElement.className")
    assert focused == "skip"
    assert desktop.locator("a.skip").bounding_box()["x"] >= 0  # type: ignore[index]
    desktop.keyboard.press("Enter")
    assert desktop.evaluate("document.activeElement.id") == "main"


def test_a_missing_page_is_a_plain_page_in_the_readers_language(server: str, desktop: Page) -> None:
    desktop.goto(server + "/?lang=en")
    answer = desktop.goto(server + "/no/such/page")
    assert answer is not None and answer.status == 404
    assert desktop.locator("h1").inner_text() == "Page not found"
    screenshot(desktop, "not-found-desktop-en")
    desktop.get_by_role("link", name="Back to the home page").click()
    assert desktop.url == server + "/"


def test_screenshots_are_written_where_the_readme_says(server: str, desktop: Page) -> None:
    desktop.goto(server + "/")
    saved = screenshot(desktop, "home-desktop-fr")
    assert saved.parent == Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
    assert saved.stat().st_size > 1000
