"""The worker's side of a send: claim batches, deliver each over its own SMTP connection,
classify what the mail server answered, back off, enqueue the next step; and the watchdog.

Each `send_batch` task runs NEWSLETTER_SMTP_CONNECTIONS connections at once, each in a thread
with its own database connection (closed when the thread ends). Each connection claims a batch
of pending rows (SELECT ... FOR UPDATE SKIP LOCKED, then a lease, newsletter.leases: the rows'
`available_at` moves into the future), sends them, marks each row right after the server
accepted it; then the task enqueues its successor. While one connection waits for the mail
server or the database, the others build and send. Several workers therefore split the work, and
a worker that dies leaves its claimed rows to be taken again when their lease runs out. A worker
that is alive but slow renews its lease before it expires, and drops any row it no longer owns,
so a row is never in two workers' hands at once.

Exactly once, and its known gaps: a row is marked sent in its own small transaction right
after the mail server answered 250. If the worker is killed hard in the instant between that
answer and the commit, that message goes out again after the restart: at most one message per
connection the worker had open. Nothing else is sent twice, and no pending row is dropped.
Those marks commit without waiting for PostgreSQL to flush its log to disk (synchronous_commit
off, for this connection while it delivers): a killed worker
loses nothing by it, but a crash of the database server itself may forget the last fraction of
a second of marks, and those few readers would get the post twice. NEWSLETTER_DURABLE_MARKS=true
makes every mark durable, at several milliseconds per message.

Failures: a permanent refusal of the recipient (5xx) marks the delivery and the subscription
bounced; a temporary one (4xx) retries that delivery later with exponential backoff; a mail
server that is unreachable or drops the connection pauses the whole send with backoff
(`retry_at`) instead of burning through the list. A `watch_send` task per send restarts the
batches if every worker died and finishes the send when nothing is left.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import threading
from datetime import timedelta

from django.core.mail import get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.db import DatabaseError, connection, transaction
from django.db import connections as db_connections
from django.db.models import Min, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.services import mark_bounced
from newsletter.conf import conf
from newsletter.leases import LeaseKeeper
from newsletter.models import Delivery, Membership, NewsletterSend
from newsletter.prepared import prepare
from newsletter.rendering import Rendered, personalise
from newsletter.services import (
    TROUBLE_AFTER_FAILURES,
    SendOccasion,
    enqueue_later,
    enqueue_send_notice,
    finish_if_done,
    start_batches,
    start_send,
    start_watchdog,
)

logger = logging.getLogger(__name__)


def backoff(attempt: int) -> float:
    """Return the delay before retry number `attempt` (1, 2, ...): doubling, capped."""
    base = conf("NEWSLETTER_RETRY_SECONDS")
    return min(conf("NEWSLETTER_RETRY_MAX_SECONDS"), base * 2 ** max(0, attempt - 1))


BOUNCE, FAIL, RETRY, TRANSPORT = "bounce", "fail", "retry", "transport"


def _reply_text(code, message) -> str:
    if isinstance(message, bytes):
        message = message.decode("utf-8", "replace")
    return f"{code} {message}".strip()


def classify(exc: BaseException) -> tuple[str, str]:
    """Return (what to do, a readable reason) for an error raised while sending one message.

    BOUNCE: the server refused the recipient for good (5xx), so the address is dead.
    FAIL: this message was refused for good for another reason; do not retry it.
    RETRY: a temporary refusal of this message (4xx); try it again later.
    TRANSPORT: the server is unreachable, or went away; pause the whole send and retry.
    """
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, message = next(iter(exc.recipients.values()), (0, b""))
        reason = _reply_text(code, message)
        if code == 421:
            return TRANSPORT, reason
        return (BOUNCE if 500 <= code < 600 else RETRY), reason
    if isinstance(exc, smtplib.SMTPResponseException):
        reason = _reply_text(exc.smtp_code, exc.smtp_error)
        if exc.smtp_code == 421 or isinstance(exc, smtplib.SMTPSenderRefused):
            # Closing down, or our own sender refused: every next message would fail too.
            return TRANSPORT, reason
        return (FAIL if exc.smtp_code >= 500 else RETRY), reason
    if isinstance(exc, OSError):  # also smtplib's disconnects, refused connections, timeouts
        return TRANSPORT, f"{type(exc).__name__}: {exc}".strip(": ")
    try:
        from anymail.exceptions import AnymailError, AnymailRecipientsRefused
    except ImportError:  # pragma: no cover - anymail is a dependency, but optional in spirit
        pass
    else:
        if isinstance(exc, AnymailRecipientsRefused):
            return BOUNCE, str(exc)[:300]
        if isinstance(exc, AnymailError):
            return TRANSPORT, str(exc)[:300]
    return FAIL, f"{type(exc).__name__}: {exc}"[:500]


def _claim(send: NewsletterSend, worker_id: str) -> list[Delivery]:
    """Take up to a batch of free pending rows for this worker; skip readers who left."""
    with transaction.atomic():
        ids = (
            send.deliveries.claimable()
            .order_by("available_at", "pk")  # the order of the accounts_delivery_claim_free index
            .claim(worker_id, limit=conf("NEWSLETTER_BATCH_SIZE"))
        )
        if not ids:
            return []
        rows = list(
            Delivery.objects.filter(pk__in=ids).select_related("user__subscription").order_by("pk")
        )
        members = set(
            Membership.objects.filter(
                newsletter_id=send.newsletter_id,
                status=Membership.Status.SUBSCRIBED,
                user_id__in=[row.user_id for row in rows],
            ).values_list("user_id", flat=True)
        )
        keep, gone = [], []
        for row in rows:
            subscription = getattr(row.user, "subscription", None)
            active = row.user.is_active and subscription is not None and subscription.is_active
            active = active and row.user_id in members
            (keep if active else gone).append(row.pk)
        if gone:
            # They unsubscribed (from everything or from this newsletter), bounced or complained
            # after the send started: never mail them.
            Delivery.objects.filter(pk__in=gone).update(
                status=Delivery.Status.SKIPPED, last_error="No longer subscribed."
            )
    _heartbeat(send)
    return [row for row in rows if row.pk in set(keep)]


def _heartbeat(send: NewsletterSend) -> None:
    """Tell the watchdog the send is alive, at most every few seconds, outside the claim's
    transaction: every connection of every worker claims, and the send's one row locked inside
    each claim made them queue behind each other (lock waits on it in 0.5 of PostgreSQL's
    samples during a send with eight connections)."""
    now = timezone.now()  # the clock the watchdog reads it with
    every = timedelta(seconds=min(5.0, conf("NEWSLETTER_STALL_SECONDS") / 10))
    NewsletterSend.objects.filter(pk=send.pk).filter(
        Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=now - every)
    ).update(heartbeat_at=now)


def _mark(delivery: Delivery, **fields) -> None:
    Delivery.objects.filter(pk=delivery.pk).update(**fields)


# The one statement a send runs per message, written out once instead of compiled by the ORM
# for every message. The table name comes from our model.
_SENT_SQL = (
    f'UPDATE "{Delivery._meta.db_table}" SET "status" = %s, "sent_at" = %s, '  # noqa: S608  # nosec
    '"attempts" = %s, "last_error" = \'\' WHERE "id" = %s'
)


def _mark_sent(delivery: Delivery) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            _SENT_SQL, [Delivery.Status.SENT, timezone.now(), delivery.attempts + 1, delivery.pk]
        )


def _retry_later(delivery: Delivery, reason: str, *, delay: float | None = None) -> None:
    attempts = delivery.attempts + 1
    if attempts >= conf("NEWSLETTER_MAX_ATTEMPTS"):
        _mark(delivery, status=Delivery.Status.FAILED, attempts=attempts, last_error=reason[:500])
        return
    wait = backoff(attempts) if delay is None else delay
    _mark(
        delivery,
        attempts=attempts,
        last_error=reason[:500],
        claimed_by="",
        available_at=timezone.now() + timedelta(seconds=wait),
    )


@transaction.atomic
def _pause_for_transport(send: NewsletterSend, reason: str) -> float:
    """Record that the mail server failed; return seconds until the send tries again."""
    send = NewsletterSend.objects.select_for_update().get(pk=send.pk)
    now = timezone.now()
    if send.retry_at and send.retry_at > now:
        # Another batch met the same failure a moment ago and already set the pause.
        return (send.retry_at - now).total_seconds()
    send.transport_failures += 1
    delay = backoff(send.transport_failures)
    send.retry_at = now + timedelta(seconds=delay)
    send.last_error = reason[:500]
    send.save(update_fields=["transport_failures", "retry_at", "last_error"])
    if send.transport_failures == TROUBLE_AFTER_FAILURES:
        # Counted under the row lock, so exactly one failure in a streak reaches this number.
        enqueue_send_notice(send_id=send.pk, occasion=SendOccasion.TROUBLE)
    logger.warning(
        "Newsletter send %s: mail server failed (%s); retry in %ss", send.pk, reason, delay
    )
    return delay


def _deliver(send: NewsletterSend, rows: list[Delivery], worker_id: str) -> float:
    """Send claimed rows over one connection; return the delay before the next batch."""
    mail = get_connection(fail_silently=False)
    if not conf("NEWSLETTER_DURABLE_MARKS"):
        # Each "sent" mark commits on its own; waiting for its WAL flush would cost several
        # milliseconds per message. See the module notes for what this trades.
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit = off")
    try:
        return _deliver_over(mail, send, rows, worker_id)
    finally:
        if not conf("NEWSLETTER_DURABLE_MARKS"):
            # A broken connection is replaced by a fresh session anyway.
            with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
                cursor.execute("RESET synchronous_commit")


def _prepare(send: NewsletterSend, rendered: Rendered):
    """Return the send's message as finished bytes with slots (newsletter.prepared), built once
    per batch (a few milliseconds, like one message built the slow way), or None."""
    try:
        return prepare(rendered, newsletter=send.newsletter)
    except Exception:
        # The slow way builds each message on its own and reports what is wrong with it.
        logger.exception("Newsletter send %s: cannot prepare the message's bytes", send.pk)
        return None


def _send_stuffed(smtp: smtplib.SMTP, sender: str, recipient: str, data: bytes) -> None:
    """Send one message whose bytes are already dot-stuffed and end with CRLF (prepared.py):
    smtplib's sendmail would search all of them for lines starting with a dot again. The same
    conversation (MAIL with SIZE when offered, RCPT, DATA) and the same errors as sendmail, so
    `classify` reads them alike."""
    smtp.ehlo_or_helo_if_needed()
    options = [f"SIZE={len(data)}"] if smtp.does_esmtp and smtp.has_extn("size") else []
    code, reply = smtp.mail(sender, options)
    if code != 250:
        if code == 421:
            smtp.close()
        else:
            smtp.rset()
        raise smtplib.SMTPSenderRefused(code, reply, sender)
    code, reply = smtp.rcpt(recipient)
    if code not in (250, 251):
        if code == 421:
            smtp.close()
        else:
            smtp.rset()
        raise smtplib.SMTPRecipientsRefused({recipient: (code, reply)})
    code, reply = smtp.docmd("data")
    if code != 354:
        if code == 421:
            smtp.close()
        else:
            smtp.rset()
        raise smtplib.SMTPDataError(code, reply)
    smtp.send(data + b".\r\n")
    code, reply = smtp.getreply()
    if code != 250:
        if code == 421:
            smtp.close()
        else:
            smtp.rset()
        raise smtplib.SMTPDataError(code, reply)


def _deliver_over(mail, send: NewsletterSend, rows: list[Delivery], worker_id: str) -> float:
    rendered = Rendered(subject=send.subject, html=send.html_body, text=send.text_body)
    prepared = _prepare(send, rendered) if isinstance(mail, SMTPBackend) else None
    remaining = [row.pk for row in rows]
    lease = LeaseKeeper(Delivery.objects.pending(), remaining, worker_id)
    try:
        mail.open()
    except Exception as exc:
        _, reason = classify(exc)
        Delivery.objects.filter(pk__in=remaining).release(worker_id)
        return _pause_for_transport(send, reason)
    sent_any = False
    try:
        for index, row in enumerate(rows):
            if not lease.owns(index):
                continue
            try:
                # Over SMTP, the send's finished bytes with this reader's values put in; a
                # reader they cannot take, and any other mail backend, get a message built
                # through the email package.
                built = prepared.render(row.user) if prepared is not None else None
                message = None
                if built is None:
                    message = personalise(
                        rendered, user=row.user, connection=mail, newsletter=send.newsletter
                    )
            except Exception as exc:
                logger.exception("Newsletter send %s: cannot build message %s", send.pk, row.pk)
                _mark(row, status=Delivery.Status.FAILED, attempts=row.attempts + 1,
                      last_error=f"Could not build the message: {exc!r}"[:500])  # fmt: skip
                continue
            try:
                if built is not None:
                    _send_stuffed(mail.connection, prepared.envelope_from, *built)
                elif not mail.send_messages([message]):
                    # A backend that reports nothing sent without raising (fail_silently).
                    raise OSError("The mail backend did not accept the message.")
            except Exception as exc:
                action, reason = classify(exc)
                if action == BOUNCE:
                    _mark(row, status=Delivery.Status.BOUNCED, attempts=row.attempts + 1,
                          last_error=reason[:500])  # fmt: skip
                    mark_bounced(user_id=row.user_id, reason=reason)
                elif action == FAIL:
                    _mark(row, status=Delivery.Status.FAILED, attempts=row.attempts + 1,
                          last_error=reason[:500])  # fmt: skip
                elif action == RETRY:
                    _retry_later(row, reason)
                else:
                    # The server went away mid-batch. This row may or may not have arrived; the
                    # server did not confirm it, so it is tried again. The rest go back to the pool.
                    _retry_later(row, reason, delay=0)
                    Delivery.objects.pending().filter(pk__in=remaining[index + 1 :]).release(
                        worker_id
                    )
                    return _pause_for_transport(send, reason)
            else:
                # Its own small transaction, right after the server's 250: see the module notes.
                _mark_sent(row)
                sent_any = True
    finally:
        # The connection may already be dead; there is nothing left to keep from it.
        with contextlib.suppress(Exception):
            mail.close()
    if sent_any and (send.transport_failures or send.retry_at):
        NewsletterSend.objects.filter(pk=send.pk).update(
            transport_failures=0, retry_at=None, last_error=""
        )
    return 0


def run_batch(*, send_id: int, worker_id: str) -> str:
    """One step of a send: claim a batch, send it, enqueue the next step. Return what it did."""
    from newsletter.tasks import send_batch as send_batch_task

    send = NewsletterSend.objects.select_related("newsletter").filter(pk=send_id).first()
    if send is None or send.status != NewsletterSend.Status.SENDING:
        return "stopped"
    now = timezone.now()
    if send.retry_at and send.retry_at > now:
        enqueue_later(send_batch_task, delay=(send.retry_at - now).total_seconds(), send_id=send_id)
        return "waiting for the mail server"
    connections = conf("NEWSLETTER_SMTP_CONNECTIONS")
    claimed: list[int] = []  # rows each connection claimed (list.append is thread-safe)
    delay = 0.0
    try:
        if connections > 1 and not connection.in_atomic_block:
            delay = _run_connections(send, worker_id, connections, claimed)
        else:
            # One connection, in this thread. Also when the caller holds a transaction open
            # (the immediate task backend inside one): the rows it has not committed are
            # invisible to the database connections of other threads.
            delay = _claim_and_deliver(send, worker_id, claimed)
    finally:
        if sum(claimed):
            # Even when a connection failed: the chain goes on.
            enqueue_later(send_batch_task, delay=delay, send_id=send_id)
    if sum(claimed):
        return f"sent a batch of {sum(claimed)}"
    next_free = send.deliveries.pending().aggregate(at=Min("available_at"))["at"]
    if next_free is None:
        finish_if_done(send_id=send_id)
        return "finished"
    if next_free <= now:
        # Rows were claimed as skipped, or another worker just took the rest: look again.
        enqueue_later(send_batch_task, send_id=send_id)
        return "skipped"
    # Rows held by another worker's lease or waiting for a retry: come back when free.
    enqueue_later(send_batch_task, delay=(next_free - now).total_seconds() + 0.05, send_id=send_id)
    return "waiting"


def _claim_and_deliver(send: NewsletterSend, worker_id: str, claimed: list[int]) -> float:
    """Claim a batch and send it over one SMTP connection; return the delay before the next
    batch. How many rows it claimed goes into `claimed` first, so a failure while sending
    still counts them."""
    rows = _claim(send, worker_id)
    claimed.append(len(rows))
    return _deliver(send, rows, worker_id) if rows else 0.0


def _run_connections(send: NewsletterSend, worker_id: str, count: int, claimed: list[int]) -> float:
    """Run `count` SMTP connections at once, each in a thread with its own database connection:
    each claims its own batch, sends it and marks its own rows, so a worker killed mid-send
    leaves at most one sent-but-unmarked message per connection. While one thread waits for the
    mail server's or the database's answer, the others build and send. Return the longest delay
    any connection asked for; re-raise the first failure once every thread is done."""
    delays: list[float] = []
    errors: list[BaseException] = []

    def one() -> None:
        try:
            delays.append(_claim_and_deliver(send, worker_id, claimed))
        except BaseException as exc:  # raised again in the task's own thread, below
            errors.append(exc)
        finally:
            # This thread's own database connection: nothing reuses it after the thread.
            db_connections.close_all()

    threads = [
        threading.Thread(target=one, name=f"send-{send.pk}-{index}", daemon=True)
        for index in range(count)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return max(delays, default=0.0)


def watch(*, send_id: int, token: str) -> str:
    """Start a scheduled send when due; restart the batches of a send every worker abandoned;
    finish a send with nothing left. Re-enqueues itself while the send runs."""
    from newsletter.tasks import watch_send as watch_send_task

    send = NewsletterSend.objects.select_related("post").filter(pk=send_id).first()
    if send is None or send.status in {
        NewsletterSend.Status.FINISHED,
        NewsletterSend.Status.PAUSED,
    }:
        return "stopped"
    if not token or send.watchdog_token != token:
        return "replaced"
    now = timezone.now()
    if send.status == NewsletterSend.Status.SCHEDULED:
        return _start_scheduled(send, now)
    # Schedule the next round first, so a crash during this one cannot end the chain.
    enqueue_later(
        watch_send_task, delay=conf("NEWSLETTER_WATCHDOG_SECONDS"), send_id=send_id, token=token
    )
    if finish_if_done(send_id=send_id):
        return "finished"
    stalled_since = now - timedelta(seconds=conf("NEWSLETTER_STALL_SECONDS"))
    waiting = send.retry_at and send.retry_at > now
    if (
        not waiting
        and (send.heartbeat_at is None or send.heartbeat_at < stalled_since)
        and send.deliveries.claimable().exists()
    ):
        logger.warning("Newsletter send %s stalled; restarting its batches", send_id)
        with transaction.atomic():
            NewsletterSend.objects.filter(pk=send_id).update(heartbeat_at=now)
            start_batches(send)
        return "restarted"
    return "running"


def _start_scheduled(send: NewsletterSend, now) -> str:
    post = send.post
    if post.is_published():
        start_send(send=send)
        return "started"
    if post.published_at and post.published_at > now and post.status != post.Status.DRAFT:
        # The editor moved the publish time: follow it.
        with transaction.atomic():
            NewsletterSend.objects.filter(pk=send.pk).update(scheduled_for=post.published_at)
            send.scheduled_for = post.published_at
            start_watchdog(send, at=post.published_at)
        return "rescheduled"
    NewsletterSend.objects.filter(pk=send.pk).update(
        status=NewsletterSend.Status.PAUSED,
        watchdog_token="",
        last_error=_("The post was not published at its send time. Publish it, then resume."),
    )
    enqueue_send_notice(send_id=send.pk, occasion=SendOccasion.PAUSED)
    return "paused"
