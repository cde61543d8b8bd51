"""An owner corrects a card from its page in a real browser (Chromium through Playwright,
on a phone): an adjustment refused first (no reason, then a balance that would go
negative), then recorded; the lost card replaced by a new card tapped once at the
kiosk. The kiosk's real sync worker then pulls both cards: the new card holds the
balance, and the old card shows the kiosk's "card replaced" screen."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Page

from kiosk.adapters.ledger import Ledger
from kiosk.config import Config
from kiosk.core.outcome import Blocked
from kiosk.core.screens import Screens
from kiosk.fonts import load
from kiosk.service import Counter
from tests.support import Central, central_server, kiosk_setup, uid, worker_for
from tests.support.accounts import add_owner, sign_in
from tests.support.browser import SCREENSHOTS, keep_local, screenshot

OWNER = "owner@lune.example"
LOST_UID, NEW_UID = uid(41), uid(42)


@pytest.fixture
def central(tmp_path: Path) -> Iterator[Central]:
    with central_server(tmp_path / "central") as server:
        add_owner(str(server.db), OWNER)
        yield server


def tapped(config: Config, card: bytes, times: int) -> str:
    """Tap a card at the kiosk; its ref."""
    counter = Counter.open(config)
    try:
        for _ in range(times):
            counter.tap(card)
        return counter.card_ref(card)
    finally:
        counter.close()


def no_sideways_scroll(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_an_owner_adjusts_then_replaces_a_card_and_the_kiosk_shows_it_after_its_sync(
        central: Central, phone: Page, tmp_path: Path) -> None:
    config = kiosk_setup(tmp_path / "kiosk", central.url, central.token_file("counter-1"),
                         "counter-1", program={"welcome_bonus": 0, "goal": 10})
    lost = tapped(config, LOST_UID, 3)  # 3 stamps
    new = tapped(config, NEW_UID, 1)  # the new card, tapped once: 1 stamp
    worker = worker_for(config)
    try:
        assert worker.sync_once().ok
        refused = keep_local(phone, central.url)
        sign_in(phone, central.url, OWNER)
        phone.goto(f"{central.url}/customers/{lost}")

        # no reason: the field says so, the number typed stays
        phone.get_by_label("Tampons (+ pour ajouter, - pour retirer)").fill("-9")
        with phone.expect_navigation():
            phone.get_by_role("button", name="Enregistrer la correction").click()
        assert phone.locator("#adjust-reason-problem").inner_text() == "Dites pourquoi (obligatoire)."
        assert phone.locator("#adjust-reason").get_attribute("aria-invalid") == "true"
        assert phone.locator("#adjust-delta").input_value() == "-9"
        # a reason, but 9 taken off 3: the kiosk's own refusal, nothing recorded
        phone.get_by_label("Pourquoi").fill("erreur de saisie")
        with phone.expect_navigation():
            phone.get_by_label("Pourquoi").press("Enter")  # sent from the keyboard
        assert phone.locator("#adjust-delta-problem").inner_text().startswith(
            "refusé : la carte a moins de tampons que ce retrait")
        assert no_sideways_scroll(phone)
        screenshot(phone, "card-adjust-refused-phone-fr")
        phone.get_by_label("Tampons (+ pour ajouter, - pour retirer)").fill("+1")
        phone.get_by_label("Pourquoi").fill("tampon oublié lundi")
        with phone.expect_navigation():
            phone.get_by_role("button", name="Enregistrer la correction").click()
        assert phone.get_by_role("status").inner_text() == "Correction enregistrée."
        assert phone.locator(".tile .value").first.inner_text() == "4"
        assert OWNER in phone.locator("tbody").inner_text()  # who did it, in the history

        # the new card, listed as first seen lately; it holds a stamp: a merge is asked
        phone.get_by_label(f"…{new[-8:]}", exact=False).check()
        with phone.expect_navigation():
            phone.get_by_role("button", name="Remplacer la carte").click()
        assert phone.locator("#replace-merge-problem").inner_text().startswith(
            "La nouvelle carte a déjà des tampons.")
        screenshot(phone, "card-replace-merge-asked-phone-fr")
        phone.get_by_label(f"…{new[-8:]}", exact=False).check()
        merge = phone.locator("#replace-merge")
        merge.focus()
        phone.keyboard.press("Space")
        assert merge.is_checked()
        phone.keyboard.press("Tab")
        with phone.expect_navigation():
            phone.keyboard.press("Enter")
        assert phone.url.startswith(f"{central.url}/customers/{new}")
        assert phone.locator(".tile .value").first.inner_text() == "5"  # 4 moved + its 1
        assert no_sideways_scroll(phone)
        screenshot(phone, "card-replaced-new-card-phone-fr")
        phone.goto(f"{central.url}/customers/{lost}")
        assert phone.locator("#card-blocked").is_visible()
        assert refused == []

        # the idle round's pull of the cards changed at the central (every
        # refresh_interval in the daemon; forced here rather than waited for)
        assert worker.sync_once(refresh=True).ok
    finally:
        worker.close()
    with Ledger.open(config.kiosk.ledger_path) as ledger:
        assert ledger.card(new).stamps == 5
        assert ledger.card(lost).blocked
    counter = Counter.open(config)
    try:
        shown = counter.tap(LOST_UID)
    finally:
        counter.close()
    assert isinstance(shown, Blocked)
    frame = Screens(load(), (128, 64), "fr", config.program.name).outcome(shown)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    frame.resize((512, 256), Image.Resampling.NEAREST).save(SCREENSHOTS / "kiosk-old-card-blocked-fr.png")
