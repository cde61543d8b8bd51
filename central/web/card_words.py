"""The words of a customer's card page, in French and English."""

from __future__ import annotations

from central.web.i18n import register

WORDS: dict[str, dict[str, str]] = {
    "card_title": {"fr": "Ma carte", "en": "My card"},
    "card_hello": {"fr": "Bonjour {name} !", "en": "Hello {name}!"},
    "card_stamps": {"fr": "{n} tampons sur {goal}", "en": "{n} stamps of {goal}"},
    "card_points": {"fr": "{n} points", "en": "{n} points"},
    "card_to_next": {"fr": "Encore {n} pour : {reward}", "en": "{n} more to: {reward}"},
    "card_vouchers": {"fr": "Vos récompenses", "en": "Your rewards"},
    "card_no_vouchers": {"fr": "Aucune récompense à prendre pour l'instant.",
                         "en": "No reward to take yet."},
    "card_voucher": {"fr": "{name} × {n}", "en": "{name} × {n}"},
    "card_take_at_counter": {"fr": "À demander au comptoir.", "en": "Ask for it at the counter."},
    "card_expiry": {"fr": "{n} tampons expirent le {day}, sauf visite d'ici là.",
                    "en": "{n} stamps expire on {day} unless you visit before."},
    "card_expiry_rule_inactivity": {
        "fr": "Vos tampons expirent après {days} jours sans visite.",
        "en": "Your stamps expire after {days} days without a visit."},
    "card_expiry_rule_per_stamp": {
        "fr": "Chaque tampon expire {days} jours après avoir été gagné.",
        "en": "Each stamp expires {days} days after it was earned."},
    "card_tier": {"fr": "Votre statut : {tier}", "en": "Your status: {tier}"},
    "card_no_tier": {"fr": "Pas encore de statut.", "en": "No status yet."},
    "card_tier_next_visits": {"fr": "Encore {n} visites pour {tier}.",
                              "en": "{n} more visits to {tier}."},
    "card_tier_next_stamps": {"fr": "Encore {n} tampons pour {tier}.",
                              "en": "{n} more stamps to {tier}."},
    "card_tier_keep_visits": {"fr": "{n} visites d'ici le {day} pour garder {tier}.",
                              "en": "{n} visits by {day} to keep {tier}."},
    "card_tier_keep_stamps": {"fr": "{n} tampons d'ici le {day} pour garder {tier}.",
                              "en": "{n} stamps by {day} to keep {tier}."},
    "card_tier_kept_by": {"fr": "Un statut se garde avec les visites des {months} derniers mois.",
                          "en": "A status is kept by your visits of the last {months} months."},
    "card_visits": {"fr": "Dernières visites", "en": "Last visits"},
    "card_no_visits": {"fr": "Pas encore de visite.", "en": "No visit yet."},
    "card_boosters": {"fr": "Heures bonus", "en": "Booster hours"},
    "card_booster": {"fr": "{days}, {start}–{end} : tampons × {n}",
                     "en": "{days}, {start}–{end}: stamps × {n}"},
    # referral
    "card_referral": {"fr": "Parrainage", "en": "Refer a friend"},
    "card_referral_share": {
        "fr": "Partagez ce lien : quand un ami ouvre sa nouvelle carte avec, vous recevez "
              "chacun {n} tampons.",
        "en": "Share this link: when a friend opens their new card with it, you each get "
              "{n} stamps."},
    "card_referral_code": {"fr": "Votre code : {code}", "en": "Your code: {code}"},
    "card_referral_brought": {"fr": "Amis parrainés : {n} sur {cap}.",
                              "en": "Friends brought: {n} of {cap}."},
    "card_referral_enter": {"fr": "Un ami vous a donné son code ?",
                            "en": "Did a friend give you their code?"},
    "card_referral_field": {"fr": "Code de votre ami", "en": "Your friend's code"},
    "card_referral_send": {"fr": "Valider le parrainage", "en": "Confirm the referral"},
    "card_referral_done": {"fr": "Parrainage enregistré : {n} tampons pour vous et votre ami.",
                           "en": "Referral recorded: {n} stamps for you and your friend."},
    "card_referred": {"fr": "Un ami vous a parrainé.", "en": "A friend referred you."},
    "referral_title": {"fr": "Vous êtes invité", "en": "You are invited"},
    "referral_body": {
        "fr": "Un client vous invite. Prenez votre carte au comptoir, posez-la sur votre "
              "téléphone pour ouvrir sa page, puis validez le code {code} dans les {days} jours.",
        "en": "A customer invites you. Get your card at the counter, hold it to your phone "
              "to open its page, then confirm the code {code} within {days} days."},
    "referral_off": {"fr": "Cette boutique ne propose pas de parrainage.",
                     "en": "This shop does not run referrals."},
    # the cause
    "card_cause": {"fr": "Donner à {cause}", "en": "Give to {cause}"},
    "card_cause_body": {
        "fr": "Vous pouvez offrir une récompense à {cause} plutôt que la prendre.",
        "en": "You may give a reward to {cause} instead of taking it."},
    "card_cause_give": {"fr": "Donner : {name}", "en": "Give: {name}"},
    "card_cause_given": {"fr": "Merci ! Récompense donnée à {cause}.",
                         "en": "Thank you! Reward given to {cause}."},
    "card_cause_totals": {"fr": "Vous avez donné {mine} ; tous les clients : {all}.",
                          "en": "You gave {mine}; all customers: {all}."},
    # details and consent
    "card_details": {"fr": "Vos informations", "en": "Your details"},
    "card_details_intro": {
        "fr": "Tout est facultatif. Rien n'est gardé sans la case cochée à côté.",
        "en": "Everything is optional. Nothing is kept unless its box is ticked."},
    "card_first_name": {"fr": "Prénom", "en": "First name"},
    "card_first_name_use": {"fr": "Garder mon prénom pour que la borne me salue.",
                            "en": "Keep my first name so the counter greets me."},
    "card_birthday": {"fr": "Date de naissance", "en": "Birthday"},
    "card_birthday_use": {"fr": "Garder ma date de naissance pour le cadeau d'anniversaire.",
                          "en": "Keep my birthday for the birthday gift."},
    "card_email": {"fr": "Adresse e-mail", "en": "E-mail address"},
    "card_email_hint": {"fr": "Gardée seulement pour les e-mails cochés ci-dessous.",
                        "en": "Kept only for the e-mails ticked below."},
    "consent_reminders": {
        "fr": "M'écrire avant que mes tampons expirent ou que je perde mon statut.",
        "en": "E-mail me before my stamps expire or I lose my status."},
    "consent_offers": {
        "fr": "M'écrire pour mon anniversaire, les heures bonus et si je ne viens plus.",
        "en": "E-mail me for my birthday, booster hours, and if I stop coming."},
    "consent_week": {"fr": "Afficher mon prénom comme client de la semaine à la borne.",
                     "en": "Show my first name as customer of the week at the counter."},
    "card_save": {"fr": "Enregistrer", "en": "Save"},
    "card_saved": {"fr": "Vos choix sont enregistrés.", "en": "Your choices are saved."},
    "card_your_data": {"fr": "Vos données", "en": "Your data"},
    "card_export": {"fr": "Télécharger mes données (JSON)", "en": "Download my data (JSON)"},
    "card_erase_body": {
        "fr": "Effacer supprime votre prénom, date de naissance, e-mail et consentements, "
              "ici et sur chaque borne. Vos tampons restent, sans nom.",
        "en": "Erasing removes your first name, birthday, e-mail and consents, here and on "
              "every counter. Your stamps stay, without a name."},
    "card_erase": {"fr": "Effacer mes informations", "en": "Erase my details"},
    "card_erased": {"fr": "Vos informations sont effacées.", "en": "Your details are erased."},
    "card_link": {"fr": "Ce lien", "en": "This link"},
    "card_details_hidden": {
        "fr": "Ce lien a été fait au comptoir : pour protéger vos données, il ne montre pas "
              "les informations gardées avec cette carte (prénom, anniversaire, e-mail, "
              "consentements). Pour les voir, les modifier ou les effacer, demandez au "
              "commerçant un lien complet.",
        "en": "This link was made at the counter: to protect your data it does not show "
              "the details kept with this card (first name, birthday, e-mail, consent). To "
              "see, change or erase them, ask the shop for a full link."},
    "card_lang": {"fr": "Langue de vos e-mails", "en": "Language of your e-mails"},
    "card_lang_fr": {"fr": "Français", "en": "Français (French)"},
    "card_lang_en": {"fr": "English (anglais)", "en": "English"},
    "card_link_body": {
        "fr": "Ce lien ouvre votre carte. Si quelqu'un d'autre l'a, révoquez-le : il ne "
              "marchera plus, et votre prochain passage au comptoir écrira un nouveau lien "
              "sur la carte.",
        "en": "This link opens your card. If someone else has it, revoke it: it will stop "
              "working, and your next tap at the counter writes a new link on the card."},
    "card_revoke": {"fr": "Révoquer ce lien", "en": "Revoke this link"},
    "card_revoked_title": {"fr": "Lien révoqué", "en": "Link revoked"},
    "card_revoked_body": {
        "fr": "Ce lien n'ouvre plus votre carte. Vos tampons restent sur la carte ; à "
              "votre prochain passage au comptoir, un nouveau lien y est écrit (passez la "
              "carte deux fois pour le voir en QR code).",
        "en": "This link no longer opens your card. Your stamps stay on the card; the next "
              "time you tap it at the counter, a new link is written on it (tap it twice to "
              "see it as a QR code)."},
    "card_refused": {"fr": "Impossible : {why}", "en": "Not possible: {why}"},
}

register(WORDS)

# why a referral or a gift is refused (central.referral.Refusal keys)
register({
    "refused_no_referral": {"fr": "cette boutique ne propose pas de parrainage.",
                            "en": "this shop does not run referrals."},
    "refused_unknown_code": {"fr": "aucune carte n'a ce code : vérifiez-le avec votre ami.",
                             "en": "no card has this code: check it with your friend."},
    "refused_own_code": {"fr": "c'est votre propre code : partagez-le plutôt avec un ami.",
                         "en": "this is your own code: share it with a friend instead."},
    "refused_already_referred": {"fr": "un ami a déjà parrainé cette carte (un seul par carte).",
                                 "en": "a friend already referred this card (one per card)."},
    "refused_one_way": {"fr": "c'est vous qui avez parrainé cet ami : le parrainage va dans "
                              "un seul sens.",
                        "en": "you referred this friend yourself: a referral goes one way."},
    "refused_too_old": {"fr": "un code compte dans les {days} premiers jours d'une carte ; "
                              "celle-ci est plus ancienne.",
                        "en": "a code counts in the first {days} days of a card; this one "
                              "is older."},
    "refused_cap": {"fr": "votre ami a déjà parrainé {cap} amis, le maximum récompensé.",
                    "en": "your friend already referred {cap} friends, the most rewarded."},
    "refused_no_cause": {"fr": "cette boutique ne soutient pas de cause.",
                         "en": "this shop has no cause to give to."},
    "refused_no_voucher": {"fr": "cette carte n'a pas cette récompense à donner.",
                           "en": "this card holds no such reward to give."},
    "refused_details": {"fr": "vérifiez le champ signalé : {why}",
                        "en": "check the field shown: {why}"},
})
