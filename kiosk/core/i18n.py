"""Every word the customer reads on the screen, in French and English.

Strings are `str.format` templates; plural forms are picked by `text(locale, key, n=...)`
looking up `key_one` / `key_many`. French punctuation keeps its thin space before
`!` and `?` as a plain space, which reads better than a missing one at 11 px.
"""

from __future__ import annotations

from typing import Literal

Locale = Literal["fr", "en"]

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "tap_your_card": "Tap your card",
        "hello": "Hello {name}!",
        "stamp_added": "Stamp added!",
        "welcome": "Welcome!",
        "bonus_one": "+{n} bonus stamp",
        "bonus_many": "+{n} bonus stamps",
        "more_to": "{n} more \u2192 {reward}",
        "congrats": "Well done!",
        "earned": "You earned",
        "ask_staff_reward": "Ask at the counter",
        "reward_ready": "Ready: {reward}",
        "redeemed": "Enjoy!",
        "no_voucher": "No reward yet",
        "cooldown": "Already stamped",
        "cooldown_detail": "See you next visit",
        "daily_cap": "Daily limit reached",
        "daily_cap_detail": "See you tomorrow!",
        "refused": "Card not accepted",
        "refused_random_id": "This card or phone can't hold stamps.",
        "use_loyalty_card": "Please use a loyalty card",
        "unreadable": "Card not read",
        "unreadable_detail": "Please tap again",
        "reader_offline": "Reader offline",
        "reader_offline_detail": "Please ask the staff",
        "badge_offline": "OFF",
    },
    "fr": {
        "tap_your_card": "Passez votre carte",
        "hello": "Bonjour {name} !",
        "stamp_added": "Tampon ajouté !",
        "welcome": "Bienvenue !",
        "bonus_one": "+{n} tampon offert",
        "bonus_many": "+{n} tampons offerts",
        "more_to": "Encore {n} \u2192 {reward}",
        "congrats": "Bravo !",
        "earned": "Vous gagnez",
        "ask_staff_reward": "Demandez au comptoir",
        "reward_ready": "À retirer : {reward}",
        "redeemed": "Profitez-en !",
        "no_voucher": "Pas encore de cadeau",
        "cooldown": "Déjà tamponnée",
        "cooldown_detail": "À la prochaine visite",
        "daily_cap": "Limite du jour atteinte",
        "daily_cap_detail": "À demain !",
        "refused": "Carte non acceptée",
        "refused_random_id": "Ce téléphone ou cette carte ne convient pas.",
        "use_loyalty_card": "Utilisez une carte fidélité",
        "unreadable": "Carte illisible",
        "unreadable_detail": "Merci de réessayer",
        "reader_offline": "Lecteur hors service",
        "reader_offline_detail": "Demandez au personnel",
        "badge_offline": "HORS",
    },
}


def text(locale: Locale, key: str, n: int | None = None, **values: object) -> str:
    """The `key` string in `locale`, formatted; `n` picks the plural form and fills `{n}`."""
    table = STRINGS[locale]
    if n is not None:
        key = f"{key}_{'one' if abs(n) == 1 else 'many'}" if f"{key}_one" in table else key
        values["n"] = n
    return table[key].format(**values)
