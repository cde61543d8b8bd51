"""`kiosk pair URL CODE`: join the central with the one-time code `kiosk-central add-kiosk`
printed, instead of copying a token and a site key by hand.

The code goes to the central (HTTPS, or plain HTTP to this machine only); the answer is
the kiosk's token and its organisation's site key. Only then is anything written: the
site key and the token (mode 0600, where the configuration says), and the `[central]`
section (and `[kiosk] id`) of the configuration file. A wrong, used or expired code, or
no answer, writes nothing.

A kiosk whose ledger already holds cards under another site key is refused: its cards
would be named differently from the organisation's. A key that names no card yet (a
kiosk started once before pairing) is replaced, its empty ledger set aside.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import requests

from kiosk.adapters.ledger import Ledger
from kiosk.adapters.ledger_binding import ASIDE, RECORD_SUFFIX, SITE_KEY_BYTES, write_private
from kiosk.config import Config, from_mapping
from kiosk.core.events import KIOSK_ID
from kiosk.errors import ConfigError, KioskError

TOKEN_NAME = "central.token"  # beside the ledger, when [central] token_file names none
MAX_ANSWER = 4096


class PairingFailed(KioskError):
    """Pairing did not happen; nothing was written. The message names the fix."""


@dataclass(frozen=True)
class Paired:
    kiosk_id: str
    token: str
    site_key: bytes
    shop: str


def check_url(url: str) -> str:
    """The central's base URL: HTTPS, or plain HTTP to this machine only."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PairingFailed(f"{url!r} is not the central's address (like https://loyalty.example.com)")
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise PairingFailed("pairing sends the kiosk's token and site key: use https:// "
                            "(plain http:// only to this machine)")
    return url.strip().rstrip("/")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def fetch(url: str, code: str, config: Config) -> Paired:
    """POST the code; the checked answer, or PairingFailed with the central's reason."""
    section = config.central
    try:
        response = requests.post(
            f"{url}/v1/pair", json={"code": code.strip()[:40]}, allow_redirects=False,
            timeout=(section.connect_timeout, section.read_timeout), verify=section.verify_tls)
    except requests.exceptions.SSLError:
        raise PairingFailed(f"{url}: TLS certificate refused; nothing was written") from None
    except requests.exceptions.RequestException as error:
        raise PairingFailed(f"{url}: no answer ({error.__class__.__name__}); nothing was "
                            "written") from None
    if response.status_code != 200:
        raise PairingFailed(f"pairing refused: {_detail(response)}; nothing was written")
    return _checked(response.content)


def _detail(response: requests.Response) -> str:
    try:
        detail = json.loads(response.content).get("detail")
    except (ValueError, AttributeError):
        detail = None
    text = detail if isinstance(detail, str) else f"HTTP {response.status_code}"
    return text[:200] if text.isprintable() else text[:200].encode("unicode_escape").decode()


def _checked(body: bytes) -> Paired:
    try:
        data = json.loads(body[:MAX_ANSWER])
        kiosk_id, token, key, shop = (data["kiosk_id"], data["token"], data["site_key"],
                                      data["shop"])
        site_key = bytes.fromhex(key)
    except (ValueError, KeyError, TypeError):
        raise PairingFailed("the central's answer is not a pairing; nothing was written") from None
    if (not isinstance(kiosk_id, str) or KIOSK_ID.problem("the kiosk id", kiosk_id) is not None
            or not isinstance(token, str) or not 20 <= len(token) <= 200
            or not token.isascii() or not token.isprintable() or " " in token
            or len(site_key) != SITE_KEY_BYTES or not isinstance(shop, str)):
        raise PairingFailed("the central's answer is not a pairing; nothing was written")
    return Paired(kiosk_id, token, site_key, shop)


def check_site_key(config: Config, key: bytes) -> Path | None:
    """Whether the organisation's key can go where the configuration keeps it: None when
    it is there already or the place is free; the ledger to set aside when the key there
    names no card yet. PairingFailed when the ledger holds cards under another key."""
    key_path, ledger_path = config.kiosk.site_key_path, config.kiosk.ledger_path
    try:
        held = key_path.read_bytes()
    except FileNotFoundError:
        held = None
    except OSError as error:
        raise PairingFailed(f"site key {key_path}: {error.strerror}; nothing was written") from None
    if held == key:
        return None
    holds_cards = False
    if ledger_path.exists():
        with Ledger.open(ledger_path) as ledger:
            holds_cards = ledger.holding().holds_data
    if holds_cards:
        raise PairingFailed(
            f"this kiosk's ledger {ledger_path} holds cards under another site key, so they "
            "would not match this organisation's; nothing was written. To join it: "
            f"`kiosk backup DIR`, stop the kiosk, move {ledger_path} (with its -wal and "
            f"{RECORD_SUFFIX} files) and {key_path} elsewhere, then pair with a new code "
            "(kiosk-central pair-code KIOSK)")
    return ledger_path if ledger_path.exists() else None


def central_section(text: str, url: str, token_file: str, kiosk_id: str) -> str:
    """The configuration text with `[central] url` and `token_file`, and `[kiosk] id`, set
    (other lines, comments included, kept as they were)."""
    text = _set(text, "kiosk", {"id": kiosk_id})
    return _set(text, "central", {"url": url, "token_file": token_file})


def _set(text: str, section: str, values: dict[str, str]) -> str:
    lines = text.splitlines()
    header = re.compile(rf"^\s*\[\s*{section}\s*\]\s*(#.*)?$")
    start = next((n for n, line in enumerate(lines) if header.match(line)), None)
    written = [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    if start is None:
        return "\n".join([*lines, "", f"[{section}]", *written]) + "\n"
    end = next((n for n in range(start + 1, len(lines)) if lines[n].lstrip().startswith("[")),
               len(lines))
    kept = [line for line in lines[start + 1:end]
            if line.split("=", 1)[0].strip() not in values]
    return "\n".join([*lines[:start + 1], *written, *kept, *lines[end:]]) + "\n"


def pair(config_file: Path, config: Config, url: str, code: str,
         now: datetime | None = None) -> list[str]:
    """Pair this kiosk; returns what was done, line by line."""
    base = check_url(url)
    try:
        text = config_file.read_text(encoding="utf-8") if config_file.exists() else ""
    except (OSError, UnicodeDecodeError) as error:
        raise PairingFailed(f"{config_file}: cannot read: {error.__class__.__name__}") from None
    paired = fetch(base, code, config)
    empty_ledger = check_site_key(config, paired.site_key)
    token_path = (Path(config.central.token_file) if config.central.token_file
                  else config.kiosk.state_dir / TOKEN_NAME)
    new_text = central_section(text, base, str(token_path), paired.kiosk_id)
    try:
        from_mapping(tomllib.loads(new_text), str(config_file))
    except (ConfigError, tomllib.TOMLDecodeError) as error:
        raise PairingFailed(f"{config_file}: would not be a valid configuration ({error}); "
                            "nothing was written") from None
    done = []
    if empty_ledger is not None:
        moment = now or datetime.now(UTC)
        aside = empty_ledger.with_name(f"{empty_ledger.name}{ASIDE}{moment:%Y%m%dT%H%M%SZ}")
        for suffix in ("", "-wal", "-shm", RECORD_SUFFIX):
            source = empty_ledger.with_name(empty_ledger.name + suffix)
            if source.exists():
                source.rename(Path(f"{aside}{suffix}"))
        done.append(f"set aside the empty ledger {empty_ledger} (it held no card)")
    key_path = config.kiosk.site_key_path
    if not key_path.exists() or key_path.read_bytes() != paired.site_key:
        write_private(key_path, paired.site_key, replace=True)
        done.append(f"wrote the organisation's site key to {key_path} (mode 0600)")
    write_private(token_path, (paired.token + "\n").encode(), replace=True)
    done.append(f"wrote kiosk {paired.kiosk_id!r}'s token to {token_path} (mode 0600)")
    mode = config_file.stat().st_mode & 0o777 if config_file.exists() else 0o644
    draft = config_file.with_name(f".{config_file.name}.pairing")
    draft.write_text(new_text, encoding="utf-8")
    os.chmod(draft, mode)
    os.replace(draft, config_file)
    done.append(f"wrote [central] url and token_file to {config_file}")
    done.append(f"paired as kiosk {paired.kiosk_id!r} of shop {paired.shop!r}: "
                "restart the kiosk (sudo systemctl restart kiosk)")
    return done
