"""Sessions: a new key at login, a dead cookie after logout, logout only by POST, codes that
work once, and cookies that browsers guard (__Host-, Secure, HttpOnly, SameSite) in production."""

import json
from http import HTTPStatus

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from accounts.models import Session
from tests.conftest import code_from_mail
from tests.factories import SubscriptionFactory
from tests.production.procs import production_env, run_python

pytestmark = pytest.mark.django_db

REQUEST_CODE = reverse("account_request_login_code")
CONFIRM = reverse("account_confirm_login_code")
LOGOUT = reverse("account_logout")


def session_key(client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def logged_in_as(client):
    return client.get("/account/").wsgi_request.user


def log_in_by_code(client, email, mailoutbox):
    client.post(REQUEST_CODE, {"email": email})
    code = code_from_mail(mailoutbox[-1])
    response = client.post(CONFIRM, {"code": code})
    assert response.status_code == HTTPStatus.FOUND
    return code


def test_login_by_code_starts_a_new_session(client, mailoutbox):
    reader = SubscriptionFactory().user
    client.post(REQUEST_CODE, {"email": reader.email})
    before = session_key(client)  # the login in progress lives in an anonymous session
    client.post(CONFIRM, {"code": code_from_mail(mailoutbox[-1])})
    after = session_key(client)
    assert after != before
    assert logged_in_as(client) == reader
    # The pre-login session is gone: whoever planted or saw that key gets nothing.
    assert not Session.objects.filter(session_key=before).exists()
    stranger = Client()
    stranger.cookies[settings.SESSION_COOKIE_NAME] = before
    assert not logged_in_as(stranger).is_authenticated


def test_a_one_time_code_works_once(client, mailoutbox):
    reader = SubscriptionFactory().user
    code = log_in_by_code(client, reader.email, mailoutbox)
    client.post(LOGOUT)
    # Replaying the same code, in the same browser or another: nothing to confirm any more.
    for replay in (client, Client()):
        response = replay.post(CONFIRM, {"code": code})
        assert response.status_code == HTTPStatus.FOUND
        assert response.url == REQUEST_CODE
        assert not logged_in_as(replay).is_authenticated


def test_wrong_codes_void_the_code_after_three_tries(client, mailoutbox):
    reader = SubscriptionFactory().user
    client.post(REQUEST_CODE, {"email": reader.email})
    code = code_from_mail(mailoutbox[-1])
    for _ in range(3):
        response = client.post(CONFIRM, {"code": "WRONG-CODE"})
    assert response.status_code == HTTPStatus.FOUND  # sent back to ask for a new code
    client.post(CONFIRM, {"code": code})
    assert not logged_in_as(client).is_authenticated


def test_logout_needs_a_post_and_kills_the_old_cookie(client, mailoutbox):
    reader = SubscriptionFactory().user
    log_in_by_code(client, reader.email, mailoutbox)
    key = session_key(client)

    page = client.get(LOGOUT)  # a link or an <img src> cannot log anyone out
    assert page.status_code == HTTPStatus.OK
    assert logged_in_as(client) == reader

    response = client.post(LOGOUT)
    assert response.status_code == HTTPStatus.FOUND
    assert not logged_in_as(client).is_authenticated
    # Someone who copied the cookie before the logout gets nothing with it after.
    thief = Client()
    thief.cookies[settings.SESSION_COOKIE_NAME] = key
    assert not logged_in_as(thief).is_authenticated
    assert not Session.objects.filter(session_key=key).exists()


def test_cookies_are_httponly_and_samesite_lax_here_too(client, mailoutbox):
    reader = SubscriptionFactory().user
    asked = client.post(REQUEST_CODE, {"email": reader.email})
    confirmed = client.post(CONFIRM, {"code": code_from_mail(mailoutbox[-1])})
    assert asked.status_code == HTTPStatus.FOUND
    csrf = Client().get(REQUEST_CODE).cookies[settings.CSRF_COOKIE_NAME]
    session = confirmed.cookies[settings.SESSION_COOKIE_NAME]
    for cookie in (csrf, session):
        assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/"


# Settings are read once at start-up, so production cookies are checked in a process started
# with a production environment, as gunicorn would be.
PRODUCTION_COOKIES = """
import django, json
django.setup()
from django.conf import settings
# Pages link their static files through the manifest collectstatic writes; this process has
# none, and the cookies do not depend on it.
settings.STORAGES = {**settings.STORAGES, "staticfiles": {
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
from django.test import Client
from tests.factories import SubscriptionFactory
reader = SubscriptionFactory(user__email="cookie.reader@example.com").user
client = Client(HTTP_HOST="localhost")
# The Set-Cookie lines a browser receives: a page with a form, then a login starting.
page = client.get("/accounts/login/code/", secure=True)
login = client.post("/accounts/login/code/", {"email": reader.email}, secure=True)
cookies = {}
for response in (page, login):
    cookies.update({name: morsel.OutputString() for name, morsel in response.cookies.items()})
reader.delete()
print(json.dumps({"status": [page.status_code, login.status_code], "cookies": cookies}))
"""


@pytest.mark.django_db(transaction=True)
def test_production_cookies_use_the_host_prefix():
    result = run_python(PRODUCTION_COOKIES, production_env())
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["status"] == [HTTPStatus.OK, HTTPStatus.FOUND]
    cookies = answer["cookies"]
    # The login's POST also marks the browser as having just acted, for ten seconds: "1", no
    # identifier (posts/pagecache/fresh.py); guarded like the others.
    assert set(cookies) == {"__Host-sessionid", "__Host-csrftoken", "__Host-ff_fresh"}
    assert cookies["__Host-ff_fresh"].startswith("__Host-ff_fresh=1;")
    assert "Max-Age=10" in cookies["__Host-ff_fresh"]
    for line in cookies.values():
        attributes = {part.strip().split("=")[0].lower() for part in line.split(";")[1:]}
        # What the __Host- prefix demands, or browsers drop the cookie: Secure, Path=/, no Domain.
        assert "secure" in attributes and "Path=/" in line and "domain" not in attributes
        assert "httponly" in attributes and "SameSite=Lax" in line


def test_plain_http_setups_keep_plain_cookie_names():
    """__Host- cookies need HTTPS; `make serve` on plain HTTP turns secure cookies off."""
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_NAME, s.CSRF_COOKIE_NAME, s.POSTS_FRESH_COOKIE_NAME,"
        " s.SESSION_COOKIE_SECURE)"
    )
    result = run_python(code, production_env(DJANGO_SECURE_COOKIES="false"))
    assert result.stdout.split() == ["sessionid", "csrftoken", "ff_fresh", "False"]
