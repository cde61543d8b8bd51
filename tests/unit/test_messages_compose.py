"""Letters from the templates: every kind in French and English, and broken templates."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from central.messages.compose import Composer, TemplateProblem, day, envelope, weekdays
from central.messages.rules import Kind

URL = "https://loyalty.cafe.example/unsubscribe/tok"
FACTS = {
    Kind.EXPIRY: {"stamps": 3, "on": "2026-03-30"},
    Kind.TIER: {"tier": "Gold", "keep": 2, "by": "2026-03-31", "by_visits": 1},
    Kind.BIRTHDAY: {"bonus": 2, "gift": ""},
    Kind.WINBACK: {"days": 61},
    Kind.BOOSTER: {"days": "tue,thu", "start": "14:00", "end": "17:00", "multiplier": 2},
}
EXPECTED = {
    ("fr", Kind.EXPIRY): "3 tampons de votre carte Café Lune expirent le 30/03/2026.",
    ("en", Kind.EXPIRY): "3 stamps on your Café Lune card expire on 30 March 2026.",
    ("fr", Kind.TIER): "2 passages de plus",
    ("en", Kind.TIER): "2 more visits and you keep it",
    ("fr", Kind.BIRTHDAY): "2 tampons à votre passage",
    ("en", Kind.BIRTHDAY): "2 stamps when you drop by",
    ("fr", Kind.WINBACK): "Cela fait 61 jours",
    ("en", Kind.WINBACK): "It has been 61 days",
    ("fr", Kind.BOOSTER): "×2 le mardi et le jeudi, de 14:00 à 17:00",
    ("en", Kind.BOOSTER): "2 times on Tuesday and Thursday, from 14:00 to 17:00",
}


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize("kind", list(Kind))
def test_every_kind_has_a_letter_in_both_languages_with_its_facts_and_the_unsubscribe_link(
    kind: Kind, lang: str
):
    letter = Composer("Café Lune").letter(kind, lang, FACTS[kind], "Ana", URL)
    assert "Café Lune" in letter.subject and "\n" not in letter.subject
    assert EXPECTED[(lang, kind)] in letter.text
    assert letter.text.startswith("Bonjour Ana," if lang == "fr" else "Hello Ana,")
    assert URL in letter.text and f'href="{URL}"' in letter.html


def test_without_a_first_name_the_greeting_stays_polite():
    letter = Composer("Café Lune").letter(Kind.WINBACK, "en", {"days": 61}, None, URL)
    assert letter.text.startswith("Hello,")


def test_what_a_customer_or_shop_typed_is_escaped_in_the_html_part():
    letter = Composer("<b>Lune</b>").letter(Kind.WINBACK, "fr", {"days": 61}, "<i>Ana</i>", URL)
    assert "<i>" not in letter.html and "&lt;i&gt;Ana&lt;/i&gt;" in letter.html


def test_a_broken_or_missing_template_is_a_template_problem_naming_it(tmp_path: Path):
    (tmp_path / "winback.fr.txt").write_text(
        "{% block subject %}{{ nothing.here }}{% endblock %}{% block body %}x{% endblock %}")
    (tmp_path / "expiry.fr.txt").write_text("{% block subject %}oops{% endblock")
    own = Composer("Café Lune", tmp_path)
    with pytest.raises(TemplateProblem, match="winback.fr.txt"):
        own.letter(Kind.WINBACK, "fr", {"days": 3}, None, URL)
    with pytest.raises(TemplateProblem, match="expiry.fr.txt"):
        own.letter(Kind.EXPIRY, "fr", FACTS[Kind.EXPIRY], None, URL)
    # the shop's folder overrides only what it holds
    assert own.letter(Kind.TIER, "fr", FACTS[Kind.TIER], None, URL).subject


def test_a_shop_template_replaces_the_shipped_words(tmp_path: Path):
    (tmp_path / "winback.en.txt").write_text(
        "{% block subject %}Come back, {{ first_name }}{% endblock %}"
        "{% block body %}Coffee's on us.{% endblock %}")
    letter = Composer("Café Lune", tmp_path).letter(Kind.WINBACK, "en", {"days": 3}, "Ana", URL)
    assert letter.subject == "Come back, Ana" and letter.text.startswith("Coffee's on us.")


def test_dates_and_weekdays_read_naturally_in_each_language():
    assert day("2026-03-05", "fr") == "05/03/2026" and day("2026-03-05", "en") == "5 March 2026"
    assert weekdays("sat", "fr") == "le samedi"
    assert weekdays("mon,tue,wed,thu,fri,sat,sun", "en") == "every day"


def test_the_message_id_is_the_outbox_row_at_the_senders_domain():
    letter = Composer("Café Lune").letter(Kind.WINBACK, "fr", {"days": 3}, None, URL)
    message = envelope(letter, sender="Café Lune <hello@Cafe.Example>", to="a@example.org",
                       message_id="f00d", unsubscribe_url=URL,
                       now=datetime(2026, 3, 20, 10, tzinfo=UTC))
    assert message["Message-ID"] == "<f00d@Cafe.Example>"
