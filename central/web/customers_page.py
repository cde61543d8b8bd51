"""The Customers page: find a card, read its history, export or erase what is held.

Search by first name (only customers who consented have one stored) or by the last
characters of a card's ref. A card's page shows its balance, vouchers and every event;
its export is the same document as the API's (`GET /v1/cards/{ref}/customer`), and
erasing forgets the person exactly as the API and the CLI do (`central.store`): the
card's events stay as anonymous counts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from central import ingest, store
from central.accounts import Account
from central.customer_search import BadSearch, search, seen_at
from central.web.accounts import Posted, SignedIn, add_menu, dash_page
from central.web.i18n import TEXTS, register
from kiosk.core.cardid import is_card_ref

REF_SHOWN = 8  # the end of a card's ref people read and type (a card's page shows it)


def card_ref(value: str) -> str:
    """A card's ref from a page's path; the plain 404 page for anything else."""
    if not is_card_ref(value):
        raise HTTPException(404)
    return value


def may_see(request: Request, account: Account, wanted: str) -> None:
    """A shop's manager sees the cards that visited their shop, others are refused."""
    if account.shop_id is not None and not seen_at(
            request.app.state.db, account.org_id, account.shop_id, wanted):
        raise HTTPException(403)


def card(request: Request, account: Account, wanted: str, *, confirm_missing: bool = False,
         extra: Mapping[str, Any] | None = None, status: int | None = None) -> Response:
    """A card's page (run in a worker thread). `extra` adds to its context: the
    corrections' forms as typed and their problems (central.web.corrections_page)."""
    db, org = request.app.state.db, account.org_id
    found = ingest.cards(db, org, [wanted]).get(wanted)
    person = store.customer(db, org, wanted)
    if found is None and person is None:
        raise HTTPException(404)
    may_see(request, account, wanted)
    context = {
        "ref": wanted, "ref_end": wanted[-REF_SHOWN:], "card": found, "person": person,
        "history": list(reversed(ingest.card_events(db, org, wanted))),
        "erased": request.query_params.get("erased") == "1",
        "kinds": {key for key in TEXTS if key.startswith("kind_")},
        "confirm_missing": confirm_missing,
    }
    for more in CARD_PAGE_PARTS:
        context.update(more(request, account, wanted, found))
    context.update(extra or {})
    return dash_page(request, "customer_card.html", account, context,
                     status=status or (400 if confirm_missing else 200))


# (request, account, card ref, its card_json or None) -> more of a card page's context
CardPagePart = Callable[[Request, Account, str, Mapping[str, Any] | None], Mapping[str, Any]]
CARD_PAGE_PARTS: list[CardPagePart] = []


def routes(app: FastAPI) -> None:
    """The Customers page's routes: pages for a signed-in account, forms with its CSRF token."""
    add_menu(20, "/customers", "menu_customers")

    @app.get("/customers", include_in_schema=False)
    async def customers_page(request: Request, account: SignedIn, q: str = "") -> Response:
        def page() -> Response:
            problem = None
            try:
                found = search(request.app.state.db, account.org_id, q, account.shop_id)
            except BadSearch as error:
                found, problem = [], str(error)
            return dash_page(request, "customers.html", account, {
                "q": q, "found": found, "problem": problem,
                "ref_shown": REF_SHOWN,
            }, status=422 if problem else 200)

        return await run_in_threadpool(page)

    @app.get("/customers/{ref}", include_in_schema=False)
    async def card_page(request: Request, account: SignedIn, ref: str) -> Response:
        return await run_in_threadpool(card, request, account, card_ref(ref))

    @app.get("/customers/{ref}/export.json", include_in_schema=False)
    async def export(request: Request, account: SignedIn, ref: str) -> Response:
        wanted = card_ref(ref)
        found = await run_in_threadpool(store.export_customer, request.app.state.db,
                                        account.org_id, wanted)
        if found is None:
            raise HTTPException(404)
        await run_in_threadpool(may_see, request, account, wanted)
        return Response(
            json.dumps(found, indent=2, ensure_ascii=False), media_type="application/json",
            headers={"content-disposition": f'attachment; filename="card-{wanted[-REF_SHOWN:]}.json"',
                     "cache-control": "no-store"})

    @app.post("/customers/{ref}/erase", include_in_schema=False)
    async def erase(request: Request, account: Posted, ref: str) -> Response:
        wanted = card_ref(ref)
        if (await request.form()).get("confirm") != "yes":  # an erasure cannot be undone
            return await run_in_threadpool(
                lambda: card(request, account, wanted, confirm_missing=True))
        await run_in_threadpool(may_see, request, account, wanted)
        await run_in_threadpool(store.erase_customer, request.app.state.db, account.org_id, wanted)
        return RedirectResponse(f"/customers/{wanted}?erased=1", 303)


register({
    "menu_customers": {"fr": "Clients", "en": "Customers"},
    "customers_title": {"fr": "Clients", "en": "Customers"},
    "customers_search": {"fr": "Chercher un client", "en": "Find a customer"},
    "customers_search_hint": {
        "fr": "Un prénom (clients qui ont donné leur accord) ou la fin du numéro de carte "
              "(au moins 4 caractères).",
        "en": "A first name (customers who agreed) or the end of the card's number "
              "(at least 4 characters)."},
    "customers_find": {"fr": "Chercher", "en": "Search"},
    "customers_none": {"fr": "Aucun client ne correspond à « {q} ».",
                       "en": "No customer matches “{q}”."},
    "customers_count": {"fr": "{n} résultat(s)", "en": "{n} result(s)"},
    "customers_card": {"fr": "Carte", "en": "Card"},
    "customers_name": {"fr": "Prénom", "en": "First name"},
    "customers_anonymous": {"fr": "(sans prénom)", "en": "(no name)"},
    "client_card_title": {"fr": "Carte …{end}", "en": "Card …{end}"},
    "client_card_erased": {"fr": "Les données personnelles de cette carte ont été effacées ; ses "
                          "passages restent comptés sans nom.",
                    "en": "This card's personal data was erased; its visits stay counted "
                          "without a name."},
    "client_card_balance": {"fr": "Tampons", "en": "Stamps"},
    "client_card_visits": {"fr": "Passages", "en": "Visits"},
    "client_card_vouchers": {"fr": "Bons", "en": "Vouchers"},
    "client_card_last_visit": {"fr": "Dernier passage (UTC)", "en": "Last visit (UTC)"},
    "client_card_person": {"fr": "Le client", "en": "The customer"},
    "client_card_no_person": {"fr": "Aucune donnée personnelle n'est gardée pour cette carte.",
                       "en": "No personal data is kept for this card."},
    "client_card_birthday": {"fr": "Anniversaire", "en": "Birthday"},
    "client_card_consent": {"fr": "Accord", "en": "Consent"},
    "client_card_yes": {"fr": "oui", "en": "yes"},
    "client_card_no": {"fr": "non", "en": "no"},
    "client_card_overdrawn": {"fr": "Solde négatif : vérifiez l'historique.",
                       "en": "Overdrawn: check the history."},
    "client_card_history": {"fr": "Historique", "en": "History"},
    "client_card_when": {"fr": "Quand (UTC)", "en": "When (UTC)"},
    "client_card_what": {"fr": "Quoi", "en": "What"},
    "client_card_delta": {"fr": "Tampons", "en": "Stamps"},
    "client_card_kiosk": {"fr": "Borne", "en": "Kiosk"},
    "client_card_held": {"fr": "retenu : {reason}", "en": "held: {reason}"},
    "client_card_export": {"fr": "Exporter tout ce qui est gardé (JSON)",
                    "en": "Export everything kept (JSON)"},
    "client_card_erase": {"fr": "Effacer les données personnelles", "en": "Erase the personal data"},
    "client_card_erase_hint": {
        "fr": "Le prénom, l'anniversaire et l'accord sont effacés ; les passages restent, sans nom.",
        "en": "The first name, birthday and consent are erased; the visits stay, without a name."},
    "client_card_erase_confirm": {"fr": "Je confirme : cet effacement est définitif.",
                           "en": "I confirm: this erasure cannot be undone."},
    "client_card_erase_confirm_missing": {"fr": "Cochez la case pour confirmer l'effacement.",
                                   "en": "Tick the box to confirm the erasure."},
    "client_card_back": {"fr": "Revenir à la recherche", "en": "Back to the search"},
    "kind_enrolled": {"fr": "inscription", "en": "joined"},
    "kind_stamp": {"fr": "tampon", "en": "stamp"},
    "kind_reward_earned": {"fr": "récompense gagnée", "en": "reward earned"},
    "kind_reward_redeemed": {"fr": "récompense utilisée", "en": "reward redeemed"},
    "kind_adjustment": {"fr": "ajustement", "en": "adjustment"},
    "kind_expired": {"fr": "expiration", "en": "expired"},
    "kind_tier_changed": {"fr": "niveau", "en": "tier"},
    "kind_birthday": {"fr": "anniversaire", "en": "birthday"},
    "kind_bonus": {"fr": "surprise", "en": "surprise"},
    "kind_reward_revoked": {"fr": "récompense retirée", "en": "reward revoked"},
    "kind_manual_adjustment": {"fr": "correction manuelle", "en": "manual adjustment"},
    "kind_card_replaced": {"fr": "carte remplacée", "en": "card replaced"},
    "kind_card_link": {"fr": "lien de la page client créé", "en": "customer page link made"},
    "kind_link_revoked": {"fr": "lien de la page client révoqué",
                          "en": "customer page link revoked"},
    "kind_referral": {"fr": "bonus de parrainage", "en": "referral bonus"},
    "kind_donated": {"fr": "bon donné à la cause", "en": "voucher given to the cause"},
    "kind_balance_moved_in": {"fr": "solde reçu d'une carte perdue",
                              "en": "balance from a lost card"},
    "kind_voucher_moved_out": {"fr": "bon transféré", "en": "voucher moved out"},
    "kind_voucher_moved_in": {"fr": "bon reçu", "en": "voucher moved in"},
    "kind_converted": {"fr": "conversion tampons/points", "en": "stamps/points converted"},
    "kind_discount": {"fr": "remise en caisse", "en": "discount at the till"},
})
