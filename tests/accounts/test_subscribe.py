from http import HTTPStatus

import pytest
from allauth.account.models import EmailAddress
from django.urls import reverse

from accounts.models import Subscription, User
from tests.conftest import code_from_mail

pytestmark = pytest.mark.django_db

SUBSCRIBE = reverse("accounts:subscribe")
CONFIRM = reverse("account_confirm_login_code")


def subscribe(client, email, **extra):
    return client.post(SUBSCRIBE, {"email": email, "source": "test", **extra})


def test_subscribe_page_renders(client):
    response = client.get(SUBSCRIBE)
    assert response.status_code == HTTPStatus.OK
    assert b"Send my code" in response.content


def test_new_reader_subscribes_and_confirms_with_the_code(client, mailoutbox):
    response = subscribe(client, "New.Reader@Example.com", next="/p/some-post/")
    assert response.status_code == HTTPStatus.FOUND
    assert response.url.startswith(CONFIRM)

    user = User.objects.get(email="new.reader@example.com")
    assert not user.has_usable_password()
    assert user.subscription.status == Subscription.Status.PENDING
    assert user.subscription.source == "test"
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["new.reader@example.com"]

    response = client.post(response.url, {"code": code_from_mail(mailoutbox[0])})
    assert response.status_code == HTTPStatus.FOUND
    assert response.url == "/p/some-post/"
    user.subscription.refresh_from_db()
    assert user.subscription.status == Subscription.Status.ACTIVE
    assert user.subscription.confirmed_at is not None
    assert EmailAddress.objects.get(user=user).verified
    assert client.get("/").context["user"] == user


@pytest.mark.parametrize("email", ["", "not-an-email", "a@b", "x" * 300 + "@example.com"])
def test_invalid_email_is_refused_with_a_message(client, mailoutbox, email):
    response = subscribe(client, email)
    assert response.status_code == HTTPStatus.OK
    assert response.context["form"].errors["email"]
    assert User.objects.count() == 0
    assert mailoutbox == []


def test_second_subscribe_in_another_case_reuses_the_account(client, mailoutbox):
    subscribe(client, "ada@example.com")
    client.cookies.clear()
    response = subscribe(client, "ADA@Example.com")
    assert response.status_code == HTTPStatus.FOUND
    assert User.objects.filter(email__iexact="ada@example.com").count() == 1
    assert len(mailoutbox) == 2
    client.post(response.url, {"code": code_from_mail(mailoutbox[1])})
    assert client.get("/").context["user"].email == "ada@example.com"


def test_known_and_unknown_emails_get_the_same_answer(client, subscriber):
    known = subscribe(client, subscriber.email)
    client.cookies.clear()
    unknown = subscribe(client, "someone-new@example.com")
    assert known.status_code == unknown.status_code == HTTPStatus.FOUND
    assert known.url == unknown.url


def test_unsubscribed_reader_who_subscribes_again_is_pending_until_confirmed(client, subscriber):
    subscriber.subscription.status = Subscription.Status.UNSUBSCRIBED
    subscriber.subscription.save()
    subscribe(client, subscriber.email)
    subscriber.subscription.refresh_from_db()
    assert subscriber.subscription.status == Subscription.Status.PENDING


def test_bounced_address_is_not_reactivated_by_a_form(client, subscriber):
    subscriber.subscription.status = Subscription.Status.BOUNCED
    subscriber.subscription.save()
    subscribe(client, subscriber.email)
    subscriber.subscription.refresh_from_db()
    assert subscriber.subscription.status == Subscription.Status.BOUNCED


def test_wrong_code_says_so_and_attempts_are_limited(client, mailoutbox):
    response = subscribe(client, "ada@example.com")
    confirm_url = response.url
    response = client.post(confirm_url, {"code": "WRONG1"})
    assert response.status_code == HTTPStatus.OK
    assert response.context["form"].errors
    client.post(confirm_url, {"code": "WRONG2"})
    response = client.post(confirm_url, {"code": "WRONG3"})
    # Out of attempts: the code is void and the reader starts again.
    assert response.status_code == HTTPStatus.FOUND
    response = client.post(confirm_url, {"code": code_from_mail(mailoutbox[0])})
    assert response.status_code == HTTPStatus.FOUND
    assert not client.get("/").context["user"].is_authenticated


@pytest.mark.parametrize(
    "unsafe", ["https://evil.example/", "//evil.example/", "javascript:alert(1)"]
)
def test_unsafe_next_is_ignored(client, mailoutbox, unsafe):
    response = subscribe(client, "ada@example.com", next=unsafe)
    response = client.post(response.url, {"code": code_from_mail(mailoutbox[0])})
    assert response.status_code == HTTPStatus.FOUND
    assert response.url == "/"


def test_subscribe_is_rate_limited_per_address(client, mailoutbox):
    for _ in range(3):
        subscribe(client, "ada@example.com")
    response = subscribe(client, "ada@example.com")
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert "Too many attempts" in response.content.decode()
    assert len(mailoutbox) == 3


def test_logged_in_reader_subscribes_in_one_click(client, reader):
    client.force_login(reader)
    response = client.post(SUBSCRIBE, {"source": "post-footer"})
    assert response.status_code == HTTPStatus.FOUND
    assert Subscription.objects.get(user=reader).status == Subscription.Status.ACTIVE


def test_login_code_works_for_a_known_subscriber(client, subscriber, mailoutbox):
    response = client.post(reverse("account_request_login_code"), {"email": subscriber.email})
    assert response.status_code == HTTPStatus.FOUND
    client.post(CONFIRM, {"code": code_from_mail(mailoutbox[0])})
    assert client.get("/").context["user"] == subscriber


def test_a_new_address_replaces_a_mistyped_one(client, mailoutbox):
    subscribe(client, "ada@exmaple.com")
    response = subscribe(client, "ada@example.com")
    assert response.url.startswith(CONFIRM)
    assert mailoutbox[-1].to == ["ada@example.com"]
    client.post(response.url, {"code": code_from_mail(mailoutbox[-1])})
    assert client.get("/").context["user"].email == "ada@example.com"
