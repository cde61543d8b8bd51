"""The dashboard's Overview page (/dashboard): the shop's figures at a glance."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response

from central.web.accounts import SignedIn, add_menu, dash_page
from central.web.i18n import register

register({
    "menu_overview": {"fr": "Vue d'ensemble", "en": "Overview"},
    "overview_title": {"fr": "Vue d'ensemble", "en": "Overview"},
})


def routes(app: FastAPI) -> None:
    add_menu(10, "/dashboard", "menu_overview")

    @app.get("/dashboard", include_in_schema=False)
    async def overview(request: Request, account: SignedIn) -> Response:
        return dash_page(request, "overview.html", account)
