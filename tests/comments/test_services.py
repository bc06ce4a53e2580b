"""The comment workflows, against the real database."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from comments.models import Comment, Commenter, CommentLike, CommentReport, CommentSettings
from comments.services import (
    CommentError,
    add_comment,
    approve_comments,
    ban_reader,
    delete_comment,
    edit_comment,
    like_comment,
    report_comment,
    set_comments_status,
    unban_reader,
    unlike_comment,
)
from posts import pagecache
from posts.models import Post
from tests.concurrency import failures, run_at_once
from tests.factories import (
    CommentFactory,
    PostFactory,
    SubscriptionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


class TestAddComment:
    def test_trusted_reader_comment_is_visible(self, post, trusted):
        comment = add_comment(post=post, author=trusted, body="  Hello there  ")
        assert comment.status == Comment.Status.VISIBLE
        assert comment.body == "Hello there"
        assert comment.body_html == "<p>Hello there</p>"
        assert (comment.parent, comment.root, comment.depth) == (None, None, 0)

    def test_first_comment_is_held_until_an_editor_approves(self, post, subscriber, editor):
        first = add_comment(post=post, author=subscriber, body="My first words")
        assert first.status == Comment.Status.HELD
        assert "first comment" in first.held_reason
        second = add_comment(post=post, author=subscriber, body="Still waiting")
        assert second.status == Comment.Status.HELD

        approve_comments(comments=[first], moderator=editor)
        assert Commenter.objects.get(user=subscriber).is_trusted
        third = add_comment(post=post, author=subscriber, body="Now I am trusted")
        assert third.status == Comment.Status.VISIBLE

    def test_first_comment_hold_can_be_switched_off(self, post, subscriber, comment_settings):
        comment_settings.hold_first_comments = False
        comment_settings.save()
        assert add_comment(post=post, author=subscriber, body="Hi").status == "visible"

    def test_too_many_links_are_held(self, post, trusted, comment_settings):
        comment_settings.max_links = 2
        comment_settings.save()
        two = add_comment(post=post, author=trusted, body="https://a.example https://b.example")
        assert two.status == Comment.Status.VISIBLE
        three = add_comment(
            post=post, author=trusted, body="https://a.example https://b.example www.c.example"
        )
        assert three.status == Comment.Status.HELD
        assert "3 links" in three.held_reason

    def test_blocked_words_are_held(self, post, trusted, comment_settings):
        comment_settings.blocked_words = "crypto giveaway\n  \nscam\n"
        comment_settings.save()
        held = add_comment(post=post, author=trusted, body="Join my CRYPTO GIVEAWAY today")
        assert held.status == Comment.Status.HELD
        assert "crypto giveaway" in held.held_reason
        assert add_comment(post=post, author=trusted, body="A scampi recipe").status == "visible"

    def test_editors_are_never_held(self, post, editor, comment_settings):
        comment_settings.blocked_words = "scam"
        comment_settings.save()
        comment = add_comment(post=post, author=editor, body="Beware of this scam")
        assert comment.status == Comment.Status.VISIBLE

    def test_reply_gets_tree_columns(self, post, trusted, other):
        top = add_comment(post=post, author=trusted, body="Top")
        reply = add_comment(post=post, author=other, body="Reply", parent=top)
        deeper = add_comment(post=post, author=trusted, body="Deeper", parent=reply)
        assert (reply.root, reply.depth) == (top, 1)
        assert (deeper.root, deeper.depth, deeper.parent) == (top, 2, reply)

    def test_parent_from_another_post_is_refused(self, post, trusted):
        elsewhere = CommentFactory()
        with pytest.raises(CommentError, match="another post"):
            add_comment(post=post, author=trusted, body="x", parent=elsewhere)
        assert not Comment.objects.filter(post=post).exists()

    @pytest.mark.parametrize(
        "change", [{"status": "removed"}, {"status": "held"}, {"deleted_at": timezone.now()}]
    )
    def test_reply_to_a_removed_deleted_or_held_comment_is_refused(self, post, trusted, change):
        parent = CommentFactory(post=post, **change)
        with pytest.raises(CommentError, match="can't reply"):
            add_comment(post=post, author=trusted, body="x", parent=parent)

    @pytest.mark.parametrize("body", ["", "   \n\n  "])
    def test_empty_text_is_refused(self, post, trusted, body):
        with pytest.raises(CommentError):
            add_comment(post=post, author=trusted, body=body)

    def test_over_long_text_is_refused_and_5000_is_fine(self, post, trusted):
        with pytest.raises(CommentError, match="5,000"):
            add_comment(post=post, author=trusted, body="x" * 5001)
        assert add_comment(post=post, author=trusted, body="x" * 5000).pk

    def test_banned_reader_is_refused_with_the_reason(self, post, trusted, editor):
        ban_reader(user=trusted, reason="Repeated insults", banned_by=editor)
        with pytest.raises(CommentError, match="Repeated insults") as info:
            add_comment(post=post, author=trusted, body="Let me in")
        assert info.value.status == 403
        unban_reader(user=trusted)
        assert add_comment(post=post, author=trusted, body="Back again").pk

    def test_unverified_reader_is_refused(self, post):
        user = UserFactory(verified=False)
        with pytest.raises(CommentError, match="Confirm your email") as info:
            add_comment(post=post, author=user, body="Hi")
        assert info.value.status == 403

    @pytest.mark.parametrize(
        ("mode", "status"), [(Post.CommentsMode.CLOSED, 403), (Post.CommentsMode.OFF, 404)]
    )
    def test_closed_and_off_posts_refuse(self, trusted, mode, status):
        post = PostFactory(comments_mode=mode)
        with pytest.raises(CommentError) as info:
            add_comment(post=post, author=trusted, body="Hi")
        assert info.value.status == status

    def test_notify_choice_is_remembered(self, post, trusted):
        add_comment(post=post, author=trusted, body="Hi", notify_replies=True)
        assert Commenter.objects.get(user=trusted).notify_replies is True
        add_comment(post=post, author=trusted, body="Again", notify_replies=False)
        assert Commenter.objects.get(user=trusted).notify_replies is False


class TestEditAndDelete:
    def test_edit_within_window_marks_edited(self, post, trusted):
        comment = add_comment(post=post, author=trusted, body="Typo hree")
        edited = edit_comment(comment=comment, user=trusted, body="Typo here")
        assert edited.body == "Typo here"
        assert edited.body_html == "<p>Typo here</p>"
        assert edited.is_edited

    def test_edit_after_fifteen_minutes_is_refused(self, post, trusted):
        comment = CommentFactory(
            post=post, author=trusted, created_at=timezone.now() - timedelta(minutes=16)
        )
        with pytest.raises(CommentError, match="15 minutes") as info:
            edit_comment(comment=comment, user=trusted, body="Too late")
        assert info.value.status == 403
        comment.refresh_from_db()
        assert comment.body != "Too late"

    def test_editing_someone_elses_comment_is_refused(self, post, trusted, other):
        comment = CommentFactory(post=post, author=other, body="Mine")
        with pytest.raises(CommentError, match="your own"):
            edit_comment(comment=comment, user=trusted, body="Hijacked")
        comment.refresh_from_db()
        assert comment.body == "Mine"

    def test_edit_that_adds_blocked_words_goes_back_for_review(
        self, post, trusted, comment_settings
    ):
        comment_settings.blocked_words = "casino"
        comment_settings.save()
        comment = add_comment(post=post, author=trusted, body="Innocent")
        edited = edit_comment(comment=comment, user=trusted, body="Visit my casino")
        assert edited.status == Comment.Status.HELD

    def test_delete_keeps_the_place_in_the_thread(self, post, trusted, other):
        top = add_comment(post=post, author=trusted, body="Top secret")
        reply = add_comment(post=post, author=other, body="Reply", parent=top)
        delete_comment(comment=top, user=trusted)
        top.refresh_from_db()
        assert top.is_deleted
        assert top.body == ""
        assert Comment.objects.get(pk=reply.pk).parent_id == top.pk

    def test_deleting_someone_elses_comment_is_refused(self, post, trusted, other):
        comment = CommentFactory(post=post, author=other)
        with pytest.raises(CommentError):
            delete_comment(comment=comment, user=trusted)
        comment.refresh_from_db()
        assert not comment.is_deleted

    def test_account_deletion_keeps_comments_without_author(self, post, trusted):
        comment = add_comment(post=post, author=trusted, body="I was here")
        trusted.delete()
        comment.refresh_from_db()
        assert comment.author is None
        assert comment.body == "I was here"


class TestLikes:
    def test_like_once_per_reader(self, post, trusted, other):
        comment = CommentFactory(post=post, author=other)
        assert like_comment(comment=comment, user=trusted) is True
        assert like_comment(comment=comment, user=trusted) is False
        comment.refresh_from_db()
        assert comment.like_count == 1
        assert CommentLike.objects.filter(comment=comment).count() == 1
        assert unlike_comment(comment=comment, user=trusted) is True
        assert unlike_comment(comment=comment, user=trusted) is False
        comment.refresh_from_db()
        assert comment.like_count == 0

    def test_cannot_like_a_held_comment(self, post, trusted, other):
        comment = CommentFactory(post=post, author=other, status=Comment.Status.HELD)
        with pytest.raises(CommentError):
            like_comment(comment=comment, user=trusted)

    def test_anonymous_and_banned_cannot_like(self, post, trusted, other, editor):
        from django.contrib.auth.models import AnonymousUser

        comment = CommentFactory(post=post, author=other)
        with pytest.raises(CommentError):
            like_comment(comment=comment, user=AnonymousUser())
        ban_reader(user=trusted, reason="", banned_by=editor)
        with pytest.raises(CommentError):
            like_comment(comment=comment, user=trusted)


@pytest.mark.django_db(transaction=True)
def test_liking_twice_at_the_same_moment_leaves_one_like():
    """Two requests from one reader race; the unique constraint lets exactly one through."""
    post = PostFactory()
    reader = SubscriptionFactory().user
    comment = CommentFactory(post=post)
    outcomes = run_at_once(2, lambda i: like_comment(comment=comment, user=reader))
    assert failures(outcomes) == []
    assert sorted(outcomes) == [False, True]
    comment.refresh_from_db()
    assert comment.like_count == 1
    assert CommentLike.objects.filter(comment=comment, user=reader).count() == 1


def wait_for_lock_waiters(count: int, timeout: float = 10) -> None:
    """Wait until count other sessions of this database are waiting for a row lock."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            # Inside a transaction the statistics views are a snapshot; take a fresh one.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0] >= count:
                return
            time.sleep(0.02)
    raise AssertionError(f"{count} sessions never queued for a lock")


@pytest.mark.django_db(transaction=True)
def test_a_like_and_a_reply_to_one_comment_both_land_when_they_queue_together():
    """Readers like a comment while another replies to it: each waits its turn, and none
    dies in a deadlock (seen with two servers, when the like took the post's page version
    before the comment row and the reply took them the other way round)."""
    post = PostFactory()
    popular = CommentFactory(post=post)
    first, second, replier = (SubscriptionFactory().user for _ in range(3))
    Commenter.objects.create(user=replier, is_trusted=True)
    pagecache.bump(pagecache.post_key(post.pk))
    errors = []

    def run(action):
        try:
            action()
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    like = threading.Thread(target=run, args=(lambda: like_comment(comment=popular, user=second),))
    reply = threading.Thread(
        target=run,
        args=(lambda: add_comment(post=post, author=replier, body="Agreed", parent=popular),),
    )
    # The first reader's like is half-way through its transaction: its row is in, so the
    # comment row carries its key-share lock, and the post's page version is moved on.
    with transaction.atomic():
        CommentLike.objects.create(comment=popular, user=first)
        like.start()
        wait_for_lock_waiters(1)
        reply.start()
        wait_for_lock_waiters(2)
    for thread in (like, reply):
        thread.join(timeout=20)
    assert errors == []
    assert set(CommentLike.objects.filter(comment=popular).values_list("user", flat=True)) == {
        first.pk,
        second.pk,
    }
    assert list(popular.replies.values_list("author", flat=True)) == [replier.pk]


class TestReports:
    def test_report_with_reason_once(self, post, trusted, other):
        comment = CommentFactory(post=post, author=other)
        report = report_comment(comment=comment, reporter=trusted, reason="spam", details=" ad ")
        assert (report.reason, report.details) == ("spam", "ad")
        with pytest.raises(CommentError, match="already reported") as info:
            report_comment(comment=comment, reporter=trusted, reason="abuse")
        assert info.value.status == 409
        assert CommentReport.objects.count() == 1

    def test_unknown_reason_and_own_comment_are_refused(self, post, trusted, other):
        comment = CommentFactory(post=post, author=other)
        with pytest.raises(CommentError):
            report_comment(comment=comment, reporter=trusted, reason="because")
        own = CommentFactory(post=post, author=trusted)
        with pytest.raises(CommentError):
            report_comment(comment=own, reporter=trusted, reason="spam")

    def test_reports_still_work_on_closed_posts(self, trusted, other):
        comment = CommentFactory(post=PostFactory(comments_mode="closed"), author=other)
        assert report_comment(comment=comment, reporter=trusted, reason="abuse").pk


class TestModeration:
    def test_hide_and_remove_close_reports(self, post, trusted, other, editor):
        comment = CommentFactory(post=post, author=other)
        report_comment(comment=comment, reporter=trusted, reason="abuse")
        assert set_comments_status(comments=[comment], status="hidden", moderator=editor) == 1
        comment.refresh_from_db()
        assert comment.status == "hidden"
        assert comment.moderated_by == editor
        assert CommentReport.objects.get().resolved_by == editor

    def test_approve_counts_only_changed_comments(self, post, editor):
        held = CommentFactory(post=post, status="held")
        visible = CommentFactory(post=post)
        assert approve_comments(comments=[held, visible], moderator=editor) == 1

    def test_settings_load_creates_one_row(self):
        assert CommentSettings.load().pk == CommentSettings.load().pk == 1
        assert CommentSettings.objects.count() == 1


def test_the_same_comment_sent_twice_is_stored_once(post, trusted):
    first = add_comment(post=post, author=trusted, body="Double click")
    second = add_comment(post=post, author=trusted, body="Double click")
    assert first.pk == second.pk
    assert Comment.objects.count() == 1
    # Saying the same thing again later, or elsewhere in the thread, is a new comment.
    Comment.objects.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    assert add_comment(post=post, author=trusted, body="Double click").pk != first.pk
    assert add_comment(post=post, author=trusted, body="Double click", parent=first).parent


@pytest.mark.django_db(transaction=True)
def test_the_same_comment_sent_twice_at_once_is_stored_once():
    post = PostFactory()
    reader = SubscriptionFactory().user
    Commenter.objects.create(user=reader, is_trusted=True)
    outcomes = run_at_once(2, lambda i: add_comment(post=post, author=reader, body="Sent twice"))
    assert failures(outcomes) == []
    assert outcomes[0].pk == outcomes[1].pk
    assert Comment.objects.filter(post=post).count() == 1
