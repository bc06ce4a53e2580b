"""Rate limits on readers' actions, counted in one statement per check (accounts.ratelimits)."""

from datetime import timedelta

import pytest
from django.test import RequestFactory
from django.utils import timezone

from accounts import ratelimits
from accounts.models import RateLimit
from tests.concurrency import failures, run_at_once
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def limits(settings):
    settings.ACCOUNT_RATE_LIMITS = {
        **settings.ACCOUNT_RATE_LIMITS,
        "vote": "3/m/user",
        "subscribe": "2/h/ip,1/h/key",
    }


def request_from(address="203.0.113.5", user=None):
    request = RequestFactory().post("/", REMOTE_ADDR=address)
    request.user = user
    return request


def vote(user):
    return ratelimits.consume(request_from(user=user), action="vote", user=user)


def test_a_reader_gets_the_allowance_then_refusals_that_cost_nothing(limits):
    reader, other = UserFactory(), UserFactory()
    assert [vote(reader) for _ in range(5)] == [True, True, True, False, False]
    assert vote(other)  # each reader has their own allowance
    # Refused attempts were not counted: once the window ends the whole allowance is back.
    RateLimit.objects.update(window_ends=timezone.now() - timedelta(seconds=1))
    assert [vote(reader) for _ in range(4)] == [True, True, True, False]


def test_a_request_refused_by_one_limit_counts_against_none(limits):
    def subscribe(email):
        return ratelimits.consume(request_from(), action="subscribe", key=email)

    assert subscribe("ada@example.com")
    assert not subscribe("ada@example.com")  # the address's one try per hour
    # The refusal gave back its place under the per-address limit, so a second address works.
    assert subscribe("grace@example.com")
    assert not subscribe("alan@example.com")  # now the per-address limit (2/h) is used up


def test_actions_without_limits_are_always_allowed(limits):
    assert all(ratelimits.consume(request_from(), action="not-limited") for _ in range(50))


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_never_take_more_than_the_allowance(limits):
    """Twelve requests of one reader at the same moment (on as many connections, as on several
    servers): exactly the allowance passes."""
    reader = UserFactory()
    outcomes = run_at_once(12, lambda i: vote(reader))
    assert failures(outcomes) == []
    assert sorted(outcomes) == [False] * 9 + [True] * 3


def test_ended_windows_are_purged():
    RateLimit.objects.create(key="old", hits=3, window_ends=timezone.now() - timedelta(hours=1))
    RateLimit.objects.create(key="live", hits=1, window_ends=timezone.now() + timedelta(hours=1))
    assert RateLimit.objects.purge_expired() == 1
    assert list(RateLimit.objects.values_list("key", flat=True)) == ["live"]
