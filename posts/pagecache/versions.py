"""Version numbers of groups of pages (rows of ``PageVersion``, table posts_pageversion).

PostgreSQL moves them on by itself: triggers on every table a page shows call
``posts_bump_page_versions`` (migration posts 0005) in the same transaction as the change.
``bump`` below is the same rule for Python callers (tests, scripts); no writer needs to call
it to keep pages fresh. ``versions`` takes them from what PostgreSQL pushed to this process
(listener.py) when it may, and from the database otherwise.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

from django.db import connection

from posts.pagecache import listener

SITE = "site"


def post_key(post_id: int) -> str:
    return f"post:{post_id}"


def bump(*keys: str) -> None:
    """Move the version of each key on, as part of the current transaction.

    The new number is the current time in microseconds when that is ahead of the old number
    plus one, so a number is never reused, even after its row was deleted or rolled back.
    Keys are locked in sorted order, the order every trigger uses too.
    """
    if keys:
        with connection.cursor() as cursor:
            cursor.execute("SELECT posts_bump_page_versions(%s)", [sorted(set(keys))])


# Set while serving a reader who has just acted (fresh.py): their numbers come from
# the database, never from a listener that may be a few milliseconds behind their own write.
_from_database: ContextVar[bool] = ContextVar("page_versions_from_database", default=False)


@contextmanager
def read_from_database(wanted: bool = True):
    """Within this block ``versions`` asks the database (when wanted)."""
    token = _from_database.set(wanted)
    try:
        yield
    finally:
        _from_database.reset(token)


def versions(*, post_slug: str | None = None) -> tuple[int, int, float]:
    """Return the numbers a page's key is made of: the site's and the post's (by slug; 0 when
    none yet), and the publish time of the newest live post.

    From the numbers PostgreSQL pushed to this process, with no query, when its listener is
    live, the request's connection is in no transaction (a transaction sees its own uncommitted
    writes, which no notification has announced) and the reader has not just acted. Otherwise
    in one query (PL/pgSQL, migration posts 0004), where the newest live post moves by itself
    when a scheduled post's time comes."""
    if not _from_database.get() and not connection.in_atomic_block:
        pushed = listener.versions(post_slug)
        if pushed is not None:
            return pushed
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM posts_page_versions(%s)", [post_slug or ""])
        site, post, newest = cursor.fetchone()
    return site or 0, post or 0, newest.timestamp() if newest else 0.0


def numbers() -> dict[str, int]:
    """Every version number by key (for tests and for looking on)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT key, number FROM posts_pageversion")
        return dict(cursor.fetchall())
