"""The unsubscribe link of a real message, opened on a phone: one button, then done."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page

# the customers' e-mail address and consent per purpose come with the card page's schema
pytest.importorskip("central.consent", reason="central.consent (the customers' consent "
                    "columns) is not in this tree")

from central.consent import Purpose  # noqa: E402
from central.messages.rules import Policy  # noqa: E402
from central.messages.sender import Settings, run  # noqa: E402
from central.messages.smtp import SmtpSettings  # noqa: E402
from central.testing import running_server  # noqa: E402
from tests.support.browser import keep_local, screenshot  # noqa: E402
from tests.support.mailbox import mail_server  # noqa: E402
from tests.support.shop_data import card, shop  # noqa: E402

NOW = datetime(2026, 3, 20, 10, tzinfo=UTC)
PROGRAM = 'version = "1"\nname = "Café Lune"\ngoal = 20\nwelcome_bonus = 0\n'


def test_a_customer_unsubscribes_from_a_real_message_on_a_phone(tmp_path: Path, phone: Page):
    ana = card("ana")
    db_url = str(tmp_path / "central.sqlite3")
    with shop(db_url, PROGRAM, NOW - timedelta(days=200)) as cafe:
        cafe.visit(ana, [NOW - timedelta(days=80)])
        cafe.agree(ana, NOW - timedelta(days=79), email="ana@example.org",
                   purposes={Purpose.OFFERS})
        with mail_server() as box, running_server(db_url) as url:
            settings = Settings(SmtpSettings("127.0.0.1", box.port), "hi@cafe.example", url,
                                Policy(winback_days=30))
            run(cafe.db, settings, lambda: NOW)
            (message,) = box.received
            link = message.get_body(("plain",)).get_content().split()[-1]
            assert link.startswith(url + "/unsubscribe/")
            refused = keep_local(phone, url)
            phone.goto(link)
            assert phone.locator("h1").inner_text() == "Se désabonner"
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 375, "the page scrolls sideways on a phone"
            screenshot(phone, "unsubscribe-phone-fr")
            assert cafe.purposes(ana) == {Purpose.OFFERS}
            phone.get_by_role("button", name="Me désabonner").click()
            assert "vous ne recevrez plus" in phone.locator("main").inner_text()
            screenshot(phone, "unsubscribed-phone-fr")
            assert refused == []
        assert cafe.purposes(ana) == frozenset()
