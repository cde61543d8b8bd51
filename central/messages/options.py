"""`kiosk-central send-messages`'s options: the mail server, the sender, the policy.

Every option may come from the environment instead (`KIOSK_CENTRAL_SMTP_HOST`, ...), so a
timer's unit can keep them in an environment file; the password comes only from the
environment or a file, never the command line (it would show in `ps`).
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from central.messages.compose import LANGUAGES
from central.messages.rules import HOUR, MONTHLY_CAP, WINBACK_DAYS, Policy
from central.messages.smtp import PORT, TIMEOUT, SmtpSettings
from kiosk.core.wire import Whole

ENV = "KIOSK_CENTRAL_"
PASSWORD_ENV = ENV + "SMTP_PASSWORD"
LIMIT = Whole(1, 100_000)


@dataclass(frozen=True)
class Settings:
    """Everything a run needs besides the database (the central's options)."""

    smtp: SmtpSettings
    sender: str  # the From address
    base_url: str  # the central's public address, for unsubscribe links
    policy: Policy = field(default_factory=Policy)
    language: str = "fr"  # the shop's language for every message
    templates: Path | None = None  # the shop's own templates, read before the shipped ones
    limit: int = 1000  # messages sent at most per run


def _env(name: str) -> str | None:
    return os.environ.get(ENV + name.upper().replace("-", "_"))


def _whole(rule: Whole, name: str) -> object:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        problem = rule.problem(name, value)
        if problem is not None:
            raise argparse.ArgumentTypeError(problem)
        return value
    return parse


def add_arguments(command: argparse.ArgumentParser) -> None:
    """The options of `send-messages` (defaults from KIOSK_CENTRAL_<OPTION>)."""
    def option(name: str, default: object = None, **kwargs: object) -> None:
        found = _env(name)
        command.add_argument(f"--{name}", default=found if found is not None else default,
                             **kwargs)  # type: ignore[arg-type]

    option("smtp-host", help="the mail server that takes the messages (required)")
    option("smtp-port", 587, type=_whole(PORT, "--smtp-port"), help="default 587")
    option("smtp-user", help=f"log in as this user (the password from ${PASSWORD_ENV} "
                             "or --smtp-password-file)")
    option("smtp-password-file", help="a file holding the SMTP password")
    command.add_argument("--smtp-ssl", action="store_true", default=bool(_env("smtp-ssl")),
                         help="TLS from the first byte (port 465); else STARTTLS when offered")
    option("smtp-ca-file", help="also trust this CA certificate (a private mail server)")
    option("smtp-timeout", 30, type=_whole(TIMEOUT, "--smtp-timeout"),
           help="seconds for one exchange")
    option("from", dest="sender", help="the From address, e.g. 'Café Lune <hello@cafe.example>' "
                                       "(required)")
    option("base-url", help="the central's public address, for unsubscribe links, e.g. "
                            "https://loyalty.cafe.example (required)")
    option("language", "fr", choices=LANGUAGES, help="the messages' language (default fr)")
    option("templates", help="a folder of the shop's own templates, read before the shipped ones")
    defaults = Policy()
    option("monthly-cap", defaults.monthly_cap, type=_whole(MONTHLY_CAP, "--monthly-cap"),
           help="messages per customer per month at most")
    option("winback-days", defaults.winback_days, type=_whole(WINBACK_DAYS, "--winback-days"),
           help="days without a visit before a win-back message")
    option("quiet-from", defaults.quiet_from, type=_whole(HOUR, "--quiet-from"),
           help="hour (program's time zone) from which nothing is sent")
    option("quiet-until", defaults.quiet_until, type=_whole(HOUR, "--quiet-until"),
           help="hour until which nothing is sent")
    option("limit", 1000, type=_whole(LIMIT, "--limit"), help="messages sent at most per run")


def _password(args: argparse.Namespace) -> str | None:
    if args.smtp_password_file:
        try:
            return Path(args.smtp_password_file).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as error:
            raise ValueError(f"--smtp-password-file {args.smtp_password_file}: cannot read: "
                             f"{error.__class__.__name__}") from None
    return os.environ.get(PASSWORD_ENV)


def settings_from(args: argparse.Namespace) -> Settings:
    """Settings from parsed options; ValueError naming the option to fix."""
    missing = [name for name, value in (("--smtp-host", args.smtp_host), ("--from", args.sender),
                                        ("--base-url", args.base_url)) if not value]
    if missing:
        raise ValueError(f"send-messages needs {', '.join(missing)} "
                         f"(or ${ENV}SMTP_HOST, ${ENV}FROM, ${ENV}BASE_URL)")
    url = urlsplit(args.base_url)
    if url.scheme not in ("http", "https") or not url.netloc:
        raise ValueError(f"--base-url {args.base_url[:80]!r}: give the central's address, "
                         "e.g. https://loyalty.cafe.example")
    if "@" not in args.sender or "\n" in args.sender:
        raise ValueError(f"--from {args.sender[:80]!r}: give an address, e.g. "
                         "'Café Lune <hello@cafe.example>'")
    password = _password(args)
    if args.smtp_user and password is None:
        raise ValueError(f"--smtp-user needs a password: set ${PASSWORD_ENV} or give "
                         "--smtp-password-file")
    templates = Path(args.templates) if args.templates else None
    if templates is not None and not templates.is_dir():
        raise ValueError(f"--templates {args.templates}: no such folder")
    smtp = SmtpSettings(host=args.smtp_host, port=int(args.smtp_port),
                        username=args.smtp_user or None,
                        password=password if args.smtp_user else None,
                        implicit_tls=bool(args.smtp_ssl), timeout=int(args.smtp_timeout),
                        ca_file=args.smtp_ca_file)
    policy = Policy(monthly_cap=int(args.monthly_cap), winback_days=int(args.winback_days),
                    quiet_from=int(args.quiet_from), quiet_until=int(args.quiet_until))
    return Settings(smtp=smtp, sender=args.sender, base_url=args.base_url, policy=policy,
                    language=args.language, templates=templates, limit=int(args.limit))
