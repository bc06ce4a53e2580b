"""The editors' review digest: editors who opted in hear, by email, that comments wait for
review (held or reported), at most once a clock hour each, and never about an empty queue."""

import time
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.mail.backends.locmem import EmailBackend

from accounts.models import EditorNotice
from comments.models import Comment
from comments.services import (
    add_comment,
    approve_comments,
    report_comment,
    review_digest_key,
    send_review_digests,
)
from comments.tasks import send_review_digests as send_review_digests_task
from tests.concurrency import failures, run_at_once
from tests.factories import CommentFactory, EditorFactory, SubscriptionFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _away_from_the_top_of_the_hour():
    """These tests compare what happens within one clock hour: do not start in its last
    seconds."""
    now = datetime.now(UTC)
    if now.minute == 59 and now.second >= 30:
        time.sleep(61 - now.second)


@pytest.fixture
def editors():
    """One editor who asked for the digest, one who did not, and staff who asked but may not
    see comments."""
    return {
        "opted_in": EditorFactory(notify_review_queue=True),
        "not_opted_in": EditorFactory(),
        "no_permission": EditorFactory(is_superuser=False, notify_review_queue=True),
    }


def hold_a_comment(post, capture, body="My first words here."):
    """A new reader's first comment: held for review by the default rules."""
    author = SubscriptionFactory().user
    with capture(execute=True):
        comment = add_comment(post=post, author=author, body=body)
    assert comment.status == Comment.Status.HELD
    return comment


def test_a_held_comment_emails_the_editors_who_asked(
    post, editors, mailoutbox, django_capture_on_commit_callbacks
):
    hold_a_comment(post, django_capture_on_commit_callbacks, body="Trams are loud at night.")
    assert [m.to for m in mailoutbox] == [[editors["opted_in"].email]]
    message = mailoutbox[0]
    assert "1 comment waits for review" in message.subject
    assert "Trams are loud at night." in message.body
    assert post.title in message.body
    assert "first comment" in message.body
    assert "/admin/comments/comment/?queue=review" in message.body
    assert "/admin/notices/" in message.body


def test_a_report_emails_the_editors_who_asked(
    post, editors, trusted, mailoutbox, django_capture_on_commit_callbacks
):
    comment = CommentFactory(post=post, author=trusted, body="Bridges are a scam.")
    with django_capture_on_commit_callbacks(execute=True):
        report_comment(comment=comment, reporter=UserFactory(), reason="spam")
    assert [m.to for m in mailoutbox] == [[editors["opted_in"].email]]
    assert "Bridges are a scam." in mailoutbox[0].body
    assert "reported by 1 reader" in mailoutbox[0].body


def test_a_visible_comment_emails_nobody(
    post, editors, trusted, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        add_comment(post=post, author=trusted, body="A fine piece.")
    assert mailoutbox == []


def test_at_most_one_digest_an_hour_then_the_next_lists_everything_waiting(
    post, editors, mailoutbox, django_capture_on_commit_callbacks
):
    hold_a_comment(post, django_capture_on_commit_callbacks, body="First held.")
    hold_a_comment(post, django_capture_on_commit_callbacks, body="Second held.")
    assert len(mailoutbox) == 1  # the second waits for the next hour
    assert send_review_digests() == 0

    next_hour = datetime.now(UTC) + timedelta(hours=1)
    assert send_review_digests(now=next_hour) == 1
    assert len(mailoutbox) == 2
    later = mailoutbox[1]
    assert "2 comments wait for review" in later.subject
    assert "First held." in later.body and "Second held." in later.body


def test_nothing_is_sent_when_nothing_waits(
    post, editors, mailoutbox, django_capture_on_commit_callbacks
):
    comment = hold_a_comment(post, django_capture_on_commit_callbacks)
    mailoutbox.clear()
    approve_comments(comments=[comment], moderator=editors["opted_in"])
    next_hour = datetime.now(UTC) + timedelta(hours=1)
    assert send_review_digests(now=next_hour) == 0
    assert mailoutbox == []
    # The empty hour is not used up: a comment held later that hour is still told.
    assert not EditorNotice.objects.filter(key=review_digest_key(next_hour)).exists()


def test_staff_who_may_view_comments_get_it_without_being_superusers(post, mailoutbox):
    moderator = EditorFactory(is_superuser=False, notify_review_queue=True)
    moderator.user_permissions.add(Permission.objects.get(codename="view_comment"))
    CommentFactory(post=post, status=Comment.Status.HELD, held_reason="first comment")
    assert send_review_digests() == 1
    assert [m.to for m in mailoutbox] == [[moderator.email]]


def test_readers_and_inactive_editors_get_nothing_even_with_the_flag_set(post, mailoutbox):
    UserFactory(notify_review_queue=True)
    EditorFactory(notify_review_queue=True, is_active=False)
    CommentFactory(post=post, status=Comment.Status.HELD)
    assert send_review_digests() == 0
    assert mailoutbox == []


def test_a_long_queue_lists_the_newest_and_says_how_many_more(post, editors, mailoutbox):
    for number in range(23):
        CommentFactory(post=post, status=Comment.Status.HELD, body=f"Held number {number}.")
    send_review_digests()
    body = mailoutbox[0].body
    assert "23 comments wait for review" in mailoutbox[0].subject
    assert "Held number 22." in body and "Held number 0." not in body
    assert "And 3 more." in body


def test_on_the_database_queue_a_later_comment_waits_for_the_next_hour(
    settings, post, editors, mailoutbox, django_capture_on_commit_callbacks
):
    """With the real task backend: an editor told this hour gets the later comment in a digest
    queued for the top of the next hour, not at once."""
    from django_tasks_db.models import DBTaskResult

    hold_a_comment(post, django_capture_on_commit_callbacks, body="First held.")
    assert len(mailoutbox) == 1
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    later = SubscriptionFactory().user
    with django_capture_on_commit_callbacks(execute=True):
        add_comment(post=post, author=later, body="Second held.")
    queued = DBTaskResult.objects.get(task_path="comments.tasks.send_review_digests")
    assert queued.task.run_after is None  # at once: the worker finds this hour's sent

    queued.delete()
    with django_capture_on_commit_callbacks(execute=True):
        assert send_review_digests() == 0
    follow_up = DBTaskResult.objects.get(task_path="comments.tasks.send_review_digests")
    top_of_next_hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(
        hours=1
    )
    assert follow_up.task.run_after == top_of_next_hour
    assert len(mailoutbox) == 1


# --- Two workers at the same moment ---


class SlowMailBackend(EmailBackend):
    """The test outbox, with a mail server that takes a moment: the first worker is still
    sending when the second one arrives."""

    def send_messages(self, messages):
        time.sleep(0.5)
        return super().send_messages(messages)


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_each_editor_one_digest(settings, mailoutbox):
    settings.EMAIL_BACKEND = "tests.comments.test_review_digest.SlowMailBackend"
    first = EditorFactory(notify_review_queue=True)
    second = EditorFactory(notify_review_queue=True)
    CommentFactory(status=Comment.Status.HELD, held_reason="first comment")

    outcomes = run_at_once(4, lambda _i: send_review_digests_task.call())

    assert failures(outcomes) == []
    assert sum(outcomes) == 2
    assert sorted(m.to[0] for m in mailoutbox) == sorted([first.email, second.email])
    assert EditorNotice.objects.count() == 2
