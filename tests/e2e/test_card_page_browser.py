"""A customer's card page on a phone, in a real Chromium: the card, consent given then
erased, a referral through a friend's link, and a bad link's 404."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from central.testing import Client, add_kiosk, event_dict
from kiosk.core.events import EventKind
from tests.support.browser import keep_local, screenshot
from tests.support.cardpage import enrol_with_link, new_card_ref, shop_serving, stamp

PROGRAM = """[program]
version = "browser-1"
name = "Café Lune"
goal = 10
reward = "free coffee"
timezone = "Europe/Paris"
tiers = [{ name = "Gold", threshold = 3, multiplier = 2 }]
expiry = "inactivity"
expiry_days = 90
boosters = [{ days = ["tue", "wed"], start = "14:00", end = "17:00", multiplier = 2 }]
referral_bonus = 3
cause = "the food bank"
"""


@dataclass(frozen=True)
class Counter:
    """The shop's central and one kiosk's token for it."""

    url: str
    db: str
    token: str

    @contextmanager
    def kiosk(self) -> Iterator[Client]:
        """A new connection each time: a browser test may leave one idle past the
        server's keep-alive."""
        client = Client(self.url, self.token)
        try:
            yield client
        finally:
            client.close()

    def card(self, ref: str) -> Any:
        with self.kiosk() as client:
            return client.get(f"/v1/cards/{ref}").json()


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Counter]:
    with shop_serving(tmp_path_factory.mktemp("cardpage-web"), PROGRAM) as serving:
        yield Counter(serving.url, serving.db, add_kiosk(serving.db, "till-1"))


def a_card(shop: Counter, visits: int = 0, days_ago: int = 0) -> tuple[str, str]:
    ref = new_card_ref()
    when = datetime.now(UTC) - timedelta(days=days_ago)
    with shop.kiosk() as kiosk:
        token = enrol_with_link(kiosk, "till-1", ref, when)
        for n in range(visits):
            stamp(kiosk, "till-1", ref, when + timedelta(days=n, minutes=1))
        if visits >= 3:  # the kiosk's rules moved the card up, as at its third visit
            kiosk.post_events([event_dict("till-1", ref, 10**9 + visits, when,
                                          kind=EventKind.TIER_CHANGED, delta=0,
                                          reward_id="Gold")])
    return ref, token


def test_the_card_page_on_a_phone_shows_the_card_and_needs_nothing_else(
    shop: Counter, phone: Page
) -> None:
    _, token = a_card(shop, visits=4, days_ago=6)
    refused = keep_local(phone, shop.url)
    phone.goto(f"{shop.url}/c/{token}")
    assert phone.locator("h1").inner_text() == "Ma carte"
    assert "6 tampons sur 10" in phone.locator("main").inner_text()
    assert "Votre statut : Gold" in phone.locator("main").inner_text()
    assert "mar, mer, 14:00–17:00" in phone.locator("main").inner_text()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    assert refused == []
    screenshot(phone, "card-page-phone-fr")
    phone.get_by_role("link", name="English").click()
    assert "6 stamps of 10" in phone.locator("main").inner_text()
    screenshot(phone, "card-page-phone-en")


def test_consent_given_then_erased(shop: Counter, phone: Page) -> None:
    ref, token = a_card(shop, visits=1)
    phone.goto(f"{shop.url}/c/{token}")
    # nothing is ticked until the customer ticks it
    assert phone.locator("input[type=checkbox]:checked").count() == 0
    phone.get_by_label("Prénom", exact=True).fill("Zoé")
    phone.get_by_label("Garder mon prénom pour que la borne me salue.").check()
    phone.get_by_label("Adresse e-mail").fill("zoe@example.fr")
    phone.get_by_label("M'écrire avant que mes tampons expirent").check()
    phone.get_by_role("button", name="Enregistrer").click()
    expect(phone.locator("p.notice")).to_have_text("Vos choix sont enregistrés.")
    assert phone.locator("h1").inner_text() == "Bonjour Zoé !"
    screenshot(phone, "card-page-consent-given")
    assert shop.card(ref)["customer"]["first_name"] == "Zoé"
    phone.get_by_role("button", name="Effacer mes informations").click()
    # the page after the erasure, not the one still showing the last notice
    expect(phone.locator("p.notice")).to_have_text("Vos informations sont effacées.")
    assert phone.get_by_label("Adresse e-mail").input_value() == ""
    screenshot(phone, "card-page-consent-erased")
    assert shop.card(ref)["customer"] is None


def test_a_friend_opens_the_referral_link_then_confirms_it_on_their_new_card(
    shop: Counter, phone: Page
) -> None:
    referrer, referrer_token = a_card(shop)
    phone.goto(f"{shop.url}/c/{referrer_token}")
    link = phone.locator("a.share").get_attribute("href")
    assert link is not None and "/r/" in link
    friend, friend_token = a_card(shop)  # the friend's own phone: a new context would do too
    phone.context.clear_cookies()
    phone.goto(link)
    assert phone.locator("h1").inner_text() == "Vous êtes invité"
    screenshot(phone, "referral-landing")
    phone.goto(f"{shop.url}/c/{friend_token}")
    assert phone.get_by_label("Code de votre ami").input_value() == link.rsplit("/", 1)[1]
    phone.get_by_role("button", name="Valider le parrainage").click()
    expect(phone.locator("p.notice")).to_contain_text("3 tampons pour vous et votre ami")
    screenshot(phone, "referral-confirmed")
    stamps = [shop.card(ref)["stamps"] for ref in (referrer, friend)]
    assert stamps == [2 + 3, 2 + 3]


def test_a_bad_link_is_a_plain_404_page(shop: Counter, phone: Page) -> None:
    answer = phone.goto(f"{shop.url}/c/{'A' * 43}")
    assert answer is not None and answer.status == 404
    assert phone.locator("h1").inner_text() == "Page introuvable"
    screenshot(phone, "card-page-404")


def test_a_link_made_at_the_counter_shows_the_card_but_not_the_details_kept_with_it(
    shop: Counter, phone: Page
) -> None:
    import secrets

    from kiosk.core.cardlink import TOKEN_BYTES, link_digest, token_from

    ref, token = a_card(shop, visits=2, days_ago=9)
    phone.goto(f"{shop.url}/c/{token}")
    phone.get_by_label("Prénom", exact=True).fill("Zoé")
    phone.get_by_label("Garder mon prénom pour que la borne me salue.").check()
    phone.get_by_label("English (anglais)").check()
    phone.get_by_role("button", name="Enregistrer").click()
    expect(phone.locator("p.notice")).to_have_text("Vos choix sont enregistrés.")
    assert phone.get_by_label("English (anglais)").is_checked()
    screenshot(phone, "card-page-language")
    copied = token_from(secrets.token_bytes(TOKEN_BYTES))  # a copy of the card, tapped twice
    with shop.kiosk() as kiosk:
        kiosk.post_events([event_dict("till-1", ref, 10**9 + 100, datetime.now(UTC),
                                      kind=EventKind.CARD_LINK, delta=0,
                                      reward_id=link_digest(copied))])
    phone.goto(f"{shop.url}/c/{copied}")
    main = phone.locator("main").inner_text()
    assert "4 tampons sur 10" in main and "Zoé" not in main
    assert "demandez au commerçant un lien complet" in main
    assert phone.get_by_role("button", name="Effacer mes informations").count() == 0
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(phone, "card-page-counter-link")
    assert phone.goto(f"{shop.url}/c/{token}").status == 404  # type: ignore[union-attr]
