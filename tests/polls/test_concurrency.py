"""Votes arriving at the same moment, on real PostgreSQL connections in real threads."""

import re
from http import HTTPStatus

import pytest
from django.test import Client

from polls.models import Vote
from polls.services import VoteError, cast_vote
from tests.concurrency import run_at_once
from tests.factories import PollFactory, UserFactory
from tests.polls.conftest import choice_ids

pytestmark = pytest.mark.django_db(transaction=True)


def test_one_reader_voting_many_times_at_once_ends_with_one_vote():
    poll = PollFactory()
    reader = UserFactory()
    first = choice_ids(poll)[0]

    outcomes = run_at_once(12, lambda i: cast_vote(poll=poll, choice_id=first, user=reader))

    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert Vote.objects.filter(poll=poll).count() == 1
    assert sorted(o.outcome.value for o in outcomes).count("created") == 1


def test_one_reader_switching_choices_at_once_ends_with_one_vote():
    poll = PollFactory()
    reader = UserFactory()
    ids = choice_ids(poll)

    outcomes = run_at_once(
        12, lambda i: cast_vote(poll=poll, choice_id=ids[i % len(ids)], user=reader)
    )

    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    votes = list(Vote.objects.filter(poll=poll))
    assert len(votes) == 1 and votes[0].choice_id in ids


def test_one_reader_who_may_not_change_gets_one_vote_and_clear_refusals():
    poll = PollFactory(allow_vote_change=False)
    reader = UserFactory()
    ids = choice_ids(poll)

    outcomes = run_at_once(
        12, lambda i: cast_vote(poll=poll, choice_id=ids[i % len(ids)], user=reader)
    )

    unexpected = [o for o in outcomes if isinstance(o, Exception) and not isinstance(o, VoteError)]
    assert not unexpected, unexpected
    vote = Vote.objects.get(poll=poll)
    # Every refusal is the "cannot be changed" one, and only for a choice other than the winner.
    for index, outcome in enumerate(outcomes):
        if isinstance(outcome, VoteError):
            assert outcome.status == 409 and ids[index % len(ids)] != vote.choice_id


def test_many_readers_voting_at_once_each_get_exactly_one_vote():
    poll = PollFactory()
    readers = UserFactory.create_batch(16)
    ids = choice_ids(poll)

    outcomes = run_at_once(
        16, lambda i: cast_vote(poll=poll, choice_id=ids[i % len(ids)], user=readers[i])
    )

    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert Vote.objects.filter(poll=poll).count() == 16
    assert poll.results().total == 16


def _logged_in_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_many_readers_posting_at_once_through_the_site_all_count_with_no_errors():
    poll = PollFactory()
    readers = UserFactory.create_batch(10)
    clients = [_logged_in_client(reader) for reader in readers]
    ids = choice_ids(poll)
    url = f"/polls/{poll.pk}/vote/"

    outcomes = run_at_once(
        10, lambda i: clients[i].post(url, {"choice": ids[i % len(ids)]}).status_code
    )

    assert outcomes == [HTTPStatus.FOUND] * 10
    assert Vote.objects.filter(poll=poll).count() == 10


def test_one_reader_posting_many_times_at_once_through_the_site_gets_one_vote():
    poll = PollFactory()
    reader = UserFactory()
    clients = [_logged_in_client(reader) for _ in range(10)]
    first = choice_ids(poll)[0]
    url = f"/polls/{poll.pk}/vote/"

    outcomes = run_at_once(10, lambda i: clients[i].post(url, {"choice": first}).status_code)

    # The rate limiter may turn some away (429) while it is busy; never a server error.
    assert set(outcomes) <= {HTTPStatus.FOUND, HTTPStatus.TOO_MANY_REQUESTS}, outcomes
    assert HTTPStatus.FOUND in outcomes
    assert Vote.objects.filter(poll=poll).count() == 1


def test_readers_voting_at_once_in_place_each_see_their_own_vote_counted():
    """htmx votes from real threads: every answer's results include the reader's own vote (the
    tallies come back with it), the tallies end exact, and the post's page moved on."""
    from polls.models import Choice
    from posts.pagecache import numbers, post_key

    poll = PollFactory()
    readers = UserFactory.create_batch(12)
    clients = [_logged_in_client(reader) for reader in readers]
    ids = choice_ids(poll)
    url = f"/polls/{poll.pk}/vote/"
    before = numbers().get(post_key(poll.post_id), 0)

    responses = run_at_once(
        12,
        lambda i: clients[i].post(url, {"choice": ids[i % len(ids)]}, HTTP_HX_REQUEST="true"),
    )

    assert not [r for r in responses if isinstance(r, Exception)], responses
    for index, response in enumerate(responses):
        assert response.status_code == HTTPStatus.OK
        page = response.content.decode()
        assert "Thanks, your vote is counted." in page
        assert "Your vote" in page
        # Whoever went first saw 1 voter, the last 12: never fewer than their own vote.
        shown = int(re.search(r"(\d+) voters?\b", page).group(1))
        assert 1 <= shown <= 12, (index, shown)
    tallies = dict(Choice.objects.filter(poll=poll).values_list("pk", "tally"))
    assert tallies == {pk: sum(1 for i in range(12) if ids[i % len(ids)] == pk) for pk in ids}
    assert numbers()[post_key(poll.post_id)] > before
