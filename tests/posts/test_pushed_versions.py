"""Version numbers pushed by PostgreSQL (posts/pagecache/listener.py): a page served from the
cache costs no query while this process's listener is live, and is never stale for long.

Real PostgreSQL, the real listener thread and its own connection; writes "from elsewhere" are
committed by another thread's connection, as another web process would. Nothing asserts a
time: a change by someone else is waited for (with a limit), the reader's own is not.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from datetime import timedelta
from http import HTTPStatus

import psycopg
import pytest
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from comments.models import Comment
from polls.models import Vote
from polls.services import vote_url
from posts.models import Post, ThumbsUp
from posts.pagecache import listener
from tests.factories import (
    EditorFactory,
    PollFactory,
    PostFactory,
    SubscriptionFactory,
    UserFactory,
    ensure_default_newsletter,
)

# Outside any transaction, as a web process serves requests: a test transaction would (rightly)
# send every request to the database.
pytestmark = pytest.mark.django_db(transaction=True)
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
PATIENCE = 15.0  # seconds a change made elsewhere may take to reach this process, at most


@pytest.fixture
def pushed(settings):
    ensure_default_newsletter()
    settings.POSTS_PAGE_VERSIONS_LISTEN = True
    # The publication's settings are re-read from the database every few seconds (a query of
    # their own, not the page's); a loaded machine must not make that land in a counted visit.
    settings.PUBLICATION_CACHE_SECONDS = 3600
    yield
    listener.stop()


@pytest.fixture
def post(pushed):
    return PostFactory(slug="heard", title="A post readers talk about")


def eventually(check, what: str):
    """Poll check until it returns something true; fail after PATIENCE seconds."""
    deadline = time.monotonic() + PATIENCE
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"still not so after {PATIENCE} s: {what}")
        time.sleep(0.02)


def live_listener() -> None:
    """Ask for a page (which starts this process's listener) until the listener is live."""
    Client().get("/")
    eventually(listener.is_live, "the listener is live")


def elsewhere(work):
    """Run work on a connection of its own (another thread), committed when it returns."""
    outcome = {}

    def run():
        try:
            outcome["value"] = work()
        except BaseException as error:  # noqa: BLE001 (handed to the test's thread)
            outcome["error"] = error
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def visit(url, client=None, **headers) -> tuple[str, int]:
    """An anonymous visit: the page, and how many queries it cost."""
    with CaptureQueriesContext(connection) as queries:
        response = (client or Client()).get(url, **headers)
    assert response.status_code == HTTPStatus.OK
    return response.content.decode(), len(queries)


def showing(url, text: str) -> str | None:
    """The page at url if it shows text."""
    page = visit(url)[0]
    return page if text in page else None


def percent(page: str, choice: str) -> int:
    found = re.search(rf">{choice}</span>\s*<span class=\"poll-percent\">(\d+)%", page)
    assert found, page
    return int(found.group(1))


def test_a_cached_page_costs_no_query_while_live_and_one_when_not(post, settings):
    live_listener()
    url = post.get_absolute_url()
    for page in ("/", url):
        visit(page)  # stored
        shown, queries = visit(page)
        assert queries == 0
        assert "A post readers talk about" in shown
    # With counting on (a real browser, no Do Not Track), still nothing asked of the database.
    visit(url, HTTP_USER_AGENT=BROWSER)
    assert visit(url, HTTP_USER_AGENT=BROWSER)[1] == 0
    settings.POSTS_PAGE_VERSIONS_LISTEN = False
    shown, queries = visit(url)
    assert queries == 1 and "A post readers talk about" in shown


def test_a_comment_from_elsewhere_reaches_anonymous_readers(post):
    live_listener()
    url = post.get_absolute_url()
    visit(url)
    assert "0 comments" in visit(url)[0]
    elsewhere(lambda: Comment.objects.create(post=post, author=EditorFactory(), body="Well put."))
    page = eventually(lambda: showing(url, "Well put."), "the comment is shown")
    assert "1 comment" in page
    assert visit(url)[1] == 0  # and stored again under the new number


def test_a_vote_and_a_thumbs_up_from_elsewhere_reach_anonymous_readers(post):
    poll = PollFactory(post=post, choices=["Yes", "No"], show_results_before_voting=True)
    live_listener()
    url = post.get_absolute_url()
    visit(url)
    page, queries = visit(url)
    assert queries == 0 and percent(page, "Yes") == 0 and "0</span> readers gave" in page
    yes = poll.choices.get(text="Yes")
    elsewhere(lambda: Vote.objects.create(poll=poll, choice=yes, user=UserFactory()))
    eventually(lambda: percent(visit(url)[0], "Yes") == 100, "the vote is counted")
    elsewhere(lambda: ThumbsUp.objects.create(post=post, user=UserFactory()))
    eventually(lambda: "1</span> reader gave" in visit(url)[0], "the thumbs up is counted")


def test_a_reader_who_has_just_acted_sees_it_at_once(post, settings):
    """An email vote link works without logging in: the reader confirms by POST, and from then
    on, for a few seconds, their pages ask the database, not the listener."""
    poll = PollFactory(post=post, choices=["Yes", "No"], show_results_before_voting=True)
    reader = SubscriptionFactory().user
    live_listener()
    url = post.get_absolute_url()
    visit(url)
    assert visit(url)[1] == 0
    link = vote_url(poll_id=poll.pk, choice_id=poll.choices.get(text="Yes").pk, user_id=reader.pk)
    actor = Client()
    response = actor.post(link.replace("http://testserver", ""), follow=True)
    assert response.status_code == HTTPStatus.OK
    mark = actor.cookies[settings.POSTS_FRESH_COOKIE_NAME]
    assert mark.value == "1"  # nothing about the reader
    assert mark["max-age"] == 10 and mark["httponly"] and mark["samesite"] == "Lax"
    assert percent(visit(url, actor)[0], "Yes") == 100  # at once, whichever process serves it
    # Everyone else hears of it through the listener, and is served with no query again.
    eventually(lambda: percent(visit(url)[0], "Yes") == 100, "the vote reaches other readers")
    eventually(lambda: visit(url)[1] == 0, "the page is served from memory again")
    # A browser with the mark asks the database for the numbers (its one query), not the
    # listener, which may be a few milliseconds behind the reader's own write.
    marked = Client()
    marked.cookies[settings.POSTS_FRESH_COOKIE_NAME] = "1"
    page, queries = visit(url, marked)
    assert percent(page, "Yes") == 100 and queries == 1


def test_reading_never_marks_a_reader(post, settings):
    live_listener()
    client = Client()
    client.get(post.get_absolute_url())
    assert settings.POSTS_FRESH_COOKIE_NAME not in client.cookies


def test_the_page_is_never_stale_while_the_listener_is_away(post):
    """The listener's backend ends and no new connection is allowed for a while: pages come
    from the database's numbers (one query) and show every change; then the listener is back
    and pages cost no query again."""
    live_listener()
    url = post.get_absolute_url()
    visit(url)
    assert visit(url)[1] == 0
    name = connection.settings_dict["NAME"]
    # Only from another database may one refuse new connections to this one.
    params = {**connection.get_connection_params(), "dbname": "postgres"}
    params = {k: v for k, v in params.items() if k not in {"cursor_factory", "context"}}
    with psycopg.connect(**params, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        try:
            admin.execute("SELECT pg_terminate_backend(%s)", [listener.backend_pid()])
            eventually(lambda: not listener.is_live(), "the listener knows it lost its connection")
            Comment.objects.create(post=post, author=EditorFactory(), body="Said in the outage.")
            page, queries = visit(url)
            assert "Said in the outage." in page
            assert queries > 0
            page, queries = visit(url)
            assert "Said in the outage." in page and queries == 1
            assert not listener.is_live()
        finally:
            admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
    eventually(listener.is_live, "the listener is back")
    assert "Said in the outage." in visit(url)[0]
    assert visit(url)[1] == 0
    elsewhere(lambda: Comment.objects.create(post=post, author=EditorFactory(), body="After."))
    eventually(lambda: "After." in visit(url)[0], "a comment after the outage is shown")


def test_a_silent_listener_is_not_trusted_for_long(post):
    """The listener's server stops answering without closing the connection (a hung server, a
    network that drops packets): its numbers are used for TRUSTED_FOR_SECONDS at most, then
    pages come from the database's numbers and show what others wrote meanwhile. When the
    server answers again, what it announced meanwhile is applied and pages cost no query."""
    live_listener()
    url = post.get_absolute_url()
    visit(url)
    assert visit(url)[1] == 0
    backend = listener.backend_pid()
    try:
        os.kill(backend, signal.SIGSTOP)  # the backend hangs; its socket stays open
    except (ProcessLookupError, PermissionError):
        pytest.skip("the test database's server runs on another machine or as another user")
    try:
        # Written elsewhere: announced to a backend that cannot pass it on.
        elsewhere(
            lambda: Comment.objects.create(post=post, author=EditorFactory(), body="Unheard.")
        )
        deadline = time.monotonic() + listener.TRUSTED_FOR_SECONDS + PATIENCE
        while "Unheard." not in visit(url)[0]:
            assert time.monotonic() < deadline, "a silent listener's numbers were trusted"
            time.sleep(0.1)
        assert listener.is_live() and not listener.is_trusted()
        assert visit(url)[1] == 1  # the page's numbers, from the database
    finally:
        os.kill(backend, signal.SIGCONT)
    eventually(listener.is_trusted, "the listener is heard again")
    assert "Unheard." in visit(url)[0]
    assert visit(url)[1] == 0


def test_a_scheduled_post_appears_at_its_time_with_no_notification(post):
    later = PostFactory(
        title="Out in a moment",
        status=Post.Status.SCHEDULED,
        published_at=timezone.now() + timedelta(seconds=2),
    )
    live_listener()
    visit("/")
    page, queries = visit("/")
    assert "Out in a moment" not in page and queries == 0
    # Nothing is written when the time comes: the listener knows when it is due.
    eventually(lambda: "Out in a moment" in visit("/")[0], "the scheduled post is on the home page")
    assert Post.objects.get(pk=later.pk).status == Post.Status.SCHEDULED
    eventually(lambda: visit("/")[1] == 0, "the home page is served from memory again")


def test_a_statement_touching_many_pages_is_announced_as_everything(post):
    """One statement commenting on 300 posts moves 300 numbers, past what one notification may
    carry: it says "everything changed", the listener reads all numbers again, and every page
    shows its comment."""
    posts = PostFactory.create_batch(300)
    author = EditorFactory()
    live_listener()
    first, last = posts[0].get_absolute_url(), posts[-1].get_absolute_url()
    for url in (first, last):
        visit(url)
        assert visit(url)[1] == 0
    elsewhere(
        lambda: Comment.objects.bulk_create(
            Comment(post=p, author=author, body=f"Everyone hears {p.pk}.") for p in posts
        )
    )
    eventually(lambda: showing(first, f"Everyone hears {posts[0].pk}."), "the first comment")
    eventually(lambda: showing(last, f"Everyone hears {posts[-1].pk}."), "the last comment")
    eventually(lambda: visit(first)[1] == 0, "the page is served from memory again")
