"""One-click unsubscribe (RFC 8058) and the unsubscribe page, without logging in."""

from http import HTTPStatus

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Subscription, User
from accounts.services import unsubscribe_token, unsubscribe_url, user_id_from_unsubscribe_token

pytestmark = pytest.mark.django_db


def url_for(user) -> str:
    return reverse("accounts:unsubscribe", kwargs={"token": unsubscribe_token(user.pk)})


@pytest.fixture
def provider():
    """A mail provider's server: no cookies, no CSRF token, and CSRF checks enforced."""
    return Client(enforce_csrf_checks=True)


def status_of(user) -> str:
    return Subscription.objects.get(user=user).status


def test_unsubscribe_url_is_absolute_and_signed_for_the_reader(subscriber):
    url = unsubscribe_url(subscriber.pk)
    assert url.startswith("http://testserver/unsubscribe/")
    token = url.rstrip("/").rsplit("/", 1)[1]
    assert user_id_from_unsubscribe_token(token) == subscriber.pk


def test_get_shows_a_confirm_page_and_changes_nothing(client, subscriber):
    response = client.get(url_for(subscriber))
    assert response.status_code == HTTPStatus.OK
    assert "Unsubscribe from Future Forward?" in response.content.decode()
    assert subscriber.email in response.content.decode()
    assert status_of(subscriber) == Subscription.Status.ACTIVE


def test_one_click_post_from_the_mail_provider_unsubscribes_with_a_200(provider, subscriber):
    response = provider.post(url_for(subscriber), {"List-Unsubscribe": "One-Click"})
    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"].startswith("text/plain")
    subscription = Subscription.objects.get(user=subscriber)
    assert subscription.status == Subscription.Status.UNSUBSCRIBED
    assert subscription.unsubscribed_at is not None
    assert "One-click" in subscription.status_reason
    # Unsubscribing never deletes the account.
    assert User.objects.filter(pk=subscriber.pk, is_active=True).exists()


def test_the_confirm_button_unsubscribes_and_offers_to_resubscribe(provider, subscriber):
    response = provider.post(url_for(subscriber))
    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    assert "You are unsubscribed" in page
    assert "Resubscribe" in page
    assert status_of(subscriber) == Subscription.Status.UNSUBSCRIBED


def test_a_reused_link_is_harmless(provider, subscriber):
    provider.post(url_for(subscriber), {"List-Unsubscribe": "One-Click"})
    first = Subscription.objects.get(user=subscriber).unsubscribed_at
    response = provider.post(url_for(subscriber), {"List-Unsubscribe": "One-Click"})
    assert response.status_code == HTTPStatus.OK
    again = provider.get(url_for(subscriber))
    assert "You are unsubscribed" in again.content.decode()
    subscription = Subscription.objects.get(user=subscriber)
    assert subscription.status == Subscription.Status.UNSUBSCRIBED
    assert subscription.unsubscribed_at == first


@pytest.mark.parametrize(
    "tamper",
    [
        lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"),  # altered signature
        lambda token: "9999" + token[token.index(":") :],  # someone else's id, same signature
        lambda token: token.split(":")[0],  # signature removed
        lambda token: "not-a-token",
        lambda token: "x" * 2000,
    ],
    ids=["altered-signature", "other-id", "no-signature", "garbage", "huge"],
)
@pytest.mark.parametrize("method", ["get", "post"])
def test_forged_or_altered_links_are_refused_with_a_clear_page(
    provider, subscriber, tamper, method
):
    token = tamper(unsubscribe_token(subscriber.pk))
    url = reverse("accounts:unsubscribe", kwargs={"token": token})
    response = getattr(provider, method)(url, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "This unsubscribe link is not valid" in response.content.decode()
    assert status_of(subscriber) == Subscription.Status.ACTIVE


def test_a_token_from_another_purpose_is_refused(provider, subscriber):
    from django.core import signing

    token = signing.Signer(salt="something.else").sign(str(subscriber.pk))
    response = provider.post(
        reverse("accounts:unsubscribe", kwargs={"token": token}),
        {"List-Unsubscribe": "One-Click"},
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert status_of(subscriber) == Subscription.Status.ACTIVE


def test_link_of_a_deleted_account_says_there_is_nothing_to_do(provider, subscriber):
    url = url_for(subscriber)
    subscriber.delete()
    response = provider.post(url, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == HTTPStatus.OK
    response = provider.get(url)
    assert response.status_code == HTTPStatus.OK
    assert "not on the list" in response.content.decode()


def test_other_methods_are_not_allowed(provider, subscriber):
    assert provider.put(url_for(subscriber)).status_code == HTTPStatus.METHOD_NOT_ALLOWED


def test_bounced_address_stays_bounced(provider, subscriber):
    Subscription.objects.filter(user=subscriber).update(status=Subscription.Status.BOUNCED)
    response = provider.post(url_for(subscriber), {"List-Unsubscribe": "One-Click"})
    assert response.status_code == HTTPStatus.OK
    assert status_of(subscriber) == Subscription.Status.BOUNCED
    page = provider.get(url_for(subscriber)).content.decode()
    assert "refused by its mail server" in page


def test_resubscribe_from_the_page_reactivates(client, subscriber):
    client.post(url_for(subscriber))
    resubscribe = reverse(
        "accounts:resubscribe", kwargs={"token": unsubscribe_token(subscriber.pk)}
    )
    response = client.post(resubscribe)
    assert response.status_code == HTTPStatus.OK
    assert "Welcome back" in response.content.decode()
    subscription = Subscription.objects.get(user=subscriber)
    assert subscription.status == Subscription.Status.ACTIVE
    assert subscription.unsubscribed_at is None


def test_resubscribe_needs_a_csrf_token_and_a_valid_link(provider, subscriber):
    provider.post(url_for(subscriber))
    token = unsubscribe_token(subscriber.pk)
    response = provider.post(reverse("accounts:resubscribe", kwargs={"token": token}))
    assert response.status_code == HTTPStatus.FORBIDDEN
    response = Client().post(reverse("accounts:resubscribe", kwargs={"token": token + "x"}))
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert status_of(subscriber) == Subscription.Status.UNSUBSCRIBED


def test_resubscribe_never_reactivates_a_bounced_address(client, subscriber):
    Subscription.objects.filter(user=subscriber).update(status=Subscription.Status.BOUNCED)
    token = unsubscribe_token(subscriber.pk)
    response = client.post(reverse("accounts:resubscribe", kwargs={"token": token}))
    assert response.status_code == HTTPStatus.OK
    assert "could not resubscribe you here" in response.content.decode()
    assert status_of(subscriber) == Subscription.Status.BOUNCED
