"""Dashboard accounts over real HTTP: signing in and out, throttling, CSRF, cookies, and
the line between a kiosk's token and an owner's session."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from central import accounts, cli
from central.testing import Client, add_kiosk, event_dict, running_server
from tests.support.accounts import PASSWORD, WebSession, add_owner

OWNER = "owner@example.org"


class Clock:
    """The server's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    url = str(tmp_path / "central.sqlite3")
    add_owner(url, OWNER)
    return url


@pytest.fixture
def server(db_url: str, clock: Clock) -> Iterator[str]:
    with running_server(db_url, clock=clock) as url:
        yield url


def test_a_signed_out_reader_is_sent_to_the_login_page_and_back_after_signing_in(server: str
                                                                                   ) -> None:
    web = WebSession(server)
    answer = web.get("/account/password?lang=en")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/account/password%3Flang%3Den"
    login = web.get(answer.headers["location"])
    assert 'name="next" value="/account/password?lang=en"' in login.text
    signed = web.submit(answer.headers["location"], "/login",
                        {"email": OWNER, "password": PASSWORD, "next": "/account/password?lang=en"})
    assert signed.status_code == 303 and signed.headers["location"] == "/account/password?lang=en"
    assert OWNER in web.get("/account/password").text


def test_after_signing_in_the_next_page_is_never_another_site(server: str) -> None:
    web = WebSession(server)
    signed = web.submit("/login", "/login",
                        {"email": OWNER, "password": PASSWORD, "next": "//evil.example/x"})
    assert signed.headers["location"] == "/dashboard"


def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(server: str) -> None:
    web = WebSession(server)
    wrong = web.sign_in(OWNER, "not the password", {"Accept-Language": "en"})
    unknown = web.sign_in("nobody@example.org", PASSWORD, {"Accept-Language": "en"})
    for answer in (wrong, unknown):
        assert answer.status_code == 401
        assert "Wrong email address or password." in answer.text
        assert "session" not in web.http.cookies
    # the email typed is kept in the form, the password never is
    assert f'value="{OWNER}"' in wrong.text and "not the password" not in wrong.text


def test_the_session_cookie_is_httponly_lax_and_not_readable_by_scripts(server: str) -> None:
    answer = WebSession(server).sign_in(OWNER)
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("session=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain HTTP here: a Secure cookie would never come back


def test_the_session_cookie_is_secure_when_the_proxy_says_the_request_came_over_https(
        server: str) -> None:
    # uvicorn believes X-Forwarded-Proto from the loopback address, where the proxy runs
    answer = WebSession(server).sign_in(OWNER, headers={"X-Forwarded-Proto": "https"})
    assert answer.status_code == 303
    assert "Secure" in answer.headers["set-cookie"]


def test_five_wrong_passwords_lock_the_account_for_fifteen_minutes_even_with_the_right_one(
        server: str, clock: Clock) -> None:
    web = WebSession(server)
    for _ in range(accounts.ACCOUNT_FAILURES):
        assert web.sign_in(OWNER, "guess guess guess").status_code == 401
    clock.now += timedelta(minutes=3)
    refused = web.sign_in(OWNER, PASSWORD, {"Accept-Language": "en"})
    assert refused.status_code == 429
    assert "Too many attempts, wait 12 minutes" in refused.text
    clock.now += timedelta(minutes=12)
    assert web.sign_in(OWNER, PASSWORD).status_code == 303


def test_one_address_trying_many_accounts_is_stopped_and_others_are_not(
        server: str, db_url: str) -> None:
    attacker = {"X-Forwarded-For": "203.0.113.7", "Accept-Language": "en"}
    web = WebSession(server)
    for n in range(accounts.ADDRESS_FAILURES):
        assert web.sign_in(f"guess{n}@example.org", "guess guess", attacker).status_code == 401
    refused = web.sign_in(OWNER, PASSWORD, attacker)
    assert refused.status_code == 429 and "wait 15 minutes" in refused.text
    # the owner, from their own address, is not locked out by someone else's guesses
    assert WebSession(server).sign_in(OWNER, PASSWORD,
                                      {"X-Forwarded-For": "198.51.100.2"}).status_code == 303


def test_a_login_form_post_without_its_token_is_refused(server: str) -> None:
    web = WebSession(server)
    web.get("/login")
    answer = web.post("/login", {"email": OWNER, "password": PASSWORD, "csrf_token": "forged"})
    assert answer.status_code == 400 and "session" not in web.http.cookies


def test_a_form_post_with_another_sessions_token_is_a_403(server: str) -> None:
    web, other = WebSession(server), WebSession(server)
    web.sign_in(OWNER)
    other.sign_in(OWNER)
    stolen = other.form_token("/account/password")
    answer = web.post("/logout", {"csrf_token": stolen})
    assert answer.status_code == 403 and "text/html" in answer.headers["content-type"]
    assert web.get("/account/password").status_code == 200  # still signed in


def test_signing_out_ends_the_session_on_the_server_not_just_in_the_browser(server: str) -> None:
    web = WebSession(server)
    web.sign_in(OWNER)
    kept = web.http.cookies["session"]
    answer = web.submit("/account/password", "/logout", {})
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
    replayed = Client(server).get("/account/password", headers={"Cookie": f"session={kept}"})
    assert replayed.status == 303


def test_a_session_ends_after_twelve_idle_hours(server: str, clock: Clock) -> None:
    web = WebSession(server)
    web.sign_in(OWNER)
    clock.now += timedelta(hours=11)
    assert web.get("/account/password").status_code == 200  # used: its end moves on
    clock.now += timedelta(hours=11)
    assert web.get("/account/password").status_code == 200
    clock.now += timedelta(hours=12, minutes=1)
    assert web.get("/account/password").status_code == 303


def test_changing_the_password_signs_out_every_other_session(server: str) -> None:
    here, elsewhere = WebSession(server), WebSession(server)
    here.sign_in(OWNER)
    elsewhere.sign_in(OWNER)
    new = "a much longer passphrase"
    answer = here.submit("/account/password", "/account/password",
                         {"current": PASSWORD, "new": new, "repeat": new},
                         {"Accept-Language": "en"})
    assert answer.status_code == 200 and "Password changed." in answer.text
    assert here.get("/account/password").status_code == 200
    assert elsewhere.get("/account/password").status_code == 303
    assert WebSession(server).sign_in(OWNER, PASSWORD).status_code == 401
    assert WebSession(server).sign_in(OWNER, new).status_code == 303


def test_a_password_change_with_a_wrong_current_password_changes_nothing(server: str) -> None:
    web = WebSession(server)
    web.sign_in(OWNER)
    answer = web.submit("/account/password", "/account/password",
                        {"current": "wrong wrong wrong", "new": "another passphrase",
                         "repeat": "another passphrase"}, {"Accept-Language": "en"})
    assert answer.status_code == 400 and "The current password is not right." in answer.text
    assert WebSession(server).sign_in(OWNER, PASSWORD).status_code == 303


def test_a_kiosk_token_never_opens_the_dashboard(server: str, db_url: str) -> None:
    token = add_kiosk(db_url, "kiosk-1")
    for path in ("/dashboard", "/account/password"):
        answer = Client(server, token).get(path)
        assert answer.status == 303 and answer.headers["location"].startswith("/login")


def test_an_owner_session_never_posts_events(server: str) -> None:
    web = WebSession(server)
    web.sign_in(OWNER)
    event = event_dict("kiosk-1", "a" * 64, 1, datetime(2026, 3, 2, 8, tzinfo=UTC))
    answer = web.http.post(server + "/v1/events", json={"events": [event]}, timeout=30)
    assert answer.status_code == 401
    assert answer.json() == {"detail": "unknown or revoked kiosk token"}


def test_add_owner_reads_the_password_from_standard_input(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]
                                                          ) -> None:
    url = str(tmp_path / "c.sqlite3")
    monkeypatch.setattr("sys.stdin", io.StringIO("a fine long password\n"))
    assert cli.main(["add-owner", "Boss@Example.org", "--db", url]) == 0
    assert "owner boss@example.org can sign in at /login" in capsys.readouterr().out
    with running_server(url) as base:
        assert WebSession(base).sign_in("boss@example.org", "a fine long password"
                                        ).status_code == 303


def test_add_owner_refuses_a_short_password_and_says_how_long_it_must_be(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = str(tmp_path / "c.sqlite3")
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert cli.main(["add-owner", "boss@example.org", "--db", url]) == 1
    assert f"at least {accounts.MIN_PASSWORD} characters" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("x" * 20 + "\n"))
    assert cli.main(["list-accounts", "--db", url]) == 0
    assert "no accounts" in capsys.readouterr().out


def test_an_email_is_one_account_whatever_its_case(tmp_path: Path) -> None:
    url = str(tmp_path / "c.sqlite3")
    add_owner(url, "Boss@example.org")
    with pytest.raises(accounts.AccountError, match="already exists"):
        add_owner(url, "boss@EXAMPLE.org")


def test_set_password_gives_a_new_password_and_clears_the_lock(
        server: str, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for _ in range(accounts.ACCOUNT_FAILURES):
        WebSession(server).sign_in(OWNER, "guess guess guess")
    monkeypatch.setattr("sys.stdin", io.StringIO("the operator's new one\n"))
    assert cli.main(["set-password", OWNER, "--db", db_url]) == 0
    assert WebSession(server).sign_in(OWNER, "the operator's new one").status_code == 303
