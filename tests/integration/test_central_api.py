"""The central API over a real uvicorn server on loopback, on a real SQLite file and on a
real PostgreSQL database (every test runs on both)."""

from __future__ import annotations

import hashlib
import json
import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from central import store
from central.db import open_database
from central.program import from_toml
from central.serving import listening_socket
from central.testing import Client, add_kiosk, add_owner_key, event_dict, running_server
from kiosk.core.events import Event, EventKind, fold, record
from kiosk.core.rules import Program, decide_redeem, decide_tap
from tests.support.databases import database_url

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CARD = hashlib.sha256(b"card one").hexdigest()
OTHER_CARD = hashlib.sha256(b"card two").hexdigest()


class Server:
    def __init__(self, db: str, url: str) -> None:
        self.db, self.url = db, url
        self.tokens: dict[str, str] = {}

    def kiosk(self, kiosk_id: str) -> Client:
        if kiosk_id not in self.tokens:
            self.tokens[kiosk_id] = add_kiosk(self.db, kiosk_id)
        return Client(self.url, self.tokens[kiosk_id])

    def owner(self) -> Client:
        if "owner key" not in self.tokens:
            self.tokens["owner key"] = add_owner_key(self.db, "script")
        return Client(self.url, self.tokens["owner key"])

    def count(self) -> int:
        db = open_database(self.db)
        try:
            return store.event_count(db)
        finally:
            db.dispose()


@pytest.fixture
def server(central_db: str) -> Iterator[Server]:
    db = central_db
    with running_server(db, clock=lambda: NOW) as url:
        yield Server(db, url)


def stamp(kiosk: str, seq: int, card: str = CARD, minutes: int = 0, **extra: Any) -> dict[str, Any]:
    return event_dict(kiosk, card, seq, NOW - timedelta(hours=1, minutes=-minutes), **extra)


def statuses(reply: Any) -> list[str]:
    assert reply.status == 200, reply.body
    return [r["status"] for r in reply.json()["results"]]


def test_health_answers_without_a_token(server: Server) -> None:
    reply = Client(server.url).get("/v1/health")
    assert (reply.status, reply.json()) == (200, {"status": "ok"})


def test_a_batch_is_answered_per_event_in_order(server: Server) -> None:
    kiosk = server.kiosk("k1")
    first, second = stamp("k1", 1), stamp("k1", 2, minutes=40)
    assert statuses(kiosk.post_events([first])) == ["accepted"]
    bad = {**stamp("k1", 3), "card_ref": "XYZ"}
    reply = kiosk.post_events([first, second, bad])
    assert statuses(reply) == ["duplicate", "accepted", "rejected"]
    results = reply.json()["results"]
    assert [r["id"] for r in results] == [first["id"], second["id"], bad["id"]]
    assert "card_ref" in results[2]["reason"]
    assert reply.json()["cards"][CARD]["stamps"] == 2
    assert server.count() == 2


def test_the_same_id_with_a_different_body_is_rejected_and_never_applied(server: Server) -> None:
    kiosk = server.kiosk("k1")
    original = stamp("k1", 1)
    kiosk.post_events([original])
    forged = {**original, "delta": 5}
    reply = kiosk.post_events([forged])
    assert statuses(reply) == ["rejected"]
    assert "different content" in reply.json()["results"][0]["reason"]
    assert kiosk.get(f"/v1/cards/{CARD}").json()["stamps"] == 1


def test_an_event_under_another_kiosks_id_is_rejected(server: Server) -> None:
    server.kiosk("k2")
    reply = server.kiosk("k1").post_events([stamp("k2", 1), stamp("k1", 1)])
    assert statuses(reply) == ["rejected", "accepted"]
    assert "kiosk" in reply.json()["results"][0]["reason"]
    assert server.count() == 1


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer not-a-token", "Basic dXNlcjpwYXNz", "Bearer ", "bearer"],
)
def test_an_unknown_token_gets_401_and_nothing_is_written(
    server: Server, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    client = Client(server.url)
    reply = client.request("POST", "/v1/events", b'{"events": []}', headers)
    assert reply.status == 401
    body = {"events": [stamp("k1", 1)]}
    reply = client.request("POST", "/v1/events", json.dumps(body).encode(), headers)
    assert reply.status == 401 and reply.headers["www-authenticate"] == "Bearer"
    assert server.count() == 0


def test_a_revoked_token_gets_401_and_nothing_is_written(server: Server) -> None:
    kiosk = server.kiosk("k1")
    assert statuses(kiosk.post_events([stamp("k1", 1)])) == ["accepted"]
    db = open_database(server.db)
    store.revoke_kiosk(db, "k1", NOW)
    db.dispose()
    assert kiosk.post_events([stamp("k1", 2)]).status == 401
    assert kiosk.get(f"/v1/cards/{CARD}").status == 401
    assert server.count() == 1


BIG = b'{"events": [' + b" " * (1024 * 1024) + b"]}"


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        (b"{not json", 400, "not JSON"),
        (b"\xff\xfe", 400, "not JSON"),
        (b'{"events": [' + b"9" * 5000 + b"]}", 400, "not JSON"),
        (b"[" * 100_000, 400, "not JSON"),
        (b"[]", 422, "JSON object"),
        (b'{"events": "x"}', 422, "list"),
        (b'{"events": []}', 422, "1 to 500"),
        (b'{"events": [1]}', 422, "events[0]"),
        (b'{"events": [{"kind": "stamp"}]}', 422, "events[0].id"),
        (b'{"events": [{"id": 7}]}', 422, "events[0].id"),
        (b'{"events": [{"id": "a"}], "extra": 1}', 422, "extra"),
        (b'{"events": [' + b",".join([b'{"id": "x"}'] * 501) + b"]}", 422, "1 to 500"),
        (BIG, 413, "larger"),
    ],
)
def test_a_bad_body_gets_a_4xx_with_a_reason(
    server: Server, body: bytes, status: int, reason: str
) -> None:
    reply = server.kiosk("k1").request("POST", "/v1/events", body)
    assert reply.status == status
    assert reason in reply.json()["detail"]
    assert server.count() == 0


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"card_ref": "AB" * 32}, "card_ref"),
        ({"kind": "gift"}, "unknown kind"),
        ({"delta": 1001}, "delta"),
        ({"delta": True}, "delta"),
        ({"delta": "1"}, "delta"),
        ({"seq": 1.5}, "seq"),
        ({"occurred_at": "2019-12-31T23:00:00+00:00"}, "before 2020"),
        ({"occurred_at": (NOW + timedelta(days=2)).isoformat()}, "future"),
        ({"occurred_at": "2026-05-01T10:00:00"}, "offset"),
        ({"occurred_at": "yesterday"}, "ISO 8601"),
        ({"surprise": 1}, "unknown field"),
        ({"kind": "reward_redeemed", "reward_id": None}, "reward_id"),
    ],
)
def test_a_bad_event_is_rejected_with_a_reason_and_its_batch_goes_on(
    server: Server, change: dict[str, Any], reason: str
) -> None:
    bad = {**stamp("k1", 1), **change}
    good = stamp("k1", 2)
    reply = server.kiosk("k1").post_events([bad, good])
    assert statuses(reply) == ["rejected", "accepted"]
    assert reason in reply.json()["results"][0]["reason"]
    assert server.count() == 1


def test_a_missing_field_is_rejected_by_name(server: Server) -> None:
    event = stamp("k1", 1)
    del event["program_version"]
    reply = server.kiosk("k1").post_events([event])
    assert "program_version" in reply.json()["results"][0]["reason"]


def kiosk_taps(program: Program, kiosk: str, card: str, times: list[datetime]) -> list[Event]:
    """Events as a kiosk records them: the rules decide, `record` gives ids and seqs."""
    events: list[Event] = []
    for n, moment in enumerate(times):
        outcome = decide_tap(program, fold(card, events), moment)
        events += record(outcome.changes, card_ref=card, kiosk_id=kiosk, program_version="1",
                         now=moment, new_id=lambda: str(uuid.uuid4()),
                         first_seq=n * 10)
    return events


def test_card_state_is_the_kiosk_fold_of_the_same_events(server: Server) -> None:
    program = Program(goal=4, welcome_bonus=1)
    times = [NOW - timedelta(days=10 - d) for d in range(7)]
    events = kiosk_taps(program, "k1", CARD, times)
    reply = server.kiosk("k1").post_events([e.to_dict() for e in events])
    assert set(statuses(reply)) == {"accepted"}
    card = reply.json()["cards"][CARD]
    expected = fold(CARD, events).to_dict()
    assert {k: card[k] for k in expected} == expected
    assert card["vouchers"] == {"reward": 2}
    assert server.kiosk("k1").get(f"/v1/cards/{CARD}").json() == card


def test_two_kiosks_stamps_merge_to_the_same_balance_in_either_order(
    tmp_path: Path, pg_cluster: Any
) -> None:
    program = Program(goal=5, welcome_bonus=0)
    at_one = kiosk_taps(program, "k1", CARD, [NOW - timedelta(days=9 - d) for d in range(4)])
    at_two = kiosk_taps(program, "k2", CARD, [NOW - timedelta(days=4 - d) for d in range(3)])
    cards = []
    for backend, order in (("sqlite", ("k1", "k2")), ("sqlite", ("k2", "k1")),
                           ("postgresql", ("k1", "k2")), ("postgresql", ("k2", "k1"))):
        db = database_url(backend, tmp_path / order[0], pg_cluster)
        (tmp_path / order[0]).mkdir(exist_ok=True)
        with running_server(db, clock=lambda: NOW) as url:
            batches = {"k1": at_one, "k2": at_two}
            for kiosk in order:
                client = Client(url, add_kiosk(db, kiosk))
                client.post_events([e.to_dict() for e in batches[kiosk]])
            cards.append(client.get(f"/v1/cards/{CARD}").json())
    assert cards[0] == cards[1] == cards[2] == cards[3]
    assert cards[0]["stamps"] == fold(CARD, at_one + at_two).stamps


def test_one_voucher_redeemed_at_two_kiosks_is_kept_twice_and_flagged(server: Server) -> None:
    program = Program(goal=2, welcome_bonus=0)
    history = kiosk_taps(program, "k1", CARD, [NOW - timedelta(days=3), NOW - timedelta(days=2)])
    server.kiosk("k1").post_events([e.to_dict() for e in history])
    card = fold(CARD, history)
    assert card.vouchers("reward") == 1
    redemptions = []
    for n, kiosk in enumerate(("k1", "k2")):  # both offline, both see one voucher
        outcome = decide_redeem(program, card, NOW - timedelta(hours=1))
        redemptions.append(event_dict(kiosk, CARD, 100 + n, NOW - timedelta(hours=1),
                                      kind=EventKind.REWARD_REDEEMED, delta=0,
                                          reward_id="reward"))
        assert outcome.changes
    server.kiosk("k1").post_events([redemptions[0]])
    reply = server.kiosk("k2").post_events([redemptions[1]])
    answer = reply.json()["cards"][CARD]
    assert answer["redeemed"] == {"reward": 2}
    assert answer["vouchers"] == {"reward": -1}
    assert answer["overdrawn"] is True and "overdraft" in answer["flags"]


def test_events_with_implausible_times_are_kept_and_flagged(server: Server) -> None:
    kiosk = server.kiosk("k1")
    ahead = event_dict("k1", CARD, 1, NOW + timedelta(hours=2))
    late = event_dict("k1", CARD, 2, NOW - timedelta(days=40))
    normal = event_dict("k1", CARD, 3, NOW - timedelta(hours=1))
    reply = kiosk.post_events([ahead, late, normal])
    assert statuses(reply) == ["accepted"] * 3
    card = reply.json()["cards"][CARD]
    assert card["stamps"] == 3
    assert card["flagged_events"][ahead["id"]] == ["clock_ahead"]
    assert "late_upload" in card["flagged_events"][late["id"]]
    assert "clock_backwards" in card["flagged_events"][late["id"]]
    assert normal["id"] not in card["flagged_events"]
    assert set(card["flags"]) == {"clock_ahead", "late_upload", "clock_backwards"}


def test_a_card_never_seen_is_404_and_a_malformed_ref_422(server: Server) -> None:
    kiosk = server.kiosk("k1")
    assert kiosk.get(f"/v1/cards/{OTHER_CARD}").status == 404
    assert kiosk.get("/v1/cards/not-a-card").status == 422


def test_the_program_carries_its_version_as_etag_and_304_when_unchanged(server: Server) -> None:
    kiosk = server.kiosk("k1")
    assert kiosk.get("/v1/program").status == 404
    db = open_database(server.db)
    store.set_program(db, from_toml('[program]\nversion = "7"\ngoal = 8\n'), NOW)
    first = kiosk.get("/v1/program")
    assert first.status == 200 and first.headers["etag"] == '"7"'
    assert first.json()["goal"] == 8 and first.json()["version"] == "7"
    assert kiosk.get("/v1/program", {"If-None-Match": '"7"'}).status == 304
    store.set_program(db, from_toml('version = "8"\ngoal = 9\n'), NOW)
    db.dispose()
    newer = kiosk.get("/v1/program", {"If-None-Match": '"7"'})
    assert newer.status == 200 and newer.headers["etag"] == '"8"'
    assert kiosk.post_events([stamp("k1", 1)]).json()["program_version"] == "8"


def test_customer_details_are_kept_only_with_consent(server: Server) -> None:
    kiosk = server.owner()
    path = f"/v1/cards/{CARD}/customer"
    refused = kiosk.send_json("PUT", path, {"first_name": "Ann", "consent": False})
    assert refused.status == 422 and "consent" in refused.json()["detail"]
    for bad in ({"consent": "yes"}, {"consent": True, "birthday": "1990-02-30"},
                {"consent": True, "nickname": "A"}, {"consent": True, "birthday": "2999-01-01"},
                {"consent": True, "first_name": "Ann\x1b[2J"}):
        assert kiosk.send_json("PUT", path, bad).status == 422
    saved = kiosk.send_json("PUT", path, {"first_name": "Ann", "birthday": "1990-02-03",
                                          "consent": True})
    assert saved.status == 200 and saved.json()["first_name"] == "Ann"
    assert kiosk.get(path).status == 200


def test_erasing_a_customer_keeps_the_cards_events_as_anonymous_counts(server: Server) -> None:
    server.kiosk("k1").post_events([stamp("k1", 1)])
    owner = server.owner()
    path = f"/v1/cards/{CARD}/customer"
    owner.send_json("PUT", path, {"first_name": "Ann", "birthday": "1990-02-03", "consent": True})
    export = owner.get(path).json()
    assert export["customer"]["first_name"] == "Ann" and len(export["events"]) == 1
    assert owner.request("DELETE", path).json()["erased"] is True
    after = owner.get(path).json()
    assert after["customer"] is None and after["card"]["stamps"] == 1
    # SQLite overwrites erased bytes (secure_delete, then a WAL checkpoint); PostgreSQL
    # leaves dead rows to VACUUM (README: backups and erasure)
    if "://" not in server.db:
        for leftover in Path(server.db).parent.glob("central.sqlite3*"):
            assert b"Ann" not in leftover.read_bytes()


def test_the_openapi_document_describes_the_v1_routes(server: Server) -> None:
    document = Client(server.url).get("/openapi.json").json()
    assert {"/v1/health", "/v1/events", "/v1/cards/{card_ref}", "/v1/program",
            "/v1/cards/{card_ref}/customer"} <= set(document["paths"])
    batch = document["paths"]["/v1/events"]["post"]["requestBody"]["content"]
    ref = batch["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert document["components"]["schemas"][ref]["properties"]["events"]["maxItems"] == 500


def test_a_chunked_body_past_one_mebibyte_is_refused_with_413(server: Server) -> None:
    import http.client

    def chunks() -> Iterator[bytes]:
        yield b'{"events": ['
        for _ in range(20):
            yield b" " * 65536
        yield b"]}"

    port = int(server.url.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", "/v1/events", body=chunks(), encode_chunked=True,
                 headers={"Authorization": f"Bearer {add_kiosk(server.db, 'k1')}"})
    reply = conn.getresponse()
    assert reply.status == 413 and b"larger" in reply.read()
    conn.close()
    assert server.count() == 0


def test_stamp_days_follow_the_programs_time_zone_when_it_changes(server: Server) -> None:
    # 23:30 UTC on 31 May is already 1 June in Paris
    late_evening = datetime(2026, 5, 31, 23, 30, tzinfo=UTC)
    event = event_dict("k1", CARD, 1, late_evening)
    kiosk = server.kiosk("k1")
    assert kiosk.post_events([event]).json()["cards"][CARD]["stamp_day"] == "2026-05-31"
    db = open_database(server.db)
    store.set_program(db, from_toml('version = "paris"\ntimezone = "Europe/Paris"\n'), NOW)
    db.dispose()
    card = kiosk.get(f"/v1/cards/{CARD}").json()
    paris = Program(timezone="Europe/Paris").tz
    assert card["stamp_day"] == "2026-06-01"
    assert card == {**card, **fold(CARD, [Event.from_dict(event)], paris).to_dict()}


def test_the_server_socket_hands_out_connections_with_nagle_off() -> None:
    """asyncio turns Nagle off only on sockets that say IPPROTO_TCP; with it on, each
    answer's body waited 40 ms for the kiosk's delayed ACK (see bench/sync.py)."""
    with listening_socket() as server, socket.create_connection(server.getsockname()):
        accepted, _ = server.accept()
        with accepted:
            assert accepted.proto == socket.IPPROTO_TCP
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
