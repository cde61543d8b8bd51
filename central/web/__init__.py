"""The central's web pages: server-rendered HTML for the shop's owner and its customers.

Every page is rendered here from Jinja2 templates (`templates/`), in French or English
(`central.web.i18n`), with its stylesheet served by the app itself (`static/`): nothing is
loaded from another site, so the pages work with no internet. The API under /v1 stays JSON;
a page's errors are HTML pages, never a stack trace.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from central.web.pages import Pages

STATIC = Path(__file__).parent / "static"

# Applied to every answer, pages and API alike. The pages use no inline script or style,
# no frame and no other origin, so the policy can be this strict.
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
}


def is_api(path: str) -> bool:
    """The machine-facing paths, whose errors stay JSON (`central.contract`)."""
    return path.startswith("/v1/") or path == "/v1" or path == "/openapi.json"


def mount(app: FastAPI) -> Pages:
    """Add the pages' shared parts to the app: static files, headers, HTML error pages,
    the home page. Returns the renderer that page modules use."""
    pages = Pages()
    app.state.pages = pages
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(_SecurityHeaders)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, error: HTTPException) -> Response:
        if is_api(request.url.path):
            return JSONResponse({"detail": error.detail}, error.status_code,
                                headers=getattr(error, "headers", None))
        return pages.error(request, error.status_code, getattr(error, "headers", None))

    @app.get("/", include_in_schema=False)
    async def home(request: Request) -> Response:
        return pages.render(request, "home.html")

    from central.web import (  # the dashboard's areas
        accounts,
        corrections_page,
        customers_page,
        export,
        kiosks,
        overview,
        program_page,
    )

    accounts.routes(app)
    overview.routes(app)
    customers_page.routes(app)
    corrections_page.routes(app)
    program_page.routes(app)
    kiosks.routes(app)
    export.routes(app)

    @app.get("/robots.txt", include_in_schema=False)
    async def robots() -> Response:
        # nothing here is for search engines: customers' pages least of all
        return Response("User-agent: *\nDisallow: /\n", media_type="text/plain")

    return pages


class _SecurityHeaders:
    """Adds SECURITY_HEADERS to every response (pure ASGI: streaming answers pass untouched)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in SECURITY_HEADERS.items():
                    if name.encode() not in present:
                        headers.append((name.encode(), value.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


__all__ = ["Pages", "SECURITY_HEADERS", "is_api", "mount"]
