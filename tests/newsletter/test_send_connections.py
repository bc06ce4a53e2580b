"""Several SMTP connections per task worker (NEWSLETTER_SMTP_CONNECTIONS): real `db_worker`
processes and a real SMTP listener in a process of its own.

Each connection is a thread that claims its own rows and marks each one right after the mail
server accepted it, so a worker killed mid-send can send again at most one message per
connection, and nothing is lost."""

import signal
from collections import Counter

import pytest

from accounts.models import Subscription
from newsletter import services
from newsletter.models import Delivery, NewsletterSend
from tests.factories import EditorFactory, PostFactory, ensure_default_newsletter, make_subscribers
from tests.newsletter.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

CONNECTIONS = 3


@pytest.fixture(autouse=True)
def default_newsletter():
    ensure_default_newsletter()


def start(post):
    return services.create_send(
        post=post, created_by=EditorFactory(), mode=NewsletterSend.Mode.FULL, teaser_words=150
    )


def finished(send):
    def check():
        send.refresh_from_db()
        return send.status == NewsletterSend.Status.FINISHED

    return check


def test_one_worker_sends_over_several_connections_at_once_each_message_once(
    smtp_port, start_sink, start_worker
):
    readers = make_subscribers(200)
    sink = start_sink(smtp_port)
    worker = start_worker(smtp_port, name="solo", NEWSLETTER_SMTP_CONNECTIONS=str(CONNECTIONS))
    send = start(PostFactory())
    wait_for(finished(send), timeout=60, message=worker.output)

    recipients = Counter(sink.recipients())
    assert set(recipients) == {reader.email for reader in readers}
    assert set(recipients.values()) == {1}
    # One worker had several conversations with the mail server open at the same time.
    assert 2 <= sink.peak_connections <= CONNECTIONS
    assert send.sent_count == 200
    sent = Delivery.objects.filter(send=send, status=Delivery.Status.SENT)
    assert set(sent.values_list("claimed_by", flat=True)) == {"solo"}


def test_worker_killed_during_a_multi_connection_send_loses_none_and_resends_at_most_one_per_connection(  # noqa: E501
    smtp_port, start_sink, start_worker
):
    readers = make_subscribers(300)
    sink = start_sink(smtp_port)
    first = start_worker(smtp_port, name="first", NEWSLETTER_SMTP_CONNECTIONS=str(CONNECTIONS))
    # SIGKILL the worker while a message waits for the server's answer: the other connections
    # may each hold one message the server accepted but the worker had no time to mark.
    sink.kill_when(first.pid, accepted=100)
    send = start(PostFactory())
    first.process.wait(timeout=60)
    assert first.process.returncode == -signal.SIGKILL
    # Another connection's message may have reached the server whole just before the kill.
    accepted = sink.count
    assert 100 <= accepted < 100 + CONNECTIONS
    marked = Delivery.objects.filter(send=send, status=Delivery.Status.SENT).count()
    assert accepted - CONNECTIONS <= marked <= accepted

    second = start_worker(smtp_port, name="second", NEWSLETTER_SMTP_CONNECTIONS=str(CONNECTIONS))
    wait_for(finished(send), timeout=60, message=second.output)

    recipients = Counter(sink.recipients())
    assert set(recipients) == {reader.email for reader in readers}  # nobody lost
    twice = [email for email, count in recipients.items() if count > 1]
    assert len(twice) == sink.count - 300 <= CONNECTIONS
    assert max(recipients.values()) <= 2
    assert send.sent_count == 300
    assert send.failed_count == send.bounced_count == 0


def test_a_refused_recipient_on_one_connection_does_not_stop_the_others(
    smtp_port, start_sink, start_worker
):
    readers = make_subscribers(120)
    refused = {readers[5].email, readers[77].email}
    sink = start_sink(smtp_port)
    sink.refuse(*refused)
    worker = start_worker(smtp_port, NEWSLETTER_SMTP_CONNECTIONS=str(CONNECTIONS))
    send = start(PostFactory())
    wait_for(finished(send), timeout=60, message=worker.output)

    recipients = Counter(sink.recipients())
    assert set(recipients) == {reader.email for reader in readers} - refused
    assert set(recipients.values()) == {1}
    assert sink.peak_connections >= 2
    assert (send.sent_count, send.bounced_count, send.failed_count) == (118, 2, 0)
    for email in refused:
        delivery = send.deliveries.get(user__email=email)
        assert delivery.status == Delivery.Status.BOUNCED
        assert "550" in delivery.last_error
        assert Subscription.objects.get(user__email=email).status == Subscription.Status.BOUNCED


def test_mail_server_going_away_mid_send_is_waited_for_and_nothing_is_lost(
    smtp_port, start_sink, start_worker
):
    readers = make_subscribers(200)
    first_sink = start_sink(smtp_port)
    first_sink.leave_after(60)  # the server exits when the 61st message arrives
    worker = start_worker(smtp_port, NEWSLETTER_SMTP_CONNECTIONS=str(CONNECTIONS))
    send = start(PostFactory())
    wait_for(lambda: first_sink.process.poll() is not None, timeout=60, message=worker.output)

    def waiting():
        send.refresh_from_db()
        return send.retry_at is not None and send.last_error

    # The send waits for the mail server, visibly, instead of burning through the list.
    wait_for(waiting, timeout=30, message=worker.output)
    assert send.status == NewsletterSend.Status.SENDING
    assert Delivery.objects.filter(send=send, status=Delivery.Status.PENDING).exists()

    second_sink = start_sink(smtp_port)  # the server is back, on the same port
    wait_for(finished(send), timeout=60, message=worker.output)

    recipients = Counter(first_sink.recipients() + second_sink.recipients())
    assert set(recipients) == {reader.email for reader in readers}
    # A message the server took just as it went away was never confirmed: it goes again.
    assert sum(recipients.values()) - 200 <= CONNECTIONS
    assert send.sent_count == 200
    assert send.failed_count == send.bounced_count == 0
    assert send.last_error == ""
    assert send.retry_at is None
