"""Editors' two-factor authentication: they can turn it on from their account page (allauth's
TOTP, in our templates), it is asked for at every login afterwards, and DJANGO_REQUIRE_STAFF_MFA
makes /admin/ wait until they have it."""

import time
from http import HTTPStatus

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import (
    SECRET_SESSION_KEY,
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
)
from django.test import Client
from django.urls import reverse

from tests.conftest import code_from_mail
from tests.factories import SubscriptionFactory
from tests.production.procs import production_env, run_python
from tests.security.conftest import make_staff_editor

pytestmark = pytest.mark.django_db

PASSWORD = "editor-password-1"


def totp_now(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def with_totp(user) -> str:
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


@pytest.fixture
def editor_client(staff_editor):
    client = Client()
    client.force_login(staff_editor)
    return client


def test_editors_turn_on_two_factor_from_their_account_page(editor_client, staff_editor):
    account = editor_client.get("/account/").content.decode()
    assert 'href="/accounts/2fa/"' in account
    index = editor_client.get("/accounts/2fa/")
    assert index.status_code == HTTPStatus.OK
    assert b"site-header" in index.content  # inside the site's own layout

    # Turning it on asks for the password again first.
    activate = reverse("mfa_activate_totp")
    response = editor_client.get(activate)
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    editor_client.post(reverse("account_reauthenticate"), {"password": PASSWORD})

    page = editor_client.get(activate)
    assert page.status_code == HTTPStatus.OK
    assert b"site-header" in page.content and b'src="data:image/svg+xml' in page.content
    secret = editor_client.session[SECRET_SESSION_KEY]
    assert secret in page.content.decode()  # for typing into the app by hand
    response = editor_client.post(activate, {"code": "000000"})
    assert not Authenticator.objects.filter(user=staff_editor, type="totp").exists()
    response = editor_client.post(activate, {"code": totp_now(secret)})
    assert response.status_code == HTTPStatus.FOUND
    assert Authenticator.objects.filter(user=staff_editor, type="totp").exists()


def test_readers_see_no_two_factor_link():
    client = Client()
    client.force_login(SubscriptionFactory().user)
    assert "/accounts/2fa/" not in client.get("/account/").content.decode()
    assert client.get("/accounts/2fa/").status_code == HTTPStatus.FORBIDDEN


def test_with_two_factor_on_every_login_asks_for_the_app_code(staff_editor, mailoutbox):
    secret = with_totp(staff_editor)
    client = Client()
    client.post(reverse("account_request_login_code"), {"email": staff_editor.email})
    response = client.post(
        reverse("account_confirm_login_code"), {"code": code_from_mail(mailoutbox[-1])}
    )
    assert response["Location"] == reverse("mfa_authenticate")
    assert not client.get("/").wsgi_request.user.is_authenticated  # the email code is not enough
    response = client.post(reverse("mfa_authenticate"), {"code": "123456"})
    assert not client.get("/").wsgi_request.user.is_authenticated
    response = client.post(reverse("mfa_authenticate"), {"code": totp_now(secret)})
    assert response.status_code == HTTPStatus.FOUND
    assert client.get("/admin/").status_code == HTTPStatus.OK


def test_by_default_the_admin_opens_without_two_factor(editor_client):
    assert editor_client.get("/admin/").status_code == HTTPStatus.OK


def test_required_two_factor_sends_staff_to_set_it_up(settings, editor_client, staff_editor):
    settings.REQUIRE_STAFF_MFA = True
    page = editor_client.get("/admin/", follow=True)
    assert page.redirect_chain[-1][0].startswith(reverse("account_reauthenticate"))
    assert "must turn on two-factor authentication" in page.content.decode()
    for path in ["/admin/", "/admin/posts/post/", "/admin/posts/post/add/"]:
        response = editor_client.get(path)
        assert response.status_code == HTTPStatus.FOUND
        assert response["Location"] == reverse("mfa_activate_totp")
    # They may still leave, and their account page still works.
    assert editor_client.get("/account/").status_code == HTTPStatus.OK
    assert editor_client.post("/admin/logout/").status_code == HTTPStatus.OK
    assert not editor_client.get("/").wsgi_request.user.is_authenticated


def test_required_two_factor_lets_staff_with_an_app_in(settings, editor_client, staff_editor):
    settings.REQUIRE_STAFF_MFA = True
    with_totp(staff_editor)
    assert editor_client.get("/admin/").status_code == HTTPStatus.OK


def test_recovery_codes_alone_are_not_a_second_factor(settings, editor_client, staff_editor):
    settings.REQUIRE_STAFF_MFA = True
    Authenticator.objects.create(user=staff_editor, type="recovery_codes", data={"seed": "00"})
    assert editor_client.get("/admin/")["Location"] == reverse("mfa_activate_totp")


def test_required_two_factor_changes_nothing_for_readers(settings):
    settings.REQUIRE_STAFF_MFA = True
    client = Client()
    client.force_login(SubscriptionFactory().user)
    response = client.get("/admin/")
    assert response["Location"].startswith("/admin/login/")
    assert client.get("/").status_code == HTTPStatus.OK


def test_the_requirement_comes_from_the_environment():
    code = (
        "import django; django.setup(); "
        "from django.conf import settings; print(settings.REQUIRE_STAFF_MFA)"
    )
    assert run_python(code, production_env()).stdout.strip() == "False"
    on = run_python(code, production_env(DJANGO_REQUIRE_STAFF_MFA="true"))
    assert on.stdout.strip() == "True"


def test_staff_editor_helper_is_not_a_superuser():
    editor = make_staff_editor()
    assert editor.is_staff and not editor.is_superuser
    assert editor.has_perm("posts.change_post") and not editor.has_perm("accounts.change_user")
