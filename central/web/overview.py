"""The dashboard's Overview page (/dashboard): a period's figures, all shops or one, with
the visits per day and the hour-by-weekday heat map drawn as SVG on the server."""

from __future__ import annotations

import math
from datetime import date, datetime, time

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from central import overview
from central.accounts import Account
from central.db import Database, reading
from central.ingest import current, program_tz
from central.web import charts
from central.web.accounts import SignedIn, add_menu, dash_page, now_of
from central.web.i18n import register, translator
from central.web.messages import counts_table
from central.web.pages import chosen_language
from central.web.scope import Shop, chosen_shop, shops_of

register({
    "menu_overview": {"fr": "Vue d'ensemble", "en": "Overview"},
    "overview_title": {"fr": "Vue d'ensemble", "en": "Overview"},
    "period": {"fr": "Période", "en": "Period"},
    "period_today": {"fr": "Aujourd'hui", "en": "Today"},
    "period_7": {"fr": "7 jours", "en": "7 days"},
    "period_30": {"fr": "30 jours", "en": "30 days"},
    "shop": {"fr": "Boutique", "en": "Shop"},
    "all_shops": {"fr": "Toutes les boutiques", "en": "All shops"},
    "show": {"fr": "Afficher", "en": "Show"},
    "fig_visits": {"fr": "Passages", "en": "Visits"},
    "fig_new_cards": {"fr": "Nouvelles cartes", "en": "New cards"},
    "fig_return_visits": {"fr": "Clients revenus", "en": "Returning customers"},
    "fig_return_note": {"fr": "passages de cartes déjà vues", "en": "visits by cards seen before"},
    "fig_earned": {"fr": "Récompenses gagnées", "en": "Rewards earned"},
    "fig_redeemed": {"fr": "Récompenses utilisées", "en": "Rewards redeemed"},
    "fig_outstanding": {"fr": "Bons en cours", "en": "Vouchers outstanding"},
    "fig_outstanding_note": {"fr": "ce que la boutique doit", "en": "what the shop owes"},
    "fig_active": {"fr": "Porteurs actifs", "en": "Active cardholders"},
    "fig_active_note": {"fr": "un passage en 90 jours", "en": "a visit in the last 90 days"},
    "fig_adoption": {"fr": "Taux d'adoption", "en": "Adoption rate"},
    "fig_adoption_note": {"fr": "passages avec carte ÷ tickets de caisse ({n} tickets)",
                          "en": "visits with a card ÷ till tickets ({n} tickets)"},
    "fig_basket_card": {"fr": "Panier moyen avec carte", "en": "Average basket with a card"},
    "fig_basket_other": {"fr": "Panier moyen sans carte", "en": "Average basket without a card"},
    "no_till": {"fr": "pas de tickets de caisse reçus", "en": "no till tickets received"},
    "chart_visits": {"fr": "Passages par jour", "en": "Visits per day"},
    "chart_heat": {"fr": "Passages par heure et jour de la semaine",
                   "en": "Visits by hour and weekday"},
    "chart_heat_hint": {"fr": "Plus la case est foncée, plus il y a de passages : les heures "
                              "claires sont celles où lancer une offre.",
                        "en": "The darker the cell, the more visits: the light hours are when "
                              "to run a booster."},
    "chart_table": {"fr": "Les chiffres du graphique", "en": "The chart's numbers"},
    "day": {"fr": "Jour", "en": "Day"},
    "roi_title": {"fr": "Retour sur investissement (estimation)", "en": "Return on investment (estimate)"},
    "roi_cost": {"fr": "Coût d'une récompense (€)", "en": "Cost of one reward (€)"},
    "roi_cost_hint": {"fr": "Ce que vous coûte un bon utilisé, par ex. 2,50.",
                      "en": "What one redeemed voucher costs you, e.g. 2.50."},
    "roi_formula": {
        "fr": "Recette en plus = tickets avec carte × (panier moyen avec carte − panier moyen "
              "sans carte) = {tickets} × ({card} − {other}) = {extra}. Coût des récompenses = "
              "bons utilisés × coût d'une récompense = {redeemed} × {cost} = {spent}.",
        "en": "Extra revenue = tickets with a card × (average basket with a card − average "
              "basket without) = {tickets} × ({card} − {other}) = {extra}. Rewards' cost = "
              "vouchers redeemed × cost of one reward = {redeemed} × {cost} = {spent}."},
    "roi_result": {"fr": "Gain net : {net}, soit {percent} du coût des récompenses.",
                   "en": "Net gain: {net}, that is {percent} of the rewards' cost."},
    "roi_result_free": {"fr": "Gain net : {net}.", "en": "Net gain: {net}."},
    "roi_needs_till": {
        "fr": "L'estimation a besoin des tickets de caisse, avec et sans carte : reliez la "
              "caisse à la borne (section [till]).",
        "en": "The estimate needs the till's tickets, with and without a card: connect the "
              "till to the kiosk ([till] section)."},
    "messages_every_shop": {"fr": "Pour toutes les boutiques, sur la période choisie.",
                            "en": "For every shop, over the chosen period."},
    "roi_bad_cost": {"fr": "Indiquez un coût entre 0 et 1000 €, par ex. 2,50.",
                     "en": "Enter a cost between 0 and 1000 €, e.g. 2.50."},
})


def reward_cost(text: str | None) -> int | None:
    """Cents from what the owner typed (2,50 or 2.50 euros); None when it is not a cost
    between 0 and MAX_REWARD_COST cents."""
    if text is None:
        return None
    cleaned = text.strip().replace(",", ".").removesuffix("€").strip()
    try:
        value = float(cleaned)
    except ValueError:
        return None
    if not math.isfinite(value) or not 0 <= round(value * 100) <= overview.MAX_REWARD_COST:
        return None
    return round(value * 100)


def euros(cents: float | None, lang: str) -> str:
    if cents is None:
        return "—"
    text = f"{cents / 100:,.2f}"
    if lang == "fr":
        text = text.replace(",", " ").replace(".", ",")
    return f"{text} €"


def _figures(db: Database, org: int, shop: int | None, name: str | None, now: datetime
             ) -> overview.Overview:
    with reading(db) as conn:
        today = now.astimezone(program_tz(current(conn, org, shop))).date()
        return overview.read(conn, org, shop, overview.period(name, today))


def _messages(db: Database, org: int, shop: int | None, first: date) -> dict[str, object]:
    """The e-mails to customers queued since the period's first day (local midnight)."""
    with reading(db) as conn:
        tz = program_tz(current(conn, org, shop))
    return counts_table(db, org, datetime.combine(first, time(), tz))


def routes(app: FastAPI) -> None:
    add_menu(10, "/dashboard", "menu_overview")

    @app.get("/dashboard", include_in_schema=False)
    async def overview_page(request: Request, account: SignedIn) -> Response:
        db = request.app.state.db
        shops: list[Shop] = await run_in_threadpool(shops_of, db, account)
        shop = chosen_shop(account, shops, request.query_params.get("shop"))
        figures = await run_in_threadpool(_figures, db, account.org_id, shop,
                                          request.query_params.get("period"), now_of(request))
        # messages are the organisation's (not a shop's): the owner's alone
        messages = await run_in_threadpool(_messages, db, account.org_id, shop,
                                           figures.period.first) if account.is_owner else {}
        return dash_page(request, "overview.html", account,
                         {**_context(request, account, shops, shop, figures), **messages,
                          "show_messages": bool(messages)})


def _context(request: Request, account: Account, shops: list[Shop], shop: int | None,
             figures: overview.Overview) -> dict[str, object]:
    lang, _ = chosen_language(request)
    t = translator(lang)
    typed = request.query_params.get("reward_cost")
    cost = reward_cost(typed)
    roi = None if cost is None else figures.roi(cost)
    weekdays = t("weekdays").split(",")
    day_format = "%d/%m" if lang == "fr" else "%m/%d"
    points = [(day.strftime(day_format), n) for day, n in figures.per_day]
    return {
        "f": figures, "shops": shops, "shop": shop, "periods": list(overview.PERIODS),
        "money": lambda cents: euros(cents, lang),
        "visits_chart": charts.bars(points, t("chart_visits")),
        "heat_chart": charts.heat_map(figures.heat, weekdays, t("chart_heat")),
        "points": points, "typed_cost": typed or "", "cost": cost,
        "bad_cost": typed is not None and typed.strip() != "" and cost is None,
        "roi": roi, "all_shops_allowed": account.is_owner,
    }
