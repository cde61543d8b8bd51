"""The pages' words in French and English, in one catalogue.

Templates call `t("key")` or `t("key", n=3)`; every key has both languages (a test reads
every template and checks each key it uses is here). The shared words are below; each
area of pages keeps its own words in its module and adds them with `register`, so two
areas never edit one list.
"""

from __future__ import annotations

from collections.abc import Callable

LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"

Translator = Callable[..., str]

TEXTS: dict[str, dict[str, str]] = {
    "site_name": {"fr": "Carte de fidélité", "en": "Loyalty card"},
    "skip_to_content": {"fr": "Aller au contenu", "en": "Skip to content"},
    "language": {"fr": "Langue", "en": "Language"},
    "lang_fr": {"fr": "Français", "en": "Français"},
    "lang_en": {"fr": "English", "en": "English"},
    "home_title": {"fr": "Le serveur de votre programme de fidélité",
                   "en": "Your loyalty program's server"},
    "home_body": {
        "fr": "Ce serveur reçoit les tampons de vos bornes et garde les cartes de vos clients.",
        "en": "This server receives your counters' stamps and keeps your customers' cards.",
    },
    "home_owner": {"fr": "Espace du commerçant", "en": "Shop owner's space"},
    "footer": {"fr": "Logiciel libre de fidélité pour petits commerces.",
               "en": "Open-source loyalty software for small shops."},
    "error_title_400": {"fr": "Demande incorrecte", "en": "Bad request"},
    "error_body_400": {"fr": "Cette demande n'a pas pu être comprise.",
                       "en": "This request could not be understood."},
    "error_title_403": {"fr": "Accès refusé", "en": "Access refused"},
    "error_body_403": {"fr": "Votre compte n'a pas accès à cette page.",
                       "en": "Your account cannot open this page."},
    "error_title_404": {"fr": "Page introuvable", "en": "Page not found"},
    "error_body_404": {"fr": "Cette page n'existe pas ou n'existe plus.",
                       "en": "This page does not exist, or no longer does."},
    "error_title_405": {"fr": "Action impossible ici", "en": "Not possible here"},
    "error_body_405": {"fr": "Cette page ne permet pas cette action.",
                       "en": "This page does not allow that action."},
    "error_title_413": {"fr": "Envoi trop gros", "en": "Too much sent"},
    "error_body_413": {"fr": "Ce qui a été envoyé dépasse la taille permise.",
                       "en": "What was sent is larger than allowed."},
    "error_title_429": {"fr": "Trop de demandes", "en": "Too many requests"},
    "error_body_429": {"fr": "Patientez un instant, puis réessayez.",
                       "en": "Wait a moment, then try again."},
    "error_title_500": {"fr": "Le serveur a un problème", "en": "The server has a problem"},
    "error_body_500": {"fr": "Réessayez dans un instant.", "en": "Try again in a moment."},
    # a chart's or a list's weekday names, Monday first
    "weekdays": {"fr": "lun,mar,mer,jeu,ven,sam,dim", "en": "Mon,Tue,Wed,Thu,Fri,Sat,Sun"},
    "back_home": {"fr": "Retour à l'accueil", "en": "Back to the home page"},
}


def register(texts: dict[str, dict[str, str]]) -> None:
    """Add an area's words; a key already taken or a language missing is a bug."""
    for key, versions in texts.items():
        if key in TEXTS and TEXTS[key] != versions:
            raise ValueError(f"page text {key!r} is defined twice")
        missing = [lang for lang in LANGUAGES if not versions.get(lang)]
        if missing:
            raise ValueError(f"page text {key!r} has no {', '.join(missing)} version")
    TEXTS.update(texts)


def translator(lang: str) -> Translator:
    """`t(key, **values)` in `lang`: the text with its {placeholders} filled in.

    An unknown key raises KeyError: a page with a missing text fails its test, never
    shows a key to a reader."""
    if lang not in LANGUAGES:
        lang = DEFAULT_LANGUAGE

    def t(key: str, **values: object) -> str:
        text = TEXTS[key][lang]
        return text.format(**values) if values else text

    return t
