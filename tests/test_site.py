"""The site as a whole: chrome, error pages, the demo command."""

import re
from http import HTTPStatus

import pytest
from django.core.management import call_command
from django.test import override_settings

from accounts.models import User
from posts.models import Post

pytestmark = pytest.mark.django_db


def test_home_has_landmarks_and_the_publication_name(client):
    html = client.get("/").content.decode()
    for marker in [
        "<header",
        '<nav aria-label="Main"',
        '<main id="main"',
        "<footer",
        'class="skip-link"',
        "Future Forward",
    ]:
        assert marker in html


def test_anonymous_chrome_offers_login_and_subscribe(client):
    html = client.get("/").content.decode()
    assert ">Login</a>" in html and ">Subscribe</a>" in html


def test_logged_in_chrome_shows_name_and_logout(auth_client):
    html = auth_client.get("/").content.decode()
    assert auth_client.user.public_name in html
    assert "Log out" in html and ">Subscribe</a>" not in html


def test_pages_make_no_external_requests(client):
    """Nothing a page loads (scripts, styles, images, icons, frames) comes from another host.
    Canonical and share links may be absolute: a browser does not fetch them."""
    html = client.get("/").content.decode()
    loaded = re.findall(
        r"<(?:script|img|iframe|source|audio|video)\b[^>]*\b(?:src|srcset)=\"([^\"]*)\"", html
    )
    loaded += re.findall(
        r"<link\b(?=[^>]*\brel=\"(?:stylesheet|icon|preload|modulepreload|manifest)\")"
        r"[^>]*\bhref=\"([^\"]*)\"",
        html,
    )
    assert loaded
    for url in loaded:
        assert not re.match(r"(https?:)?//", url), url


@override_settings(DEBUG=False)
def test_styled_404(client):
    response = client.get("/p/does-not-exist/")
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert b"Page not found" in response.content
    assert b"site-header" in response.content


def test_seed_demo_is_idempotent():
    call_command("seed_demo")
    counts = (User.objects.count(), Post.objects.count())
    call_command("seed_demo")
    assert (User.objects.count(), Post.objects.count()) == counts
    editor = User.objects.get(email="editor@futureforward.example")
    assert editor.is_staff and editor.check_password("futureforward-demo")
    post = Post.objects.published().first()
    assert "<h2>" in post.body and post.daily_takeaway and post.cover
