"""Webhooks against a real HTTP receiver on 127.0.0.1: signed as Standard Webhooks says,
retried after a 500 and after a receiver that hangs, never sent to private addresses, and turned
off (with an email to the editors) after failing again and again."""

import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.services import (
    confirm_subscription,
    delete_account,
    subscribe_reader,
    unsubscribe_reader,
)
from comments.services import add_comment, approve_comments
from integrations.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from integrations.services import create_endpoint, sweep_events
from newsletter.models import NewsletterSend
from newsletter.services import finish_if_done
from posts.models import Post
from posts.services import publish_post
from tests.factories import (
    EditorFactory,
    PollFactory,
    PostFactory,
    SubscriptionFactory,
    UserFactory,
    VoteFactory,
)
from tests.integrations.conftest import run_worker
from tests.integrations.receiver import signature_is_valid

pytestmark = pytest.mark.django_db


def endpoint_for(receiver, *events) -> tuple[WebhookEndpoint, str]:
    endpoint = WebhookEndpoint(url=receiver.url, events=list(events) or WebhookEvent.values)
    secret = create_endpoint(endpoint=endpoint)
    return endpoint, secret


@pytest.mark.django_db(transaction=True)
def test_signed_delivery_is_retried_after_a_500(receiver, loopback_hooks, db_tasks):
    endpoint, secret = endpoint_for(receiver, WebhookEvent.POST_PUBLISHED)
    receiver.answers = [500, 200]
    post = PostFactory(status=Post.Status.DRAFT, published_at=None, title="Hello, hooks")

    publish_post(post=post)
    run_worker()

    assert len(receiver.received) == 2
    first, second = receiver.received
    for request in receiver.received:
        assert signature_is_valid(secret, request)
        assert not signature_is_valid("whsec_" + "A" * 44, request)
    # The retry is the same message: same id and body, so a receiver can drop duplicates.
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.body == second.body
    payload = json.loads(first.body)
    assert payload["type"] == "post.published"
    assert payload["data"]["title"] == "Hello, hooks"
    assert payload["data"]["url"].endswith(f"/p/{post.slug}/")
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    assert [a.status_code for a in delivery.attempt_log.all()] == [500, 200]
    assert delivery.attempt_log.first().response_snippet == "receiver broke"


@pytest.mark.django_db(transaction=True)
def test_a_hanging_receiver_times_out_and_is_retried(receiver, loopback_hooks, db_tasks):
    endpoint_for(receiver, WebhookEvent.POST_PUBLISHED)
    receiver.answers = ["hang", 200]
    post = PostFactory(status=Post.Status.DRAFT, published_at=None)

    started = time.monotonic()
    publish_post(post=post)
    run_worker()

    assert time.monotonic() - started < 3  # the receiver hangs for 3 s; nobody waited for it
    delivery = WebhookDelivery.objects.get()
    first, second = delivery.attempt_log.all()
    assert first.status_code is None and "timed out" in first.error
    assert first.duration_ms < 1500
    assert second.status_code == 200
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED


@pytest.mark.django_db(transaction=True)
def test_a_receiver_trickling_its_answer_is_cut_off_and_retried(receiver, loopback_hooks, db_tasks):
    endpoint_for(receiver, WebhookEvent.POST_PUBLISHED)
    receiver.answers = ["trickle", 200]
    publish_post(post=PostFactory(status=Post.Status.DRAFT, published_at=None))
    run_worker()

    delivery = WebhookDelivery.objects.get()
    first, second = delivery.attempt_log.all()
    # Every byte came quickly, so no single read timed out; the whole answer was too slow.
    assert first.status_code is None
    assert "no full answer within 1 s" in first.error
    assert second.status_code == 200
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED


@pytest.mark.django_db(transaction=True)
def test_a_redirect_is_a_failed_attempt_and_never_followed(receiver, loopback_hooks, db_tasks):
    from tests.integrations.receiver import Receiver

    elsewhere = Receiver().start()
    try:
        endpoint_for(receiver, WebhookEvent.POST_PUBLISHED)
        receiver.answers = [f"redirect:{elsewhere.url}", 200]
        publish_post(post=PostFactory(status=Post.Status.DRAFT, published_at=None))
        run_worker()
    finally:
        elsewhere.stop()

    assert elsewhere.received == []
    delivery = WebhookDelivery.objects.get()
    assert [a.status_code for a in delivery.attempt_log.all()] == [307, 200]
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED


@pytest.mark.django_db(transaction=True)
def test_private_address_is_refused_without_a_request(receiver, settings, db_tasks):
    settings.WEBHOOK_RETRY_SECONDS = 0
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    assert settings.WEBHOOK_ALLOW_LOOPBACK is False  # as everywhere but these tests
    endpoint_for(receiver, WebhookEvent.POST_PUBLISHED)
    publish_post(post=PostFactory(status=Post.Status.DRAFT, published_at=None))
    run_worker()

    assert receiver.received == []
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.FAILED
    errors = [attempt.error for attempt in delivery.attempt_log.all()]
    assert len(errors) == 2
    assert all("not on the public internet" in error and "127.0.0.1" in error for error in errors)


@pytest.mark.django_db(transaction=True)
def test_endpoint_is_turned_off_after_failing_again_and_again(
    receiver, loopback_hooks, db_tasks, settings, mailoutbox
):
    settings.WEBHOOK_DISABLE_AFTER = 3
    settings.WEBHOOK_MAX_ATTEMPTS = 10
    editor = EditorFactory()
    # Staff who may not see webhooks are not sent the endpoint's address.
    UserFactory(is_staff=True, email="moderator@example.com")
    endpoint, _ = endpoint_for(receiver, WebhookEvent.POST_PUBLISHED)
    receiver.answers = [503] * 10
    publish_post(post=PostFactory(status=Post.Status.DRAFT, published_at=None))
    run_worker()

    assert len(receiver.received) == 3
    endpoint.refresh_from_db()
    assert endpoint.is_enabled is False
    assert "HTTP 503" in endpoint.disabled_reason
    assert WebhookDelivery.objects.get().status == WebhookDelivery.Status.FAILED
    assert [m.to for m in mailoutbox] == [[editor.email]]
    assert receiver.url in mailoutbox[0].subject + mailoutbox[0].body
    # Nothing more goes to it while it is off.
    publish_post(post=PostFactory(status=Post.Status.DRAFT, published_at=None))
    run_worker()
    assert len(receiver.received) == 3


# --- Each event reaches the receiver (tasks run at once, as configured for the suite) ---


@pytest.fixture
def listening(receiver, loopback_hooks, db):
    endpoint, secret = endpoint_for(receiver)
    return receiver


def events_received(receiver) -> list[dict]:
    return [json.loads(request.body) for request in receiver.received]


def test_subscriber_confirmed_and_unsubscribed(listening, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        user = subscribe_reader(email="new@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        confirm_subscription(user=user)
    with django_capture_on_commit_callbacks(execute=True):
        unsubscribe_reader(user=user, reason="Too many emails.")
    events = events_received(listening)
    assert [e["type"] for e in events] == ["subscriber.confirmed", "subscriber.unsubscribed"]
    assert {e["data"]["email"] for e in events} == {"new@example.com"}
    assert events[1]["data"]["status"] == "unsubscribed"
    # The log of what was sent about the reader goes with their account.
    assert WebhookDelivery.objects.filter(reader=user).count() == 2
    with django_capture_on_commit_callbacks(execute=True):
        delete_account(user=user)
    assert not WebhookDelivery.objects.exists()


def test_comment_published(listening, django_capture_on_commit_callbacks):
    post = PostFactory()
    author = SubscriptionFactory().user
    with django_capture_on_commit_callbacks(execute=True):
        comment = add_comment(post=post, author=author, body="A thoughtful reply.")
    assert comment.status == comment.Status.HELD  # a first comment waits for an editor
    assert listening.received == []
    with django_capture_on_commit_callbacks(execute=True):
        approve_comments(comments=[comment], moderator=EditorFactory())
    # Approved, the author is trusted: the next comment is public at once.
    with django_capture_on_commit_callbacks(execute=True):
        add_comment(post=post, author=author, body="And a second thought.")
    events = events_received(listening)
    assert [e["type"] for e in events] == ["comment.published"] * 2
    assert [e["data"]["body"] for e in events] == ["A thoughtful reply.", "And a second thought."]
    assert events[0]["data"]["post"]["slug"] == post.slug


def test_post_sent(listening, django_capture_on_commit_callbacks):
    post = PostFactory()
    send = NewsletterSend.objects.create(
        post=post, status=NewsletterSend.Status.SENDING, recipients_count=0
    )
    with django_capture_on_commit_callbacks(execute=True):
        finish_if_done(send_id=send.pk)
    with django_capture_on_commit_callbacks(execute=True):
        finish_if_done(send_id=send.pk)  # already finished: not announced twice
    [event] = events_received(listening)
    assert event["type"] == "post.sent"
    assert event["data"]["post"]["slug"] == post.slug


def test_poll_closed_and_scheduled_post_going_live_are_announced_once(
    listening, django_capture_on_commit_callbacks
):
    endpoint = WebhookEndpoint.objects.get()
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        created_at=timezone.now() - timedelta(hours=2)
    )
    now = timezone.now()
    poll = PollFactory(closes_at=now - timedelta(minutes=5), opens_at=now - timedelta(hours=1))
    VoteFactory(poll=poll)
    scheduled = PostFactory(published_at=now - timedelta(minutes=1), slug="went-live")
    PostFactory(published_at=now - timedelta(days=3), slug="long-ago")
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            sweep_events()
    events = {e["type"]: e["data"] for e in events_received(listening)}
    assert len(listening.received) == 3  # the poll, its post and the scheduled post, once each
    assert events["poll.closed"]["question"] == poll.question
    assert sum(r["votes"] for r in events["poll.closed"]["results"]) == 1
    published = [
        e["data"]["slug"] for e in events_received(listening) if e["type"] == "post.published"
    ]
    assert scheduled.slug in published and "long-ago" not in published


def test_endpoint_only_hears_its_events(
    receiver, loopback_hooks, db, django_capture_on_commit_callbacks
):
    endpoint_for(receiver, WebhookEvent.COMMENT_PUBLISHED)
    with django_capture_on_commit_callbacks(execute=True):
        publish_post(post=PostFactory(status=Post.Status.DRAFT, published_at=None))
    assert receiver.received == []


@pytest.mark.django_db(transaction=True)
def test_the_sweep_runs_by_itself_every_minute(receiver, loopback_hooks, db_tasks):
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    endpoint_for(receiver, WebhookEvent.POST_PUBLISHED)
    waiting = DBTaskResult.objects.filter(
        task_path="integrations.tasks.sweep_events", status=TaskResultStatus.READY
    )
    [first] = waiting
    assert timezone.now() + timedelta(seconds=50) < first.run_after
    # A scheduled post reaches its time; a minute later (moved here) the sweep runs.
    post = PostFactory(published_at=timezone.now() + timedelta(seconds=1), slug="on-time")
    time.sleep(1.1)
    waiting.update(run_after=timezone.now())
    run_worker()

    assert [json.loads(r.body)["data"]["slug"] for r in receiver.received] == [post.slug]
    [following] = waiting.all()
    assert following.pk != first.pk and following.run_after > timezone.now()
