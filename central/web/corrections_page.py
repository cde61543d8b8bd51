"""The corrections on a card's page (/customers/{ref}): adjust its balance by hand, and
replace a lost card by a new one.

How the owner names the new card: the customer's new card is tapped once at a kiosk (it
is enrolled there, like any new card), and the form lists the cards first seen in the
last 24 hours, newest first, with the kiosk and the time; or the owner types the end of
its number (`kiosk card-ref UID` prints it on the kiosk). A new card that already holds
stamps or vouchers (its first tap gave it some) is replaced into only when the owner
ticks "add both balances"; otherwise the form says so and nothing moves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from central import ingest, store
from central.accounts import Account
from central.card_actions import program_from
from central.web import corrections
from central.web.accounts import Posted, now_of
from central.web.customers_page import CARD_PAGE_PARTS, REF_SHOWN, card, card_ref, may_see
from central.web.i18n import register, translator
from central.web.pages import chosen_language
from kiosk.core import i18n as kiosk_words
from kiosk.core.cardid import is_card_ref
from kiosk.core.corrections import REASON
from kiosk.core.events import MAX_DELTA
from kiosk.core.outcome import RefusalReason, Refused

FORM_ERROR = 422  # a form sent back with what to fix: nothing was recorded


def _part(request: Request, account: Account, ref: str, found: Mapping[str, Any] | None
          ) -> Mapping[str, Any]:
    """What a card's page needs for its corrections' forms (the GET and a form sent back)."""
    db, org = request.app.state.db, account.org_id
    current = store.current_program(db, org, account.shop_id)
    program = program_from(None if current is None else current[1])
    candidates = corrections.new_cards(db, org, account.shop_id, ref, now_of(request))
    states = ingest.cards(db, org, [c.card_ref for c in candidates])
    history = ingest.card_events(db, org, ref)
    moved_from = request.query_params.get("from", "")
    return {
        "points": program is not None and program.uses_points,
        "max_delta": MAX_DELTA, "reason_max": REASON.max_length,
        "min_end": corrections.MIN_END,
        "blocked": bool(found and found.get("blocked")),
        "new_cards": [{"ref": c.card_ref, "end": c.card_ref[-REF_SHOWN:],
                       "at": c.first_seen[:16].replace("T", " "), "kiosk": c.kiosk_id,
                       "stamps": states.get(c.card_ref, {}).get("stamps", 0),
                       "vouchers": sum(states.get(c.card_ref, {}).get("vouchers", {}).values()),
                       "blocked": states.get(c.card_ref, {}).get("blocked", False)}
                      for c in candidates],
        "by": corrections.account_emails(db, org, [e.get("staff_ref") for e in history]),
        "adjusted": request.query_params.get("done") == "adjusted",
        "moved_from": moved_from[-REF_SHOWN:] if is_card_ref(moved_from) else None,
        "adjust": {"delta": "", "reason": "", "problems": {}},
        "replace": {"new_ref": "", "new_end": "", "merge": False, "problems": {}},
    }


def _words(request: Request, problems: Mapping[str, str]) -> dict[str, str]:
    """Each field's problem in the page's language: an i18n key of this page (filled with
    the bound it names), or `=` and text already written."""
    lang, _ = chosen_language(request)
    t = translator(lang)
    bounds = {"fix_delta_bad": MAX_DELTA, "fix_reason_long": REASON.max_length,
              "fix_new_end_bad": corrections.MIN_END}
    return {name: said[1:] if said.startswith("=") else t(said, n=bounds.get(said, 0))
            for name, said in problems.items()}


def _refusal(request: Request, reason: RefusalReason, key: str = "cli_refused_") -> str:
    """The kiosk's own words for a refused correction (those of `kiosk adjust` and of its
    screen), in the page's language."""
    lang, _ = chosen_language(request)
    return "=" + kiosk_words.text("en" if lang == "en" else "fr", key + reason.value)


def _text(form: Any, name: str, longest: int) -> str:
    value = form.get(name)
    return value[:longest] if isinstance(value, str) else ""


def routes(app: FastAPI) -> None:
    """The two forms' POST routes; their fields are drawn on the card's page."""
    if _part not in CARD_PAGE_PARTS:  # one app after another in a process: once
        CARD_PAGE_PARTS.append(_part)

    @app.post("/customers/{ref}/adjust", include_in_schema=False)
    async def adjust(request: Request, account: Posted, ref: str) -> Response:
        wanted = card_ref(ref)
        form = await request.form()
        typed = (_text(form, "delta", 20), _text(form, "reason", 400))

        def answer() -> Response:
            may_see(request, account, wanted)
            checked = corrections.adjust_form(*typed)
            problems = {name: key for name, key in checked.problems.items()}
            if not problems:
                outcome = corrections.adjust(request.app.state.db, account.org_id, wanted,
                                             checked.delta, checked.reason, account.id,
                                             now_of(request))
                if not isinstance(outcome, Refused):
                    return RedirectResponse(f"/customers/{wanted}?done=adjusted", 303)
                problems = {"delta" if outcome.reason is RefusalReason.NEGATIVE_BALANCE
                            else "form": _refusal(request, outcome.reason)}
            return card(request, account, wanted, status=FORM_ERROR, extra={"adjust": {
                "delta": typed[0], "reason": typed[1], "problems": _words(request, problems)}})

        return await run_in_threadpool(answer)

    @app.post("/customers/{ref}/replace", include_in_schema=False)
    async def replace(request: Request, account: Posted, ref: str) -> Response:
        old = card_ref(ref)
        form = await request.form()
        new_ref, new_end = _text(form, "new_ref", 64), _text(form, "new_end", 80).strip()
        merge = form.get("merge") == "yes"

        def answer() -> Response:
            may_see(request, account, old)
            problems = {}
            new = None
            if new_end:
                problem = corrections.card_end_problem(new_end)
                found = [] if problem else corrections.cards_ending(
                    request.app.state.db, account.org_id, account.shop_id, new_end)
                if problem or len(found) != 1:
                    problems["new_end"] = problem or ("fix_new_end_none" if not found
                                                      else "fix_new_end_many")
                else:
                    new = found[0]
            elif is_card_ref(new_ref):
                new = new_ref
            else:
                problems["new_ref"] = "fix_new_missing"
            if new is not None:
                may_see(request, account, new)
                outcome = corrections.replace(request.app.state.db, account.org_id, old, new,
                                              merge, account.id, now_of(request))
                if not isinstance(outcome, Refused):
                    return RedirectResponse(f"/customers/{new}?from={old}", 303)
                where = {RefusalReason.CARD_IN_USE: "merge", RefusalReason.SAME_CARD: "new_ref"}
                field = where.get(outcome.reason, "form")
                problems[field] = _refusal(request, outcome.reason, "refused_")
            problems = _words(request, problems)
            if "merge" in problems:
                problems["merge"] += " " + _words(request, {"m": "fix_merge_needed"})["m"]
            return card(request, account, old, status=FORM_ERROR, extra={"replace": {
                "new_ref": new_ref, "new_end": new_end, "merge": merge, "problems": problems}})

        return await run_in_threadpool(answer)


register({
    "fix_adjust_title": {"fr": "Corriger le solde", "en": "Correct the balance"},
    "fix_adjust_hint": {
        "fr": "Ajoutez (2) ou retirez (-1) des tampons à la main, en disant pourquoi : la "
              "correction est enregistrée à votre nom, dans l'historique de la carte, et les "
              "bornes la reçoivent à leur prochaine synchronisation.",
        "en": "Add (2) or take off (-1) stamps by hand, saying why: the correction is "
              "recorded under your name, in the card's history, and kiosks receive it at "
              "their next sync."},
    "fix_delta": {"fr": "Tampons (+ pour ajouter, - pour retirer)",
                  "en": "Stamps (+ to add, - to take off)"},
    "fix_delta_points": {"fr": "Points (+ pour ajouter, - pour retirer)",
                         "en": "Points (+ to add, - to take off)"},
    "fix_delta_bad": {"fr": "Indiquez un nombre entier entre -{n} et +{n}, autre que 0, "
                            "par ex. 2 ou -1.",
                      "en": "Enter a whole number between -{n} and +{n}, not 0, e.g. 2 or -1."},
    "fix_reason": {"fr": "Pourquoi", "en": "Why"},
    "fix_reason_hint": {"fr": "Par ex. « tampon oublié lundi ».",
                        "en": "E.g. “stamp forgotten on Monday”."},
    "fix_reason_missing": {"fr": "Dites pourquoi (obligatoire).",
                           "en": "Say why (required)."},
    "fix_reason_long": {"fr": "Dites pourquoi en {n} caractères au plus.",
                        "en": "Say why in at most {n} characters."},
    "fix_adjust_button": {"fr": "Enregistrer la correction", "en": "Record the correction"},
    "fix_adjusted": {"fr": "Correction enregistrée.", "en": "Correction recorded."},
    "fix_replace_title": {"fr": "Remplacer une carte perdue", "en": "Replace a lost card"},
    "fix_replace_hint": {
        "fr": "Passez d'abord la nouvelle carte une fois sur une borne : elle apparaît alors "
              "ci-dessous. Les tampons et les bons de cette carte-ci passent sur la nouvelle, "
              "et cette carte-ci est bloquée (la borne affiche « carte remplacée » après sa "
              "prochaine synchronisation).",
        "en": "First tap the new card once at a kiosk: it then appears below. This card's "
              "stamps and vouchers move to the new one, and this card is blocked (the kiosk "
              "shows “card replaced” after its next sync)."},
    "fix_new_cards": {"fr": "Nouvelle carte (vues pour la première fois en 24 h)",
                      "en": "New card (first seen in the last 24 hours)"},
    "fix_new_card_line": {"fr": "…{end} — {at} UTC, borne {kiosk}, {stamps} tampon(s), {vouchers} bon(s)",
                          "en": "…{end} — {at} UTC, kiosk {kiosk}, {stamps} stamp(s), {vouchers} voucher(s)"},
    "fix_no_new_cards": {"fr": "Aucune nouvelle carte depuis 24 h : passez-la sur une borne, "
                               "attendez sa synchronisation, puis rechargez cette page.",
                         "en": "No new card in the last 24 hours: tap it at a kiosk, wait "
                               "for its sync, then reload this page."},
    "fix_new_end": {"fr": "Ou la fin de son numéro", "en": "Or the end of its number"},
    "fix_new_end_hint": {"fr": "Au moins {n} caractères, comme la commande « kiosk card-ref » "
                               "de la borne l'affiche. Remplace le choix ci-dessus.",
                         "en": "At least {n} characters, as the kiosk's `kiosk card-ref` "
                               "command prints it. Takes the place of the choice above."},
    "fix_new_end_bad": {"fr": "Tapez de {n} à 64 caractères parmi 0-9 et a-f.",
                        "en": "Type {n} to 64 characters among 0-9 and a-f."},
    "fix_new_end_none": {"fr": "Aucune carte ne finit ainsi : vérifiez le numéro.",
                         "en": "No card ends like this: check the number."},
    "fix_new_end_many": {"fr": "Plusieurs cartes finissent ainsi : tapez plus de caractères.",
                         "en": "Several cards end like this: type more characters."},
    "fix_new_missing": {"fr": "Choisissez la nouvelle carte, ou tapez la fin de son numéro.",
                        "en": "Choose the new card, or type the end of its number."},
    "fix_merge": {"fr": "Si la nouvelle carte a déjà des tampons ou des bons : additionner "
                        "les deux soldes",
                  "en": "If the new card already holds stamps or vouchers: add both balances "
                        "together"},
    "fix_replace_button": {"fr": "Remplacer la carte", "en": "Replace the card"},
    "fix_blocked": {"fr": "Cette carte a été remplacée : elle est bloquée et son solde est "
                          "sur la nouvelle carte.",
                    "en": "This card was replaced: it is blocked and its balance is on the "
                          "new card."},
    "fix_moved_here": {"fr": "Le solde de la carte …{end} est passé sur cette carte ; "
                             "l'ancienne est bloquée.",
                       "en": "The balance of card …{end} moved to this card; the old one is "
                             "blocked."},
    "fix_merge_needed": {"fr": "Cochez « additionner les deux soldes » pour les réunir, ou "
                               "choisissez une autre carte.",
                         "en": "Tick “add both balances together” to merge them, or choose "
                               "another card."},
    "client_card_by": {"fr": "Par", "en": "By"},
})
