"""Each choice's tally (kept by PostgreSQL triggers) always equals its number of votes, however
the votes are written, and reading results costs the same at 3 votes and at 3,000."""

import pytest
from django.db.models import Count

from polls.models import Choice, Vote
from polls.services import cast_vote
from tests.concurrency import run_at_once
from tests.factories import PollFactory, UserFactory

pytestmark = pytest.mark.django_db


def tallies(poll) -> dict[str, int]:
    return dict(poll.choices.values_list("text", "tally"))


def counted(poll) -> dict[str, int]:
    return dict(poll.choices.annotate(n=Count("votes")).values_list("text", "n"))


def test_votes_cast_changed_and_deleted_move_the_tally():
    poll = PollFactory(choices=["Yes", "No"])
    yes, no = poll.choices.get(text="Yes"), poll.choices.get(text="No")
    readers = UserFactory.create_batch(3)
    for reader in readers:
        cast_vote(poll=poll, choice_id=yes.pk, user=reader)
    assert tallies(poll) == {"Yes": 3, "No": 0}
    cast_vote(poll=poll, choice_id=no.pk, user=readers[0])
    assert tallies(poll) == {"Yes": 2, "No": 1}
    Vote.objects.filter(user=readers[1]).delete()
    assert tallies(poll) == {"Yes": 1, "No": 1}
    readers[2].delete()  # the vote stays, anonymously, and still counts
    assert tallies(poll) == {"Yes": 1, "No": 1} == counted(poll)


def test_bulk_writes_and_mass_updates_keep_the_tally():
    poll = PollFactory(choices=["A", "B", "C"])
    a, b, c = (poll.choices.get(text=t) for t in "ABC")
    readers = UserFactory.create_batch(30)
    Vote.objects.bulk_create(
        Vote(poll=poll, choice=[a, b, c][i % 3], user=reader) for i, reader in enumerate(readers)
    )
    assert tallies(poll) == {"A": 10, "B": 10, "C": 10}
    Vote.objects.filter(choice=a).update(choice=c)  # raw mass change, no signals
    Vote.objects.filter(choice=b).update(updated_at=b.poll.created_at)  # no change of choice
    assert tallies(poll) == {"A": 0, "B": 10, "C": 20} == counted(poll)


def test_deleting_a_choice_or_a_poll_takes_its_votes_along():
    poll = PollFactory(choices=["Keep", "Drop"])
    keep, drop = poll.choices.get(text="Keep"), poll.choices.get(text="Drop")
    for index, reader in enumerate(UserFactory.create_batch(4)):
        Vote.objects.create(poll=poll, choice=keep if index % 2 else drop, user=reader)
    drop.delete()
    assert tallies(poll) == {"Keep": 2} == counted(poll)
    poll.delete()
    assert not Choice.objects.filter(pk=keep.pk).exists()


def test_results_read_the_tally_in_one_query(django_assert_num_queries):
    poll = PollFactory(choices=["Yes", "No"])
    yes = poll.choices.get(text="Yes")
    Vote.objects.bulk_create(
        Vote(poll=poll, choice=yes, user=u) for u in UserFactory.create_batch(7)
    )
    with django_assert_num_queries(1):
        results = poll.results()
    assert [(row.text, row.votes, row.percent) for row in results.rows] == [
        ("Yes", 7, 100),
        ("No", 0, 0),
    ]


@pytest.mark.django_db(transaction=True)
def test_readers_swapping_choices_at_the_same_moment_neither_deadlock_nor_miscount():
    poll = PollFactory(choices=["Left", "Right"])
    left, right = poll.choices.get(text="Left"), poll.choices.get(text="Right")
    readers = UserFactory.create_batch(12)
    for index, reader in enumerate(readers):
        cast_vote(poll=poll, choice_id=(left if index % 2 else right).pk, user=reader)

    # Half move left to right while the other half move right to left, all at once.
    def swap(index):
        target = right if index % 2 else left
        return cast_vote(poll=poll, choice_id=target.pk, user=readers[index])

    outcomes = run_at_once(len(readers), swap)
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert tallies(poll) == {"Left": 6, "Right": 6} == counted(poll)
