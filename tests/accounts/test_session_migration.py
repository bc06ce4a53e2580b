"""Upgrading to sessions kept beside their reader logs nobody out: every live session saved in
Django's table before the migration still logs its reader in after it."""

import datetime
from http import HTTPStatus

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.backends.db import SessionStore as DjangoSessionStore
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Session
from tests.factories import SubscriptionFactory, ensure_default_newsletter

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("accounts", "0009_subscription_export_permission")]


def migrate(targets=None):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets or executor.loader.graph.leaf_nodes())
    ContentType.objects.clear_cache()


@pytest.fixture
def before_the_move():
    """The schema of the release before: sessions in django_session; migrated forward again
    whatever the test does."""
    migrate(BEFORE)
    ensure_default_newsletter()
    try:
        yield
    finally:
        migrate()


def saved_by_django(reader=None, *, expires_in=datetime.timedelta(days=14), **data) -> str:
    """A session as the release before saved it (Django's own store and table); its key."""
    store = DjangoSessionStore()
    if reader is not None:
        store[SESSION_KEY] = str(reader.pk)
        store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[1]
        store[HASH_SESSION_KEY] = reader.get_session_auth_hash()
    store.update(data)
    store.set_expiry(timezone.now() + expires_in)
    store.create()
    return store.session_key


def browser_with(key: str) -> Client:
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = key
    return client


def test_sessions_saved_before_the_migration_still_log_their_readers_in(before_the_move):
    ada, grace = SubscriptionFactory().user, SubscriptionFactory().user
    ada_key, grace_key = saved_by_django(ada), saved_by_django(grace, next_page="/archive/")
    anonymous_key = saved_by_django(None, referral="friend42")
    expired_key = saved_by_django(ada, expires_in=datetime.timedelta(seconds=-60))
    with connection.cursor() as cursor:  # a row its keys cannot read (a retired secret key)
        cursor.execute(
            "INSERT INTO django_session VALUES (%s, %s, %s)",
            [
                "unreadableunreadableunreadable12",
                "bm90IHNpZ25lZA:bad:sig",
                timezone.now() + datetime.timedelta(days=1),
            ],
        )

    migrate()

    copied = dict(Session.objects.values_list("session_key", "user_id"))
    assert copied == {
        ada_key: ada.pk,
        grace_key: grace.pk,
        anonymous_key: None,
        "unreadableunreadableunreadable12": None,
    }
    assert expired_key not in copied
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM django_session")
        assert cursor.fetchone()[0] == 0  # one place for sessions from now on

    for reader, key in [(ada, ada_key), (grace, grace_key)]:
        browser = browser_with(key)
        with CaptureQueriesContext(connection) as queries:
            response = browser.get("/account/")
        assert response.status_code == HTTPStatus.OK
        assert response.wsgi_request.user == reader
        assert reader.email in response.content.decode()
        assert not [q for q in queries.captured_queries if 'FROM "accounts_user"' in q["sql"]]
    assert browser_with(grace_key).session["next_page"] == "/archive/"  # the data came too
    assert browser_with(anonymous_key).session["referral"] == "friend42"
    assert not browser_with(expired_key).get("/account/").wsgi_request.user.is_authenticated


def test_going_back_copies_the_sessions_back(before_the_move):
    reader = SubscriptionFactory().user
    migrate()
    client = Client()
    client.force_login(reader)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value

    migrate(BEFORE)
    with connection.cursor() as cursor:
        cursor.execute("SELECT session_data FROM django_session WHERE session_key = %s", [key])
        (data,) = cursor.fetchone()
    assert DjangoSessionStore().decode(data)[SESSION_KEY] == str(reader.pk)
