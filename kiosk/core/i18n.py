"""Every word the customer reads on the screen, in French and English.

Strings are `str.format` templates; plural forms are picked by `text(locale, key, n=...)`
looking up `key_one` / `key_many`. French punctuation keeps its thin space before
`!` and `?` as a plain space, which reads better than a missing one at 11 px.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from kiosk.core.outcome import RefusalReason, StaffAction, UndoRefusal

Locale = Literal["fr", "en"]
LOCALES: tuple[Locale, ...] = ("fr", "en")

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
        "scan_card": "Scan to see your card",
        "scan_card_short": "Tap your card on your phone to see it",
        "new_link": "New link",
        "new_link_when": "Works once online. The old link stops.",
        "new_link_short": "New link on your card",
        "daily_cap": "Daily limit reached",
        "daily_cap_detail": "See you tomorrow!",
        "refused": "Card not accepted",
        "refused_random_id": "This card or phone can't hold stamps.",
        "refused_blank_id": "This card has a blank ID: it can't hold stamps.",
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
        "birthday_name": "Happy birthday {name}!",
        "surprise_one": "Surprise! +{n} stamp",
        "surprise_many": "Surprise! +{n} stamps",
        "boosted": "{n}\u00d7 stamps today!",
        "booster_idle": "{n}\u00d7 stamps now",
        "week_title": "Customer of the week",
        "week_visits_one": "{n} visit this week",
        "week_visits_many": "{n} visits this week",
        "points_one": "+{n} point",
        "points_many": "+{n} points",
        "points_added": "Points added!",
        "points_none": "No points on this ticket",
        "discount": "-{percent} % on this ticket",
        "visit_counted": "Visit counted",
        "tier_reached": "You are {tier}!",
        "tier_member": "{tier} member",
        "tier_keep_one": "{n} visit by {date} to keep {tier}",
        "tier_keep_many": "{n} visits by {date} to keep {tier}",
        "tier_keep_stamps_one": "{n} stamp by {date} to keep {tier}",
        "tier_keep_stamps_many": "{n} stamps by {date} to keep {tier}",
        # the same on the 128x32 panel's one line
        "tier_keep_short_one": "{n} visit by {date}",
        "tier_keep_short_many": "{n} visits by {date}",
        "tier_keep_stamps_short_one": "{n} stamp by {date}",
        "tier_keep_stamps_short_many": "{n} stamps by {date}",
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
        "figures_visits_one": "{n} visit \u00b7 {new} new",
        "figures_visits_many": "{n} visits \u00b7 {new} new",
        "figures_rewards_one": "{n} reward given",
        "figures_rewards_many": "{n} rewards given",
        "figures_pending": "{n} to sync",
        "months": "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec",
        "date": "{month} {day}",
        # what the shipped program is called until the shop names it
        "shipped_name": "Loyalty card",
        "shipped_reward": "free coffee",
        # the `kiosk` command's lines for staff
        "cli_refused_random_id": "refused: this card or phone cannot hold stamps "
        "(its ID changes at every tap)",
        "cli_refused_blank_id": "refused: this card cannot hold stamps (blank_id): its ID is blank, "
        "the same on many cards",
        "cli_refused_not_original": "refused: not an original card (its originality signature fails)",
        "cli_refused_unreadable": "card not read: tap it again",
        "cli_welcome_one": "welcome: new card, {n} bonus stamp + today's",
        "cli_welcome_many": "welcome: new card, {n} bonus stamps + today's",
        "cli_stamped": "stamped",
        "cli_reward_earned": "reward earned: {rewards}",
        "cli_cooldown": "already stamped (next stamp from {time})",
        "cli_show_link": "already stamped; the card's page shown as a QR code",
        "cli_daily_cap": "already stamped today",
        "cli_redeemed": "redeemed: {reward}",
        "cli_no_voucher": "no voucher to redeem",
        "cli_undone": "last stamp undone",
        "cli_tier": "tier {tier}",
        "cli_card": "stamps {stamps}/{goal} ({n} more to a {reward}); vouchers: {vouchers}",
        "cli_none": "none",
        "cli_never": "never",
        "cli_label_card": "card",
        "cli_label_stamps": "stamps",
        "cli_label_vouchers": "vouchers",
        "cli_label_visits": "visits",
        "cli_label_last_visit": "last visit",
        # staff corrections: an adjustment by hand, a lost card replaced
        "not_done": "Not done",
        "refused_negative_balance": "The card holds fewer stamps than that.",
        "refused_card_in_use": "The new card already holds stamps.",
        "refused_card_blocked": "This card was replaced by another.",
        "refused_same_card": "Tap the new card, not the old one.",
        "refused_card_unknown": "This card was never used here.",
        "cli_refused_negative_balance": "refused: the card holds fewer stamps than that takes off; "
        "nothing recorded (take off at most its balance)",
        "cli_refused_card_in_use": "refused: the new card already holds stamps or vouchers; nothing "
        "moved (add --merge to add both balances together)",
        "cli_refused_card_blocked": "refused: that card was already replaced by another; nothing "
        "recorded (use the card that replaced it)",
        "cli_refused_same_card": "refused: the old and the new card are the same card; nothing "
        "moved (name the new card)",
        "cli_refused_card_unknown": "refused: this kiosk never saw that card; nothing recorded "
        "(check the UID, or run `kiosk sync` if it was used at another counter)",
        "adjusted": "Stamps corrected",
        "adjusted_detail": "{delta}: {reason}",
        "cli_adjusted": "adjusted {delta} ({reason})",
        "balance_moved": "Balance moved!",
        "moved_one": "{n} stamp moved here",
        "moved_many": "{n} stamps moved here",
        "cli_replaced_one": "replaced card {old}: {n} stamp and {vouchers} voucher(s) moved here; "
        "the old card is blocked",
        "cli_replaced_many": "replaced card {old}: {n} stamps and {vouchers} voucher(s) moved here; "
        "the old card is blocked",
        "card_replaced": "Card replaced",
        "use_new_card": "Please use your new card",
        "cli_blocked": "this card was replaced by another: not stamped (use the new card)",
        "staff_add_stamp": "Next card: +1 stamp",
        "staff_donate": "Next card: give to cause",
        "donated": "Given, thanks!",
        "donated_detail": "For {cause}: {reward}",
        "cli_donated": "given to {cause}: {reward}",
        "refused_no_cause": "This shop names no cause.",
        "cli_refused_no_cause": "refused: the program names no cause; nothing recorded (set "
        "cause in the program)",
        "staff_replace": "Next: old card, then new",
        "staff_replace_new": "Now tap the new card",
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
        "no_voucher": "Pas de cadeau",
        "cooldown": "Déjà tamponnée",
        "cooldown_detail": "À la prochaine visite",
        "scan_card": "Scannez pour voir votre carte",
        "scan_card_short": "Posez la carte sur votre téléphone pour la voir",
        "new_link": "Nouveau lien",
        "new_link_when": "Actif une fois en ligne. L'ancien s'arrête.",
        "new_link_short": "Nouveau lien sur la carte",
        "daily_cap": "Limite du jour atteinte",
        "daily_cap_detail": "À demain !",
        "refused": "Carte non acceptée",
        "refused_random_id": "Ce téléphone ou cette carte ne convient pas.",
        "refused_blank_id": "Cette carte n'a pas d'identifiant : elle ne convient pas.",
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
        "birthday_name": "Bon anniversaire {name} !",
        "surprise_one": "Surprise ! +{n} tampon",
        "surprise_many": "Surprise ! +{n} tampons",
        "boosted": "Tampons \u00d7{n} !",
        "booster_idle": "Tampons \u00d7{n} !",
        "week_title": "Client de la semaine",
        "week_visits_one": "{n} visite cette semaine",
        "week_visits_many": "{n} visites cette semaine",
        "points_one": "+{n} point",
        "points_many": "+{n} points",
        "points_added": "Points ajoutés !",
        "points_none": "Ticket sans points",
        "discount": "-{percent} % sur ce ticket",
        "visit_counted": "Visite notée",
        "tier_reached": "Vous êtes {tier} !",
        "tier_member": "Membre {tier}",
        "tier_keep_one": "Restez {tier} : {n} visite d'ici {date}",
        "tier_keep_many": "Restez {tier} : {n} visites d'ici {date}",
        "tier_keep_stamps_one": "Restez {tier} : {n} tampon d'ici {date}",
        "tier_keep_stamps_many": "Restez {tier} : {n} tampons d'ici {date}",
        "tier_keep_short_one": "{n} visite d'ici {date}",
        "tier_keep_short_many": "{n} visites d'ici {date}",
        "tier_keep_stamps_short_one": "{n} tampon d'ici {date}",
        "tier_keep_stamps_short_many": "{n} tampons d'ici {date}",
        "expiring_one": "{n} tampon expire {date}",
        "expiring_many": "{n} expirent {date}",
        "expired_one": "{n} tampon expiré",
        "expired_many": "{n} tampons expirés",
        "staff_mode": "Mode personnel",
        "staff_next": "Passez la carte client",
        "staff_redeem": "Carte suivante : cadeau",
        "staff_undo": "Carte suivante : annuler",
        "staff_again": "Carte personnel : suivant",
        "undone": "Tampon annulé",
        "nothing_to_undo": "Rien à annuler",
        "undo_too_late": "Trop tard pour annuler",
        "undo_reward_given": "Cadeau déjà remis",
        "figures": "Aujourd'hui",
        "figures_visits_one": "{n} visite \u00b7 {new} nouv.",
        "figures_visits_many": "{n} visites \u00b7 {new} nouv.",
        "figures_rewards_one": "{n} cadeau remis",
        "figures_rewards_many": "{n} cadeaux remis",
        "figures_pending": "{n} à envoyer",
        "months": "janv. févr. mars avr. mai juin juil. août sept. oct. nov. déc.",
        "date": "le {day} {month}",
        "shipped_name": "Carte fidélité",
        "shipped_reward": "café offert",
        "cli_refused_random_id": "refusée : cette carte ou ce téléphone ne peut pas recevoir de tampons "
        "(son identifiant change à chaque passage)",
        "cli_refused_blank_id": "refusée : cette carte ne peut pas recevoir de tampons (blank_id) : "
        "son identifiant est vide, le même sur bien des cartes",
        "cli_refused_not_original": "refusée : carte non originale (sa signature d'origine est fausse)",
        "cli_refused_unreadable": "carte illisible : repassez-la",
        "cli_welcome_one": "bienvenue : nouvelle carte, {n} tampon offert + celui du jour",
        "cli_welcome_many": "bienvenue : nouvelle carte, {n} tampons offerts + celui du jour",
        "cli_stamped": "tamponnée",
        "cli_reward_earned": "cadeau gagné : {rewards}",
        "cli_cooldown": "déjà tamponnée (prochain tampon à partir de {time})",
        "cli_show_link": "déjà tamponnée ; la page de la carte affichée en QR code",
        "cli_daily_cap": "déjà tamponnée aujourd'hui",
        "cli_redeemed": "remis : {reward}",
        "cli_no_voucher": "aucun cadeau à remettre",
        "cli_undone": "dernier tampon annulé",
        "cli_tier": "niveau {tier}",
        "cli_card": "tampons {stamps}/{goal} (encore {n} pour : {reward}) ; cadeaux : {vouchers}",
        "cli_none": "aucun",
        "cli_never": "jamais",
        "cli_label_card": "carte",
        "cli_label_stamps": "tampons",
        "cli_label_vouchers": "cadeaux",
        "cli_label_visits": "visites",
        "cli_label_last_visit": "dernière visite",
        "not_done": "Non fait",
        "refused_negative_balance": "La carte a moins de tampons que cela.",
        "refused_card_in_use": "La nouvelle carte a déjà des tampons.",
        "refused_card_blocked": "Cette carte a été remplacée.",
        "refused_same_card": "Passez la nouvelle carte, pas l'ancienne.",
        "refused_card_unknown": "Cette carte n'a jamais servi ici.",
        "cli_refused_negative_balance": "refusé : la carte a moins de tampons que ce retrait ; "
        "rien n'est enregistré (retirez au plus son solde)",
        "cli_refused_card_in_use": "refusé : la nouvelle carte a déjà des tampons ou des cadeaux ; "
        "rien n'est déplacé (ajoutez --merge pour additionner les deux soldes)",
        "cli_refused_card_blocked": "refusé : cette carte a déjà été remplacée ; rien n'est "
        "enregistré (utilisez la carte qui la remplace)",
        "cli_refused_same_card": "refusé : l'ancienne et la nouvelle carte sont la même ; rien "
        "n'est déplacé (donnez la nouvelle carte)",
        "cli_refused_card_unknown": "refusé : ce kiosque n'a jamais vu cette carte ; rien n'est "
        "enregistré (vérifiez l'UID, ou lancez `kiosk sync` si elle a servi à un autre comptoir)",
        "adjusted": "Tampons corrigés",
        "adjusted_detail": "{delta} : {reason}",
        "cli_adjusted": "corrigée de {delta} ({reason})",
        "balance_moved": "Solde transféré !",
        "moved_one": "{n} tampon transféré ici",
        "moved_many": "{n} tampons transférés ici",
        "cli_replaced_one": "carte {old} remplacée : {n} tampon et {vouchers} cadeau(x) transférés "
        "ici ; l'ancienne carte est bloquée",
        "cli_replaced_many": "carte {old} remplacée : {n} tampons et {vouchers} cadeau(x) "
        "transférés ici ; l'ancienne carte est bloquée",
        "card_replaced": "Carte remplacée",
        "use_new_card": "Passez la nouvelle carte",
        "cli_blocked": "cette carte a été remplacée : pas de tampon (utilisez la nouvelle carte)",
        "staff_add_stamp": "Carte suivante : +1 tampon",
        "staff_replace": "Ancienne carte, puis nouvelle",
        "staff_donate": "Carte suivante : don",
        "donated": "Don : merci !",
        "donated_detail": "Pour {cause} : {reward}",
        "cli_donated": "offert à {cause} : {reward}",
        "refused_no_cause": "Aucune cause choisie ici.",
        "cli_refused_no_cause": "refusé : le programme ne nomme aucune cause ; rien n'est "
        "enregistré (indiquez la cause dans le programme)",
        "staff_replace_new": "Passez la nouvelle carte",
    },
}


# the key of the line that says why nothing was undone, and what the next card will do
UNDO_REFUSALS = {
    UndoRefusal.NO_STAMP: "nothing_to_undo",
    UndoRefusal.ALREADY_UNDONE: "nothing_to_undo",
    UndoRefusal.TOO_LATE: "undo_too_late",
    UndoRefusal.REWARD_GIVEN: "undo_reward_given",
}
STAFF_NEXT = {
    StaffAction.REDEEM: "staff_redeem",
    StaffAction.UNDO: "staff_undo",
    StaffAction.FIGURES: "staff_next",
    StaffAction.ADD_STAMP: "staff_add_stamp",
    StaffAction.REPLACE: "staff_replace",
    StaffAction.REPLACE_WITH: "staff_replace_new",
    StaffAction.DONATE: "staff_donate",
}
# refusals of a staff correction: the customer's card is fine, the correction is not done
STAFF_REFUSALS = frozenset({
    RefusalReason.NEGATIVE_BALANCE, RefusalReason.CARD_IN_USE, RefusalReason.CARD_BLOCKED,
    RefusalReason.SAME_CARD, RefusalReason.CARD_UNKNOWN, RefusalReason.NO_CAUSE,
})


def singular(locale: Locale, n: int) -> bool:
    """Whether `n` takes the singular: French says "0 cadeau", "1 visite"; English "0 gifts"."""
    return abs(n) < 2 if locale == "fr" else abs(n) == 1


def text(locale: Locale, key: str, n: int | None = None, **values: object) -> str:
    """The `key` string in `locale`, formatted; `n` picks the plural form and fills `{n}`."""
    table = STRINGS[locale]
    if n is not None:
        form = "one" if singular(locale, n) else "many"
        key = f"{key}_{form}" if f"{key}_one" in table else key
        values["n"] = n
    return table[key].format(**values)


def shipped(locale: Locale, name: str) -> str:
    """`name` in `locale` when it is the shipped default program or reward name (written
    in English in the defaults), else the shop's own name as the shop wrote it."""
    for key in ("shipped_name", "shipped_reward"):
        if name == STRINGS["en"][key]:
            return STRINGS[locale][key]
    return name


def short_date(locale: Locale, day: date) -> str:
    """"on Jan 12" / "le 12 janv." for a screen line."""
    month = STRINGS[locale]["months"].split()[day.month - 1]
    return text(locale, "date", month=month, day=day.day)
