"""The page version numbers, pushed to each process by PostgreSQL (LISTEN/NOTIFY).

One daemon thread per process holds a connection of its own that LISTENs on the channel
``posts_bump_page_versions`` announces on (migration posts 0009), and keeps in memory what a
page's key is made of: every key's number, each post's id by slug, the publish time of the
newest live post and the next scheduled one. A request then builds a cached page's key with no
query at all (``versions``); when this returns None the caller asks the database, as before.

Live or not
-----------
The thread LISTENs first, then reads everything in one snapshot, and only then says it is live:
a change committed between the two is in the snapshot or in a notification that follows it.
If its connection fails it says it is not live at once, and reconnects with a growing pause.
While it is not live (starting, reconnecting, or turned off with
``POSTS_PAGE_VERSIONS_LISTEN=0``) ``versions`` returns None.

Time: a scheduled post goes live with no write, so no notification. ``versions`` returns None
from the next scheduled publish time on (requests ask the database), and the thread wakes at
that time to read the times again.

Processes: the thread is started by the first request that asks, never at import, so a
gunicorn worker starts its own after the fork; a process whose pid changed since the thread
was started (a fork) starts a new one.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field

import psycopg
from django.conf import settings
from django.db import connection

logger = logging.getLogger(__name__)

CHANNEL = "posts_page_versions"
EVERYTHING = "*"
SITE = "site"
# The thread wakes at least every WAKE_SECONDS to see whether it is asked to stop, and after
# IDLE_SECONDS with nothing heard makes sure its connection is still there (a server gone
# silently sends no error).
WAKE_SECONDS = 0.5
IDLE_SECONDS = 5.0
# What the thread knows is used only while it heard from the server this recently: a server
# that hangs, or a network that drops this process's packets without a word, leaves the
# connection open and silent, and the numbers would stay as they were for as long as TCP takes
# to give up (minutes). Past this, requests ask the database, as when the thread is away.
TRUSTED_FOR_SECONDS = 2 * IDLE_SECONDS
FIRST_PAUSE = 0.05
LONGEST_PAUSE = 5.0
# Connection parameters Django's backend adds that are not libpq's.
NOT_LIBPQ = {"cursor_factory", "context", "prepare_threshold", "server_side_binding"}

READ_TIMES = """
SELECT
    max(published_at) FILTER (WHERE published_at <= statement_timestamp()),
    min(published_at) FILTER (WHERE published_at > statement_timestamp())
FROM posts_post WHERE status IN ('published', 'scheduled')
"""


@dataclass(frozen=True)
class Snapshot:
    """What a page's key is made of, as this process last heard it. ``numbers`` is filled in
    place by the thread as notifications arrive; the rest is replaced as a whole."""

    numbers: dict[str, int] = field(default_factory=dict)
    post_ids: dict[str, int] = field(default_factory=dict)
    newest_live: float = 0.0
    next_scheduled: float | None = None


_lock = threading.Lock()
_thread: threading.Thread | None = None
_pid: int | None = None
_stop = threading.Event()
_snapshot: Snapshot | None = None  # None while not live
_backend_pid: int | None = None
_heard_at = 0.0  # time.monotonic() when the server last answered or announced


def enabled() -> bool:
    return bool(getattr(settings, "POSTS_PAGE_VERSIONS_LISTEN", True))


def versions(post_slug: str | None) -> tuple[int, int, float] | None:
    """The numbers of posts_page_versions(slug) as pushed to this process, or None when they
    must be read from the database (not live, turned off, or a scheduled post's time came)."""
    if not enabled():
        return None
    snapshot = _snapshot
    if snapshot is None or _pid != os.getpid():
        ensure_started()
        return None
    if time.monotonic() - _heard_at > TRUSTED_FOR_SECONDS:
        return None  # live, but silent for too long: the server may be gone
    if snapshot.next_scheduled is not None and time.time() >= snapshot.next_scheduled:
        return None
    numbers = snapshot.numbers
    post = 0
    if post_slug:
        post_id = snapshot.post_ids.get(post_slug)
        if post_id is not None:
            post = numbers.get(f"post:{post_id}", 0)
    return numbers.get(SITE, 0), post, snapshot.newest_live


def is_live() -> bool:
    return _snapshot is not None and _pid == os.getpid()


def is_trusted() -> bool:
    """True while requests build keys from what the thread heard (live and heard lately)."""
    return is_live() and time.monotonic() - _heard_at <= TRUSTED_FOR_SECONDS


def backend_pid() -> int | None:
    """The PostgreSQL backend of the listening connection (for tests and for looking on)."""
    return _backend_pid if is_live() else None


def ensure_started() -> None:
    """Start this process's thread if it has none (or had one before a fork)."""
    global _thread, _pid, _snapshot, _stop
    if not enabled():
        return
    pid = os.getpid()
    if _pid == pid and _thread is not None and _thread.is_alive():
        return
    with _lock:
        if _pid == pid and _thread is not None and _thread.is_alive():
            return
        # After a fork the parent's thread is not in this process: what it knew is not ours.
        _snapshot = None
        _stop = threading.Event()
        params = _connection_params()
        _thread = threading.Thread(
            target=_run, args=(params, _stop), name="page-versions-listener", daemon=True
        )
        _pid = pid
        _thread.start()


def stop(timeout: float = 10.0) -> None:
    """Stop this process's thread and close its connection (tests, shutting down)."""
    global _thread, _snapshot, _backend_pid
    with _lock:
        thread, _thread = _thread, None
        _snapshot, _backend_pid = None, None
        _stop.set()
    if thread is not None and thread.is_alive():
        thread.join(timeout)


def _connection_params() -> dict:
    """libpq parameters of the default database, as the request's own connection uses them
    (in tests: the test database)."""
    params = connection.get_connection_params()
    return {
        key: value
        for key, value in params.items()
        if key not in NOT_LIBPQ and value not in (None, "")
    }


def _publish(stop_event: threading.Event, snapshot: Snapshot | None, pid: int | None) -> None:
    """Make snapshot what requests read (None: not live), unless this thread was replaced."""
    global _snapshot, _backend_pid
    with _lock:
        if stop_event is not _stop or (snapshot is not None and stop_event.is_set()):
            return
        _snapshot, _backend_pid = snapshot, pid
    if snapshot is not None:
        _heard()


def _heard() -> None:
    global _heard_at
    _heard_at = time.monotonic()


def _run(params: dict, stop_event: threading.Event) -> None:
    pause = FIRST_PAUSE
    while not stop_event.is_set():
        try:
            with psycopg.connect(**params, autocommit=True) as conn:
                conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
                # LISTEN first, read second: a change committed in between is in what is read
                # or in a notification waiting for us.
                conn.execute(f"LISTEN {CHANNEL}")
                snapshot = _read_all(conn)
                _publish(stop_event, snapshot, conn.info.backend_pid)
                pause = FIRST_PAUSE
                _listen(conn, snapshot, stop_event)
        except psycopg.Error as error:
            if not stop_event.is_set():
                logger.warning("page versions listener lost its connection: %s", error)
        except Exception:
            # Not live, and tried again after the pause: requests meanwhile ask the database.
            logger.exception("page versions listener failed")
        finally:
            _publish(stop_event, None, None)
        if stop_event.wait(pause):
            return
        pause = min(pause * 2, LONGEST_PAUSE)


def _listen(conn: psycopg.Connection, snapshot: Snapshot, stop_event: threading.Event) -> None:
    """Apply notifications until asked to stop or the connection fails."""
    pid = conn.info.backend_pid
    heard = time.monotonic()
    while not stop_event.is_set():
        wait = WAKE_SECONDS
        if snapshot.next_scheduled is not None:
            # Not a busy loop when the database's clock is a little behind ours.
            wait = max(0.02, min(wait, snapshot.next_scheduled - time.time()))
        batch = list(conn.notifies(timeout=wait, stop_after=1))
        if batch:
            batch += conn.notifies(timeout=0)  # whatever else already arrived
            heard = time.monotonic()
        elif snapshot.next_scheduled is None or time.time() < snapshot.next_scheduled:
            if time.monotonic() - heard < IDLE_SECONDS:
                continue
            conn.execute("SELECT 1")  # a quiet while: is the server still there?
            heard = time.monotonic()
            # Anything announced before it answered is applied before it counts as heard.
            batch = list(conn.notifies(timeout=0))
            if not batch:
                _heard()
                continue
        payloads = [notify.payload for notify in batch]
        if EVERYTHING in payloads:
            snapshot = _read_all(conn)
            _publish(stop_event, snapshot, pid)
            continue
        moved = _parse(payloads)
        if SITE in moved or not batch:
            # Slugs and publish times move "site" (or a scheduled time came): read them again
            # before the new site number is served, so a key never pairs a newer site number
            # with an older post id for a slug.
            snapshot = _read_places(conn, snapshot.numbers)
            _publish(stop_event, snapshot, pid)
        numbers = snapshot.numbers
        for key, number in moved.items():
            if number > numbers.get(key, 0):
                numbers[key] = number
        _heard()


def _parse(payloads: list[str]) -> dict[str, int]:
    moved: dict[str, int] = {}
    for payload in payloads:
        for pair in payload.split():
            key, _, number = pair.rpartition("=")
            if key and number.isdigit():
                moved[key] = max(moved.get(key, 0), int(number))
    return moved


def _read_all(conn: psycopg.Connection) -> Snapshot:
    """Every number, slug and time, in one snapshot of the database."""
    with conn.transaction():
        numbers = dict(conn.execute("SELECT key, number FROM posts_pageversion").fetchall())
        return _read_places(conn, numbers)


def _read_places(conn: psycopg.Connection, numbers: dict[str, int]) -> Snapshot:
    with conn.transaction():
        post_ids = dict(conn.execute("SELECT slug, id FROM posts_post").fetchall())
        newest, upcoming = conn.execute(READ_TIMES).fetchone()
    return Snapshot(
        numbers=numbers,
        post_ids=post_ids,
        newest_live=newest.timestamp() if newest else 0.0,
        next_scheduled=upcoming.timestamp() if upcoming else None,
    )
