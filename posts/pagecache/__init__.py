"""The page cache: pages stored under version numbers that PostgreSQL moves on by itself.

This package owns it all: storing pages (store.py), their version numbers (versions.py, pushed
to each process by listener.py; fresh.py for the reader who has just acted), time
(``changes_at``), the personal places of logged-in readers' pages (slots.py, readerpages.py)
and the view decorators (decorators.py). It imports no feature app: polls and comments plug
their places and their part of the reader's state in from their ``AppConfig.ready()``
(``register_slot``, ``register_reader_state``).

Why a page cannot show a stale poll result or comment count
------------------------------------------------------------
Every stored page is kept under the version numbers of what it shows (table
posts_pageversion): "site" for what every page shows (posts, tags, authors) and "post:<id>"
for one post's page (its poll results, comments, thumbs up). A request reads the numbers first
and renders second, so a page is never older than the key it is stored under.

The one invalidation rule: **database triggers move the numbers on, in the same transaction
as the change, whoever writes** (an ORM save, ``update()``, ``bulk_create()``, a cascade, the
admin, raw SQL, an import). Nobody calls anything to invalidate a page, and no model signal
does it.

- ``posts_bump_page_versions(keys text[])`` (migration posts 0005) upserts each key's number
  to ``GREATEST(number + 1, clock_timestamp() in µs)``: a number is never reused, even after
  its row was deleted or rolled back. Within one statement keys are locked in sorted order;
  a transaction of several statements locks them statement by statement, so writers that
  share rows must also agree on the order of their statements (see comments/services.py).
- ``posts_page_changed()`` is the trigger function: statement-level AFTER INSERT / UPDATE /
  DELETE triggers (one per event) hand it, as their argument, the query that reads the keys
  from the statement's transition tables (``new_rows``, ``old_rows``), so a statement
  touching 20,000 votes is one upsert per post, not 20,000. TRUNCATE moves "site" on.
- Each app's migration declares its own tables' triggers: posts (post, tag, the post's tags
  and authors, thumbs up, and the user fields pages show), polls (poll, choice, vote),
  comments (comment, like). Accounts knows nothing of pages: posts adds the trigger on
  accounts_user, a row-level one whose WHEN clause looks only at the fields pages show (name,
  email, avatar, staff, active), so a login's ``last_login`` moves nothing.
- Columns that only a post's own page shows (``POST_PAGE_ONLY_COLUMNS`` in migration posts
  0005: counters and the like) move that post's number only; any other change to a post moves
  "site". A choice's tally, kept by its own trigger, moves nothing: the vote did.
- A trigger fires at the end of its statement, where the old post_save receivers ran, so the
  lock order is unchanged: a like locks its comment row, then the page version (see
  comments/services.py).

The publication's settings (name, logo, colours, navigation: publication/) are on every page
too. Each process keeps them in memory, so every key also ends with their stamp
(``Publication.stamp``, store.cache_key): a process still holding the old settings never
stores a page where one holding the new settings looks.

Time changes pages too. A scheduled post appearing is in every key (the newest live publish
time). A poll opening or closing is announced by its renderer (``changes_at``) and the entry
expires then; anything else shown relative to now (a comment's "5 minutes ago") is at most
``POSTS_PAGE_CACHE_SECONDS`` old.

Numbers pushed to each process: a cached anonymous page costs no query
-------------------------------------------------------------------------
``posts_bump_page_versions`` also announces the keys it moved and their new numbers with
``pg_notify`` (migration posts 0009; one payload per statement, "everything changed" when it
would pass PostgreSQL's 8,000-byte limit). PostgreSQL delivers a notification only when its
transaction commits. Each web process keeps one listener thread with a connection of its own
(listener.py, started by the first request that asks, so after gunicorn's fork): it LISTENs,
reads every number, each post's id by slug and the newest live and next scheduled publish
times, and only then counts as live. ``versions()`` then answers from memory, with no query.

Correctness never depends on the listener. ``versions()`` asks the database, as before, when:

- the listener is not live (starting, its connection lost and being re-opened with a growing
  pause, or turned off with ``POSTS_PAGE_VERSIONS_LISTEN=0``, e.g. behind a pgbouncer in
  transaction mode, where LISTEN does not work);
- the request's connection is inside a transaction (``atomic``): it may see its own uncommitted
  writes, which no notification announced (tests in a TestCase run this way);
- a scheduled post's time has come (no write announces it; the listener wakes at that time and
  reads the times again);
- the reader has just acted (fresh.py). A notification reaches the other processes a few
  milliseconds after the commit, so a reader whose next request lands on another process could
  otherwise see their page without their own vote. Every unsafe request (POST and the like)
  answered by the site sets a cookie for ten seconds (``ff_fresh=1``, ``__Host-ff_fresh`` over
  HTTPS; HttpOnly, SameSite=Lax) that holds nothing but "1", and a request carrying it reads the
  numbers from the database. So "a reader never sees a stale tally or count after acting"
  holds on every process; other readers see a change within the time a notification takes.

Anonymous readers with no message waiting for them are served from the cache
(``cacheable_when_anonymous``). Logged-in readers get post pages stored per kind of reader
with their own places filled in for each request (``cached_for_readers``, readerpages.py);
every other page is rendered for them. The per-request CSRF token is kept out of stored
pages and put back for each reader. Pages live in each process's memory (the "pages" cache):
a miss costs one render per process, and a newer version of a page replaces the older one.
"""

from posts.pagecache.decorators import cacheable_when_anonymous, cached_for_readers
from posts.pagecache.slots import ReaderFacts, register_reader_state, register_slot
from posts.pagecache.store import changes_at
from posts.pagecache.versions import SITE, bump, numbers, post_key, versions

__all__ = [
    "SITE",
    "ReaderFacts",
    "bump",
    "cacheable_when_anonymous",
    "cached_for_readers",
    "changes_at",
    "numbers",
    "post_key",
    "register_reader_state",
    "register_slot",
    "versions",
]
