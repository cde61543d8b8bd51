"""The pages' shared parts over real HTTP: language, headers, error pages, texts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.requests import Request

from central.testing import Client, running_server
from central.web import SECURITY_HEADERS
from central.web.i18n import LANGUAGES, TEXTS, register
from central.web.pages import TEMPLATES, Pages


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server(str(tmp_path_factory.mktemp("web") / "central.sqlite3")) as url:
        yield url


def page(server: str, path: str, **headers: str) -> tuple[int, dict[str, str], str]:
    reply = Client(server, None).get(path, headers=dict(headers))
    return reply.status, reply.headers, reply.body.decode()


def test_the_home_page_speaks_the_browsers_language_and_french_by_default(server: str) -> None:
    assert '<html lang="en">' in page(server, "/", **{"Accept-Language": "en-GB,en;q=0.9"})[2]
    assert '<html lang="fr">' in page(server, "/", **{"Accept-Language": "de-DE"})[2]
    assert "Le serveur de votre programme" in page(server, "/")[2]


def test_a_chosen_language_is_remembered_in_a_cookie(server: str) -> None:
    status, headers, body = page(server, "/?lang=en", **{"Accept-Language": "fr"})
    assert status == 200 and '<html lang="en">' in body
    assert "lang=en" in headers["set-cookie"] and "HttpOnly" in headers["set-cookie"]
    assert '<html lang="en">' in page(server, "/", Cookie="lang=en", **{"Accept-Language": "fr"})[2]


def test_every_answer_carries_the_security_headers(server: str) -> None:
    for path in ("/", "/v1/health", "/static/site.css", "/nowhere"):
        headers = page(server, path)[1]
        for name, value in SECURITY_HEADERS.items():
            assert headers.get(name) == value, (path, name)


def test_a_missing_page_is_an_html_page_and_a_missing_api_route_stays_json(server: str) -> None:
    status, headers, body = page(server, "/nowhere", **{"Accept-Language": "en"})
    assert status == 404 and headers["content-type"].startswith("text/html")
    assert "<h1>Page not found</h1>" in body
    status, headers, body = page(server, "/v1/nowhere")
    assert status == 404 and headers["content-type"] == "application/json"
    assert body == '{"detail":"Not Found"}'


def test_pages_are_not_kept_by_the_browser_nor_indexed(server: str) -> None:
    status, headers, body = page(server, "/")
    assert headers["cache-control"] == "no-store"
    assert '<meta name="robots" content="noindex, nofollow">' in body
    assert page(server, "/robots.txt")[2] == "User-agent: *\nDisallow: /\n"


def test_the_stylesheet_is_served_by_the_app_itself(server: str) -> None:
    status, headers, body = page(server, "/static/site.css")
    assert status == 200 and headers["content-type"].startswith("text/css")
    assert ":focus-visible" in body


def test_every_text_a_template_names_exists_in_both_languages() -> None:
    used = set()
    for template in Path(TEMPLATES).rglob("*.html"):
        used |= set(re.findall(r"""\bt\(\s*["']([a-z0-9_]+)["']\s*[,)]""", template.read_text()))
    assert used, "no t(...) found: the pattern no longer matches the templates"
    missing = sorted(key for key in used if key not in TEXTS)
    assert not missing
    for key, versions in TEXTS.items():
        assert all(versions.get(lang) for lang in LANGUAGES), key


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_error_page_has_its_words(server: str, lang: str) -> None:
    # the error page names its texts from the status: each kind must render in each language
    for path, status in (("/nowhere", 404), ("/static/../../etc/passwd", 404)):
        assert page(server, path, Cookie=f"lang={lang}")[0] == status
    pages = Pages()
    for status in (400, 403, 404, 405, 413, 429, 500, 502):
        request = Request({"type": "http", "method": "GET", "path": "/x", "query_string": b"",
                           "headers": [(b"cookie", f"lang={lang}".encode())]})
        rendered = pages.error(request, status).body.decode()
        assert f'<html lang="{lang}">' in rendered and "<h1>" in rendered


def test_an_area_cannot_redefine_another_areas_text() -> None:
    with pytest.raises(ValueError, match="defined twice"):
        register({"site_name": {"fr": "Autre", "en": "Other"}})
    with pytest.raises(ValueError, match="no en version"):
        register({"only_french_text": {"fr": "Bonjour"}})
