"""`manage.py seed_bench`: the benchmark data set, small here, and never in production."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Subscription, User
from comments.models import Comment
from polls.models import Poll, Vote
from posts.models import Post, ThumbsUp
from tests.factories import PostFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db
SMALL = {"posts": 5, "subscribers": 20, "votes": 12, "comments": 30, "thumbs_up": 4}


def seed(*args, **options) -> str:
    out = StringIO()
    call_command("seed_bench", *args, stdout=out, **(SMALL | options))
    return out.getvalue()


def test_it_refuses_to_run_with_debug_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        seed()
    assert not Post.objects.exists()


def test_it_seeds_the_data_set_it_promises(settings):
    settings.DEBUG = True
    output = seed()
    assert "Seeded 5 posts, 20 subscribers, 12 votes and 30 comments" in output
    assert Post.objects.published().filter(slug__startswith="ffbench-").count() == 5
    readers = User.objects.filter(email__endswith="@bench.example", is_staff=False)
    assert readers.count() == 20
    assert Subscription.objects.filter(status=Subscription.Status.ACTIVE).count() == 20
    assert all(reader.can_participate for reader in readers)
    big = Post.objects.get(slug="ffbench-big-post")
    poll = Poll.objects.get(post=big)
    assert poll.choices.count() == 5
    assert Vote.objects.filter(poll=poll).values("user").distinct().count() == 12
    assert poll.results().total == 12
    comments = Comment.objects.filter(post=big)
    assert comments.count() == 30 and comments.filter(parent__isnull=False).exists()
    assert Comment.objects.filter(post__slug="ffbench-small-post").count() == 3
    assert ThumbsUp.objects.filter(post=big).count() == 4


def test_it_runs_once_and_resets_only_its_own_rows(settings):
    settings.DEBUG = True
    mine = PostFactory(title="A real post")
    subscriber = SubscriptionFactory().user
    seed()
    assert "already there" in seed()
    assert Post.objects.filter(slug__startswith="ffbench-").count() == 5
    seed("--reset", posts=3)
    assert Post.objects.filter(slug__startswith="ffbench-").count() == 3
    assert Post.objects.filter(pk=mine.pk).exists()
    assert User.objects.filter(pk=subscriber.pk).exists()
    assert User.objects.filter(email__endswith="@bench.example", is_staff=False).count() == 20


def test_force_runs_it_with_debug_off_on_a_scratch_database(settings):
    settings.DEBUG = False
    assert "Seeded" in seed("--force")


@pytest.mark.django_db(transaction=True)
def test_a_database_holding_only_the_bench_set_is_emptied_whole(settings):
    settings.DEBUG = True
    seed()
    assert "bench tables emptied" in seed("--reset", subscribers=15, votes=10)
    assert User.objects.filter(email__endswith="@bench.example", is_staff=False).count() == 15
    assert Vote.objects.count() == 10 + 7  # the big poll's, and the small poll's few
