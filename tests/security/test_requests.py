"""Every state-changing request is a POST carrying a CSRF token, except the signed one-click links
in emails, which are idempotent and stop working when they should."""

from http import HTTPStatus
from unittest import mock

import pytest
from django.conf import settings
from django.core import signing
from django.db import connection
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import Subscription
from accounts.services import unsubscribe_token
from comments.models import Commenter
from comments.services import STOP_MAX_AGE, stop_token
from polls.models import Vote
from polls.services import vote_url
from tests.factories import PollFactory, SubscriptionFactory
from tests.security.test_permission_matrix import data_writes
from tests.security.urlmap import World, all_patterns, fill, is_admin

pytestmark = pytest.mark.django_db

# The only views that take a POST without a CSRF token: links in emails, posted by the mail
# provider itself (RFC 8058 one-click unsubscribe) from its servers, without our cookies.
CSRF_EXEMPT = {"accounts:unsubscribe", "comments:stop-replies", "newsletter:leave"}
# The Content API's operations: no cookie gives them authority (a key in the Authorization
# header does, which a page on another site cannot set), so a cross-site POST carries none.
# django-ninja exempts them (its schema and root views keep Django's check).
CSRF_EXEMPT |= {
    "api:list_posts",
    "api:get_post",
    "api:list_tags",
    "api:list_authors",
    "api:list_newsletters",
    "api:create_subscription",
}


@pytest.fixture
def superuser(db):
    from tests.factories import UserFactory

    return UserFactory(is_staff=True, is_superuser=True, password="editor-password-1")


def csrf_refused(response) -> bool:
    return response.status_code == HTTPStatus.FORBIDDEN and b"CSRF" in response.content


@pytest.mark.parametrize("pattern", all_patterns(), ids=str)
def test_a_post_without_a_csrf_token_is_refused(pattern, superuser):
    """As the most powerful visitor (a superuser) and as a stranger: only the signed email
    links accept a POST without the token, and they carry their own authority."""
    world = World()
    path = fill(pattern, world.kwargs(pattern))
    for user in (None, superuser):
        client = Client(enforce_csrf_checks=True)
        if user is not None:
            client.force_login(user)
        # A CSRF cookie, as a browser would have from an earlier page: only the token is missing.
        client.cookies[settings.CSRF_COOKIE_NAME] = _get_new_csrf_string()
        response = client.post(path, {"body": "x", "email": "x@example.com", "confirm": "DELETE"})
        if pattern.name in CSRF_EXEMPT:
            assert not csrf_refused(response), pattern
        else:
            assert csrf_refused(response), (pattern, user, response.status_code)


NON_ADMIN = [pattern for pattern in all_patterns() if not is_admin(pattern)]


@pytest.mark.parametrize("pattern", NON_ADMIN, ids=str)
def test_other_methods_change_nothing(pattern, superuser):
    """PUT, PATCH, DELETE, HEAD and OPTIONS are refused or answered like a read: never a
    change, from a stranger or from the most powerful account (admin pages are Django's own,
    covered by the matrix's GETs)."""
    world = World()
    path = fill(pattern, world.kwargs(pattern))
    for user in (None, superuser):
        client = Client()
        if user is not None:
            client.force_login(user)
        for method in ("put", "patch", "delete", "head", "options"):
            body = {} if method in {"head", "options"} else {"data": "confirm=DELETE"}
            with CaptureQueriesContext(connection) as queries:
                response = getattr(client, method)(path, **body)
            assert response.status_code < 500, (method, path)
            assert data_writes(queries) == [], (method, path, user)


# --- The signed links themselves ---


def test_unsubscribe_link_is_idempotent_and_survives_a_key_rotation(settings):
    subscriber = SubscriptionFactory().user
    url = f"/unsubscribe/{unsubscribe_token(subscriber.pk)}/"
    one_click = {"List-Unsubscribe": "One-Click"}
    first = Client().post(url, one_click)
    stopped_at = Subscription.objects.get(user=subscriber).unsubscribed_at
    second = Client().post(url, one_click)
    assert first.status_code == second.status_code == HTTPStatus.OK
    subscription = Subscription.objects.get(user=subscriber)
    assert subscription.status == Subscription.Status.UNSUBSCRIBED
    assert subscription.unsubscribed_at == stopped_at  # the second click changed nothing

    # The link never expires (old emails must keep working, RFC 8058), but it is bound to the
    # site's key: during a key rotation the old key still vouches for it, afterwards not.
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY = "a-new-key-" + "x" * 50
    settings.SECRET_KEY_FALLBACKS = [old_key]
    assert Client().get(url).status_code == HTTPStatus.OK
    settings.SECRET_KEY_FALLBACKS = []
    assert Client().get(url).status_code == HTTPStatus.BAD_REQUEST


def test_the_unsubscribe_link_undoes_itself_only_for_a_few_days():
    """The link may have been forwarded: anyone holding it can stop the mail, but only the
    reader, within a week, can start it again from the page; later it takes a code."""
    subscriber = SubscriptionFactory().user
    token = unsubscribe_token(subscriber.pk)
    Client().post(f"/unsubscribe/{token}/")
    week_later = Subscription.objects.get(user=subscriber).unsubscribed_at + (
        Subscription.RESUBSCRIBE_WINDOW
    )
    with mock.patch("django.utils.timezone.now", return_value=week_later):
        page = Client().get(f"/unsubscribe/{token}/").content.decode()
        assert "Resubscribe" in page
    later = week_later + Subscription.RESUBSCRIBE_WINDOW
    with mock.patch("django.utils.timezone.now", return_value=later):
        page = Client().get(f"/unsubscribe/{token}/").content.decode()
        assert "Resubscribe" not in page and "Subscribe again" in page
        response = Client().post(f"/unsubscribe/{token}/resubscribe/")
    assert response.status_code == HTTPStatus.OK
    assert "could not resubscribe you here" in response.content.decode()
    status = Subscription.objects.get(user=subscriber).status
    assert status == Subscription.Status.UNSUBSCRIBED


def test_stop_replies_link_is_idempotent_and_expires():
    reader = SubscriptionFactory().user
    Commenter.objects.create(user=reader, notify_replies=True)
    url = f"/comments/reply-emails/stop/{stop_token(user=reader)}/"
    assert Client().get(url).status_code == HTTPStatus.OK
    assert Commenter.objects.get(user=reader).notify_replies  # a GET only asks
    for _ in range(2):
        assert Client().post(url).status_code == HTTPStatus.OK
        assert not Commenter.objects.get(user=reader).notify_replies

    signer = signing.TimestampSigner
    made = signer().timestamp()
    with mock.patch.object(signer, "timestamp", return_value=signing.b62_encode(0)):
        expired = stop_token(user=reader)
    assert made  # the real one has a real time in it
    response = Client().post(f"/comments/reply-emails/stop/{expired}/")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert STOP_MAX_AGE == 60 * 60 * 24 * 90


def test_email_vote_link_records_once_and_only_by_post():
    poll = PollFactory()
    reader = SubscriptionFactory().user
    choice = poll.choices.first()
    path = "/" + vote_url(poll_id=poll.pk, choice_id=choice.pk, user_id=reader.pk).split("/", 3)[3]
    Client().get(path)
    assert not Vote.objects.exists()  # a mail scanner opening the link votes for nobody
    for _ in range(2):
        response = Client().post(path)
        assert response.status_code == HTTPStatus.FOUND
    assert Vote.objects.filter(poll=poll, user=reader, choice=choice).count() == 1
