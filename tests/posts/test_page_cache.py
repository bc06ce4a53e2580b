"""The anonymous page cache (posts/pagecache/): fast for the next reader, never stale.

Every test first makes an anonymous reader's visit store the page, checks the next visit is
served from memory (one query: the version numbers), then changes something the way a reader
or an editor does and checks the very next anonymous reader sees the change.
"""

import re
import time
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.db import connection
from django.middleware.csrf import _unmask_cipher_token
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from comments.models import Comment, Commenter
from comments.services import set_comments_status
from polls.models import Vote
from polls.services import vote_url
from posts.models import Post
from tests.factories import (
    EditorFactory,
    PollFactory,
    PostFactory,
    SubscriptionFactory,
    ThumbsUpFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def post(db):
    return PostFactory(slug="viral", title="A post that went viral")


@pytest.fixture
def poll(post):
    return PollFactory(
        post=post, choices=["Yes", "No"], question="Agreed?", show_results_before_voting=True
    )


@pytest.fixture
def voter(db):
    """A subscriber who may vote, comment and react, and whose comments are not held."""
    user = SubscriptionFactory().user
    Commenter.objects.create(user=user, is_trusted=True)
    client = Client()
    client.force_login(user)
    client.user = user
    return client


def stored_then_served_from_memory(url, django_assert_num_queries) -> str:
    """Visit url anonymously twice; the second visit must cost only the version lookup."""
    first = Client().get(url)
    assert first.status_code == HTTPStatus.OK
    with django_assert_num_queries(1):
        second = Client().get(url)
    assert second.status_code == HTTPStatus.OK
    assert second.content.decode().count("csrf") == first.content.decode().count("csrf")
    return second.content.decode()


def queries_for(url, client=None) -> int:
    """How many queries an anonymous visit to url costs (more than 1: it was rendered)."""
    with CaptureQueriesContext(connection) as queries:
        assert (client or Client()).get(url).status_code == HTTPStatus.OK
    return len(queries)


def fresh(url) -> str:
    response = Client().get(url)
    assert response.status_code == HTTPStatus.OK
    return response.content.decode()


def percent(page: str, choice: str) -> int:
    """The percentage the page shows for choice (anonymous readers see them before voting)."""
    found = re.search(rf">{choice}</span>\s*<span class=\"poll-percent\">(\d+)%", page)
    assert found, page
    return int(found.group(1))


def test_a_vote_shows_to_the_next_anonymous_reader(post, poll, voter, django_assert_num_queries):
    url = post.get_absolute_url()
    assert percent(stored_then_served_from_memory(url, django_assert_num_queries), "Yes") == 0
    yes, no = poll.choices.get(text="Yes"), poll.choices.get(text="No")
    response = voter.post(reverse("polls:vote", args=[poll.pk]), {"choice": yes.pk}, **HTMX)
    assert response.status_code == HTTPStatus.OK
    assert percent(fresh(url), "Yes") == 100
    # Changing the vote moves the percentages for the next reader too.
    stored_then_served_from_memory(url, django_assert_num_queries)
    voter.post(reverse("polls:vote", args=[poll.pk]), {"choice": no.pk}, **HTMX)
    page = fresh(url)
    assert (percent(page, "Yes"), percent(page, "No")) == (0, 100)


def test_a_comment_shows_to_the_next_anonymous_reader(post, voter, django_assert_num_queries):
    url = post.get_absolute_url()
    assert "0 comments" in stored_then_served_from_memory(url, django_assert_num_queries)
    response = voter.post(
        reverse("comments:create", kwargs={"slug": post.slug}),
        {"body": "Fresh thoughts on this."},
        **HTMX,
    )
    assert response.status_code == HTTPStatus.CREATED
    page = fresh(url)
    assert "1 comment" in page and "Fresh thoughts on this." in page


def test_a_comment_like_shows_to_the_next_anonymous_reader(post, voter, django_assert_num_queries):
    comment = Comment.objects.create(post=post, author=EditorFactory(), body="Liked soon.")
    url = post.get_absolute_url()
    assert "1 like" not in stored_then_served_from_memory(url, django_assert_num_queries)
    voter.post(reverse("comments:like", args=[comment.pk]), {"action": "like"}, **HTMX)
    assert "1 like" in fresh(url)


def test_a_thumbs_up_shows_to_the_next_anonymous_reader(post, voter, django_assert_num_queries):
    url = post.get_absolute_url()
    page = stored_then_served_from_memory(url, django_assert_num_queries)
    assert "0</span> readers gave" in page
    thumbs = reverse("posts:thumbs-up", kwargs={"slug": post.slug})
    assert voter.post(thumbs, {"given": "1"}, **HTMX).status_code == HTTPStatus.OK
    assert "1</span> reader gave" in fresh(url)
    stored_then_served_from_memory(url, django_assert_num_queries)
    voter.post(thumbs, {"given": "0"}, **HTMX)
    assert "0</span> readers gave" in fresh(url)


def test_moderation_shows_to_the_next_anonymous_reader(post, django_assert_num_queries):
    comment = Comment.objects.create(post=post, author=EditorFactory(), body="Rude words here.")
    url = post.get_absolute_url()
    assert "Rude words here." in stored_then_served_from_memory(url, django_assert_num_queries)
    # The admin action writes with update(); the table's trigger moves the version on.
    set_comments_status(comments=[comment], status=Comment.Status.HIDDEN, moderator=None)
    assert "Rude words here." not in fresh(url)


def test_an_editors_change_shows_on_home_and_post_pages(post, django_assert_num_queries):
    stored_then_served_from_memory("/", django_assert_num_queries)
    stored_then_served_from_memory(post.get_absolute_url(), django_assert_num_queries)
    post.title = "A better headline"
    post.save()
    assert "A better headline" in fresh("/")
    assert "A better headline" in fresh(post.get_absolute_url())


def test_a_scheduled_post_appears_when_its_time_comes(post, django_assert_num_queries):
    later = PostFactory(
        title="Out at noon",
        status=Post.Status.SCHEDULED,
        published_at=timezone.now() + timedelta(1),
    )
    assert "Out at noon" not in stored_then_served_from_memory("/", django_assert_num_queries)
    # Nothing is saved when the time comes; the clock alone publishes it (here: moved back).
    Post.objects.filter(pk=later.pk).update(published_at=timezone.now() - timedelta(seconds=1))
    assert "Out at noon" in fresh("/")


def test_logged_in_readers_never_get_the_anonymous_page(post, poll, voter):
    anonymous = fresh(post.get_absolute_url())  # now stored
    assert "to participate in polls" in anonymous and "Log out" not in anonymous
    mine = voter.get(post.get_absolute_url()).content.decode()
    assert "Log out" in mine and voter.user.public_name in mine
    assert "to participate in polls" not in mine
    assert 'name="choice"' in mine  # the vote form, not the anonymous invitation


def test_a_logged_in_readers_page_is_never_stored(post, poll, voter):
    voter.get(post.get_absolute_url())
    page = fresh(post.get_absolute_url())
    assert "Log out" not in page and voter.user.public_name not in page


def test_each_reader_gets_a_csrf_token_of_their_own_that_works(post, poll):
    first = Client(enforce_csrf_checks=True)
    first.get(post.get_absolute_url())
    second = Client(enforce_csrf_checks=True)
    page = second.get(post.get_absolute_url()).content.decode()
    secret = second.cookies["csrftoken"].value
    tokens = set(re.findall(r'"X-CSRFToken": "([A-Za-z0-9]{64})"', page))
    tokens |= set(re.findall(r'name="csrfmiddlewaretoken" value="([A-Za-z0-9]{64})"', page))
    assert tokens and all(_unmask_cipher_token(token) == secret for token in tokens)
    assert first.cookies["csrftoken"].value != secret
    # The token in the stored page lets this reader post a form (here: subscribe).
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = second.post(
        reverse("accounts:subscribe"),
        {"email": "new.reader@example.com", "csrfmiddlewaretoken": token, "source": "post"},
    )
    assert response.status_code != HTTPStatus.FORBIDDEN


def test_a_flash_message_is_shown_to_its_reader_only(post, voter, django_assert_num_queries):
    stored_then_served_from_memory(post.get_absolute_url(), django_assert_num_queries)
    voter.post(reverse("account_logout"))  # "You have signed out." waits for the next page
    page = voter.get(post.get_absolute_url()).content.decode()
    assert "signed out" in page
    assert "signed out" not in fresh(post.get_absolute_url())


def test_a_personal_email_vote_link_is_never_stored_or_shared(post, poll):
    reader = SubscriptionFactory().user
    link = vote_url(poll_id=poll.pk, choice_id=poll.choices.first().pk, user_id=reader.pk)
    target = Client().get(link.replace("http://testserver", ""))["Location"]
    assert "Confirm" in fresh(target)
    assert "Confirm to count your vote" not in fresh(post.get_absolute_url())


def test_campaign_tags_share_the_cache_other_parameters_do_not(post, django_assert_num_queries):
    stored_then_served_from_memory(
        post.get_absolute_url() + "?utm_source=newsletter", django_assert_num_queries
    )
    Client().get(post.get_absolute_url() + "?ref=elsewhere")
    assert queries_for(post.get_absolute_url() + "?ref=elsewhere") > 1


def test_a_poll_closing_before_the_next_visit_keeps_the_page_out(post):
    closes_at = timezone.now() + timedelta(seconds=2)
    PollFactory(post=post, closes_at=closes_at)
    assert "Reader poll · final results" not in fresh(post.get_absolute_url())
    # However long that render took (a busy machine), the next visit after the closing time
    # shows final results: the stored copy of the open poll did not outlive the closing.
    time.sleep(max(0.0, (closes_at - timezone.now()).total_seconds()) + 0.05)
    assert "Reader poll · final results" in fresh(post.get_absolute_url())


def test_the_cache_can_be_turned_off(post, settings, django_assert_num_queries):
    settings.POSTS_PAGE_CACHE_SECONDS = 0
    Client().get(post.get_absolute_url())
    assert queries_for(post.get_absolute_url()) > 1


def test_thumbs_up_from_a_factory_counts_too(post, django_assert_num_queries):
    """Rows written outside the services (admin, shell, scripts) move the version as well."""
    stored_then_served_from_memory(post.get_absolute_url(), django_assert_num_queries)
    ThumbsUpFactory(post=post)
    assert "1</span> reader gave" in fresh(post.get_absolute_url())


def test_show_more_comments_is_stored_and_fresh_after_a_comment(
    post, voter, django_assert_num_queries
):
    author = EditorFactory()
    Comment.objects.bulk_create(
        Comment(post=post, author=author, body=f"Early comment {n}.") for n in range(25)
    )
    url = reverse("comments:list", kwargs={"slug": post.slug}) + "?sort=oldest&page=2"
    assert Client().get(url, **HTMX).status_code == HTTPStatus.OK
    with django_assert_num_queries(1):
        assert "Early comment" in Client().get(url, **HTMX).content.decode()
    voter.post(
        reverse("comments:create", kwargs={"slug": post.slug}), {"body": "Late to this."}, **HTMX
    )
    assert "Late to this." in Client().get(url, **HTMX).content.decode()


def test_an_unlike_shows_to_the_next_anonymous_reader(post, voter, django_assert_num_queries):
    comment = Comment.objects.create(post=post, author=EditorFactory(), body="Liked, then not.")
    voter.post(reverse("comments:like", args=[comment.pk]), {"action": "like"}, **HTMX)
    assert "1 like" in stored_then_served_from_memory(
        post.get_absolute_url(), django_assert_num_queries
    )
    voter.post(reverse("comments:like", args=[comment.pk]), {"action": "unlike"}, **HTMX)
    assert "1 like" not in fresh(post.get_absolute_url())


def test_deleting_a_post_does_not_load_its_votes_one_by_one(django_assert_max_num_queries):
    post = PostFactory()
    poll = PollFactory(post=post, choices=["A", "B"])
    first = poll.choices.first()
    Vote.objects.bulk_create(
        Vote(poll=poll, choice=first, user=reader) for reader in UserFactory.create_batch(30)
    )
    with django_assert_max_num_queries(25):
        post.delete()


def test_a_newer_version_of_a_page_replaces_the_older_in_memory(post, poll, voter):
    from django.core.cache import caches

    stored = caches["pages"]._cache  # LocMemCache's own dict: what this process holds
    fresh(post.get_absolute_url())
    before = len(stored)
    for choice in poll.choices.all():
        voter.post(reverse("polls:vote", args=[poll.pk]), {"choice": choice.pk}, **HTMX)
        fresh(post.get_absolute_url())
    assert len(stored) == before
