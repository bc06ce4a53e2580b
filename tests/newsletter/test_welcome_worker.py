"""The welcome series under real conditions: a `manage.py db_worker` process killed while it
sends a step, a second worker that takes over, and a real SMTP listener counting what arrived."""

import signal
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from newsletter import audience
from newsletter.models import Newsletter, WelcomeEmail, WelcomeProgress, WelcomeStep
from newsletter.services import enqueue_later
from newsletter.tasks import send_welcome_steps
from tests.factories import make_subscribers
from tests.newsletter.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_worker_killed_mid_step_resumes_and_each_reader_gets_the_step_once(
    smtp_port, start_sink, start_worker
):
    digest = Newsletter.objects.create(name="Digest", slug="digest", is_default=False)
    WelcomeStep.objects.create(newsletter=digest, position=0, subject="Hello", delay_hours=1)
    readers = make_subscribers(60, prefix="welcome")
    for reader in readers:
        audience.join(user=reader, newsletters=[digest])
    past = timezone.now() - timedelta(hours=2)
    WelcomeProgress.objects.filter(newsletter=digest).update(started_at=past, due_at=past)

    sink = start_sink(smtp_port)
    first = start_worker(smtp_port, name="first")
    # SIGKILL the worker while the 26th message waits for the server's answer.
    sink.kill_when(first.pid, accepted=25)
    enqueue_later(send_welcome_steps)
    first.process.wait(timeout=30)
    assert first.process.returncode == -signal.SIGKILL
    assert sink.count == 25
    assert WelcomeEmail.objects.count() == 25

    second = start_worker(smtp_port, name="second")
    wait_for(lambda: WelcomeEmail.objects.count() == 60, timeout=30, message=second.output)
    wait_for(lambda: sink.count >= 60, message=second.output)
    received = Counter(message["To"] for message in sink.messages)
    assert set(received) == {reader.email for reader in readers}
    assert set(received.values()) == {1}
    assert {m["Subject"] for m in sink.messages} == {"Hello"}
    assert not WelcomeProgress.objects.filter(newsletter=digest).waiting().exists()
