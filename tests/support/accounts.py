"""Dashboard accounts for tests: make one, sign in through the real login form.

    add_owner(db_url, "owner@example.org", PASSWORD)
    sign_in(page, base_url, "owner@example.org", PASSWORD)      # a Playwright page
    web = WebSession(base_url); web.sign_in("owner@example.org", PASSWORD)  # plain HTTP
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape

import requests
from playwright.sync_api import Page

from central import accounts
from central.db import open_database

PASSWORD = "correct horse battery"
ORG = 1  # the organisation of a single shop's server


def add_account(db_url: str, email: str, password: str = PASSWORD, *, role: str = "owner",
                org_id: int = ORG, shop_id: int | None = None) -> int:
    db = open_database(db_url)
    try:
        return accounts.add_account(db, email, password, role, org_id, shop_id, datetime.now(UTC))
    finally:
        db.dispose()


def add_owner(db_url: str, email: str, password: str = PASSWORD, *, org_id: int = ORG) -> int:
    """An owner of the organisation (every shop); returns the account's id."""
    return add_account(db_url, email, password, org_id=org_id)


def add_manager(db_url: str, email: str, shop_id: int, password: str = PASSWORD, *,
                org_id: int = ORG) -> int:
    """A manager of one shop; returns the account's id."""
    return add_account(db_url, email, password, role="manager", org_id=org_id, shop_id=shop_id)


def sign_in(page: Page, base_url: str, email: str, password: str = PASSWORD) -> None:
    """Sign in through the login form as a person would; the page ends on the dashboard."""
    page.goto(base_url + "/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    with page.expect_navigation():
        page.locator("form.login button[type=submit]").click()
    if "/login" in page.url:
        raise AssertionError(f"signing in as {email} failed: {page.locator('main').inner_text()}")


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class WebSession:
    """A browser without a browser (requests): cookies kept, redirects not followed, forms
    posted with the token of the form they came from."""

    def __init__(self, base_url: str) -> None:
        self.base = base_url
        self.http = requests.Session()

    def get(self, path: str, headers: dict[str, str] | None = None) -> requests.Response:
        return self.http.get(self.base + path, headers=headers, allow_redirects=False,
                             timeout=30)

    def post(self, path: str, fields: dict[str, str], headers: dict[str, str] | None = None
             ) -> requests.Response:
        return self.http.post(self.base + path, data=fields, headers=headers,
                              allow_redirects=False, timeout=30)

    def form_token(self, path: str) -> str:
        """The CSRF token of the form on the page at `path`."""
        found = CSRF.search(self.get(path).text)
        assert found, f"no form token on {path}"
        return unescape(found.group(1))

    def submit(self, page_path: str, action: str, fields: dict[str, str],
               headers: dict[str, str] | None = None) -> requests.Response:
        """Post `fields` to `action` with the token of the form shown at `page_path`."""
        return self.post(action, {"csrf_token": self.form_token(page_path), **fields}, headers)

    def sign_in(self, email: str, password: str = PASSWORD,
                headers: dict[str, str] | None = None) -> requests.Response:
        return self.submit("/login", "/login", {"email": email, "password": password}, headers)
