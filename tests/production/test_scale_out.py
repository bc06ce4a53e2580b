"""Scale-out, proven on loopback: two gunicorn servers and two task workers on one PostgreSQL.

Readers' requests go to both servers at once, the way a load balancer spreads them, and the
database must end up exactly as if one server had handled them one by one: one subscription per
reader however often they click, no lost or doubled sign-up, one email per code, one vote per
reader and poll, every accepted comment stored once, one like per reader, and rate limits
counted across servers. A newsletter send started from the admin is split between both workers
and reaches every subscriber exactly once, with their own links. Then PostgreSQL restarts under
load and the site must come back by itself, losing nothing it had acknowledged.

Adding traffic: subclass Traffic, build the rows and the readers' sessions in prepare() and
return one callable per reader (it runs in its own thread, alongside everyone else's, and only
makes HTTP requests), check the database in verify(), and append the class to TRAFFIC.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import secrets
import threading
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.db import connection
from django.middleware.csrf import CSRF_ALLOWED_CHARS
from django.test import Client
from django.utils.crypto import get_random_string

from accounts.models import Subscription, User
from comments.models import Comment, Commenter, CommentLike
from newsletter.links import leave_url
from newsletter.models import Delivery, Membership, NewsletterSend
from polls.models import Vote
from polls.services import read_vote_token
from tests.factories import (
    CommentFactory,
    EditorFactory,
    PollFactory,
    PostFactory,
    SubscriptionFactory,
    UserFactory,
    ensure_default_newsletter,
    welcome_due,
)
from tests.production.procs import (
    STRONG_KEY,
    Gunicorn,
    Response,
    Visitor,
    Worker,
    get,
    production_env,
    wait_until,
)

pytestmark = pytest.mark.django_db(transaction=True)

ACCOUNT = "/account/"
SUBSCRIBE = "/subscribe/"
SITE_URL = "http://127.0.0.1"
# Small newsletter batches, so a send of a few hundred messages is many tasks for two workers.
NEWSLETTER_BATCH_SIZE = 20
# Each batch task sends over this many connections at once, a batch each.
NEWSLETTER_SMTP_CONNECTIONS = 2
COMMENT_LINK = re.compile(r"#comment-(\d+)$")
VOTE_LINK = re.compile(r"/polls/email/([^/\s\"'<>]+)/")
# A send's one-click link leaves its newsletter only (newsletter.links.leave_url).
UNSUBSCRIBE_LINK = re.compile(re.escape(SITE_URL) + r"/newsletter/leave/[^/\s\"'<>]+/")


@dataclass
class Cluster:
    servers: list[Gunicorn]
    workers: list[Worker]
    mailbox: object

    @property
    def ports(self) -> list[int]:
        return [server.port for server in self.servers]

    def port(self, i: int) -> int:
        """The i-th request of a reader goes to the next server: round robin."""
        return self.ports[i % len(self.ports)]


@pytest.fixture(scope="module")
def cluster(production_dirs, smtp_server, tmp_path_factory):
    log_dir = tmp_path_factory.mktemp("cluster")
    env = production_env(
        **production_dirs,
        # Plain HTTP on loopback; the load balancer in front is simulated by X-Forwarded-For.
        DJANGO_SECURE_COOKIES="false",
        DJANGO_SECURE_SSL_REDIRECT="false",
        DJANGO_TRUSTED_PROXY_COUNT="1",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp_server.port),
        SITE_URL=SITE_URL,
        DJANGO_LOG_FORMAT="json",
        NEWSLETTER_BATCH_SIZE=str(NEWSLETTER_BATCH_SIZE),
        NEWSLETTER_SMTP_CONNECTIONS=str(NEWSLETTER_SMTP_CONNECTIONS),
        # Longer than the restart below takes even on a loaded machine: past this wait the
        # database counts as down and requests get the 503 page at once (futureforward/db).
        DJANGO_DB_CONNECT_RETRY="20",
    )
    processes = []
    try:
        servers = [Gunicorn(name, env, log_dir) for name in ("web-a", "web-b")]
        processes += servers
        workers = [Worker(name, env, log_dir) for name in ("worker-a", "worker-b")]
        processes += workers
        for server in servers:
            server.wait_until_up()
        yield Cluster(servers, workers, smtp_server)
    finally:
        run_concurrently([process.stop for process in processes])


@pytest.fixture
def shared_secret(settings):
    # Sessions made here (force_login) are signed with SECRET_KEY; the servers must read them.
    # Links the servers put in emails are checked here against the same key and site address.
    settings.SECRET_KEY = STRONG_KEY
    settings.SITE_URL = SITE_URL


@pytest.fixture
def db_tasks(settings):
    """Enqueue into the real database queue the workers read, not the test's immediate backend."""
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }


def logged_in_visitor(user, n: int) -> Visitor:
    client = Client()
    client.force_login(user)
    return Visitor(
        forwarded_for=f"198.51.100.{n % 250 + 1}",
        cookies={"sessionid": client.cookies["sessionid"].value},
    )


def csrf_cookie(visitor: Visitor) -> str:
    """Give visitor a CSRF cookie and return the token its forms must carry.

    What a browser gets from its first page view, without the page view: the restart test
    needs dozens of readers ready before the load starts.
    """
    secret = get_random_string(32, CSRF_ALLOWED_CHARS)
    visitor.cookies[settings.CSRF_COOKIE_NAME] = secret
    return secret


def run_concurrently(calls, max_workers: int = 12) -> list:
    with ThreadPoolExecutor(max_workers=max_workers) as pool:
        return [future.result() for future in [pool.submit(call) for call in calls]]


def at_once(*calls) -> list:
    """Run calls at the same moment, like one reader's double click landing on two servers."""
    return run_concurrently(calls, max_workers=len(calls))


def comment_pk(response: Response) -> int | None:
    """The comment a successful comment POST redirected to (its anchor in the Location)."""
    match = COMMENT_LINK.search(response.location)
    return int(match.group(1)) if match else None


class Traffic:
    """One kind of reader traffic through the cluster and the state it must leave behind."""

    def __init__(self, cluster: Cluster):
        self.cluster = cluster
        self.responses: list[Response] = []
        self._lock = threading.Lock()

    def record(self, response: Response) -> Response:
        with self._lock:
            self.responses.append(response)
        return response

    def prepare(self) -> list:
        raise NotImplementedError

    def verify(self) -> None:
        raise NotImplementedError

    def assert_no_server_errors(self) -> None:
        failed = [r.status for r in self.responses if r.status is None or r.status >= 500]
        assert failed == [], f"{type(self).__name__}: {len(failed)} failed requests"


class NewsletterDoubleSubmit(Traffic):
    """Logged-in readers turn the newsletter on, clicking twice: once through each server."""

    readers = 10

    def prepare(self):
        self.users = UserFactory.create_batch(self.readers)
        return [self.reader(n, user) for n, user in enumerate(self.users)]

    def reader(self, n, user):
        visitor = logged_in_visitor(user, n)

        def act():
            token = visitor.form_token(self.cluster.port(n), ACCOUNT)
            form = {"csrfmiddlewaretoken": token, "newsletter": "1", "receive": "on"}
            at_once(
                *(
                    lambda port=port: self.record(visitor.request(port, "POST", ACCOUNT, form))
                    for port in self.cluster.ports
                )
            )

        return act

    def verify(self):
        self.assert_no_server_errors()
        assert [r.status for r in self.responses] == [302] * 2 * self.readers
        rows = Subscription.objects.filter(user__in=self.users)
        assert rows.count() == self.readers
        assert {row.status for row in rows} == {Subscription.Status.ACTIVE}


class ProfileEdits(Traffic):
    """Logged-in readers rename themselves a few times, alternating servers; the last one wins."""

    readers = 8
    edits = 3

    def prepare(self):
        self.users = UserFactory.create_batch(self.readers)
        return [self.reader(n, user) for n, user in enumerate(self.users)]

    def reader(self, n, user):
        visitor = logged_in_visitor(user, n)

        def act():
            for edit in range(self.edits):
                response = visitor.post_form(
                    self.cluster.port(n + edit), ACCOUNT, {"display_name": f"Reader {n}.{edit}"}
                )
                assert self.record(response).status == 302, response.status

        return act

    def verify(self):
        self.assert_no_server_errors()
        names = dict(
            User.objects.filter(pk__in=[u.pk for u in self.users]).values_list("pk", "display_name")
        )
        last = self.edits - 1
        assert names == {u.pk: f"Reader {n}.{last}" for n, u in enumerate(self.users)}


class SubscribeStorm(Traffic):
    """New readers subscribe, each submitting twice at once through the two servers."""

    readers = 10

    def prepare(self):
        self.emails = [f"storm-{secrets.token_hex(3)}-{n}@example.com" for n in range(self.readers)]
        self.accepted = Counter()
        return [self.reader(n, email) for n, email in enumerate(self.emails)]

    def reader(self, n, email):
        def act():
            def submit(port, ip):
                response = Visitor(forwarded_for=ip).post_form(port, SUBSCRIBE, {"email": email})
                if self.record(response).status == 302:
                    with self._lock:
                        self.accepted[email] += 1

            at_once(
                *(
                    lambda port=port, ip=f"203.0.113.{n * 2 + i + 1}": submit(port, ip)
                    for i, port in enumerate(self.cluster.ports)
                )
            )

        return act

    def verify(self):
        self.assert_no_server_errors()
        assert all(self.accepted[email] == 2 for email in self.emails), self.accepted
        # The task workers make the accounts and send the codes after the answers.
        wait_until(
            lambda: all(
                self.cluster.mailbox.count_to(email) >= self.accepted[email]
                for email in self.emails
            ),
            timeout=30,
            interval=0.2,
            what="the subscribers' codes",
        )
        for email in self.emails:
            assert User.objects.filter(email=email).count() == 1
            assert EmailAddress.objects.filter(email=email).count() == 1
            assert Subscription.objects.filter(user__email=email).count() == 1
            # One login code per accepted request: nothing lost, nothing sent twice.
            assert self.cluster.mailbox.count_to(email) == self.accepted[email]


class VoteTraffic(Traffic):
    """Readers vote in two polls of one post through both servers.

    In the poll that lets readers change their mind, each double-clicks a choice (one click per
    server), switches to another on the next server, then double-clicks a third, one of those
    clicks through htmx. In the poll that keeps the first vote, each double-clicks, then tries to
    change. Every reader must end with exactly one vote per poll: the last pick in the first, the
    first pick in the second.
    """

    readers = 12

    def prepare(self):
        post = PostFactory()
        self.changeable = PollFactory(post=post, allow_vote_change=True)
        self.fixed = PollFactory(post=post, allow_vote_change=False, choices=["Yes", "No"])
        self.users = UserFactory.create_batch(self.readers)
        self.statuses: dict[int, list] = {}
        self.expected: dict[tuple[int, int], int] = {}
        a = [choice.pk for choice in self.changeable.choices.all()]
        b = [choice.pk for choice in self.fixed.choices.all()]
        calls = []
        for n, user in enumerate(self.users):
            picks = {"first": a[n % 3], "switch": a[(n + 1) % 3], "last": a[(n + 2) % 3]}
            kept, refused = b[n % 2], b[(n + 1) % 2]
            self.expected[self.changeable.pk, user.pk] = picks["last"]
            self.expected[self.fixed.pk, user.pk] = kept
            calls.append(self.reader(n, user, picks, kept, refused))
        return calls

    def reader(self, n, user, picks, kept, refused):
        visitor = logged_in_visitor(user, n)
        port = self.cluster.port
        first, second = self.cluster.ports

        def act():
            # Any page's token will do: it belongs to the reader's CSRF cookie, not to a form.
            token = visitor.form_token(port(n), ACCOUNT)

            def vote(at, poll, choice, **headers):
                form = {"choice": str(choice), "csrfmiddlewaretoken": token}
                path = f"/polls/{poll.pk}/vote/"
                return self.record(visitor.request(at, "POST", path, form, **headers)).status

            changeable, fixed = self.changeable, self.fixed
            self.statuses[user.pk] = [
                *at_once(
                    lambda: vote(first, changeable, picks["first"]),
                    lambda: vote(second, changeable, picks["first"]),
                ),
                vote(port(n + 1), changeable, picks["switch"]),
                *at_once(
                    lambda: vote(first, changeable, picks["last"]),
                    lambda: vote(second, changeable, picks["last"], HX_Request="true"),
                ),
                *at_once(lambda: vote(first, fixed, kept), lambda: vote(second, fixed, kept)),
                vote(port(n), fixed, refused),
            ]

        return act

    def verify(self):
        self.assert_no_server_errors()
        # Plain form posts redirect back to the poll, htmx gets the panel in place, and the
        # attempt to change a vote the poll keeps is refused with 409.
        expected_statuses = [302, 302, 302, 302, 200, 302, 302, 409]
        assert self.statuses == {user.pk: expected_statuses for user in self.users}
        for poll in (self.changeable, self.fixed):
            votes = dict(Vote.objects.filter(poll=poll).values_list("user_id", "choice_id"))
            expected = {user.pk: self.expected[poll.pk, user.pk] for user in self.users}
            assert votes == expected, poll.question
            results = poll.results()
            assert results.total == self.readers
            assert {row.choice_id: row.votes for row in results.rows} == {
                choice.pk: list(votes.values()).count(choice.pk) for choice in poll.choices.all()
            }
            assert sum(row.percent for row in results.rows) == 100


class CommentTraffic(Traffic):
    """Readers comment, reply and like in one post's discussion through both servers.

    Each reader double-clicks "Post" on a comment and on a reply (one click per server, the same
    text: the double click must store one comment) and double-clicks "Like" on one popular
    comment. Four comment posts each stay within the five-a-minute limit. Half the readers had a
    comment approved before, so theirs go live at once; the others' are held for review, which
    hides them from other readers but not from the count here: rows in the database.
    Live replies email the parent's author, once each, through the task workers.
    """

    readers = 12
    threads = 3

    def prepare(self):
        self.post = PostFactory()
        self.parents = [CommentFactory(post=self.post) for _ in range(self.threads)]
        Commenter.objects.bulk_create(
            [Commenter(user=parent.author, notify_replies=True) for parent in self.parents]
        )
        self.popular = self.parents[0]
        self.users = UserFactory.create_batch(self.readers)
        self.trusted = {user.pk for user in self.users[::2]}
        Commenter.objects.bulk_create(
            [Commenter(user_id=pk, is_trusted=True) for pk in sorted(self.trusted)]
        )
        self.written: list[dict] = []
        self.like_statuses: list[int | None] = []
        return [self.reader(n, user) for n, user in enumerate(self.users)]

    def reader(self, n, user):
        visitor = logged_in_visitor(user, n)
        first, second = self.cluster.ports
        create = f"/p/{self.post.slug}/comments/new/"
        like = f"/comments/{self.popular.pk}/like/"
        parent = self.parents[n % self.threads]

        def act():
            token = visitor.form_token(self.cluster.port(n), ACCOUNT)

            def post(at, path, form):
                form = {**form, "csrfmiddlewaretoken": token}
                return self.record(visitor.request(at, "POST", path, form))

            for reply_to in (None, parent):
                body = f"Reader {n} says {secrets.token_hex(4)}" + (" in reply" if reply_to else "")
                form = {"body": body, "parent": str(reply_to.pk) if reply_to else ""}
                clicks = at_once(
                    lambda form=form: post(first, create, form),
                    lambda form=form: post(second, create, form),
                )
                with self._lock:
                    self.written.append(
                        {"author": user.pk, "parent": reply_to, "body": body, "clicks": clicks}
                    )
            likes = at_once(
                lambda: post(first, like, {"action": "like"}),
                lambda: post(second, like, {"action": "like"}),
            )
            with self._lock:
                self.like_statuses += [response.status for response in likes]

        return act

    def verify(self):
        self.assert_no_server_errors()
        assert len(self.written) == 2 * self.readers
        stored = {
            (c.author_id, c.parent_id, c.body): c
            for c in Comment.objects.filter(post=self.post, author__in=self.users)
        }
        # Every accepted post has its row, and a double click made one row, not two.
        assert Comment.objects.filter(post=self.post, author__in=self.users).count() == len(
            self.written
        )
        for item in self.written:
            assert [click.status for click in item["clicks"]] == [302, 302], item
            parent_id = item["parent"].pk if item["parent"] else None
            comment = stored[item["author"], parent_id, item["body"]]
            assert {comment_pk(click) for click in item["clicks"]} == {comment.pk}
            trusted = item["author"] in self.trusted
            assert comment.status == (Comment.Status.VISIBLE if trusted else Comment.Status.HELD)

        assert self.like_statuses == [302] * 2 * self.readers
        assert CommentLike.objects.filter(comment=self.popular).count() == self.readers
        self.popular.refresh_from_db()
        assert self.popular.like_count == self.readers

        # One email per live reply to the author of the comment replied to; held replies wait.
        live_replies = Counter(
            item["parent"].author.email
            for item in self.written
            if item["parent"] and item["author"] in self.trusted
        )
        mailbox = self.cluster.mailbox

        def notified():
            return all(mailbox.count_to(email) == live_replies[email] for email in live_replies)

        wait_until(notified, timeout=30, interval=0.2, what="the reply emails")
        replies = Comment.objects.filter(
            post=self.post, author__in=self.users, parent__isnull=False
        )
        assert replies.filter(reply_notified_at__isnull=False).count() == sum(live_replies.values())


TRAFFIC = [NewsletterDoubleSubmit, ProfileEdits, SubscribeStorm, VoteTraffic, CommentTraffic]


def test_readers_through_two_servers_leave_exactly_one_row_each(cluster, shared_secret):
    traffic = [kind(cluster) for kind in TRAFFIC]
    calls = [call for kind in traffic for call in kind.prepare()]
    random.Random(8).shuffle(calls)
    run_concurrently(calls)
    for kind in traffic:
        kind.verify()


def test_rate_limits_are_counted_across_servers(cluster):
    """A limit of three codes per address holds when each request lands on another server."""
    email = "limited@example.com"
    statuses = [
        Visitor(forwarded_for="192.0.2.10").post_form(port, SUBSCRIBE, {"email": email}).status
        for port in itertools.islice(itertools.cycle(cluster.ports), 5)
    ]
    assert statuses[:3] == [302, 302, 302]
    assert 302 not in statuses[3:] and None not in statuses
    # The task workers send the codes after the answers: three arrive, and no more.
    wait_until(lambda: cluster.mailbox.count_to(email) >= 3, timeout=30, what="three codes")
    assert cluster.mailbox.count_to(email) == 3


def make_subscribers(count: int, *, prefix: str, status=Subscription.Status.ACTIVE) -> list[User]:
    """Create count readers with a subscription in status, in two queries (they join the
    default newsletter, which a flushed database needs made again)."""
    ensure_default_newsletter()
    users = User.objects.bulk_create(
        [User(email=f"{prefix}-{n}@example.com", password="!") for n in range(count)]
    )
    Subscription.objects.bulk_create(
        [Subscription(user=user, status=status, source="test") for user in users]
    )
    return users


def test_a_newsletter_send_is_split_across_both_workers_one_message_per_subscriber(
    cluster, shared_secret, db_tasks
):
    from django_tasks_db.models import DBTaskResult

    post = PostFactory()
    poll = PollFactory(post=post)
    active = make_subscribers(200, prefix="newsletter")
    left = [
        user
        for status in (
            Subscription.Status.UNSUBSCRIBED,
            Subscription.Status.BOUNCED,
            Subscription.Status.COMPLAINED,
            Subscription.Status.PENDING,
        )
        for user in make_subscribers(4, prefix=status, status=status)
    ]
    disabled = make_subscribers(3, prefix="disabled")
    User.objects.filter(pk__in=[user.pk for user in disabled]).update(is_active=False)

    # The editor confirms the send in the admin and double-clicks: one click per server.
    editor = logged_in_visitor(EditorFactory(), 0)
    path = f"/admin/posts/post/{post.pk}/newsletter/send/"
    form = {
        "mode": NewsletterSend.Mode.FULL,
        "teaser_words": "150",
        "when": "now",
        "confirm": "on",
        "csrfmiddlewaretoken": editor.form_token(cluster.ports[0], path),
    }
    clicks = at_once(
        *(lambda port=port: editor.request(port, "POST", path, form) for port in cluster.ports)
    )
    # One click starts the send; the other is told it already went (a redirect to the send, or
    # the form with that message when both arrived together).
    assert 302 in [click.status for click in clicks]
    assert all(click.status in {200, 302} for click in clicks), [c.status for c in clicks]
    send = NewsletterSend.objects.get(post=post)
    assert send.recipients_count == len(active)

    # Batches a worker ran: a chain that found every row leased by the other worker comes back
    # once the lease ends, and those deferred runs (which will find the send finished) stay
    # queued.
    batches = DBTaskResult.objects.filter(task_path="newsletter.tasks.send_batch").exclude(
        status="READY"
    )

    def finished():
        send.refresh_from_db()
        return (
            send.status == NewsletterSend.Status.FINISHED
            and not batches.filter(status="RUNNING").exists()
        )

    wait_until(finished, timeout=60, interval=0.2, what="the send to finish")
    assert (send.sent_count, send.failed_count, send.bounced_count) == (len(active), 0, 0)

    # Both workers took part, each batch ran once, on one worker.
    deliveries = Delivery.objects.filter(send=send)
    assert set(deliveries.values_list("status", flat=True)) == {Delivery.Status.SENT}
    assert set(deliveries.values_list("claimed_by", flat=True)) == {
        worker.worker_id for worker in cluster.workers
    }
    batches = list(batches)
    assert len(batches) >= len(active) // (NEWSLETTER_BATCH_SIZE * NEWSLETTER_SMTP_CONNECTIONS)
    assert {row.status for row in batches} == {"SUCCESSFUL"}
    assert all(len(row.worker_ids) == 1 for row in batches)
    assert {row.worker_ids[0] for row in batches} == {w.worker_id for w in cluster.workers}

    # Exactly one message per active subscriber at the mail server, none to anyone else.
    messages = [m for m in cluster.mailbox.parsed() if m["Subject"] == send.subject]
    readers = {user.email: user for user in active}
    assert Counter(m["To"] for m in messages) == dict.fromkeys(readers, 1)
    for user in [*left, *disabled]:
        assert cluster.mailbox.count_to(user.email) == 0

    # Each carries the reader's own links: unsubscribe, and a vote link for every choice.
    choices = sorted(poll.choices.values_list("pk", flat=True))
    for message in messages:
        reader = readers[message["To"]]
        own_unsubscribe = leave_url(reader.pk, send.newsletter_id)
        assert str(message["List-Unsubscribe"]).strip().startswith(f"<{own_unsubscribe}>")
        for part in ("plain", "html"):
            body = message.get_body((part,)).get_content()
            assert set(UNSUBSCRIBE_LINK.findall(body)) == {own_unsubscribe}, part
            votes = [read_vote_token(token) for token in VOTE_LINK.findall(body)]
            assert {(vote.poll_id, vote.user_id) for vote in votes} == {(poll.pk, reader.pk)}
            assert sorted(vote.choice_id for vote in votes) == choices, part

    # And the links work on either server: four readers vote from the email, four unsubscribe
    # in one click, as their mail app would.
    for n, message in enumerate(messages[:4]):
        reader = readers[message["To"]]
        token = VOTE_LINK.findall(message.get_body(("plain",)).get_content())[n % len(choices)]
        visitor = Visitor(forwarded_for=f"192.0.2.{n + 20}")
        landing = visitor.request(cluster.port(n), "GET", f"/polls/email/{token}/")
        assert landing.status == 302 and Vote.objects.filter(user=reader).count() == 0
        page = urlsplit(landing.location)
        response = visitor.post_form(
            cluster.port(n + 1), f"/polls/email/{token}/", {}, form_page=f"{page.path}?{page.query}"
        )
        assert response.status == 302
        assert Vote.objects.get(poll=poll, user=reader).choice_id == choices[n % len(choices)]
    for n, message in enumerate(messages[4:8]):
        link = urlsplit(leave_url(readers[message["To"]].pk, send.newsletter_id))
        response = Visitor().request(
            cluster.port(n), "POST", link.path, {"List-Unsubscribe": "One-Click"}
        )
        assert response.status == 200
        membership = Membership.objects.get(user=readers[message["To"]], newsletter=send.newsletter)
        assert membership.status == Membership.Status.UNSUBSCRIBED


def restart_postgres() -> None:
    """Restart the embedded PostgreSQL the way an operator would: pg_ctl restart, fast mode."""
    import os

    from pgserver._commands import pg_ctl

    from futureforward.pgembed import PGDATA

    user = "pgserver" if os.geteuid() == 0 else None
    pg_ctl(
        ["-w", "-m", "fast", "-l", str(PGDATA / "log"), "restart"],
        pgdata=PGDATA,
        user=user,
        timeout=60,
    )


def test_site_recovers_from_a_postgres_restart_without_losing_acknowledged_writes(
    cluster, shared_secret, db_tasks
):
    from django_tasks_db.models import DBTaskResult

    from newsletter.tasks import send_welcome_steps

    users = UserFactory.create_batch(4)
    visitors = [logged_in_visitor(user, n) for n, user in enumerate(users)]
    last_acked = {user.pk: -1 for user in users}
    acked_emails: list[str] = []
    outcomes: list[int | None] = []
    acks: Counter[str] = Counter()  # acknowledged writes, by kind
    writes = ("rename", "subscribe", "vote", "comment")
    stop = threading.Event()
    lock = threading.Lock()

    def note(kind: str, response: Response) -> bool:
        """Count the outcome (the caller holds the lock); return True if it was acknowledged."""
        outcomes.append(response.status)
        acks[kind] += response.status == 302
        return response.status == 302

    def editor(n):
        # Sequential renames: the name in the database is the last acknowledged one or later.
        for seq in range(400):
            if stop.is_set():
                return
            response = visitors[n].post_form(
                cluster.port(seq + n), ACCOUNT, {"display_name": f"{seq}"}
            )
            with lock:
                if note("rename", response):
                    last_acked[users[n].pk] = seq

    def subscriber(n):
        for seq in range(400):
            if stop.is_set():
                return
            email = f"restart-{n}-{seq}@example.com"
            response = Visitor(forwarded_for=f"203.0.113.{100 + seq % 150}").post_form(
                cluster.port(seq), SUBSCRIBE, {"email": email}
            )
            with lock:
                if note("subscribe", response):
                    acked_emails.append(email)

    # Voters switch between the choices of a poll, one vote at a time each; commenters post
    # distinct comments, at most four each (the limit is five a minute).
    post = PostFactory()
    poll = PollFactory(post=post, allow_vote_change=True)
    choices = [choice.pk for choice in poll.choices.all()]
    voters = UserFactory.create_batch(16)
    commenters = UserFactory.create_batch(40)
    sessions = {
        user.pk: logged_in_visitor(user, n) for n, user in enumerate([*voters, *commenters])
    }
    tokens = {pk: csrf_cookie(visitor) for pk, visitor in sessions.items()}
    attempts: dict[int, list[tuple[int, int | None]]] = defaultdict(list)
    acked_comments: dict[int, str] = {}

    def voter():
        for seq in itertools.count():
            if stop.is_set():
                return
            user = voters[seq % len(voters)]
            choice = choices[(seq // len(voters)) % len(choices)]
            form = {"choice": str(choice), "csrfmiddlewaretoken": tokens[user.pk]}
            response = sessions[user.pk].request(
                cluster.port(seq), "POST", f"/polls/{poll.pk}/vote/", form
            )
            with lock:
                note("vote", response)
                attempts[user.pk].append((choice, response.status))

    def commenter():
        for seq in range(4 * len(commenters)):
            if stop.is_set():
                return
            user = commenters[seq % len(commenters)]
            body = f"Comment {seq} from the load."
            form = {"body": body, "csrfmiddlewaretoken": tokens[user.pk]}
            response = sessions[user.pk].request(
                cluster.port(seq), "POST", f"/p/{post.slug}/comments/new/", form
            )
            with lock:
                if note("comment", response):
                    acked_comments[comment_pk(response)] = body

    threads = [threading.Thread(target=editor, args=(n,)) for n in range(len(users))]
    threads += [threading.Thread(target=subscriber, args=(n,)) for n in range(2)]
    threads += [threading.Thread(target=voter), threading.Thread(target=commenter)]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: len(outcomes) >= 20, timeout=30, what="load to build up")
        restart_postgres()
        connection.close()  # this process's own connection died with the server too

        def serving_everywhere():
            return all(get(port, "/readyz").status == 200 for port in cluster.ports)

        wait_until(serving_everywhere, timeout=30, interval=0.2, what="/readyz to answer 200")
        with lock:
            before = acks.copy()
        wait_until(
            lambda: all(acks[kind] > before[kind] for kind in writes),
            timeout=30,
            what="every kind of write to be acknowledged again",
        )
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)

    # Requests arriving while PostgreSQL was down waited for it; only those caught mid-query
    # failed: at most a couple per concurrent reader, not one per request during the outage.
    failed = [status for status in outcomes if status is None or status >= 500]
    assert len(failed) <= 2 * len(threads), Counter(outcomes)

    # Every gunicorn worker reconnects by itself: a sweep after the restart sees no failure.
    sweep = [get(port, "/").status for port in cluster.ports for _ in range(8)]
    assert sweep == [200] * len(sweep)
    assert 302 in outcomes[-10:]

    # Nothing acknowledged was lost.
    names = dict(User.objects.filter(pk__in=last_acked).values_list("pk", "display_name"))
    assert all(int(names[pk]) >= seq for pk, seq in last_acked.items()), (names, last_acked)

    # An acknowledged subscription is a committed task: the workers make its account after.
    def stored():
        return set(User.objects.filter(email__in=acked_emails).values_list("email", flat=True))

    try:
        wait_until(lambda: stored() == set(acked_emails), timeout=30, what="the accounts")
    except AssertionError:
        from django_tasks_db.models import DBTaskResult

        missing = set(acked_emails) - stored()
        tasks = [
            (row.args_kwargs["kwargs"]["email"], row.status, row.traceback[-300:])
            for row in DBTaskResult.objects.filter(task_path__endswith="subscribe_and_send_code")
            if row.args_kwargs["kwargs"]["email"] in missing
        ]
        message = f"acknowledged, no account: {sorted(missing)}; tasks: {tasks}"
        raise AssertionError(message) from None
    comments = Comment.objects.filter(post=post)
    assert dict(comments.filter(pk__in=acked_comments).values_list("pk", "body")) == acked_comments
    assert comments.count() == len(set(comments.values_list("body", flat=True)))
    votes = dict(Vote.objects.filter(poll=poll).values_list("user_id", "choice_id"))
    for pk, tried in attempts.items():
        acked = [i for i, (_, status) in enumerate(tried) if status == 302]
        if not acked:
            continue
        # The last acknowledged choice, unless a later attempt failed in a way that may have
        # committed it (the connection dropped, or a 5xx after the write).
        possible = {tried[acked[-1]][0]} | {
            choice for choice, status in tried[acked[-1] + 1 :] if status is None or status >= 500
        }
        assert votes.get(pk) in possible, (pk, tried, votes.get(pk))

    # The workers came back by themselves too, and run the site's tasks again.
    assert all(worker.is_running() for worker in cluster.workers)
    readers = [SubscriptionFactory().user for _ in range(6)]
    welcome_due(*readers)
    # One run per reader, shared by the workers: each reader still gets their email once.
    results = [send_welcome_steps.enqueue() for _ in readers]
    wait_until(
        lambda: (
            DBTaskResult.objects.filter(id__in=[r.id for r in results], status="SUCCESSFUL").count()
            == len(results)
        ),
        timeout=40,
        interval=0.2,
        what="the workers to run tasks after the restart",
    )
    assert [cluster.mailbox.count_to(reader.email) for reader in readers] == [1] * len(readers)


def complete_lines(path) -> list[str]:
    """The lines a process has finished writing: a last line without its newline is still being
    written (a reader can catch a write half done), so it is left for the next look."""
    text = path.read_text()
    lines = text.split("\n")[:-1]
    return [line for line in lines if line.strip()]


def test_server_logs_are_one_json_object_per_line(cluster):
    assert get(cluster.ports[0], "/p/no-such-post/").status == 404

    def logged():
        # Gunicorn writes the access line after the response went out: the client can be
        # faster than the log, so wait for the line instead of expecting it at once.
        entries = [json.loads(line) for line in complete_lines(cluster.servers[0].log_path)]
        return [
            e
            for e in entries
            if e.get("path") == "/p/no-such-post/" and e["logger"] == "gunicorn.access"
        ]

    missing = wait_until(logged, timeout=10, what="the access log line of the 404")
    assert missing[-1]["status"] == 404
    for server in cluster.servers:
        entries = [json.loads(line) for line in complete_lines(server.log_path)]
        access = [e for e in entries if e["logger"] == "gunicorn.access"]
        assert access, f"no access log lines from {server.name}"
        assert {"time", "level", "method", "path", "status", "duration_ms"} <= set(access[-1])
