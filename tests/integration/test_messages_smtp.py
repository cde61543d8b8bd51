"""The mail server adapter against a real SMTP server in the test process (aiosmtpd)."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest

from central.messages.compose import Composer, envelope
from central.messages.rules import Kind
from central.messages.smtp import Mailer, Refused, SmtpSettings, Unavailable, Unreachable, Unusable
from tests.support.mailbox import Mailbox, mail_server, self_signed

NOW = datetime(2026, 3, 20, 10, tzinfo=UTC)
URL = "https://loyalty.cafe.example/unsubscribe/tok"


def letter_to(address: str, kind: Kind = Kind.WINBACK) -> object:
    letter = Composer("Café Lune").letter(kind, "fr", {"days": 61}, "Ana", URL)
    return envelope(letter, sender="Café Lune <hello@cafe.example>", to=address,
                    message_id="abc123", unsubscribe_url=URL, now=NOW)


def test_a_message_arrives_with_its_subject_both_parts_and_one_click_unsubscribe_headers():
    with mail_server() as box, Mailer(SmtpSettings("127.0.0.1", box.port)) as mail:
        mail.send(letter_to("ana@example.org"))
    (got,) = box.to("ana@example.org")
    assert got["Subject"] == "Café Lune : vous nous manquez"
    assert got["Message-ID"] == "<abc123@cafe.example>"
    assert got["List-Unsubscribe"] == f"<{URL}>"
    assert got["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = got.get_body(("plain",)).get_content()
    html = got.get_body(("html",)).get_content()
    assert "Bonjour Ana," in text and "61 jours" in text and URL in text
    assert "<p>Bonjour Ana,</p>" in html and f'href="{URL}"' in html


def test_a_mailbox_refused_for_good_is_a_refusal_and_the_session_goes_on():
    with mail_server(Mailbox(refuse={"gone@example.org"})) as box, \
            Mailer(SmtpSettings("127.0.0.1", box.port)) as mail:
        with pytest.raises(Refused, match="550"):
            mail.send(letter_to("gone@example.org"))
        mail.send(letter_to("ana@example.org"))
    assert [m["To"] for m in box.received] == ["ana@example.org"]


def test_a_temporary_refusal_is_worth_another_try():
    with mail_server(Mailbox(busy={"full@example.org"})) as box, \
            Mailer(SmtpSettings("127.0.0.1", box.port)) as mail, \
            pytest.raises(Unavailable, match="451"):
        mail.send(letter_to("full@example.org"))


def test_no_mail_server_listening_is_unreachable_and_names_host_and_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with Mailer(SmtpSettings("127.0.0.1", port, timeout=5)) as mail, \
            pytest.raises(Unreachable, match=f"127.0.0.1:{port}"):
        mail.send(letter_to("ana@example.org"))


def test_starttls_is_used_when_offered_and_the_login_goes_over_it(tmp_path: Path):
    cert, key = self_signed(tmp_path)
    with mail_server(tls=(cert, key), login=("shop", "s3cret")) as box:
        settings = SmtpSettings("127.0.0.1", box.port, username="shop", password="s3cret",
                                ca_file=str(cert))
        with Mailer(settings) as mail:
            mail.send(letter_to("ana@example.org"))
    assert len(box.received) == 1


def test_a_wrong_password_makes_the_settings_unusable_not_the_address(tmp_path: Path):
    cert, key = self_signed(tmp_path)
    with mail_server(tls=(cert, key), login=("shop", "s3cret")) as box:
        settings = SmtpSettings("127.0.0.1", box.port, username="shop", password="wrong",
                                ca_file=str(cert))
        with Mailer(settings) as mail, pytest.raises(Unusable, match="--smtp-user"):
            mail.send(letter_to("ana@example.org"))
    assert box.received == []


def test_a_password_is_never_sent_to_a_remote_server_that_offers_no_tls():
    # 127.0.0.2 is this machine too, but not an address the mailer treats as local
    with mail_server(host="127.0.0.2") as box:
        settings = SmtpSettings("127.0.0.2", box.port, username="shop", password="s3cret")
        with Mailer(settings) as mail, pytest.raises(Unusable, match="no STARTTLS"):
            mail.send(letter_to("ana@example.org"))
    assert box.received == []


@pytest.mark.parametrize("field,value,message", [
    ("port", 0, "smtp port"), ("timeout", 0, "smtp timeout"), ("host", "", "smtp host")])
def test_settings_out_of_bounds_are_refused_naming_the_setting(field: str, value: object,
                                                              message: str):
    values: dict[str, object] = {"host": "mail.example", "port": 587, "timeout": 30,
                                 field: value}
    with pytest.raises(ValueError, match=message):
        SmtpSettings(**values)  # type: ignore[arg-type]
