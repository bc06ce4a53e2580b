"""The send services and the batch pipeline, run by the immediate task backend: who gets the
post, exactly once, and what happens when the mail server refuses, fails or goes away."""

import smtplib
from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.test.signals import template_rendered
from django.utils import timezone

from accounts.models import Subscription
from newsletter import delivery as pipeline
from newsletter import services
from newsletter.delivery import BOUNCE, FAIL, RETRY, TRANSPORT
from newsletter.models import Delivery, NewsletterSend
from tests.factories import PostFactory, make_subscribers
from tests.newsletter.conftest import free_port

pytestmark = pytest.mark.django_db


def send_post(post, editor=None, **kwargs):
    options = {"mode": NewsletterSend.Mode.FULL, "teaser_words": 150, **kwargs}
    return services.create_send(post=post, created_by=editor, **options)


@pytest.fixture
def everyone():
    """Readers in every state: only the active ones may ever be mailed."""
    active = make_subscribers(12)
    others = []
    for status in (
        Subscription.Status.PENDING,
        Subscription.Status.UNSUBSCRIBED,
        Subscription.Status.BOUNCED,
        Subscription.Status.COMPLAINED,
    ):
        others += make_subscribers(2, status=status, prefix=status)
    disabled = make_subscribers(1, prefix="disabled")[0]
    disabled.is_active = False
    disabled.save()
    return active


def test_send_reaches_each_active_subscriber_once(
    everyone, editor, mailoutbox, fast_newsletter, django_capture_on_commit_callbacks
):
    post = PostFactory()
    with django_capture_on_commit_callbacks(execute=True):
        send = send_post(post, editor)
    assert sorted(message.to[0] for message in mailoutbox) == sorted(u.email for u in everyone)
    send.refresh_from_db()
    assert send.status == NewsletterSend.Status.FINISHED
    assert send.recipients_count == send.sent_count == 12
    assert send.created_by == editor
    assert send.started_at <= send.finished_at
    assert send.progress() == {
        "pending": 0,
        "sent": 12,
        "failed": 0,
        "bounced": 0,
        "skipped": 0,
        "total": 12,
    }
    assert not Delivery.objects.filter(send=send, sent_at=None).exists()


def test_the_shared_part_is_rendered_once_per_send(
    fast_newsletter, mailoutbox, django_capture_on_commit_callbacks
):
    make_subscribers(45)
    rendered = []

    def record(sender, template, **kwargs):
        rendered.append(template.name)

    template_rendered.connect(record)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            send_post(PostFactory())
    finally:
        template_rendered.disconnect(record)
    assert len(mailoutbox) == 45
    assert rendered.count("newsletter/email/newsletter_message.html") == 1
    assert rendered.count("newsletter/email/newsletter_message.txt") == 1


def test_deliveries_are_created_in_one_statement_whatever_the_list_size(
    django_assert_num_queries,
):
    for count in (3, 60):
        make_subscribers(count, prefix=f"size{count}-")
        send = NewsletterSend.objects.create(post=PostFactory())
        with django_assert_num_queries(1):
            created = services._insert_deliveries(send)
        assert created == Subscription.objects.active().count()


def test_a_post_goes_out_once_and_a_second_send_is_refused(
    editor, django_capture_on_commit_callbacks
):
    make_subscribers(2)
    post = PostFactory()
    with django_capture_on_commit_callbacks(execute=True):
        send_post(post, editor)
    with pytest.raises(services.NewsletterError, match="already went out"):
        send_post(post, editor)
    assert NewsletterSend.objects.filter(post=post).count() == 1


def test_the_database_itself_refuses_a_second_send_of_a_post():
    post = PostFactory()
    NewsletterSend.objects.create(post=post)
    with pytest.raises(IntegrityError), transaction.atomic():
        NewsletterSend.objects.create(post=post)


def test_the_database_refuses_a_second_delivery_to_the_same_reader():
    user = make_subscribers(1)[0]
    send = NewsletterSend.objects.create(post=PostFactory())
    Delivery.objects.create(send=send, user=user)
    with pytest.raises(IntegrityError), transaction.atomic():
        Delivery.objects.create(send=send, user=user)


def test_a_draft_cannot_be_sent():
    post = PostFactory(status="draft", published_at=None)
    with pytest.raises(services.NewsletterError, match="Publish the post first"):
        send_post(post)
    with pytest.raises(services.NewsletterError, match="scheduled for a future time"):
        send_post(post, at_publish_time=True)
    assert not NewsletterSend.objects.exists()


def test_send_at_publish_time_waits_for_it_then_goes_out(
    settings, fast_newsletter, mailoutbox, django_capture_on_commit_callbacks
):
    from django_tasks_db.models import DBTaskResult

    make_subscribers(3)
    publish_at = timezone.now() + timedelta(hours=2)
    post = PostFactory(status="scheduled", published_at=publish_at)
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    with django_capture_on_commit_callbacks(execute=True):
        send = send_post(post, at_publish_time=True)
    assert send.status == NewsletterSend.Status.SCHEDULED
    assert send.scheduled_for == publish_at
    assert not send.deliveries.exists()
    task = DBTaskResult.objects.get(task_path="newsletter.tasks.watch_send")
    assert task.run_after == publish_at
    assert mailoutbox == []

    # The publish time comes; the worker runs the task it was given.
    Post = type(post)
    Post.objects.filter(pk=post.pk).update(published_at=timezone.now() - timedelta(seconds=1))
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    with django_capture_on_commit_callbacks(execute=True):
        assert pipeline.watch(send_id=send.pk, token=task.args_kwargs["kwargs"]["token"]) == (
            "started"
        )
    assert len(mailoutbox) == 3
    send.refresh_from_db()
    assert send.status == NewsletterSend.Status.FINISHED


def test_scheduled_send_of_a_post_taken_back_to_draft_pauses_with_a_reason(
    django_capture_on_commit_callbacks,
):
    post = PostFactory(status="scheduled", published_at=timezone.now() + timedelta(hours=1))
    send = send_post(post, at_publish_time=True)
    type(post).objects.filter(pk=post.pk).update(status="draft")
    assert pipeline.watch(send_id=send.pk, token=send.watchdog_token) == "paused"
    send.refresh_from_db()
    assert send.status == NewsletterSend.Status.PAUSED
    assert "not published" in send.last_error


def test_a_stale_watchdog_stops_when_replaced():
    send = NewsletterSend.objects.create(post=PostFactory(), watchdog_token="new")
    assert pipeline.watch(send_id=send.pk, token="old") == "replaced"


def test_readers_who_leave_after_the_send_started_are_skipped(
    fast_newsletter, mailoutbox, django_capture_on_commit_callbacks
):
    users = make_subscribers(6)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        send = send_post(PostFactory())
    assert send.deliveries.count() == 6
    Subscription.objects.filter(user=users[0]).update(status=Subscription.Status.UNSUBSCRIBED)
    Subscription.objects.filter(user=users[1]).update(status=Subscription.Status.COMPLAINED)
    with django_capture_on_commit_callbacks(execute=True):
        for callback in callbacks:
            callback()
    assert sorted(m.to[0] for m in mailoutbox) == sorted(u.email for u in users[2:])
    send.refresh_from_db()
    assert send.skipped_count == 2
    assert send.sent_count == 4


def test_permanent_refusal_bounces_the_address_and_no_later_send_mails_it(
    smtp, fast_newsletter, django_capture_on_commit_callbacks
):
    users = make_subscribers(5)
    smtp.handler.refuse[users[2].email] = "550 5.1.1 No such mailbox"
    with django_capture_on_commit_callbacks(execute=True):
        send = send_post(PostFactory())
    delivery = send.deliveries.get(user=users[2])
    assert delivery.status == Delivery.Status.BOUNCED
    assert "550" in delivery.last_error
    subscription = Subscription.objects.get(user=users[2])
    assert subscription.status == Subscription.Status.BOUNCED
    assert "No such mailbox" in subscription.status_reason
    assert sorted(smtp.handler.recipients()) == sorted(u.email for u in users if u != users[2])
    send.refresh_from_db()
    assert (send.sent_count, send.bounced_count) == (4, 1)

    del smtp.handler.refuse[users[2].email]
    with django_capture_on_commit_callbacks(execute=True):
        later = send_post(PostFactory())
    assert not later.deliveries.filter(user=users[2]).exists()
    assert smtp.handler.recipients().count(users[2].email) == 0


def test_temporary_refusal_is_retried_later_then_sent(
    smtp, fast_newsletter, django_capture_on_commit_callbacks
):
    fast_newsletter.NEWSLETTER_RETRY_SECONDS = 120
    users = make_subscribers(3)
    smtp.handler.refuse[users[1].email] = "450 4.2.1 Mailbox busy, try later"
    with django_capture_on_commit_callbacks(execute=True):
        send = send_post(PostFactory())
    delivery = send.deliveries.get(user=users[1])
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.attempts == 1
    assert "450" in delivery.last_error
    assert delivery.available_at > timezone.now() + timedelta(seconds=100)
    send.refresh_from_db()
    assert send.status == NewsletterSend.Status.SENDING

    # The retry delay passes and the mailbox is free again.
    del smtp.handler.refuse[users[1].email]
    Delivery.objects.filter(pk=delivery.pk).update(available_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        pipeline.run_batch(send_id=send.pk, worker_id="w")
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SENT
    assert delivery.attempts == 2
    assert smtp.handler.recipients().count(users[1].email) == 1
    send.refresh_from_db()
    assert send.status == NewsletterSend.Status.FINISHED


def test_temporary_refusals_give_up_after_the_last_attempt(
    smtp, fast_newsletter, django_capture_on_commit_callbacks
):
    users = make_subscribers(2)
    smtp.handler.refuse[users[0].email] = "452 4.2.2 Over quota"
    with django_capture_on_commit_callbacks(execute=True):
        send = send_post(PostFactory())
    delivery = send.deliveries.get(user=users[0])
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.attempts == fast_newsletter.NEWSLETTER_MAX_ATTEMPTS
    send.refresh_from_db()
    assert send.status == NewsletterSend.Status.FINISHED
    assert (send.sent_count, send.failed_count) == (1, 1)
    # A full mailbox is not a dead address.
    assert Subscription.objects.get(user=users[0]).status == Subscription.Status.ACTIVE

    del smtp.handler.refuse[users[0].email]
    with django_capture_on_commit_callbacks(execute=True):
        assert services.retry_failed(send=send) == 1
    send.refresh_from_db()
    assert (send.sent_count, send.failed_count) == (2, 0)
    assert smtp.handler.recipients().count(users[0].email) == 1


def test_smtp_dropping_mid_batch_resumes_without_duplicates_or_gaps(
    smtp, fast_newsletter, django_capture_on_commit_callbacks
):
    users = make_subscribers(50)
    dropped = []

    def drop_once(handler, server, envelope):
        if handler.count == 7 and not dropped:
            dropped.append(envelope.rcpt_tos[0])
            server.transport.abort()  # the connection dies mid-conversation
            return "421 4.4.2 Connection dropped"
        return None

    smtp.handler.on_data = drop_once
    with django_capture_on_commit_callbacks(execute=True):
        send = send_post(PostFactory())
    send.refresh_from_db()
    assert dropped
    assert sorted(smtp.handler.recipients()) == sorted(user.email for user in users)
    assert send.status == NewsletterSend.Status.FINISHED
    assert send.sent_count == 50
    retried = send.deliveries.get(user__email=dropped[0])
    assert retried.attempts == 2
    assert send.transport_failures == 0
    assert send.last_error == ""


def test_smtp_down_at_start_leaves_a_clear_waiting_state(
    settings, fast_newsletter, django_capture_on_commit_callbacks
):
    fast_newsletter.NEWSLETTER_RETRY_SECONDS = 60
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port()  # nothing listens there
    make_subscribers(30)
    with django_capture_on_commit_callbacks(execute=True):
        send = send_post(PostFactory())
    send.refresh_from_db()
    assert send.status == NewsletterSend.Status.SENDING
    assert send.transport_failures == 1
    assert send.retry_at > timezone.now() + timedelta(seconds=50)
    assert "Connection refused" in send.last_error or "ConnectionRefused" in send.last_error
    assert send.progress()["pending"] == 30
    assert not send.deliveries.filter(attempts__gt=0).exists()
    # Every row is free for the next try: none stays held by a lease.
    assert send.deliveries.claimable().count() == 30

    # Another batch arriving meanwhile waits for the same pause instead of hammering the server.
    assert pipeline.run_batch(send_id=send.pk, worker_id="w") == "waiting for the mail server"
    send.refresh_from_db()
    assert send.transport_failures == 1


def test_pause_stops_handing_out_batches_and_resume_finishes(
    fast_newsletter, mailoutbox, django_capture_on_commit_callbacks
):
    make_subscribers(30)
    with django_capture_on_commit_callbacks(execute=False):
        send = send_post(PostFactory())
    services.pause_send(send=send)
    assert pipeline.run_batch(send_id=send.pk, worker_id="w") == "stopped"
    assert mailoutbox == []
    with pytest.raises(services.NewsletterError):
        services.pause_send(send=send)
    with django_capture_on_commit_callbacks(execute=True):
        services.resume_send(send=send)
    assert len(mailoutbox) == 30
    send.refresh_from_db()
    assert send.status == NewsletterSend.Status.FINISHED
    with pytest.raises(services.NewsletterError, match="finished"):
        services.resume_send(send=send)


def test_a_row_claimed_by_another_worker_waits_for_its_lease(fast_newsletter):
    make_subscribers(30)
    with transaction.atomic():
        send = send_post(PostFactory())  # no callbacks run: no batches yet
    first = pipeline._claim(send, "w1")
    second = pipeline._claim(send, "w2")
    assert (len(first), len(second)) == (20, 10)  # 30 rows in batches of 20
    assert not {row.pk for row in first} & {row.pk for row in second}
    assert pipeline._claim(send, "w3") == []

    # w1 dies: once its lease is over its rows go to whoever claims next.
    Delivery.objects.filter(claimed_by="w1").update(available_at=timezone.now())
    taken = pipeline._claim(send, "w3")
    assert {row.pk for row in taken} == {row.pk for row in first}
    # w1 comes back to life: renewing tells it the rows are no longer its own.
    pending = Delivery.objects.pending()
    assert pending.filter(pk__in=[row.pk for row in first]).renew_lease("w1") == set()
    taken_ids = {row.pk for row in taken}
    assert pending.filter(pk__in=taken_ids).renew_lease("w3") == taken_ids


def test_watchdog_restarts_a_send_every_worker_abandoned(
    fast_newsletter, mailoutbox, django_capture_on_commit_callbacks
):
    fast_newsletter.NEWSLETTER_STALL_SECONDS = 60
    make_subscribers(25)
    with django_capture_on_commit_callbacks(execute=False):
        send = send_post(PostFactory())  # its batch tasks are lost
    assert pipeline.watch(send_id=send.pk, token=send.watchdog_token) == "running"
    NewsletterSend.objects.filter(pk=send.pk).update(
        heartbeat_at=timezone.now() - timedelta(minutes=5)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert pipeline.watch(send_id=send.pk, token=send.watchdog_token) == "restarted"
    assert len(mailoutbox) == 25
    assert pipeline.watch(send_id=send.pk, token=send.watchdog_token) == "stopped"


def test_send_to_nobody_finishes_at_once(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        send = send_post(PostFactory())
    send.refresh_from_db()
    assert send.status == NewsletterSend.Status.FINISHED
    assert send.recipients_count == 0


@pytest.mark.parametrize(
    ("error", "action"),
    [
        (smtplib.SMTPRecipientsRefused({"a@x": (550, b"5.1.1 unknown user")}), BOUNCE),
        (smtplib.SMTPRecipientsRefused({"a@x": (450, b"4.2.1 busy")}), RETRY),
        (smtplib.SMTPRecipientsRefused({"a@x": (421, b"4.7.0 closing")}), TRANSPORT),
        (smtplib.SMTPDataError(554, b"5.7.1 rejected as spam"), FAIL),
        (smtplib.SMTPDataError(451, b"4.3.0 try later"), RETRY),
        (smtplib.SMTPDataError(421, b"shutting down"), TRANSPORT),
        (smtplib.SMTPSenderRefused(550, b"sender not allowed", "news@x"), TRANSPORT),
        (smtplib.SMTPServerDisconnected("Connection unexpectedly closed"), TRANSPORT),
        (ConnectionRefusedError(111, "Connection refused"), TRANSPORT),
        (TimeoutError("timed out"), TRANSPORT),
        (ValueError("unexpected"), FAIL),
    ],
)
def test_classify_smtp_errors(error, action):
    assert pipeline.classify(error)[0] == action


def test_classify_anymail_errors():
    from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused

    assert pipeline.classify(AnymailRecipientsRefused("all refused"))[0] == BOUNCE
    assert pipeline.classify(AnymailAPIError("HTTP 503"))[0] == TRANSPORT


def test_backoff_doubles_and_is_capped(settings):
    settings.NEWSLETTER_RETRY_SECONDS = 60
    settings.NEWSLETTER_RETRY_MAX_SECONDS = 600
    assert [pipeline.backoff(n) for n in (1, 2, 3, 4, 5, 6)] == [60, 120, 240, 480, 600, 600]
