"""Signing in to the dashboard: login, logout, password change, and what every page uses.

For a page module:

    from central.web.accounts import Posted, SignedIn, dash_page, see_shop

    @app.get("/dashboard/things", include_in_schema=False)
    async def things(request: Request, account: SignedIn) -> Response:
        return dash_page(request, "things.html", account, {...})

    @app.post("/dashboard/things", include_in_schema=False)
    async def change(request: Request, account: Posted) -> Response: ...

`SignedIn` gives the signed-in `Account` (a signed-out reader is sent to /login, 303, and
back afterwards); `Posted` also checks the form's CSRF token (a 403 page when it is
wrong). Every form of a dashboard page carries `{{ csrf_field() }}` (from
`dash.html`'s context). `see_shop(account, shop_id)` answers the plain 403 page when a
manager asks for another shop. The cookie is a session's random secret only; a kiosk's
or owner key's bearer token opens no page.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup, escape
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from central import accounts
from central.accounts import Account, AccountError, Throttled
from central.web.i18n import register
from central.web.pages import Pages

SESSION_COOKIE = "session"
LOGIN_CSRF_COOKIE = "login_csrf"
CSRF_FIELD = "csrf_token"
HOME = "/dashboard"

# the dashboard's menu: (place, path, text key), in place order; each page module adds its
# own with `add_menu` (places: overview 10, customers 20, program 30, kiosks 40, export 50)
MENU: list[tuple[int, str, str]] = []


def add_menu(place: int, path: str, key: str) -> None:
    if (place, path, key) not in MENU:
        MENU.append((place, path, key))
        MENU.sort()


register({
    "login_title": {"fr": "Connexion", "en": "Sign in"},
    "login_email": {"fr": "Adresse e-mail", "en": "Email address"},
    "login_password": {"fr": "Mot de passe", "en": "Password"},
    "login_submit": {"fr": "Se connecter", "en": "Sign in"},
    "login_wrong": {"fr": "Adresse e-mail ou mot de passe incorrect.",
                    "en": "Wrong email address or password."},
    "login_throttled": {
        "fr": "Trop de tentatives : attendez {n} minutes, puis réessayez.",
        "en": "Too many attempts, wait {n} minutes, then try again."},
    "login_expired_form": {"fr": "Le formulaire a expiré : réessayez.",
                           "en": "The form expired: try again."},
    "login_first_owner": {
        "fr": "Pas encore de compte ? Sur le serveur : kiosk-central add-owner VOTRE-EMAIL",
        "en": "No account yet? On the server: kiosk-central add-owner YOUR-EMAIL"},
    "logout": {"fr": "Se déconnecter", "en": "Sign out"},
    "signed_in_as": {"fr": "Connecté : {email}", "en": "Signed in: {email}"},
    "menu_label": {"fr": "Tableau de bord", "en": "Dashboard"},
    "menu_account": {"fr": "Mon compte", "en": "My account"},
    "password_title": {"fr": "Changer de mot de passe", "en": "Change password"},
    "password_current": {"fr": "Mot de passe actuel", "en": "Current password"},
    "password_new": {"fr": "Nouveau mot de passe", "en": "New password"},
    "password_repeat": {"fr": "Nouveau mot de passe, encore", "en": "New password, again"},
    "password_hint": {"fr": "Au moins {n} caractères.", "en": "At least {n} characters."},
    "password_submit": {"fr": "Changer", "en": "Change"},
    "password_changed": {"fr": "Mot de passe changé. Vos autres sessions sont fermées.",
                         "en": "Password changed. Your other sessions are signed out."},
    "password_wrong": {"fr": "Le mot de passe actuel n'est pas le bon.",
                       "en": "The current password is not right."},
    "password_short": {"fr": "Le nouveau mot de passe doit avoir de {low} à {high} caractères.",
                       "en": "The new password needs {low} to {high} characters."},
    "password_mismatch": {"fr": "Les deux nouveaux mots de passe diffèrent.",
                          "en": "The two new passwords differ."},
    "role_owner": {"fr": "Propriétaire", "en": "Owner"},
    "role_manager": {"fr": "Responsable de boutique", "en": "Shop manager"},
})


class SignInNeeded(Exception):
    """A dashboard page asked for with no live session: answered by a redirect to /login."""

    def __init__(self, back_to: str) -> None:
        super().__init__(back_to)
        self.back_to = back_to


def _now(request: Request) -> datetime:
    clock = getattr(request.app.state, "clock", None)
    return clock() if clock is not None else datetime.now(UTC)


async def signed_in(request: Request) -> Account:
    """The signed-in account (FastAPI dependency); SignInNeeded when there is none."""
    secret = request.cookies.get(SESSION_COOKIE, "")
    found = None
    if secret:
        found = await run_in_threadpool(accounts.session_account, request.app.state.db,
                                        secret, _now(request))
    if found is None:
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInNeeded(back if request.method == "GET" else HOME)
    return found


async def posted(request: Request, account: Annotated[Account, Depends(signed_in)]) -> Account:
    """The signed-in account of a form post whose CSRF token is the session's."""
    form = await request.form()  # Starlette keeps it: Form(...) parameters read it again
    sent = form.get(CSRF_FIELD)
    if not isinstance(sent, str) or not secrets.compare_digest(sent, account.csrf):
        raise HTTPException(403)
    return account


SignedIn = Annotated[Account, Depends(signed_in)]
Posted = Annotated[Account, Depends(posted)]


def see_shop(account: Account, shop_id: int) -> None:
    """The plain 403 page when a manager asks for a shop not theirs. The caller has looked
    the shop up within `account.org_id` (another organisation's shop is a 404)."""
    if not account.may_see_shop(shop_id):
        raise HTTPException(403)


def csrf_field(token: str) -> Markup:
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, escape(token))


def dash_page(request: Request, template: str, account: Account,
              context: Mapping[str, Any] | None = None, *, status: int = 200) -> HTMLResponse:
    """A dashboard page: `template` extends dash.html, which shows the menu and the account."""
    pages: Pages = request.app.state.pages
    return pages.render(request, template, {
        "account": account, "menu": MENU, "csrf_field": lambda: csrf_field(account.csrf),
        **(context or {})}, status=status)


def _local(target: str | None) -> str:
    """Where to go after signing in: a path on this site only (never //elsewhere)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return HOME


def _secure(request: Request) -> bool:
    # behind the README's reverse proxy, uvicorn sets the scheme from X-Forwarded-Proto
    return request.url.scheme == "https"


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def routes(app: FastAPI) -> None:
    """/login, /logout, /account/password, /dashboard's redirect for the signed-out."""
    pages: Pages = app.state.pages

    @app.exception_handler(SignInNeeded)
    async def _to_login(_request: Request, error: SignInNeeded) -> Response:
        return RedirectResponse(f"/login?next={quote(error.back_to, safe='/')}", 303)

    def login_form(request: Request, *, error: str | None = None, minutes: int = 0,
                   email: str = "", status: int = 200) -> Response:
        token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
        answer = pages.render(request, "login.html", {
            "error": error, "minutes": minutes, "email": email, "token": token,
            "next": _local(request.query_params.get("next"))}, status=status)
        answer.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="lax",
                          secure=_secure(request), path="/login")
        return answer

    @app.get("/login", include_in_schema=False)
    async def login_page(request: Request) -> Response:
        return login_form(request)

    @app.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        form = await request.form()
        email, password = str(form.get("email", ""))[:300], str(form.get("password", ""))
        sent, kept = str(form.get(CSRF_FIELD, "")), request.cookies.get(LOGIN_CSRF_COOKIE, "")
        if not kept or not secrets.compare_digest(sent, kept):
            return login_form(request, error="login_expired_form", email=email, status=400)
        try:
            secret = await run_in_threadpool(accounts.sign_in, app.state.db, email,
                                             password[:accounts.MAX_PASSWORD + 1],
                                             _client(request), _now(request))
        except Throttled as wait:
            return login_form(request, error="login_throttled", minutes=wait.minutes,
                              email=email, status=429)
        if secret is None:
            return login_form(request, error="login_wrong", email=email, status=401)
        answer = RedirectResponse(_local(str(form.get("next", ""))), 303)
        answer.set_cookie(SESSION_COOKIE, secret, httponly=True, samesite="lax",
                          secure=_secure(request), path="/",
                          max_age=int(accounts.SESSION_MAX.total_seconds()))
        answer.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
        return answer

    @app.post("/logout", include_in_schema=False)
    async def logout(request: Request, _account: Posted) -> Response:
        await run_in_threadpool(accounts.sign_out, app.state.db,
                                request.cookies.get(SESSION_COOKIE, ""))
        answer = RedirectResponse("/login", 303)
        answer.delete_cookie(SESSION_COOKIE, path="/")
        return answer

    @app.get("/account/password", include_in_schema=False)
    async def password_page(request: Request, account: SignedIn) -> Response:
        return dash_page(request, "password.html", account, _password_context(None))

    @app.post("/account/password", include_in_schema=False)
    async def change_password(request: Request, account: Posted) -> Response:
        form = await request.form()
        current, new, again = (str(form.get(name, ""))[:accounts.MAX_PASSWORD + 1]
                               for name in ("current", "new", "repeat"))
        error = None
        if new != again:
            error = "password_mismatch"
        elif accounts.password_problem(new):
            error = "password_short"
        else:
            try:
                await run_in_threadpool(accounts.change_password, app.state.db, account,
                                        current, new, request.cookies.get(SESSION_COOKIE, ""),
                                        _now(request))
            except AccountError:
                error = "password_wrong"
        return dash_page(request, "password.html", account, _password_context(error, done=True),
                         status=400 if error else 200)


def _password_context(error: str | None, *, done: bool = False) -> dict[str, Any]:
    return {"error": error, "done": done and not error, "min_password": accounts.MIN_PASSWORD,
            "max_password": accounts.MAX_PASSWORD}
