"""What newsletter does when accounts announces a confirmed subscription (the welcome
email), and mail providers' bounce and complaint webhooks (through django-anymail)."""

from http import HTTPStatus

import pytest
from django.urls import reverse

from accounts.models import Subscription, User
from accounts.services import unsubscribe_token
from newsletter.links import leave_url
from newsletter.models import Newsletter
from tests.conftest import code_from_mail
from tests.factories import PostFactory

pytestmark = pytest.mark.django_db

SUBSCRIBE = reverse("accounts:subscribe")


def subscribe_and_confirm(client, email, mailoutbox, django_capture_on_commit_callbacks):
    response = client.post(SUBSCRIBE, {"email": email, "source": "post-footer"})
    assert response.status_code == HTTPStatus.FOUND
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(response.url, {"code": code_from_mail(mailoutbox[-1])})
    assert response.status_code == HTTPStatus.FOUND
    return User.objects.get(email=email.lower())


def test_confirming_sends_one_welcome_email_with_unsubscribe_headers(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    post = PostFactory(title="Cities after cars")
    user = subscribe_and_confirm(
        client, "Newcomer@Example.com", mailoutbox, django_capture_on_commit_callbacks
    )
    assert user.subscription.status == Subscription.Status.ACTIVE
    assert user.subscription.source == "post-footer"
    welcome = mailoutbox[-1]
    assert welcome.to == ["newcomer@example.com"]
    assert welcome.subject == "Welcome to Future Forward"
    assert "Your subscription is confirmed" in welcome.body
    assert post.title in welcome.body
    # The welcome series belongs to a newsletter: its one-click link leaves that newsletter.
    leave = leave_url(user.pk, Newsletter.objects.default().pk)
    assert welcome.extra_headers["List-Unsubscribe"] == f"<{leave}>"
    assert welcome.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html = welcome.alternatives[0][0]
    assert leave in html
    assert len(mailoutbox) == 2  # the code, then the welcome


def test_unsubscribed_reader_resubscribes_with_a_code_and_is_not_welcomed_twice(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    user = subscribe_and_confirm(
        client, "back@example.com", mailoutbox, django_capture_on_commit_callbacks
    )
    client.post(reverse("accounts:unsubscribe", kwargs={"token": unsubscribe_token(user.pk)}))
    client.logout()
    assert Subscription.objects.get(user=user).status == Subscription.Status.UNSUBSCRIBED
    sent_before = len(mailoutbox)

    # The address was verified long ago, so allauth sends no "email confirmed" this time: the
    # code itself must turn the pending subscription back on.
    subscribe_and_confirm(
        client, "back@example.com", mailoutbox, django_capture_on_commit_callbacks
    )
    subscription = Subscription.objects.get(user=user)
    assert subscription.status == Subscription.Status.ACTIVE
    assert subscription.unsubscribed_at is None
    assert len(mailoutbox) == sent_before + 1  # only the code; no second welcome


def test_logged_in_reader_who_subscribes_is_welcomed(
    client, reader, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(reader)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(SUBSCRIBE, {"source": "header"})
    assert Subscription.objects.get(user=reader).status == Subscription.Status.ACTIVE
    assert [message.subject for message in mailoutbox] == ["Welcome to Future Forward"]


@pytest.mark.parametrize(
    ("event_type", "expected"),
    [
        ("bounced", Subscription.Status.BOUNCED),
        ("rejected", Subscription.Status.BOUNCED),
        ("complained", Subscription.Status.COMPLAINED),
        ("unsubscribed", Subscription.Status.UNSUBSCRIBED),
        ("deferred", Subscription.Status.ACTIVE),
        ("delivered", Subscription.Status.ACTIVE),
    ],
)
def test_mail_provider_webhook_events_update_the_subscription(subscriber, event_type, expected):
    from anymail.signals import AnymailTrackingEvent, tracking

    event = AnymailTrackingEvent(
        event_type=event_type,
        recipient=subscriber.email.upper(),
        description="mailbox does not exist",
    )
    tracking.send(sender=object, event=event, esp_name="Postmark")
    subscription = Subscription.objects.get(user=subscriber)
    assert subscription.status == expected
    if expected != Subscription.Status.ACTIVE:
        assert subscription.status_reason.startswith(f"Postmark: {event_type}")


def test_welcome_plain_text_has_even_line_breaks(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    """Each paragraph is wrapped once, at 76 columns: no line inside a paragraph stops short."""
    subscribe_and_confirm(
        client, "even@example.com", mailoutbox, django_capture_on_commit_callbacks
    )
    body = mailoutbox[-1].body
    for paragraph in body.split("\n\n"):
        lines = paragraph.split("\n")
        if "Your subscription is confirmed" in paragraph or "To log in" in paragraph:
            assert len(lines) > 1
            assert all(len(line) <= 76 for line in lines)
            # A line that stops well short of the width while the next word would fit is ragged.
            for line, following in zip(lines, lines[1:], strict=False):
                assert len(line) + 1 + len(following.split()[0]) > 76, (line, following)
