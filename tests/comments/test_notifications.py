"""Reply emails: opt-in, sent once through a task after commit, stoppable with one click."""

import re
from http import HTTPStatus

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse

from comments.models import Commenter
from comments.services import (
    STOP_SALT,
    add_comment,
    approve_comments,
    send_reply_notification,
    stop_token,
)
from tests.factories import CommentFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def wants_replies(trusted):
    Commenter.objects.filter(user=trusted).update(notify_replies=True)
    return trusted


def reply(post, author, parent, body="I disagree, politely.", capture=None):
    with capture(execute=True):
        return add_comment(post=post, author=author, body=body, parent=parent)


def test_reply_emails_the_parent_author_after_commit(
    post, wants_replies, other, mailoutbox, django_capture_on_commit_callbacks
):
    top = CommentFactory(post=post, author=wants_replies, body="My take")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        add_comment(post=post, author=other, body="I disagree, politely.", parent=top)
    assert mailoutbox == []  # nothing leaves before the transaction commits
    for callback in callbacks:
        callback()
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == [wants_replies.email]
    assert other.public_name in message.subject
    assert post.title in message.subject
    assert "I disagree, politely." in message.body
    assert "http://testserver/p/" in message.body
    stop = re.search(r"http://testserver(/comments/reply-emails/stop/\S+/)", message.body)
    assert stop, message.body
    assert message.extra_headers["List-Unsubscribe"] == f"<{stop.group(0)}>"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_the_link_in_the_email_stops_the_emails(
    client, post, wants_replies, other, mailoutbox, django_capture_on_commit_callbacks
):
    top = CommentFactory(post=post, author=wants_replies)
    reply(post, other, top, capture=django_capture_on_commit_callbacks)
    path = re.search(r"http://testserver(/comments/reply-emails/stop/\S+/)", mailoutbox[0].body)
    assert client.get(path.group(1)).status_code == HTTPStatus.OK
    assert Commenter.objects.get(user=wants_replies).notify_replies is True
    assert client.post(path.group(1)).status_code == HTTPStatus.OK
    assert Commenter.objects.get(user=wants_replies).notify_replies is False
    second = CommentFactory(post=post, author=wants_replies)
    reply(post, other, second, capture=django_capture_on_commit_callbacks)
    assert len(mailoutbox) == 1


def test_no_email_without_opt_in(
    post, trusted, other, mailoutbox, django_capture_on_commit_callbacks
):
    top = CommentFactory(post=post, author=trusted)
    reply(post, other, top, capture=django_capture_on_commit_callbacks)
    assert mailoutbox == []


def test_no_email_for_replying_to_yourself(
    post, wants_replies, mailoutbox, django_capture_on_commit_callbacks
):
    top = CommentFactory(post=post, author=wants_replies)
    reply(post, wants_replies, top, capture=django_capture_on_commit_callbacks)
    assert mailoutbox == []


def test_held_reply_emails_only_when_approved_and_only_once(
    post, wants_replies, editor, mailoutbox, django_capture_on_commit_callbacks
):
    newcomer = SubscriptionFactory().user
    top = CommentFactory(post=post, author=wants_replies)
    held = reply(post, newcomer, top, capture=django_capture_on_commit_callbacks)
    assert held.status == "held"
    assert mailoutbox == []
    with django_capture_on_commit_callbacks(execute=True):
        approve_comments(comments=[held], moderator=editor)
    assert len(mailoutbox) == 1
    # Hiding and approving again does not send a second email.
    held.refresh_from_db()
    held.status = "hidden"
    held.save(update_fields=["status"])
    with django_capture_on_commit_callbacks(execute=True):
        approve_comments(comments=[held], moderator=editor)
    held.refresh_from_db()
    assert send_reply_notification(comment=held) is False
    assert len(mailoutbox) == 1


def test_reply_through_the_site_sends_the_email(
    client, post, wants_replies, other, mailoutbox, django_capture_on_commit_callbacks
):
    top = CommentFactory(post=post, author=wants_replies)
    client.force_login(other)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("comments:create", kwargs={"slug": post.slug}),
            {"body": "Over to you", "parent": top.pk},
        )
    assert response.status_code == HTTPStatus.FOUND
    assert [m.to for m in mailoutbox] == [[wants_replies.email]]


class TestStopLink:
    def url(self, token):
        return reverse("comments:stop-replies", kwargs={"token": token})

    def test_get_only_asks(self, client, wants_replies):
        response = client.get(self.url(stop_token(user=wants_replies)))
        assert response.status_code == HTTPStatus.OK
        assert "Stop reply emails" in response.content.decode()
        assert Commenter.objects.get(user=wants_replies).notify_replies is True

    def test_post_stops_and_is_idempotent(self, client, wants_replies):
        url = self.url(stop_token(user=wants_replies))
        for _ in range(2):
            response = client.post(url)
            assert response.status_code == HTTPStatus.OK
            assert "You will not get emails about replies" in response.content.decode()
        assert Commenter.objects.get(user=wants_replies).notify_replies is False

    def test_one_click_post_needs_no_csrf_token(self, wants_replies):
        client = Client(enforce_csrf_checks=True)
        response = client.post(
            self.url(stop_token(user=wants_replies)), {"List-Unsubscribe": "One-Click"}
        )
        assert response.status_code == HTTPStatus.OK
        assert Commenter.objects.get(user=wants_replies).notify_replies is False

    @pytest.mark.parametrize("token", ["nonsense", "1:abc:def", ""])
    def test_forged_token_changes_nothing(self, client, wants_replies, token):
        url = self.url(token) if token else "/comments/reply-emails/stop/x/"
        response = client.post(url)
        assert response.status_code == HTTPStatus.BAD_REQUEST
        assert Commenter.objects.get(user=wants_replies).notify_replies is True

    def test_token_for_another_purpose_is_refused(self, client, wants_replies):
        token = signing.TimestampSigner(salt="something-else").sign(str(wants_replies.pk))
        assert client.post(self.url(token)).status_code == HTTPStatus.BAD_REQUEST
        assert Commenter.objects.get(user=wants_replies).notify_replies is True

    def test_expired_token_is_refused(self, client, wants_replies, settings, monkeypatch):
        import time

        token = stop_token(user=wants_replies)
        real_time = time.time
        monkeypatch.setattr(time, "time", lambda: real_time() + 91 * 24 * 3600)
        response = client.post(self.url(token))
        assert response.status_code == HTTPStatus.BAD_REQUEST
        assert "expired" in response.content.decode()
        assert Commenter.objects.get(user=wants_replies).notify_replies is True

    def test_salt_is_specific(self):
        assert STOP_SALT.startswith("comments.")


def test_logged_in_reader_can_switch_reply_emails(client, trusted):
    client.force_login(trusted)
    url = reverse("comments:reply-emails")
    client.post(url, {"receive": "on", "next": "/p/x/"})
    assert Commenter.objects.get(user=trusted).notify_replies is True
    response = client.post(url, {"next": "https://evil.example/"})
    assert response["Location"] == "/"
    assert Commenter.objects.get(user=trusted).notify_replies is False


def test_expired_link_offers_a_logged_in_reader_the_switch(client, trusted):
    client.force_login(trusted)
    response = client.get("/comments/reply-emails/stop/not-a-token/")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert reverse("comments:reply-emails") in response.content.decode()
