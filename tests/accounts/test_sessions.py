"""Sessions with their reader beside them: one query loads a logged-in reader's session and the
reader, and every check Django's login makes still holds (a password change elsewhere, an
inactive account, a logout, expired or forged sessions)."""

import datetime
import time
from http import HTTPStatus

import pytest
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
)
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Session
from accounts.sessions import SessionStore
from tests.conftest import code_from_mail
from tests.factories import PostFactory, SubscriptionFactory, UserFactory
from tests.security.conftest import make_staff_editor

pytestmark = pytest.mark.django_db

SESSION_TABLE = '"accounts_session"'
USER_TABLE = '"accounts_user"'


def session_key(client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def visit(client, path="/account/"):
    """Return (response, the SQL it ran)."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    return response, [query["sql"] for query in queries.captured_queries]


def logged_in(reader) -> Client:
    client = Client()
    client.force_login(reader)
    return client


def user_queries(sql: list[str]) -> list[str]:
    """Statements that read the user table on their own (not joined to the session)."""
    return [
        statement
        for statement in sql
        if f"FROM {USER_TABLE}" in statement and SESSION_TABLE not in statement
    ]


def test_a_logged_in_page_loads_the_session_and_the_reader_in_one_query():
    reader = SubscriptionFactory().user
    client = logged_in(reader)
    assert Session.objects.get(session_key=session_key(client)).user_id == reader.pk

    response, sql = visit(client)
    assert response.status_code == HTTPStatus.OK
    assert response.wsgi_request.user == reader
    assert reader.email in response.content.decode()  # their own account page
    session_reads = [statement for statement in sql if SESSION_TABLE in statement]
    assert len(session_reads) == 1
    assert f"JOIN {USER_TABLE}" in session_reads[0]
    assert user_queries(sql) == []


def test_the_logged_in_post_page_shows_the_reader_without_a_user_query():
    reader = SubscriptionFactory(user__display_name="Ada Quill").user
    post = PostFactory()
    client = logged_in(reader)
    client.get(post.get_absolute_url())  # rendered once for this kind of reader
    response, sql = visit(client, post.get_absolute_url())
    assert response.status_code == HTTPStatus.OK
    assert response.wsgi_request.user == reader
    assert "Ada Quill" in response.content.decode()
    assert user_queries(sql) == []
    # The verified flag, asked by every vote and comment form, came with the session too.
    with CaptureQueriesContext(connection) as more:
        assert response.wsgi_request.user.can_participate
    assert len(more) == 0


def test_a_plain_logged_in_page_view_writes_no_session():
    reader = SubscriptionFactory().user
    post = PostFactory()
    client = logged_in(reader)
    for path in ["/", post.get_absolute_url(), post.get_absolute_url(), "/account/"]:
        response, sql = visit(client, path)
        assert response.status_code == HTTPStatus.OK
        writes = [
            statement
            for statement in sql
            if SESSION_TABLE in statement
            and statement.lstrip().split(" ", 1)[0] in {"INSERT", "UPDATE", "DELETE"}
        ]
        assert writes == [], path
        assert settings.SESSION_COOKIE_NAME not in response.cookies  # no new cookie either


def test_a_password_change_elsewhere_logs_the_other_session_out():
    reader = UserFactory(password="first-password-1")
    phone, laptop = logged_in(reader), logged_in(reader)
    phone_key = session_key(phone)
    reader.set_password("second-password-2")
    reader.save()
    # The laptop made the change through the site, which keeps its own session logged in.
    laptop_session = laptop.session
    laptop_session[HASH_SESSION_KEY] = reader.get_session_auth_hash()
    laptop_session.save()

    assert visit(laptop)[0].wsgi_request.user == reader
    assert not visit(phone)[0].wsgi_request.user.is_authenticated
    assert not Session.objects.filter(session_key=phone_key).exists()


def test_an_inactive_reader_is_logged_out():
    reader = SubscriptionFactory().user
    client = logged_in(reader)
    reader.is_active = False
    reader.save()
    response, _sql = visit(client)
    assert not response.wsgi_request.user.is_authenticated
    assert response.status_code == HTTPStatus.FOUND  # the account page asks them to log in


def test_a_deleted_reader_is_nobody():
    reader = SubscriptionFactory().user
    client = logged_in(reader)
    reader.delete()
    assert not visit(client)[0].wsgi_request.user.is_authenticated


def test_logout_deletes_the_session_row():
    reader = SubscriptionFactory().user
    client = logged_in(reader)
    key = session_key(client)
    response = client.post(reverse("account_logout"))
    assert response.status_code == HTTPStatus.FOUND
    assert not Session.objects.filter(session_key=key).exists()
    assert not visit(client)[0].wsgi_request.user.is_authenticated


def test_clearsessions_deletes_expired_rows_only():
    reader = SubscriptionFactory().user
    live = logged_in(reader)
    old = SessionStore()
    old[SESSION_KEY] = str(reader.pk)
    old.set_expiry(timezone.now() + datetime.timedelta(seconds=1))
    old.create()
    Session.objects.filter(session_key=old.session_key).update(
        expire_date=timezone.now() - datetime.timedelta(days=1)
    )

    call_command("clearsessions")

    assert not Session.objects.filter(session_key=old.session_key).exists()
    assert Session.objects.filter(session_key=session_key(live), user=reader).exists()
    assert visit(live)[0].wsgi_request.user == reader


@pytest.mark.parametrize(
    "cookie",
    [
        "abcdefghijklmnopqrstuvwxyz012345",  # well formed, unknown
        "x" * 2000,  # huge
        "'; DROP TABLE accounts_session; --",  # malformed
        "",
    ],
)
def test_an_unknown_or_forged_session_key_is_anonymous(cookie):
    SubscriptionFactory()
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = cookie
    response, sql = visit(client, "/")
    assert response.status_code == HTTPStatus.OK
    assert not response.wsgi_request.user.is_authenticated
    assert Session.objects.count() == 0  # nothing stored for it either


def test_the_reader_column_alone_logs_nobody_in():
    """Only the signed data says who is logged in; a row whose column names a reader its data
    does not (or whose data was signed with another key) is anonymous."""
    reader = SubscriptionFactory().user
    store = SessionStore()
    store["note"] = "no login here"
    store.create()
    Session.objects.filter(session_key=store.session_key).update(user=reader)
    forged = Session.objects.create(
        session_key="forgedforgedforgedforgedforged12",
        session_data="eyJfYXV0aF91c2VyX2lkIjoiMSJ9:forged:signature",
        expire_date=timezone.now() + datetime.timedelta(days=1),
        user=reader,
    )
    for key in (store.session_key, forged.session_key):
        client = Client()
        client.cookies[settings.SESSION_COOKIE_NAME] = key
        assert not visit(client)[0].wsgi_request.user.is_authenticated


def test_a_session_without_its_reader_column_still_logs_in_and_gets_it_on_save():
    """A session carried over without a readable reader id: the reader is loaded by a second
    query, and the id is stored the next time the session is saved."""
    reader = SubscriptionFactory().user
    client = logged_in(reader)
    key = session_key(client)
    Session.objects.filter(session_key=key).update(user=None)

    response, sql = visit(client)
    assert response.wsgi_request.user == reader
    assert len(user_queries(sql)) == 1

    session = client.session
    session["seen"] = True
    session.save()
    assert Session.objects.get(session_key=key).user_id == reader.pk


def test_login_by_code_stores_the_reader_beside_the_new_session(mailoutbox):
    reader = SubscriptionFactory().user
    client = Client()
    client.post(reverse("account_request_login_code"), {"email": reader.email})
    before = session_key(client)
    assert Session.objects.get(session_key=before).user_id is None  # a login in progress
    client.post(reverse("account_confirm_login_code"), {"code": code_from_mail(mailoutbox[-1])})
    after = session_key(client)
    assert after != before
    assert Session.objects.get(session_key=after).user_id == reader.pk
    assert visit(client)[0].wsgi_request.user == reader


def test_delete_account_removes_every_session_of_the_reader(django_capture_on_commit_callbacks):
    from accounts.services import delete_account

    reader = SubscriptionFactory().user
    phone, laptop = logged_in(reader), logged_in(reader)
    stranger = logged_in(SubscriptionFactory().user)
    # One of them carried over without its reader column (see the migration).
    Session.objects.filter(session_key=session_key(laptop)).update(user=None)
    with django_capture_on_commit_callbacks(execute=True):
        delete_account(user=reader)
    assert not Session.objects.filter(
        session_key__in=[session_key(phone), session_key(laptop)]
    ).exists()
    assert Session.objects.filter(session_key=session_key(stranger)).exists()


def test_an_editor_with_two_factor_logs_in_and_uses_the_admin(settings, mailoutbox):
    settings.REQUIRE_STAFF_MFA = True
    editor = make_staff_editor()
    secret = generate_totp_secret()
    TOTP.activate(editor, secret)
    client = Client()
    client.post(reverse("account_request_login_code"), {"email": editor.email})
    response = client.post(
        reverse("account_confirm_login_code"), {"code": code_from_mail(mailoutbox[-1])}
    )
    assert response["Location"] == reverse("mfa_authenticate")
    assert Session.objects.get(session_key=session_key(client)).user_id is None  # not yet
    code = format_hotp_value(hotp_value(secret, int(time.time()) // 30))
    assert client.post(reverse("mfa_authenticate"), {"code": code}).status_code == HTTPStatus.FOUND
    assert Session.objects.get(session_key=session_key(client)).user_id == editor.pk

    response, sql = visit(client, "/admin/")
    assert response.status_code == HTTPStatus.OK
    assert response.wsgi_request.user == editor
    assert user_queries(sql) == []
    assert client.get("/admin/posts/post/").status_code == HTTPStatus.OK
