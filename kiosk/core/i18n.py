"""Every word the customer reads on the screen, in French and English.

Strings are `str.format` templates; plural forms are picked by `text(locale, key, n=...)`
looking up `key_one` / `key_many`. French punctuation keeps its thin space before
`!` and `?` as a plain space, which reads better than a missing one at 11 px.
"""

from __future__ import annotations

from datetime import date
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
        "refused_not_original": "Not an original card: please ask the staff.",
        "not_original": "Card not original",
        "not_original_detail": "Please ask the staff",
        "use_loyalty_card": "Please use a loyalty card",
        "unreadable": "Card not read",
        "unreadable_detail": "Please tap again",
        "reader_offline": "Reader offline",
        "reader_offline_detail": "Please ask the staff",
        "badge_offline": "OFF",
        "birthday": "Happy birthday!",
        "surprise_one": "Surprise! +{n} stamp",
        "surprise_many": "Surprise! +{n} stamps",
        "boosted": "{n}\u00d7 stamps today!",
        "booster_idle": "{n}\u00d7 stamps now",
        "points_one": "+{n} point",
        "points_many": "+{n} points",
        "points_added": "Points added!",
        "points_none": "No points on this ticket",
        "visit_counted": "Visit counted",
        "tier_reached": "You are {tier}!",
        "tier_member": "{tier} member",
        "tier_keep_one": "{n} visit to keep {tier}",
        "tier_keep_many": "{n} visits to keep {tier}",
        "expiring_one": "{n} stamp expires {date}",
        "expiring_many": "{n} stamps expire {date}",
        "expired_one": "{n} stamp expired",
        "expired_many": "{n} stamps expired",
        "staff_mode": "Staff mode",
        "staff_next": "Tap a customer card",
        "staff_redeem": "Next card: redeem",
        "staff_undo": "Next card: undo stamp",
        "staff_again": "Staff card again: next",
        "undone": "Stamp undone",
        "nothing_to_undo": "Nothing to undo",
        "undo_too_late": "Too late to undo",
        "undo_reward_given": "Reward already given",
        "figures": "Today",
        "figures_visits": "{n} visits \u00b7 {new} new",
        "figures_rewards": "{n} rewards given",
        "figures_pending": "{n} to sync",
        "months": "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec",
        "date": "{month} {day}",
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
        "refused_not_original": "Carte non originale : voyez le personnel.",
        "not_original": "Carte non originale",
        "not_original_detail": "Demandez au personnel",
        "use_loyalty_card": "Utilisez une carte fidélité",
        "unreadable": "Carte illisible",
        "unreadable_detail": "Merci de réessayer",
        "reader_offline": "Lecteur hors service",
        "reader_offline_detail": "Demandez au personnel",
        "badge_offline": "HORS",
        "birthday": "Joyeux anniversaire !",
        "surprise_one": "Surprise ! +{n} tampon",
        "surprise_many": "Surprise ! +{n} tampons",
        "boosted": "Tampons \u00d7{n} !",
        "booster_idle": "Tampons \u00d7{n} !",
        "points_one": "+{n} point",
        "points_many": "+{n} points",
        "points_added": "Points ajoutés !",
        "points_none": "Ticket sans points",
        "visit_counted": "Visite notée",
        "tier_reached": "Vous êtes {tier} !",
        "tier_member": "Membre {tier}",
        "tier_keep_one": "Restez {tier} : {n} visite",
        "tier_keep_many": "Restez {tier} : {n} visites",
        "expiring_one": "{n} tampon expire {date}",
        "expiring_many": "{n} expirent {date}",
        "expired_one": "{n} tampon expiré",
        "expired_many": "{n} tampons expirés",
        "staff_mode": "Mode personnel",
        "staff_next": "Passez la carte client",
        "staff_redeem": "Carte suivante : cadeau",
        "staff_undo": "Carte suivante : annuler",
        "staff_again": "Carte staff : suivant",
        "undone": "Tampon annulé",
        "nothing_to_undo": "Rien à annuler",
        "undo_too_late": "Trop tard pour annuler",
        "undo_reward_given": "Cadeau déjà remis",
        "figures": "Aujourd'hui",
        "figures_visits": "{n} visites \u00b7 {new} nouv.",
        "figures_rewards": "{n} cadeaux remis",
        "figures_pending": "{n} à envoyer",
        "months": "janv. févr. mars avr. mai juin juil. août sept. oct. nov. déc.",
        "date": "le {day} {month}",
    },
}


def text(locale: Locale, key: str, n: int | None = None, **values: object) -> str:
    """The `key` string in `locale`, formatted; `n` picks the plural form and fills `{n}`."""
    table = STRINGS[locale]
    if n is not None:
        key = f"{key}_{'one' if abs(n) == 1 else 'many'}" if f"{key}_one" in table else key
        values["n"] = n
    return table[key].format(**values)


def short_date(locale: Locale, day: date) -> str:
    """"on Jan 12" / "le 12 janv." for a screen line."""
    month = STRINGS[locale]["months"].split()[day.month - 1]
    return text(locale, "date", month=month, day=day.day)
