"""Editors who opted in hear by email when a newsletter send has finished, when the mail server
keeps failing it, and when a scheduled send was paused; once per send and occasion each."""

from datetime import timedelta

import pytest
from django.core.mail.backends.locmem import EmailBackend
from django.utils import timezone

from newsletter import delivery as pipeline
from newsletter import services
from newsletter.models import NewsletterSend
from tests.factories import EditorFactory, PostFactory, make_subscribers

pytestmark = pytest.mark.django_db


@pytest.fixture
def watcher():
    """An editor who asked to hear about sends; another editor who did not."""
    EditorFactory()
    return EditorFactory(notify_sends=True)


def to_editors(mailoutbox, editor):
    return [m for m in mailoutbox if m.to == [editor.email]]


def test_a_finished_send_emails_the_editors_who_asked(
    watcher, fast_newsletter, mailoutbox, django_capture_on_commit_callbacks
):
    make_subscribers(3)
    post = PostFactory(title="Night trams")
    with django_capture_on_commit_callbacks(execute=True):
        send = services.create_send(post=post, created_by=watcher, mode="full", teaser_words=150)
    send.refresh_from_db()
    assert send.status == NewsletterSend.Status.FINISHED
    told = to_editors(mailoutbox, watcher)
    assert len(told) == 1
    assert "Sent: “Night trams”" in told[0].subject
    assert "Delivered: 3" in told[0].body
    assert f"/admin/newsletter/newslettersend/{send.pk}/change/" in told[0].body
    # Only the subscribers and the editor who asked: 3 + 1.
    assert len(mailoutbox) == 4


def test_each_editor_hears_once_however_often_the_notice_runs(watcher, mailoutbox):
    send = NewsletterSend.objects.create(
        post=PostFactory(), status=NewsletterSend.Status.FINISHED, sent_count=5
    )
    assert services.notify_editors_of_send(send=send, occasion="finished") == 1
    assert services.notify_editors_of_send(send=send, occasion="finished") == 0
    assert services.finish_if_done(send_id=send.pk)  # already finished: no second email
    assert len(mailoutbox) == 1


def test_no_email_without_the_opt_in(
    fast_newsletter, mailoutbox, django_capture_on_commit_callbacks
):
    editor = EditorFactory()
    make_subscribers(2)
    with django_capture_on_commit_callbacks(execute=True):
        services.create_send(post=PostFactory(), created_by=editor, mode="full", teaser_words=150)
    assert to_editors(mailoutbox, editor) == []


class SubscribersUnreachable(EmailBackend):
    """A mail server that refuses connections for the newsletter but delivers editors' mail."""

    def send_messages(self, messages):
        if any(not m.to[0].startswith("editor") for m in messages):
            raise ConnectionRefusedError(111, "Connection refused")
        return super().send_messages(messages)


def test_a_send_the_mail_server_keeps_failing_tells_the_editors_once(
    settings, watcher, mailoutbox, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "tests.newsletter.test_editor_send_notices.SubscribersUnreachable"
    settings.NEWSLETTER_RETRY_SECONDS = 60
    make_subscribers(3)
    with django_capture_on_commit_callbacks(execute=True):
        send = services.create_send(
            post=PostFactory(title="Bridges"), created_by=watcher, mode="full", teaser_words=150
        )
    for _attempt in range(4):
        send.refresh_from_db()
        if send.transport_failures >= services.TROUBLE_AFTER_FAILURES + 1:
            break
        with django_capture_on_commit_callbacks(execute=True):
            NewsletterSend.objects.filter(pk=send.pk).update(retry_at=None)
            pipeline.run_batch(send_id=send.pk, worker_id="w")
    send.refresh_from_db()
    assert send.transport_failures > services.TROUBLE_AFTER_FAILURES
    told = to_editors(mailoutbox, watcher)
    assert len(told) == 1
    assert "Sending “Bridges” is stuck" in told[0].subject
    assert "Connection refused" in told[0].body


def test_a_paused_scheduled_send_tells_the_editors(
    watcher, mailoutbox, django_capture_on_commit_callbacks
):
    post = PostFactory(
        title="Four bridges", status="scheduled", published_at=timezone.now() + timedelta(hours=1)
    )
    send = services.create_send(
        post=post, created_by=watcher, mode="full", teaser_words=150, at_publish_time=True
    )
    type(post).objects.filter(pk=post.pk).update(status="draft")
    with django_capture_on_commit_callbacks(execute=True):
        assert pipeline.watch(send_id=send.pk, token=send.watchdog_token) == "paused"
    told = to_editors(mailoutbox, watcher)
    assert len(told) == 1
    assert "was paused" in told[0].subject
    assert "Publish the post, then resume" in told[0].body
