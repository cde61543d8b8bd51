"""The Program page: the owner edits the loyalty program, previews the kiosk's screens,
and publishes it; kiosks pick it up at their next sync.

The common fields are a form; everything else is the program as TOML. Both go through
the same check as `kiosk-central program set` (`central.program`), and every problem is
shown with its field path. A checked program is a draft (`central.published`): its page
shows what changes and the kiosk's own screens drawn from it, and only a draft can be
published. The program belongs to the organisation: a shop's manager may read it, and
is refused (403) any change.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import FastAPI, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from central import program as programs
from central import published, store
from central.accounts import Account
from central.web import program_preview as preview
from central.web.accounts import Posted, SignedIn, add_menu, dash_page
from central.web.i18n import register
from central.web.program_changes import consequences
from kiosk.core import program as bounds

# The fields of the form, with how a form's text becomes the field's value; the rest of
# the program is edited as TOML.
FORM_FIELDS: dict[str, Callable[[str], Any]] = {
    "name": str, "version": str, "reward": str, "goal": int, "welcome_bonus": int,
    "cooldown_minutes": float, "daily_cap": int, "timezone": str,
}
NUMBER_WORDS: dict[Callable[[str], Any], str] = {int: "a whole number", float: "a number"}
# the form's number inputs carry the core's own bounds (the server checks them again)
FORM_BOUNDS = {
    "goal": bounds.GOAL, "welcome_bonus": bounds.WELCOME_BONUS, "daily_cap": bounds.DAILY_CAP,
}
Clock = Callable[[], datetime]


def _field_of(problem: str) -> str:
    """The top field a problem names: "tiers[1].threshold: ..." is about "tiers"."""
    path = problem.split(":", 1)[0]
    return path.split(".", 1)[0].split("[", 1)[0]


def form_fields(form: dict[str, str], base: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The program a form makes over `base` (the current program's fields), and the
    problems of the form's own text (a goal that is no number)."""
    fields = dict(base)
    wrong: list[str] = []
    for name, convert in FORM_FIELDS.items():
        raw = form.get(name, "").strip()
        if convert is str:
            fields[name] = raw
            continue
        try:
            fields[name] = convert(raw)
        except ValueError:
            wrong.append(f"{name}: must be {NUMBER_WORDS[convert]}, not {raw[:20]!r}")
    return fields, wrong


def changes(before: dict[str, Any] | None, after: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(field, old, new) of every field a draft changes against the current program."""
    if before is None:
        return []
    return [(key, _shown(before.get(key)), _shown(after.get(key)))
            for key in sorted(set(before) | set(after)) if before.get(key) != after.get(key)]


def editable(fields: dict[str, Any]) -> dict[str, Any]:
    """Served program fields without what they carry of earlier versions (retired rewards,
    a switch of unit): the owner edits the program, publishing works those out again."""
    return {k: v for k, v in fields.items() if k not in programs.HISTORY}


def _shown(value: Any) -> str:
    return "—" if value is None else programs.to_toml({"v": value}).splitlines()[1][4:]


def routes(app: FastAPI) -> None:
    """The Program page's routes: pages for a signed-in account, forms with its CSRF token."""
    add_menu(30, "/program", "menu_program")

    def now() -> datetime:
        clock: Clock | None = getattr(app.state, "clock", None)
        return clock() if clock is not None else datetime.now(UTC)

    def base_fields(db: Any, org: int) -> tuple[str | None, dict[str, Any]]:
        """The program in use, as the owner edits it: without what it carries of the
        versions before it (publishing works that out again)."""
        current = store.current_program(db, org)
        if current is None:
            return None, programs.check({**programs.shipped_defaults(), "version": "1"})
        return current[0], editable(current[1])

    def editor(request: Request, account: Account, *, form: dict[str, Any] | None = None,
               toml: str | None = None, form_problems: list[str] | None = None,
               toml_problems: list[str] | None = None, status: int = 200) -> Response:
        db = request.app.state.db
        version, fields = base_fields(db, account.org_id)
        form_problems = form_problems or []
        by_field: dict[str, list[str]] = {}
        for problem in form_problems:
            by_field.setdefault(_field_of(problem), []).append(problem)
        return dash_page(request, "program.html", account, {
            "current_version": version,
            "form": form or {name: fields.get(name, "") for name in FORM_FIELDS},
            "form_bounds": FORM_BOUNDS,
            "toml": programs.to_toml(fields) if toml is None else toml,
            "form_problems": form_problems,
            "field_problems": by_field,
            "other_problems": [p for p in form_problems if _field_of(p) not in FORM_FIELDS],
            "toml_problems": toml_problems or [],
            "versions": published.history(db, account.org_id),
            "published": request.query_params.get("published"),
        }, status=status)

    def owner_only(account: Account) -> None:
        if account.role != "owner":
            raise HTTPException(403)  # the organisation's program is the owner's to change

    @app.get("/program", include_in_schema=False)
    async def program_page(request: Request, account: SignedIn) -> Response:
        return await run_in_threadpool(editor, request, account)

    @app.post("/program/form", include_in_schema=False)
    async def check_form(request: Request, account: Posted) -> Response:
        owner_only(account)
        form = {k: str(v) for k, v in (await request.form()).items() if k in FORM_FIELDS}
        db = request.app.state.db
        base = (await run_in_threadpool(base_fields, db, account.org_id))[1]
        fields, wrong = form_fields(form, base)
        found = wrong or programs.problems(fields) or await run_in_threadpool(
            cannot_follow, db, account.org_id, fields)
        if found:
            return await run_in_threadpool(
                lambda: editor(request, account, form=form, form_problems=found, status=422))
        return await _keep(request, account, fields)

    @app.post("/program/toml", include_in_schema=False)
    async def check_toml(request: Request, account: Posted,
                         toml: Annotated[str, Form(max_length=programs.MAX_TOML)]) -> Response:
        owner_only(account)
        try:
            fields = programs.from_toml(toml)
        except programs.BadProgram as error:
            wrong = [str(error)]
        else:
            wrong = await run_in_threadpool(
                cannot_follow, request.app.state.db, account.org_id, fields)
        if wrong:
            return await run_in_threadpool(
                lambda: editor(request, account, toml=toml, toml_problems=wrong, status=422))
        return await _keep(request, account, fields)

    def cannot_follow(db: Any, org: int, fields: dict[str, Any]) -> list[str]:
        """Why checked fields cannot follow the program in use (a switch between stamps
        and points that says not how balances convert), or nothing."""
        try:
            published.served(db, org, programs.check(fields))
        except programs.BadProgram as error:
            return [str(error)]
        return []

    async def _keep(request: Request, account: Account, fields: dict[str, Any]) -> Response:
        checked = programs.check(fields)
        found = await run_in_threadpool(
            published.save_draft, request.app.state.db, account.org_id, checked, account.email, now())
        return RedirectResponse(f"/program/drafts/{found}", 303)

    def the_draft(request: Request, account: Account, wanted: str) -> dict[str, Any]:
        found = published.draft(request.app.state.db, account.org_id, wanted)
        if found is None:
            raise HTTPException(404)
        return found

    @app.get("/program/drafts/{wanted}", include_in_schema=False)
    async def draft_page(request: Request, account: SignedIn, wanted: str) -> Response:
        owner_only(account)

        def page() -> Response:
            db = request.app.state.db
            fields = the_draft(request, account, wanted)
            current = store.current_program(db, account.org_id)
            before = None if current is None else current[1]
            try:
                after, refused = published.served(db, account.org_id, fields), None
            except programs.BadProgram as error:  # the program in use changed since
                after, refused = fields, str(error)
            reached = preview.visits(preview.program_of(fields), now()).outcomes
            return dash_page(request, "program_draft.html", account, {
                "draft": wanted, "fields": fields, "refused": refused,
                "changes": changes(None if before is None else editable(before), editable(fields)),
                "consequences": consequences(before, after),
                "current_version": None if current is None else current[0],
                "screens": [s for s in preview.SCREENS if s in reached],
                "missing": [s for s in preview.SCREENS if s not in reached],
                "sizes": [f"{w}x{h}" for w, h in preview.SIZES],
                "preview_langs": preview.LANGS,
            })

        return await run_in_threadpool(page)

    @app.get("/program/drafts/{wanted}/{screen}-{lang}-{size}.png", include_in_schema=False)
    async def draft_screen(request: Request, account: SignedIn, wanted: str, screen: str,
                           lang: str, size: str) -> Response:
        owner_only(account)

        def image() -> bytes:
            fields = the_draft(request, account, wanted)
            try:
                panel, locale = preview.size_named(size), preview.locale(lang)
            except ValueError:
                raise HTTPException(404) from None
            program = preview.program_of(fields)
            outcome = preview.visits(program, now()).outcomes.get(screen)  # type: ignore[call-overload]
            if outcome is None:
                raise HTTPException(404)
            return preview.png(program, outcome, locale, panel)

        body = await run_in_threadpool(image)
        return Response(body, media_type="image/png", headers={"cache-control": "no-store"})

    @app.post("/program/versions/{number}/draft", include_in_schema=False)
    async def back_to(request: Request, account: Posted, number: int) -> Response:
        """An earlier version as a draft: previewed, then published again under its tag."""
        owner_only(account)
        older = await run_in_threadpool(published.version, request.app.state.db,
                                        account.org_id, number)
        if older is None:
            raise HTTPException(404)
        return await _keep(request, account, editable(older))

    @app.post("/program/drafts/{wanted}/publish", include_in_schema=False)
    async def publish(request: Request, account: Posted, wanted: str) -> Response:
        owner_only(account)
        try:
            fields = await run_in_threadpool(
                published.publish, request.app.state.db, account.org_id, wanted, account.email, now())
        except (store.StoreError, programs.BadProgram) as error:
            refused = [str(error)]
            return await run_in_threadpool(
                lambda: editor(request, account, toml_problems=refused, status=409))
        return RedirectResponse(f"/program?published={fields['version']}", 303)


register({
    "menu_program": {"fr": "Programme", "en": "Program"},
    "program_title": {"fr": "Programme", "en": "Program"},
    "program_intro": {
        "fr": "Modifiez le programme, vérifiez les écrans de la borne, puis publiez : chaque "
              "borne le prend à sa prochaine synchronisation.",
        "en": "Change the program, check the kiosk's screens, then publish: every kiosk "
              "picks it up at its next sync."},
    "program_current": {"fr": "Version en service : {version}", "en": "Version in use: {version}"},
    "program_none": {"fr": "Aucun programme publié : les bornes gardent le leur.",
                     "en": "No program published yet: kiosks keep their own."},
    "program_published": {"fr": "Version {version} publiée.", "en": "Version {version} published."},
    "program_manager": {"fr": "Le programme appartient au propriétaire : vous pouvez le lire, "
                              "pas le modifier.",
                        "en": "The program belongs to the owner: you can read it, not change it."},
    "program_form": {"fr": "Les réglages courants", "en": "The common settings"},
    "program_toml": {"fr": "Tout le programme (TOML)", "en": "The whole program (TOML)"},
    "program_toml_label": {"fr": "Le programme en TOML", "en": "The program as TOML"},
    "program_toml_hint": {
        "fr": "Paliers, bonus, expiration… : tous les champs, comme dans le fichier de la borne.",
        "en": "Tiers, boosters, expiry…: every field, as in the kiosk's file."},
    "program_check": {"fr": "Vérifier et prévisualiser", "en": "Check and preview"},
    "program_problems": {"fr": "À corriger avant de publier :", "en": "To fix before publishing:"},
    "field_name": {"fr": "Nom du programme", "en": "Program name"},
    "field_version": {"fr": "Version", "en": "Version"},
    "field_version_hint": {"fr": "Un nouveau nom à chaque publication (ex. 2026-12).",
                           "en": "A new tag for each publication (e.g. 2026-12)."},
    "field_reward": {"fr": "Récompense", "en": "Reward"},
    "field_goal": {"fr": "Tampons pour la récompense", "en": "Stamps for the reward"},
    "field_welcome_bonus": {"fr": "Tampons offerts à l'inscription",
                            "en": "Stamps given on joining"},
    "field_cooldown_minutes": {"fr": "Minutes entre deux tampons",
                               "en": "Minutes between two stamps"},
    "field_daily_cap": {"fr": "Tampons par jour au plus (0 : sans limite)",
                        "en": "Most stamps a day (0: no limit)"},
    "field_timezone": {"fr": "Fuseau horaire", "en": "Time zone"},
    "program_versions": {"fr": "Versions publiées", "en": "Published versions"},
    "program_version_col": {"fr": "Version", "en": "Version"},
    "program_when": {"fr": "Quand (UTC)", "en": "When (UTC)"},
    "program_who": {"fr": "Par", "en": "By"},
    "program_by_cli": {"fr": "ligne de commande", "en": "command line"},
    "program_in_use": {"fr": "en service", "en": "in use"},
    "program_back_to": {"fr": "Revoir {version}", "en": "Review {version}"},
    "draft_title": {"fr": "Aperçu avant publication", "en": "Preview before publishing"},
    "draft_changes": {"fr": "Ce qui change", "en": "What changes"},
    "draft_no_change": {"fr": "Rien ne change par rapport à la version en service.",
                        "en": "Nothing changes from the version in use."},
    "draft_first": {"fr": "Premier programme publié.", "en": "The first program published."},
    "draft_field": {"fr": "Champ", "en": "Field"},
    "draft_before": {"fr": "Avant", "en": "Before"},
    "draft_after": {"fr": "Après", "en": "After"},
    "draft_cards": {"fr": "Pour les cartes de vos clients", "en": "For your customers' cards"},
    "change_goal_lowered": {
        "fr": "Objectif abaissé de {old} à {new} : une carte qui a déjà {new} tampons ou plus "
              "reçoit sa récompense à son prochain passage.",
        "en": "Goal lowered from {old} to {new}: a card that already holds {new} stamps or "
              "more gets its reward at its next visit."},
    "change_goal_raised": {
        "fr": "Objectif relevé de {old} à {new} : chaque carte garde ses tampons.",
        "en": "Goal raised from {old} to {new}: every card keeps its stamps."},
    "change_reward_retired": {
        "fr": "« {name} » n'est plus offert : les bons déjà gagnés restent utilisables sous ce nom.",
        "en": "“{name}” is no longer offered: vouchers already earned stay redeemable under that name."},
    "change_to_points": {
        "fr": "Passage des tampons aux points : chaque tampon d'une carte vaut {n} points, "
              "convertis à son prochain passage.",
        "en": "Stamps become points: each stamp on a card is worth {n} points, converted at "
              "its next visit."},
    "change_to_stamps": {
        "fr": "Passage des points aux tampons : {n} points d'une carte valent un tampon, "
              "convertis à son prochain passage.",
        "en": "Points become stamps: {n} points on a card make one stamp, converted at its "
              "next visit."},
    "draft_refused": {"fr": "Ce brouillon ne peut plus être publié :",
                      "en": "This draft can no longer be published:"},
    "draft_screens": {"fr": "Les écrans de la borne", "en": "The kiosk's screens"},
    "draft_screens_hint": {
        "fr": "Dessinés par le code de la borne, pour une carte neuve qui passe une fois par jour.",
        "en": "Drawn by the kiosk's own code, for a new card that visits once a day."},
    "draft_missing": {"fr": "Jamais atteint par une carte neuve :",
                      "en": "Never reached by a new card:"},
    "screen_welcome": {"fr": "Bienvenue (premier passage)", "en": "Welcome (first visit)"},
    "screen_stamped": {"fr": "Tampon ajouté", "en": "Stamp added"},
    "screen_reward": {"fr": "Récompense gagnée", "en": "Reward earned"},
    "screen_redeemed": {"fr": "Récompense utilisée", "en": "Reward redeemed"},
    "screen_alt": {"fr": "Écran « {screen} » en {lang}, {size}",
                   "en": "“{screen}” screen in {lang}, {size}"},
    "draft_publish": {"fr": "Publier la version {version}", "en": "Publish version {version}"},
    "draft_back": {"fr": "Revenir au programme", "en": "Back to the program"},
})
