"""Signing in to the dashboard in a real browser (Chromium): a wrong password, the lock
after too many, the keyboard alone, a phone, signing out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from central import accounts
from central.testing import running_server
from tests.support.accounts import PASSWORD, add_owner, sign_in
from tests.support.browser import keep_local, screenshot

OWNER = "owner@example.org"
LOCKED = "locked@example.org"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = str(tmp_path_factory.mktemp("login") / "central.sqlite3")
    add_owner(url, OWNER)
    add_owner(url, LOCKED)
    with running_server(url) as base:
        yield base


def test_a_wrong_password_says_so_and_keeps_the_email(server: str, phone: Page) -> None:
    refused = keep_local(phone, server)
    phone.goto(server + "/dashboard")
    assert phone.url.startswith(server + "/login")
    phone.get_by_label("Adresse e-mail").fill(OWNER)
    phone.get_by_label("Mot de passe").fill("not my password")
    phone.get_by_role("button", name="Se connecter").click()
    assert phone.get_by_role("alert").inner_text() == "Adresse e-mail ou mot de passe incorrect."
    assert phone.get_by_label("Adresse e-mail").input_value() == OWNER
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    assert refused == []
    screenshot(phone, "login-wrong-password-phone-fr")


def test_too_many_wrong_passwords_tell_how_long_to_wait(server: str, desktop: Page) -> None:
    desktop.goto(server + "/login?lang=en")
    for _ in range(accounts.ACCOUNT_FAILURES):
        desktop.get_by_label("Email address").fill(LOCKED)
        desktop.get_by_label("Password").fill("guess guess guess")
        desktop.get_by_role("button", name="Sign in").click()
        desktop.get_by_role("alert").wait_for()
    desktop.get_by_label("Password").fill(PASSWORD)
    desktop.get_by_role("button", name="Sign in").click()
    assert desktop.get_by_role("alert").inner_text() == (
        "Too many attempts, wait 15 minutes, then try again.")
    screenshot(desktop, "login-throttled-desktop-en")


def test_signing_in_and_out_with_the_keyboard_alone(server: str, desktop: Page) -> None:
    desktop.goto(server + "/login?lang=en")
    desktop.get_by_label("Email address").focus()
    desktop.keyboard.type(OWNER)
    desktop.keyboard.press("Tab")
    desktop.keyboard.type(PASSWORD)
    with desktop.expect_navigation():
        desktop.keyboard.press("Enter")
    assert desktop.url == server + "/dashboard"
    assert "Signed in: owner@example.org" in desktop.locator("header").inner_text()
    desktop.get_by_role("button", name="Sign out").focus()
    with desktop.expect_navigation():
        desktop.keyboard.press("Enter")
    assert desktop.url == server + "/login"
    desktop.goto(server + "/dashboard")
    assert desktop.url.startswith(server + "/login")


def test_the_shared_sign_in_helper_lands_on_the_dashboard_on_a_phone(server: str,
                                                                    phone: Page) -> None:
    sign_in(phone, server, OWNER)
    assert phone.url == server + "/dashboard"
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    shot = screenshot(phone, "dashboard-signed-in-phone-fr")
    assert shot.parent == Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
