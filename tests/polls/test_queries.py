"""The post page's queries do not grow with the number of choices or votes."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from polls.models import Vote
from tests.factories import PollFactory, PostFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _render_every_time(settings):
    """These count what rendering costs: anonymous repeat visits would come from the page
    cache instead (tests/posts/test_page_cache.py)."""
    settings.POSTS_PAGE_CACHE_SECONDS = 0


def build_post(choices: int, votes: int, polls: int = 1):
    post = PostFactory()
    voters = UserFactory.create_batch(votes) if votes else []
    for _ in range(polls):
        poll = PollFactory(post=post, choices=[f"Choice {n}" for n in range(choices)])
        ids = list(poll.choices.values_list("pk", flat=True))
        Vote.objects.bulk_create(
            Vote(poll=poll, choice_id=ids[i % len(ids)], user=voter)
            for i, voter in enumerate(voters)
        )
    return post


def count_queries(client, post) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(post.get_absolute_url())
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("who", ["anonymous", "subscriber", "voted subscriber"])
def test_post_page_queries_do_not_grow_with_choices_or_votes(
    client, who, django_assert_num_queries
):
    small = build_post(choices=2, votes=0)
    big = build_post(choices=10, votes=60, polls=3)
    if who != "anonymous":
        reader = UserFactory()
        client.force_login(reader)
        if who == "voted subscriber":
            for post in (small, big):
                poll = post.polls.first()
                Vote.objects.create(poll=poll, choice=poll.choices.first(), user=reader)

    client.get(small.get_absolute_url())  # warm the session and other per-client caches
    with django_assert_num_queries(count_queries(client, small)):
        client.get(big.get_absolute_url())


def test_polls_cost_a_fixed_handful_of_queries(client):
    without_poll = PostFactory()
    with_poll = build_post(choices=10, votes=30, polls=2)
    reader = UserFactory()
    client.force_login(reader)
    client.get(without_poll.get_absolute_url())
    baseline = count_queries(client, without_poll)
    # Beyond the one query that finds no polls: the choices with their vote counts, the
    # reader's votes, and whether their email is verified (which the comments box may already
    # have asked for, as the answer is cached on the user for the request).
    assert count_queries(client, with_poll) - baseline <= 3


def test_an_email_link_page_adds_one_query(client):
    from urllib.parse import urlsplit

    from polls.services import vote_url

    post = build_post(choices=4, votes=20)
    poll = post.polls.first()
    reader = UserFactory()
    plain = count_queries(client, post)
    location = client.get(
        urlsplit(
            vote_url(poll_id=poll.pk, choice_id=poll.choices.first().pk, user_id=reader.pk)
        ).path
    )["Location"]
    with CaptureQueriesContext(connection) as queries:
        client.get(location)
    assert len(queries) == plain + 1
