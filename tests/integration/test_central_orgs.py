"""Organisations and shops on the central: a new database serves one café with no extra
step; a server holding several businesses keeps each one's cards, program, customers and
changed cards to its own kiosks. Over real HTTP, on SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from central import store
from central.changes import changed_cards
from central.cli import main
from central.db import open_database, reading
from central.figures import visits_per_day, visits_per_shop
from central.orgs import DEFAULT_ORG, SITE_KEY_BYTES
from central.program import from_toml
from central.testing import (
    Client,
    add_kiosk,
    add_org,
    add_owner_key,
    event_dict,
    running_server,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CARD = hashlib.sha256(b"a card").hexdigest()
OTHER = hashlib.sha256(b"another card").hexdigest()


def _stamps(kiosk: str, card: str, *seqs: int) -> list[dict[str, object]]:
    return [event_dict(kiosk, card, seq, NOW - timedelta(minutes=seq)) for seq in seqs]


def _program(db_url: str, text: str, *, org: str | None = None, shop: str | None = None
             ) -> None:
    db = open_database(db_url)
    try:
        store.set_program(db, from_toml(text), NOW, org=org, shop=shop)
    finally:
        db.dispose()


@pytest.fixture
def central(central_db: str) -> Iterator[tuple[str, str]]:
    with running_server(central_db, clock=lambda: NOW) as url:
        yield url, central_db


def test_a_new_database_has_one_organisation_with_a_site_key_and_a_shop_for_its_kiosks(
    central_db: str,
) -> None:
    add_kiosk(central_db, "counter-1")  # no shop named: the only one
    db = open_database(central_db)
    try:
        assert [org["name"] for org in store.list_orgs(db)] == ["default"]
        key = store.site_key(db, DEFAULT_ORG)
        assert key is not None and len(key) == SITE_KEY_BYTES
        assert store.list_shops(db) == [{"id": 1, "name": "main", "kiosks": 1}]
        assert store.shop_of(db, "counter-1") == store.Shop(1, DEFAULT_ORG, "main")
        assert store.shop_of(db, "nobody") is None
    finally:
        db.dispose()


def test_each_kiosk_stands_in_the_shop_it_was_added_to(central_db: str) -> None:
    db = open_database(central_db)
    try:
        gare = store.add_shop(db, "Gare", NOW)
        add = store.add_kiosk
        add(db, "gare-1", NOW, shop="Gare")
        with pytest.raises(store.StoreError, match="--shop NAME"):
            add(db, "where-1", NOW)  # two shops now: which one?
        with pytest.raises(store.StoreError, match="add-shop NAME"):
            add(db, "where-2", NOW, shop="Port")
        with pytest.raises(store.StoreError, match="exists already"):
            store.add_shop(db, " Gare ", NOW)
        assert store.shop_of(db, "gare-1") == gare
        assert [(k["id"], k["shop"]) for k in store.list_kiosks(db)] == [("gare-1", "Gare")]
    finally:
        db.dispose()


def test_two_organisations_may_name_their_shops_alike_but_must_be_named_when_several(
    central_db: str,
) -> None:
    add_org(central_db, "Chez Lou", "main")
    db = open_database(central_db)
    try:
        with pytest.raises(store.StoreError, match="--org"):
            store.add_shop(db, "Port", NOW)
        lou = store.add_shop(db, "Port", NOW, org="Chez Lou")
        assert lou.org_id != DEFAULT_ORG
        with pytest.raises(store.StoreError, match="no organisation named"):
            store.add_shop(db, "Port", NOW, org="Nobody")
        with pytest.raises(store.StoreError, match="exists already"):
            store.add_org(db, "Chez Lou", NOW)
        keys = {store.site_key(db, org["id"]) for org in store.list_orgs(db)}
        assert len(keys) == 2  # each organisation names its cards with its own key
    finally:
        db.dispose()


def test_a_kiosk_of_one_organisation_never_reads_or_writes_another_organisations(
    central: tuple[str, str],
) -> None:
    url, db_url = central
    add_org(db_url, "Chez Lou", "main")
    ours = Client(url, add_kiosk(db_url, "ours", org="default"))
    theirs = Client(url, add_kiosk(db_url, "theirs", org="Chez Lou"))
    _program(db_url, 'version = "ours-1"\ngoal = 8\n', org="default")

    assert ours.post_events(_stamps("ours", CARD, 1, 2)).status == 200
    # their kiosk neither sees our card, nor our program, nor our changed cards
    assert theirs.get(f"/v1/cards/{CARD}").status == 404
    assert theirs.get("/v1/program").status == 404
    assert theirs.get("/v1/cards/changes").json() == {"cards": {}, "cursor": "0", "more": False}
    # the same card ref sent by their kiosk is their card: ours keeps its two stamps
    answer = theirs.post_events(_stamps("theirs", CARD, 1)).json()
    assert answer["results"][0]["status"] == "accepted" and answer["program_version"] is None
    assert answer["cards"][CARD]["stamps"] == 1
    assert ours.get(f"/v1/cards/{CARD}").json()["stamps"] == 2
    assert theirs.get(f"/v1/cards/{CARD}").json()["stamps"] == 1
    assert ours.get("/v1/program").headers["etag"] == '"ours-1"'
    assert list(ours.get("/v1/cards/changes").json()["cards"]) == [CARD]
    # a kiosk cannot post events in another kiosk's name, of its own organisation or not
    stolen = theirs.post_events(_stamps("ours", OTHER, 3)).json()["results"][0]
    assert stolen["status"] == "rejected"


def test_an_owner_key_manages_the_customers_of_its_own_organisation_only(
    central: tuple[str, str],
) -> None:
    url, db_url = central
    add_org(db_url, "Chez Lou", "main")
    ours = Client(url, add_owner_key(db_url, "ours", org="default"))
    theirs = Client(url, add_owner_key(db_url, "theirs", org="Chez Lou"))
    kiosk = Client(url, add_kiosk(db_url, "ours", org="default"))
    kiosk.post_events(_stamps("ours", CARD, 1))
    path = f"/v1/cards/{CARD}/customer"
    zoe = {"first_name": "Zoé", "consent": True}
    assert ours.send_json("PUT", path, zoe).status == 200
    assert theirs.get(path).status == 404
    assert theirs.request("DELETE", path).json()["erased"] is False
    assert ours.get(path).json()["customer"]["first_name"] == "Zoé"
    assert kiosk.get(f"/v1/cards/{CARD}").json()["customer"]["first_name"] == "Zoé"


def test_a_shop_runs_its_own_program_and_the_others_the_organisations(
    central: tuple[str, str],
) -> None:
    url, db_url = central
    db = open_database(db_url)
    try:
        store.add_shop(db, "Gare", NOW)
    finally:
        db.dispose()
    main_kiosk = Client(url, add_kiosk(db_url, "main-1", shop="main"))
    gare_kiosk = Client(url, add_kiosk(db_url, "gare-1", shop="Gare"))
    _program(db_url, 'version = "all-1"\ngoal = 10\n')
    _program(db_url, 'version = "gare-1"\ngoal = 6\n', shop="Gare")
    assert main_kiosk.get("/v1/program").json()["version"] == "all-1"
    assert gare_kiosk.get("/v1/program").json()["goal"] == 6
    _program(db_url, 'version = "all-2"\ngoal = 9\n')  # the shop keeps its own
    assert main_kiosk.get("/v1/program").json()["version"] == "all-2"
    assert gare_kiosk.get("/v1/program").json()["version"] == "gare-1"


def test_changed_cards_come_once_each_in_pages_and_then_only_what_changed_since(
    central: tuple[str, str],
) -> None:
    url, db_url = central
    kiosk = Client(url, add_kiosk(db_url, "k1"))
    cards = [hashlib.sha256(bytes([n])).hexdigest() for n in range(5)]
    for seq, card in enumerate(cards, start=1):
        kiosk.post_events(_stamps("k1", card, seq))
    kiosk.post_events(_stamps("k1", cards[0], 10))  # changed again: comes once, as it is now
    seen: dict[str, int] = {}
    cursor, more, pages = "0", True, 0
    while more:
        page = kiosk.get(f"/v1/cards/changes?after={cursor}&limit=2").json()
        assert not set(page["cards"]) & set(seen)
        seen.update({ref: card["stamps"] for ref, card in page["cards"].items()})
        assert page["cursor"] != cursor or not page["cards"]
        cursor, more, pages = page["cursor"], page["more"], pages + 1
    assert pages == 3 and seen == {**dict.fromkeys(cards, 1), cards[0]: 2}
    kiosk.post_events(_stamps("k1", cards[3], 11))
    later = kiosk.get(f"/v1/cards/changes?after={cursor}").json()
    assert {ref: c["stamps"] for ref, c in later["cards"].items()} == {cards[3]: 2}
    assert kiosk.get(f"/v1/cards/changes?after={later['cursor']}").json()["cards"] == {}


@pytest.mark.parametrize("query", ["after=-1", "after=x", f"after={2**62 + 1}",
                                   f"after={2**63}-1", f"after=1-{2**62 + 1}", "after=1-2-3",
                                   "limit=0", "limit=1001"])
def test_a_cursor_or_page_size_out_of_bounds_is_a_422_naming_it(
    central: tuple[str, str], query: str,
) -> None:
    url, db_url = central
    reply = Client(url, add_kiosk(db_url, "k1")).get(f"/v1/cards/changes?{query}")
    assert reply.status == 422 and query.split("=")[0] in reply.json()["detail"]


def test_a_changed_card_page_reads_one_organisation(central_db: str) -> None:
    db = open_database(central_db)
    try:
        assert changed_cards(db, DEFAULT_ORG, "0").cards == {}
    finally:
        db.dispose()


def test_the_shop_commands_add_and_list_shops_and_kiosks(
    capsys: pytest.CaptureFixture[str], central_db: str,
) -> None:
    def run(*argv: str) -> tuple[int, str, str]:
        code = main([*argv, "--db", central_db])
        out, err = capsys.readouterr()
        return code, out.strip(), err.strip()

    assert run("add-shop", "Gare")[1] == "shop 'Gare' added"
    code, token, _ = run("add-kiosk", "gare-1", "--shop", "Gare", "--token")
    assert code == 0 and len(token) >= 40
    assert run("list-shops")[1].splitlines() == ["Gare\t1 live kiosk(s)", "main\t0 live kiosk(s)"]
    assert run("list-kiosks")[1].startswith("gare-1\tGare\tlive")
    code, _, err = run("add-kiosk", "gare-2")
    assert code == 1 and err.count("\n") == 0 and "--shop NAME" in err
    assert run("add-org", "Chez Lou")[0] == 0
    code, _, err = run("list-shops")
    assert code == 1 and "--org" in err
    assert run("list-shops", "--org", "Chez Lou")[1] == "no shops"
    assert run("list-orgs")[1].splitlines() == ["default", "Chez Lou"]


def test_visits_are_counted_per_shop_and_per_kiosk(central: tuple[str, str]) -> None:
    url, db_url = central
    db = open_database(db_url)
    try:
        store.add_shop(db, "Gare", NOW)
    finally:
        db.dispose()
    main_kiosk = Client(url, add_kiosk(db_url, "main-1", shop="main"))
    gare = [Client(url, add_kiosk(db_url, f"gare-{n}", shop="Gare")) for n in (1, 2)]
    main_kiosk.post_events(_stamps("main-1", CARD, 1))
    gare[0].post_events(_stamps("gare-1", CARD, 1, 2))
    gare[1].post_events(_stamps("gare-2", OTHER, 3))
    day = (NOW - timedelta(minutes=1)).date().isoformat()
    db = open_database(db_url)
    try:
        with reading(db) as conn:
            assert visits_per_shop(conn, DEFAULT_ORG, day, day) == [("Gare", day, 3),
                                                                    ("main", day, 1)]
            assert [k for k, _d, _n in visits_per_day(conn, DEFAULT_ORG, day, day)] == [
                "gare-1", "gare-2", "main-1"]
    finally:
        db.dispose()
