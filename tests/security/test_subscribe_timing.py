"""Subscribing answers a known and a new address in the same time.

The page and status were already the same (test_enumeration.py); the time was not: a new address
made an account, its email row and its subscription before answering, a known one only read
them, and from outside that showed (about 5 ms over 30 tries each, p = 0.0003). Now the request
does the same work for both, and a task makes the account and sends the code afterwards.

The test measures the real, deferred path: tasks go to the database queue with no worker
running (as in production, where `db_worker` runs them in another process), and every request
commits for real (transaction=True). Known and new addresses are interleaved in a random order,
each from a fresh browser and its own client address (so the limits per IP address stay as
configured and are not what is measured), and a two-sided Mann-Whitney U test must not tell the
two samples apart. Then the queued tasks run, and both kinds of address get their code and can
use it: the behaviour is unchanged, only its timing moved.
"""

import gc
import math
import random
import time
from http import HTTPStatus

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from accounts.models import Subscription, User
from tests.conftest import code_from_mail
from tests.factories import SubscriptionFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

SUBSCRIBE = reverse("accounts:subscribe")
CONFIRM = reverse("account_confirm_login_code")
PER_KIND = 40
WARM_UP = 6
# The level at which the test would call the two samples different. The old code was told
# apart at p < 1e-6 by this very test, so a strict level costs no power, and a fair path fails
# it once in a thousand runs at most.
ALPHA = 0.001


def mann_whitney_p(first: list[float], second: list[float]) -> float:
    """Two-sided p-value of the Mann-Whitney U test (normal approximation, ties corrected)."""
    pooled = sorted([(value, 0) for value in first] + [(value, 1) for value in second])
    ranks = [0.0] * len(pooled)
    ties = 0.0
    start = 0
    while start < len(pooled):
        end = start
        while end + 1 < len(pooled) and pooled[end + 1][0] == pooled[start][0]:
            end += 1
        for index in range(start, end + 1):
            ranks[index] = (start + end) / 2 + 1
        size = end - start + 1
        ties += size**3 - size
        start = end + 1
    n1, n2 = len(first), len(second)
    rank_sum = sum(rank for rank, (_, group) in zip(ranks, pooled, strict=True) if group == 0)
    u = rank_sum - n1 * (n1 + 1) / 2
    n = n1 + n2
    variance = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1)))
    z = (u - n1 * n2 / 2) / math.sqrt(variance)
    return math.erfc(abs(z) / math.sqrt(2))


def test_the_statistic_tells_a_real_difference_and_not_an_absent_one():
    """The test has power: a 5 ms shift in noisy timings is found; the same noise is not."""
    rng = random.Random(7)
    base = [0.020 + rng.expovariate(1 / 0.004) for _ in range(2 * PER_KIND)]
    same_a, same_b = base[:PER_KIND], base[PER_KIND:]
    shifted = [value + 0.005 for value in same_b]
    assert mann_whitney_p(same_a, same_b) > ALPHA
    assert mann_whitney_p(same_a, shifted) < ALPHA


def _timed_post(client: Client, email: str, address: str) -> tuple[float, object]:
    started = time.perf_counter()
    response = client.post(SUBSCRIBE, {"email": email, "source": "timing"}, REMOTE_ADDR=address)
    return time.perf_counter() - started, response


def test_known_and_new_addresses_are_answered_in_the_same_time(settings, mailoutbox):
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }
    known = [SubscriptionFactory().user.email for _ in range(PER_KIND - 2)]
    # A known address that unsubscribed (subscribing again makes it pending), and one with an
    # account but no subscription: the old code did a little more for both.
    known.append(
        SubscriptionFactory(status=Subscription.Status.UNSUBSCRIBED).user.email,
    )
    known.append(UserFactory().email)
    new = [f"new-reader-{index}@example.com" for index in range(PER_KIND)]
    plan = [("known", email) for email in known] + [("new", email) for email in new]
    random.Random(20240518).shuffle(plan)
    accounts_before = User.objects.count()

    for index in range(WARM_UP):  # connections, templates, caches: none of it is measured
        _timed_post(Client(), f"warm-up-{index}@example.com", f"127.0.9.{index + 1}")

    times: dict[str, list[float]] = {"known": [], "new": []}
    clients: dict[str, Client] = {}
    answers = set()
    gc.collect()
    for index, (kind, email) in enumerate(plan):
        client = Client()
        elapsed, response = _timed_post(
            client, email, f"127.0.{index // 200 + 1}.{index % 200 + 1}"
        )
        times[kind].append(elapsed)
        clients[email] = client
        answers.add((response.status_code, response["Location"]))

    p = mann_whitney_p(times["known"], times["new"])
    medians = {kind: sorted(values)[len(values) // 2] * 1000 for kind, values in times.items()}
    assert p > ALPHA, f"known and new addresses are told apart by time: p = {p:.2g}, {medians} ms"
    # The same answer for everyone: a redirect to the page that asks for the code.
    assert answers == {(HTTPStatus.FOUND, CONFIRM)}
    # Nothing was made or sent while answering: that is the task's work.
    assert User.objects.count() == accounts_before
    assert mailoutbox == []

    call_command("db_worker", batch=True, startup_delay=False, reload=False, verbosity=0)

    by_address = {message.to[0]: message for message in mailoutbox}
    warm_ups = {f"warm-up-{index}@example.com" for index in range(WARM_UP)}
    assert set(by_address) == set(known) | set(new) | warm_ups
    assert len(mailoutbox) == len(by_address)
    assert User.objects.count() == accounts_before + PER_KIND + WARM_UP
    for email in new:
        subscription = Subscription.objects.get(user__email=email)
        assert (subscription.status, subscription.source) == ("pending", "timing")

    # Each code works in the browser that asked for it, for a known and a new address alike.
    for email in (known[0], new[0], known[-2]):
        client = clients[email]
        page = client.get(CONFIRM)
        assert page.status_code == HTTPStatus.OK
        assert email in page.content.decode()
        response = client.post(CONFIRM, {"code": code_from_mail(by_address[email])})
        assert response.status_code == HTTPStatus.FOUND
        assert client.get("/").context["user"].email == email
        assert Subscription.objects.get(user__email=email).status == "active"
