"""The lease workers hold rows with (newsletter.leases), shared by newsletter sends and the
welcome series: on real PostgreSQL, with workers in real threads, each on its own connection.

A reader's row is in one worker's hands at a time: a worker that renews in time keeps its rows
however long it takes, one whose lease ran out learns that the rows are no longer its own, and
a release gives back only the rows the releasing worker still holds."""

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from newsletter import audience, welcome
from newsletter.models import Newsletter, WelcomeEmail, WelcomeProgress, WelcomeStep
from tests.concurrency import failures, run_at_once
from tests.factories import SubscriptionFactory, UserFactory, ensure_default_newsletter

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def series():
    """A newsletter whose one-step series is due for 12 readers; return its readers' rows."""
    ensure_default_newsletter()
    newsletter = Newsletter.objects.create(name="Digest", slug="digest", is_default=False)
    # Due an hour after entering, so entering sends nothing yet; then they entered 2 hours ago.
    WelcomeStep.objects.create(
        newsletter=newsletter, position=0, subject="Welcome", body="<p>Hello.</p>", delay_hours=1
    )
    for index in range(12):
        user = UserFactory(email=f"lease{index}@example.com")
        SubscriptionFactory(user=user)
        audience.join(user=user, newsletters=[newsletter], source="test")
    rows = WelcomeProgress.objects.filter(newsletter=newsletter)
    rows.update(started_at=timezone.now() - timedelta(hours=2), due_at=timezone.now())
    assert rows.count() == 12
    return rows


def test_a_slow_worker_keeps_its_rows_while_another_keeps_claiming(settings, smtp, series):
    # A mail server that takes 0.55 s per message: the first worker needs about 6.6 s for its
    # batch, longer than its 6-second lease, and must renew it (every 3 s) while a second
    # worker asks for due rows all along. A pause of the first worker's thread shorter than
    # 2.4 s (half the lease less one message) leaves its lease intact. Without the renewal the
    # second worker would take the rows the first is still going through, and some readers
    # would get two emails.
    settings.NEWSLETTER_LEASE_SECONDS = 6
    smtp.handler.on_data = lambda handler, server, envelope: time.sleep(0.55)
    outcomes = {}

    def slow():
        try:
            outcomes["slow"] = welcome.run_due(worker_id="slow")
        finally:
            connection.close()

    first = threading.Thread(target=slow)
    first.start()
    while not WelcomeProgress.objects.filter(claimed_by="slow").exists():
        assert first.is_alive(), "the first worker ended without claiming anything"
        time.sleep(0.01)
    other = Counter()
    while first.is_alive():
        other.update(welcome.run_due(worker_id="other"))
        time.sleep(0.05)
    first.join()

    # Every reader got the step exactly once, all from the worker that claimed them first.
    recipients = Counter(message["To"] for message in smtp.handler.messages)
    assert recipients == Counter(row.user.email for row in series.select_related("user"))
    assert outcomes["slow"] == {"sent": 12}
    assert sum(other.values()) == 0
    assert set(WelcomeEmail.objects.values_list("worker", flat=True)) == {"slow"}
    assert set(series.values_list("status", flat=True)) == {WelcomeProgress.Status.DONE}


def test_renewing_an_expired_lease_races_a_new_claim_and_one_worker_wins_each_row(series):
    # Worker "a" holds every row but its lease has run out; at the same moment it renews and
    # "b" claims. Whoever locks a row first has it: never both, never neither.
    ids = set(series.values_list("pk", flat=True))
    for _ in range(5):
        series.update(claimed_by="a", available_at=timezone.now() - timedelta(seconds=1))

        def race(index):
            if index == 0:
                return WelcomeProgress.objects.waiting().filter(pk__in=ids).renew_lease("a")
            return set(WelcomeProgress.objects.due().order_by("pk").claim("b", limit=len(ids)))

        outcomes = run_at_once(2, race)
        assert failures(outcomes) == []
        kept, taken = outcomes
        assert kept | taken == ids
        assert not kept & taken
        holders = dict(series.values_list("pk", "claimed_by"))
        assert {pk for pk, worker in holders.items() if worker == "a"} == kept
        assert {pk for pk, worker in holders.items() if worker == "b"} == taken
        # Nobody else can take any of them now: each is under a live lease.
        assert WelcomeProgress.objects.due().claim("c", limit=len(ids)) == []


def test_releasing_gives_back_only_the_rows_the_worker_still_holds(series):
    # "a" claimed every row, lost half of them to "b" after its lease ran out, and now gives
    # its batch back (its mail server went away) while "b" renews its own half.
    ids = sorted(series.values_list("pk", flat=True))
    assert WelcomeProgress.objects.due().order_by("pk").claim("a", limit=len(ids)) == ids
    lost = ids[: len(ids) // 2]
    WelcomeProgress.objects.filter(pk__in=lost).update(
        available_at=timezone.now() - timedelta(seconds=1)
    )
    assert WelcomeProgress.objects.due().order_by("pk").claim("b", limit=len(ids)) == lost

    def race(index):
        rows = WelcomeProgress.objects.waiting().filter(pk__in=ids)
        return rows.release("a") if index == 0 else rows.renew_lease("b")

    outcomes = run_at_once(2, race)
    assert failures(outcomes) == []
    assert outcomes == [len(ids) - len(lost), set(lost)]
    # "b" still holds its rows under a live lease; the rest are free for anyone at once.
    assert set(WelcomeProgress.objects.held_by("b").values_list("pk", flat=True)) == set(lost)
    free = WelcomeProgress.objects.due().order_by("pk").claim("c", limit=len(ids))
    assert free == ids[len(lost) :]
