"""The demo content includes polls with votes, and loading it twice changes nothing."""

import pytest
from django.core.management import call_command

from polls.models import Choice, Poll, Vote

pytestmark = pytest.mark.django_db


def test_seed_demo_adds_polls_with_votes_once(client):
    call_command("seed_demo", stdout=None)
    counts = (Poll.objects.count(), Choice.objects.count(), Vote.objects.count())
    assert counts[0] >= 1 and counts[2] >= 1
    poll = Poll.objects.order_by("id").first()
    assert poll.question.startswith("How do you feel about")
    assert poll.results().total > 0 and len(poll.votes_per_day()) >= 1

    call_command("seed_demo", stdout=None)
    assert (Poll.objects.count(), Choice.objects.count(), Vote.objects.count()) == counts

    html = client.get(poll.post.get_absolute_url()).content.decode()
    assert poll.question in html and "to participate in polls." in html
