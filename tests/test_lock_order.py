"""Every pair of writers on the same rows, at the same moment, on real PostgreSQL connections.

The writers of a comment, of its post's counters and of the post's page version take their
locks in one order (comments/services.py says which). Each test here releases two kinds of
writer together on one comment, post or poll, several rounds in a row, and checks that none
failed except with a refusal a reader would see (a CommentError or VoteError), none died in a
deadlock, and every count is exact afterwards.
"""

from __future__ import annotations

import itertools

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from comments.models import Comment, Commenter, CommentLike, CommentReport
from comments.services import (
    CommentError,
    add_comment,
    approve_comments,
    delete_comment,
    edit_comment,
    like_comment,
    report_comment,
    set_comments_status,
    unlike_comment,
)
from polls.models import Choice, Vote
from polls.services import VoteError, cast_vote, set_poll_choices
from posts.models import ThumbsUp
from posts.services import set_thumbs_up
from tests.concurrency import run_at_once
from tests.factories import CommentFactory, EditorFactory, PollFactory, PostFactory
from tests.factories import SubscriptionFactory as Subscriptions

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 4
THREADS = 12  # per round, half running each writer of the pair
REFUSALS = (CommentError, VoteError)


def readers(count: int, *, trusted: bool = True) -> list:
    users = [Subscriptions().user for _ in range(count)]
    if trusted:
        Commenter.objects.bulk_create([Commenter(user=user, is_trusted=True) for user in users])
    return users


def race(first, second, *, rounds: int = ROUNDS, threads: int = THREADS) -> list:
    """Run first(i) and second(i) in alternating threads released together, rounds times;
    fail on anything but a reader-facing refusal, and return every outcome."""
    outcomes = []
    counter = itertools.count()
    for _round in range(rounds):
        outcomes += run_at_once(
            threads,
            lambda i, n=counter: (first if i % 2 == 0 else second)(next(n)),
        )
    errors = [o for o in outcomes if isinstance(o, Exception) and not isinstance(o, REFUSALS)]
    assert errors == [], f"{len(errors)} of {len(outcomes)} failed: {errors[:3]!r}"
    return outcomes


def likes_counted(comment: Comment) -> None:
    comment.refresh_from_db()
    assert comment.like_count == CommentLike.objects.filter(comment=comment).count()


def page_version_moved_with(post_id: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT number FROM posts_pageversion WHERE key = %s", [f"post:{post_id}"])
        row = cursor.fetchone()
    return row[0] if row else 0


# --- A comment and its likes ---


def test_one_reader_liking_and_unliking_one_comment_at_once():
    """The pair of the report: twenty clicks of one reader's like button at once."""
    comment = CommentFactory(post=PostFactory())
    (reader,) = readers(1)
    race(
        lambda i: like_comment(comment=comment, user=reader),
        lambda i: unlike_comment(comment=comment, user=reader),
        threads=20,
    )
    likes_counted(comment)
    assert comment.like_count in {0, 1}


def test_one_reader_clicking_like_and_unlike_twenty_times_at_once_over_http():
    """The report's own probe, through the site: no 500, and the count matches the likes."""
    comment = CommentFactory(post=PostFactory())
    (reader,) = readers(1)
    url = reverse("comments:like", kwargs={"pk": comment.pk})

    def click(i):
        browser = Client(raise_request_exception=False)
        browser.force_login(reader)
        form = {"action": "unlike"} if i % 2 else {}
        return browser.post(url, form, HTTP_HX_REQUEST="true").status_code

    for _round in range(2):
        statuses = run_at_once(20, click)
        assert all(isinstance(s, int) and s < 500 for s in statuses), statuses
    likes_counted(comment)


def test_many_readers_liking_and_unliking_one_comment_at_once():
    comment = CommentFactory(post=PostFactory())
    people = readers(4)
    race(
        lambda i: like_comment(comment=comment, user=people[i % 4]),
        lambda i: unlike_comment(comment=comment, user=people[(i + 1) % 4]),
    )
    likes_counted(comment)


def test_liking_and_replying_to_one_comment_at_once():
    post = PostFactory()
    comment = CommentFactory(post=post)
    likers, repliers = readers(THREADS), readers(THREADS)
    outcomes = race(
        lambda i: like_comment(comment=comment, user=likers[i % THREADS]),
        lambda i: add_comment(
            post=post, author=repliers[i % THREADS], body=f"Reply {i}", parent=comment
        ),
    )
    likes_counted(comment)
    replies = [o for o in outcomes if isinstance(o, Comment)]
    assert comment.replies.count() == len(replies) == ROUNDS * THREADS // 2


def test_unliking_and_replying_to_one_comment_at_once():
    post = PostFactory()
    comment = CommentFactory(post=post)
    likers, repliers = readers(THREADS), readers(THREADS)
    for liker in likers:
        like_comment(comment=comment, user=liker)
    race(
        lambda i: unlike_comment(comment=comment, user=likers[i % THREADS]),
        lambda i: add_comment(
            post=post, author=repliers[i % THREADS], body=f"Reply {i}", parent=comment
        ),
    )
    likes_counted(comment)


def test_replying_to_a_comment_while_its_author_deletes_it():
    post = PostFactory()
    (author,) = readers(1)
    repliers = readers(THREADS)
    for round_number in range(ROUNDS):
        comment = CommentFactory(post=post, author=author)
        outcomes = race(
            lambda i, c=comment: add_comment(
                post=post, author=repliers[i % THREADS], body=f"Reply {i}", parent=c
            ),
            lambda i, c=comment: delete_comment(comment=c, user=author),
            rounds=1,
        )
        comment.refresh_from_db()
        assert comment.is_deleted
        stored = [o for o in outcomes if isinstance(o, Comment) and o.parent_id == comment.pk]
        assert comment.replies.count() == len(stored), round_number


def test_liking_a_comment_while_its_author_deletes_it():
    post = PostFactory()
    (author,) = readers(1)
    likers = readers(THREADS)
    for _round in range(ROUNDS):
        comment = CommentFactory(post=post, author=author)
        race(
            lambda i, c=comment: like_comment(comment=c, user=likers[i % THREADS]),
            lambda i, c=comment: delete_comment(comment=c, user=author),
            rounds=1,
        )
        likes_counted(comment)


# --- Editors moderating while readers write ---


def test_editing_a_comment_while_an_editor_hides_and_approves_it():
    post = PostFactory()
    (author,) = readers(1)
    editor = EditorFactory()
    comment = CommentFactory(post=post, author=author)
    race(
        lambda i: edit_comment(comment=comment, user=author, body=f"Edited {i}"),
        lambda i: set_comments_status(
            comments=[comment],
            status=Comment.Status.HIDDEN if i % 4 < 2 else Comment.Status.VISIBLE,
            moderator=editor,
        ),
    )
    comment.refresh_from_db()
    assert comment.body.startswith("Edited")


def test_commenting_while_an_editor_hides_comments_of_the_same_post():
    post = PostFactory()
    editor = EditorFactory()
    writers = readers(THREADS)
    existing = [CommentFactory(post=post) for _ in range(4)]
    outcomes = race(
        lambda i: add_comment(post=post, author=writers[i % THREADS], body=f"New {i}"),
        lambda i: set_comments_status(
            comments=existing[i % 3 :], status=Comment.Status.HIDDEN, moderator=editor
        ),
    )
    written = {o.pk for o in outcomes if isinstance(o, Comment)}
    assert len(written) == ROUNDS * THREADS // 2
    assert (
        set(Comment.objects.filter(post=post, body__startswith="New").values_list("pk", flat=True))
        == written
    )


def test_a_reader_commenting_while_an_editor_approves_their_earlier_comment():
    """The approval trusts the author (their record) while their next comment locks it."""
    post = PostFactory()
    editor = EditorFactory()
    for round_number in range(ROUNDS):
        (author,) = readers(1, trusted=False)
        held = add_comment(post=post, author=author, body="First words")
        assert held.status == Comment.Status.HELD
        outcomes = race(
            lambda i, a=author: add_comment(post=post, author=a, body=f"More words {i}"),
            lambda i, h=held: approve_comments(comments=[h], moderator=editor),
            rounds=1,
        )
        assert Commenter.objects.get(user=author).is_trusted, round_number
        written = {o.pk for o in outcomes if isinstance(o, Comment)}
        assert Comment.objects.filter(author=author).count() == len(written) + 1


def test_reporting_a_comment_while_an_editor_moderates_it():
    post = PostFactory()
    editor = EditorFactory()
    reporters = readers(ROUNDS * THREADS)
    comment = CommentFactory(post=post)
    outcomes = race(
        lambda i: report_comment(comment=comment, reporter=reporters[i], reason="spam"),
        lambda i: approve_comments(comments=[comment], moderator=editor),
    )
    reports = [o for o in outcomes if isinstance(o, CommentReport)]
    assert CommentReport.objects.filter(comment=comment).count() == len(reports)


def test_two_editors_moderating_overlapping_comments_in_opposite_order():
    post = PostFactory()
    first, second = EditorFactory(), EditorFactory()
    comments = [CommentFactory(post=post) for _ in range(6)]
    race(
        lambda i: set_comments_status(
            comments=comments,
            status=Comment.Status.HIDDEN if i % 4 < 2 else Comment.Status.REMOVED,
            moderator=first,
        ),
        lambda i: approve_comments(comments=list(reversed(comments)), moderator=second),
    )


# --- A post's thumbs up, beside its discussion ---


def test_one_reader_giving_and_taking_back_a_thumbs_up_at_once():
    post = PostFactory()
    (reader,) = readers(1)
    race(
        lambda i: set_thumbs_up(post=post, user=reader, given=True),
        lambda i: set_thumbs_up(post=post, user=reader, given=False),
        threads=20,
    )
    assert ThumbsUp.objects.filter(post=post, user=reader).count() in {0, 1}


def test_thumbs_up_and_comment_likes_on_one_post_at_once():
    post = PostFactory()
    comment = CommentFactory(post=post)
    people = readers(4)
    race(
        lambda i: set_thumbs_up(post=post, user=people[i % 4], given=i % 4 < 2),
        lambda i: (like_comment if i % 4 < 2 else unlike_comment)(
            comment=comment, user=people[i % 4]
        ),
    )
    likes_counted(comment)


# --- Votes ---


def votes_counted(poll) -> None:
    for choice in Choice.objects.filter(poll=poll):
        assert choice.tally == Vote.objects.filter(choice=choice).count(), choice.text


def test_voting_and_changing_votes_in_one_poll_at_once():
    poll = PollFactory(allow_vote_change=True)
    ids = list(poll.choices.order_by("id").values_list("pk", flat=True))
    people = readers(4, trusted=False)
    race(
        lambda i: cast_vote(poll=poll, choice_id=ids[i % 3], user=people[i % 4]),
        lambda i: cast_vote(poll=poll, choice_id=ids[(i + 1) % 3], user=people[i % 4]),
    )
    votes_counted(poll)
    assert Vote.objects.filter(poll=poll).count() == 4


def test_voting_while_an_editor_renames_the_choices():
    poll = PollFactory(allow_vote_change=True, choices=["Yes", "No", "Maybe"])
    people = readers(THREADS, trusted=False)
    ids = list(poll.choices.order_by("id").values_list("pk", flat=True))
    race(
        lambda i: cast_vote(poll=poll, choice_id=ids[(i // 2) % 3], user=people[i % THREADS]),
        lambda i: set_poll_choices(
            poll=poll, texts=["Yes!", "No!", "Maybe!"] if i % 4 < 2 else ["Yes", "No", "Maybe"]
        ),
    )
    votes_counted(poll)


def test_page_version_moves_on_with_every_write_of_a_race():
    """The page of a post raced on is never served from before the last write."""
    post = PostFactory()
    comment = CommentFactory(post=post)
    (reader,) = readers(1)
    before = page_version_moved_with(post.pk)
    race(
        lambda i: like_comment(comment=comment, user=reader),
        lambda i: unlike_comment(comment=comment, user=reader),
        rounds=1,
    )
    assert page_version_moved_with(post.pk) > before
