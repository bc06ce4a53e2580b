"""Scale-out, proven on loopback: two gunicorn servers and two task workers on one PostgreSQL.

Readers' requests go to both servers at once, the way a load balancer spreads them, and the
database must end up exactly as if one server had handled them one by one: one subscription per
reader however often they click, no lost or doubled sign-up, one email per code, rate limits
counted across servers, and every task run by exactly one of the workers. Then PostgreSQL
restarts under load and the site must come back by itself, losing nothing it had acknowledged.

Adding traffic (polls, comments, the newsletter send): subclass Traffic, build the rows in
prepare() and return one callable per reader (it runs in its own thread, alongside everyone
else's), check the database in verify(), and append the class to TRAFFIC.
"""

from __future__ import annotations

import itertools
import random
import secrets
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from allauth.account.models import EmailAddress
from django.db import connection
from django.test import Client

from accounts.models import Subscription, User
from tests.factories import UserFactory
from tests.production.procs import (
    STRONG_KEY,
    Gunicorn,
    Response,
    Visitor,
    Worker,
    get,
    production_env,
    wait_until,
)

pytestmark = pytest.mark.django_db(transaction=True)

ACCOUNT = "/account/"
SUBSCRIBE = "/subscribe/"


@dataclass
class Cluster:
    servers: list[Gunicorn]
    workers: list[Worker]
    mailbox: object

    @property
    def ports(self) -> list[int]:
        return [server.port for server in self.servers]

    def port(self, i: int) -> int:
        """The i-th request of a reader goes to the next server: round robin."""
        return self.ports[i % len(self.ports)]


@pytest.fixture(scope="module")
def cluster(production_dirs, smtp_server, tmp_path_factory):
    log_dir = tmp_path_factory.mktemp("cluster")
    env = production_env(
        **production_dirs,
        # Plain HTTP on loopback; the load balancer in front is simulated by X-Forwarded-For.
        DJANGO_SECURE_COOKIES="false",
        DJANGO_SECURE_SSL_REDIRECT="false",
        DJANGO_TRUSTED_PROXY_COUNT="1",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp_server.port),
        SITE_URL="http://127.0.0.1",
        DJANGO_LOG_FORMAT="json",
    )
    processes = []
    try:
        servers = [Gunicorn(name, env, log_dir) for name in ("web-a", "web-b")]
        processes += servers
        workers = [Worker(name, env, log_dir) for name in ("worker-a", "worker-b")]
        processes += workers
        for server in servers:
            server.wait_until_up()
        yield Cluster(servers, workers, smtp_server)
    finally:
        for process in processes:
            process.stop()


@pytest.fixture
def shared_secret(settings):
    # Sessions made here (force_login) are signed with SECRET_KEY; the servers must read them.
    settings.SECRET_KEY = STRONG_KEY


@pytest.fixture
def db_tasks(settings):
    """Enqueue into the real database queue the workers read, not the test's immediate backend."""
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }


def logged_in_visitor(user, n: int) -> Visitor:
    client = Client()
    client.force_login(user)
    return Visitor(
        forwarded_for=f"198.51.100.{n % 250 + 1}",
        cookies={"sessionid": client.cookies["sessionid"].value},
    )


def run_concurrently(calls, max_workers: int = 12) -> None:
    with ThreadPoolExecutor(max_workers=max_workers) as pool:
        for future in [pool.submit(call) for call in calls]:
            future.result()


class Traffic:
    """One kind of reader traffic through the cluster and the state it must leave behind."""

    def __init__(self, cluster: Cluster):
        self.cluster = cluster
        self.responses: list[Response] = []
        self._lock = threading.Lock()

    def record(self, response: Response) -> Response:
        with self._lock:
            self.responses.append(response)
        return response

    def prepare(self) -> list:
        raise NotImplementedError

    def verify(self) -> None:
        raise NotImplementedError

    def assert_no_server_errors(self) -> None:
        failed = [r.status for r in self.responses if r.status is None or r.status >= 500]
        assert failed == [], f"{type(self).__name__}: {len(failed)} failed requests"


class NewsletterDoubleSubmit(Traffic):
    """Logged-in readers turn the newsletter on, clicking twice: once through each server."""

    readers = 10

    def prepare(self):
        self.users = UserFactory.create_batch(self.readers)
        return [self.reader(n, user) for n, user in enumerate(self.users)]

    def reader(self, n, user):
        def act():
            visitor = logged_in_visitor(user, n)
            page = self.record(visitor.request(self.cluster.port(n), "GET", ACCOUNT))
            assert page.status == 200, page.status
            token = page.text.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
            form = {"csrfmiddlewaretoken": token, "newsletter": "1", "receive": "on"}
            clicks = [
                threading.Thread(
                    target=lambda port=port: self.record(
                        visitor.request(port, "POST", ACCOUNT, form)
                    )
                )
                for port in self.cluster.ports
            ]
            for click in clicks:
                click.start()
            for click in clicks:
                click.join()

        return act

    def verify(self):
        self.assert_no_server_errors()
        posts = [r for r in self.responses if r.status != 200]
        assert [r.status for r in posts] == [302] * 2 * self.readers
        rows = Subscription.objects.filter(user__in=self.users)
        assert rows.count() == self.readers
        assert {row.status for row in rows} == {Subscription.Status.ACTIVE}


class ProfileEdits(Traffic):
    """Logged-in readers rename themselves a few times, alternating servers; the last one wins."""

    readers = 8
    edits = 3

    def prepare(self):
        self.users = UserFactory.create_batch(self.readers)
        return [self.reader(n, user) for n, user in enumerate(self.users)]

    def reader(self, n, user):
        def act():
            visitor = logged_in_visitor(user, n)
            for edit in range(self.edits):
                response = visitor.post_form(
                    self.cluster.port(n + edit), ACCOUNT, {"display_name": f"Reader {n}.{edit}"}
                )
                assert self.record(response).status == 302, response.status

        return act

    def verify(self):
        self.assert_no_server_errors()
        names = dict(
            User.objects.filter(pk__in=[u.pk for u in self.users]).values_list("pk", "display_name")
        )
        last = self.edits - 1
        assert names == {u.pk: f"Reader {n}.{last}" for n, u in enumerate(self.users)}


class SubscribeStorm(Traffic):
    """New readers subscribe, each submitting twice at once through the two servers."""

    readers = 10

    def prepare(self):
        self.emails = [f"storm-{secrets.token_hex(3)}-{n}@example.com" for n in range(self.readers)]
        self.accepted = Counter()
        return [self.reader(n, email) for n, email in enumerate(self.emails)]

    def reader(self, n, email):
        def act():
            def submit(port, ip):
                response = Visitor(forwarded_for=ip).post_form(port, SUBSCRIBE, {"email": email})
                if self.record(response).status == 302:
                    with self._lock:
                        self.accepted[email] += 1

            clicks = [
                threading.Thread(target=submit, args=(port, f"203.0.113.{n * 2 + i + 1}"))
                for i, port in enumerate(self.cluster.ports)
            ]
            for click in clicks:
                click.start()
            for click in clicks:
                click.join()

        return act

    def verify(self):
        self.assert_no_server_errors()
        assert all(self.accepted[email] == 2 for email in self.emails), self.accepted
        for email in self.emails:
            assert User.objects.filter(email=email).count() == 1
            assert EmailAddress.objects.filter(email=email).count() == 1
            assert Subscription.objects.filter(user__email=email).count() == 1
            # One login code per accepted request: nothing lost, nothing sent twice.
            assert self.cluster.mailbox.count_to(email) == self.accepted[email]


TRAFFIC = [NewsletterDoubleSubmit, ProfileEdits, SubscribeStorm]


def test_readers_through_two_servers_leave_exactly_one_row_each(cluster, shared_secret):
    traffic = [kind(cluster) for kind in TRAFFIC]
    calls = [call for kind in traffic for call in kind.prepare()]
    random.Random(8).shuffle(calls)
    run_concurrently(calls)
    for kind in traffic:
        kind.verify()


def test_rate_limits_are_counted_across_servers(cluster):
    """A limit of three codes per address holds when each request lands on another server."""
    email = "limited@example.com"
    statuses = [
        Visitor(forwarded_for="192.0.2.10").post_form(port, SUBSCRIBE, {"email": email}).status
        for port in itertools.islice(itertools.cycle(cluster.ports), 5)
    ]
    assert statuses[:3] == [302, 302, 302]
    assert 302 not in statuses[3:] and None not in statuses
    assert cluster.mailbox.count_to(email) == 3


def test_each_task_runs_once_across_two_workers(cluster, db_tasks):
    from django_tasks_db.models import DBTaskResult

    from tests.production.tasks import deliver

    addresses = [f"task-{secrets.token_hex(3)}-{n}@example.com" for n in range(30)]
    results = [deliver.enqueue(address) for address in addresses]

    def all_finished():
        finished = DBTaskResult.objects.filter(
            id__in=[r.id for r in results], status__in=["SUCCESSFUL", "FAILED"]
        )
        return finished.count() == len(results)

    wait_until(all_finished, timeout=30, what="the workers to finish the tasks")
    rows = DBTaskResult.objects.filter(id__in=[r.id for r in results])
    assert {row.status for row in rows} == {"SUCCESSFUL"}
    assert all(len(row.worker_ids) == 1 for row in rows)
    assert {row.worker_ids[0] for row in rows} == {w.worker_id for w in cluster.workers}
    assert [cluster.mailbox.count_to(address) for address in addresses] == [1] * len(addresses)


def restart_postgres() -> None:
    """Restart the embedded PostgreSQL the way an operator would: pg_ctl restart, fast mode."""
    import os

    from pgserver._commands import pg_ctl

    from futureforward.pgembed import PGDATA

    user = "pgserver" if os.geteuid() == 0 else None
    pg_ctl(
        ["-w", "-m", "fast", "-l", str(PGDATA / "log"), "restart"],
        pgdata=PGDATA,
        user=user,
        timeout=60,
    )


def test_site_recovers_from_a_postgres_restart_without_losing_acknowledged_writes(
    cluster, shared_secret, db_tasks
):
    from django_tasks_db.models import DBTaskResult

    from tests.production.tasks import deliver

    users = UserFactory.create_batch(4)
    visitors = [logged_in_visitor(user, n) for n, user in enumerate(users)]
    last_acked = {user.pk: -1 for user in users}
    acked_emails: list[str] = []
    outcomes: list[int | None] = []
    stop = threading.Event()
    lock = threading.Lock()

    def editor(n):
        # Sequential renames: the name in the database is the last acknowledged one or later.
        for seq in range(400):
            if stop.is_set():
                return
            response = visitors[n].post_form(
                cluster.port(seq + n), ACCOUNT, {"display_name": f"{seq}"}
            )
            with lock:
                outcomes.append(response.status)
                if response.status == 302:
                    last_acked[users[n].pk] = seq

    def subscriber(n):
        for seq in range(400):
            if stop.is_set():
                return
            email = f"restart-{n}-{seq}@example.com"
            response = Visitor(forwarded_for=f"203.0.113.{100 + seq % 150}").post_form(
                cluster.port(seq), SUBSCRIBE, {"email": email}
            )
            with lock:
                outcomes.append(response.status)
                if response.status == 302:
                    acked_emails.append(email)

    threads = [threading.Thread(target=editor, args=(n,)) for n in range(len(users))]
    threads += [threading.Thread(target=subscriber, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: len(outcomes) >= 20, timeout=30, what="load to build up")
        restart_postgres()
        connection.close()  # this process's own connection died with the server too

        def serving_everywhere():
            return all(get(port, "/readyz").status == 200 for port in cluster.ports)

        wait_until(serving_everywhere, timeout=30, interval=0.2, what="/readyz to answer 200")
        with lock:
            seen = len(outcomes)
        wait_until(lambda: len(outcomes) >= seen + 10, timeout=30, what="load after the restart")
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)

    # Requests arriving while PostgreSQL was down waited for it; only those caught mid-query
    # failed: at most a couple per concurrent reader, not one per request during the outage.
    failed = [status for status in outcomes if status is None or status >= 500]
    assert len(failed) <= 2 * len(threads), Counter(outcomes)

    # Every gunicorn worker reconnects by itself: a sweep after the restart sees no failure.
    sweep = [get(port, "/").status for port in cluster.ports for _ in range(8)]
    assert sweep == [200] * len(sweep)
    assert 302 in outcomes[-10:]

    # Nothing acknowledged was lost.
    names = dict(User.objects.filter(pk__in=last_acked).values_list("pk", "display_name"))
    assert all(int(names[pk]) >= seq for pk, seq in last_acked.items()), (names, last_acked)
    stored = set(User.objects.filter(email__in=acked_emails).values_list("email", flat=True))
    assert stored == set(acked_emails)

    # The workers came back by themselves too, and share the work again.
    assert all(worker.is_running() for worker in cluster.workers)
    results = [deliver.enqueue(f"after-restart-{n}@example.com") for n in range(6)]
    wait_until(
        lambda: (
            DBTaskResult.objects.filter(id__in=[r.id for r in results], status="SUCCESSFUL").count()
            == len(results)
        ),
        timeout=40,
        interval=0.2,
        what="the workers to run tasks after the restart",
    )


def test_server_logs_are_one_json_object_per_line(cluster):
    import json

    assert get(cluster.ports[0], "/p/no-such-post/").status == 404
    for server in cluster.servers:
        lines = [line for line in server.log_path.read_text().splitlines() if line.strip()]
        entries = [json.loads(line) for line in lines]
        access = [e for e in entries if e["logger"] == "gunicorn.access"]
        assert access, f"no access log lines from {server.name}"
        assert {"time", "level", "method", "path", "status", "duration_ms"} <= set(access[-1])
    missing = [
        e
        for e in map(json.loads, cluster.servers[0].log_path.read_text().splitlines())
        if e.get("path") == "/p/no-such-post/" and e["logger"] == "gunicorn.access"
    ]
    assert missing and missing[-1]["status"] == 404
