"""/openapi.json is exact: every $ref resolves, and every real answer of every route
(errors included) is documented under its status and valid against its schema."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from central import pairing, store
from central.db import open_database
from central.program import from_toml
from central.serving import Limits
from central.testing import (
    Client,
    Reply,
    add_kiosk,
    add_owner_key,
    event_dict,
    running_server,
)
from central.validate import MAX_EVENTS
from kiosk.core.events import EventKind

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CARD = hashlib.sha256(b"contract card").hexdigest()
UNSEEN = hashlib.sha256(b"never seen").hexdigest()


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


class Contract:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.seen: set[tuple[str, str, int]] = set()

    def check(self, method: str, template: str, reply: Reply) -> Reply:
        """Assert the reply is documented for this route and status, and valid."""
        operation = self.document["paths"][template][method.lower()]
        documented = operation["responses"]
        assert str(reply.status) in documented, (method, template, reply.status, reply.body)
        self.seen.add((method, template, reply.status))
        content = documented[str(reply.status)].get("content")
        if content is None:
            assert reply.body == b""
            return reply
        pointer = (f"#/paths/{template.replace('/', '~1')}/{method.lower()}/responses/"
                   f"{reply.status}/content/application~1json/schema")
        Draft202012Validator({**self.document, "$ref": pointer},
                             format_checker=Draft202012Validator.FORMAT_CHECKER
                             ).validate(reply.json())
        return reply

    def request_schema(self, method: str, template: str) -> Draft202012Validator:
        pointer = (f"#/paths/{template.replace('/', '~1')}/{method.lower()}/requestBody/"
                   f"content/application~1json/schema")
        return Draft202012Validator({**self.document, "$ref": pointer},
                                    format_checker=Draft202012Validator.FORMAT_CHECKER)


@pytest.fixture
def served(central_db: str) -> Iterator[tuple[str, str]]:
    limits = Limits(burst=40, rate=0.05)
    with running_server(central_db, clock=lambda: NOW, limits=limits) as url:
        yield url, central_db


def test_every_reference_in_the_document_resolves(served: tuple[str, str]) -> None:
    document = Client(served[0]).get("/openapi.json").json()
    refs = set(_refs(document))
    assert refs
    for ref in refs:
        assert isinstance(_resolve(document, ref), dict), ref


def test_every_answer_of_every_route_is_documented_and_valid(served: tuple[str, str]) -> None:
    url, db_url = served
    document = Client(url).get("/openapi.json").json()
    contract = Contract(document)
    kiosk = Client(url, add_kiosk(db_url, "k1"))
    owner = Client(url, add_owner_key(db_url, "script"))
    stranger = Client(url, "not-a-token")
    events = "/v1/events"
    card, customer = "/v1/cards/{card_ref}", "/v1/cards/{card_ref}/customer"

    def at(path: str, ref: str) -> str:
        return path.replace("{card_ref}", ref)

    contract.check("GET", "/v1/health", Client(url).get("/v1/health"))
    sent = [event_dict("k1", CARD, 1, NOW - timedelta(hours=3)),
            event_dict("k1", CARD, 2, NOW - timedelta(hours=2), kind=EventKind.REWARD_EARNED,
                       reward_id="coffee"),
            event_dict("k1", CARD, 2**40, NOW + timedelta(hours=2))]
    upload = contract.request_schema("POST", events)
    upload.validate({"events": sent})
    first = contract.check("POST", events, kiosk.post_events(sent))
    # a reward earned without stamps is stored but held for review
    assert [r["status"] for r in first.json()["results"]] == ["accepted", "held", "accepted"]
    bad = {**sent[0], "id": "other", "card_ref": "XYZ"}
    again = contract.check("POST", events, kiosk.post_events([sent[0], bad]))
    assert [r["status"] for r in again.json()["results"]] == ["duplicate", "rejected"]
    for body in (b"{not json", b"[]", b'{"events": [' + b" " * (1024 * 1024) + b"]}"):
        contract.check("POST", events, kiosk.request("POST", events, body))
    contract.check("POST", events, stranger.post_events(sent))
    contract.check("POST", events, owner.post_events(sent))
    contract.check("GET", card, kiosk.get(at(card, CARD)))
    contract.check("GET", card, kiosk.get(at(card, UNSEEN)))
    contract.check("GET", card, kiosk.get(at(card, "nope")))
    contract.check("GET", card, stranger.get(at(card, CARD)))
    changes = "/v1/cards/changes"
    page = contract.check("GET", changes, kiosk.get(f"{changes}?after=0&limit=1"))
    assert list(page.json()["cards"]) == [CARD]
    contract.check("GET", changes, kiosk.get(f"{changes}?after=-1"))
    contract.check("GET", changes, owner.get(changes))
    contract.check("GET", "/v1/program", kiosk.get("/v1/program"))
    db = open_database(db_url)
    code = pairing.add_kiosk(db, "k2", NOW)
    db.dispose()
    anyone = Client(url)
    contract.request_schema("POST", "/v1/pair").validate({"code": code})
    contract.check("POST", "/v1/pair", anyone.send_json("POST", "/v1/pair", {"code": code}))
    contract.check("POST", "/v1/pair", anyone.send_json("POST", "/v1/pair", {"code": code}))
    contract.check("POST", "/v1/pair", anyone.send_json("POST", "/v1/pair", {"code": 5}))
    contract.check("POST", "/v1/pair", anyone.request("POST", "/v1/pair", b"{"))
    db = open_database(db_url)
    store.set_program(db, from_toml('[program]\nversion = "7"\ngoal = 8\n'), NOW)
    db.dispose()
    contract.check("GET", "/v1/program", kiosk.get("/v1/program"))
    contract.check("GET", "/v1/program", kiosk.get("/v1/program", {"If-None-Match": '"7"'}))
    details = {"first_name": "Zoé", "birthday": "1990-04-05", "consent": True}
    contract.request_schema("PUT", customer).validate(details)
    contract.check("PUT", customer, kiosk.send_json("PUT", at(customer, CARD), details))
    contract.check("PUT", customer, stranger.send_json("PUT", at(customer, CARD), details))
    contract.check("PUT", customer, owner.send_json("PUT", at(customer, CARD), details))
    contract.check("PUT", customer, owner.send_json("PUT", at(customer, CARD), {"consent": 1}))
    contract.check("PUT", customer, owner.request("PUT", at(customer, CARD), b"{"))
    contract.check("GET", customer, kiosk.get(at(customer, CARD)))
    contract.check("GET", customer, owner.get(at(customer, CARD)))
    contract.check("GET", customer, owner.get(at(customer, UNSEEN)))
    contract.check("DELETE", customer, kiosk.request("DELETE", at(customer, CARD)))
    contract.check("DELETE", customer, owner.request("DELETE", at(customer, CARD)))
    contract.check("DELETE", customer, owner.request("DELETE", at(customer, "nope")))
    contract.check("GET", card, kiosk.get(at(card, CARD)))  # now without its customer
    while True:  # the kiosk's burst runs out
        reply = contract.check("GET", "/v1/program", kiosk.get("/v1/program"))
        if reply.status == 429:
            break
    statuses = {status for _m, _t, status in contract.seen}
    assert {200, 304, 400, 401, 403, 404, 413, 422, 429} <= statuses


def test_the_documented_batch_bounds_are_the_servers(served: tuple[str, str]) -> None:
    document = Client(served[0]).get("/openapi.json").json()
    batch = _resolve(document, "#/components/schemas/EventBatch")
    assert batch["properties"]["events"]["maxItems"] == MAX_EVENTS
    assert batch["properties"]["events"]["minItems"] == 1
