"""Poll, Choice and Vote: rules about one row, and the database's guarantees."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from polls.models import Poll, Vote, percentages
from tests.factories import PollFactory, UserFactory, VoteFactory
from tests.polls.conftest import choice_ids

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ([0, 0, 0], [0, 0, 0]),
        ([1, 1, 1], [34, 33, 33]),
        ([1, 0], [100, 0]),
        ([2, 1], [67, 33]),
        ([1, 1, 1, 1, 1, 1, 1], [15, 15, 14, 14, 14, 14, 14]),
    ],
)
def test_percentages_are_whole_and_add_up_to_100(counts, expected):
    assert percentages(counts) == expected
    assert sum(expected) in {0, 100}


def test_status_follows_opening_and_closing_times():
    now = timezone.now()
    poll = PollFactory(opens_at=now + timedelta(hours=1), closes_at=now + timedelta(days=1))
    assert poll.status(now) == Poll.Status.SCHEDULED and not poll.is_open(now)
    assert poll.status(now + timedelta(hours=2)) == Poll.Status.OPEN
    assert poll.status(now + timedelta(days=1)) == Poll.Status.CLOSED
    assert list(Poll.objects.open(now + timedelta(hours=2))) == [poll]
    assert list(Poll.objects.open(now)) == []
    assert list(Poll.objects.open(now + timedelta(days=2))) == []


def test_a_poll_without_times_is_open_for_good():
    poll = PollFactory()
    assert poll.is_open(timezone.now() + timedelta(days=3650))


def test_database_refuses_a_poll_closing_before_it_opens():
    now = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        PollFactory(opens_at=now, closes_at=now - timedelta(minutes=1))


def test_results_come_from_one_query(django_assert_num_queries):
    poll = PollFactory(choices=["A", "B", "C"])
    a, b, c = poll.choices.order_by("position")
    VoteFactory.create_batch(2, poll=poll, choice=b)
    VoteFactory(poll=poll, choice=c)
    with django_assert_num_queries(1):
        results = poll.results()
    assert [(r.text, r.votes, r.percent) for r in results.rows] == [
        ("A", 0, 0),
        ("B", 2, 67),
        ("C", 1, 33),
    ]
    assert results.total == 3
    assert results.leader_ids == {b.pk}


def test_one_vote_per_reader_per_poll_is_a_database_rule(poll):
    reader = UserFactory()
    first, second, _third = choice_ids(poll)
    Vote.objects.create(poll=poll, choice_id=first, user=reader)
    with pytest.raises(IntegrityError), transaction.atomic():
        Vote.objects.create(poll=poll, choice_id=second, user=reader)
    assert Vote.objects.filter(poll=poll).count() == 1


def test_database_refuses_a_vote_for_another_polls_choice(poll):
    other = PollFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Vote.objects.create(poll=poll, choice=other.choices.first(), user=UserFactory())
    assert not Vote.objects.exists()


def test_deleted_readers_votes_stay_and_results_do_not_change(poll):
    first, second, _ = choice_ids(poll)
    readers = UserFactory.create_batch(3)
    for reader, choice_id in zip(readers, [first, first, second], strict=True):
        Vote.objects.create(poll=poll, choice_id=choice_id, user=reader)
    before = poll.results()

    for reader in readers[:2]:  # two anonymous votes must be able to live side by side
        reader.delete()

    assert poll.results() == before
    assert Vote.objects.filter(poll=poll, user__isnull=True).count() == 2


def test_votes_per_day_includes_quiet_days(poll):
    start = timezone.now().replace(hour=12) - timedelta(days=3)
    VoteFactory(poll=poll, created_at=start)
    VoteFactory(poll=poll, created_at=start)
    VoteFactory(poll=poll, created_at=start + timedelta(days=2))
    days = poll.votes_per_day()
    assert [count for _day, count in days] == [2, 0, 1]
    assert days[1][0] - days[0][0] == timedelta(days=1)


def test_strings_and_urls(poll):
    assert str(poll) == "How do you feel about the four-day week?"
    assert str(poll.choices.first()) == "Hopeful"
    assert poll.get_absolute_url() == f"/p/{poll.post.slug}/#poll-{poll.pk}"
    assert "deleted reader" in str(VoteFactory(poll=poll, user=None))
