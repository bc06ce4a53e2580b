"""Integration workflows: API keys, subscriptions asked for through the API, and webhooks."""

import json
import secrets
from datetime import datetime, timedelta

from allauth.account.adapter import get_adapter
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts import services as accounts_services
from accounts.models import Subscription, User
from integrations import webhooks
from integrations.models import (
    ApiKey,
    EmittedEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from integrations.tasks import deliver_webhook as deliver_webhook_task
from integrations.tasks import send_subscription_confirmation as send_subscription_confirmation_task
from integrations.tasks import sweep_events as sweep_events_task
from publication.models import Publication

CONFIRM_SALT = "integrations.confirm-subscription"
ENDPOINT_PERMISSION = "integrations.change_webhookendpoint"
CONFIRM_MAX_AGE = timedelta(days=7)


@transaction.atomic
def create_api_key(*, key: ApiKey, created_by: User | None) -> str:
    """Save a new API key and return it in full: the only time anyone sees it."""
    plain = key.issue()
    key.created_by = created_by
    key.save()
    return plain


def revoke_api_keys(*, keys) -> int:
    """Revoke keys still live; return how many. A revoked key never works again."""
    return keys.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


def note_key_used(*, key: ApiKey) -> None:
    """Record that key was used, at most once a minute (no write on every call)."""
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)


# --- Subscriptions asked for through the API ---


def confirm_token(user_id: int) -> str:
    """Return the signed token of an API subscription's confirmation link."""
    return signing.TimestampSigner(salt=CONFIRM_SALT).sign(str(user_id))


def user_from_confirm_token(token: str) -> User | None:
    """Return the reader a confirmation token names, or None if forged or older than a week."""
    try:
        value = signing.TimestampSigner(salt=CONFIRM_SALT).unsign(token, max_age=CONFIRM_MAX_AGE)
    except signing.BadSignature:
        return None
    return User.objects.filter(pk=int(value)).first() if value.isdigit() else None


@transaction.atomic
def request_subscription(*, email: str, source: str) -> None:
    """Make a pending subscription for email; a task then mails the reader a link to confirm.

    accounts' subscribe service makes or finds the account (never active until the reader
    confirms; bounced and complained addresses stay as they are). Only a pending subscription
    gets the email: an active reader is not bothered, a stopped one is not mailed.
    """
    user = accounts_services.subscribe_reader(email=email, source=source)
    user_id = user.pk
    transaction.on_commit(lambda: send_subscription_confirmation_task.enqueue(user_id=user_id))


def send_subscription_confirmation(*, user_id: int) -> bool:
    """Email a reader whose subscription is pending the link that confirms it; return whether
    it was sent."""
    subscription = Subscription.objects.select_related("user").filter(user_id=user_id).first()
    if subscription is None or subscription.status != Subscription.Status.PENDING:
        return False
    user = subscription.user
    path = reverse("integrations:confirm-subscription", kwargs={"token": confirm_token(user.pk)})
    context = {
        "email": user.email,
        "confirm_url": f"{settings.SITE_URL}{path}",
        "SITE_NAME": Publication.objects.current().name,
        "SITE_URL": settings.SITE_URL,
    }
    get_adapter().render_mail("integrations/email/confirm_subscription", user.email, context).send()
    return True


@transaction.atomic
def confirm_requested_subscription(*, user: User) -> Subscription | None:
    """The reader followed the emailed link: the address is proved; activate the subscription.

    The link went to the inbox, so following it proves the address as the one-time code does
    (the newsletter's double opt-in); accounts' confirm_subscription does the rest.
    """
    EmailAddress.objects.filter(user=user, email=user.email).update(verified=True)
    return accounts_services.confirm_subscription(user=user)


# --- Webhooks ---


def _event_time(value: datetime | None) -> datetime:
    return value or timezone.now()


@transaction.atomic
def emit_event(
    *,
    event: str,
    data: dict,
    once_key: str = "",
    occurred_at: datetime | None = None,
    reader: User | None = None,
) -> list[WebhookDelivery]:
    """Queue a delivery of event to every enabled endpoint listening to it; return them.

    once_key makes the event happen once at most (a post goes live once, a poll closes once),
    whoever notices it first. Endpoints registered after the event happened are not told. A
    payload about a reader names them as reader, so deleting the account deletes it too.
    """
    occurred_at = _event_time(occurred_at)
    endpoints = list(
        WebhookEndpoint.objects.listening_to(event).filter(created_at__lte=occurred_at)
    )
    if not endpoints:
        return []  # one query, and nothing written, on a site without webhooks
    if once_key:
        _, created = EmittedEvent.objects.get_or_create(key=once_key)
        if not created:
            return []
    envelope = {"type": event, "timestamp": occurred_at.isoformat(), "data": data}
    deliveries = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                endpoint=endpoint,
                event=event,
                message_id=f"msg_{secrets.token_hex(12)}",
                payload=json.loads(json.dumps(envelope, cls=DjangoJSONEncoder)),
                reader=reader,
            )
            for endpoint in endpoints
        ]
    )
    ids = [delivery.pk for delivery in deliveries]
    if ids:
        transaction.on_commit(lambda: [deliver_webhook_task.enqueue(delivery_id=i) for i in ids])
    return deliveries


def body_of(delivery: WebhookDelivery) -> bytes:
    """Return the exact bytes sent (and signed) for delivery, the same on every attempt."""
    return json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()


def retry_delay(attempts: int) -> timedelta:
    """Return how long to wait after the attempts-th failed attempt: doubling each time."""
    return timedelta(seconds=settings.WEBHOOK_RETRY_SECONDS * 2 ** (attempts - 1))


def deliver_webhook(*, delivery_id: int) -> str:
    """Make one attempt at a delivery and decide what follows; return what happened.

    The HTTP request runs outside any transaction (it may take WEBHOOK_TIMEOUT_SECONDS); the
    outcome is written after. A failure is retried after a doubling delay, up to
    WEBHOOK_MAX_ATTEMPTS; after WEBHOOK_DISABLE_AFTER failed attempts in a row the endpoint is
    turned off and the editors are emailed.
    """
    delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    if delivery is None or delivery.status in (
        WebhookDelivery.Status.SUCCEEDED,
        WebhookDelivery.Status.FAILED,
    ):
        return "nothing to do"
    endpoint = delivery.endpoint
    if not endpoint.is_enabled:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDelivery.Status.FAILED, next_attempt_at=None
        )
        return "endpoint disabled"
    outcome = webhooks.post(
        url=endpoint.url,
        secret=endpoint.secret,
        message_id=delivery.message_id,
        body=body_of(delivery),
    )
    return _record(delivery, outcome)


@transaction.atomic
def _record(delivery: WebhookDelivery, outcome: webhooks.Outcome) -> str:
    now = timezone.now()
    WebhookAttempt.objects.create(
        delivery=delivery,
        attempted_at=now,
        status_code=outcome.status_code,
        response_snippet=outcome.snippet,
        error=outcome.error,
        duration_ms=outcome.duration_ms,
    )
    delivery.attempts += 1
    delivery.last_status_code = outcome.status_code
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=delivery.endpoint_id)
    if outcome.succeeded:
        delivery.status = WebhookDelivery.Status.SUCCEEDED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
        endpoint.consecutive_failures = 0
        endpoint.save(update_fields=["consecutive_failures"])
        result = "delivered"
    else:
        endpoint.consecutive_failures += 1
        endpoint.save(update_fields=["consecutive_failures"])
        if endpoint.is_enabled and endpoint.consecutive_failures >= settings.WEBHOOK_DISABLE_AFTER:
            _disable(endpoint, reason=outcome.error or f"HTTP {outcome.status_code}")
        if delivery.attempts < settings.WEBHOOK_MAX_ATTEMPTS and endpoint.is_enabled:
            delivery.status = WebhookDelivery.Status.RETRYING
            delivery.next_attempt_at = now + retry_delay(delivery.attempts)
            delivery_id = delivery.pk
            later = _later(deliver_webhook_task, delivery.next_attempt_at)
            transaction.on_commit(lambda: later.enqueue(delivery_id=delivery_id))
            result = "will retry"
        else:
            delivery.status = WebhookDelivery.Status.FAILED
            delivery.next_attempt_at = None
            result = "failed"
    delivery.save(
        update_fields=["attempts", "last_status_code", "status", "delivered_at", "next_attempt_at"]
    )
    return result


def _later(task, run_after: datetime):
    """task, to run at run_after; at once on a backend that cannot wait (the tests' immediate
    one), so a retry there is simply the next attempt."""
    return task.using(run_after=run_after) if task.get_backend().supports_defer else task


def _disable(endpoint: WebhookEndpoint, *, reason: str) -> None:
    endpoint.is_enabled = False
    endpoint.disabled_reason = (
        f"Turned off after {endpoint.consecutive_failures} failed attempts in a row; "
        f"the last: {reason}"
    )[:300]
    endpoint.save(update_fields=["is_enabled", "disabled_reason"])
    endpoint_id = endpoint.pk
    transaction.on_commit(lambda: email_editors_endpoint_disabled(endpoint_id=endpoint_id))


def email_editors_endpoint_disabled(*, endpoint_id: int) -> None:
    """Tell the editors who can turn an endpoint back on (superusers, and staff given the
    permission to change endpoints) that it was turned off, and why. Staff who cannot see
    webhooks are not sent its address."""
    endpoint = WebhookEndpoint.objects.get(pk=endpoint_id)
    publication = Publication.objects.current()
    path = reverse("admin:integrations_webhookendpoint_change", args=[endpoint.pk])
    context = {
        "endpoint": endpoint,
        "admin_url": f"{settings.SITE_URL}{path}",
        "SITE_NAME": publication.name,
    }
    subject = render_to_string("integrations/email/endpoint_disabled_subject.txt", context).strip()
    body = render_to_string("integrations/email/endpoint_disabled_message.txt", context)
    staff = User.objects.filter(is_staff=True, is_active=True).order_by("pk")
    editors = [user.email for user in staff if user.has_perm(ENDPOINT_PERMISSION)]
    for email in editors:
        EmailMessage(subject, body, from_email=publication.sender(), to=[email]).send()


@transaction.atomic
def redeliver(*, deliveries) -> int:
    """Send deliveries again, from a fresh first attempt; return how many were queued.

    The message id stays the same, so a receiver that already processed it can tell.
    """
    ids = list(deliveries.filter(endpoint__is_enabled=True).values_list("pk", flat=True))
    WebhookDelivery.objects.filter(pk__in=ids).update(
        status=WebhookDelivery.Status.PENDING, attempts=0, next_attempt_at=None
    )
    transaction.on_commit(lambda: [deliver_webhook_task.enqueue(delivery_id=i) for i in ids])
    return len(ids)


@transaction.atomic
def create_endpoint(*, endpoint: WebhookEndpoint) -> str:
    """Save a new endpoint with a fresh signing secret; return the secret, to show once."""
    secret = endpoint.issue_secret()
    endpoint.save()
    transaction.on_commit(ensure_sweeping)
    return secret


# --- Events nobody calls in for: scheduled posts going live, polls closing ---

# How far back the sweep looks. It runs every minute; a day covers a long outage of the worker.
SWEEP_WINDOW = timedelta(days=1)
SWEEP_EVERY = timedelta(minutes=1)


def _sweep_waiting() -> bool:
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(
        task_path=sweep_events_task.module_path, status=TaskResultStatus.READY
    ).exists()


def ensure_sweeping() -> None:
    """Start the sweep's chain of tasks (one a minute) unless one is already waiting.

    Only on a task backend that can wait (the database one, wherever the site runs): elsewhere
    the chain would run at once, for ever. manage.py sweep_webhook_events does one round by hand.
    """
    if not sweep_events_task.get_backend().supports_defer or _sweep_waiting():
        return
    sweep_events_task.using(run_after=timezone.now() + SWEEP_EVERY).enqueue()


def sweep_and_continue() -> int:
    """One round of the sweep, then the next in a minute while any endpoint is enabled."""
    try:
        return sweep_events()
    finally:
        if WebhookEndpoint.objects.filter(is_enabled=True).exists():
            ensure_sweeping()


def sweep_events(*, now: datetime | None = None) -> int:
    """Announce posts that went live and polls that closed by themselves; return how many.

    Each is announced once (emit_event's once_key), whether publish_post's signal or this
    sweep sees it first.
    """
    from integrations import payloads
    from polls.models import Poll
    from posts.models import Post

    now = now or timezone.now()
    since = now - SWEEP_WINDOW
    if not WebhookEndpoint.objects.filter(is_enabled=True).exists():
        return 0
    count = 0
    for post in Post.objects.published().filter(published_at__gte=since):
        count += bool(emit_post_published(post=post))
    polls = Poll.objects.filter(closes_at__gte=since, closes_at__lte=now).select_related("post")
    for poll in polls:
        count += bool(
            emit_event(
                event=WebhookEvent.POLL_CLOSED,
                data=payloads.poll(poll),
                once_key=f"poll.closed:{poll.pk}",
                occurred_at=poll.closes_at,
            )
        )
    return count


def emit_post_published(*, post) -> list[WebhookDelivery]:
    """Announce that post went live (once per post)."""
    from integrations import payloads

    return emit_event(
        event=WebhookEvent.POST_PUBLISHED,
        data=payloads.post(post),
        once_key=f"post.published:{post.pk}",
        occurred_at=post.published_at,
    )
