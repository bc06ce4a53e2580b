"""The send pipeline under real conditions: `manage.py db_worker` processes on the database task
backend, a real SMTP listener on loopback, workers killed and restarted, two workers at once,
and a mail server that is down when the send starts."""

import re
import signal
from collections import Counter
from http import HTTPStatus
from urllib.parse import urlsplit

import pytest

from accounts.models import Subscription, User
from newsletter import services
from newsletter.links import ids_from_leave_token
from newsletter.models import Delivery, Membership, NewsletterSend
from polls import services as polls_services
from polls.models import Vote
from tests.factories import EditorFactory, PollFactory, PostFactory, make_subscribers
from tests.newsletter.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def start(post, editor):
    return services.create_send(
        post=post, created_by=editor, mode=NewsletterSend.Mode.FULL, teaser_words=150
    )


def finished(send):
    def check():
        send.refresh_from_db()
        return send.status == NewsletterSend.Status.FINISHED

    return check


def unsubscribe_path(message) -> str:
    header = message["List-Unsubscribe"]
    url = header.split(",")[0].strip().strip("<>")
    # A send's one-click link leaves its newsletter only (newsletter.links).
    assert url.startswith("http://testserver/newsletter/leave/")
    return urlsplit(url).path


def test_worker_killed_mid_send_resumes_and_everyone_gets_exactly_one(
    smtp_port, start_sink, start_worker, client
):
    active = make_subscribers(300)
    for status in (
        Subscription.Status.UNSUBSCRIBED,
        Subscription.Status.BOUNCED,
        Subscription.Status.COMPLAINED,
        Subscription.Status.PENDING,
    ):
        make_subscribers(5, status=status, prefix=status)
    post = PostFactory()
    poll = PollFactory(post=post)
    editor = EditorFactory()
    sink = start_sink(smtp_port)
    # One SMTP connection: exactly once, even across the kill (several connections may each
    # send one message again: tests/newsletter/test_send_connections.py).
    first = start_worker(smtp_port, name="first", NEWSLETTER_SMTP_CONNECTIONS="1")
    # SIGKILL the worker while the 101st message waits for the server's answer: it dies
    # mid-batch with rows claimed, one message in flight and nothing marked for it.
    sink.kill_when(first.pid, accepted=100)

    send = start(post, editor)
    assert send.recipients_count == 300
    first.process.wait(timeout=30)
    assert first.process.returncode == -signal.SIGKILL
    assert sink.count == 100
    assert Delivery.objects.filter(send=send, status=Delivery.Status.PENDING).count() == 200

    second = start_worker(smtp_port, name="second", NEWSLETTER_SMTP_CONNECTIONS="1")
    wait_for(finished(send), message=second.output)

    messages = sink.messages
    recipients = Counter(message["To"] for message in messages)
    assert set(recipients) == {user.email for user in active}
    assert set(recipients.values()) == {1}
    assert send.sent_count == 300
    assert send.failed_count == send.bounced_count == 0
    assert send.finished_at >= send.started_at

    # Every message carries its reader's own one-click unsubscribe link, and it works.
    emails = {user.pk: user.email for user in active}
    for message in messages:
        path = unsubscribe_path(message)
        assert emails[ids_from_leave_token(path.split("/")[3])[0]] == message["To"]
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert path in message.get_body(("html",)).get_content()
    # Vote links: each reader's message holds their own signed link for every choice, and the
    # link records that reader's vote (by the POST its page makes; the GET records nothing).
    users = {user.email: user for user in active}
    choices = list(poll.choices.order_by("position"))
    for message in messages[:20]:
        text = message.get_body(("plain",)).get_content()
        tokens = re.findall(r"/polls/email/([^/\s]+)/", text)
        assert len(tokens) == len(choices)
        for token, choice in zip(tokens, choices, strict=True):
            vote = polls_services.read_vote_token(token)
            assert (vote.poll_id, vote.choice_id) == (poll.pk, choice.pk)
            assert vote.user_id == users[message["To"]].pk
    voter = users[messages[7]["To"]]
    token = re.findall(r"/polls/email/([^/\s]+)/", messages[7].get_body(("plain",)).get_content())[
        1
    ]
    assert client.get(f"/polls/email/{token}/").status_code == HTTPStatus.FOUND
    assert not Vote.objects.filter(user=voter).exists()
    client.post(f"/polls/email/{token}/")
    assert Vote.objects.get(user=voter).choice == choices[1]
    message = messages[42]
    response = client.post(unsubscribe_path(message), {"List-Unsubscribe": "One-Click"})
    assert response.status_code == HTTPStatus.OK
    reader = User.objects.get(email=message["To"])
    membership = reader.memberships.get(newsletter=send.newsletter)
    assert membership.status == Membership.Status.UNSUBSCRIBED
    # Only that newsletter: the reader is still a subscriber of anything else they chose.
    assert reader.subscription.status == Subscription.Status.ACTIVE


def test_two_workers_split_the_work_and_send_each_message_once(smtp_port, start_sink, start_worker):
    make_subscribers(200)
    post = PostFactory()
    sink = start_sink(smtp_port)
    # The mail server answers no message until more connections are open than one worker opens
    # (two): the first worker to take a batch waits there, the send's other batches still
    # queued, until the second worker has taken one. Without it, a second worker that a busy
    # machine keeps from polling the queue could find the whole send done by the first: allowed,
    # but then this test would see nothing split. Bounded well under the workers' 30-second
    # SMTP timeout, after which a message held back would be sent again.
    sink.hold_until_connections(3, seconds=20)
    # Two connections each: 40 rows per task, so 200 rows make enough tasks for both workers.
    # A lease longer than the hold and any stall: no worker dies here, and a row whose lease
    # ran out while its message waited for the server's answer could be taken again.
    workers = [
        start_worker(
            smtp_port, name=name, NEWSLETTER_SMTP_CONNECTIONS="2", NEWSLETTER_LEASE_SECONDS="60"
        )
        for name in ("alpha", "beta")
    ]
    for worker in workers:
        worker.wait_started()

    send = start(post, EditorFactory())
    wait_for(
        finished(send),
        timeout=90,
        message=lambda: (
            f"the send to finish: {sink.count} of 200 messages arrived\n"
            + "".join(f"{worker.name}:\n{worker.output()}" for worker in workers)
        ),
    )

    recipients = Counter(sink.recipients())
    assert len(recipients) == 200
    assert set(recipients.values()) == {1}
    by_worker = Counter(
        Delivery.objects.filter(send=send, status=Delivery.Status.SENT).values_list(
            "claimed_by", flat=True
        )
    )
    assert set(by_worker) == {"alpha", "beta"}, (dict(by_worker), sink.hold_expired)
    assert sink.hold_expired == ""


def test_smtp_down_at_start_waits_visibly_then_delivers_when_it_is_back(
    smtp_port, start_sink, start_worker
):
    make_subscribers(40)
    post = PostFactory()
    worker = start_worker(smtp_port)
    send = start(post, EditorFactory())

    def waiting():
        send.refresh_from_db()
        return send.retry_at is not None

    wait_for(waiting, message=worker.output)
    assert "Connection refused" in send.last_error or "ConnectionRefused" in send.last_error
    assert send.status == NewsletterSend.Status.SENDING
    assert not Delivery.objects.filter(send=send).exclude(status=Delivery.Status.PENDING).exists()
    # The server being down is not the messages' fault: none of them used up an attempt.
    assert not Delivery.objects.filter(send=send, attempts__gt=0).exists()

    sink = start_sink(smtp_port)
    wait_for(finished(send), message=worker.output)
    recipients = Counter(sink.recipients())
    assert len(recipients) == 40
    assert set(recipients.values()) == {1}
    assert send.last_error == ""
    assert send.retry_at is None
