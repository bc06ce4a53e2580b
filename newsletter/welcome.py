"""Welcome series: each newsletter's sequence of emails to new readers.

A reader enters a newsletter's series when their subscription is confirmed or when they join the
newsletter with a confirmed subscription (`enter_series`). Their `WelcomeProgress` row holds the
position of the next step and when it is due. `run_due` is the worker's side, built like the
send pipeline (newsletter.delivery): it claims due rows with SELECT ... FOR UPDATE SKIP LOCKED
and a lease (newsletter.leases), sends each reader's step, and in one transaction records the
`WelcomeEmail` (unique per reader and position) and moves the reader on. Two workers never hold
the same row; a worker killed mid-step leaves its rows to be taken again when the lease runs
out. As for sends, the one gap is a kill between the mail server's 250 and that commit: that
single email goes out again.

A reader who left the newsletter, unsubscribed from everything, bounced or complained is
taken out of the series when their next step comes up: nothing more is sent to them.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from accounts.models import Subscription, User
from accounts.services import mark_bounced
from newsletter.conf import conf
from newsletter.leases import LeaseKeeper
from newsletter.models import Membership, Newsletter, WelcomeEmail, WelcomeProgress, WelcomeStep
from newsletter.rendering import (
    MANAGE_PLACEHOLDER,
    REFERRAL_PLACEHOLDER,
    UNSUBSCRIBE_PLACEHOLDER,
    absolute_url,
    email_body_html,
    personalise,
    render_email,
)
from posts.models import Post
from posts.richtext import html_to_text

logger = logging.getLogger(__name__)

BATCH_SIZE = 50


def _next_step(newsletter_id: int, position: int) -> WelcomeStep | None:
    return (
        WelcomeStep.objects.filter(
            newsletter_id=newsletter_id, is_active=True, position__gte=position
        )
        .order_by("position", "pk")
        .first()
    )


def due_time(step: WelcomeStep, *, started_at: datetime, last_sent_at: datetime | None):
    """Return when step is due for a reader who entered at started_at and got their previous
    step at last_sent_at (None: no step yet)."""
    if step.delay_from == WelcomeStep.DelayFrom.SIGNUP:
        base = started_at
    else:
        base = last_sent_at or started_at
    return base + timedelta(hours=step.delay_hours)


def _schedule(at: datetime | None = None) -> None:
    from newsletter.services import enqueue_later
    from newsletter.tasks import send_welcome_steps as send_welcome_steps_task

    enqueue_later(send_welcome_steps_task, at=at)


@transaction.atomic
def enter_series(*, user: User, newsletter: Newsletter) -> WelcomeProgress | None:
    """Put a reader at the start of newsletter's welcome series; return their progress, or None
    if the series has no active step. A reader who was in it before does not start again."""
    first = _next_step(newsletter.pk, 0)
    if first is None:
        return None
    now = timezone.now()
    progress, created = WelcomeProgress.objects.get_or_create(
        user=user,
        newsletter=newsletter,
        defaults={
            "started_at": now,
            "next_position": first.position,
            "due_at": due_time(first, started_at=now, last_sent_at=None),
        },
    )
    if created:
        _schedule(progress.due_at)
    return progress


def enter_confirmed(*, user: User) -> int:
    """Enter a confirmed reader into the series of every newsletter they are subscribed to;
    return how many they entered."""
    newsletters = Newsletter.objects.current().filter(
        memberships__user=user, memberships__status=Membership.Status.SUBSCRIBED
    )
    return sum(1 for n in newsletters if enter_series(user=user, newsletter=n) is not None)


def _receiving(progress: WelcomeProgress) -> bool:
    user = progress.user
    subscription = Subscription.objects.filter(user=user).first()
    return (
        user.is_active
        and subscription is not None
        and subscription.is_active
        and Membership.objects.filter(
            user=user, newsletter_id=progress.newsletter_id, status=Membership.Status.SUBSCRIBED
        ).exists()
    )


def _claim(worker_id: str, limit: int) -> list[WelcomeProgress]:
    ids = WelcomeProgress.objects.due().order_by("due_at", "pk").claim(worker_id, limit=limit)
    if not ids:
        return []
    # If this worker dies, someone must look again once the lease has run out.
    _schedule(timezone.now() + timedelta(seconds=conf("NEWSLETTER_LEASE_SECONDS") + 1))
    return list(
        WelcomeProgress.objects.filter(pk__in=ids)
        .select_related("user", "newsletter")
        .order_by("due_at", "pk")
    )


def _update(progress: WelcomeProgress, worker_id: str, **fields) -> int:
    """Change a row this worker still holds, releasing it; return 1 if it did."""
    return WelcomeProgress.objects.waiting().filter(pk=progress.pk).release(worker_id, **fields)


def render_step(step: WelcomeStep, *, user: User, newsletter: Newsletter):
    """Return the email of one step for one reader, ready to send (the admin's preview shows
    this same message, unsent)."""
    latest = Post.objects.published().first() if step.show_latest_post else None
    context = {
        "site_url": settings.SITE_URL,
        "subject": step.subject,
        "body_html": email_body_html(step.body),
        "body_text": html_to_text(step.body),
        "latest": latest,
        "latest_url": absolute_url(latest.get_absolute_url()) if latest else "",
        "unsubscribe_url": UNSUBSCRIBE_PLACEHOLDER,
        "manage_url": MANAGE_PLACEHOLDER,
        "referral_url": REFERRAL_PLACEHOLDER,
        "newsletter": newsletter,
        "newsletter_name": newsletter.name,
    }
    rendered = render_email("welcome_step", context)
    return personalise(rendered, user=user, newsletter=newsletter)


def _send_one(progress: WelcomeProgress, worker_id: str, mail) -> str:
    from newsletter.delivery import BOUNCE, FAIL, backoff, classify

    if not _receiving(progress):
        _update(progress, worker_id, status=WelcomeProgress.Status.STOPPED)
        return "stopped"
    step = _next_step(progress.newsletter_id, progress.next_position)
    if step is None:
        _update(progress, worker_id, status=WelcomeProgress.Status.DONE)
        return "done"
    due = due_time(step, started_at=progress.started_at, last_sent_at=progress.last_sent_at)
    if step.position != progress.next_position or due > timezone.now():
        # The step it waited at was deleted or switched off, or its delay changed: wait for the
        # step now next, at its own time.
        _update(progress, worker_id, next_position=step.position, due_at=due)
        _schedule(due)
        return "rescheduled"
    try:
        message = render_step(step, user=progress.user, newsletter=progress.newsletter)
        message.connection = mail
        if not mail.send_messages([message]):
            raise OSError("The mail backend did not accept the message.")
    except Exception as exc:
        action, reason = classify(exc)
        if action == BOUNCE:
            mark_bounced(user_id=progress.user_id, reason=reason)
            _update(progress, worker_id, status=WelcomeProgress.Status.STOPPED)
            return "bounced"
        if action != FAIL:
            retry_at = timezone.now() + timedelta(seconds=backoff(1))
            _update(progress, worker_id, due_at=retry_at)
            _schedule(retry_at)
            return "retry"
        logger.warning("Welcome step %s to reader %s failed: %s", step.pk, progress.user_id, reason)
    now = timezone.now()
    following = _next_step(progress.newsletter_id, step.position + 1)
    fields = {"next_position": step.position + 1, "last_sent_at": now}
    if following is None:
        fields["status"] = WelcomeProgress.Status.DONE
    else:
        fields["due_at"] = due_time(following, started_at=progress.started_at, last_sent_at=now)
    try:
        with transaction.atomic():
            WelcomeEmail.objects.create(
                progress=progress,
                step=step,
                position=step.position,
                subject=step.subject[:300],
                worker=worker_id,
            )
            if not _update(progress, worker_id, steps_sent=progress.steps_sent + 1, **fields):
                raise IntegrityError("lease lost")
    except IntegrityError:
        logger.warning("Welcome progress %s: step already recorded elsewhere", progress.pk)
        return "lost"
    if following is not None:
        _schedule(fields["due_at"])
    return "sent"


def run_due(*, worker_id: str, limit: int = BATCH_SIZE) -> dict[str, int]:
    """Send every due welcome step this worker can claim, a batch at a time; return counts by
    outcome."""
    from django.core.mail import get_connection

    outcomes: dict[str, int] = {}
    while rows := _claim(worker_id, limit):
        lease = LeaseKeeper(WelcomeProgress.objects.waiting(), [row.pk for row in rows], worker_id)
        with get_connection(fail_silently=False) as mail:
            for index, progress in enumerate(rows):
                if not lease.owns(index):
                    continue
                outcome = _send_one(progress, worker_id, mail)
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def step_counts(newsletter: Newsletter) -> list[tuple[WelcomeStep, int]]:
    """Return each step of newsletter's series with how many readers wait at it (one query
    for the counts)."""
    waiting = dict(
        WelcomeProgress.objects.waiting()
        .filter(newsletter=newsletter)
        .order_by()
        .values_list("next_position")
        .annotate(n=Count("pk"))
    )
    steps = list(newsletter.welcome_steps.order_by("position", "pk"))
    counts = []
    for index, step in enumerate(steps):
        # Readers wait at a position; one whose step was deleted waits for the next one.
        low = steps[index - 1].position + 1 if index else 0
        counts.append((step, sum(n for pos, n in waiting.items() if low <= pos <= step.position)))
    return counts


def finished_count(newsletter: Newsletter) -> dict[str, int]:
    """Return how many readers finished the series and how many were taken out of it."""
    return WelcomeProgress.objects.filter(newsletter=newsletter).aggregate(
        done=Count("pk", filter=Q(status=WelcomeProgress.Status.DONE)),
        stopped=Count("pk", filter=Q(status=WelcomeProgress.Status.STOPPED)),
    )
