"""Sending from the post admin: test email, confirmed send, progress, pause/resume."""

import re
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from accounts.services import unsubscribe_token
from newsletter.models import Delivery, NewsletterSend
from posts.models import Post
from tests.factories import PostFactory, UserFactory, make_subscribers
from tests.newsletter.conftest import free_port

pytestmark = pytest.mark.django_db


def post_url(post, name):
    return reverse(f"admin:posts_post_{name}", args=[post.pk])


def send_url(send, name="change", *args):
    if name == "change":
        return reverse("admin:newsletter_newslettersend_change", args=[send.pk])
    return reverse("admin:newsletter_newslettersend_control", args=[send.pk, name])


CONFIRMED = {"mode": "full", "teaser_words": "150", "when": "now", "confirm": "on"}


def test_post_page_offers_test_email_and_send(editor_client):
    post = PostFactory()
    page = editor_client.get(post_url(post, "change")).content.decode()
    assert "Send test email" in page
    assert post_url(post, "newsletter_test") in page
    assert "Send to subscribers" in page
    assert post_url(post, "newsletter_send") in page
    # The post admin's own tools stay.
    assert "History" in page


def test_add_page_has_no_newsletter_tools(editor_client):
    page = editor_client.get(reverse("admin:posts_post_add")).content.decode()
    assert "Send test email" not in page


def test_test_email_goes_to_the_editor(editor_client, mailoutbox):
    post = PostFactory(title="The Four-Day Week")
    url = post_url(post, "newsletter_test")
    assert editor_client.get(url).status_code == HTTPStatus.OK
    response = editor_client.post(url, {"mode": "teaser", "teaser_words": "50"})
    assert response.status_code == HTTPStatus.FOUND
    assert response.url == post_url(post, "change")
    assert [message.to for message in mailoutbox] == [[editor_client.user.email]]
    assert mailoutbox[0].subject == "[Test] The Four-Day Week"
    assert not NewsletterSend.objects.exists()


def test_test_email_goes_to_the_addresses_the_editor_types(editor_client, mailoutbox):
    post = PostFactory(title="The Four-Day Week")
    response = editor_client.post(
        post_url(post, "newsletter_test"),
        {
            "recipients": "ana@example.com, bo@example.org;ANA@example.com\n cy@example.net",
            "mode": "full",
            "teaser_words": "150",
        },
        follow=True,
    )
    assert response.status_code == HTTPStatus.OK
    # One message each, so no one sees the others' addresses; the links are the editor's.
    assert [message.to for message in mailoutbox] == [
        ["ana@example.com"],
        ["bo@example.org"],
        ["cy@example.net"],
    ]
    assert all(message.subject == "[Test] The Four-Day Week" for message in mailoutbox)
    token = unsubscribe_token(editor_client.user.pk)
    assert all(token in message.body for message in mailoutbox)
    assert "ana@example.com, bo@example.org, cy@example.net" in response.content.decode()


@pytest.mark.parametrize(
    "typed, complaint",
    [
        ("ana@example.com, not-an-address, bo@", "not email addresses: not-an-address, bo@"),
        (", ".join(f"reader{n}@example.com" for n in range(6)), "at most 5 addresses"),
    ],
)
def test_test_email_refuses_bad_or_too_many_addresses(editor_client, mailoutbox, typed, complaint):
    post = PostFactory()
    data = {"recipients": typed, "mode": "full", "teaser_words": "150"}
    response = editor_client.post(post_url(post, "newsletter_test"), data)
    assert response.status_code == HTTPStatus.OK
    assert complaint in response.content.decode()
    assert f'value="{typed}"' in response.content.decode()  # nothing typed is lost
    assert mailoutbox == []


def test_test_email_shows_the_mail_server_error(editor_client, settings, mailoutbox):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port()
    post = PostFactory()
    response = editor_client.post(
        post_url(post, "newsletter_test"), {"mode": "full", "teaser_words": "150"}
    )
    assert response.status_code == HTTPStatus.OK
    assert "could not be sent" in response.content.decode()


def test_test_email_rejects_bad_input(editor_client, mailoutbox):
    post = PostFactory()
    response = editor_client.post(
        post_url(post, "newsletter_test"), {"mode": "everything", "teaser_words": "-3"}
    )
    assert response.status_code == HTTPStatus.OK
    assert response.context["form"].errors.keys() == {"mode", "teaser_words"}
    assert mailoutbox == []


def test_send_needs_the_confirmation_then_goes_out(
    editor_client, mailoutbox, django_capture_on_commit_callbacks
):
    make_subscribers(7)
    post = PostFactory()
    url = post_url(post, "newsletter_send")
    page = editor_client.get(url)
    assert page.status_code == HTTPStatus.OK
    assert "Send to 7 subscribers" in page.content.decode()

    response = editor_client.post(url, {**CONFIRMED, "confirm": ""})
    assert response.status_code == HTTPStatus.OK
    assert "Tick the box to confirm" in response.content.decode()
    assert not NewsletterSend.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = editor_client.post(url, CONFIRMED)
    send = NewsletterSend.objects.get(post=post)
    assert response.status_code == HTTPStatus.FOUND
    assert response.url == send_url(send)
    assert len(mailoutbox) == 7
    assert send.created_by == editor_client.user

    # The post page now links to the progress instead of offering a second send.
    page = editor_client.get(post_url(post, "change")).content.decode()
    assert "Send to subscribers" not in page
    assert "7 of 7 sent" in page


def test_a_second_send_is_refused_with_a_clear_message(
    editor_client, django_capture_on_commit_callbacks
):
    make_subscribers(2)
    post = PostFactory()
    url = post_url(post, "newsletter_send")
    with django_capture_on_commit_callbacks(execute=True):
        editor_client.post(url, CONFIRMED)
    for response in (editor_client.get(url), editor_client.post(url, CONFIRMED)):
        assert response.status_code == HTTPStatus.FOUND
        assert response.url == send_url(NewsletterSend.objects.get())
    messages = [
        str(m)
        for m in editor_client.get(send_url(NewsletterSend.objects.get())).context["messages"]
    ]
    assert any("already went out" in message for message in messages)
    assert NewsletterSend.objects.count() == 1


def test_a_draft_cannot_be_sent_now(editor_client):
    post = PostFactory(status="draft", published_at=None)
    response = editor_client.post(post_url(post, "newsletter_send"), CONFIRMED)
    assert response.status_code == HTTPStatus.OK
    assert "not published yet" in response.content.decode()
    assert not NewsletterSend.objects.exists()


def test_a_scheduled_post_can_go_out_at_its_publish_time(editor_client):
    publish_at = timezone.now() + timedelta(days=1)
    post = PostFactory(status="scheduled", published_at=publish_at)
    url = post_url(post, "newsletter_send")
    assert editor_client.get(url).context["form"]["when"].initial == "publish_time"
    response = editor_client.post(url, {**CONFIRMED, "when": "publish_time"})
    send = NewsletterSend.objects.get(post=post)
    assert response.status_code == HTTPStatus.FOUND
    assert send.status == NewsletterSend.Status.SCHEDULED
    assert send.scheduled_for == publish_at

    page = editor_client.get(send_url(send)).content.decode()
    assert "Cancel the scheduled send" in page
    response = editor_client.post(send_url(send, "cancel"))
    assert response.status_code == HTTPStatus.FOUND
    assert not NewsletterSend.objects.exists()


def post_status_row(html: str) -> str:
    match = re.search(r'<th scope="row">On the site</th><td>(.*?)</td>', html, re.S)
    assert match, html
    return match.group(1)


def test_send_page_says_a_scheduled_post_that_went_live_is_published(editor_client):
    post = PostFactory(status="scheduled", published_at=timezone.now() + timedelta(hours=1))
    url = post_url(post, "newsletter_send")
    assert post_status_row(editor_client.get(url).content.decode()).startswith("Scheduled")

    Post.objects.filter(pk=post.pk).update(published_at=timezone.now() - timedelta(minutes=5))
    response = editor_client.get(url)
    assert post_status_row(response.content.decode()).startswith("Live since")
    # And it goes out now, not "at the publish time" that has passed.
    assert response.context["form"]["when"].initial == "now"


def test_progress_page_shows_counts_and_the_controls(
    editor_client, django_capture_on_commit_callbacks
):
    users = make_subscribers(6)
    with django_capture_on_commit_callbacks(execute=False):
        editor_client.post(post_url(PostFactory(), "newsletter_send"), CONFIRMED)
    send = NewsletterSend.objects.get()
    Delivery.objects.filter(send=send, user__in=users[:3]).update(status="sent")
    Delivery.objects.filter(send=send, user=users[3]).update(status="failed")
    send.last_error = "421 4.3.2 Service not available"
    send.retry_at = timezone.now() + timedelta(minutes=2)
    send.save()

    response = editor_client.get(send_url(send))
    page = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert response.context["progress"] == {
        "pending": 2,
        "sent": 3,
        "failed": 1,
        "bounced": 0,
        "skipped": 0,
        "total": 6,
    }
    assert '<progress max="6" value="4">' in page
    assert "Waiting for the mail server" in page
    assert "421 4.3.2 Service not available" in page
    assert "Pause" in page and "Retry failed deliveries" in page
    assert 'http-equiv="refresh"' in page

    changelist = editor_client.get(reverse("admin:newsletter_newslettersend_changelist"))
    assert "3 of 6 sent, 1 failed, 0 bounced" in changelist.content.decode()


def test_pause_and_resume_from_the_progress_page(
    editor_client, mailoutbox, django_capture_on_commit_callbacks
):
    make_subscribers(4)
    with django_capture_on_commit_callbacks(execute=False):
        editor_client.post(post_url(PostFactory(), "newsletter_send"), CONFIRMED)
    send = NewsletterSend.objects.get()
    assert editor_client.get(send_url(send, "pause")).status_code == (HTTPStatus.METHOD_NOT_ALLOWED)
    editor_client.post(send_url(send, "pause"))
    send.refresh_from_db()
    assert send.status == NewsletterSend.Status.PAUSED
    with django_capture_on_commit_callbacks(execute=True):
        response = editor_client.post(send_url(send, "resume"))
    assert response.status_code == HTTPStatus.FOUND
    send.refresh_from_db()
    assert send.status == NewsletterSend.Status.FINISHED
    assert len(mailoutbox) == 4

    response = editor_client.post(send_url(send, "pause"), follow=True)
    assert "can be paused" in response.content.decode()
    assert editor_client.post(send_url(send, "nonsense")).status_code == HTTPStatus.FOUND


def test_sends_and_deliveries_are_read_only_records(editor_client):
    send = NewsletterSend.objects.create(post=PostFactory())
    assert editor_client.get(reverse("admin:newsletter_newslettersend_add")).status_code == 403
    response = editor_client.post(reverse("admin:newsletter_newslettersend_delete", args=[send.pk]))
    assert response.status_code == HTTPStatus.FORBIDDEN
    user = make_subscribers(1)[0]
    Delivery.objects.create(send=send, user=user, status="failed", last_error="550 no")
    listing = editor_client.get(reverse("admin:newsletter_delivery_changelist") + "?status=failed")
    assert listing.status_code == HTTPStatus.OK
    assert user.email in listing.content.decode()


def test_staff_without_send_permission_cannot_send(client, django_capture_on_commit_callbacks):
    writer = UserFactory(is_staff=True)
    writer.user_permissions.add(
        *Permission.objects.filter(codename__in=["change_post", "view_post"])
    )
    client.force_login(writer)
    post = PostFactory()
    assert client.get(post_url(post, "newsletter_test")).status_code == HTTPStatus.OK
    assert client.get(post_url(post, "newsletter_send")).status_code == HTTPStatus.FORBIDDEN
    assert client.post(post_url(post, "newsletter_send"), CONFIRMED).status_code == 403
    assert not NewsletterSend.objects.exists()


def test_readers_cannot_reach_the_newsletter_admin(auth_client):
    post = PostFactory()
    for url in (post_url(post, "newsletter_test"), post_url(post, "newsletter_send")):
        response = auth_client.post(url, CONFIRMED)
        assert response.status_code == HTTPStatus.FOUND
        assert "/login/" in response.url
    assert not NewsletterSend.objects.exists()


def test_unknown_post_redirects_with_a_message(editor_client):
    response = editor_client.get(reverse("admin:posts_post_newsletter_send", args=[999999]))
    assert response.status_code == HTTPStatus.FOUND


def test_post_admin_is_assembled_from_posts_polls_and_newsletter(editor_client):
    from django.contrib import admin

    from newsletter.admin import NewsletterPostAdminMixin
    from polls.admin import PollInline
    from posts.admin import PostAdmin
    from posts.models import Post

    registered = admin.site._registry[Post]
    assert isinstance(registered, NewsletterPostAdminMixin)
    assert isinstance(registered, PostAdmin)
    assert PollInline in registered.inlines
    # posts' own admin knows nothing of the apps built on it.
    assert not issubclass(PostAdmin, NewsletterPostAdminMixin)
    assert PollInline not in PostAdmin.inlines
