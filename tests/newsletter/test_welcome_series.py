"""The welcome series: readers enter on confirming or joining, steps go out in order at their
times, once each, and stop when the reader leaves or bounces; editors see where readers are."""

import re
import threading
from collections import Counter
from datetime import timedelta
from http import HTTPStatus
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.models import Subscription, User
from accounts.services import mark_bounced, unsubscribe_reader
from newsletter import audience, demo, welcome
from newsletter.admin_welcome import WelcomeStepForm
from newsletter.models import Newsletter, WelcomeEmail, WelcomeProgress, WelcomeStep
from tests.conftest import code_from_mail
from tests.factories import PostFactory, SubscriptionFactory, UserFactory, ensure_default_newsletter

pytestmark = pytest.mark.django_db

SUBSCRIBE = reverse("accounts:subscribe")


def subscribe_and_confirm(client, email, mailoutbox, capture):
    response = client.post(SUBSCRIBE, {"email": email})
    with capture(execute=True):
        client.post(response.url, {"code": code_from_mail(mailoutbox[-1])})
    return User.objects.get(email=email)


def add_step(newsletter, position, subject, *, hours=0, delay_from="previous", body=None):
    return WelcomeStep.objects.create(
        newsletter=newsletter,
        position=position,
        subject=subject,
        body=body or f"<p>{subject}: the text.</p>",
        delay_hours=hours,
        delay_from=delay_from,
    )


def reader_in_series(newsletter, email="reader@example.com"):
    user = UserFactory(email=email)
    SubscriptionFactory(user=user)  # active; the database trigger adds the default newsletter
    audience.join(user=user, newsletters=[newsletter], source="test")
    return user


def make_due(user, newsletter, *, hours_ago=0.0):
    """Move a reader's series back in time, as if they had entered hours_ago."""
    shift = timedelta(hours=hours_ago)
    progress = WelcomeProgress.objects.get(user=user, newsletter=newsletter)
    progress.started_at -= shift
    if progress.last_sent_at:
        progress.last_sent_at -= shift
    progress.due_at -= shift
    progress.save()
    return progress


def subjects_to(mailoutbox, email):
    return [message.subject for message in mailoutbox if message.to == [email]]


def test_migrated_first_step_is_the_old_welcome_email(mailoutbox):
    newsletter = Newsletter.objects.default()
    steps = list(newsletter.welcome_steps.all())
    assert len(steps) == 1
    first = steps[0]
    assert (first.position, first.delay_hours, first.is_active) == (0, 0, True)
    post = PostFactory(title="Cities after cars")
    user = UserFactory(email="first@example.com")
    SubscriptionFactory(user=user)
    # The fixed email's subject and words (the publication's, publication migration 0002),
    # with its button to the latest post.
    new = welcome.render_step(first, user=user, newsletter=newsletter)
    assert new.subject == "Welcome to Future Forward"
    text = " ".join(new.body.split())
    assert "Your subscription is confirmed. New posts will arrive in this inbox" in text
    assert "To log in, ask for a one-time code with this email address" in text
    assert post.title in new.body


def test_confirming_enters_the_series_and_sends_the_first_step_at_once(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    newsletter = Newsletter.objects.default()
    add_step(newsletter, 1, "Day two", hours=24)
    user = subscribe_and_confirm(
        client, "new@example.com", mailoutbox, django_capture_on_commit_callbacks
    )
    code, *welcomed = subjects_to(mailoutbox, "new@example.com")
    assert "code" in code
    assert welcomed == ["Welcome to Future Forward"]
    progress = WelcomeProgress.objects.get(user=user, newsletter=newsletter)
    assert progress.status == WelcomeProgress.Status.WAITING
    assert progress.next_position == 1
    assert progress.due_at > timezone.now() + timedelta(hours=23)


def test_delays_after_previous_and_after_signup_are_honoured(
    mailoutbox, django_capture_on_commit_callbacks
):
    newsletter = Newsletter.objects.create(name="Digest", slug="digest", is_default=False)
    add_step(newsletter, 0, "One")
    add_step(newsletter, 1, "Two", hours=24)
    add_step(newsletter, 2, "Three", hours=72, delay_from="signup")
    with django_capture_on_commit_callbacks(execute=True):
        user = reader_in_series(newsletter)
    assert subjects_to(mailoutbox, user.email) == ["One"]

    welcome.run_due(worker_id="w")  # nothing is due yet
    assert subjects_to(mailoutbox, user.email) == ["One"]

    make_due(user, newsletter, hours_ago=25)  # one day after the first step
    welcome.run_due(worker_id="w")
    assert subjects_to(mailoutbox, user.email) == ["One", "Two"]
    welcome.run_due(worker_id="w")  # 72 hours after signup is still two days away
    assert subjects_to(mailoutbox, user.email) == ["One", "Two"]

    make_due(user, newsletter, hours_ago=48)
    welcome.run_due(worker_id="w")
    welcome.run_due(worker_id="w")
    assert subjects_to(mailoutbox, user.email) == ["One", "Two", "Three"]
    progress = WelcomeProgress.objects.get(user=user, newsletter=newsletter)
    assert progress.status == WelcomeProgress.Status.DONE
    assert progress.steps_sent == 3


def test_joining_a_newsletter_later_enters_its_series_and_not_twice(mailoutbox):
    newsletter = Newsletter.objects.create(name="Digest", slug="digest", is_default=False)
    add_step(newsletter, 0, "Hello digest")
    user = reader_in_series(newsletter)
    audience.leave(user=user, newsletter=newsletter)
    audience.join(user=user, newsletters=[newsletter])  # coming back: no second series
    welcome.run_due(worker_id="w")
    assert subjects_to(mailoutbox, user.email) == ["Hello digest"]
    assert WelcomeProgress.objects.filter(user=user).count() == 1


def test_a_reader_who_has_not_confirmed_does_not_enter(mailoutbox):
    newsletter = Newsletter.objects.create(name="Digest", slug="digest", is_default=False)
    add_step(newsletter, 0, "Hello digest")
    user = UserFactory(email="pending@example.com")
    SubscriptionFactory(user=user, status=Subscription.Status.PENDING)
    audience.join(user=user, newsletters=[newsletter])
    welcome.run_due(worker_id="w")
    assert not WelcomeProgress.objects.filter(user=user).exists()
    assert subjects_to(mailoutbox, user.email) == []


@pytest.mark.parametrize("how", ["leave", "everything", "bounce", "complaint"])
def test_leaving_or_bouncing_stops_the_series(how, mailoutbox):
    newsletter = Newsletter.objects.create(name="Digest", slug="digest", is_default=False)
    add_step(newsletter, 0, "One")
    add_step(newsletter, 1, "Two", hours=24)
    user = reader_in_series(newsletter)
    welcome.run_due(worker_id="w")
    assert subjects_to(mailoutbox, user.email) == ["One"]
    if how == "leave":
        audience.leave(user=user, newsletter=newsletter)
    elif how == "everything":
        unsubscribe_reader(user=user, reason="test")
    elif how == "bounce":
        mark_bounced(user_id=user.pk, reason="550 no such user")
    else:
        mark_bounced(user_id=user.pk, reason="spam", status=Subscription.Status.COMPLAINED)
    make_due(user, newsletter, hours_ago=30)
    welcome.run_due(worker_id="w")
    assert subjects_to(mailoutbox, user.email) == ["One"]
    progress = WelcomeProgress.objects.get(user=user, newsletter=newsletter)
    assert progress.status == WelcomeProgress.Status.STOPPED


def test_a_bounce_while_sending_a_step_stops_the_series(smtp, mailoutbox):
    smtp.handler.refuse["gone@example.com"] = "550 5.1.1 No such user"
    newsletter = Newsletter.objects.create(name="Digest", slug="digest", is_default=False)
    add_step(newsletter, 0, "One")
    add_step(newsletter, 1, "Two")
    gone = reader_in_series(newsletter, "gone@example.com")
    kept = reader_in_series(newsletter, "kept@example.com")
    welcome.run_due(worker_id="w")
    welcome.run_due(worker_id="w")
    gone.subscription.refresh_from_db()
    assert gone.subscription.status == Subscription.Status.BOUNCED
    assert WelcomeProgress.objects.get(user=gone, newsletter=newsletter).status == "stopped"
    assert smtp.handler.recipients() == ["kept@example.com", "kept@example.com"]
    assert WelcomeProgress.objects.get(user=kept, newsletter=newsletter).status == "done"


def test_a_step_deleted_while_readers_wait_at_it_sends_the_next_one(mailoutbox):
    newsletter = Newsletter.objects.create(name="Digest", slug="digest", is_default=False)
    add_step(newsletter, 0, "One")
    doomed = add_step(newsletter, 1, "Two", hours=24)
    add_step(newsletter, 2, "Three", hours=24)
    user = reader_in_series(newsletter)
    welcome.run_due(worker_id="w")
    doomed.delete()
    make_due(user, newsletter, hours_ago=25)
    welcome.run_due(worker_id="w")
    welcome.run_due(worker_id="w")
    assert subjects_to(mailoutbox, user.email) == ["One", "Three"]
    assert WelcomeProgress.objects.get(user=user).status == WelcomeProgress.Status.DONE


def test_a_series_whose_steps_are_all_gone_finishes_quietly(mailoutbox):
    newsletter = Newsletter.objects.create(name="Digest", slug="digest", is_default=False)
    step = add_step(newsletter, 0, "One", hours=1)
    user = reader_in_series(newsletter)
    step.delete()
    make_due(user, newsletter, hours_ago=2)
    assert welcome.run_due(worker_id="w") == {"done": 1}
    assert subjects_to(mailoutbox, user.email) == []


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_each_step_exactly_once(mailoutbox):
    newsletter = ensure_default_newsletter()
    newsletter.welcome_steps.all().delete()
    digest = Newsletter.objects.create(name="Digest", slug="digest", is_default=False)
    add_step(digest, 0, "One", hours=1)
    add_step(digest, 1, "Two", hours=1)
    readers = [reader_in_series(digest, f"r{i}@example.com") for i in range(60)]
    past = timezone.now() - timedelta(hours=2)
    WelcomeProgress.objects.update(started_at=past, due_at=past)
    barrier = threading.Barrier(2)

    def work(name):
        try:
            barrier.wait()
            welcome.run_due(worker_id=name, limit=5)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sent = Counter((message.to[0], message.subject) for message in mailoutbox)
    assert set(sent) == {(reader.email, "One") for reader in readers}
    assert set(sent.values()) == {1}
    assert WelcomeEmail.objects.count() == 60
    assert WelcomeProgress.objects.filter(next_position=1).count() == 60
    # Both workers took part: the claims interleaved rather than one doing everything.
    assert set(WelcomeEmail.objects.values_list("worker", flat=True)) == {"a", "b"}


def test_admin_shows_the_steps_with_readers_waiting_at_each(editor_client):
    newsletter = Newsletter.objects.create(name="Digest", slug="digest", is_default=False)
    add_step(newsletter, 0, "One")
    add_step(newsletter, 1, "Two", hours=24)
    add_step(newsletter, 2, "Three", hours=24)
    readers = [reader_in_series(newsletter, f"r{i}@example.com") for i in range(3)]
    welcome.run_due(worker_id="w")  # all three got "One" and wait at "Two"
    make_due(readers[0], newsletter, hours_ago=25)
    welcome.run_due(worker_id="w")  # one of them got "Two" and waits at "Three"
    response = editor_client.get(
        reverse("admin:newsletter_newsletter_change", args=[newsletter.pk])
    )
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    waiting = re.findall(r'field-readers_waiting.*?<div class="readonly">(\d+)</div>', html, re.S)
    assert waiting[:3] == ["0", "2", "1"]  # the last one is the blank form for a new step


def admin_post_data(newsletter, step: dict):
    data = {
        "name": newsletter.name,
        "slug": newsletter.slug,
        "description": "",
        "sender_name": "",
        "position": 0,
        "created_at_0": "2026-01-01",
        "created_at_1": "10:00:00",
        "welcome_steps-TOTAL_FORMS": 1,
        "welcome_steps-INITIAL_FORMS": 0,
        "welcome_steps-MIN_NUM_FORMS": 0,
        "welcome_steps-MAX_NUM_FORMS": 1000,
        "welcome_steps-0-newsletter": newsletter.pk,
        "welcome_steps-0-position": 0,
        "welcome_steps-0-delay_from": "previous",
        "welcome_steps-0-is_active": "on",
    }
    data.update({f"welcome_steps-0-{key}": value for key, value in step.items()})
    return data


def test_editor_adds_a_step_in_the_admin_and_its_body_is_sanitised(editor_client):
    newsletter = Newsletter.objects.create(name="Digest", slug="digest", is_default=False)
    url = reverse("admin:newsletter_newsletter_change", args=[newsletter.pk])
    response = editor_client.post(
        url,
        admin_post_data(
            newsletter,
            {"subject": "Hello", "delay_hours": 2, "body": "<p>Hi<script>x()</script></p>"},
        ),
    )
    errors = re.findall(r'class="errorlist[^"]*"[^>]*>(.*?)</ul>', response.content.decode(), re.S)
    assert response.status_code == HTTPStatus.FOUND, errors
    step = newsletter.welcome_steps.get()
    assert (step.subject, step.delay_hours, step.body) == ("Hello", 2, "<p>Hi</p>")


@pytest.mark.parametrize(
    ("step", "error"),
    [
        ({"subject": "   ", "delay_hours": 0}, "subject"),
        ({"subject": "Hi", "delay_hours": -3}, "delay_hours"),
    ],
)
def test_bad_steps_are_refused(editor_client, step, error):
    newsletter = Newsletter.objects.create(name="Digest", slug="digest", is_default=False)
    url = reverse("admin:newsletter_newsletter_change", args=[newsletter.pk])
    response = editor_client.post(url, admin_post_data(newsletter, {"body": "<p>x</p>", **step}))
    assert response.status_code == HTTPStatus.OK
    assert not newsletter.welcome_steps.exists()
    form = WelcomeStepForm(data={"body": "<p>x</p>", "position": 0, "delay_from": "previous",
                                 **step})  # fmt: skip
    assert error in form.errors


def test_a_slow_worker_renews_its_lease_and_keeps_its_rows(settings, mailoutbox):
    # A lease of zero seconds: every row must be renewed before it is sent, and is still sent
    # once, by the worker that holds it.
    settings.NEWSLETTER_LEASE_SECONDS = 0
    newsletter = Newsletter.objects.create(name="Digest", slug="digest", is_default=False)
    add_step(newsletter, 0, "One")
    readers = [reader_in_series(newsletter, f"r{i}@example.com") for i in range(3)]
    assert welcome.run_due(worker_id="w") == {"sent": 3}
    assert sorted(m.to[0] for m in mailoutbox) == sorted(r.email for r in readers)


def test_the_command_sends_what_is_due(mailoutbox):
    newsletter = Newsletter.objects.create(name="Digest", slug="digest", is_default=False)
    add_step(newsletter, 0, "One", hours=3)
    user = reader_in_series(newsletter)
    out = StringIO()
    call_command("send_welcome_steps", stdout=out)
    assert out.getvalue().strip() == "nothing due"
    make_due(user, newsletter, hours_ago=4)
    call_command("send_welcome_steps", stdout=out)
    assert "sent: 1" in out.getvalue()
    assert subjects_to(mailoutbox, user.email) == ["One"]


def test_demo_content_has_a_three_step_series(db):
    readers = [
        reader_in_series(Newsletter.objects.default(), f"d{i}@example.com") for i in range(3)
    ]
    demo.seed(readers=readers, polls=[])
    demo.seed(readers=readers, polls=[])  # idempotent
    digest = Newsletter.objects.get(slug=demo.SECOND["slug"])
    steps = list(digest.welcome_steps.order_by("position"))
    assert [s.delay_hours for s in steps] == [0, 48, 168]
    assert steps[0].subject == "Welcome to the climate digest"
