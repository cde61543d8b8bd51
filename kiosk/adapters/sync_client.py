"""The HTTP side of sync: one central API, spoken over `requests`, answers checked strictly.

Only this module and `kiosk.adapters.sync` know HTTP. Every way a request can go wrong
(refused, reset, timed out, 5xx, 429, a body that is not the answer we asked for) ends
as a `SyncFailure` with a short text fit for the staff status and the log, so the caller
never has to tell `requests` exceptions apart. Nothing here touches the ledger.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import requests

from kiosk.config import CentralSection
from kiosk.core.events import CardState, Event
from kiosk.core.perks import Customer

STATUSES = ("accepted", "duplicate", "rejected")
USER_AGENT = "loyalty-kiosk-sync/1"


class SyncFailure(Exception):
    """One request (or its answer) failed; nothing should change locally.

    `retry_after`: seconds the server asked us to wait (429/503), when it said so;
    `status`: the HTTP status of an error answer (None when there was no answer).
    """

    def __init__(
        self, message: str, retry_after: float | None = None, status: int | None = None
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.status = status


@dataclass(frozen=True)
class BatchAnswer:
    """The server's checked answer to one batch of events."""

    synced: tuple[str, ...]
    rejected: Mapping[str, str]
    cards: tuple[CardState, ...]
    program_version: str | None
    duplicates: int
    # card_ref -> the consenting customer (None: the server holds none); only cards whose
    # answer said either way (an older server says nothing, and nothing is forgotten)
    customers: Mapping[str, Customer | None] = field(default_factory=dict)


@dataclass(frozen=True)
class RemoteCard:
    """One card as the server answers it: the state, and its customer when it said."""

    state: CardState
    customer: Customer | None
    says_customer: bool


@dataclass(frozen=True)
class ProgramAnswer:
    """The program as served; `fields` is None when our ETag was still current (304)."""

    etag: str | None
    fields: Mapping[str, Any] | None


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def read_token(token_file: str) -> str:
    """The kiosk's bearer token; SyncFailure with a clear message when it is unusable."""
    if not token_file:
        raise SyncFailure("central.token_file is not set: no token to sync with")
    path = Path(token_file)
    try:
        token = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise SyncFailure(f"token file {path} is missing (kiosk-central add-kiosk prints one)") from None
    except (OSError, UnicodeDecodeError) as error:
        raise SyncFailure(f"token file {path} cannot be read: {error.__class__.__name__}") from None
    if not token:
        raise SyncFailure(f"token file {path} is empty")
    if any(ch.isspace() for ch in token) or not token.isprintable():
        raise SyncFailure(f"token file {path} holds more than one token-like word")
    return token


def _detail(response: requests.Response) -> str:
    """A short reason from an error answer (the server's `detail`, else the status text)."""
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    text = detail if isinstance(detail, str) else response.reason or ""
    return text[:120]


def check_batch(data: Any, sent: Sequence[Event]) -> BatchAnswer:
    """Check an answer against the events sent; SyncFailure if it is not exactly their answer."""
    if not isinstance(data, dict):
        raise SyncFailure("garbage answer: not a JSON object")
    results = data.get("results")
    if not isinstance(results, list) or len(results) != len(sent):
        raise SyncFailure("garbage answer: results do not match the events sent")
    wanted = {event.id for event in sent}
    synced: list[str] = []
    rejected: dict[str, str] = {}
    duplicates = 0
    for item in results:
        if not isinstance(item, dict):
            raise SyncFailure("garbage answer: a result is not an object")
        event_id, status, reason = item.get("id"), item.get("status"), item.get("reason")
        if not isinstance(event_id, str) or event_id not in wanted or status not in STATUSES:
            raise SyncFailure("garbage answer: a result names no event sent, or no known status")
        wanted.discard(event_id)
        if status == "rejected":
            rejected[event_id] = reason[:200] if isinstance(reason, str) and reason else "rejected"
        else:
            synced.append(event_id)
            duplicates += status == "duplicate"
    if wanted:
        raise SyncFailure("garbage answer: some events sent have no result")
    remote = _check_cards(data.get("cards", {}), {e.card_ref for e in sent})
    return BatchAnswer(
        synced=tuple(synced),
        rejected=rejected,
        cards=tuple(card.state for card in remote),
        program_version=_version(data.get("program_version")),
        duplicates=duplicates,
        customers={c.state.card_ref: c.customer for c in remote if c.says_customer},
    )


def _check_cards(cards: Any, refs: set[str]) -> list[RemoteCard]:
    if not isinstance(cards, dict):
        raise SyncFailure("garbage answer: cards is not an object")
    found = []
    for ref, body in cards.items():
        card = check_remote_card(body)
        if ref not in refs or card.state.card_ref != ref:
            raise SyncFailure("garbage answer: a card that was not in the batch")
        found.append(card)
    return found


def check_customer(value: Any) -> Customer | None:
    """The `customer` of a card answer: null, or {first_name, birthday} (consent implied:
    the server sends it only with consent). SyncFailure for anything else."""
    if value is None:
        return None
    if not isinstance(value, dict) or not set(value) <= {"first_name", "birthday"}:
        raise SyncFailure("garbage answer: customer is not {first_name, birthday}")
    name, birthday = value.get("first_name"), value.get("birthday")
    if name is not None and (not isinstance(name, str) or not 1 <= len(name) <= 60
                             or not name.isprintable()):
        raise SyncFailure("garbage answer: customer first_name is not a short text")
    born = None
    if birthday is not None:
        try:
            born = date.fromisoformat(birthday) if isinstance(birthday, str) else None
        except ValueError:
            born = None
        if born is None or len(birthday) != 10:
            raise SyncFailure("garbage answer: customer birthday is not YYYY-MM-DD")
    return Customer(name, born, consent=True)


def check_remote_card(body: Any) -> RemoteCard:
    """A card answer: its state and, when the server says, its customer."""
    state = check_card(body)
    says = isinstance(body, dict) and "customer" in body
    return RemoteCard(state, check_customer(body["customer"]) if says else None, says)


def check_card(body: Any) -> CardState:
    """A card state from the server, or SyncFailure when it does not parse."""
    try:
        if not isinstance(body, dict):
            raise TypeError("not an object")
        return CardState.from_dict(body)
    except (KeyError, TypeError, ValueError, OverflowError):
        raise SyncFailure("garbage answer: a card state does not parse") from None


def _version(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise SyncFailure("garbage answer: program_version is not a string")


class CentralClient:
    """Requests to one central API, with this kiosk's token and the configured timeouts."""

    def __init__(self, section: CentralSection) -> None:
        self.section = section
        self._session = requests.Session()
        self._session.headers["User-Agent"] = USER_AGENT

    def close(self) -> None:
        self._session.close()

    def _request(
        self, method: str, path: str, token: str, *, body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        sent = {"Authorization": f"Bearer {token}", **(headers or {})}
        if body is not None:
            sent["Content-Type"] = "application/json"
        try:
            response = self._session.request(
                method,
                self.section.url + path,
                data=body,
                headers=sent,
                timeout=(self.section.connect_timeout, self.section.read_timeout),
                # per request: a session-level False loses to $REQUESTS_CA_BUNDLE in requests
                verify=self.section.verify_tls,
                allow_redirects=False,
            )
        except requests.exceptions.SSLError:
            raise SyncFailure("TLS certificate refused (central.verify_tls)") from None
        except requests.exceptions.ConnectTimeout:
            raise SyncFailure("central API: connect timed out") from None
        except requests.exceptions.ReadTimeout:
            raise SyncFailure("central API: no answer within read_timeout") from None
        except requests.exceptions.ConnectionError:
            raise SyncFailure("central API unreachable (refused or reset)") from None
        except requests.exceptions.RequestException as error:
            raise SyncFailure(f"central API request failed: {error.__class__.__name__}") from None
        return self._judge(response)

    def _judge(self, response: requests.Response) -> requests.Response:
        code = response.status_code
        if code < 400 and code not in (301, 302, 303, 307, 308):
            return response
        wait = parse_retry_after(response.headers.get("Retry-After"), datetime.now(UTC))
        if code == 401:
            raise SyncFailure("central API refused this kiosk's token (401)", None, code)
        if code == 429:
            raise SyncFailure("central API asks us to slow down (429)", wait, code)
        if code >= 500:
            raise SyncFailure(f"central API error {code}", wait, code)
        raise SyncFailure(
            f"central API refused the request ({code}): {_detail(response)}", wait, code
        )

    def send(self, token: str, events: Sequence[Event]) -> BatchAnswer:
        """POST one batch; the checked answer, or SyncFailure (then nothing is known)."""
        body = json.dumps({"events": [e.to_dict() for e in events]}).encode()
        response = self._request("POST", "/v1/events", token, body=body)
        return check_batch(_json(response), events)

    def remote_card(self, token: str, card_ref: str) -> RemoteCard | None:
        """The server's answer for one card (state and customer); None without events."""
        try:
            response = self._request("GET", f"/v1/cards/{card_ref}", token)
        except SyncFailure as failure:
            if failure.status == 404:
                return None
            raise
        found = check_remote_card(_json(response))
        if found.state.card_ref != card_ref:
            raise SyncFailure("garbage answer: another card than asked")
        return found

    def program(self, token: str, etag: str | None) -> ProgramAnswer:
        """GET the current program, conditional on the ETag we hold."""
        headers = {"If-None-Match": etag} if etag else None
        try:
            response = self._request("GET", "/v1/program", token, headers=headers)
        except SyncFailure as failure:
            if failure.status == 404:  # no program published yet: nothing to take
                return ProgramAnswer(etag, None)
            raise
        if response.status_code == 304:
            return ProgramAnswer(etag, None)
        fields = _json(response)
        if not isinstance(fields, dict):
            raise SyncFailure("garbage answer: the program is not a JSON object")
        return ProgramAnswer(response.headers.get("ETag"), fields)


def _json(response: requests.Response) -> Any:
    try:
        return json.loads(response.content)
    except (ValueError, RecursionError):
        raise SyncFailure(f"garbage answer: not JSON ({len(response.content)} bytes)") from None
