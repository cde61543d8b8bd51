"""Configuration: shipped defaults layered under one TOML file, validated by pydantic.

The file is found from `--config`, else `$KIOSK_CONFIG`, else /etc/kiosk/kiosk.toml; a
missing default file is fine (the shipped defaults run the kiosk), a missing named file
is an error. Every problem names its field, e.g. ``reader.path: ...``.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Sequence
from datetime import time, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from kiosk.core import program as bounds
from kiosk.core.cardid import NXP_NTAG21X_KEY, is_public_key
from kiosk.core.events import PROGRAM_VERSION, REWARD_ID
from kiosk.core.program import WEEKDAYS, Booster, Expiry, Mode, Surprise, Tier, TierBasis
from kiosk.core.rules import Program, Reward
from kiosk.core.staff import MAX_STAFF_CARDS, StaffPolicy
from kiosk.errors import ConfigError
from kiosk.fields import CardRef, KioskId, Weekday, text, within

DEFAULT_PATH = Path("/etc/kiosk/kiosk.toml")
ENV_VAR = "KIOSK_CONFIG"
READER_PREFIXES = ("usb", "tty", "udp")
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class KioskSection(Section):
    id: KioskId
    state_dir: Path
    locale: Literal["fr", "en"]
    site_key_file: str = ""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # synced events older than this leave the kiosk (the central API keeps them); at
    # least a month stays for `kiosk history`, at most ten years
    retention_days: int = Field(default=400, ge=30, le=3650)

    @property
    def site_key_path(self) -> Path:
        return Path(self.site_key_file) if self.site_key_file else self.state_dir / "site.key"

    @property
    def ledger_path(self) -> Path:
        return self.state_dir / "ledger.sqlite3"


class ReaderSection(Section):
    path: str = Field(min_length=1)
    targets: tuple[Literal["106A", "106B", "212F"], ...] = Field(min_length=1)
    poll_interval: float = Field(gt=0, le=5)
    retry_initial: float = Field(gt=0, le=60)
    retry_max: float = Field(ge=1, le=600)
    originality_check: bool
    originality_key: str = ""
    auto_poll: bool = False

    @field_validator("originality_key")
    @classmethod
    def _a_public_key(cls, value: str) -> str:
        if value and not is_public_key(value):
            raise ValueError(
                "an uncompressed secp128r1 public key in hex: 04 then 32 bytes (66 hex digits); "
                "leave it empty for NXP's NTAG21x key"
            )
        return value

    @property
    def originality_public_key(self) -> bytes:
        """The key NTAG signatures are checked against: this file's, else NXP's."""
        return bytes.fromhex(self.originality_key) if self.originality_key else NXP_NTAG21X_KEY

    @field_validator("path")
    @classmethod
    def _known_prefix(cls, value: str) -> str:
        if value.split(":", 1)[0] not in READER_PREFIXES:
            raise ValueError(
                "an nfcpy device path starts with usb, tty or udp "
                "(e.g. usb:054c:06c1, tty:AMA0:pn532, udp:127.0.0.1:54321)"
            )
        return value

    @model_validator(mode="after")
    def _backoff_grows(self) -> ReaderSection:
        if self.retry_initial > self.retry_max:
            raise ValueError("retry_initial must not be longer than retry_max")
        return self


class DisplaySection(Section):
    driver: Literal["ssd1306", "sh1106", "ssd1309", "virtual", "none"]
    interface: Literal["i2c", "spi"]
    width: Literal[128]
    height: Literal[64, 32]
    i2c_port: int = Field(ge=0, le=32)
    i2c_address: int = Field(ge=0x03, le=0x77)
    spi_port: int = Field(ge=0, le=6)
    spi_device: int = Field(ge=0, le=3)
    rotate: Literal[0, 1, 2, 3]
    contrast: int = Field(ge=0, le=255)
    outcome_seconds: float = Field(gt=0, le=60)
    dim_after_seconds: float = Field(gt=0)
    blank_after_seconds: float = Field(gt=0)
    frames_dir: str = ""
    virtual_chip: Literal["ssd1306", "sh1106"]
    dim_contrast: int = Field(ge=0, le=255)
    shift_every_seconds: float = Field(ge=0)
    shift_pixels: int = Field(ge=0, le=2)
    partial_updates: bool

    @model_validator(mode="after")
    def _blank_after_dim(self) -> DisplaySection:
        if self.blank_after_seconds < self.dim_after_seconds:
            raise ValueError("blank_after_seconds must not be shorter than dim_after_seconds")
        return self


BCM_PIN = Field(ge=0, le=27)


class LightsSection(Section):
    factory: Literal["auto", "lgpio", "rpigpio", "mock"]
    green_pin: int = BCM_PIN
    red_pin: int = BCM_PIN
    buzzer_pin: int = BCM_PIN
    button_pin: int = BCM_PIN
    heartbeat: bool = False
    buzzer_kind: Literal["tonal", "active"]
    reward_melody: str
    stamp_melody: str
    refused_melody: str

    @field_validator("reward_melody", "stamp_melody", "refused_melody")
    @classmethod
    def _playable(cls, value: str) -> str:
        from kiosk.core.melody import parse_melody

        parse_melody(value)  # raises ValueError naming the bad note
        return value

    @model_validator(mode="after")
    def _distinct_pins(self) -> LightsSection:
        pins = [p for p in (self.green_pin, self.red_pin, self.buzzer_pin, self.button_pin) if p]
        if len(pins) != len(set(pins)):
            raise ValueError("two parts are wired to the same pin")
        return self


class CentralSection(Section):
    url: str = ""
    token_file: str = ""
    batch_size: int = Field(ge=1, le=500)
    interval: float = Field(gt=0, le=3600)
    connect_timeout: float = Field(gt=0, le=60)
    read_timeout: float = Field(gt=0, le=300)
    verify_tls: bool = True
    backoff_base: float = Field(gt=0, le=600)
    backoff_max: float = Field(gt=0, le=24 * 3600)
    retry_after_max: float = Field(gt=0, le=24 * 3600)
    refresh_cards: int = Field(ge=0, le=500)
    refresh_interval: float = Field(gt=0, le=24 * 3600)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https:// (or be empty for no sync)")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _backoff_order(self) -> CentralSection:
        if self.backoff_max < self.backoff_base:
            raise ValueError("backoff_max must not be shorter than backoff_base")
        return self


class MilestoneSection(Section):
    id: str = text(REWARD_ID)
    name: str = text(bounds.REWARD_NAME)
    stamps: int = within(bounds.MILESTONE_STAMPS)


class RetiredRewardSection(Section):
    """A reward an earlier program version offered: its vouchers stay redeemable."""

    id: str = text(REWARD_ID)
    name: str = text(bounds.REWARD_NAME)
    stamps: int = within(bounds.GOAL)


class TierSection(Section):
    name: str = text(bounds.TIER_NAME)
    threshold: int = within(bounds.TIER_THRESHOLD)
    multiplier: int = within(bounds.TIER_MULTIPLIER, default=1)
    or_visits: int = within(bounds.TIER_OR_VISITS, default=0)  # 0: the threshold only
    # percent the till takes off every basket of a card holding the tier (0: none)
    discount_percent: int = within(bounds.DISCOUNT_PERCENT, default=0)
    # both empty: reaching the tier gives no voucher
    voucher_id: str = Field(default="", max_length=REWARD_ID.max_length)
    voucher: str = Field(default="", max_length=bounds.REWARD_NAME.max_length)

    def to_tier(self) -> Tier:
        if bool(self.voucher_id) != bool(self.voucher):
            raise ValueError("a tier's voucher_id and voucher go together (both or neither)")
        gift = Reward(self.voucher_id, self.voucher, 0) if self.voucher else None
        return Tier(self.name, self.threshold, self.multiplier, self.or_visits, gift,
                    self.discount_percent)


def _clock_time(value: str) -> time:
    """"HH:MM" local time; "24:00" is the end of the day."""
    if value == "24:00":
        return time.max
    try:
        hours, minutes = value.split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise ValueError(f"{value!r} is not a time of day like 14:30") from None


class BoosterSection(Section):
    days: tuple[Weekday, ...] = Field(min_length=1)
    start: str = "00:00"
    end: str = "24:00"
    multiplier: int = within(bounds.BOOSTER_MULTIPLIER, default=2)

    @field_validator("start", "end")
    @classmethod
    def _is_time(cls, value: str) -> str:
        _clock_time(value)
        return value

    def to_booster(self) -> Booster:
        weekdays = frozenset(WEEKDAYS.index(day) for day in self.days)
        return Booster(weekdays, _clock_time(self.start), _clock_time(self.end), self.multiplier)


class SurpriseSection(Section):
    visit: int = within(bounds.SURPRISE_VISIT)
    bonus: int = within(bounds.SURPRISE_BONUS)


class ProgramSection(Section):
    name: str = text(bounds.PROGRAM_NAME)
    version: str = text(PROGRAM_VERSION)
    goal: int = within(bounds.GOAL)
    reward_id: str = text(REWARD_ID)
    reward: str = text(bounds.REWARD_NAME)
    welcome_bonus: int = within(bounds.WELCOME_BONUS)
    cooldown_minutes: float = Field(ge=0, le=7 * 24 * 60)
    daily_cap: int = Field(ge=0, le=bounds.DAILY_CAP.maximum)  # 0: no cap
    timezone: str
    milestones: tuple[MilestoneSection, ...] = ()
    # extras, all off by default (see defaults.toml for what each does)
    mode: Literal["card", "ladder"] = "card"
    tiers: tuple[TierSection, ...] = ()
    tier_basis: Literal["visits", "stamps"] = "visits"
    tier_months: int = within(bounds.TIER_MONTHS, default=12)
    tier_warn_days: int = within(bounds.TIER_WARN_DAYS, default=10)
    expiry: Literal["off", "inactivity", "per_stamp"] = "off"
    expiry_days: int = within(bounds.EXPIRY_DAYS, default=365)
    expiry_warn_days: int = within(bounds.EXPIRY_WARN_DAYS, default=14)
    boosters: tuple[BoosterSection, ...] = ()
    birthday_bonus: int = within(bounds.BIRTHDAY_BONUS, default=0)
    # both empty: no birthday gift
    birthday_gift_id: str = Field(default="", max_length=REWARD_ID.max_length)
    birthday_gift: str = Field(default="", max_length=bounds.REWARD_NAME.max_length)
    surprises: tuple[SurpriseSection, ...] = ()
    points_per_euro: int = within(bounds.POINTS_PER_EURO, default=0)
    points_per_item: int = within(bounds.POINTS_PER_ITEM, default=0)
    promo_earns: bool = True
    reward_ticket_earns: bool = True
    # what earlier versions left on cards (see kiosk.core.program.Program)
    retired_rewards: tuple[RetiredRewardSection, ...] = Field(default=(), max_length=bounds.MAX_RETIRED)
    points_per_stamp: int = within(bounds.POINTS_PER_STAMP, default=0)
    switched_in: str = Field(default="", max_length=PROGRAM_VERSION.max_length)
    unit_versions: tuple[str, ...] = Field(default=(), max_length=bounds.MAX_UNIT_VERSIONS)
    referral_bonus: int = within(bounds.REFERRAL_BONUS, default=0)
    referral_days: int = within(bounds.REFERRAL_DAYS, default=14)
    referral_cap: int = within(bounds.REFERRAL_CAP, default=10)
    cause: str = Field(default="", max_length=bounds.CAUSE_NAME.max_length)  # "": none

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. Europe/Paris)") from None
        return value

    @model_validator(mode="after")
    def _makes_a_program(self) -> ProgramSection:
        self.to_program()  # the core's own checks, reported against this section
        return self

    def to_program(self) -> Program:
        return Program(
            name=self.name,
            version=self.version,
            goal=self.goal,
            reward_id=self.reward_id,
            reward_name=self.reward,
            welcome_bonus=self.welcome_bonus,
            milestones=tuple(Reward(m.id, m.name, m.stamps) for m in self.milestones),
            cooldown=timedelta(minutes=self.cooldown_minutes),
            daily_cap=self.daily_cap or None,
            timezone=self.timezone,
            mode=Mode(self.mode),
            tiers=tuple(t.to_tier() for t in self.tiers),
            tier_basis=TierBasis(self.tier_basis),
            tier_months=self.tier_months,
            tier_warn_days=self.tier_warn_days,
            expiry=Expiry(self.expiry),
            expiry_days=self.expiry_days,
            expiry_warn_days=self.expiry_warn_days,
            boosters=tuple(b.to_booster() for b in self.boosters),
            birthday_bonus=self.birthday_bonus,
            birthday_gift=self._gift(),
            surprises=tuple(Surprise(s.visit, s.bonus) for s in self.surprises),
            points_per_euro=self.points_per_euro,
            points_per_item=self.points_per_item,
            promo_earns=self.promo_earns,
            reward_ticket_earns=self.reward_ticket_earns,
            retired_rewards=tuple(Reward(r.id, r.name, r.stamps) for r in self.retired_rewards),
            points_per_stamp=self.points_per_stamp,
            switched_in=self.switched_in or None,
            unit_versions=self.unit_versions,
            referral_bonus=self.referral_bonus,
            referral_days=self.referral_days,
            referral_cap=self.referral_cap,
            cause=self.cause.strip() or None,
        )

    def _gift(self) -> Reward | None:
        if bool(self.birthday_gift_id) != bool(self.birthday_gift):
            raise ValueError("birthday_gift_id and birthday_gift go together (both or neither)")
        return Reward(self.birthday_gift_id, self.birthday_gift, 0) if self.birthday_gift else None


class StaffSection(Section):
    cards: tuple[CardRef, ...] = Field(
        default=(), max_length=MAX_STAFF_CARDS
    )
    undo_minutes: float = Field(default=5, ge=0, le=60)

    def to_policy(self) -> StaffPolicy:
        return StaffPolicy(frozenset(self.cards), timedelta(minutes=self.undo_minutes))


class TillSection(Section):
    enabled: bool = False
    host: str = Field(default="127.0.0.1", min_length=1, max_length=255)
    port: int = Field(default=8765, ge=0, le=65535)
    basket_seconds: float = Field(default=120, gt=0, le=3600)
    token_file: str = ""

    @field_validator("host")
    @classmethod
    def _an_address(cls, value: str) -> str:
        if any(c.isspace() or c in "/[]" for c in value):
            raise ValueError("an IP address or host name, e.g. 127.0.0.1 (0.0.0.0: every interface)")
        return value

    @model_validator(mode="after")
    def _token_off_this_pi(self) -> TillSection:
        # a basket sets what a tap earns: off loopback, anyone on the network could post one
        if self.enabled and not self.token_file and self.host not in LOOPBACK_HOSTS:
            raise ValueError(f"host {self.host!r} is reachable from the network: set "
                             "till.token_file (a secret the till sends) or listen on 127.0.0.1")
        return self


class CardPageSection(Section):
    """Where a card's own page lives on the central: the link written on new cards and
    shown as a QR code ("" writes no link)."""

    base_url: str = Field(default="", max_length=120)
    write_on_card: bool = True  # write the link as an NDEF record on NTAG cards

    @field_validator("base_url")
    @classmethod
    def _a_page_base(cls, value: str) -> str:
        if value and not (value.startswith(("https://", "http://")) and value.endswith("/c/")
                          and value.isprintable() and " " not in value):
            raise ValueError("the central's card page address, ending in /c/, e.g. "
                             "https://loyalty.example.com/c/")
        return value


class Config(Section):
    kiosk: KioskSection
    reader: ReaderSection
    display: DisplaySection
    lights: LightsSection
    central: CentralSection
    program: ProgramSection
    staff: StaffSection = StaffSection()
    till: TillSection = TillSection()
    card_page: CardPageSection = CardPageSection()


def _defaults() -> dict[str, Any]:
    text = resources.files("kiosk").joinpath("defaults.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def _layer(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _layer(merged[key], value)
        else:
            merged[key] = value
    return merged


def field_path(loc: Sequence[int | str], whole: str) -> str:
    """A pydantic error location as the field path people read: ("program", "tiers", 1,
    "threshold") is program.tiers[1].threshold; an empty one is `whole`. The kiosk's config
    errors, a served program's and the central API's all name fields this way."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or whole


def _problems(error: ValidationError) -> list[str]:
    problems = []
    for item in error.errors():
        where = field_path(item["loc"], "(file)")
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown field (check the spelling against the README's config reference)"
        problems.append(f"{where}: {message}")
    return problems


def from_mapping(data: dict[str, Any], source: str = "<config>") -> Config:
    """Validate a config mapping layered over the shipped defaults, strictly (as the central
    checks a program): "200" is no batch size, "no" no boolean; JSON makes lists tuples."""
    try:  # default=str: a TOML date becomes text, which the field then refuses by name
        return Config.model_validate_json(json.dumps(_layer(_defaults(), data), default=str), strict=True)
    except ValidationError as error:
        raise ConfigError(source, _problems(error)) from None


def read_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(str(path), ["file not found"]) from None
    except PermissionError:
        raise ConfigError(str(path), ["permission denied"]) from None
    except IsADirectoryError:
        raise ConfigError(str(path), ["is a directory, not a TOML file"]) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(str(path), [f"not valid TOML: {error}"]) from None
    except UnicodeDecodeError:
        raise ConfigError(str(path), ["not UTF-8 text"]) from None


def config_path(explicit: str | None = None) -> Path | None:
    """The file to read, or None when only the shipped defaults apply."""
    if explicit:
        return Path(explicit)
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    return DEFAULT_PATH if DEFAULT_PATH.exists() else None


def load(explicit: str | None = None) -> Config:
    """Load the kiosk's configuration; raises ConfigError naming every bad field."""
    path = config_path(explicit)
    if path is None:
        return from_mapping({}, "defaults")
    return from_mapping(read_file(path), str(path))
