"""The Program and Customers pages over real HTTP, signed in through the real login."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from PIL import Image

from central import store
from central.db import open_database
from central.testing import Client, add_kiosk, event_dict, running_server
from kiosk.core.events import EventKind
from tests.support.accounts import WebSession, add_manager, add_owner

OWNER, MANAGER = "owner@cafe.example", "manager@cafe.example"
OTHER_OWNER = "owner@bakery.example"
CLAIRE = "ab" * 30 + "c1a1"
STRANGER = "cd" * 30 + "0f0f"
ACROSS = "ef" * 30 + "5eca"  # seen only at the second shop
ELSEWHERE = "12" * 30 + "e15e"  # a card of another organisation


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    db = str(tmp_path_factory.mktemp("owner") / "central.sqlite3")
    with running_server(db) as url:
        opened = open_database(db)
        now = datetime.now(UTC)
        store.add_shop(opened, "station", now)
        cafe = store.list_orgs(opened)[0]["name"]  # the server's first organisation
        bakery = store.add_org(opened, "bakery", now)
        store.add_shop(opened, "bakery-main", now, org="bakery")
        add_owner(db, OWNER)
        add_manager(db, MANAGER, shop_id=1)
        add_owner(db, OTHER_OWNER, org_id=bakery)
        token = add_kiosk(db, "counter-1", org=cafe, shop="main")
        batch = [event_dict("counter-1", CLAIRE, 1, now, kind=EventKind.ENROLLED, delta=0),
                 event_dict("counter-1", CLAIRE, 2, now),
                 event_dict("counter-1", STRANGER, 3, now, kind=EventKind.ENROLLED, delta=0)]
        station = add_kiosk(db, "station-1", org=cafe, shop="station")
        elsewhere = add_kiosk(db, "bakery-1", org="bakery", shop="bakery-main")
        for kiosk, sent in ((token, batch),
                            (station, [event_dict("station-1", ACROSS, 1, now,
                                                  kind=EventKind.ENROLLED, delta=0)]),
                            (elsewhere, [event_dict("bakery-1", ELSEWHERE, 1, now,
                                                    kind=EventKind.ENROLLED, delta=0)])):
            answer = Client(url, kiosk).post_events(sent).json()
            assert {r["status"] for r in answer["results"]} == {"accepted"}, answer
        store.set_customer(opened, 1, CLAIRE, {"first_name": "Claire", "consent": True,
                                            "birthday": "1990-05-17"}, now)
        opened.dispose()
        yield url, db


@pytest.fixture
def owner(server: tuple[str, str]) -> WebSession:
    web = WebSession(server[0])
    assert web.sign_in(OWNER).status_code == 303
    return web


@pytest.fixture
def manager(server: tuple[str, str]) -> WebSession:
    web = WebSession(server[0])
    assert web.sign_in(MANAGER).status_code == 303
    return web


def draft_of(answer_location: str) -> str:
    found = re.fullmatch(r"/program/drafts/([0-9a-f]{64})", answer_location)
    assert found, answer_location
    return found.group(1)


def test_the_pages_want_a_signed_in_account(server: tuple[str, str]) -> None:
    web = WebSession(server[0])
    for path in ("/program", "/customers", f"/customers/{CLAIRE}"):
        answer = web.get(path)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


def test_a_wrong_field_is_named_beside_it_and_what_was_typed_is_kept(owner: WebSession) -> None:
    answer = owner.submit("/program", "/program/form", {
        "name": "Café Lune", "version": "v2", "reward": "café", "goal": "5000",
        "welcome_bonus": "0", "cooldown_minutes": "30", "daily_cap": "0",
        "timezone": "Europe/Paris"})
    assert answer.status_code == 422
    assert re.search(r'id="f-goal" name="goal" value="5000"[^>]*aria-invalid="true"', answer.text)
    assert 'id="e-goal">goal: Input should be less than or equal to 1000</span>' in answer.text
    assert 'value="Café Lune"' in answer.text
    assert re.search(r'id="form-problems">\s*<p>[^<]+</p>\s*<ul><li>goal: ', answer.text)


def test_a_toml_problem_names_the_item_and_keeps_the_text(owner: WebSession) -> None:
    text = ('[program]\nversion = "v9"\n[[program.tiers]]\nname = "Silver"\nthreshold = 5\n'
            '[[program.tiers]]\nname = "Gold"\nthreshold = 0\n')
    answer = owner.submit("/program", "/program/toml", {"toml": text})
    assert answer.status_code == 422
    assert re.search(r'id="toml-problems">\s*<p>[^<]+</p>\s*<ul><li>tiers\[1\].threshold: '
                     'Input should be greater than or equal to 1</li>', answer.text)
    assert 'name = &#34;Gold&#34;' in answer.text or 'name = "Gold"' in answer.text


def test_a_checked_program_is_previewed_then_published_with_who_and_when(
        server: tuple[str, str], owner: WebSession) -> None:
    answer = owner.submit("/program", "/program/toml", {
        "toml": '[program]\nname = "Café Lune"\nversion = "autumn-1"\ngoal = 6\n'
                'welcome_bonus = 1\ntimezone = "Europe/Paris"\n'})
    assert answer.status_code == 303
    page_path = answer.headers["location"]
    draft = draft_of(page_path)
    page = owner.get(page_path)
    assert page.status_code == 200
    images = re.findall(r'<img class="oled[^"]*" src="([^"]+)"', page.text)
    assert len(images) == 4 * 2 * 2  # four screens, two languages, two panels
    for src in images:
        png = owner.get(src)
        assert png.status_code == 200 and png.headers["content-type"] == "image/png"
        with Image.open(io.BytesIO(png.content)) as image:
            assert image.size == ((128, 32) if "128x32" in src else (128, 64))
    assert owner.get(f"/program/drafts/{draft}/welcome-de-128x64.png").status_code == 404
    published = owner.submit(page_path, f"/program/drafts/{draft}/publish", {})
    assert published.status_code == 303
    kiosk = Client(server[0], add_kiosk(server[1], "counter-check", org="default", shop="main"))
    served = kiosk.get("/v1/program")
    assert served.headers["etag"] == '"autumn-1"' and served.json()["goal"] == 6
    history = owner.get("/program").text
    assert re.search(r"autumn-1 <strong>\([^)]*\)</strong></td>\s*<td>\d{4}-\d\d-\d\d \d\d:\d\d</td>\s*"
                     rf"<td class=\"who\">{re.escape(OWNER)}</td>", history)


def test_a_form_without_the_sessions_token_is_refused(owner: WebSession) -> None:
    answer = owner.post("/program/toml", {"toml": '[program]\nversion = "x"\n'})
    assert answer.status_code == 403


def test_a_manager_reads_the_program_but_cannot_change_it(manager: WebSession) -> None:
    page = manager.get("/program")
    assert page.status_code == 200 and "readonly" in page.text
    answer = manager.submit("/program", "/program/toml", {"toml": '[program]\nversion = "m1"\n'})
    assert answer.status_code == 403 and "text/html" in answer.headers["content-type"]


def test_a_customer_is_found_by_name_and_a_card_by_its_end(owner: WebSession) -> None:
    found = owner.get("/customers?q=clai").text
    assert f'href="/customers/{CLAIRE}"' in found and "Claire" in found
    assert f'href="/customers/{STRANGER}"' in owner.get("/customers?q=0f0f").text
    assert owner.get("/customers?q=" + "x" * 61).status_code == 422


def test_a_cards_page_shows_its_history_and_exports_what_is_held(owner: WebSession) -> None:
    page = owner.get(f"/customers/{CLAIRE}")
    assert page.status_code == 200 and "1990-05-17" in page.text
    assert page.text.count("<tr><td>") == 2  # joined, then one stamp
    export = owner.get(f"/customers/{CLAIRE}/export.json")
    assert export.headers["content-disposition"].startswith("attachment")
    assert export.json()["customer"]["first_name"] == "Claire"
    assert len(export.json()["events"]) == 2
    assert owner.get("/customers/" + "0" * 64).status_code == 404
    assert owner.get("/customers/not-a-ref").status_code == 404


def test_erasing_forgets_the_person_and_keeps_the_cards_visits(owner: WebSession) -> None:
    assert owner.post(f"/customers/{STRANGER}/erase", {}).status_code == 403  # no token
    unconfirmed = owner.submit(f"/customers/{CLAIRE}", f"/customers/{CLAIRE}/erase", {})
    assert unconfirmed.status_code == 400 and 'id="erase-problem"' in unconfirmed.text
    assert "1990-05-17" in owner.get(f"/customers/{CLAIRE}").text  # nothing erased yet
    answer = owner.submit(f"/customers/{CLAIRE}", f"/customers/{CLAIRE}/erase", {"confirm": "yes"})
    assert answer.status_code == 303
    page = owner.get(answer.headers["location"]).text
    assert "1990-05-17" not in page and "Claire" not in page
    assert page.count("<tr><td>") == 2
    assert f"/customers/{CLAIRE}" not in owner.get("/customers?q=clai").text


def test_every_word_the_pages_build_from_a_name_exists_in_both_languages() -> None:
    from central.web import customers_page  # noqa: F401  (registers the history's words)
    from central.web.i18n import LANGUAGES, TEXTS
    from central.web.program_page import FORM_FIELDS
    from central.web.program_preview import SCREENS

    built = [f"field_{name}" for name in FORM_FIELDS] + [f"screen_{s}" for s in SCREENS]
    built += [f"kind_{kind.value}" for kind in EventKind]  # every event a history can hold
    for key in built:
        assert all(TEXTS[key].get(lang) for lang in LANGUAGES), key


def test_an_earlier_version_is_reviewed_then_published_again(
        server: tuple[str, str], owner: WebSession) -> None:
    for version, goal in (("spring-1", 7), ("spring-2", 9)):
        answer = owner.submit("/program", "/program/toml", {
            "toml": f'[program]\nversion = "{version}"\ngoal = {goal}\n'})
        owner.submit(answer.headers["location"], answer.headers["location"] + "/publish", {})
    page = owner.get("/program").text
    number = re.search(r'action="/program/versions/(\d+)/draft"[^<]*\s*<input[^>]*>'
                       r'<button type="submit" class="secondary">[^<]*spring-1', page)
    assert number, "no way back to spring-1"
    draft = owner.submit("/program", f"/program/versions/{number.group(1)}/draft", {})
    assert draft.status_code == 303
    assert "goal" in owner.get(draft.headers["location"]).text
    owner.submit(draft.headers["location"], draft.headers["location"] + "/publish", {})
    kiosk = Client(server[0], add_kiosk(server[1], "counter-back", org="default", shop="main"))
    assert kiosk.get("/v1/program").json()["goal"] == 7


def test_a_manager_finds_and_opens_only_the_cards_seen_at_their_shop(
        owner: WebSession, manager: WebSession) -> None:
    assert f"/customers/{ACROSS}" in owner.get("/customers?q=5eca").text
    assert f"/customers/{ACROSS}" not in manager.get("/customers?q=5eca").text
    refused = manager.get(f"/customers/{ACROSS}")
    assert refused.status_code == 403 and "text/html" in refused.headers["content-type"]
    assert manager.get(f"/customers/{ACROSS}/export.json").status_code == 403
    assert manager.submit(f"/customers/{STRANGER}", f"/customers/{ACROSS}/erase",
                          {"confirm": "yes"}).status_code == 403
    assert manager.get(f"/customers/{STRANGER}").status_code == 200


def test_another_organisations_cards_and_drafts_are_out_of_sight(
        server: tuple[str, str], owner: WebSession) -> None:
    assert f"/customers/{ELSEWHERE}" not in owner.get("/customers?q=e15e").text
    assert owner.get(f"/customers/{ELSEWHERE}").status_code == 404
    bakery = WebSession(server[0])
    assert bakery.sign_in(OTHER_OWNER).status_code == 303
    assert f"/customers/{ELSEWHERE}" in bakery.get("/customers?q=e15e").text
    draft = owner.submit("/program", "/program/toml", {"toml": '[program]\nversion = "mine"\n'})
    assert draft.status_code == 303
    assert bakery.get(draft.headers["location"]).status_code == 404
    assert "mine" not in bakery.get("/program").text


def test_the_draft_says_what_happens_to_existing_cards(owner: WebSession) -> None:
    first = owner.submit("/program", "/program/toml", {
        "toml": '[program]\nversion = "cards-1"\ngoal = 10\nreward_id = "tea"\nreward = "tea"\n'})
    owner.submit(first.headers["location"], first.headers["location"] + "/publish", {})
    lowered = owner.submit("/program", "/program/toml", {
        "toml": '[program]\nversion = "cards-2"\ngoal = 8\nreward_id = "cake"\nreward = "cake"\n'})
    page = owner.get(lowered.headers["location"] + "?lang=en").text
    assert "Goal lowered from 10 to 8: a card that already holds 8 stamps" in page
    assert "“tea” is no longer offered: vouchers already earned stay redeemable" in page
    assert "<td>unit_versions</td>" not in page  # what publishing carries is no change of the owner's
    switch = owner.submit("/program", "/program/toml", {
        "toml": '[program]\nversion = "cards-3"\ngoal = 500\npoints_per_euro = 10\n'})
    assert switch.status_code == 422 and "points_per_stamp: this version switches" in switch.text
