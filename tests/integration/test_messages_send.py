"""`kiosk-central send-messages` end to end: real database, real uploads, a real SMTP server
in the test process (aiosmtpd), and the outbox's promises (each occasion once, at most once
across a crash, bounces not retried, a broken template stopping nothing)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

# the customers' e-mail address and consent per purpose come with the card page's schema
pytest.importorskip("central.consent", reason="central.consent (the customers' consent "
                    "columns) is not in this tree")
from sqlalchemy import select  # noqa: E402
from sqlalchemy.engine import Connection  # noqa: E402

from central.cardcache import full_state  # noqa: E402
from central.cli import main  # noqa: E402
from central.consent import Purpose  # noqa: E402
from central.db import card_states, writing  # noqa: E402
from central.db import outbox as outbox_table  # noqa: E402
from central.messages import outbox  # noqa: E402
from central.messages.directory import recipients, withdraw  # noqa: E402
from central.messages.owner import counts_per_kind  # noqa: E402
from central.messages.rules import Due, Kind, Policy, due  # noqa: E402
from central.messages.sender import (  # noqa: E402
    Settings,
    deliver,
    organisations_with_programs,
    plan,
    run,
)
from central.messages.smtp import Mailer, SmtpSettings  # noqa: E402
from central.web.i18n import translator  # noqa: E402
from central.web.messages import counts_table  # noqa: E402
from central.web.pages import Pages  # noqa: E402
from kiosk.core.events import CardState  # noqa: E402
from kiosk.core.program import Program  # noqa: E402
from tests.support.mailbox import Mailbox, mail_server  # noqa: E402
from tests.support.shop_data import Shop, card, shop  # noqa: E402

NOW = datetime(2026, 3, 20, 10, tzinfo=UTC)  # a Friday morning, Paris
DAY = timedelta(days=1)
PROGRAM = """
version = "1"
name = "Café Lune"
goal = 20
welcome_bonus = 0
expiry = "inactivity"
expiry_days = 90
expiry_warn_days = 14
"""
ANA, BOB, CLO = card("ana"), card("bob"), card("clo")


def settings(box: Mailbox, **policy: int) -> Settings:
    return Settings(smtp=SmtpSettings("127.0.0.1", box.port), sender="Café Lune <hi@cafe.example>",
                    base_url="https://loyalty.cafe.example",
                    policy=Policy(winback_days=30, **policy))


@pytest.fixture
def cafe(central_db: str) -> Iterator[Shop]:
    with shop(central_db, PROGRAM, NOW - 200 * DAY) as found:
        yield found


def lapsed(cafe: Shop, who: str, email: str, *purposes: Purpose) -> None:
    """A customer last seen 80 days ago (stamps expire in 10 days; 80 days away)."""
    cafe.visit(who, [NOW - 82 * DAY, NOW - 80 * DAY])
    cafe.agree(who, NOW - 81 * DAY, email=email, purposes=purposes or tuple(Purpose)[:2])


def program_of(cafe: Shop) -> Program:
    (found,) = [program for org, program in organisations_with_programs(cafe.db)
                if org == cafe.org]
    return found


def statuses(cafe: Shop) -> dict[str, str]:
    with writing(cafe.db) as conn:
        return {r.kind: r.status for r in conn.execute(select(outbox_table.c.kind,
                                                              outbox_table.c.status))}


def test_a_lapsed_customer_gets_the_expiry_reminder_and_the_win_back_and_nobody_else_does(
    cafe: Shop
):
    lapsed(cafe, ANA, "ana@example.org")
    cafe.visit(BOB, [NOW - 80 * DAY])  # no consent at all
    lapsed(cafe, CLO, "clo@example.org", Purpose.REMINDERS)  # reminders only
    with mail_server() as box:
        report = run(cafe.db, settings(box), lambda: NOW)
    assert report.queued == 3 and report.done == {"sent": 3} and not report.trouble
    assert sorted(m["Subject"] for m in box.to("ana@example.org")) == [
        "Café Lune : 2 tampons expirent le 30/03/2026", "Café Lune : vous nous manquez"]
    assert [m["Subject"] for m in box.to("clo@example.org")] == [
        "Café Lune : 2 tampons expirent le 30/03/2026"]
    assert counts_per_kind(cafe.db, cafe.org)["expiry"] == {"sent": 2}


def test_running_again_sends_nothing_twice(cafe: Shop):
    lapsed(cafe, ANA, "ana@example.org")
    with mail_server() as box:
        run(cafe.db, settings(box), lambda: NOW)
        again = run(cafe.db, settings(box), lambda: NOW + timedelta(hours=2))
    assert again.queued == 0 and again.done == {} and len(box.received) == 2


def test_nothing_goes_out_in_quiet_hours_and_it_all_goes_in_the_morning(cafe: Shop):
    lapsed(cafe, ANA, "ana@example.org")
    night = datetime(2026, 3, 20, 22, tzinfo=UTC)
    with mail_server() as box:
        assert run(cafe.db, settings(box), lambda: night).queued == 0
        assert box.received == []
        morning = run(cafe.db, settings(box), lambda: night + timedelta(hours=11))
    assert morning.done == {"sent": 2}


def test_the_unsubscribe_link_withdraws_the_consent_the_message_was_sent_under(cafe: Shop):
    from central.testing import Client, running_server

    lapsed(cafe, ANA, "ana@example.org")
    with mail_server() as box:
        run(cafe.db, settings(box), lambda: NOW)
    expiry = next(m for m in box.received if "expire" in m["Subject"])
    link = expiry["List-Unsubscribe"].strip().strip("<>")
    path = link.removeprefix("https://loyalty.cafe.example")
    with running_server(cafe.url) as url:
        client = Client(url)
        page = client.get(path)  # what a link checker does: it withdraws nothing
        assert page.status == 200 and "rappels" in page.body.decode()
        assert cafe.purposes(ANA) == {Purpose.REMINDERS, Purpose.OFFERS}
        # what a mail program's one-click button sends (RFC 8058)
        done = client.request("POST", path, b"List-Unsubscribe=One-Click",
                              {"Content-Type": "application/x-www-form-urlencoded"})
        assert done.status == 200 and "vous ne recevrez plus" in done.body.decode()
        assert cafe.purposes(ANA) == {Purpose.OFFERS}
        forged = path.partition("?")[0][:-5] + "xxxxx"
        assert client.get(forged).status == 404


def test_a_customer_who_chose_english_gets_english_e_mails_and_an_english_unsubscribe_page(
    cafe: Shop
):
    from central.testing import Client, running_server

    lapsed(cafe, ANA, "ana@example.org")  # no choice made: the shop's language
    cafe.visit(CLO, [NOW - 82 * DAY, NOW - 80 * DAY])
    cafe.agree(CLO, NOW - 81 * DAY, email="clo@example.org", purposes=[Purpose.REMINDERS],
               lang="en")
    with mail_server() as box:
        run(cafe.db, settings(box), lambda: NOW)
    (english,) = box.to("clo@example.org")
    assert english["Subject"] == "Café Lune: 2 stamps expire on 30 March 2026"
    assert "Café Lune : 2 tampons expirent le 30/03/2026" in [
        m["Subject"] for m in box.to("ana@example.org")]
    link = english["List-Unsubscribe"].strip().strip("<>")
    with running_server(cafe.url) as url:
        client = Client(url)
        page = client.get(link.removeprefix("https://loyalty.cafe.example"),
                          headers={"Accept-Language": "fr"})
        assert page.status == 200 and 'lang="en"' in page.body.decode()
        assert "Unsubscribe" in page.body.decode()


def test_a_bounced_address_is_marked_never_retried_and_the_others_still_go(cafe: Shop):
    lapsed(cafe, ANA, "ana@example.org")
    lapsed(cafe, BOB, "gone@example.org")
    with mail_server(Mailbox(refuse={"gone@example.org"})) as box:
        report = run(cafe.db, settings(box), lambda: NOW)
        assert report.done == {"sent": 2, "bounced": 1, "skipped": 1}
        # the bounced address gets nothing more, not even the next occasion
        cafe.visit(BOB, [NOW + 2 * DAY])
        later = run(cafe.db, settings(box), lambda: NOW + 40 * DAY)
    assert "bounced" not in later.done
    assert {m["To"] for m in box.received} == {"ana@example.org"}
    assert [e[1] for e in box.envelopes if "gone@example.org" in e[1]] == []


def test_a_temporary_refusal_is_retried_later_then_given_up(cafe: Shop):
    lapsed(cafe, ANA, "full@example.org", Purpose.REMINDERS)
    with mail_server(Mailbox(busy={"full@example.org"})) as box:
        # each run after the longest wait between tries, all within the day's sending hours
        every = outbox.RETRY_AFTER * outbox.MAX_ATTEMPTS + timedelta(minutes=1)
        reports = [run(cafe.db, settings(box), lambda i=i: NOW + i * every)
                   for i in range(outbox.MAX_ATTEMPTS)]
    assert [r.done for r in reports[:outbox.MAX_ATTEMPTS - 1]] == [
        {"pending": 1}] * (outbox.MAX_ATTEMPTS - 1)
    assert reports[outbox.MAX_ATTEMPTS - 1].done == {"failed": 1}
    assert statuses(cafe) == {"expiry": "failed"} and box.received == []


def test_a_broken_template_fails_its_own_message_and_the_others_go(cafe: Shop, tmp_path: Path):
    (tmp_path / "winback.fr.txt").write_text("{% block subject %}{{ oops.here }}{% endblock %}"
                                            "{% block body %}x{% endblock %}")
    lapsed(cafe, ANA, "ana@example.org")
    with mail_server() as box:
        own = settings(box)
        report = run(cafe.db, Settings(**{**own.__dict__, "templates": tmp_path}), lambda: NOW)
    assert report.done == {"sent": 1, "failed": 1}
    assert [m["Subject"] for m in box.received] == ["Café Lune : 2 tampons expirent le 30/03/2026"]
    assert statuses(cafe) == {"expiry": "sent", "winback": "failed"}


def test_a_sender_that_died_between_sending_and_marking_never_sends_that_message_again(
    cafe: Shop
):
    lapsed(cafe, ANA, "ana@example.org", Purpose.REMINDERS)
    program = program_of(cafe)
    with mail_server() as box:
        own = settings(box)
        assert plan(cafe.db, cafe.org, program, own, NOW) == 1

        class DiesAfterSending:
            """The mail server takes the message; the process dies before marking it."""

            def send(self, message: object) -> None:
                Mailer(own.smtp).send(message)  # type: ignore[arg-type]
                raise SystemExit("killed")

        with pytest.raises(SystemExit):
            deliver(cafe.db, cafe.org, program, own, DiesAfterSending(), lambda: NOW)
        assert len(box.received) == 1 and statuses(cafe) == {"expiry": "sending"}
        # a run while the claim may still be alive leaves it alone...
        soon = run(cafe.db, own, lambda: NOW + timedelta(minutes=1))
        assert soon.done == {} and statuses(cafe) == {"expiry": "sending"}
        # ...and after the claim's time, marks it unknown instead of sending it again
        later = run(cafe.db, own, lambda: NOW + outbox.CLAIM_TIMEOUT + timedelta(minutes=1))
    assert later.done == {"unknown": 1} and len(box.received) == 1
    assert statuses(cafe) == {"expiry": "unknown"}


def test_consent_withdrawn_after_queuing_stops_that_kind_of_message_only(cafe: Shop):
    lapsed(cafe, ANA, "ana@example.org")
    program = program_of(cafe)
    with mail_server() as box:
        own = settings(box)
        assert plan(cafe.db, cafe.org, program, own, NOW) == 2
        with writing(cafe.db) as conn:  # the address stays, for offers
            withdraw(conn, cafe.org, ANA, Kind.EXPIRY, NOW)
        report = deliver(cafe.db, cafe.org, program, own, Mailer(own.smtp), lambda: NOW)
    assert report.done == {"skipped": 1, "sent": 1}
    assert [m["Subject"] for m in box.received] == ["Café Lune : vous nous manquez"]


def test_an_occasion_queued_twice_is_one_row_and_a_row_is_claimed_by_one_sender_only(
    cafe: Shop
):
    lapsed(cafe, ANA, "ana@example.org")
    program = program_of(cafe)
    with mail_server() as box:
        own = settings(box)
        assert plan(cafe.db, cafe.org, program, own, NOW) == 2
        with writing(cafe.db) as conn:
            found = due_again(conn, cafe.org, program, own)
            assert outbox.queue(conn, cafe.org, found, NOW) == 0  # a second process's same occasions
            (row, _) = outbox.ready(conn, cafe.org, NOW, 10)
            assert outbox.claim(conn, row.id, NOW, "a" * 64)
            assert not outbox.claim(conn, row.id, NOW, "b" * 64)


def due_again(conn: Connection, org: int, program: Program, own: Settings) -> list[Due]:
    """What the rules would queue with no memory of the outbox (a second sender's view)."""
    people = recipients(conn, org, "fr")
    rows = conn.execute(select(card_states).where(card_states.c.org_id == org))
    cards = [(CardState.from_dict(full_state(r.card_ref, r.state)), people[r.card_ref]) for r in rows
             if r.card_ref in people]
    return due(program, own.policy, cards, [], NOW)


def awake_hours() -> list[str]:
    """Quiet hours that the real clock is far from (the command reads it)."""
    hour = datetime.now(UTC).astimezone(ZoneInfo("Europe/Paris")).hour
    return ["--quiet-from", str((hour + 6) % 24), "--quiet-until", str((hour + 8) % 24)]


def test_the_command_line_sends_and_names_a_missing_setting(central_db: str,
                                                            capsys: pytest.CaptureFixture[str]):
    with shop(central_db, PROGRAM, NOW - 200 * DAY) as cafe:
        lapsed(cafe, ANA, "ana@example.org", Purpose.OFFERS)
    assert main(["send-messages", "--db", central_db, "--smtp-host", "127.0.0.1"]) == 1
    assert "--from" in capsys.readouterr().err
    with mail_server() as box:
        code = main(["send-messages", "--db", central_db, "--smtp-host", "127.0.0.1",
                     "--smtp-port", str(box.port), "--from", "Café Lune <hi@cafe.example>",
                     "--base-url", "https://loyalty.cafe.example", "--winback-days", "30",
                     *awake_hours()])
    printed = capsys.readouterr()
    # the real clock decides what is due: the card lapsed long ago, a win-back is due
    assert code == 0 and "messages: queued 1, sent 1" in printed.out
    assert [m["To"] for m in box.received] == ["ana@example.org"]


def test_a_mail_server_that_cannot_be_reached_ends_the_run_with_status_one(
    central_db: str, capsys: pytest.CaptureFixture[str]
):
    with shop(central_db, PROGRAM, NOW - 200 * DAY) as cafe:
        lapsed(cafe, ANA, "ana@example.org", Purpose.OFFERS)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = main(["send-messages", "--db", central_db, "--smtp-host", "127.0.0.1",
                 "--smtp-port", str(port), "--from", "hi@cafe.example", "--smtp-timeout", "5",
                 "--base-url", "https://loyalty.cafe.example", "--winback-days", "30",
                 *awake_hours()])
    assert code == 1 and "cannot reach the mail server" in capsys.readouterr().err


def test_the_owners_table_counts_each_kind_by_what_became_of_it(cafe: Shop):
    lapsed(cafe, ANA, "ana@example.org")
    lapsed(cafe, BOB, "gone@example.org", Purpose.REMINDERS)
    with mail_server(Mailbox(refuse={"gone@example.org"})) as box:
        run(cafe.db, settings(box), lambda: NOW)
    context = counts_table(cafe.db, cafe.org)
    html = Pages().env.get_template("messages_counts.html").render(t=translator("en"), **context)
    rows = {row["kind"]: row["counts"] for row in context["message_rows"]}  # type: ignore[attr-defined]
    # columns: sent, waiting, failed, bounced, consent withdrawn
    assert rows["expiry"] == [1, 0, 0, 1, 0] and rows["winback"] == [1, 0, 0, 0, 0]
    assert rows["booster"] == [0, 0, 0, 0, 0]
    assert "Stamps about to expire" in html and "Address refused" in html
    assert counts_table(cafe.db, cafe.org, since=NOW + DAY)["messages_any"] is False
