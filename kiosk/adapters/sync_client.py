"""The HTTP side of sync: one central API, spoken over `requests`, answers checked strictly.

Only this module and `kiosk.adapters.sync` know HTTP. Every way a request can go wrong
(refused, reset, timed out, 5xx, 429, a body that is not the answer we asked for) ends
as a `SyncFailure` with a short text fit for the staff status and the log, so the caller
never has to tell `requests` exceptions apart. Nothing here touches the ledger.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import requests

from kiosk.adapters.deadline import mount_deadline
from kiosk.config import CentralSection
from kiosk.core.clock import Reading
from kiosk.core.events import PROGRAM_VERSION, CardState, Event
from kiosk.core.perks import Customer
from kiosk.core.servedcard import CardRefused, hidden_characters, plain_text, served_card
from kiosk.core.wire import digits_only

log = logging.getLogger(__name__)

STATUSES = ("accepted", "duplicate", "rejected", "held")  # held: settled, for the owner to review
USER_AGENT = "loyalty-kiosk-sync/1"
WEEK_PATH = "/v1/customer-of-the-week"
MAX_FIRST_NAME = 60  # the longest first name the central keeps
MAX_WEEK_VISITS = 7 * 24 * 60  # one a minute all week: anything above is garbage


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
    if digits_only(text):
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


def shown(text: str, limit: int = 200) -> str:
    """Server text made safe for a terminal and the log: control characters escaped."""
    cut = text[:limit]
    return cut if cut.isprintable() else cut.encode("unicode_escape").decode("ascii")


def check_batch(data: Any, sent: Sequence[Event], now: datetime) -> BatchAnswer:
    """Check an answer against the events sent; SyncFailure if it is not exactly their answer.

    A card state in it that fails its checks is left out (and logged): the events' results
    still count, and the card is read again later.
    """
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
            rejected[event_id] = shown(reason) if isinstance(reason, str) and reason else "rejected"
        else:
            synced.append(event_id)
            duplicates += status == "duplicate"
    if wanted:
        raise SyncFailure("garbage answer: some events sent have no result")
    remote = _check_cards(data.get("cards", {}), {e.card_ref for e in sent}, now)
    return BatchAnswer(
        synced=tuple(synced),
        rejected=rejected,
        cards=tuple(card.state for card in remote),
        program_version=_version(data.get("program_version")),
        duplicates=duplicates,
        customers={c.state.card_ref: c.customer for c in remote if c.says_customer},
    )


def _check_cards(cards: Any, refs: set[str], now: datetime) -> list[RemoteCard]:
    if not isinstance(cards, dict):
        raise SyncFailure("garbage answer: cards is not an object")
    found = []
    for ref, body in cards.items():
        if ref not in refs or not isinstance(body, dict) or body.get("card_ref") != ref:
            raise SyncFailure("garbage answer: a card that was not in the batch")
        card = _taken(body, now)
        if card is not None:
            found.append(card)
    return found


def _taken(body: dict[str, Any], now: datetime) -> RemoteCard | None:
    """A served card, or None (logged) when its state or customer fails the checks."""
    try:
        return check_remote_card(body, now)
    except SyncFailure as refused:
        ref = body.get("card_ref")
        log.warning("event=card_refused card=%s problem=%r",
                    shown(ref, 12) if isinstance(ref, str) else "?", str(refused))
        return None


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


def check_remote_card(body: Any, now: datetime) -> RemoteCard:
    """A card answer: its state and, when the server says, its customer."""
    state = check_card(body, now)
    says = isinstance(body, dict) and "customer" in body
    return RemoteCard(state, check_customer(body["customer"]) if says else None, says)


def check_card(body: Any, now: datetime) -> CardState:
    """A card state from the server, or SyncFailure naming the field that fails its checks."""
    try:
        return served_card(body, now)
    except CardRefused as refused:
        raise SyncFailure(f"garbage answer: card refused: {refused}") from None


def _version(value: Any) -> str | None:
    if value is None or isinstance(value, str) and PROGRAM_VERSION.fits(value) and plain_text(value):
        return value
    # the events' results still count; without a version we only miss a quick program check
    log.warning("event=program_version_refused value=%r", shown(str(value), 60))
    return None


class CentralClient:
    """Requests to one central API, with this kiosk's token and the configured timeouts."""

    def __init__(self, section: CentralSection) -> None:
        self.section = section
        self._session = requests.Session()
        self._session.headers["User-Agent"] = USER_AGENT
        self._watch = mount_deadline(self._session)
        self._readings: list[Reading] = []

    @property
    def deadline(self) -> float:
        """Seconds a whole request may take: read_timeout alone bounds each read only."""
        return self.section.connect_timeout + self.section.read_timeout

    def take_readings(self) -> list[Reading]:
        """The central's clock as its answers gave it since the last call (oldest first)."""
        taken, self._readings = self._readings, []
        return taken

    def _note_clock(self, response: requests.Response) -> None:
        when = _http_date(response.headers.get("Date"))
        if when is not None:
            self._readings.append(Reading(datetime.now(UTC), when))

    def close(self) -> None:
        self._session.close()

    def _request(
        self, method: str, path: str, token: str, *, body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        sent = {"Authorization": f"Bearer {token}", **(headers or {})}
        if body is not None:
            sent["Content-Type"] = "application/json"
        with self._watch.limit(self.deadline) as run:
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
            except requests.exceptions.RequestException as error:
                if run.expired:
                    raise SyncFailure(
                        f"central API: no whole answer within {self.deadline:g} s "
                        "(connect_timeout + read_timeout)"
                    ) from None
                raise self._failure(error) from None
        if run.expired:
            raise SyncFailure(f"central API: no whole answer within {self.deadline:g} s") from None
        self._note_clock(response)
        return self._judge(response)

    @staticmethod
    def _failure(error: requests.exceptions.RequestException) -> SyncFailure:
        # most specific first: a ConnectTimeout is also a ConnectionError
        for kind, text in (
            (requests.exceptions.SSLError, "TLS certificate refused (central.verify_tls)"),
            (requests.exceptions.ConnectTimeout, "central API: connect timed out"),
            (requests.exceptions.ReadTimeout, "central API: no answer within read_timeout"),
            (requests.exceptions.ConnectionError, "central API unreachable (refused or reset)"),
        ):
            if isinstance(error, kind):
                return SyncFailure(text)
        return SyncFailure(f"central API request failed: {error.__class__.__name__}")

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
        return check_batch(_json(response), events, datetime.now(UTC))

    def report(self, token: str, body: Mapping[str, Any]) -> bool:
        """POST the kiosk's own report; False when the central has no such route (older)."""
        try:
            self._request("POST", "/v1/kiosk/report", token, body=json.dumps(body).encode())
        except SyncFailure as failure:
            if failure.status == 404:
                return False
            raise
        return True

    def remote_card(self, token: str, card_ref: str) -> RemoteCard | None:
        """The server's answer for one card (state and customer); None without events."""
        try:
            response = self._request("GET", f"/v1/cards/{card_ref}", token)
        except SyncFailure as failure:
            if failure.status == 404:
                return None
            raise
        body = _json(response)
        if not isinstance(body, dict) or body.get("card_ref") != card_ref:
            raise SyncFailure("garbage answer: another card than asked")
        return _taken(body, datetime.now(UTC))

    def read(self, token: str, path: str) -> Any:
        """GET `path`: its JSON answer, or SyncFailure."""
        return _json(self._request("GET", path, token))

    def customer_of_week(self, token: str) -> tuple[str, int] | None:
        """The shop's customer of the week (first name, visits), or None; a central that
        does not know the route (404) has nobody to show."""
        try:
            response = self._request("GET", WEEK_PATH, token)
        except SyncFailure as failure:
            if failure.status == 404:
                return None
            raise
        return check_week(_json(response))

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
        if hidden_characters(fields):
            # reward ids, names and the version reach the screen and the staff's terminal
            raise SyncFailure("garbage answer: the program holds control characters")
        return ProgramAnswer(response.headers.get("ETag"), fields)


def check_week(body: Any) -> tuple[str, int] | None:
    """(first name, visits) from the central's customer of the week; None for nobody.
    SyncFailure for anything else: the name reaches the screen."""
    if not isinstance(body, dict):
        raise SyncFailure("garbage answer: the customer of the week is not a JSON object")
    name, visits = body.get("first_name"), body.get("visits")
    if name is None:
        return None
    if (not isinstance(name, str) or not plain_text(name.strip(), MAX_FIRST_NAME)
            or isinstance(visits, bool) or not isinstance(visits, int)
            or not 0 < visits <= MAX_WEEK_VISITS):
        raise SyncFailure("garbage answer: a customer of the week that cannot be shown")
    return name.strip(), visits


def _http_date(value: str | None) -> datetime | None:
    """The instant of an HTTP `Date` header, or None when there is none to read."""
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _json(response: requests.Response) -> Any:
    try:
        return json.loads(response.content)
    except (ValueError, RecursionError):
        raise SyncFailure(f"garbage answer: not JSON ({len(response.content)} bytes)") from None
