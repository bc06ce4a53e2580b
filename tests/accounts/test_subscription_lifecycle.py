"""Double opt-in, leaving and coming back, and the subscription_confirmed signal."""

from http import HTTPStatus

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Subscription, User
from accounts.services import confirm_subscription, set_newsletter
from accounts.signals import subscription_confirmed
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SUBSCRIBE = reverse("accounts:subscribe")


def test_a_password_login_does_not_confirm_a_pending_subscription(client, editor):
    Subscription.objects.create(user=editor, status=Subscription.Status.PENDING)
    client.post(reverse("account_login"), {"login": editor.email, "password": "editor-password-1"})
    assert Subscription.objects.get(user=editor).status == Subscription.Status.PENDING


def test_account_page_unsubscribe_keeps_the_account(auth_client):
    response = auth_client.post(reverse("accounts:account"), {"newsletter": "1"})
    assert response.status_code == HTTPStatus.FOUND
    subscription = Subscription.objects.get(user=auth_client.user)
    assert subscription.status == Subscription.Status.UNSUBSCRIBED
    assert User.objects.filter(pk=auth_client.user.pk).exists()


@pytest.fixture
def confirmations():
    """Every subscription_confirmed sent during the test, as its keyword arguments."""
    seen = []

    def receiver(sender, **kwargs):
        seen.append({"sender": sender, **kwargs})

    subscription_confirmed.connect(receiver, dispatch_uid="test-confirmations")
    yield seen
    subscription_confirmed.disconnect(dispatch_uid="test-confirmations")


def test_confirming_announces_the_subscription_once_committed(
    confirmations, django_capture_on_commit_callbacks
):
    user = UserFactory(verified=False)
    Subscription.objects.create(user=user, status=Subscription.Status.PENDING)
    with django_capture_on_commit_callbacks() as callbacks:
        subscription = confirm_subscription(user=user)
    assert confirmations == []  # nothing before the commit
    for callback in callbacks:
        callback()
    assert confirmations == [
        {
            "sender": Subscription,
            "signal": subscription_confirmed,
            "subscription": subscription,
            "user": user,
            "first_time": True,
        }
    ]


def test_a_returning_reader_is_announced_as_not_first_time(
    confirmations, django_capture_on_commit_callbacks
):
    user = UserFactory()
    Subscription.objects.create(
        user=user, status=Subscription.Status.UNSUBSCRIBED, confirmed_at=timezone.now()
    )
    with django_capture_on_commit_callbacks(execute=True):
        set_newsletter(user=user, receive=True)
    assert [(c["user"], c["first_time"]) for c in confirmations] == [(user, False)]
    with django_capture_on_commit_callbacks(execute=True):
        confirm_subscription(user=user)  # already active: nothing new to announce
    assert len(confirmations) == 1
