"""Response headers and deployment checks: the Content-Security-Policy and its companions on
every kind of page, `check --deploy` clean in production, and no page loading anything from
another host."""

import re
from http import HTTPStatus
from urllib.parse import urlsplit

import html5lib
import pytest
from django.test import Client

from tests.factories import (
    CommentFactory,
    PollFactory,
    PostFactory,
    SubscriptionFactory,
    TagFactory,
)
from tests.production.procs import production_env, run_manage, run_python
from tests.security.conftest import make_staff_editor

pytestmark = pytest.mark.django_db


def policy(response) -> dict[str, list[str]]:
    """The Content-Security-Policy of response as {directive: [sources]}."""
    directives = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


@pytest.fixture
def story(db):
    post = PostFactory(slug="story")
    post.tags.add(TagFactory(slug="cities"))
    PollFactory(post=post)
    CommentFactory(post=post)
    return post


PUBLIC_PAGES = ["/", "/p/story/", "/search/?q=story", "/tag/cities/", "/subscribe/", "/archive/"]


@pytest.mark.parametrize("path", PUBLIC_PAGES + ["/accounts/login/code/", "/does-not-exist/"])
def test_every_page_carries_the_policy_and_its_companions(client, story, path):
    response = client.get(path)
    csp = policy(response)
    assert csp["default-src"] == ["'self'"]
    script = csp["script-src"]
    assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script
    assert set(script) - {"'self'"} <= {s for s in script if s.startswith("'nonce-")}
    assert csp["style-src"] == ["'self'"]  # no inline styles outside the admin
    assert csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"] and csp["form-action"] == ["'self'"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    permissions = response["Permissions-Policy"]
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert f"{feature}=()" in permissions


def test_nonces_are_fresh_and_match_the_page(story):
    client = Client()
    client.force_login(make_staff_editor())
    url = f"/admin/posts/post/{story.pk}/change/"
    first, second = client.get(url), client.get(url)
    nonces = []
    for response in (first, second):
        [source] = [s for s in policy(response)["script-src"] if s.startswith("'nonce-")]
        nonce = source.removeprefix("'nonce-").removesuffix("'")
        assert f'nonce="{nonce}"' in response.content.decode()
        nonces.append(nonce)
    assert nonces[0] != nonces[1] and len(nonces[0]) >= 22


def test_reader_pages_get_no_nonce(client, story):
    # Reader pages run only scripts from this site, so a cached copy holds nothing per-response.
    for url in ("/", "/p/story/"):
        assert not any(s.startswith("'nonce-") for s in policy(client.get(url))["script-src"])


def test_a_304_keeps_the_policy_the_browser_stored_with_the_page(client, story):
    """The ETag ignores the nonce, so an unchanged page answers 304; the 304 carries no policy,
    so the browser keeps the one matching the nonces in the copy it shows."""
    first = client.get("/p/story/")
    again = client.get("/p/story/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == HTTPStatus.NOT_MODIFIED
    assert "Content-Security-Policy" not in again


def test_the_admin_allows_only_the_editors_own_injected_styles(story):
    client = Client()
    client.force_login(make_staff_editor())
    response = client.get(f"/admin/posts/post/{story.pk}/change/")
    csp = policy(response)
    style = csp["style-src"]
    assert style[0] == "'self'" and len(style) > 1
    assert all(s.startswith("'sha256-") for s in style[1:])
    assert "'unsafe-inline'" not in csp["script-src"] + style
    [nonce] = [s for s in csp["script-src"] if s.startswith("'nonce-")]
    value = nonce.removeprefix("'nonce-").removesuffix("'")
    assert f'<script type="importmap" nonce="{value}">' in response.content.decode()


def loaded_urls(html: str) -> list[str]:
    """Every URL the browser fetches by itself when it renders html (links are not fetched)."""
    document = html5lib.parse(html, namespaceHTMLElements=False)
    urls = []
    for element in document.iter():
        tag = element.tag if isinstance(element.tag, str) else ""
        attrs = element.attrib
        if tag in {"script", "img", "iframe", "source", "audio", "video", "embed", "track"}:
            urls += [attrs[a] for a in ("src", "poster") if a in attrs]
            if "srcset" in attrs:
                urls += [part.split()[0] for part in attrs["srcset"].split(",") if part.strip()]
        if tag == "object" and "data" in attrs:
            urls.append(attrs["data"])
        if tag == "link" and set(attrs.get("rel", "").split()) & {
            "stylesheet",
            "icon",
            "preload",
            "modulepreload",
            "manifest",
            "prefetch",
            "dns-prefetch",
            "preconnect",
        }:
            urls.append(attrs.get("href", ""))
        if "style" in attrs:
            urls += re.findall(r"url\(['\"]?([^'\")]+)", attrs["style"])
    return urls


def test_no_page_loads_anything_from_another_host(story, settings, tmp_path):
    """Scripts, styles, fonts, images, frames: all from this site, for readers and editors alike.
    (The browser test watches the real requests; this one reads every page's markup.)"""
    settings.MEDIA_ROOT = tmp_path
    reader = SubscriptionFactory().user
    editor = make_staff_editor()
    story.authors.add(editor)
    pages = {
        None: [*PUBLIC_PAGES, "/accounts/login/code/", f"/author/{editor.pk}/"],
        reader: ["/account/", "/p/story/", f"/p/story/comments/{story.comments.first().pk}/"],
        editor: [
            "/admin/",
            "/admin/posts/post/",
            f"/admin/posts/post/{story.pk}/change/",
            "/admin/posts/post/add/",
            "/accounts/2fa/",
        ],
    }
    checked = 0
    for user, paths in pages.items():
        client = Client()
        if user is not None:
            client.force_login(user)
        for path in paths:
            response = client.get(path)
            assert response.status_code == HTTPStatus.OK, path
            urls = loaded_urls(response.content.decode())
            assert urls, path
            for url in urls:
                parts = urlsplit(url)
                assert parts.netloc in {"", "testserver"} and parts.scheme in {
                    "",
                    "http",
                    "data",
                }, (
                    path,
                    url,
                )
                checked += 1
    assert checked > 50


def test_stylesheets_import_nothing_from_elsewhere():
    from pathlib import Path

    for sheet in Path("futureforward/static/css").glob("*.css"):
        css = sheet.read_text()
        for url in re.findall(r"url\(\s*['\"]?([^'\")]+)", css) + re.findall(
            r"@import\s+['\"]([^'\"]+)", css
        ):
            assert not re.match(r"^(https?:)?//", url), (sheet, url)


# --- Production ---


def test_deploy_check_is_clean_with_production_settings():
    """`check --deploy` with what a deployment sets (HTTPS behind a proxy): no warning at all."""
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env=production_env(
            DJANGO_ALLOWED_HOSTS="futureforward.example",
            DJANGO_SECURE_HSTS_PRELOAD="true",
            DJANGO_SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto",
            DJANGO_TRUSTED_PROXY_COUNT="1",
        ),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


PRODUCTION_HEADERS = """
import django, json
django.setup()
from django.conf import settings
settings.STORAGES = {**settings.STORAGES, "staticfiles": {
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
from django.test import Client
client = Client(HTTP_HOST="localhost")
plain = client.get("/robots.txt")
secure = client.get("/robots.txt", secure=True)
print(json.dumps({
    "plain": [plain.status_code, plain.get("Location", "")],
    "hsts": secure.get("Strict-Transport-Security", ""),
    "csp": secure.get("Content-Security-Policy", ""),
}))
"""


@pytest.mark.django_db(transaction=True)
def test_production_redirects_to_https_and_sends_hsts():
    import json

    result = run_python(PRODUCTION_HEADERS, production_env(DJANGO_SECURE_HSTS_SECONDS="600"))
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["plain"] == [301, "https://localhost/robots.txt"]
    assert answer["hsts"] == "max-age=600; includeSubDomains"
    assert "upgrade-insecure-requests" in answer["csp"]
