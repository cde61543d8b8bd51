"""A real browser for the web pages' tests: Playwright driving the system's Chromium.

Nothing is downloaded: Chromium is Debian's (`apt-get install chromium`), launched by its
path. Screenshots go to test-output/screenshots/, to be looked at after a run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, Route, sync_playwright
from playwright.sync_api import Error as PlaywrightError

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}
MISSING = "no Chromium: install Debian's chromium (apt-get install chromium) or set KIOSK_CHROMIUM"


def chromium_path() -> str | None:
    """The Chromium to drive: $KIOSK_CHROMIUM, else the first one on PATH."""
    named = os.environ.get("KIOSK_CHROMIUM")
    if named:
        return named if Path(named).exists() else None
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def screenshot(page: Page, name: str) -> Path:
    """Save what the page shows now as test-output/screenshots/NAME.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    target = SCREENSHOTS / f"{name}.png"
    page.wait_for_load_state("load")
    try:
        page.screenshot(path=str(target), full_page=True)
    except PlaywrightError:
        # Chromium now and then cannot capture a page still settling after a form's
        # navigation ("Unable to capture screenshot"); the picture is for people to look
        # at, so it is taken again once the page is idle
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(target), full_page=True)
    return target


def keep_local(page: Page, base_url: str) -> list[str]:
    """Refuse every request that leaves `base_url`'s host; returns the list of those
    refused, so a test can assert a page needs nothing from elsewhere."""
    home = urlsplit(base_url).netloc
    refused: list[str] = []

    def route(found: Route) -> None:
        url = found.request.url
        if urlsplit(url).netloc == home or url.startswith("data:"):
            found.continue_()
        else:
            refused.append(url)
            found.abort()

    page.route("**/*", route)
    return refused


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """The session's browser. Skips with one line where Chromium is missing; under CI
    (which installs it) a missing browser fails instead."""
    path = chromium_path()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(MISSING)
        pytest.skip(MISSING)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def phone(chromium: Browser) -> Iterator[Page]:
    """A fresh page (own cookies) at a phone's size, touch and all, in a French browser."""
    context = chromium.new_context(viewport=PHONE, has_touch=True, is_mobile=True, locale="fr-FR")
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def desktop(chromium: Browser) -> Iterator[Page]:
    """A fresh page (own cookies) at a laptop's size, in a French browser."""
    context = chromium.new_context(viewport=DESKTOP, locale="fr-FR")
    try:
        yield context.new_page()
    finally:
        context.close()
