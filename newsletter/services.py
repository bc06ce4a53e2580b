"""What editors and readers ask of the newsletter: create, start, pause, resume, retry and
finish a send; the test email; the welcome email.

How a send runs
---------------
`create_send()` records the send. When it goes out now, `start_send()` renders the shared part of
the email once (stored on the send, with placeholders where the personal links go), inserts one
Delivery row per active subscriber with a single INSERT ... SELECT (nothing is loaded into
Python, so 100,000 subscribers cost no memory), and enqueues a few `send_batch` tasks on commit.
A send "at the publish time" waits for a `watch_send` task that runs at that time. From there the
workers take over: see newsletter/delivery.py.
"""

from __future__ import annotations

import math
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Subscription, User
from newsletter.audience import recipient_count, recipients
from newsletter.conf import conf
from newsletter.models import Delivery, Newsletter, NewsletterSend, Segment
from newsletter.rendering import (
    mark_send_links,
    personalise,
    render_newsletter,
)
from newsletter.signals import send_finished
from posts.models import Post
from publication.models import Publication


class NewsletterError(Exception):
    """A send the editor asked for cannot happen; the message says why."""


# --- Emails outside a send -----------------------------------------------------------------


def send_test_email(
    *, post, to_user: User, mode: str, teaser_words: int, addresses: list[str] | None = None
) -> list[str]:
    """Send the email exactly as subscribers would get it, marked as a test, to the editor or
    to each of `addresses` (one message each, so none sees the others); return where it went.

    The personal links are the editor's whoever receives it. Raises the mail backend's error,
    so the admin can show it.
    """
    rendered = render_newsletter(post=post, mode=mode, teaser_words=teaser_words)
    recipients = addresses or [to_user.email]
    messages = []
    for address in recipients:
        message = personalise(rendered, user=to_user, subject_prefix=_("[Test] "))
        message.to = [address]
        messages.append(message)
    with get_connection() as connection:
        connection.send_messages(messages)
    return recipients


def preview_email(*, post, as_user: User, mode: str, teaser_words: int) -> EmailMultiAlternatives:
    """Return the post's email exactly as as_user would get it (their unsubscribe and vote
    links), without sending or storing anything."""
    rendered = render_newsletter(post=post, mode=mode, teaser_words=teaser_words)
    return personalise(rendered, user=as_user)


# --- Starting, pausing and resuming a send ------------------------------------------------------


def enqueue_later(task, *, delay: float = 0, at=None, **kwargs) -> None:
    """Enqueue a task once the current transaction commits, optionally `delay` seconds later
    or at the time `at`.

    Backends that cannot defer (the immediate backend used by tests) skip deferred work: the
    send then waits, visibly, for the watchdog or an editor's "Resume".
    """
    if at is None and delay > 0:
        at = timezone.now() + timedelta(seconds=delay)

    def enqueue():
        pending = task
        if at is not None and at > timezone.now():
            if not task.get_backend().supports_defer:
                return
            pending = task.using(run_after=at)
        pending.enqueue(**kwargs)

    transaction.on_commit(enqueue)


def start_batches(send: NewsletterSend, pending: int | None = None) -> None:
    """Enqueue, on commit, as many batch chains as the send's pending rows can keep busy."""
    from newsletter.tasks import send_batch as send_batch_task

    if pending is None:
        pending = send.deliveries.pending().count()
    chains = max(
        1, min(conf("NEWSLETTER_PARALLEL"), math.ceil(pending / conf("NEWSLETTER_BATCH_SIZE")))
    )
    for _chain in range(chains):
        enqueue_later(send_batch_task, send_id=send.pk)


def start_watchdog(send: NewsletterSend, *, delay: float = 0, at=None) -> None:
    """Start a new watchdog chain for the send, replacing any earlier one."""
    from newsletter.tasks import watch_send as watch_send_task

    send.watchdog_token = secrets.token_hex(8)
    NewsletterSend.objects.filter(pk=send.pk).update(watchdog_token=send.watchdog_token)
    enqueue_later(watch_send_task, delay=delay, at=at, send_id=send.pk, token=send.watchdog_token)


def active_subscriber_count(
    *, newsletter: Newsletter | None = None, segment: Segment | None = None
) -> int:
    """Return how many readers a send started now would go to (the default newsletter when
    none is named)."""
    return recipient_count(newsletter=newsletter or Newsletter.objects.default(), segment=segment)


@transaction.atomic
def create_send(
    *,
    post,
    created_by: User | None,
    mode: str,
    teaser_words: int,
    at_publish_time: bool = False,
    newsletter: Newsletter | None = None,
    segment: Segment | None = None,
) -> NewsletterSend:
    """Send a post to a newsletter's readers (the default newsletter's when none is named),
    only those in `segment` if one is given, now or at its publish time; return the send.

    Raises NewsletterError when the post was already sent or scheduled, or is not published.
    """
    post = Post.objects.select_for_update().get(pk=post.pk)
    existing = NewsletterSend.objects.filter(post=post).first()
    if existing:
        raise NewsletterError(already_sent_message(existing))
    now = timezone.now()
    if at_publish_time:
        if post.status == Post.Status.DRAFT or not post.published_at or post.published_at <= now:
            raise NewsletterError(
                _("Only a post scheduled for a future time can be sent at its publish time.")
            )
    elif not post.is_published():
        raise NewsletterError(
            _("Publish the post first: subscribers would find no page behind it.")
        )
    newsletter = newsletter or Newsletter.objects.default()
    if newsletter.is_archived:
        raise NewsletterError(_("This newsletter is archived; choose another one."))
    try:
        with transaction.atomic():
            send = NewsletterSend.objects.create(
                post=post,
                newsletter=newsletter,
                segment=segment,
                created_by=created_by,
                mode=mode,
                teaser_words=teaser_words,
                status=(
                    NewsletterSend.Status.SCHEDULED
                    if at_publish_time
                    else NewsletterSend.Status.SENDING
                ),
                scheduled_for=post.published_at if at_publish_time else None,
            )
    except IntegrityError as exc:
        # Two editors pressed the button at once: the database let only one send through.
        raise NewsletterError(_("This post was sent a moment ago by someone else.")) from exc
    if at_publish_time:
        start_watchdog(send, at=send.scheduled_for)
    else:
        send = start_send(send=send)
    return send


def already_sent_message(send: NewsletterSend) -> str:
    """Return why a post with this send cannot be sent again, for the editor."""
    if send.status == NewsletterSend.Status.SCHEDULED:
        return _("This post is already scheduled to go out by email at %(time)s.") % {
            "time": timezone.localtime(send.scheduled_for).strftime("%Y-%m-%d %H:%M")
        }
    return _("This post already went out by email (started %(time)s). A post is sent once.") % {
        "time": timezone.localtime(send.started_at or send.created_at).strftime("%Y-%m-%d %H:%M")
    }


def _insert_deliveries(send: NewsletterSend) -> int:
    """Insert one pending delivery per recipient (newsletter.audience.recipients) in one
    statement; return how many."""
    delivery = Delivery._meta.db_table
    # The newsletter by id (no query); a segment's conditions are needed, so it is read.
    readers = recipients(
        newsletter=send.newsletter_id, segment=send.segment if send.segment_id else None
    )
    select, params = readers.order_by().values("pk").query.sql_with_params()
    # The table name comes from our models, the recipients' query from the ORM (its values are
    # parameters).
    sql = f"""
        INSERT INTO {delivery} (send_id, user_id, status, attempts, last_error, available_at,
                                claimed_by)
        SELECT %s, r.id, %s, 0, '', statement_timestamp(), ''
        FROM ({select}) r (id)
        ORDER BY r.id
        ON CONFLICT (send_id, user_id) DO NOTHING
    """  # noqa: S608 (table names from our models; values are parameters)  # nosec
    with connection.cursor() as cursor:
        cursor.execute(sql, [send.pk, Delivery.Status.PENDING, *params])
        return cursor.rowcount


@transaction.atomic
def start_send(*, send: NewsletterSend) -> NewsletterSend:
    """Render the email, create the deliveries and hand the work to the workers."""
    send = (
        NewsletterSend.objects.select_for_update(of=("self",))
        .select_related("post", "newsletter", "segment")
        .get(pk=send.pk)
    )
    rendered = mark_send_links(
        render_newsletter(
            post=send.post,
            mode=send.mode,
            teaser_words=send.teaser_words,
            newsletter=send.newsletter,
        ),
        send_id=send.pk,
        open_pixel=settings.ANALYTICS_EMAIL_OPENS,
    )
    count = _insert_deliveries(send)
    now = timezone.now()
    send.subject = rendered.subject[:300]
    send.html_body = rendered.html
    send.text_body = rendered.text
    send.status = NewsletterSend.Status.SENDING
    send.started_at = now
    send.heartbeat_at = now
    send.recipients_count = count
    send.save()
    if count:
        start_batches(send, pending=count)
        start_watchdog(send, delay=conf("NEWSLETTER_WATCHDOG_SECONDS"))
    else:
        finish_if_done(send_id=send.pk)
    return send


@transaction.atomic
def pause_send(*, send: NewsletterSend) -> NewsletterSend:
    """Stop handing out batches; messages already on their way finish. Resume picks up."""
    updated = NewsletterSend.objects.filter(
        pk=send.pk, status__in=[NewsletterSend.Status.SENDING, NewsletterSend.Status.SCHEDULED]
    ).update(status=NewsletterSend.Status.PAUSED, watchdog_token="")
    if not updated:
        raise NewsletterError(_("Only a scheduled or running send can be paused."))
    send.refresh_from_db()
    return send


@transaction.atomic
def resume_send(*, send: NewsletterSend) -> NewsletterSend:
    """Start (again) the batches of a paused or stalled send, or a paused scheduled one."""
    send = NewsletterSend.objects.select_for_update().select_related("post").get(pk=send.pk)
    if send.status == NewsletterSend.Status.FINISHED:
        raise NewsletterError(_("This send is finished; there is nothing to resume."))
    if send.started_at is None:
        if not send.post.is_published():
            raise NewsletterError(_("Publish the post first, then resume the send."))
        return start_send(send=send)
    send.status = NewsletterSend.Status.SENDING
    send.retry_at = None
    send.transport_failures = 0
    send.heartbeat_at = timezone.now()
    send.save(update_fields=["status", "retry_at", "transport_failures", "heartbeat_at"])
    # Rows a worker still holds stay its own until their lease ends: it may be sending them
    # right now (a paused send finishes the batches in progress).
    start_batches(send)
    start_watchdog(send, delay=conf("NEWSLETTER_WATCHDOG_SECONDS"))
    return send


@transaction.atomic
def retry_failed(*, send: NewsletterSend) -> int:
    """Put failed deliveries (not bounced ones) back in the queue; return how many."""
    send = NewsletterSend.objects.select_for_update().get(pk=send.pk)
    if send.started_at is None:
        return 0
    count = (
        send.deliveries.filter(status=Delivery.Status.FAILED)
        .filter(user__subscription__status=Subscription.Status.ACTIVE)
        .update(status=Delivery.Status.PENDING, attempts=0, available_at=timezone.now())
    )
    if count:
        send.status = NewsletterSend.Status.SENDING
        send.finished_at = None
        send.save(update_fields=["status", "finished_at"])
        start_batches(send, pending=count)
        start_watchdog(send, delay=conf("NEWSLETTER_WATCHDOG_SECONDS"))
    return count


@transaction.atomic
def finish_if_done(*, send_id: int) -> bool:
    """Mark the send finished, with its final counts, once no delivery is pending."""
    send = NewsletterSend.objects.select_for_update().filter(pk=send_id).first()
    if send is None or send.status == NewsletterSend.Status.FINISHED:
        return True
    if send.deliveries.pending().exists():
        return False
    counts = send.progress()
    send.status = NewsletterSend.Status.FINISHED
    send.finished_at = timezone.now()
    send.sent_count = counts[Delivery.Status.SENT]
    send.failed_count = counts[Delivery.Status.FAILED]
    send.bounced_count = counts[Delivery.Status.BOUNCED]
    send.skipped_count = counts[Delivery.Status.SKIPPED]
    send.retry_at = None
    send.watchdog_token = ""
    send.save()
    transaction.on_commit(lambda: send_finished.send(sender=NewsletterSend, send=send))
    enqueue_send_notice(send_id=send.pk, occasion=SendOccasion.FINISHED)
    return True


# --- Telling the editors ---------------------------------------------------------------------


class SendOccasion:
    """Why editors hear about a send. Each is emailed once per send and editor."""

    FINISHED = "finished"  # every delivery has an outcome
    TROUBLE = "trouble"  # the mail server failed several times in a row; the send waits
    PAUSED = "paused"  # a scheduled send stopped: its post was not published at the time

    ALL = (FINISHED, TROUBLE, PAUSED)


# The mail server failures in a row after which editors hear that a send is stuck.
TROUBLE_AFTER_FAILURES = 3


def enqueue_send_notice(*, send_id: int, occasion: str) -> None:
    """Enqueue, on commit, the email to editors who asked to hear about sends."""
    from newsletter.tasks import notify_editors_of_send as notify_editors_of_send_task

    transaction.on_commit(
        lambda: notify_editors_of_send_task.enqueue(send_id=send_id, occasion=occasion)
    )


def notify_editors_of_send(*, send: NewsletterSend, occasion: str) -> int:
    """Email every editor who asked to hear about sends what happened to send, once per
    occasion and editor; return how many emails this call sent."""
    from accounts.services import editors_to_notify, send_editor_notice

    if occasion not in SendOccasion.ALL:
        raise ValueError(occasion)
    sent = 0
    for editor in editors_to_notify(about="sends", permission="newsletter.view_newslettersend"):
        if send_editor_notice(
            editor=editor,
            key=f"send-{occasion}:{send.pk}",
            build=lambda editor=editor: _send_notice_email(
                editor=editor, send=send, occasion=occasion
            ),
        ):
            sent += 1
    return sent


def _send_notice_email(*, editor: User, send: NewsletterSend, occasion: str):
    from django.template.loader import render_to_string
    from django.urls import reverse

    context = {
        "editor": editor,
        "send": send,
        "post": send.post,
        "occasion": occasion,
        "send_url": settings.SITE_URL
        + reverse("admin:newsletter_newslettersend_change", args=[send.pk]),
        "notices_url": settings.SITE_URL + reverse("admin:notices"),
        "site_name": Publication.objects.current().name,
    }
    subject = " ".join(
        render_to_string("newsletter/email/editor_send_subject.txt", context).split()
    )
    return EmailMultiAlternatives(
        subject=f"[{context['site_name']}] {subject}",
        body=render_to_string("newsletter/email/editor_send_message.txt", context),
        to=[editor.email],
    )
