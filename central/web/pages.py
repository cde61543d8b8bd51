"""Rendering a page: the template, the reader's language, and the shared context.

The language is the one the reader chose (`?lang=en`, remembered in a cookie), else the
first of their browser's languages we have, else French.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from central.web.i18n import DEFAULT_LANGUAGE, LANGUAGES, Translator, translator

TEMPLATES = Path(__file__).parent / "templates"
LANG_COOKIE = "lang"
ONE_YEAR = 365 * 24 * 3600


def chosen_language(request: Request) -> tuple[str, bool]:
    """The page's language, and whether the reader just chose it (to remember it)."""
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        return asked, True
    kept = request.cookies.get(LANG_COOKIE)
    if kept in LANGUAGES:
        return kept, False
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code, False
    return DEFAULT_LANGUAGE, False


class Pages:
    """The Jinja2 environment and the one way pages are answered."""

    def __init__(self) -> None:
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(default=True),
            undefined=StrictUndefined,  # a misspelt variable is an error, not a blank
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def render(
        self,
        request: Request,
        template: str,
        context: Mapping[str, Any] | None = None,
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> HTMLResponse:
        lang, chosen = chosen_language(request)
        t: Translator = translator(lang)
        page = self.env.get_template(template).render(
            {"t": t, "lang": lang, "languages": LANGUAGES, "path": request.url.path,
             **(context or {})}
        )
        response = HTMLResponse(page, status, headers=dict(headers or {}))
        # what a reader's browser may keep: pages can hold a customer's or a shop's data
        response.headers.setdefault("cache-control", "no-store")
        if chosen:
            response.set_cookie(LANG_COOKIE, lang, max_age=ONE_YEAR, samesite="lax",
                                httponly=True, secure=request.url.scheme == "https")
        return response

    def error(self, request: Request, status: int,
              headers: Mapping[str, str] | None = None) -> HTMLResponse:
        """The plain page of an HTTP error: what happened and where to go, nothing more."""
        known = status if status in (400, 403, 404, 405, 413, 429) else 500 if status >= 500 else 400
        return self.render(request, "error.html", {"status": status, "kind": known},
                           status=status, headers=headers)
