import contextlib
import os
import re

import pytest
from django.core.cache import cache

from tests.factories import EditorFactory, SubscriptionFactory, UserFactory

# Playwright's sync API runs an event loop in the test thread; Django's ORM refuses to run in
# one unless told it is safe, which it is here: the loop is Playwright's, not ours.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(autouse=True)
def _test_settings(settings):
    """Fast hashing, tasks run at once, and no rate-limit history leaking between tests."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.SITE_URL = "http://testserver"
    # Tests write through the ORM and read the page at once, which a reader of another
    # process would see a few milliseconds later: pushed version numbers only where a test
    # turns them on (tests/posts/test_pushed_versions.py).
    settings.POSTS_PAGE_VERSIONS_LISTEN = False
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def user_factory(db):
    return UserFactory


@pytest.fixture
def reader(db):
    """A logged-out reader's account with a verified email, not subscribed."""
    return UserFactory()


@pytest.fixture
def subscriber(db):
    """A reader with a verified email and an active subscription."""
    return SubscriptionFactory().user


@pytest.fixture
def editor(db):
    return EditorFactory()


@pytest.fixture
def auth_client(client, subscriber):
    client.force_login(subscriber)
    client.user = subscriber
    return client


@pytest.fixture
def editor_client(client, editor):
    client.force_login(editor)
    client.user = editor
    return client


def code_from_mail(message) -> str:
    """Return the one-time code in one of allauth's code emails."""
    match = re.search(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4}|[A-Z0-9]{6})\s*$", message.body, re.MULTILINE)
    assert match, message.body
    return match.group(1)


# --- Browser tests: Debian's Chromium driven by Playwright. ---


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


def watch_requests(page) -> set:
    """Keep the set of the page's requests still waiting for their answer."""
    pending: set = set()
    page.on("request", lambda request: pending.add(request))
    page.on("requestfinished", lambda request: pending.discard(request))
    page.on("requestfailed", lambda request: pending.discard(request))
    return pending


def settle(page, pending: set) -> None:
    """Before a browser test's database is emptied: stop the page's timers (an autosave due in
    a second), leave the page (so its last beacon, the autosave's on `pagehide`, goes now), and
    wait for the requests sent to be answered and the database to have no other busy session,
    so nothing of the test is still writing while the next test's flush truncates the tables
    (a deadlock otherwise)."""
    import time

    from django.db import connection
    from playwright.sync_api import Error

    try:
        page.evaluate(
            "() => { const last = setTimeout(() => {}, 0);"
            " for (let id = 0; id <= last; id++) { clearTimeout(id); clearInterval(id) } }"
        )
        page.goto("about:blank")
        for _ in range(200):  # at most ten seconds
            if not pending:
                break
            page.wait_for_timeout(50)
    except Error:  # the test closed the page, or it is mid-navigation: nothing more to wait for
        pass
    for _ in range(200):  # at most ten seconds
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND state IN ('active', 'idle in transaction')"
            )
            if cursor.fetchone()[0] == 0:
                return
        time.sleep(0.05)


@pytest.fixture
def open_context(browser, live_server):
    """Open browser contexts (separate cookie jars, like separate people) on the live server,
    each logged in as `user` when one is given (tests/browsing.py); `width` sets a viewport 900
    pixels high, other keywords go to Playwright's `new_context`. Their pages wait at most ten
    seconds for anything. Every context is closed after the test, pass or fail: an open one
    keeps the live server's database connections."""
    from playwright.sync_api import Error

    from tests.browsing import log_in

    opened = []

    def open_(user=None, *, width: int | None = None, **options):
        if width is not None:
            options.setdefault("viewport", {"width": width, "height": 900})
        context = browser.new_context(base_url=live_server.url, **options)
        opened.append(context)
        context.set_default_timeout(10_000)
        if user is not None:
            log_in(context, live_server, user)
        return context

    yield open_
    for context in opened:
        with contextlib.suppress(Error):  # the test closed it already
            context.close()


@pytest.fixture
def open_page(open_context):
    """A page in a new browser context (see `open_context`, which takes the same arguments),
    waiting at most `timeout` milliseconds for anything."""

    def open_(user=None, *, timeout: int = 10_000, **options):
        page = open_context(user, **options).new_page()
        page.set_default_timeout(timeout)
        return page

    return open_


@pytest.fixture
def watch(open_context, live_server):
    """Open a page that collects policy violations and requests to other hosts (a Watcher,
    tests/browsing.py), in a new context logged in as `user` when given; other keywords as for
    `open_context`."""
    from urllib.parse import urlsplit

    from tests.browsing import Watcher

    def open_(user=None, **options):
        return Watcher(open_context(user, **options), urlsplit(live_server.url).netloc)

    return open_


@pytest.fixture
def page(open_page):
    """An anonymous reader's page; its requests are answered before the test's data goes."""
    page = open_page()
    pending = watch_requests(page)
    yield page
    settle(page, pending)


@pytest.fixture
def editor_page(open_page):
    """A page logged in as a new editor (Morgan, the name the README's screenshots show),
    recording Content-Security-Policy violations in `window.__cspViolations`; its requests are
    answered before the test's data goes."""
    from tests.browsing import RECORD_VIOLATIONS

    page = open_page(EditorFactory(display_name="Morgan"))
    page.context.add_init_script(RECORD_VIOLATIONS)
    pending = watch_requests(page)
    yield page
    settle(page, pending)


# --- anonymous page cache (posts/pagecache/) ---


@pytest.fixture(autouse=True)
def _empty_page_cache():
    """Each test starts with no stored pages: version rows roll back between tests, stored
    pages (in this process's memory) would not."""
    from django.core.cache import caches

    caches["pages"].clear()
    yield
    caches["pages"].clear()


# --- the publication's settings (publication/), kept in each process's memory ---


@pytest.fixture(scope="session")
def _pristine_publication(django_db_setup, django_db_blocker):
    """The settings as migrated, loaded once."""
    from publication.models import Publication

    with django_db_blocker.unblock():
        Publication.objects.clear_cache()
        return Publication.objects.current()


@pytest.fixture(autouse=True)
def _publication_as_migrated(settings, _pristine_publication):
    """Each test starts with the settings as migrated already in memory (no query to count),
    and never sees another test's changes, which roll back in the database but not in memory."""
    import time

    from publication.models import PublicationManager

    settings.PUBLICATION_CACHE_SECONDS = None  # no expiry in the middle of a counted block
    PublicationManager._cached = (time.monotonic(), _pristine_publication)
    yield
    PublicationManager._cached = None
