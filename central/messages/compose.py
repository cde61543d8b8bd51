"""A queued message -> an e-mail: subject and words from the kind's template (FR or EN),
as plain text and as simple HTML, with its unsubscribe link and headers.

Each kind has one template per language (`templates/<kind>.<lang>.txt`) with two blocks,
`subject` and `body` (paragraphs apart by blank lines); the HTML part is those same
paragraphs in `layout.html`. A shop may put its own templates, same names, in a folder of
its choice (`--templates`): they are read before the shipped ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    pass_context,
    select_autoescape,
)

from central.consent import LANGUAGES as LANGUAGES  # the messages' (re-exported)
from central.messages.rules import Facts, Kind

SHIPPED = Path(__file__).parent / "templates"
MONTHS = {"en": ("January", "February", "March", "April", "May", "June", "July", "August",
                 "September", "October", "November", "December")}
DAYS = {"fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
        "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")}
WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FOOTER = {
    "fr": ("Vous recevez cet e-mail parce que vous l'avez accepté sur la page de votre carte.",
           "Ne plus recevoir ces e-mails"),
    "en": ("You receive this e-mail because you agreed to it on your card's page.",
           "Stop these e-mails"),
}


class TemplateProblem(ValueError):
    """A message's template is missing or broken: that message fails, the others go."""


@dataclass(frozen=True)
class Letter:
    """A message ready to send, before its envelope."""

    subject: str
    text: str
    html: str


def day(value: str, lang: str) -> str:
    """A date for a reader: 30/03/2026 in French, 30 March 2026 in English."""
    found = date.fromisoformat(value)
    if lang == "en":
        return f"{found.day} {MONTHS['en'][found.month - 1]} {found.year}"
    return found.strftime("%d/%m/%Y")


def weekdays(value: str, lang: str) -> str:
    """"tue,thu" -> "le mardi et le jeudi" / "Tuesday and Thursday"."""
    picked = [DAYS[lang][WEEKDAY_KEYS.index(key)] for key in value.split(",") if key]
    if len(picked) == 7:
        return "tous les jours" if lang == "fr" else "every day"
    if lang == "fr":
        picked = [f"le {name}" for name in picked]
    joiner = " et " if lang == "fr" else " and "
    return ", ".join(picked[:-1]) + joiner + picked[-1] if len(picked) > 1 else "".join(picked)


class Composer:
    """Renders letters from the templates (the shop's folder first, then the shipped one)."""

    def __init__(self, shop: str, own_templates: Path | None = None) -> None:
        folders = [FileSystemLoader(own_templates)] if own_templates else []
        loader = ChoiceLoader([*folders, FileSystemLoader(SHIPPED)])
        self.shop = shop
        # the words are plain text; the HTML layout escapes them
        self.words = Environment(loader=loader, undefined=StrictUndefined, autoescape=False,
                                 trim_blocks=True, lstrip_blocks=True)
        self.words.filters["day"] = pass_context(
            lambda context, value: day(str(value), _lang(context)))
        self.words.filters["weekdays"] = pass_context(
            lambda context, value: weekdays(str(value), _lang(context)))
        self.layout = Environment(loader=FileSystemLoader(SHIPPED), undefined=StrictUndefined,
                                  autoescape=select_autoescape(default=True))

    def letter(self, kind: Kind, lang: str, facts: Facts, first_name: str | None,
               unsubscribe_url: str) -> Letter:
        """The letter for one message; TemplateProblem when its template cannot make it."""
        lang = lang if lang in LANGUAGES else LANGUAGES[0]
        try:
            template = self.words.get_template(f"{kind.value}.{lang}.txt")
            context = template.new_context({"shop": self.shop, "first_name": first_name,
                                            "facts": dict(facts), "lang": lang})
            subject = " ".join("".join(template.blocks["subject"](context)).split())
            body = "".join(template.blocks["body"](context)).strip()
        except (TemplateError, KeyError, ValueError, TypeError, IndexError) as error:
            raise TemplateProblem(f"template {kind.value}.{lang}.txt: "
                                  f"{error.__class__.__name__}: {error}") from None
        if not subject or not body:
            raise TemplateProblem(f"template {kind.value}.{lang}.txt: empty subject or body")
        paragraphs = [" ".join(p.split()) for p in body.split("\n\n") if p.strip()]
        footer, stop = FOOTER[lang]
        text = "\n\n".join(paragraphs) + f"\n\n-- \n{footer}\n{stop}: {unsubscribe_url}\n"
        html = self.layout.get_template("layout.html").render(
            lang=lang, subject=subject, paragraphs=paragraphs, footer=footer,
            unsubscribe_url=unsubscribe_url, unsubscribe_word=stop)
        return Letter(subject, text, html)


def _lang(context: Any) -> str:
    found = context.get("lang")
    return found if found in LANGUAGES else LANGUAGES[0]


def envelope(letter: Letter, *, sender: str, to: str, message_id: str, unsubscribe_url: str,
             now: datetime, extra: Mapping[str, str] | None = None) -> EmailMessage:
    """The e-mail itself: headers (Message-ID from the outbox row, one-click unsubscribe
    as RFC 8058 asks) and both parts."""
    message = EmailMessage()
    message["Subject"] = letter.subject
    message["From"] = sender
    message["To"] = to
    message["Date"] = format_datetime(now)
    domain = Address(addr_spec=sender.rpartition("<")[2].rstrip(">").strip()).domain or "localhost"
    message["Message-ID"] = f"<{message_id}@{domain}>"
    message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    for name, value in (extra or {}).items():
        message[name] = value
    message.set_content(letter.text)
    message.add_alternative(letter.html, subtype="html")
    return message
